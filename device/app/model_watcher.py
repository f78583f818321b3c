"""Keeps the playing instrument in step with the model store (app layer, service thread).

While the instrument plays, this thread:
- notices a newly activated bundle (flashed over SSH or serial, or `latent models activate`),
  prepares an engine for it off the audio thread and crossfades to it;
- judges a bundle on trial by its first seconds of sound (read from the audio tap), reporting
  the verdict to the store, and crossfades back to the previous bundle if it fails;
- closes engines the audio thread has retired.
A bundle that fails to load is rolled back by the trial monitor before anything is heard.

The swap work is kept off the audio thread's way: loading, verifying and warming up an engine is
mostly hashing, which releases the GIL, and no single call holds the GIL for long (figures in
docs/MEASUREMENTS.md, swap). With `realtime_priority` the thread runs in a real-time class
below the control thread, so another process (the flash receiver itself) cannot preempt it
while it holds the GIL (see `device.audio.realtime`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from device.app.audio_tap import AudioTap
from device.app.engines import close_engine, preroll
from device.app.instrument import Instrument
from device.audio.realtime import promote_current_thread
from device.errors import InstrumentError


class ModelWatcher:
    def __init__(self, instrument: Instrument, monitor: Any, tap: AudioTap,
                 make_engine: Callable[[Path], Any], *, period_s: float = 0.05, fade_s: float = 0.1,
                 report: Callable[[str], None] = lambda message: None,
                 realtime_priority: int | None = None) -> None:
        self.instrument = instrument
        self.monitor = monitor
        self.store = monitor.store
        self.tap = tap
        self.make_engine = make_engine
        self.period_s = period_s
        self.fade_s = fade_s
        self.report = report
        self.active_path: Path | None = None
        # True while the instrument is silent on purpose (gallery quiet hours): what the tap holds
        # then says nothing about a bundle on trial, which is judged once it is heard.
        self.trial_paused: Callable[[], bool] = lambda: False
        self.swaps = 0
        self.rollbacks = 0
        self.errors: list[str] = []
        self.realtime_priority = realtime_priority
        self.realtime_problem: str | None = None
        self.started = threading.Event()  # set once the thread has settled its scheduling
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="latent-models", daemon=True)

    def start(self) -> None:
        self.tap.read()  # judge only what plays from now on
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5.0)

    def check(self) -> None:
        """One round of the loop (public so that offline runs and tests can drive it)."""
        # Checked before reading: once the handover is done, the tap's mark hides the old sound.
        pending = self.instrument.handover_pending
        blocks = self.tap.read()
        if pending or self.trial_paused():
            # Still the previous engine's sound, or silence by the clock: no evidence about the new one.
            blocks = blocks[:0]
        if blocks.size and self.monitor.observe(blocks):
            self.rollbacks += 1
            self.report(f"the new bundle failed its trial ({self.monitor.last_failure}); "
                        "rolled back to the previous one")
            self._switch()
        elif ((self.store.poll() or self.store.active_path() != self.active_path)
              and self.store.active_path() is not None):
            self._switch()
        retired = self.instrument.retired_engine
        if retired is not None:
            self.instrument.retired_engine = None
            close_engine(retired)

    def _switch(self) -> None:
        if self.instrument.swapping:
            return  # finish the running crossfade first; the next round picks this up
        try:
            engine, path = self.monitor.load_active(self.make_engine)
        except InstrumentError as err:
            # Nothing loadable in the store: keep playing what plays now.
            self.errors.append(str(err))
            self.report(f"keeping the current sound: {err}")
            self.active_path = self.store.active_path()
            return
        preroll(engine, self.instrument.latest_state)
        self.instrument.swap_engine(engine, self.fade_s)
        self.active_path = path
        self.swaps += 1
        self.report(f"now playing {path.name}")

    def _run(self) -> None:
        if self.realtime_priority is not None:
            self.realtime_problem = promote_current_thread(self.realtime_priority)
        self.started.set()
        while not self._stop.wait(self.period_s):
            try:
                self.check()
            except Exception as err:  # the sound must go on whatever the store does
                self.errors.append(f"{type(err).__name__}: {err}")
