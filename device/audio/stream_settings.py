"""Validation of the settings every audio output shares: sample rate, channels, block size (audio layer)."""

from __future__ import annotations

from device.errors import ConfigError


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_stream_settings(sample_rate: int, channels: int) -> None:
    """Raise a ConfigError if a sample rate or channel count cannot describe an audio stream."""
    if not _is_int(sample_rate) or not 1000 <= sample_rate <= 384000:
        raise ConfigError(f"sample rate {sample_rate!r} must be a whole number of Hz between 1000 and 384000")
    if not _is_int(channels) or not 1 <= channels <= 32:
        raise ConfigError(f"channel count {channels!r} must be a whole number between 1 and 32")


def check_block_frames(frames: int) -> None:
    """Raise a ConfigError if `frames` is not a usable block (buffer) size."""
    if not _is_int(frames) or not 16 <= frames <= 8192:
        raise ConfigError(f"block size {frames!r} frames must be a whole number between 16 and 8192")


def check_realtime_output_settings(sample_rate: int, channels: int, frames: int, sample_format: str,
                                   switch_interval_s: float) -> None:
    """What every real-time output checks before it opens anything (a ConfigError naming the setting)."""
    from device.audio.portaudio_stream import SAMPLE_FORMATS

    check_stream_settings(sample_rate, channels)
    check_block_frames(frames)
    if sample_format not in SAMPLE_FORMATS:
        raise ConfigError(f"sample format {sample_format!r} is not one of {', '.join(SAMPLE_FORMATS)}")
    if not 0.00001 <= switch_interval_s <= 0.005:
        raise ConfigError(f"GIL switch interval {switch_interval_s!r} s must be between 0.00001 and 0.005 s")
