"""`latent rnn train`: fit the control RNN to a dataset's notes (host tools; torch, one thread).

Random crops of `train.sequence` frames from random notes of the grid (never the held-out centres),
each started from a zero state, teacher-free (the GRU reads only the conditioning), Adam on the
log-domain control loss (model.control_loss). The held-out loss is logged beside the training loss.

    RNNRUN/config.json        the resolved config, the architecture, the dataset it learned from
    RNNRUN/checkpoints/       step_NNNNNNNN.pt (torch.save of tensors and numbers; weights_only loads)
    RNNRUN/metrics.jsonl      one JSON line per logged step
    RNNRUN/samples/           the auditions (sweeps, a held note) as WAVs, written when training ends

`--resume` continues from the newest checkpoint (same config and data, or refused); the crop drawn at
step s depends only on (seed, s) and the learning rate only on s and the config's `train.steps` (a
cosine decay; `--steps` only says where to stop), so a resumed run does what an uninterrupted one would.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from device.errors import ConfigError
from device.files import write_file_atomically
from host_tools.errors import CheckpointError
from host_tools.gan.run_dir import RunLayout
from host_tools.rnn.config import RnnConfig, config_from_dict
from host_tools.rnn.dataset import RnnDataset, open_dataset
from host_tools.rnn.model import Architecture, ControlRnn, control_loss, output_ceiling, pitch_input

KEEP_CHECKPOINTS = 2
_VALIDATION_NOTES = 64



def notes_and_conditions(data: RnnDataset, held_out: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(cond (n, T, 4), controls (n, T, C)) of every note of the grid (or of the held-out centres)."""
    prefix = "heldout" if held_out else "grid"
    controls = np.array(data.array(f"{prefix}_controls"), dtype=np.float32)
    loudness = np.array(data.array(f"{prefix}_loudness"), dtype=np.float32)
    xy = data.xy(held_out)                                        # (gx, gy, 2)
    gx, gy, n_p, frames = loudness.shape
    pitches = pitch_input(np.asarray(data.meta["pitches"], dtype=np.float32))
    cond = np.empty((gx, gy, n_p, frames, 4), dtype=np.float32)
    cond[..., 0] = xy[:, :, None, None, 0]
    cond[..., 1] = xy[:, :, None, None, 1]
    cond[..., 2] = pitches[None, None, :, None]
    cond[..., 3] = loudness
    return cond.reshape(-1, frames, 4), controls.reshape(-1, frames, controls.shape[-1])


def architecture_for(config: RnnConfig, data: RnnDataset) -> Architecture:
    meta = data.meta
    controls = data.array("grid_controls")
    harmonics = int(meta["harmonics"])
    return Architecture(
        input_width=config.model.input_width, hidden=config.model.hidden, layers=config.model.layers,
        harmonics=harmonics, noise_bands=int(meta["noise_bands"]), nyquist_hz=float(meta["nyquist_hz"]),
        amplitude_max=output_ceiling(float(np.max(controls[..., 0]))),
        noise_max=output_ceiling(float(np.max(controls[..., 1 + harmonics:]))))


def read_run(run: str | os.PathLike[str]) -> dict[str, Any]:
    from device.safe_read import read_json

    files = RunLayout(Path(run))
    if not files.config.is_file():
        raise ConfigError(f"{run} is not an RNN run (no config.json); make one with "
                          "`latent rnn train --data DIR --config small --out RNNRUN`")
    return read_json(files.config, what="an RNN run's config", error=ConfigError)


def list_checkpoints(run: str | os.PathLike[str]) -> list[Path]:
    directory = RunLayout(Path(run)).checkpoints
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.glob("step_*.pt") if p.stem[5:].isdigit())


def load_run(run: str | os.PathLike[str], step: int | None = None
             ) -> tuple[ControlRnn, dict[str, Any], dict[str, Any]]:
    """(model in eval mode with the newest (or `step`'s) weights, run description, checkpoint)."""
    info = read_run(run)
    model = ControlRnn(Architecture(**info["architecture"]))
    found = list_checkpoints(run)
    if step is not None:
        found = [p for p in found if int(p.stem[5:]) == step]
    if not found:
        raise CheckpointError(f"{run} has no checkpoint{'' if step is None else f' of step {step}'}; "
                              "train it first (`latent rnn train`)")
    try:
        checkpoint = torch.load(found[-1], map_location="cpu", weights_only=True)
        model.load_state_dict(checkpoint["model"])
    except (OSError, RuntimeError, KeyError, ValueError) as err:
        raise CheckpointError(f"{found[-1]} is damaged ({str(err)[:200]}); delete it to use the one "
                              "before, or train again") from None
    model.eval()
    return model, info, checkpoint


@dataclass
class TrainRequest:
    data: Path
    config: RnnConfig
    config_name: str
    out: Path
    steps: int
    resume: bool = False
    max_minutes: float | None = None
    progress: bool = True


def _crops(cond: torch.Tensor, target: torch.Tensor, batch: int, length: int, seed: int, step: int
           ) -> tuple[torch.Tensor, torch.Tensor]:
    rng = torch.Generator().manual_seed(seed * 1_000_003 + step)
    notes, frames = cond.shape[0], cond.shape[1]
    length = min(length, frames)
    which = torch.randint(0, notes, (batch,), generator=rng)
    start = torch.randint(0, frames - length + 1, (batch,), generator=rng)
    rows = start[:, None] + torch.arange(length)[None, :]
    return cond[which[:, None], rows], target[which[:, None], rows]


def _start_run(request: TrainRequest, data: RnnDataset) -> tuple[ControlRnn, torch.optim.Optimizer, int]:
    files = RunLayout(request.out)
    description = {
        "config_name": request.config_name, "config": request.config.to_dict(),
        "architecture": None, "data": {"path": str(request.data.resolve()),
                                       "surface": data.meta["surface"], "axes": data.meta["axes"],
                                       "pitches": data.meta["pitches"], "gan": data.meta["gan"],
                                       "sample_rate": data.meta["sample_rate"],
                                       "frame_hop": data.meta["frame_hop"]},
    }
    if request.resume:
        saved = read_run(request.out)
        if config_from_dict(saved["config"], str(files.config)) != request.config:
            raise ConfigError(f"--config differs from {files.config}'s; resume with the run's own config "
                              "or train into a new --out")
        if saved["data"]["path"] != description["data"]["path"]:
            raise ConfigError(f"{request.out} learned from {saved['data']['path']}, not {request.data}; "
                              "resume with the same --data or train into a new --out")
        model, _, checkpoint = load_run(request.out)
        model.train()
        optimizer = torch.optim.Adam(model.parameters(), lr=request.config.train.lr)
        optimizer.load_state_dict(checkpoint["optimizer"])
        return model, optimizer, int(checkpoint["step"])
    if files.config.exists():
        raise ConfigError(f"{request.out} already holds a run; pass --resume to continue it or give a "
                          "new --out")
    arch = architecture_for(request.config, data)
    description["architecture"] = arch.to_dict()
    request.out.mkdir(parents=True, exist_ok=True)
    write_file_atomically(files.config, lambda h: h.write(json.dumps(description, indent=1).encode()))
    torch.manual_seed(request.config.train.seed)
    model = ControlRnn(arch)
    return model, torch.optim.Adam(model.parameters(), lr=request.config.train.lr), 0


def learning_rate(peak: float, step: int, steps: int) -> float:
    """Cosine decay from `peak` to a tenth of it over the run's steps: the last steps refine."""
    return peak * (0.1 + 0.45 * (1.0 + math.cos(math.pi * min(step / max(steps, 1), 1.0))))


def save(files: RunLayout, model: ControlRnn, optimizer: torch.optim.Optimizer, step: int) -> Path:
    files.checkpoints.mkdir(parents=True, exist_ok=True)
    path = files.checkpoints / f"step_{step:08d}.pt"
    state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step}
    write_file_atomically(path, lambda h: torch.save(state, h))
    for old in list_checkpoints(files.root)[:-KEEP_CHECKPOINTS]:
        old.unlink(missing_ok=True)
    return path


def train(request: TrainRequest, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Train to `request.steps` (or `max_minutes` of wall time), checkpointing; returns a summary."""
    torch.set_num_threads(1)
    data = open_dataset(request.data)
    model, optimizer, step = _start_run(request, data)
    files = RunLayout(request.out)
    cfg = request.config.train
    cond, target = (torch.from_numpy(a) for a in notes_and_conditions(data))
    v_cond, v_target = notes_and_conditions(data, held_out=True)
    pick = np.random.default_rng(0).choice(len(v_cond), min(_VALIDATION_NOTES, len(v_cond)), replace=False)
    v_cond_t, v_target_t = torch.from_numpy(v_cond[pick]), torch.from_numpy(v_target[pick])
    harmonics = model.arch.harmonics
    started = time.perf_counter()
    first_step = step
    last: dict[str, Any] = {}
    model.train()
    while step < request.steps:
        if request.max_minutes is not None and time.perf_counter() - started > 60.0 * request.max_minutes:
            log(f"stopping at step {step}: --max-minutes {request.max_minutes:g} reached")
            break
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(cfg.lr, step, cfg.steps)
        x, y = _crops(cond, target, cfg.batch, cfg.sequence, cfg.seed, step)
        predicted, _ = model(x, model.zero_state(len(x)))
        losses = control_loss(predicted, y, harmonics)
        optimizer.zero_grad(set_to_none=True)
        losses["total"].backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        step += 1
        if step % cfg.log_every == 0 or step == request.steps:
            model.eval()
            with torch.no_grad():
                held, _ = model(v_cond_t, model.zero_state(len(v_cond_t)))
                held_losses = control_loss(held, v_target_t, harmonics)
            model.train()
            seconds = time.perf_counter() - started
            last = {"step": step, "seconds": round(seconds, 1),
                    **{f"train_{k}": round(float(v.detach()), 4) for k, v in losses.items()},
                    **{f"heldout_{k}": round(float(v), 4) for k, v in held_losses.items()}}
            with open(files.metrics, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(last) + "\n")
            if request.progress:
                rate = (step - first_step) / max(seconds, 1e-9)
                log(f"step {step}/{request.steps}  loss {last['train_total']:.3f}  held-out "
                    f"{last['heldout_total']:.3f}  ({rate:.1f} steps/s)")
        if step % cfg.checkpoint_every == 0:
            save(files, model, optimizer, step)
    saved = list_checkpoints(files.root)
    if not saved or int(saved[-1].stem[5:]) != step:
        save(files, model, optimizer, step)
    model.eval()
    auditions = write_auditions(model, data, files.samples)
    return {"run": str(request.out), "step": step, "seconds": round(time.perf_counter() - started, 1),
            "last": last, "auditions": auditions}


def write_auditions(model: ControlRnn, data: RnnDataset, directory: Path) -> dict[str, Any]:
    """The sweeps and the held note as WAVs (already at the bank's level; peaks kept under full scale),
    with the held note's level per second, so decay or blow-up shows in numbers too."""
    from host_tools.rnn.render import audition_paths, levels_over_time, play, render_controls
    from host_tools.space.render import write_wav

    rate, hop = int(data.meta["sample_rate"]), int(data.meta["frame_hop"])
    midi = float(np.median(data.meta["pitches"]))
    directory.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {}
    for name, cond in audition_paths(hop, rate, midi).items():
        audio = render_controls(play(model, cond), midi, sample_rate=rate, frame_hop=hop,
                                harmonics=model.arch.harmonics)
        write_wav(directory / f"{name}.wav", audio, rate)
        report[name] = {"file": str(directory / f"{name}.wav"), "level_dbfs_per_second":
                        levels_over_time(audio, rate)}
    return report
