"""`latent rnn dataset|train|export|eval`: the RNN compiler's commands (host app layer, CLI; plugged in
by entry point).

    latent rnn dataset --run models/gan-medium --pca-axes 0,1 --steps 9 --pitches 36-84:3 --out DIR
    latent rnn train --data DIR --config small --out RNNRUN
    latent rnn export --run RNNRUN --out models/rnn-medium.bundle
    latent rnn eval --run RNNRUN --data DIR --bank models/gan-medium.bundle
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from device.cli_options import add_json, add_quiet, examples


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "rnn", help="distil a GAN's latent surface into a small RNN bundle: dataset, train, export, eval",
        description="Build the RNN engine's model: sample a GAN's 2-D latent surface into a dataset, "
                    "train the control RNN on it, export it as an rnn bundle and measure it.",
        **examples("latent rnn dataset --run models/gan-medium --pca-axes 0,1 --steps 9 "
                   "--pitches 36-84:3 --out runs/rnn-data",
                   "latent rnn train --data runs/rnn-data --config small --out runs/rnn"))
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    _register_dataset(actions)
    _register_train(actions)
    _register_export(actions)
    _register_eval(actions)


def _emit(report: dict[str, Any], summary: str, as_json: bool) -> None:
    """The JSON report on stdout, then one line for people (on stderr with --json)."""
    print(json.dumps(report, indent=1))
    print(summary, file=sys.stderr if as_json else sys.stdout)


def _register_dataset(actions: argparse._SubParsersAction) -> None:
    from host_tools.space.parsing import accept_negative_lists

    parser = actions.add_parser(
        "dataset", help="sample a GAN's 2-D latent surface into the RNN's training data",
        description="Take the harmonic-plus-noise GAN's per-frame controls at every point of a steps x "
                    "steps grid (two PCA axes, or four corner bookmarks) and every pitch, levelled per "
                    "note like the bank, with the loudness input and the audio, plus the cell centres "
                    "held out for evaluation. Prints dataset.json's summary as JSON.",
        **examples("latent rnn dataset --run models/gan-medium --pca-axes 0,1 --range=-2,2 --steps 9 "
                   "--pitches 36-84:3 --out runs/rnn-data",
                   "latent rnn dataset --run runs/medium --corners a,b,c,d --steps 5 --pitches C3,C4 "
                   "--out runs/corners-data --json"))
    parser.add_argument("--run", required=True, help="GAN run or exported model directory (ddsp)")
    surface = parser.add_mutually_exclusive_group(required=True)
    surface.add_argument("--pca-axes", help="two components from `latent space pca`, e.g. 0,1")
    surface.add_argument("--corners", help="four bookmark names a,b,c,d = (u0,v0),(u1,v0),(u0,v1),(u1,v1)")
    parser.add_argument("--range", default="-2,2", help="LOW,HIGH in standard deviations (PCA axes)")
    parser.add_argument("--steps", type=int, default=9, help="grid points per axis (default 9)")
    parser.add_argument("--pitches", required=True, help="trained pitches, e.g. 36-84:3, C3-C5 or 48,60,72")
    parser.add_argument("--batch", type=int, default=32, help="notes generated per batch")
    parser.add_argument("--out", required=True, help="dataset directory to write")
    add_quiet(parser)
    add_json(parser, "print only the JSON summary on stdout")
    accept_negative_lists(parser)
    parser.set_defaults(func=_dataset)


def _dataset(args: argparse.Namespace) -> int:
    from device.pitch_syntax import parse_pitches
    from host_tools.rnn.dataset import build_dataset, plan_dataset

    request = plan_dataset(args.run, out=args.out, pitches=parse_pitches(args.pitches, "--pitches"),
                           pca_axes=args.pca_axes, value_range=args.range, steps=args.steps,
                           corners=args.corners.split(",") if args.corners is not None else None,
                           batch=args.batch)
    meta = build_dataset(request, progress=not args.quiet)
    notes = (meta["steps"] ** 2 + (meta["steps"] - 1) ** 2) * len(meta["pitches"])
    report = {k: meta[k] for k in ("steps", "pitches", "axes", "frames", "frame_hop", "sample_rate",
                                   "seconds")}
    report["out"] = str(request.out)
    _emit(report, f"wrote {request.out}: {notes} notes ({meta['steps']}x{meta['steps']} grid + held-out "
                  f"centres, {len(meta['pitches'])} pitches) in {meta['seconds']:.1f} s", args.json)
    return 0


def _register_train(actions: argparse._SubParsersAction) -> None:
    from host_tools.rnn.config import config_names

    parser = actions.add_parser(
        "train", help="train the control RNN on a dataset (checkpoints, --resume, auditions)",
        description="Train the GRU that maps (x, y, pitch, loudness) per 4 ms frame to the synthesiser's "
                    "controls. Prints a progress line every log_every steps (none with --quiet), writes "
                    "checkpoints, and at the end audition WAVs (slow and fast sweeps, a held note of 10 s "
                    "with its level per second). Prints a JSON summary.",
        **examples("latent rnn train --data runs/rnn-data --config small --out runs/rnn",
                   "latent rnn train --data runs/rnn-data --config tiny --out runs/rnn-tiny --steps 50 "
                   "--quiet",
                   "latent rnn train --data runs/rnn-data --config small --out runs/rnn --resume "
                   "--max-minutes 30"))
    parser.add_argument("--data", required=True, help="dataset directory (latent rnn dataset --out)")
    parser.add_argument("--config", default="small",
                        help=f"a named config ({', '.join(config_names())}) or a .toml file")
    parser.add_argument("--out", required=True, help="run directory to create (or continue with --resume)")
    parser.add_argument("--steps", type=int, help="stop at this step (default: the config's train.steps, "
                                                  "which also sets the learning-rate schedule)")
    parser.add_argument("--resume", action="store_true", help="continue the run's newest checkpoint")
    parser.add_argument("--max-minutes", type=float, help="stop (with a checkpoint) after this wall time")
    add_quiet(parser, "no progress lines")
    add_json(parser, "print only the JSON summary on stdout (the training log goes to stderr)")
    parser.set_defaults(func=_train)


def _train(args: argparse.Namespace) -> int:
    from pathlib import Path

    from device.errors import ConfigError
    from host_tools.rnn.config import load_config
    from host_tools.rnn.train import TrainRequest, train

    config = load_config(args.config)
    steps = config.train.steps if args.steps is None else args.steps
    if steps < 1:
        raise ConfigError(f"--steps {steps} must be at least 1")
    if args.max_minutes is not None and not args.max_minutes > 0:
        raise ConfigError(f"--max-minutes {args.max_minutes:g} must be above 0")
    name = Path(args.config).stem if args.config.endswith(".toml") else args.config
    request = TrainRequest(data=Path(args.data), config=config, config_name=name, out=Path(args.out),
                           steps=steps, resume=args.resume, max_minutes=args.max_minutes,
                           progress=not args.quiet)
    summary = train(request, log=lambda line: print(line, file=sys.stderr if args.json else sys.stdout,
                                                    flush=True))
    held = summary["auditions"]["held_10s"]["level_dbfs_per_second"]
    _emit(summary, f"trained {args.out} to step {summary['step']}; held note's level per second "
                   f"{held[0]:.1f} .. {held[-1]:.1f} dBFS (min {min(held):.1f}, max {max(held):.1f})",
          args.json)
    return 0


def _register_export(actions: argparse._SubParsersAction) -> None:
    parser = actions.add_parser(
        "export", help="export a trained RNN as an rnn bundle (ONNX), checked through the device reader",
        description="Export the run's newest checkpoint as ONNX inside an rnn bundle, reload it through "
                    "the device reader and compare it with PyTorch; with --quantize int8 or both, "
                    "measure an int8 version's error and speed and keep it only where it pays "
                    "(both: written beside as NAME-int8.bundle). Prints a JSON report.",
        **examples("latent rnn export --run runs/rnn --out models/rnn-medium.bundle",
                   "latent rnn export --run runs/rnn --out /tmp/rnn.bundle --quantize both --json",
                   "latent rnn export --run runs/rnn --out models/rnn-medium.bundle "
                   "--axis-names brightness,swell"))
    parser.add_argument("--run", required=True, help="RNN run directory (latent rnn train --out)")
    parser.add_argument("--out", required=True, help="bundle file to write")
    parser.add_argument("--quantize", default="none", help="none, int8 or both (default none)")
    parser.add_argument("--version", type=int, default=1, help="bundle version (default 1)")
    parser.add_argument("--step", type=int, help="export this checkpoint (default: the newest)")
    parser.add_argument("--axis-names", metavar="X,Y",
                        help="name the x and y axes by what they move, e.g. brightness,swell "
                             "(default: the dataset's, e.g. pc0,pc1)")
    add_json(parser, "print only the JSON report on stdout")
    parser.set_defaults(func=_export)


def _export(args: argparse.Namespace) -> int:
    from host_tools.rnn.export import export

    report = export(args.run, args.out, quantize=args.quantize, version=args.version, step=args.step,
                    axis_names=args.axis_names)
    int8 = report.int8
    extra = "" if int8 is None else (f"; int8: error {int8['control_error']}, "
                                     f"{int8['speedup_256_frames']}x speed, "
                                     f"{'kept' if int8['kept'] else 'not kept'}")
    _emit(report.to_json(), f"wrote {', '.join(report.written)} ({report.size_bytes / 1024:.0f} KiB), "
                            f"matches PyTorch within {report.max_abs_error:.2g}{extra}", args.json)
    return 0


def _register_eval(actions: argparse._SubParsersAction) -> None:
    parser = actions.add_parser(
        "eval", help="measure an RNN against the GAN at grid points and held-out centres",
        description="Log-mel distance between the RNN's audio and the GAN's at grid points and at the "
                    "held-out cell centres, against the segment bank's bilinear cross-fade at those "
                    "points (with --bank), pitch accuracy, and the level over 60 s of continuous play. "
                    "Prints a JSON report.",
        **examples("latent rnn eval --run runs/rnn --data runs/rnn-data --bank models/gan-medium.bundle "
                   "--bundle models/rnn-medium.bundle",
                   "latent rnn eval --run runs/rnn --data runs/rnn-data --json"))
    parser.add_argument("--run", required=True, help="RNN run directory")
    parser.add_argument("--data", required=True, help="the dataset it learned from")
    parser.add_argument("--bank", help="a segment bank of the same surface, for the cross-fade baseline")
    parser.add_argument("--pitches", help="evaluate these pitches only (default: every 2nd of the data)")
    parser.add_argument("--bundle", help="the exported rnn bundle: also play it through the device engine")
    parser.add_argument("--play-seconds", type=float, default=60.0,
                        help="length of the continuous-play check (default 60)")
    add_json(parser, "print only the JSON report on stdout")
    parser.set_defaults(func=_eval)


def _eval(args: argparse.Namespace) -> int:
    from device.errors import ConfigError
    from device.pitch_syntax import parse_pitches
    from host_tools.rnn.evaluate import evaluate

    pitches = parse_pitches(args.pitches, "--pitches") if args.pitches else None
    if not 1.0 <= args.play_seconds <= 3600.0:
        raise ConfigError(f"--play-seconds {args.play_seconds:g} must be from 1 to 3600")
    report = evaluate(args.run, args.data, bank=args.bank, pitches=pitches, device_bundle=args.bundle,
                      play_seconds=args.play_seconds)
    grid, held = report["log_mel_db"]["grid"], report["log_mel_db"]["heldout"]
    _emit(report, f"log-mel distance to the GAN: grid {grid['rnn']:.2f} dB, held-out {held['rnn']:.2f} dB"
                  + (f" (bank cross-fade {held['bank_crossfade']:.2f} dB)" if "bank_crossfade" in held
                     else "") + f"; pitch accuracy {report['pitch_accuracy']['rnn']:.2f}", args.json)
    return 0
