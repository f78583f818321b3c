"""What each latent direction does to the sound, in figures a person can name (host analysis layer).

For each PCA direction k the centre latent is moved to -R and +R standard deviations along k alone and
rendered at a few pitches; the direction is then described by
- how audible it is: the log-mel distance (dB, evaluation.log_mel_distance) between the -R and +R notes;
- which spectral feature it moves, +R minus -R, averaged over pitches:
  brightness (spectral centroid, in octaves), noisiness (harmonic-to-noise, dB), hollowness (odd over
  even harmonics, dB), loudness (active RMS, dB), attack (time to 90% of the envelope's peak, s) and
  sustain (envelope slope over the note's second half, dB/s);
- a name: the feature whose change is largest against a just-noticeable step of that feature
  (`STEPS`: a third of an octave of centroid, 3 dB of harmonic-to-noise, odd/even or level, 20 ms of
  attack, 6 dB/s of decay), with the direction it goes ("brighter", "noisier", ...).

Choosing a bank's axes: take the most audible directions whose names differ (`suggest_axes`), so the
two hands move two different things.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from host_tools.gan.evaluation import harmonic_to_noise_db, levels_dbfs, log_mel_db, log_mel_distance

if TYPE_CHECKING:
    from host_tools.gan.config import GanConfig

# feature -> (just-noticeable step, word for an increase, word for a decrease)
STEPS: dict[str, tuple[float, str, str]] = {
    "brightness_octaves": (1.0 / 3.0, "brighter", "darker"),
    "harmonic_to_noise_db": (3.0, "purer", "noisier"),
    "odd_even_db": (3.0, "hollower (odd harmonics up)", "fuller (even harmonics up)"),
    "level_db": (3.0, "louder", "softer"),
    "attack_s": (0.02, "slower attack", "sharper attack"),
    "sustain_db_per_s": (6.0, "more sustained", "faster decay"),
}
_ENVELOPE_S = 0.01


def spectral_centroid_hz(note: np.ndarray, sample_rate: int) -> float:
    power = np.abs(np.fft.rfft(np.asarray(note, dtype=np.float64) * np.hanning(len(note)))) ** 2
    freqs = np.fft.rfftfreq(len(note), 1.0 / sample_rate)
    total = power.sum()
    return float((power * freqs).sum() / total) if total > 0 else float("nan")


def odd_even_db(note: np.ndarray, pitch: float, sample_rate: int, harmonics: int = 16) -> float:
    """How far odd harmonics 3, 5, .. stand above their even neighbours (dB): each odd harmonic's level
    against the mean of the two around it, averaged. A smooth spectral slope of any steepness reads 0,
    so this is the clarinet-like hollowness, not brightness. Levels floored 100 dB under the loudest."""
    f0 = 440.0 * 2.0 ** ((pitch - 69.0) / 12.0)
    x = np.asarray(note, dtype=np.float64)
    power = np.abs(np.fft.rfft(x * np.hanning(len(x)))) ** 2
    freqs = np.fft.rfftfreq(len(x), 1.0 / sample_rate)
    levels = []
    for k in range(1, harmonics + 1):
        if k * f0 >= sample_rate / 2:
            break
        levels.append(power[np.abs(freqs - k * f0) <= f0 / 4].sum())
    if len(levels) < 4:
        return 0.0
    db = 10.0 * np.log10(np.maximum(np.array(levels), max(levels) * 1e-10) + 1e-30)
    odd = [db[k - 1] - 0.5 * (db[k - 2] + db[k]) for k in range(3, len(db), 2)]  # k is the harmonic number
    return float(np.mean(odd))


def envelope_db(note: np.ndarray, sample_rate: int) -> np.ndarray:
    hop = max(1, round(_ENVELOPE_S * sample_rate))
    x = np.asarray(note, dtype=np.float64)
    frames = x[: len(x) // hop * hop].reshape(-1, hop)
    return 10.0 * np.log10(np.mean(frames**2, axis=1) + 1e-12)


def attack_seconds(note: np.ndarray, sample_rate: int) -> float:
    """Time until the envelope first comes within 3 dB of its 95th percentile: the onset, robust to a
    held note whose loudest moment (a swell, a tremolo peak) comes late."""
    env = envelope_db(note, sample_rate)
    reached = np.nonzero(env >= np.percentile(env, 95) - 3.0)[0]
    return float(reached[0] * _ENVELOPE_S)


def sustain_db_per_s(note: np.ndarray, sample_rate: int) -> float:
    env = envelope_db(note, sample_rate)
    half = env[len(env) // 2 :]
    t = np.arange(len(half)) * _ENVELOPE_S
    return float(np.polyfit(t, half, 1)[0]) if len(half) >= 2 else 0.0


def note_features(note: np.ndarray, pitch: int, sample_rate: int) -> dict[str, float]:
    level, _ = levels_dbfs(note[None, :])
    return {
        "brightness_octaves": math.log2(max(spectral_centroid_hz(note, sample_rate), 1.0)),
        "harmonic_to_noise_db": harmonic_to_noise_db(note, pitch, sample_rate),
        "odd_even_db": odd_even_db(note, pitch, sample_rate),
        "level_db": float(level[0]),
        "attack_s": attack_seconds(note, sample_rate),
        "sustain_db_per_s": sustain_db_per_s(note, sample_rate),
    }


def describe_direction(low: np.ndarray, high: np.ndarray, pitches: list[int],
                       sample_rate: int) -> dict[str, Any]:
    """Figures for one direction from its notes at -R (`low`) and +R (`high`), one per pitch."""
    distance = float(np.mean(log_mel_distance(log_mel_db(low, sample_rate), log_mel_db(high, sample_rate))))
    pairs = [(note_features(lo, p, sample_rate), note_features(h, p, sample_rate))
             for lo, h, p in zip(low, high, pitches, strict=True)]
    deltas: dict[str, float] = {}
    for name in STEPS:
        finite = [c for c in (after[name] - before[name] for before, after in pairs) if math.isfinite(c)]
        deltas[name] = float(np.mean(finite)) if finite else 0.0
    scores = {name: abs(value) / STEPS[name][0] for name, value in deltas.items()}
    main = max(scores, key=lambda name: scores[name])
    word = STEPS[main][1] if deltas[main] > 0 else STEPS[main][2]
    return {
        "distance_db": round(distance, 2),
        "changes": {k: round(v, 3) for k, v in deltas.items()},
        "noticeable_steps": {k: round(v, 2) for k, v in scores.items()},
        "moves": main,
        "goes": word,
        "name": f"{main.split('_')[0]}: towards + is {word}",
    }


def describe_directions(generator: Any, cfg: GanConfig, directions: Any, components: list[int],
                        pitches: list[int], reach: float) -> list[dict[str, Any]]:
    from host_tools.space.render import render_latents

    rate = int(cfg.audio.sample_rate)
    described = []
    for k in components:
        coeffs = np.zeros((2, k + 1))
        coeffs[0, k], coeffs[1, k] = -reach, reach
        z = directions.latent(coeffs)
        latents = np.repeat(z, len(pitches), axis=0)
        notes = render_latents(generator, cfg, latents, pitches * 2)
        low, high = notes[: len(pitches)], notes[len(pitches) :]
        described.append({"component": k, **describe_direction(low, high, pitches, rate)})
    return described


def suggest_axes(described: list[dict[str, Any]], count: int = 2) -> list[int]:
    """The most audible directions that move different features (fewer if too few differ). A direction
    that mostly moves the level is left out: a compiled bank levels every segment, so it would play as
    nothing."""
    chosen: list[dict[str, Any]] = []
    for entry in sorted(described, key=lambda e: -e["distance_db"]):
        if entry["moves"] == "level_db":
            continue
        if all(entry["moves"] != other["moves"] for other in chosen):
            chosen.append(entry)
        if len(chosen) == count:
            break
    return [entry["component"] for entry in chosen]


MEANING = {
    "distance_db": "log-mel distance (dB) between the notes at -R and +R along this direction alone: how "
                   "far it moves the sound; compare with latent gan eval's diversity_db_real (different "
                   "instruments at one pitch)",
    "changes": "feature at +R minus at -R, mean over the pitches: brightness in octaves of spectral "
               "centroid, harmonic-to-noise / odd-even / level in dB, attack in s, sustain in dB/s",
    "noticeable_steps": "each change in just-noticeable steps (1/3 octave, 3 dB, 3 dB, 3 dB, 20 ms, 6 dB/s)",
    "moves": "the feature with the most noticeable steps; `name` says which way + goes",
    "goes": "which way + moves that feature, in a word (brighter, darker, louder, ...)",
    "suggested_axes": "the most audible directions that move different features: a bank's two axes",
}
