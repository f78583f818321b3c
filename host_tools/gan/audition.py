"""What a person looks at and listens to while a run trains: audition WAVs of a fixed set of latent
vectors at a few pitches, and the loss curves (host training layer).

The audition z never change during a run (drawn from their own seeded generator, so they leave the
training RNG untouched), so successive samples/step_*.wav files let one hear the same notes sharpen.
Each note is levelled like the training notes (levelling.py) so an early generator's gain errors
neither clip the file nor hide how the notes sound.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from host_tools.gan.config import GanConfig

_GAP_SECONDS = 0.25


def audition_latents(cfg: GanConfig) -> Any:
    import torch

    rng = torch.Generator().manual_seed(cfg.train.seed + 1)
    return torch.randn(cfg.train.audition_z, cfg.model.latent_dim, generator=rng)


def write_audition(path: Path, generator: Any, cfg: GanConfig,
                   level: Mapping[str, Any] | None = None) -> Path:
    """One WAV: for each audition z, each audition pitch in turn, separated by short silences.

    Each note is levelled to `level` (levelling.data_level's record); None reads the level recorded
    in the run that holds path (RUN/samples/step_N.wav -> RUN/data.json), which the trainer wrote
    before its first step; a run without one gets the peak safety only."""
    import soundfile

    from host_tools.gan.levelling import level_notes, run_level, wav_ready
    from host_tools.gan.run_dir import generate_audio

    z = audition_latents(cfg)
    pitches = list(cfg.train.audition_pitches)
    zs = z.repeat_interleave(len(pitches), dim=0)
    was_training = generator.training
    generator.eval()
    notes = generate_audio(generator, cfg, zs, pitches * len(z))
    generator.train(was_training)
    notes = level_notes(notes, run_level(path.parent.parent) if level is None else level)
    rate = cfg.audio.sample_rate
    gap = np.zeros(int(_GAP_SECONDS * rate), dtype=np.float32)
    audio = np.concatenate([part for note in notes for part in (note, gap)])
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.tmp")
    soundfile.write(str(temp), wav_ready(audio), rate, subtype="PCM_16", format="WAV")
    temp.replace(path)
    return path


def write_loss_plot(metrics: Path, png: Path) -> Path | None:
    """Loss curves from metrics.jsonl; None while there is nothing to draw."""
    rows = [json.loads(line) for line in metrics.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not rows:
        return None
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    steps = [r["step"] for r in rows]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    for key in ("d_loss", "g_loss", "wasserstein"):
        top.plot(steps, [r[key] for r in rows], label=key)
    top.set_ylabel("WGAN-GP")
    top.legend()
    for key in ("gradient_penalty", "aux_real", "aux_fake"):
        bottom.plot(steps, [r[key] for r in rows], label=key)
    bottom.set_ylabel("penalty / pitch cross-entropy")
    bottom.set_xlabel("step")
    bottom.set_yscale("log")
    bottom.legend()
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    temp = png.with_name(f".{png.name}.tmp.png")
    fig.savefig(temp, dpi=80)
    plt.close(fig)
    temp.replace(png)
    return png
