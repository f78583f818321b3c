"""Training checkpoints in RUN/checkpoints/ (host training layer; imports torch).

A checkpoint is two files written atomically (temp file, fsync, rename), tensors first:
step_NNNNNNNN.pt holds only tensors and the optimisers' plain state dicts (loaded with
weights_only=True, so a checkpoint can never run code), and step_NNNNNNNN.json holds the step, the
architecture hash and summary, the Python/numpy RNG states and the .pt file's sha256. A checkpoint
counts only once its JSON exists and the hash matches, so a run killed mid-write resumes from the
previous one. A checkpoint of another architecture is refused with both summaries named.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from device.errors import ConfigError
from device.files import file_sha256, write_file_atomically
from host_tools.errors import CheckpointError
from host_tools.gan.config import GanConfig, architecture_hash, architecture_summary

_NAME = re.compile(r"^step_(\d{8})\.json$")



def rng_state() -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """(tensor part, JSON part) of every RNG the training loop draws from."""
    tensors = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        tensors["cuda"] = torch.cuda.get_rng_state()
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    plain = {
        "python": [random.getstate()[0], list(random.getstate()[1]), random.getstate()[2]],
        "numpy": [kind, [int(k) for k in keys], int(pos), int(has_gauss), float(cached)],
    }
    return tensors, plain


def set_rng_state(tensors: dict[str, torch.Tensor], plain: dict[str, Any]) -> None:
    torch.set_rng_state(tensors["torch"])
    if "cuda" in tensors and torch.cuda.is_available():
        torch.cuda.set_rng_state(tensors["cuda"])
    version, state, gauss = plain["python"]
    random.setstate((version, tuple(state), gauss))
    kind, keys, pos, has_gauss, cached = plain["numpy"]
    np.random.set_state((kind, np.array(keys, dtype=np.uint32), pos, has_gauss, cached))


def save_checkpoint(
    directory: Path, step: int, cfg: GanConfig, tensors: dict[str, Any], extra: dict[str, Any], keep: int
) -> Path:
    """Write step's checkpoint, then drop all but the newest `keep`. Returns the JSON path."""
    directory.mkdir(parents=True, exist_ok=True)
    stem = f"step_{step:08d}"
    rng_tensors, rng_plain = rng_state()
    weights = directory / f"{stem}.pt"
    write_file_atomically(weights, lambda h: torch.save({**tensors, "rng": rng_tensors}, h))
    meta = {
        "step": step,
        "architecture_hash": architecture_hash(cfg),
        "architecture": architecture_summary(cfg),
        "weights": weights.name,
        "sha256": file_sha256(weights),
        "rng": rng_plain,
        **extra,
    }
    path = directory / f"{stem}.json"
    write_file_atomically(path, lambda h: h.write(json.dumps(meta).encode()))
    for old in list_checkpoints(directory)[:-keep]:
        (directory / f"{old.stem}.pt").unlink(missing_ok=True)
        old.unlink(missing_ok=True)
    return path


def list_checkpoints(directory: Path) -> list[Path]:
    """Checkpoint JSON files, oldest first."""
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if _NAME.match(p.name))


def load_checkpoint(
    directory: Path, cfg: GanConfig, map_location: str | torch.device = "cpu", step: int | None = None
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(tensors, metadata) of the newest intact checkpoint (or of `step`), or None if there is none.

    ConfigError if it was made by another architecture than `cfg`'s; CheckpointError if every
    checkpoint there is damaged."""
    skipped = []
    candidates = list_checkpoints(directory)
    if step is not None:
        candidates = [p for p in candidates if p.name == f"step_{step:08d}.json"]
        if not candidates:
            present = ", ".join(p.stem for p in list_checkpoints(directory)) or "none"
            raise CheckpointError(f"{directory} holds no checkpoint of step {step}; it has {present}")
    for path in reversed(candidates):
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
            weights = directory / meta["weights"]
            if file_sha256(weights) != meta["sha256"]:
                raise ValueError("sha256 mismatch")
        except (OSError, ValueError, KeyError, TypeError) as err:
            skipped.append(f"{path.name} ({err})")
            continue
        if meta["architecture_hash"] != architecture_hash(cfg):
            raise ConfigError(
                f"{path} was trained with another architecture ({meta.get('architecture')}) than the "
                f"config's ({architecture_summary(cfg)}); resume with the run's own config "
                f"({directory.parent / 'config.json'}) or train into a new --out directory"
            )
        if skipped:
            print(f"skipped damaged checkpoints: {', '.join(skipped)}")
        tensors = torch.load(weights, map_location=map_location, weights_only=True)
        return tensors, meta
    if skipped:
        raise CheckpointError(
            f"{directory} holds no intact checkpoint ({', '.join(skipped)}); train again into a new --out"
        )
    return None
