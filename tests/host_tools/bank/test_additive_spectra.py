"""Spectral properties of an additive bank built through the writer and read back by the device reader."""

from __future__ import annotations

import numpy as np
import pytest

from device.bundle.reader import SegmentBank
from host_tools.bank.additive import midi_to_hz
from host_tools.bank.loudness import k_weighted_rms, to_db
from host_tools.bank.recipe import AdditiveRecipe

from .spectra import bin_freqs, centroid_hz, frame_rms_db, fundamental_hz, harmonic_energies, windowed_power


def _grid(decoded: np.ndarray) -> tuple[int, int, int]:
    rows, cols, pitches, _ = decoded.shape
    return rows, cols, pitches


def test_bank_has_the_recipe_grid_and_pitches(small_bank: SegmentBank, small_recipe: AdditiveRecipe) -> None:
    assert [a.name for a in small_bank.axes] == ["brightness", "odd_even"]
    assert [a.steps for a in small_bank.axes] == [4, 3]
    assert small_bank.pitches == (36, 60, 84)
    assert small_bank.segment_frames == small_recipe.segment_frames == 11025
    assert all(a.description for a in small_bank.axes)


def test_brightness_raises_the_spectral_centroid_monotonically(
    decoded: np.ndarray, small_recipe: AdditiveRecipe
) -> None:
    rows, cols, pitches = _grid(decoded)
    for col in range(cols):
        for p in range(pitches):
            centroids = [centroid_hz(decoded[row, col, p], small_recipe.sample_rate) for row in range(rows)]
            assert np.all(np.diff(centroids) > 0), (col, p, centroids)


def test_odd_even_axis_moves_energy_from_odd_to_even_harmonics(
    decoded: np.ndarray, small_bank: SegmentBank, small_recipe: AdditiveRecipe
) -> None:
    rows, cols, _ = _grid(decoded)
    for p, note in enumerate(small_bank.pitches):
        f0 = float(midi_to_hz(note))
        for row in range(rows):
            shares = []
            for col in range(cols):
                energy = harmonic_energies(decoded[row, col, p], small_recipe.sample_rate, f0)
                even, odd_above_fundamental = energy[1::2].sum(), energy[2::2].sum()
                shares.append(even / (even + odd_above_fundamental))
            assert np.all(np.diff(shares) > 0), (row, note, shares)
            assert shares[0] < 1e-4, "balance -1 should leave odd harmonics only"
            assert shares[-1] > 1 - 1e-4, "balance +1 should leave the fundamental and even harmonics only"


def test_all_harmonics_sound_at_the_balanced_centre(
    decoded: np.ndarray, small_bank: SegmentBank, small_recipe: AdditiveRecipe
) -> None:
    centre = decoded.shape[1] // 2
    f0 = float(midi_to_hz(small_bank.pitches[1]))
    energy = harmonic_energies(decoded[-1, centre, 1], small_recipe.sample_rate, f0)
    # Brightest row: harmonics 2..5 each well above the noise floor and falling with the slope.
    assert np.all(energy[1:5] > 1e-3 * energy[0])
    assert np.all(np.diff(energy[:5]) < 0)


def test_each_fundamental_matches_its_midi_pitch_within_three_cents(
    decoded: np.ndarray, small_bank: SegmentBank, small_recipe: AdditiveRecipe
) -> None:
    rows, cols, _ = _grid(decoded)
    for p, note in enumerate(small_bank.pitches):
        expected = float(midi_to_hz(note))
        for row in range(rows):
            for col in range(cols):
                found = fundamental_hz(decoded[row, col, p], small_recipe.sample_rate, expected)
                cents = 1200 * np.log2(found / expected)
                assert abs(cents) < 3.0, (row, col, note, cents)


def test_no_energy_above_the_band_limit(decoded: np.ndarray, small_recipe: AdditiveRecipe) -> None:
    limit = small_recipe.band_limit.nyquist_fraction * small_recipe.sample_rate / 2
    above = bin_freqs(decoded.shape[-1], small_recipe.sample_rate) > limit
    for segment in decoded.reshape(-1, decoded.shape[-1]):
        power = windowed_power(segment)
        # int16 quantisation noise alone sits near -100 dB; a stray partial would be far above.
        assert power[above].sum() < 1e-8 * power.sum()


def test_levels_are_equal_across_the_grid_and_pitches(
    decoded: np.ndarray, small_recipe: AdditiveRecipe
) -> None:
    levels = to_db(k_weighted_rms(decoded, small_recipe.sample_rate))
    assert np.all(np.abs(levels - small_recipe.level.loudness_db) < 0.05), levels
    # Plain RMS is deliberately not equal (bright tones weigh more under K-weighting), but close.
    plain = to_db(np.sqrt(np.mean(decoded**2, axis=-1)))
    assert np.ptp(plain) < 6.0


def test_samples_are_finite_and_below_the_ceiling(small_bank: SegmentBank, decoded: np.ndarray,
                                                  small_recipe: AdditiveRecipe) -> None:
    assert np.all(np.isfinite(decoded))
    ceiling = 10 ** (small_recipe.level.ceiling_db / 20)
    assert float(np.max(np.abs(decoded))) <= ceiling
    assert np.all(small_bank.scales <= ceiling) and np.all(small_bank.scales > 0)


@pytest.mark.parametrize("pitch_index", [0, 1, 2])
def test_segments_are_sustained_with_gentle_life(
    decoded: np.ndarray, small_bank: SegmentBank, small_recipe: AdditiveRecipe, pitch_index: int
) -> None:
    rate = small_recipe.sample_rate
    period = rate / float(midi_to_hz(small_bank.pitches[pitch_index]))
    # Frames of whole periods (about 50 ms), so the measure sees level changes, not the waveform.
    frame = round(period * max(1, round(0.05 * rate / period)))
    for segment in decoded[:, :, pitch_index].reshape(-1, decoded.shape[-1]):
        levels = frame_rms_db(segment, frame)
        assert abs(levels[0] - np.median(levels)) < 1.0, "no attack: full level from the first frame"
        assert np.ptp(levels) < 1.5, "stationary enough for grains read from anywhere"
        assert np.ptp(levels) > 0.02, "alive: the level drifts a little"


def test_grid_neighbours_are_phase_coherent_so_crossfades_do_not_cancel(
    decoded: np.ndarray, small_recipe: AdditiveRecipe
) -> None:
    rows, cols, pitches = _grid(decoded)
    for p in range(pitches):
        for row in range(rows):
            for col in range(cols):
                for d_row, d_col in ((1, 0), (0, 1)):
                    if row + d_row >= rows or col + d_col >= cols:
                        continue
                    a, b = decoded[row, col, p], decoded[row + d_row, col + d_col, p]
                    mix = to_db(k_weighted_rms(0.5 * (a + b), small_recipe.sample_rate))
                    assert mix > small_recipe.level.loudness_db - 2.0, (row, col, p, mix)
