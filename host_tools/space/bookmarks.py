"""Named latent points of a run, kept in RUN/space/bookmarks.json (host analysis layer).

A bookmark is made from PCA coefficients (in standard deviations), from a seed (the z that seed
draws) or from raw z values; its z is always stored too, so corners and banks built from it stay the
same if the directions are refitted later.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from device.errors import ConfigError
from device.safe_read import read_json
from host_tools.space.directions import space_dir

_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
# Thousands of bookmarks of a few-hundred-dimensional z; far more is a damaged or foreign file.
MAX_BOOKMARKS_BYTES = 64 * 1024 * 1024


def bookmarks_path(run: str | os.PathLike[str]) -> Path:
    return space_dir(run) / "bookmarks.json"


def seed_latent(seed: int, latent_dim: int) -> np.ndarray:
    """The z a seed stands for everywhere in the tools (torch's generator, as `latent gan generate` uses)."""
    import torch

    return torch.randn(1, latent_dim, generator=torch.Generator().manual_seed(seed))[0].double().numpy()


def load_bookmarks(run: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    path = bookmarks_path(run)
    # Only nothing at all means no bookmarks yet; a directory, FIFO or device there is refused.
    if not os.path.lexists(path):
        return {}
    try:
        # Bounded: a FIFO, a device, a huge or hostile file is refused by name, never hangs.
        data = read_json(path, what="a JSON file", error=ConfigError, max_bytes=MAX_BOOKMARKS_BYTES,
                         raise_syntax_errors=True)
    except json.JSONDecodeError as err:
        raise ConfigError(f"{path} is unreadable ({err}); fix or delete it") from None
    except ConfigError as err:
        raise ConfigError(f"{path} is unreadable ({str(err).removeprefix(f'{path}: ')}); "
                          "fix or delete it") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} is unreadable (not an object); fix or delete it")
    return data


def add_bookmark(run: str | os.PathLike[str], name: str, entry: dict[str, Any]) -> Path:
    """Store `entry` (which holds at least "z") under `name`, replacing one of the same name."""
    if not _NAME.match(name):
        raise ConfigError(f"bookmark name {name!r} must be 1..64 letters, digits, '.', '_' or '-'")
    marks = load_bookmarks(run)
    marks[name] = {**entry, "z": [float(v) for v in entry["z"]]}
    path = bookmarks_path(run)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(".bookmarks.tmp.json")
    temp.write_text(json.dumps(marks, indent=1), encoding="utf-8")
    os.replace(temp, path)
    return path


def bookmark_latents(run: str | os.PathLike[str], names: list[str], latent_dim: int) -> np.ndarray:
    """(len(names), D) z of the named bookmarks; ConfigError naming any unknown one."""
    marks = load_bookmarks(run)
    unknown = [n for n in names if n not in marks]
    if unknown:
        known = ", ".join(sorted(marks)) or "none yet"
        raise ConfigError(f"unknown bookmark {unknown[0]!r} in {bookmarks_path(run)} (known: {known}); "
                          f"add it with `latent space bookmark {unknown[0]} --coeffs ...|--seed N`")
    latents = np.array([marks[n]["z"] for n in names], dtype=np.float64)
    if latents.shape[1] != latent_dim:
        raise ConfigError(f"bookmarks {names} hold {latents.shape[1]}-D z but the run's latent size is "
                          f"{latent_dim}; they were made for another run")
    return latents
