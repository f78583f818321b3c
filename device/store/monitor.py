"""What the running service calls to keep a freshly flashed bundle on trial (store layer).

The service (app layer) owns the engine, the threads and the hot swap; this class only turns
what it sees into store decisions:

    monitor = TrialMonitor(store, sample_rate=48000)
    monitor.service_started()                 # once per process start (crash-loop detection)
    engine, path = monitor.load_active(load)  # a bundle that fails to load is rolled back, and
                                              # the previous one is loaded instead
    ...
    if monitor.observe(block):                # producer thread, not the audio callback
        engine, path = monitor.load_active(load)   # rolled back: crossfade to the previous bundle
    if store.poll():                          # a new bundle was flashed meanwhile
        engine, path = monitor.load_active(load)

`observe` does one dot product per block and touches the disk only once, when the verdict comes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np

from device.errors import StoreError
from device.store.store import ModelStore
from device.store.trial import FAILED, PASSED, PENDING, AudioProbe

T = TypeVar("T")


class TrialMonitor:
    def __init__(self, store: ModelStore, *, sample_rate: int) -> None:
        self.store = store
        self.sample_rate = sample_rate
        self._probe: AudioProbe | None = None
        self.last_failure: str | None = None

    def service_started(self) -> bool:
        """Record a start; True if a crash loop rolled the store back."""
        return self.store.note_service_start()

    def load_active(self, loader: Callable[[Path], T]) -> tuple[T, Path]:
        """Load the active bundle with `loader`; while that fails on trial, roll back and retry.

        Raises StoreError when nothing loadable is left (with the last failure as the reason).
        """
        tried: set[Path] = set()
        while True:
            self.store.poll()
            path = self.store.active_path()
            if path is None:
                raise StoreError("no bundle is active in the model store; flash one with `latent flash`"
                                 + (f" (last failure: {self.last_failure})" if self.last_failure else ""))
            if path in tried:
                raise StoreError(f"{path.name} failed to load and could not be rolled back: "
                                 f"{self.last_failure}")
            tried.add(path)
            try:
                loaded = loader(path)
            except Exception as bad:  # any failure to load is the bundle's failure on trial
                self.last_failure = f"the engine failed to load the bundle: {bad}"
                if self.store.report_trial_failed(self.last_failure) is None:
                    raise StoreError(f"{path.name} failed to load and there is nothing to roll back "
                                     f"to: {bad}") from bad
                continue
            self._probe = AudioProbe(self.sample_rate, self.store.policy.trial) if self.store.on_trial \
                else None
            return loaded, path

    def observe(self, block: np.ndarray) -> bool:
        """Feed one rendered block; True when the trial just failed and the store rolled back."""
        probe = self._probe
        if probe is None:
            return False
        verdict = probe.observe(block)
        if verdict == PENDING:
            return False
        self._probe = None
        if verdict == PASSED:
            self.store.report_trial_ok()
            return False
        assert verdict == FAILED
        self.last_failure = probe.reason
        return self.store.report_trial_failed(probe.reason) is not None
