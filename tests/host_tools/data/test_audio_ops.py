"""Resampling, cutting, normalising and envelope qualities of mono notes."""

from __future__ import annotations

import numpy as np
import pytest

from host_tools.data.audio_ops import (
    PEAK_TARGET,
    envelope_qualities,
    fix_length,
    leading_silence_frames,
    peak_normalize,
    resample,
    to_mono,
    to_pcm16,
)


def test_resampling_keeps_the_frequency_and_the_exact_ratio():
    t = np.arange(44100) / 44100
    out = resample(np.sin(2 * np.pi * 1000 * t), 44100, 16000)
    assert out.dtype == np.float32 and len(out) == 16000
    spectrum = np.abs(np.fft.rfft(out * np.hanning(16000)))
    assert np.argmax(spectrum) == 1000  # 1 Hz bins


def test_fix_length_cuts_with_a_fade_and_pads_with_zeros():
    ones = np.ones(1000, dtype=np.float32)
    cut = fix_length(ones, 800, 16000)
    assert len(cut) == 800 and cut[-1] == 0.0 and cut[0] == 1.0 and cut[-161] == 1.0
    padded = fix_length(ones, 1200, 16000)
    assert len(padded) == 1200 and padded[:1000].all() and not padded[1000:].any()
    assert np.array_equal(fix_length(ones, 1000, 16000), ones)


def test_levels_and_16_bit_rounding():
    normalised = peak_normalize(np.array([0.1, -0.2, 0.05], dtype=np.float32))
    assert np.max(np.abs(normalised)) == pytest.approx(PEAK_TARGET)
    assert not peak_normalize(np.zeros(4, dtype=np.float32)).any()
    assert to_pcm16(np.array([1.5, -1.5, 0.5, 0.0])).tolist() == [32767, -32767, 16384, 0]
    assert to_mono(np.array([[1.0, 0.0], [0.5, 0.5]])).tolist() == [0.5, 0.5]


def test_leading_silence_ends_just_before_the_onset():
    audio = np.concatenate([np.zeros(1600), np.full(100, 0.5)])
    assert leading_silence_frames(audio, 16000) == 1600 - 80  # 5 ms pre-roll
    assert leading_silence_frames(np.zeros(10), 16000) == 0


def _note(decay_per_second: float, release_per_second: float, rate: int = 16000) -> np.ndarray:
    t = np.arange(4 * rate) / rate
    held = np.exp(-decay_per_second * np.minimum(t, 3.0))
    released = np.where(t > 3.0, np.exp(-release_per_second * (t - 3.0)), 1.0)
    return (np.sin(2 * np.pi * 220 * t) * held * released).astype(np.float32)


@pytest.mark.parametrize(
    ("decay", "release", "qualities"),
    [
        (0.1, 30.0, ()),  # sustained, short release: an organ
        (5.0, 30.0, ("fast_decay",)),  # dies before the note-off: a marimba
        (0.1, 0.5, ("long_release",)),  # still ringing at the end: a bell
    ],
)
def test_envelope_qualities_follow_nsynths_definitions(decay: float, release: float, qualities: tuple):
    assert envelope_qualities(_note(decay, release), 16000, 48000) == qualities
