"""The trained critic's score of a note, where a run keeps its critic (host bend layer; imports torch).

A training run's checkpoints hold the critic beside the generator (an exported model does not), and
the critic was trained to score real notes above generated ones: a note it scores far below what it
gives the unbent generator's notes is one it would call unlike the data. The score (the Wasserstein
critic's output with its pitch projection, as in training) has no unit of its own, so it is shown
beside the unbent notes' scores (`latent bend measure`, amount 0), never alone.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np


def load_critic(run: str | os.PathLike[str], step: int | None = None) -> Any | None:
    """The run's newest (or `step`'s) critic in eval mode, or None when the run has no checkpoint."""
    from host_tools.gan.checkpoint import list_checkpoints, load_checkpoint
    from host_tools.gan.networks import build_critic
    from host_tools.gan.run_dir import RunLayout, read_run_config

    cfg = read_run_config(run)
    checkpoints = RunLayout(Path(run)).checkpoints
    if not list_checkpoints(checkpoints):
        return None
    found = load_checkpoint(checkpoints, cfg, step=step)
    if found is None or "critic" not in found[0]:
        return None
    critic = build_critic(cfg)
    critic.load_state_dict(found[0]["critic"])
    critic.eval()
    return critic


def critic_scores(critic: Any, cfg: Any, notes: np.ndarray, pitches: list[int]) -> np.ndarray:
    """(n,) the critic's score of each note (audio, as generated) at its conditioning pitch.

    One note per call: the critic's minibatch-variety channel would otherwise make a note's score
    depend on its batch neighbours (alone, that channel reads "no variety" alike for every note)."""
    import torch

    from host_tools.gan.config import pitch_list
    from host_tools.gan.representation import NoteCodec

    classes = pitch_list(cfg)
    codec = NoteCodec(cfg)
    out = []
    with torch.no_grad():
        for note, pitch in zip(notes, pitches, strict=True):
            audio = torch.from_numpy(np.asarray(note, dtype=np.float32))[None]
            score, _ = critic(codec.encode(audio), torch.tensor([classes.index(pitch)]))
            out.append(score.float().numpy())
    return np.concatenate(out) if out else np.zeros(0)
