"""Renders a Wessel-style additive timbre space as a grid of sustained tones (host tools, bank synthesis).

After David Wessel, "Timbre Space as a Musical Control Structure" (Computer Music Journal, 1979):
a low-dimensional space whose axes are perceptual dimensions of timbre, driven by additive
synthesis so that a position in the space is a recipe of partial amplitudes. Wessel's first axis,
spectral energy distribution ("brightness"), is axis 0 here: the spectral slope in dB per octave
of harmonic number. His second axis concerned the attack, which a grain bank cannot use (grains
are read from anywhere in a segment, so segments have no attack), so axis 1 is a steady-state
dimension instead: the odd/even harmonic balance, from odd harmonics only (hollow, clarinet- or
square-like) through all harmonics (full, string- or sawtooth-like) to the fundamental plus even
harmonics only (octave-doubled, organ-like). Odd/even was chosen over inharmonicity because
  - it is audible over the whole brightness axis: it acts on harmonics 2 and 3, which are strong
    even in the darkest tones, whereas inharmonicity mostly moves the weak upper partials and so
    would be nearly inaudible on the dark half of the grid;
  - it keeps every tone harmonic, so the instrument's pitch keys stay in tune and resampling
    between bank pitches keeps the spectrum intact, while stretched partials beat and blur pitch;
  - the balance of odd and even harmonics is a documented timbre-space dimension in its own
    right (the "spectral irregularity" axis of Krimphoff, McAdams and Winsberg, 1994).

Every segment is a sustained tone with no attack or release (full level from the first sample to
the last), with gentle life: a static detune of upper partials of a cent or two plus slow,
independent pitch and level drifts per partial. The partials of one pitch (phases, detunes,
drifts) are identical at every grid point and only their amplitudes differ, so crossfading grid
neighbours at the same read position interpolates partial amplitudes without phase cancellation.
Segments are not loops: a reader should keep grains inside a segment.

Partials stop below `band_limit.nyquist_fraction` of Nyquist (counting detune and drift) with a
raised-cosine fade over the last `rolloff_octaves`, leaving room for the engine's upward
transposition between bank pitches. Every segment is scaled to the same K-weighted RMS
(`loudness.py`), so moving through the space or between bank pitches does not jump in level.
Everything random comes from the recipe's seed, drawn per pitch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from device.bundle.grid import Axis
from device.errors import ConfigError
from host_tools.bank.loudness import k_weighted_rms, to_db
from host_tools.bank.recipe import AdditiveRecipe, BandLimitSettings, LifeSettings


@dataclass(frozen=True)
class AdditiveBank:
    """A rendered bank: segments are float32 shaped (brightness, odd_even, pitches, frames)."""

    axes: tuple[Axis, Axis]
    pitches: tuple[int, ...]
    sample_rate: int
    segments: np.ndarray


def midi_to_hz(note: float | np.ndarray) -> np.ndarray:
    return 440.0 * 2.0 ** ((np.asarray(note, dtype=np.float64) - 69.0) / 12.0)


def bank_axes(recipe: AdditiveRecipe) -> tuple[Axis, Axis]:
    b = recipe.brightness
    brightness = Axis(
        name="brightness",
        min=b.slope_min_db_per_octave,
        max=b.slope_max_db_per_octave,
        steps=b.steps,
        description=(
            "spectral slope in dB per octave of harmonic number: low = dark and soft, near a "
            "sine; -6 = sawtooth-like; high = bright, buzzy, brassy"
        ),
    )
    odd_even = Axis(
        name="odd_even",
        min=-1.0,
        max=1.0,
        steps=recipe.odd_even.steps,
        description=(
            "odd/even harmonic balance: -1 = odd harmonics only (hollow, clarinet- or square-like); "
            "0 = all harmonics (full, string- or sawtooth-like); +1 = fundamental plus even "
            "harmonics only (octave-doubled, organ-like)"
        ),
    )
    return brightness, odd_even


def harmonic_amplitudes(
    slopes_db: np.ndarray, balances: np.ndarray, harmonics: np.ndarray, curve: float
) -> np.ndarray:
    """Relative amplitude of each harmonic at each grid point: shape (slopes, balances, harmonics).

    The fundamental is always 1 (pitch stays put); a negative balance fades even harmonics,
    a positive one fades odd harmonics above the fundamental; `curve` > 1 keeps the change
    gradual near the centre and decisive near the ends.
    """
    k = np.asarray(harmonics, dtype=np.float64)
    slope = 10.0 ** (np.asarray(slopes_db)[:, None] * np.log2(k)[None, :] / 20.0)
    bal = np.asarray(balances, dtype=np.float64)[:, None]
    even_gain = (1.0 + np.minimum(bal, 0.0)) ** curve
    odd_gain = (1.0 - np.maximum(bal, 0.0)) ** curve
    family = np.where(k % 2 == 0, even_gain, odd_gain)
    family[:, k == 1] = 1.0
    return slope[:, None, :] * family[None, :, :]


def band_limit_gains(freqs_hz: np.ndarray, limit_hz: float, rolloff_octaves: float) -> np.ndarray:
    """1 below the fade, a raised-cosine fade over the last `rolloff_octaves` below the limit, 0 above."""
    octaves_below = np.log2(limit_hz / np.asarray(freqs_hz, dtype=np.float64))
    if rolloff_octaves == 0.0:
        return (octaves_below >= 0.0).astype(np.float64)
    ramp = np.clip(octaves_below / rolloff_octaves, 0.0, 1.0)
    return 0.5 - 0.5 * np.cos(np.pi * ramp)


def _max_frequency_factor(life: LifeSettings) -> float:
    return float(2.0 ** ((life.detune_cents + life.drift_cents) / 1200.0))


def partial_count(f0_hz: float, sample_rate: int, band: BandLimitSettings, life: LifeSettings) -> int:
    """Harmonics whose highest instantaneous frequency stays below the band limit."""
    limit = band.nyquist_fraction * sample_rate / 2.0
    return int(limit // (f0_hz * _max_frequency_factor(life)))


def partial_waves(f0_hz: float, recipe: AdditiveRecipe, rng: np.random.Generator) -> np.ndarray:
    """Unit-amplitude partials with life, band-limit fade applied: shape (harmonics, frames)."""
    life, band, rate = recipe.life, recipe.band_limit, recipe.sample_rate
    n = partial_count(f0_hz, rate, band, life)
    if n < 1:
        raise ConfigError(
            f"a {f0_hz:.1f} Hz fundamental does not fit below band_limit.nyquist_fraction = "
            f"{band.nyquist_fraction} at {rate} Hz; lower pitches.high or raise sample_rate")
    k = np.arange(1, n + 1, dtype=np.float64)
    detune = rng.uniform(-life.detune_cents, life.detune_cents, n)
    detune[0] = 0.0  # the fundamental carries the pitch: no static offset
    freqs = k * f0_hz * 2.0 ** (detune / 1200.0)
    deviation = freqs * (2.0 ** (life.drift_cents / 1200.0) - 1.0)
    drift_rate = rng.uniform(*life.drift_rate_hz, n)
    amp_rate = rng.uniform(*life.amp_drift_rate_hz, n)
    start_phase, drift_phase, amp_phase = rng.uniform(0.0, 2.0 * np.pi, (3, n))

    t = np.arange(recipe.segment_frames, dtype=np.float64) / rate
    two_pi_t = 2.0 * np.pi * t[None, :]
    # Sinusoidal frequency drift integrated in closed form: phase = 2 pi f t + (dev / rate) sin(...).
    phase = (start_phase[:, None] + freqs[:, None] * two_pi_t
             + (deviation / drift_rate)[:, None] * np.sin(drift_rate[:, None] * two_pi_t
                                                          + drift_phase[:, None]))
    level_db = life.amp_drift_db * np.sin(amp_rate[:, None] * two_pi_t + amp_phase[:, None])
    gains = band_limit_gains(freqs, band.nyquist_fraction * rate / 2.0, band.rolloff_octaves)
    return (gains[:, None] * 10.0 ** (level_db / 20.0)) * np.sin(phase)


def render_bank(recipe: AdditiveRecipe) -> AdditiveBank:
    """Render every segment of the recipe's grid at every bank pitch, loudness-matched."""
    axes = bank_axes(recipe)
    slopes, balances = axes[0].values(), axes[1].values()
    pitches = recipe.pitches.notes()
    grid_points = len(slopes) * len(balances)
    segments = np.empty((len(slopes), len(balances), len(pitches), recipe.segment_frames), np.float32)
    target = 10.0 ** (recipe.level.loudness_db / 20.0)
    for p_index, note in enumerate(pitches):
        # One generator per pitch: a pitch's partials do not depend on which other pitches exist.
        rng = np.random.default_rng([recipe.seed, note])
        waves = partial_waves(float(midi_to_hz(note)), recipe, rng)
        harmonics = np.arange(1, waves.shape[0] + 1)
        amps = harmonic_amplitudes(slopes, balances, harmonics, recipe.odd_even.curve)
        tones = amps.reshape(grid_points, -1) @ waves
        tones *= (target / k_weighted_rms(tones, recipe.sample_rate))[:, None]
        segments[:, :, p_index, :] = tones.reshape(len(slopes), len(balances), -1)
    _check_ceiling(segments, recipe)
    return AdditiveBank(axes=axes, pitches=pitches, sample_rate=recipe.sample_rate, segments=segments)


def _check_ceiling(segments: np.ndarray, recipe: AdditiveRecipe) -> None:
    peaks = np.max(np.abs(segments), axis=-1)
    worst = np.unravel_index(int(np.argmax(peaks)), peaks.shape)
    peak_db = float(to_db(peaks[worst]))
    if peak_db > recipe.level.ceiling_db:
        raise ConfigError(
            f"at level.loudness_db = {recipe.level.loudness_db} the segment at grid point "
            f"{tuple(int(i) for i in worst[:2])}, pitch {recipe.pitches.notes()[worst[2]]} peaks at "
            f"{peak_db:.1f} dBFS, above level.ceiling_db = {recipe.level.ceiling_db}; "
            "lower level.loudness_db")
