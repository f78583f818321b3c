"""Errors only the host tools raise on purpose (host layer).

They join the device's family (`device.errors.InstrumentError`), so `latent` reports them in one
line like any other; they live here because the Pi never reads data sets or training checkpoints.
"""

from device.errors import InstrumentError


class DatasetError(InstrumentError, ValueError):
    """A training data set (NSynth layout, folder of WAVs) is unreadable, incomplete or inconsistent,
    or cannot be made (no synthesizer or soundfont installed)."""


class CheckpointError(InstrumentError, ValueError):
    """A training run's checkpoints are damaged or missing (nothing intact to resume or generate from)."""
