"""Render latent points to audio and WAV files with a trained generator (host analysis layer)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import soundfile

if TYPE_CHECKING:
    from host_tools.gan.config import GanConfig


def render_latents(
    generator: Any, cfg: GanConfig, latents: np.ndarray, pitches: list[int], batch: int = 32,
    progress: Callable[[int], None] | None = None,
) -> np.ndarray:
    """float32 audio (n, samples) for z (n, D) at MIDI pitches (n)."""
    import torch

    from host_tools.gan.run_dir import generate_audio

    out = []
    for start in range(0, len(latents), batch):
        z = torch.from_numpy(np.asarray(latents[start:start + batch], dtype=np.float32))
        out.append(generate_audio(generator, cfg, z, list(pitches[start:start + batch])))
        if progress:
            progress(len(z))
    return np.concatenate(out).astype(np.float32)


def write_wav(path: str | os.PathLike[str], audio: np.ndarray, sample_rate: int) -> Path:
    """A PCM_16 WAV of one note. Level generated notes first (host_tools.gan.levelling.level_notes):
    the clip here is only the last guard, since soundfile would clip out-of-range floats silently."""
    from host_tools.gan.levelling import wav_ready

    path = Path(path)
    soundfile.write(path, wav_ready(audio), sample_rate, subtype="PCM_16")
    return path
