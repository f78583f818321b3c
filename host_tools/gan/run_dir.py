"""A training run's directory and what other tools read from it (host training layer).

    RUN/config.json        the validated config the run uses (its architecture hash inside checkpoints)
    RUN/checkpoints/       step_NNNNNNNN.pt + .json (see checkpoint.py)
    RUN/samples/           step_NNNNNNNN.wav: the audition notes at that step; loss.png: the loss curves
    RUN/metrics.jsonl      one JSON line per logged step (losses, wall time)
    RUN/data.json          where the training notes came from (what `latent gan eval` compares with)
    RUN/generator.safetensors + generator.json   instead of checkpoints/, in an exported model (export.py)

`load_generator(run)` gives the trained generator and its config, for generation, evaluation and the
latent analysis that follows training.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from device.errors import ConfigError
from host_tools.errors import CheckpointError
from host_tools.gan.config import GanConfig, read_config_file


@dataclass(frozen=True)
class RunLayout:
    root: Path

    @property
    def config(self) -> Path:
        return self.root / "config.json"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def samples(self) -> Path:
        return self.root / "samples"

    @property
    def metrics(self) -> Path:
        return self.root / "metrics.jsonl"

    @property
    def data_record(self) -> Path:
        return self.root / "data.json"

    @property
    def loss_png(self) -> Path:
        return self.samples / "loss.png"


def read_run_config(run_dir: str | os.PathLike[str]) -> GanConfig:
    layout = RunLayout(Path(run_dir))
    if not layout.config.is_file():
        raise ConfigError(
            f"{run_dir} is not a training run (no config.json); make one with `latent gan train --out DIR`"
        )
    # Bounded and strictly validated like any config file; a damaged one is refused naming the file.
    return read_config_file(layout.config)


def read_data_record(run_dir: str | os.PathLike[str]) -> dict[str, Any]:
    path = RunLayout(Path(run_dir)).data_record
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ConfigError(f"{path} is unreadable ({err}); name the training data with --data DIR") from None


def load_generator(
    run_dir: str | os.PathLike[str], device: str = "cpu", step: int | None = None
) -> tuple[Any, GanConfig]:
    """(generator in eval mode with the newest (or `step`'s) checkpoint's weights, the run's config).

    The weights are the training's moving average of the generator (train.ema_decay), as in PGGAN."""
    from host_tools.gan.checkpoint import list_checkpoints, load_checkpoint
    from host_tools.gan.export import exported_meta, load_exported_weights
    from host_tools.gan.networks import build_generator

    cfg = read_run_config(run_dir)
    checkpoints = RunLayout(Path(run_dir)).checkpoints
    found = load_checkpoint(checkpoints, cfg, map_location=device, step=step) \
        if list_checkpoints(checkpoints) else None
    if found is not None:
        weights = found[0]["generator_ema"]
    else:  # an exported model directory (export.py): its one generator, if the step asked for is its
        meta = exported_meta(run_dir)
        if meta is None or (step is not None and step != meta["step"]):
            raise CheckpointError(f"{run_dir} has no checkpoint{'' if step is None else f' of step {step}'}"
                                  " yet; train it first (`latent gan train`)")
        weights = load_exported_weights(run_dir, cfg, meta, device)
    generator = build_generator(cfg).to(device)
    generator.load_state_dict(weights)
    generator.eval()
    return generator, cfg


def generate_audio(generator: Any, cfg: GanConfig, z: Any, pitches: list[int]) -> Any:
    """float32 numpy audio (batch, samples) for latent vectors z (batch, latent_dim) at MIDI pitches."""
    import torch

    from host_tools.gan.config import pitch_list
    from host_tools.gan.representation import NoteCodec

    classes = pitch_list(cfg)
    unknown = sorted({p for p in pitches if p not in classes})
    if unknown:
        raise ConfigError(
            f"pitch {', '.join(map(str, unknown))} was not trained; "
            f"this run knows {classes[0]}..{classes[-1]}"
        )
    device = next(generator.parameters()).device
    index = torch.tensor([classes.index(p) for p in pitches], device=device)
    with torch.no_grad():
        out = generator(z.to(device), index)
        return NoteCodec(cfg).decode(out).float().cpu().numpy()


def newest_checkpoint(run: Path) -> dict[str, Any]:
    """Step and sha256 of the run's newest checkpoint, or of the model `latent gan export` made: what
    a bank or an RNN dataset records as the generator it was made from."""
    from host_tools.gan.checkpoint import list_checkpoints
    from host_tools.gan.export import exported_meta

    found = list_checkpoints(RunLayout(run).checkpoints)
    if not found:
        exported = exported_meta(run)  # a model directory from `latent gan export`
        if exported is not None:
            return {"step": int(exported["step"]), "sha256": str(exported["sha256"])}
        raise ConfigError(f"{run} has no checkpoint yet; train it first (`latent gan train`)")
    meta = json.loads(found[-1].read_text(encoding="utf-8"))
    return {"step": int(meta["step"]), "sha256": str(meta["sha256"])}
