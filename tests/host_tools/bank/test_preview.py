"""The listening preview: every grid point once, in serpentine order, as a clean 16-bit WAV."""

from __future__ import annotations

import itertools
import wave
from pathlib import Path

import numpy as np

from host_tools.bank.additive import render_bank
from host_tools.bank.preview import serpentine, write_preview
from host_tools.bank.recipe import AdditiveRecipe


def test_serpentine_walk_visits_every_point_moving_one_step_at_a_time() -> None:
    walk = serpentine(3, 4)
    assert sorted(walk) == [(r, c) for r in range(3) for c in range(4)]
    assert all(abs(a[0] - b[0]) + abs(a[1] - b[1]) == 1 for a, b in itertools.pairwise(walk))


def test_preview_wav_holds_one_segment_per_grid_point(tmp_path: Path, small_recipe: AdditiveRecipe) -> None:
    bank = render_bank(small_recipe)
    path = write_preview(bank, tmp_path / "p.wav", pitch=62)
    with wave.open(str(path)) as f:
        assert (f.getnchannels(), f.getsampwidth(), f.getframerate()) == (1, 2, small_recipe.sample_rate)
        samples = np.frombuffer(f.readframes(f.getnframes()), "<i2").astype(float) / 32767
    rows, cols, _, frames = bank.segments.shape
    assert len(samples) == rows * cols * frames
    # Pitch 62 is nearest the bank's 60: the middle of each segment is that segment, unfaded.
    middle = slice(frames // 4, 3 * frames // 4)
    for n, (r, c) in enumerate(serpentine(rows, cols)):
        np.testing.assert_allclose(samples[n * frames:(n + 1) * frames][middle],
                                   bank.segments[r, c, 1][middle], atol=1 / 32767)
    assert samples[0] == 0.0 and np.max(np.abs(samples)) < 1.0
