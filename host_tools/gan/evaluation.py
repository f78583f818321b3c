"""How good a trained GAN is, in figures (host training layer).

Every figure is a pure numpy function of audio (no torch), so each can be checked on constructed notes.
Real notes are measured with the same function as generated ones: a figure is read against its real
counterpart, never alone.

- pitch accuracy: the share of generated notes whose YIN pitch (host_tools.data.pitch_estimation) lies
  within 50 cents of the conditioning pitch, over every trained pitch; the same figure for the real
  training notes is the ceiling the estimator allows on this data (some real notes are inharmonic or
  octave-ambiguous).
- Frechet distance on log-mel statistics: each note becomes the time mean and standard deviation of its
  log-mel spectrogram (timbre and envelope spread); a Gaussian is fitted to generated and to real notes
  and the Frechet distance between them is reported, beside the distance between two halves of the real
  notes (the floor that sample size allows, since the estimate is biased upward for small sets).
- diversity (dB): the mean log-mel distance (`log_mel_distance`) over every pair of generated notes at
  one pitch, averaged over pitches; beside it the same for real notes at one pitch, which in an NSynth
  layout are different instruments, and the ratio generated / real. A GAN that makes one sound per
  pitch (mode collapse) has a ratio near 0; a space worth playing has one near 1.
- harmonic-to-noise (dB): per note, the energy in narrow bands around the harmonics k * f0 of the
  conditioning pitch against the energy everywhere else (`harmonic_to_noise_db`); median over notes,
  generated and real, and the difference generated - real. Hiss, buzz and out-of-tune partials lower it.
- levels (dBFS): per-note RMS (over its active part) and peak level (`levels_dbfs`), median and
  10th-90th percentile spread, generated and real, and the share of samples at or beyond full scale
  (|x| >= 0.999), so clipping and notes far too quiet or too loud are visible. Generated notes are
  measured raw, before the levelling that WAVs for listening get (host_tools/gan/levelling.py).
- clicks: jumps that stand far out of the note's local high-pass energy and do not recur one period
  later or earlier (`count_clicks`), as clicks per note and the share of notes with any, generated and
  real.

The one log-mel distance (`log_mel_db` + `log_mel_distance`) is also what `latent space smoothness`
reports for a bank's grid, so a grid's random-pair distance can be read against real notes' diversity.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from host_tools.data.nsynth_fields import midi_to_hz
from host_tools.data.pitch_estimation import estimate_pitch
from host_tools.gan.levelling import active_rms

N_MELS = 32
_N_FFT = 1024
_HOP = 256

# The shared log-mel distance: 40 mel bands of a 512-point STFT, hop 128 (the settings
# host_tools/space/spectra.py used), in dB re a full-scale sine, floored at FLOOR_DB.
DISTANCE_MELS = 40
DISTANCE_N_FFT = 512
DISTANCE_HOP = 128
FLOOR_DB = -80.0

# Harmonic-to-noise: the STFT is long enough that f0 spans this many bins, and each harmonic's band
# is k * f0 +- f0 * _HARMONIC_HALF_WIDTH (4 bins at the shortest FFT).
_BINS_PER_F0 = 32
_HARMONIC_HALF_WIDTH = 0.125

# Clicks: see count_clicks.
CLICK_RATIO = 10.0
CLICK_MIN_JUMP = 1e-3
_CLICK_WINDOW_S = 0.010
_CLICK_GUARD = 2
_CLICK_MERGE_S = 0.005
_CLICK_PERIOD_SLACK = 0.06

FULL_SCALE = 0.999
_SILENCE_DBFS = -120.0


def mel_band_edges(sample_rate: int, n_mels: int = N_MELS) -> np.ndarray:
    """(n_mels + 2,) band edges in Hz, HTK mel scale from 30 Hz to Nyquist; band i peaks at edge i + 1."""

    def mel(hz: np.ndarray) -> np.ndarray:
        return 2595.0 * np.log10(1.0 + hz / 700.0)

    return 700.0 * (10.0 ** (np.linspace(mel(np.array(30.0)), mel(np.array(sample_rate / 2)), n_mels + 2)
                             / 2595.0) - 1.0)


def mel_filterbank(sample_rate: int, n_fft: int = _N_FFT, n_mels: int = N_MELS) -> np.ndarray:
    """(n_mels, n_fft // 2 + 1) triangular filters on the HTK mel scale, 30 Hz to Nyquist."""
    edges = mel_band_edges(sample_rate, n_mels)
    bins = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    low, centre, high = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins - low) / (centre - low)
    falling = (high - bins) / (high - centre)
    return np.maximum(0.0, np.minimum(rising, falling))


def log_mel_statistics(notes: np.ndarray, sample_rate: int) -> np.ndarray:
    """(notes, 2 * N_MELS): time mean and standard deviation of each note's log-mel spectrogram."""
    filters = mel_filterbank(sample_rate)
    window = np.hanning(_N_FFT)
    features = []
    for note in np.asarray(notes, dtype=np.float64):
        padded = np.pad(note, (_N_FFT // 2, _N_FFT // 2))
        frames = np.lib.stride_tricks.sliding_window_view(padded, _N_FFT)[::_HOP] * window
        power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
        log_mel = np.log(power @ filters.T + 1e-8)
        features.append(np.concatenate([log_mel.mean(axis=0), log_mel.std(axis=0)]))
    return np.array(features)


def log_mel_db(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """(n, frames, DISTANCE_MELS) log-mel power of audio (n, samples) in dB re a full-scale sine.

    The STFT is scaled so a full-scale sine at a bin centre reads 0 dB in that bin (and within a dB or
    two of that in the mel band holding it), and every band is floored at FLOOR_DB (-80 dB): below
    that a note is silent to a listener, and without a floor the depth of digital silence under one
    decayed note (-300 dB for exact zeros) would swamp any distance to it.
    """
    audio = np.atleast_2d(np.asarray(audio, dtype=np.float64))
    window = np.hanning(DISTANCE_N_FFT)
    filters = mel_filterbank(sample_rate, DISTANCE_N_FFT, DISTANCE_MELS)
    out = []
    for start in range(0, len(audio), 16):  # 16 notes at a time: a full eval's STFTs stay small
        padded = np.pad(audio[start:start + 16], ((0, 0), (DISTANCE_N_FFT // 2, DISTANCE_N_FFT // 2)))
        frames = np.lib.stride_tricks.sliding_window_view(padded, DISTANCE_N_FFT, axis=1)[:, ::DISTANCE_HOP]
        spectrum = np.fft.rfft(frames * window, axis=-1) * (2.0 / window.sum())
        power = (spectrum.real**2 + spectrum.imag**2) @ filters.T
        out.append(10.0 * np.log10(np.maximum(power, 10.0 ** (FLOOR_DB / 10.0))))
    return np.concatenate(out) if out else np.zeros((0, 0, DISTANCE_MELS))


def log_mel_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Log-mel distance in dB between spectrograms a and b (..., frames, mels) from `log_mel_db`.

    The RMS over frames and mel bands of the difference: frame by frame, not of time averages, so two
    notes with the same mean spectrum but different envelopes (a pluck and a bowed note) differ, as
    they do to the ear. Notes are compared onset-aligned and of one length. A note against itself
    scaled by 0.5 is 6.02 dB away (unless the floor clips it).
    """
    return np.sqrt(np.mean((np.asarray(a) - np.asarray(b)) ** 2, axis=(-2, -1)))


def diversity_db(notes: np.ndarray, pitches: list[int], sample_rate: int) -> float | None:
    """Mean `log_mel_distance` over all pairs of notes at one pitch, averaged over pitches (dB).

    Pitches with fewer than two notes are skipped; None when no pitch has two. 0 for identical notes.
    """
    spectra = log_mel_db(notes, sample_rate)
    by_pitch: dict[int, list[int]] = {}
    for index, pitch in enumerate(pitches):
        by_pitch.setdefault(int(pitch), []).append(index)
    means = []
    for indices in by_pitch.values():
        pairs = list(itertools.combinations(indices, 2))
        if pairs:
            first, second = (np.array(side) for side in zip(*pairs, strict=True))
            means.append(float(np.mean(log_mel_distance(spectra[first], spectra[second]))))
    return float(np.mean(means)) if means else None


def harmonic_to_noise_db(note: np.ndarray, pitch: float, sample_rate: int) -> float:
    """Energy at the harmonics of MIDI `pitch` against the rest of the spectrum, in dB (nan if silent).

    The power spectrum is summed over Hann frames (1/8 hop) that lie inside the note, each long enough
    that f0 spans at least 32 bins (the whole note in one frame when it is shorter). Frames inside the
    note, because zero padding would add the step where a cropped note is cut as broadband "noise";
    the cost is that the first and last half frame weigh less, so this is a steady-state figure and
    attack clicks are `count_clicks`' business. Harmonic bands are k * f0 +- f0 / 8 for k = 1, 2, ..
    up to Nyquist (a quarter of the spectrum, so white noise reads about -4.8 dB); everything else,
    below f0 too, is noise. It is the conditioning pitch, not the note's own: a note far out of tune
    loses its upper partials to the noise side, and so do strongly inharmonic real notes (piano's
    stretched partials, bells), which the real figure shows.
    """
    f0 = midi_to_hz(float(pitch))
    x = np.asarray(note, dtype=np.float64)
    n_fft = 1 << max(8, math.ceil(math.log2(_BINS_PER_F0 * sample_rate / f0)))
    length = min(n_fft, len(x))
    if length < 2:
        return float("nan")
    frames = np.lib.stride_tricks.sliding_window_view(x, length)[:: max(1, length // 8)]
    spectrum = np.fft.rfft(frames * np.hanning(length), n=n_fft, axis=-1)
    power = np.sum(spectrum.real**2 + spectrum.imag**2, axis=0)
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    k = np.rint(freqs / f0)
    harmonic = (k >= 1) & (np.abs(freqs - k * f0) <= _HARMONIC_HALF_WIDTH * f0)
    total = float(power.sum())
    if total <= 0.0:
        return float("nan")
    tiny = 1e-12 * total  # a pure harmonic stack reads a large finite figure, not infinity
    return 10.0 * math.log10((float(power[harmonic].sum()) + tiny) / (float(power[~harmonic].sum()) + tiny))


def levels_dbfs(notes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(RMS level, peak level) of each note (n, samples) in dB re 1.0 (a full-scale sine's RMS reads
    -3.01 dB), floored at -120 dB for silent notes.

    The RMS is over the note's active part (`levelling.active_rms`: its frames within 40 dB of its
    loudest), as the trainer's level record in RUN/data.json, so a short note is not called quieter
    than a held one of the same loudness and the real median reads against that record.
    """
    x = np.atleast_2d(np.asarray(notes, dtype=np.float64))
    floor = 10.0 ** (_SILENCE_DBFS / 20.0)
    rms = active_rms(x)
    peak = np.max(np.abs(x), axis=1)
    return 20.0 * np.log10(np.maximum(rms, floor)), 20.0 * np.log10(np.maximum(peak, floor))


def clipped_share(notes: np.ndarray) -> float:
    """Share of samples at or beyond full scale (|x| >= 0.999): what a 16-bit export or DAC clips."""
    x = np.asarray(notes, dtype=np.float64)
    return float(np.mean(np.abs(x) >= FULL_SCALE)) if x.size else 0.0


def count_clicks(note: np.ndarray, sample_rate: int, pitch: float | None = None) -> int:
    """Clicks in one note: jumps that stand far out of the note's local high-pass energy.

    The high-pass is the second difference e[n] = x[n+1] - 2 x[n] + x[n-1], the change of the
    sample-to-sample step: a smooth tone keeps it small (a sine's by (2 pi f / rate)^2), a jump of h
    makes it h. A sample is an outlier when |e[n]| > 10 times the RMS of e over the 10 ms either side
    (leaving out n +- 2, so the jump does not raise its own yardstick) and |e[n]| >= 1e-3 (so a lone
    quantisation step in a silent tail is no click): in a half-scale 440 Hz sine at 16 kHz a jump of
    about 0.1 counts, and Gaussian noise practically never does. With the note's MIDI `pitch` given,
    an outlier that has a jump at least half as large one period (+- 6 %) before or after it is the
    waveform's own shape (a bright low sawtooth's reset, once a period), not a click. Outliers within
    5 ms of each other count as one click (a step makes two adjacent ones). The note's first and last
    samples have no neighbour outside and are not judged.
    """
    x = np.asarray(note, dtype=np.float64)
    if len(x) < 3:
        return 0
    e = x[2:] - 2.0 * x[1:-1] + x[:-2]
    size = np.abs(e)
    sums = np.concatenate([[0.0], np.cumsum(e**2)])
    index = np.arange(len(e))

    def window(radius: int) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = np.maximum(index - radius, 0), np.minimum(index + radius + 1, len(e))
        return sums[hi] - sums[lo], (hi - lo).astype(np.float64)

    energy, count = window(max(1, round(_CLICK_WINDOW_S * sample_rate)))
    guard_energy, guard_count = window(_CLICK_GUARD)
    local = np.sqrt(np.maximum(energy - guard_energy, 0.0) / np.maximum(count - guard_count, 1.0))
    outliers = np.flatnonzero((size > CLICK_RATIO * local) & (size >= CLICK_MIN_JUMP))
    if pitch is not None and len(outliers):
        period = sample_rate / midi_to_hz(float(pitch))
        slack = round(_CLICK_PERIOD_SLACK * period) + 1

        def echo(n: int, offset: float) -> float:
            lo, hi = max(0, round(n + offset) - slack), min(len(e), round(n + offset) + slack + 1)
            return float(size[lo:hi].max()) if hi > lo else 0.0

        outliers = np.array([n for n in outliers
                             if max(echo(n, -period), echo(n, period)) < 0.5 * size[n]], dtype=np.int64)
    if len(outliers) == 0:
        return 0
    merge = max(1, round(_CLICK_MERGE_S * sample_rate))
    return 1 + int(np.sum(np.diff(outliers) > merge))


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    from scipy import linalg

    mean_a, mean_b = a.mean(axis=0), b.mean(axis=0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = np.real(linalg.sqrtm(cov_a @ cov_b))
    return float(np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a + cov_b - 2.0 * root))


def pitch_hits(notes: np.ndarray, pitches: list[int], sample_rate: int) -> tuple[np.ndarray, int]:
    """(per-note bool: within 50 cents of its pitch, how many notes had no detectable pitch)."""
    hits, unvoiced = [], 0
    for note, pitch in zip(notes, pitches, strict=True):
        found = estimate_pitch(note, sample_rate)
        unvoiced += found is None
        hits.append(found is not None and abs(found.midi - pitch) <= 0.5)
    return np.array(hits), unvoiced


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), digits)


def _spread(values: np.ndarray) -> tuple[float, float]:
    """(median, 90th - 10th percentile) of finite values; nan, nan when there are none."""
    finite = values[np.isfinite(values)]
    if len(finite) == 0:
        return float("nan"), float("nan")
    low, median, high = np.percentile(finite, [10, 50, 90])
    return float(median), float(high - low)


def sound_figures(
    generated: np.ndarray, generated_pitches: list[int], real: np.ndarray, real_pitches: list[int],
    sample_rate: int,
) -> dict[str, Any]:
    """Diversity, harmonic-to-noise, levels and clicks of generated against real notes (see module)."""
    figures: dict[str, Any] = {}
    diverse = diversity_db(generated, generated_pitches, sample_rate)
    diverse_real = diversity_db(real, real_pitches, sample_rate)
    figures["diversity_db_generated"] = _round(diverse, 3)
    figures["diversity_db_real"] = _round(diverse_real, 3)
    figures["diversity_ratio"] = (
        _round(diverse / diverse_real, 4) if diverse is not None and diverse_real else None
    )
    hnr = {}
    for side, notes, pitches in (("generated", generated, generated_pitches), ("real", real, real_pitches)):
        per_note = np.array([harmonic_to_noise_db(n, p, sample_rate) for n, p in zip(notes, pitches,
                                                                                        strict=True)])
        hnr[side] = float(np.nanmedian(per_note)) if np.isfinite(per_note).any() else float("nan")
        figures[f"harmonic_to_noise_db_{side}"] = _round(hnr[side], 2)
    figures["harmonic_to_noise_difference_db"] = _round(hnr["generated"] - hnr["real"], 2)
    for side, notes, pitches in (("generated", generated, generated_pitches), ("real", real, real_pitches)):
        rms, peak = levels_dbfs(notes)
        figures[f"level_rms_dbfs_median_{side}"], figures[f"level_rms_dbfs_spread_{side}"] = (
            _round(v, 2) for v in _spread(rms))
        figures[f"level_peak_dbfs_median_{side}"], figures[f"level_peak_dbfs_spread_{side}"] = (
            _round(v, 2) for v in _spread(peak))
        figures[f"clipped_share_{side}"] = round(clipped_share(notes), 6)
        clicks = np.array([count_clicks(n, sample_rate, p) for n, p in zip(notes, pitches, strict=True)])
        figures[f"clicks_per_note_{side}"] = round(float(clicks.mean()), 3) if len(clicks) else None
        figures[f"notes_with_clicks_{side}"] = round(float(np.mean(clicks > 0)), 4) if len(clicks) else None
    return figures


def evaluate(
    generated: np.ndarray, generated_pitches: list[int], real: np.ndarray, real_pitches: list[int],
    sample_rate: int,
) -> dict[str, Any]:
    gen_hits, gen_unvoiced = pitch_hits(generated, generated_pitches, sample_rate)
    real_hits, _ = pitch_hits(real, real_pitches, sample_rate)
    gen_features = log_mel_statistics(generated, sample_rate)
    real_features = log_mel_statistics(real, sample_rate)
    half = len(real_features) // 2
    # Interleaved halves, so each half covers every pitch.
    return {
        "pitch_accuracy": round(float(gen_hits.mean()), 4),
        "pitch_accuracy_real": round(float(real_hits.mean()), 4),
        "unvoiced_generated": round(gen_unvoiced / len(generated), 4),
        "frechet_log_mel": round(frechet_distance(gen_features, real_features), 3),
        "frechet_log_mel_real_halves": round(
            frechet_distance(real_features[0::2][:half], real_features[1::2][:half]), 3
        ),
        **sound_figures(generated, generated_pitches, real, real_pitches, sample_rate),
        "generated_notes": len(generated),
        "real_notes": len(real),
    }
