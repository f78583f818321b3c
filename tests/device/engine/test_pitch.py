"""Grains sound at the requested pitch: bank pitches, pitches between them, any output rate, both codecs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from device.engine.granular import GranularEngine

from .banks import dominant_hz, midi_hz, pitched_sine_bank, sine_bank

GRAIN_MS = 400.0


def _one_grain(engine: GranularEngine) -> np.ndarray:
    """One triggered grain alone: sparse onsets leave it unaccompanied for its whole length."""
    engine.set_params(grain_ms=GRAIN_MS, overlap=0.1, jitter=0.0, position=0.3)
    engine.trigger()
    length = round(GRAIN_MS * engine.sample_rate / 1000.0)
    return engine.render(length)


@pytest.mark.parametrize("codec", ["int16", "mulaw8"])
@pytest.mark.parametrize("out_rate", [48000, 44100, 16000])
@pytest.mark.parametrize("midi", [57.0, 69.0, 64.0, 62.5, 71.3, 55.25])
def test_dominant_frequency_matches_the_pitch(tmp_path: Path, codec: str, out_rate: int, midi: float) -> None:
    bank = pitched_sine_bank(tmp_path / "sines.bundle", pitches=[57, 69], codec=codec)
    engine = GranularEngine(bank, sample_rate=out_rate)
    engine.set_pitch(midi)
    grain = _one_grain(engine)
    assert np.max(np.abs(grain)) > 0.1
    assert dominant_hz(grain, out_rate) == pytest.approx(midi_hz(midi), rel=2e-3)


def test_in_between_pitch_transposes_the_nearest_bank_pitch(tmp_path: Path) -> None:
    # Bank pitches hold deliberately "wrong" sines (a fifth above their note): what comes out shows
    # which bank pitch was read and by how much it was transposed.
    notes = [48, 60, 72]
    bank = sine_bank(tmp_path / "fifths.bundle", steps=(2,), pitches=notes,
                     frequency=lambda _g, p: midi_hz(notes[p] + 7))
    engine = GranularEngine(bank, sample_rate=48000)
    for midi, nearest in ((61.0, 60), (65.9, 60), (66.1, 72), (47.0, 48)):
        engine.set_pitch(midi)
        grain = _one_grain(engine)
        expected = midi_hz(nearest + 7) * 2.0 ** ((midi - nearest) / 12.0)
        assert dominant_hz(grain, 48000) == pytest.approx(expected, rel=2e-3), midi
