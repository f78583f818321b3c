"""Render latent points through a bent generator, one bend amount per note (host bend layer)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from host_tools.bend.plan import BendPlan
    from host_tools.gan.config import GanConfig


def render_bent(
    generator: Any, cfg: GanConfig, latents: np.ndarray, pitches: list[int], amounts: np.ndarray, *,
    layer: str, transform: str, channels: list[int], params: dict[str, float], batch: int = 32,
    progress: Callable[[int], None] | None = None,
) -> np.ndarray:
    """float32 audio (n, samples) for z (n, D) at MIDI pitches (n), bent by amounts (n) in 0..1."""
    import torch

    from host_tools.bend.layers import LayerBend
    from host_tools.gan.run_dir import generate_audio

    amounts = np.asarray(amounts, dtype=np.float64)
    if amounts.shape != (len(latents),):
        raise ValueError(f"{amounts.shape} amounts for {len(latents)} latent points")
    bend = LayerBend(generator, layer, transform, channels, params)
    out = []
    with bend.installed():
        for start in range(0, len(latents), batch):
            z = torch.from_numpy(np.asarray(latents[start:start + batch], dtype=np.float32))
            bend.amounts = torch.from_numpy(amounts[start:start + batch].astype(np.float32))
            out.append(generate_audio(generator, cfg, z, list(pitches[start:start + batch])))
            if progress:
                progress(len(z))
    return np.concatenate(out).astype(np.float32)


def render_plan(generator: Any, cfg: GanConfig, plan: BendPlan, latents: np.ndarray, pitches: list[int],
                amounts: np.ndarray, batch: int = 32, progress: Callable[[int], None] | None = None,
                ) -> np.ndarray:
    """`render_bent` with a resolved recipe (plan.py)."""
    return render_bent(generator, cfg, latents, pitches, amounts, layer=plan.recipe.layer,
                       transform=plan.recipe.transform, channels=plan.channels,
                       params=plan.recipe.params, batch=batch, progress=progress)
