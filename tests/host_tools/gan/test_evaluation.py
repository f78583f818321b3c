"""`latent eval`'s sound figures on constructed notes whose answer is known: identical notes are not
diverse, a harmonic stack is harmonic and white noise is not, half the amplitude is 6.02 dB, a step is a
click and a smooth tone or a bright low sawtooth is none; the report keeps its old keys."""

from __future__ import annotations

import numpy as np
import pytest

from host_tools.gan.evaluation import (
    clipped_share,
    count_clicks,
    diversity_db,
    evaluate,
    harmonic_to_noise_db,
    levels_dbfs,
    log_mel_db,
    log_mel_distance,
    sound_figures,
)

RATE = 16000


def _hz(pitch: int) -> float:
    return 440.0 * 2.0 ** ((pitch - 69) / 12.0)


def _stack(pitch: int, seconds: float = 1.0, amplitude: float = 0.5, seed: int = 0,
           rolloff: float = 1.0) -> np.ndarray:
    """Every harmonic of `pitch` below Nyquist (amplitude 1/k^rolloff, random phases), peak `amplitude`."""
    t = np.arange(int(seconds * RATE)) / RATE
    f0 = _hz(pitch)
    phases = np.random.default_rng(seed).uniform(0, 2 * np.pi, 1000)
    tone = sum(np.sin(2 * np.pi * k * f0 * t + phases[k]) / k**rolloff for k in range(1, int(RATE / 2 / f0)))
    return amplitude * tone / np.max(np.abs(tone))


def _noise(seconds: float = 1.0, level: float = 0.1, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, level, int(seconds * RATE))


def test_log_mel_distance_is_zero_for_a_note_and_6_02_db_for_half_of_it() -> None:
    note = _noise()
    spectra = log_mel_db(np.stack([note, note, 0.5 * note]), RATE)
    assert spectra.shape[2] == 40 and spectra.min() >= -80.0
    assert log_mel_distance(spectra[0], spectra[1]) == 0.0
    assert log_mel_distance(spectra[0], spectra[2]) == pytest.approx(20 * np.log10(2), abs=1e-6)
    # Digital silence and a -100 dB whisper both read as the -80 dB floor: no distance between them.
    quiet = log_mel_db(np.stack([np.zeros(RATE), 1e-5 * note]), RATE)
    assert log_mel_distance(quiet[0], quiet[1]) == 0.0


def test_identical_notes_have_no_diversity_and_different_ones_some() -> None:
    note = _stack(60)
    assert diversity_db(np.stack([note] * 3), [60] * 3, RATE) == 0.0
    different = np.stack([_stack(60, rolloff=0.5), _stack(60, rolloff=2.0), _stack(62), _noise()])
    spread = diversity_db(different, [60, 60, 62, 62], RATE)
    assert spread is not None and spread > 3.0
    # Averaged over pitches: one pitch's pair alone gives that pair's distance.
    spectra = log_mel_db(different[:2], RATE)
    assert diversity_db(different[:2], [60, 60], RATE) == pytest.approx(float(log_mel_distance(*spectra)))
    assert diversity_db(different[:2], [60, 61], RATE) is None  # no pitch with two notes


def test_a_harmonic_stack_is_harmonic_and_white_noise_is_not() -> None:
    for pitch in (24, 45, 60, 84):
        assert harmonic_to_noise_db(_stack(pitch), pitch, RATE) > 40.0
        # Harmonic bands cover a quarter of the spectrum: white noise reads 10 log10(1/3) = -4.8 dB.
        assert harmonic_to_noise_db(_noise(), pitch, RATE) == pytest.approx(-4.77, abs=0.5)
    # The conditioning pitch counts, not the note's: a stack a tritone away is mostly "noise".
    assert harmonic_to_noise_db(_stack(66), 60, RATE) < 0.0
    # Noise added at -20 dB of the stack's power lowers the figure to about that.
    stack = _stack(60)
    noisy = stack + _noise(level=float(np.sqrt(np.mean(stack**2))) / 10.0)
    assert 15.0 < harmonic_to_noise_db(noisy, 60, RATE) < 25.0
    assert np.isnan(harmonic_to_noise_db(np.zeros(RATE), 60, RATE))


def test_half_the_amplitude_is_6_02_db_lower_and_full_scale_is_counted() -> None:
    note = _stack(60, amplitude=0.8)
    rms, peak = levels_dbfs(np.stack([note, 0.5 * note, np.zeros_like(note)]))
    assert rms[0] - rms[1] == pytest.approx(6.0206, abs=1e-3)
    assert peak[0] == pytest.approx(20 * np.log10(0.8)) and peak[0] - peak[1] == pytest.approx(6.0206)
    assert rms[2] == peak[2] == -120.0
    sine = np.sin(2 * np.pi * 440 * np.arange(RATE) / RATE)
    assert levels_dbfs(sine)[0][0] == pytest.approx(-3.01, abs=0.01)
    assert clipped_share(note) == 0.0
    clipped = np.clip(2.0 * sine, -1.0, 1.0)
    assert clipped_share(clipped) == pytest.approx(np.mean(np.abs(2.0 * sine) >= 0.999))
    assert 0.6 < clipped_share(clipped) < 0.7


def test_a_step_is_a_click_and_smooth_tones_have_none() -> None:
    t = np.arange(RATE) / RATE
    sine = 0.5 * np.sin(2 * np.pi * 440 * t)
    assert count_clicks(sine, RATE) == 0
    step = sine.copy()
    step[8000:] += 0.3
    assert count_clicks(step, RATE) == 1  # two adjacent outlying samples, one click
    step[12000:] -= 0.3
    assert count_clicks(step, RATE, pitch=69) == 2
    assert count_clicks(_stack(57, rolloff=1.0), RATE, pitch=57) == 0
    assert count_clicks(_noise(), RATE) == 0
    # A lone quantisation step in a silent tail is no click.
    tail = np.zeros(RATE)
    tail[5000] = 1 / 32768
    assert count_clicks(tail, RATE) == 0


def test_a_bright_low_sawtooth_resets_once_a_period_and_that_is_its_shape_not_clicks() -> None:
    t = np.arange(RATE) / RATE
    f0 = _hz(24)
    saw = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, int(RATE / 2 / f0)))
    saw *= 0.5 / np.max(np.abs(saw))
    assert count_clicks(saw, RATE) > 20  # without the pitch every reset stands out
    assert count_clicks(saw, RATE, pitch=24) == 0
    saw[8000:] += 0.3
    assert count_clicks(saw, RATE, pitch=24) == 1


@pytest.mark.filterwarnings("ignore:Matrix is singular")  # a Frechet distance on four notes
def test_the_report_keeps_its_keys_and_sets_generated_beside_real() -> None:
    pitches = [60, 60, 62, 62]
    real = np.stack([_stack(60, rolloff=0.7), _stack(60, rolloff=1.5, seed=1),
                     _stack(62, rolloff=0.7), _stack(62, rolloff=1.5, seed=1)])
    collapsed = np.stack([real[0], real[0], real[2], real[2]])  # one sound per pitch
    collapsed[1] = np.clip(3.0 * collapsed[1], -1.0, 1.0)
    report = evaluate(collapsed, pitches, real, pitches, RATE)
    assert {"pitch_accuracy", "pitch_accuracy_real", "unvoiced_generated", "frechet_log_mel",
            "frechet_log_mel_real_halves", "generated_notes", "real_notes"} <= report.keys()
    figures = sound_figures(collapsed, pitches, real, pitches, RATE)
    assert figures.items() <= report.items()
    assert set(figures) == {
        f"{name}_{side}" for side in ("generated", "real") for name in (
            "diversity_db", "harmonic_to_noise_db", "level_rms_dbfs_median", "level_rms_dbfs_spread",
            "level_peak_dbfs_median", "level_peak_dbfs_spread", "clipped_share", "clicks_per_note",
            "notes_with_clicks")
    } | {"diversity_ratio", "harmonic_to_noise_difference_db"}
    assert 0.0 < figures["diversity_ratio"] < figures["diversity_db_real"]
    assert figures["harmonic_to_noise_db_real"] > 40.0
    assert figures["clipped_share_generated"] > 0.0 == figures["clipped_share_real"]
    assert figures["level_peak_dbfs_median_real"] == pytest.approx(-6.02, abs=0.01)
    assert figures["level_peak_dbfs_spread_real"] == pytest.approx(0.0, abs=1e-6)
    assert figures["clicks_per_note_real"] == 0.0 == figures["notes_with_clicks_real"]
