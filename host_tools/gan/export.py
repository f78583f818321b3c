"""A trained generator as a small, shippable model directory (host training layer; imports torch).

    latent gan export --run RUN --out models/gan-medium [--step N]

writes

    OUT/config.json             the run's validated config
    OUT/generator.safetensors   the moving-average generator weights only (no critic, no optimiser:
                                ~4x smaller than a checkpoint, and safetensors cannot carry code)
    OUT/generator.json          step, architecture hash and sha256 of the weights, the source run
    OUT/data.json               the training data's level (what generated notes are levelled to)
                                and selection; the data directory is the trainer's machine's
    OUT/space/                  the run's PCA directions, when it has them

OUT is a run directory to every later tool (`latent space ...`, `latent bank compile --run OUT`,
`latent gan generate --run OUT`): load_generator and the compiler read the exported weights when there are
no training checkpoints. It cannot be resumed (nothing to resume from); train from the recipe for that.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from device.errors import ConfigError
from device.files import file_sha256
from host_tools.errors import CheckpointError
from host_tools.gan.config import GanConfig, architecture_hash, architecture_summary

WEIGHTS = "generator.safetensors"
META = "generator.json"


def exported_meta(run: str | os.PathLike[str]) -> dict[str, Any] | None:
    """generator.json of an exported model directory, checked against its weights; None if not one."""
    root = Path(run)
    meta_path, weights = root / META, root / WEIGHTS
    if not meta_path.is_file():
        return None
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        wanted = meta["sha256"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise CheckpointError(f"{meta_path} is unreadable ({err}); export the model again") from None
    if not weights.is_file() or file_sha256(weights) != wanted:
        raise CheckpointError(f"{weights} is missing or does not match {meta_path} (sha256); "
                              "the model directory is damaged: export or download it again")
    return meta


def load_exported_weights(run: str | os.PathLike[str], cfg: GanConfig, meta: dict[str, Any],
                          device: str = "cpu") -> dict[str, Any]:
    """The exported generator's state dict; `meta` is exported_meta(run), already checked against the
    weights' sha256 (hashing them again here would read the file twice)."""
    if meta.get("architecture_hash") != architecture_hash(cfg):
        raise ConfigError(f"{Path(run) / WEIGHTS} was made for {meta.get('architecture')}, not for the "
                          f"directory's config ({architecture_summary(cfg)}); export the model again")
    from safetensors.torch import load_file

    return load_file(str(Path(run) / WEIGHTS), device=device)


def export_model(run: str | os.PathLike[str], out: str | os.PathLike[str],
                 step: int | None = None) -> dict[str, Any]:
    """Write the model directory (atomically: built beside OUT, then renamed); returns generator.json."""
    import torch
    from safetensors.torch import save_file

    from host_tools.gan.checkpoint import load_checkpoint
    from host_tools.gan.run_dir import RunLayout, read_data_record, read_run_config

    run, out = Path(run), Path(out)
    cfg = read_run_config(run)
    found = load_checkpoint(RunLayout(run).checkpoints, cfg, step=step)
    if found is None:
        raise CheckpointError(f"{run} has no checkpoint to export; train it first (`latent gan train`)")
    tensors, meta = found
    if out.exists() and not (out / META).is_file():
        raise ConfigError(f"--out {out} exists and is not an exported model; choose a new directory")
    staging = out.with_name(f".{out.name}.export")
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "space").mkdir(parents=True)
    weights = {k: v.detach().to(torch.float32).contiguous() for k, v in tensors["generator_ema"].items()}
    save_file(weights, str(staging / WEIGHTS))
    record = {
        "step": meta["step"], "architecture_hash": architecture_hash(cfg),
        "architecture": architecture_summary(cfg), "sha256": file_sha256(staging / WEIGHTS),
        "source_checkpoint_sha256": meta["sha256"], "wall_seconds": meta.get("wall_seconds"),
        "source_run": str(run.resolve()),
    }
    (staging / "config.json").write_text(json.dumps(cfg.to_dict(), indent=2) + "\n", encoding="utf-8")
    (staging / META).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    data = read_data_record(run) if RunLayout(run).data_record.is_file() else {}
    (staging / "data.json").write_text(json.dumps(data) + "\n", encoding="utf-8")
    for name in ("pca.npz", "pca.json"):
        if (run / "space" / name).is_file():
            shutil.copy2(run / "space" / name, staging / "space" / name)
    if out.exists():
        shutil.rmtree(out)
    os.replace(staging, out)
    return record
