"""Deciding whether a freshly activated bundle passes its trial (store layer, no I/O).

Three kinds of evidence, each fed in by the service:
- a failed load (the engine raised while opening the bundle) fails at once;
- the first `probe_seconds` of audio: any NaN/inf fails at once, nothing louder than
  `silence_rms` for the whole probe fails at its end, anything audible passes;
- service starts while on trial (`record_start`): more than `max_crashes` within the window
  mean the service keeps dying with this bundle.

The instrument never plays silence on purpose (idle gain stays above zero; gallery quiet hours,
the one exception, hold the probe until they end: device.app.model_watcher), so a silent start
is a broken model, not a quiet player.
"""

from __future__ import annotations

import math

import numpy as np

from device.store.pointer import Trial
from device.store.policy import TrialPolicy

PENDING = "pending"
PASSED = "passed"
FAILED = "failed"


def record_start(trial: Trial, now: float, policy: TrialPolicy) -> tuple[Trial, int]:
    """Add a service start; returns the new trial state and the starts inside the window."""
    recent = tuple(t for t in trial.starts if now - policy.crash_window_s <= t <= now)
    updated = Trial(started=trial.started, starts=(*recent, now))
    return updated, len(updated.starts)


def crash_loop_reason(starts: int, policy: TrialPolicy) -> str | None:
    if starts <= policy.max_crashes:
        return None
    return (f"the service started {starts} times within {policy.crash_window_s:g} s while the "
            f"bundle was on trial (more than {policy.max_crashes} crashes)")


class AudioProbe:
    """Watches the first seconds of output blocks; `observe` returns the verdict (or PENDING).

    One dot product per block, so it is cheap enough for the render thread; it never writes
    anything itself (the verdict is acted upon by `device.store.monitor.TrialMonitor`).
    """

    def __init__(self, sample_rate: int, policy: TrialPolicy) -> None:
        self.frames_needed = max(1, int(policy.probe_seconds * sample_rate))
        self.probe_seconds = policy.probe_seconds
        self._threshold = policy.silence_rms ** 2
        self.frames_seen = 0
        self.audible = False
        self.verdict = PENDING
        self.reason = ""

    def observe(self, block: np.ndarray) -> str:
        if self.verdict != PENDING:
            return self.verdict
        flat = block.reshape(-1)
        energy = float(np.dot(flat, flat))
        if not math.isfinite(energy):
            self.verdict = FAILED
            self.reason = (f"the engine produced NaN or infinite samples within the first "
                           f"{self.probe_seconds:g} s")
            return self.verdict
        if flat.size and energy > self._threshold * flat.size:
            self.audible = True
        self.frames_seen += block.shape[0]
        if self.frames_seen >= self.frames_needed:
            if self.audible:
                self.verdict = PASSED
            else:
                self.verdict = FAILED
                self.reason = f"the engine stayed silent for the first {self.probe_seconds:g} s"
        return self.verdict
