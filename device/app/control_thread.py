"""Polls the sensors at a steady rate in a background thread while audio plays (app layer).

A poll that raises is counted and the loop carries on: the sensor layer already holds last
good values on bus errors, so anything reaching here is unexpected, and the sound must not stop
for it. Sleeping to an absolute schedule keeps the rate steady without drifting.
With `realtime_priority` the thread first moves itself into a real-time class (see
`device.audio.realtime` for why); a refusal is kept in `realtime_problem` and it polls anyway.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from device.audio.realtime import promote_current_thread


class ControlThread:
    """Calls `poll()` every `period` seconds until stopped."""

    def __init__(self, poll: Callable[[], object], *, rate_hz: float = 1000.0,
                 name: str = "latent-control", realtime_priority: int | None = None) -> None:
        if rate_hz <= 0:
            raise ValueError(f"control rate must be positive, got {rate_hz}")
        self._poll = poll
        self.period = 1.0 / rate_hz
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.polls = 0
        self.errors = 0
        self.last_error: BaseException | None = None
        self.overruns = 0
        self.realtime_priority = realtime_priority
        self.realtime_problem: str | None = None
        self.started = threading.Event()  # set once the thread has settled its scheduling

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def __enter__(self) -> ControlThread:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        if self.realtime_priority is not None:
            self.realtime_problem = promote_current_thread(self.realtime_priority)
        self.started.set()
        next_time = time.monotonic()
        while not self._stop.is_set():
            try:
                self._poll()
                self.polls += 1
            except Exception as err:  # the instrument keeps playing, see the module docstring
                self.errors += 1
                self.last_error = err
            next_time += self.period
            delay = next_time - time.monotonic()
            if delay > 0:
                self._stop.wait(delay)
            else:
                # Fell behind (a slow poll or a busy machine): skip ahead instead of bursting.
                self.overruns += 1
                next_time = time.monotonic()
