"""Figures of a bend at a few amounts, against the real notes and the unbent model (host bend layer).

For each amount the same seeded notes (`per_pitch` z at every trained pitch) are rendered bent, and
measured as `latent gan eval` measures a run: pitch accuracy (YIN within 50 cents), harmonic-to-noise,
diversity at a pitch, the Frechet distance on log-mel statistics to the real notes, and the median
per-note distance from the data (distance.py), plus the log-mel distance (dB) of each bent note from
the same note unbent: how far the bend moves the sound at all; where the run keeps its critic, the
median critic score too (critic.py; read it against amount 0's).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from host_tools.bend.distance import Reference
    from host_tools.bend.plan import BendPlan
    from host_tools.gan.config import GanConfig


def measure_bend(generator: Any, cfg: GanConfig, plan: BendPlan, amounts: list[float], per_pitch: int,
                 seed: int, reference: Reference | None, critic: Any = None) -> dict[str, Any]:
    from host_tools.bend.render import render_plan
    from host_tools.gan.config import pitch_list
    from host_tools.gan.evaluation import (
        diversity_db,
        harmonic_to_noise_db,
        log_mel_db,
        log_mel_distance,
        pitch_hits,
    )

    rate = int(cfg.audio.sample_rate)
    pitches = [p for p in pitch_list(cfg) for _ in range(per_pitch)]
    z = np.random.default_rng(seed).standard_normal((len(pitches), int(cfg.model.latent_dim)))
    rows: list[dict[str, Any]] = []
    plain_spectra = None
    for amount in amounts:
        notes = render_plan(generator, cfg, plan, z, pitches, np.full(len(z), amount))
        spectra = log_mel_db(notes, rate)
        if plain_spectra is None and amount == 0.0:
            plain_spectra = spectra
        hits, unvoiced = pitch_hits(notes, pitches, rate)
        hnr = np.array([harmonic_to_noise_db(n, p, rate) for n, p in zip(notes, pitches, strict=True)])
        row: dict[str, Any] = {
            "amount": amount,
            "pitch_accuracy": round(float(hits.mean()), 4),
            "unvoiced": round(unvoiced / len(notes), 4),
            "harmonic_to_noise_db": round(float(np.nanmedian(hnr)), 2) if np.isfinite(hnr).any() else None,
            "diversity_db": round(float(diversity_db(notes, pitches, rate) or 0.0), 3),
            "moved_from_unbent_db": (round(float(np.mean(log_mel_distance(spectra, plain_spectra))), 3)
                                     if plain_spectra is not None else None),
        }
        if reference is not None:
            row["frechet_log_mel"] = round(reference.frechet(notes), 3)
            row["data_distance_median"] = round(float(np.median(reference.note_distances(notes, pitches))),
                                                3)
        if critic is not None:
            from host_tools.bend.critic import critic_scores

            scores = critic_scores(critic, cfg, notes, pitches)
            row["critic_score_median"] = round(float(np.median(scores)), 3)
        rows.append(row)
    out: dict[str, Any] = {"notes_per_amount": len(pitches), "per_pitch": per_pitch, "seed": seed,
                           "amounts": rows}
    if reference is not None:
        out["frechet_log_mel_real_halves"] = round(reference.frechet_halves(), 3)
        out["reference_notes"] = len(reference.pitches)
    return out
