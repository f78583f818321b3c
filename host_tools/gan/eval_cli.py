"""`latent gan eval`: quality figures of a trained GAN run as JSON (host app layer, CLI).

    latent gan eval --run RUN [--data DIR] [--per-pitch 4] [--seed 0]      (old spelling: latent eval)

Prints pitch accuracy of generated notes (within 50 cents of the conditioning pitch, over every
trained pitch), the same for the real training notes, Frechet distances on log-mel statistics, and
beside their real counterparts: diversity at one pitch (dB), harmonic-to-noise (dB), levels (dBFS),
clipping and clicks (see host_tools/gan/evaluation.py for each figure's definition).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from host_tools.gan.config import GanConfig


def register(actions: argparse._SubParsersAction, name: str = "eval", listed: bool = True) -> None:
    """Add `eval` to `latent gan`'s actions (or, unlisted, the old top-level `latent eval`)."""
    from device.cli_options import examples
    from device.cli_options import listed as shown_if

    what = "measure a trained GAN run: pitch, Frechet, diversity, noise, levels, clicks against real notes"
    parser = actions.add_parser(
        name, **shown_if(what, listed),
        description=f"{what[0].upper()}{what[1:]}; prints one JSON report on stdout.",
        **examples("latent gan eval --run runs/tiny --per-pitch 4"))
    parser.add_argument("--run", required=True, help="training run directory (latent gan train --out)")
    parser.add_argument("--data", help="real notes to compare with (default: the data the run trained on)")
    parser.add_argument("--per-pitch", type=int, default=4, help="notes per trained pitch (default 4)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated notes' z (default 0)")
    parser.add_argument("--step", type=int, help="evaluate this checkpoint (default: the newest)")
    parser.set_defaults(func=_eval)


def real_notes(data_dir: str, cfg: GanConfig, per_pitch: int) -> tuple:
    """Up to per_pitch training notes at each trained pitch, spread over the set, cropped as trained.

    One note per instrument at a pitch (its first in the set's order), so the real diversity figure
    compares different instruments even where the set holds several velocities of each.
    """
    import numpy as np

    from host_tools.gan.training_data import CroppedNotes, open_notes

    notes = CroppedNotes(open_notes(data_dir, cfg), cfg)
    by_pitch: dict[int, list[int]] = {}
    seen: set[tuple[int, str]] = set()
    for index, entry in enumerate(notes.dataset.examples):
        key = (entry["pitch"], entry["instrument_str"])
        if key not in seen:
            seen.add(key)
            by_pitch.setdefault(entry["pitch"], []).append(index)
    chosen = []
    for pitch in sorted(by_pitch):
        indices = by_pitch[pitch]
        picks = np.linspace(0, len(indices) - 1, min(per_pitch, len(indices))).round().astype(int)
        chosen += [(indices[i], pitch) for i in picks]
    audio = np.stack([notes[i][0] for i, _ in chosen])
    return audio, [p for _, p in chosen]


def _eval(args: argparse.Namespace) -> int:
    import torch

    from device.errors import ConfigError
    from host_tools.gan.config import pitch_list
    from host_tools.gan.evaluation import evaluate
    from host_tools.gan.run_dir import RunLayout, generate_audio, load_generator, read_data_record

    if args.per_pitch < 2:
        raise ConfigError("--per-pitch must be at least 2 (a Frechet distance needs a spread of notes, "
                          "diversity a pair at each pitch)")
    torch.set_num_threads(2)
    generator, cfg = load_generator(args.run, step=args.step)
    data_dir = args.data or read_data_record(args.run)["data_dir"]
    pitches = [p for p in pitch_list(cfg) for _ in range(args.per_pitch)]
    noise = torch.Generator().manual_seed(args.seed)
    z = torch.randn(len(pitches), cfg.model.latent_dim, generator=noise)
    generated = generate_audio(generator, cfg, z, pitches)
    real, real_pitches = real_notes(data_dir, cfg, args.per_pitch)
    report = {
        "run": args.run,
        "step": args.step if args.step is not None else _newest_step(RunLayout(Path(args.run))),
        "data": str(data_dir),
        "pitches": list(cfg.data.pitches),
        "per_pitch": args.per_pitch,
        **evaluate(generated, pitches, real, real_pitches, cfg.audio.sample_rate),
    }
    print(json.dumps(report, indent=2))
    return 0


def _newest_step(layout: Any) -> int:
    from host_tools.gan.checkpoint import list_checkpoints

    found = list_checkpoints(layout.checkpoints)
    return int(found[-1].stem.split("_")[1]) if found else 0
