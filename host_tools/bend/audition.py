"""Bent auditions for `latent space grid|explore --bend RECIPE` (host bend layer): the recipe resolved
against the run, the amounts to show, rendering with or without a bend through one function, and the
critic's score of each audition where the run keeps its critic."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from host_tools.bend.plan import BendPlan
    from host_tools.gan.config import GanConfig


def bend_plan(recipe_path: str | None, generator: Any, run: str | os.PathLike[str]) -> BendPlan | None:
    """The recipe at `recipe_path` checked against the run (None without one); refuses before rendering."""
    if recipe_path is None:
        return None
    from host_tools.bend.plan import resolve_bend
    from host_tools.bend.recipe import load_bend

    return resolve_bend(load_bend(recipe_path), generator, run)


def parse_amounts(text: str, option: str = "--amounts") -> list[float]:
    """Increasing bend amounts in 0..1, like 0,0.5,1."""
    from device.errors import ConfigError
    from host_tools.space.parsing import parse_floats

    amounts = parse_floats(text, option, "0,0.5,1")
    if any(not 0.0 <= a <= 1.0 for a in amounts) or sorted(set(amounts)) != amounts:
        raise ConfigError(f"{option} {text!r} must be increasing amounts from 0 to 1, like 0,0.5,1")
    return amounts


def audition_amounts(plan: BendPlan | None, text: str | None) -> list[float]:
    """--amounts as given, else 0 (unbent) and the recipe's range at its ends and middle; [0] unbent."""
    from device.errors import ConfigError

    if plan is None:
        if text is not None:
            raise ConfigError("--amounts needs --bend RECIPE (the amounts of which bend?)")
        return [0.0]
    if text is not None:
        return parse_amounts(text)
    low, high = plan.recipe.amount
    return sorted({0.0, *(round(float(a), 6) for a in np.linspace(low, high, 3))})


def render_audition(generator: Any, cfg: GanConfig, plan: BendPlan | None, latents: np.ndarray,
                    pitches: list[int], amounts: np.ndarray, batch: int = 32,
                    progress: Callable[[int], None] | None = None) -> np.ndarray:
    """`render_latents` without a plan, else each note bent by its amount."""
    from host_tools.space.render import render_latents

    if plan is None:
        return render_latents(generator, cfg, latents, pitches, batch=batch, progress=progress)
    from host_tools.bend.render import render_plan

    return render_plan(generator, cfg, plan, latents, pitches, amounts, batch=batch, progress=progress)


def audition_scores(run: str | os.PathLike[str], cfg: GanConfig, audio: np.ndarray,
                    pitches: list[int]) -> list[float] | None:
    """Each note's critic score where the run keeps its critic (training runs), else None."""
    from host_tools.bend.critic import critic_scores, load_critic

    critic = load_critic(run)
    if critic is None:
        return None
    return [round(float(s), 3) for s in critic_scores(critic, cfg, audio, pitches)]
