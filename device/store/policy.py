"""What this device accepts into its store, and how a new bundle is put on trial (store layer).

Checked for every install: the bundle's kind is one this device can play, its sample rate is one
the audio output runs at, it fits the size limit, and the disk keeps a reserve free after it.
"""

from __future__ import annotations

from dataclasses import dataclass

from device.bundle.format import KINDS

SUPPORTED_SAMPLE_RATES = (16000, 22050, 24000, 32000, 44100, 48000)


@dataclass(frozen=True)
class TrialPolicy:
    """When a freshly activated bundle counts as failed.

    probe_seconds: the audio of the first seconds is watched; NaN/inf at any point, or nothing
    above `silence_rms` for the whole time, fails the trial.
    crash_window_s / max_crashes: a service start while the bundle is on trial means the process
    before it ended without passing the trial; more than `max_crashes` starts within the window
    roll the bundle back.
    """

    probe_seconds: float = 3.0
    silence_rms: float = 1e-4
    crash_window_s: float = 300.0
    max_crashes: int = 2


@dataclass(frozen=True)
class DevicePolicy:
    sample_rates: tuple[int, ...] = SUPPORTED_SAMPLE_RATES
    kinds: tuple[str, ...] = KINDS
    max_bundle_bytes: int = 512 * 1024 * 1024
    reserve_bytes: int = 64 * 1024 * 1024
    sync_every_bytes: int = 1024 * 1024
    trial: TrialPolicy = TrialPolicy()
