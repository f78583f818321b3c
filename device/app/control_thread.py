"""Runs the sensor poll in a background thread while audio plays, woken by touches (app layer).

Event-driven: the thread sleeps on `wait(timeout_s)` (the touch chip's IRQ line, through
`SensorArray.wait_for_activity`) and polls at once when it reports activity, so a note-on goes
out as soon as the chip has seen the finger; when nothing happens it still polls every `period`
(`rate_hz`, default 200 Hz) for the continuous controls, the flex bends and touch pressures,
which a hand moves far slower than that. Without `wait` it polls at `rate_hz` alone, sleeping
between polls. It never waits less than `MIN_WAIT_S`: a timed wait shorter than a millisecond
costs more in wake-ups than it buys (the old 2 kHz timed-wait loop spent a large share of a core
doing little else: docs/MEASUREMENTS.md, latency). No wait is longer than `MAX_WAIT_S`, so `stop()` is heard.

It cannot spin: every round blocks, a poll that overruns its period is followed by a whole
period of rest (skip ahead, no burst), and a wait that reports activity at once twice in a row
(a line stuck in its active state) is not trusted again until the next periodic poll. A poll
that raises is counted and the loop carries on: the sensor layer already holds last good values
on bus errors, so anything reaching here is unexpected, and the sound must not stop for it; a
`wait` that raises is counted the same way and the round sleeps instead.

`realtime_priority` stays: because the loop always sleeps, a real-time class cannot turn it into
a spin that starves other threads, and what it buys is a prompt wake-up when a touch fires the
IRQ on a busy two-core Pi. The thread moves itself into the class as it starts (see
`device.audio.realtime`); a refusal is kept in `realtime_problem` and it polls anyway.
`cpu_s` is the thread's own CPU time since it started: what the loop costs, measured.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from device.audio.realtime import promote_current_thread

CONTROL_RATE_HZ = 200.0  # periodic polls a second: continuous controls; touches wake it at once
MIN_WAIT_S = 0.001  # no timed wait shorter than this: a poll due sooner happens now
MAX_WAIT_S = 0.1  # no wait longer than this, so stop() is heard even at very slow rates


class ControlThread:
    """Calls `poll()` when `wait` reports activity, and at least every `period` seconds, until stopped.

    `wait(timeout_s) -> bool` blocks until activity (True) or the timeout (False), e.g.
    `SensorArray.wait_for_activity`; None polls on the period alone. `polls` counts every
    poll, `woken_polls` those that activity caused, `distrusted_waits` rounds where a wait that
    kept reporting activity at once was ignored, `overruns` periodic polls that fell behind.
    """

    def __init__(self, poll: Callable[[], object], *, rate_hz: float = CONTROL_RATE_HZ,
                 name: str = "latent-control", realtime_priority: int | None = None,
                 wait: Callable[[float], bool] | None = None) -> None:
        if rate_hz <= 0:
            raise ValueError(f"control rate must be positive, got {rate_hz}")
        self._poll = poll
        self._wait = wait
        # Above 1 kHz the period would be a sub-millisecond wait; touches do not need it (they wake the loop).
        self.period = max(1.0 / rate_hz, MIN_WAIT_S)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.polls = 0
        self.woken_polls = 0
        self.distrusted_waits = 0
        self.errors = 0
        self.last_error: BaseException | None = None
        self.overruns = 0
        self.cpu_s = 0.0
        self.realtime_priority = realtime_priority
        self.realtime_problem: str | None = None
        self.started = threading.Event()  # set once the thread has settled its scheduling
        self.died_of: BaseException | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        """Whether the thread runs: False once stopped, or if it died (see `died_of`)."""
        return self._thread.is_alive()

    def __enter__(self) -> ControlThread:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        try:
            self._loop()
        except BaseException as err:  # not an Exception: the thread ends; the supervisor restarts it
            self.died_of = err
            self.last_error = err

    def _loop(self) -> None:
        if self.realtime_priority is not None:
            self.realtime_problem = promote_current_thread(self.realtime_priority)
        cpu_start = time.thread_time()
        self.started.set()
        stop, period, wait = self._stop, self.period, self._wait
        next_time = time.monotonic()  # when the next periodic poll is due
        trusted = wait is not None
        at_once = 0  # wake-ups in a row that came without any waiting
        while not stop.is_set():
            delay = next_time - time.monotonic()
            woken = False
            if delay >= MIN_WAIT_S:
                chunk = min(delay, MAX_WAIT_S)  # bounded, so that stop() is heard
                if not trusted:
                    stop.wait(chunk)
                    continue
                began = time.monotonic()
                woken = self._wait_for_activity(chunk)
                waited = time.monotonic() - began
                if not woken:
                    if waited < chunk - MIN_WAIT_S:  # back early without activity: do not ask again at once
                        stop.wait(chunk - waited)
                    continue
                at_once = at_once + 1 if waited < MIN_WAIT_S else 0
                if at_once >= 2:  # a line stuck active: ignore it until the next periodic poll
                    trusted = False
                    self.distrusted_waits += 1
                if stop.is_set():
                    break
            self._call_poll()
            if woken:
                self.woken_polls += 1
            else:
                trusted, at_once = wait is not None, 0
                next_time += period
                now = time.monotonic()
                if next_time < now:
                    # Fell behind (a slow poll or a busy machine): rest a whole period instead of bursting.
                    self.overruns += 1
                    next_time = now + period
            self.cpu_s = time.thread_time() - cpu_start

    def _wait_for_activity(self, timeout_s: float) -> bool:
        assert self._wait is not None
        try:
            return bool(self._wait(timeout_s))
        except Exception as err:  # a broken wait must not stop the polling: sleep the round instead
            self.errors += 1
            self.last_error = err
            self._stop.wait(timeout_s)
            return False

    def _call_poll(self) -> None:
        try:
            self._poll()
            self.polls += 1
        except Exception as err:  # the instrument keeps playing, see the module docstring
            self.errors += 1
            self.last_error = err
