"""`latent bend ACTION`: active divergence, bending a trained generator and walking past its data (app
layer, CLI; plugged in by entry point).

    latent bend list-layers --run RUN                         the layers a recipe can bend
    latent bend clusters --run RUN --layer L [--k 8]          cluster its channels, name what each does
    latent bend reference --run RUN --data DIR                store the real notes' statistics (distance)
    latent bend beyond --run RUN --direction pc0 --range -6,6 walk past the data, with distance figures
    latent bend measure --run RUN --bend RECIPE               eval figures at bend amounts 0, 0.5, 1

Bent grids and banks: `latent space grid|explore --bend RECIPE`, `latent bank compile --bend RECIPE`.
Heavy imports stay inside the run functions so `latent --help` stays fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from device.cli_options import add_json, add_quiet, examples
from host_tools.space.cli import chosen_pitch, low_middle_high, print_result, progress_bar

RUN_HELP = "training run or exported model directory (latent gan train --out, latent gan export --out)"


def register(sub: argparse._SubParsersAction) -> None:
    from host_tools.space.parsing import accept_negative_lists

    parser = sub.add_parser("bend", help="network bending and walks beyond the data (active divergence)",
                            description="Bend a trained generator (transforms on a layer's channels) and "
                                        "walk past its data, measuring how far the sounds leave it.",
                            **examples("latent bend list-layers --run models/gan-medium",
                                       "latent bend clusters --run models/gan-medium --layer first --k 8"))
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    layers = actions.add_parser("list-layers", help="the generator's layers a bend recipe can name",
                                description="List the generator's bendable layers (name, channels, "
                                            "frames).",
                                **examples("latent bend list-layers --run models/gan-medium --json"))
    layers.add_argument("--run", required=True, help=RUN_HELP)
    add_json(layers)
    layers.set_defaults(func=run_list_layers)

    clusters = actions.add_parser("clusters", help="cluster a layer's channels and name what each "
                                                   "cluster changes",
                                  description="Cluster a layer's channels by how their activations co-vary "
                                              "(seeded k-means), name each cluster by what ablating it "
                                              "changes, and save the clustering for bend recipes.",
                                  **examples("latent bend clusters --run models/gan-medium --layer first "
                                             "--k 8 --json"))
    clusters.add_argument("--run", required=True, help=RUN_HELP)
    clusters.add_argument("--layer", required=True, help="a layer from `latent bend list-layers`")
    clusters.add_argument("--k", type=int, default=8, help="number of clusters (default 8)")
    clusters.add_argument("--notes", type=int, default=64, help="generated notes to cluster on (default 64)")
    clusters.add_argument("--pitches", help="pitches to name the clusters at, e.g. 48,60,72 (default: low, "
                                            "middle and high trained pitch)")
    clusters.add_argument("--per-pitch", type=int, default=2, help="notes per pitch for naming (default 2)")
    clusters.add_argument("--seed", type=int, default=0, help="seed of the notes and k-means (default 0)")
    clusters.add_argument("--out", help="clustering file to write (default RUN/bend/clusters-LAYER.json)")
    add_quiet(clusters)
    add_json(clusters)
    clusters.set_defaults(func=run_clusters)

    reference = actions.add_parser("reference", help="store the real notes' statistics in the run",
                                   description="Measure the real notes a run was trained on (log-mel "
                                               "statistics, as latent gan eval) and store them in the "
                                               "run, so auditions show how far they are from the data.",
                                   **examples("latent bend reference --run models/gan-medium "
                                              "--data data/medium"))
    reference.add_argument("--run", required=True, help=RUN_HELP)
    reference.add_argument("--data", help="the real notes (default: the data the run trained on)")
    reference.add_argument("--per-pitch", type=int, default=8, help="notes per pitch, one per instrument "
                                                                    "(default 8)")
    add_json(reference)
    reference.set_defaults(func=run_reference)

    beyond = actions.add_parser("beyond", help="walk a direction past the data: WAVs, contact sheet and "
                                               "distance from the data",
                                description="Render notes along a PCA direction (pcK), an independent "
                                            "component (icK) or the line through two bookmarks, past the "
                                            "range the model was fitted on, with each note's distance "
                                            "from the real notes.",
                                **examples("latent bend beyond --run models/gan-medium --direction pc0 "
                                           "--range -6,6 --steps 13 --pitch C4",
                                           "latent bend beyond --run models/gan-medium --direction "
                                           "bookmarks:calm,bright --range -1,2 --pitch A3"))
    beyond.add_argument("--run", required=True, help=RUN_HELP)
    beyond.add_argument("--direction", required=True, help="pcK, icK or bookmarks:A,B")
    beyond.add_argument("--range", default="-6,6", help="LOW,HIGH along it (std; 0..1 between bookmarks; "
                                                        "default -6,6)")
    beyond.add_argument("--steps", type=int, default=13, help="points along it (default 13)")
    beyond.add_argument("--pitch", help="one trained pitch, e.g. 60 or C4 (default: the middle one)")
    beyond.add_argument("--bend", help="also bend the generator with this recipe (TOML)")
    beyond.add_argument("--amount", type=float, default=1.0, help="bend amount with --bend (default 1)")
    beyond.add_argument("--seed", type=int, default=0, help="seed of the ICA fit (default 0)")
    beyond.add_argument("--out", help="output directory (default RUN/bend/beyond_DIRECTION_pPITCH)")
    add_quiet(beyond)
    add_json(beyond)
    accept_negative_lists(beyond)
    beyond.set_defaults(func=run_beyond)

    measure = actions.add_parser("measure", help="JSON: eval figures of a bend at a few amounts",
                                 description="Measure a bend recipe at a few amounts as latent gan eval "
                                             "measures a run: pitch accuracy, harmonic-to-noise, "
                                             "diversity, distance from the real notes.",
                                 **examples("latent bend measure --run models/gan-medium --bend "
                                            "models/bent-gan-medium.toml --amounts 0,0.5,1"))
    measure.add_argument("--run", required=True, help=RUN_HELP)
    measure.add_argument("--bend", required=True, help="bend recipe (TOML)")
    measure.add_argument("--amounts", default="0,0.5,1", help="amounts to measure (default 0,0.5,1)")
    measure.add_argument("--per-pitch", type=int, default=2, help="notes per trained pitch (default 2)")
    measure.add_argument("--seed", type=int, default=0, help="seed of the notes' z (default 0)")
    add_quiet(measure)
    add_json(measure)
    measure.set_defaults(func=run_measure)


def run_list_layers(args: argparse.Namespace) -> int:
    from host_tools.bend.layers import bendable_layers
    from host_tools.gan.run_dir import load_generator

    generator, _ = load_generator(args.run)
    layers = bendable_layers(generator)
    if args.json:
        print_result({"run": args.run, "layers": [layer.to_json() for layer in layers]}, True)
    else:
        for layer in layers:
            frames = "x".join(map(str, layer.frames))
            print(f"{layer.name:<14} {layer.channels:>5} channels x {frames} frames  ({layer.kind})")
    return 0


def run_clusters(args: argparse.Namespace) -> int:
    from device.errors import ConfigError
    from host_tools.bend.clusters import (
        MEANING,
        cluster_channels,
        clusters_path,
        layer_activations,
        name_clusters,
        probe_latents,
        save_clusters,
    )
    from host_tools.bend.layers import find_layer
    from host_tools.gan.config import pitch_list
    from host_tools.gan.run_dir import load_generator
    from host_tools.space.parsing import check_trained_pitches, parse_pitches

    generator, cfg = load_generator(args.run)
    layer = find_layer(generator, args.layer)
    if not 1 <= args.k <= layer.channels:
        raise ConfigError(f"--k {args.k}: layer {args.layer} has {layer.channels} channels; choose 1 to "
                          f"{layer.channels} clusters")
    if args.notes < 2 or args.per_pitch < 1:
        raise ConfigError("--notes must be at least 2 and --per-pitch at least 1")
    trained = pitch_list(cfg)
    pitches = parse_pitches(args.pitches) if args.pitches else low_middle_high(trained)
    check_trained_pitches(pitches, trained)
    z, at = probe_latents(cfg, args.notes, args.seed)
    labels = cluster_channels(layer_activations(generator, cfg, args.layer, z, at), args.k, args.seed)
    named = name_clusters(generator, cfg, args.layer, labels, pitches, args.per_pitch, args.seed)
    record = {"layer": args.layer, "k": args.k, "seed": args.seed, "notes": args.notes,
              "naming_pitches": pitches, "per_pitch": args.per_pitch,
              "method": "k-means on standardised per-channel activations over generated notes; named by "
                        "ablating each cluster (latent space describe's features)",
              "assignment": [int(a) for a in labels], "clusters": named, "meaning": MEANING}
    path = save_clusters(args.out or clusters_path(args.run, args.layer), record)
    if args.json:
        print_result({**record, "saved": str(path)}, True)
    else:
        for c in named:
            print(f"cluster {c['cluster']}: {c['size']:>3} channels  {c['name']} "
                  f"({c['distance_db']:.1f} dB log-mel from the unbent notes)")
        print(f"saved {path}")
    return 0


def run_reference(args: argparse.Namespace) -> int:
    from device.errors import ConfigError
    from host_tools.bend.distance import build_reference
    from host_tools.gan.run_dir import read_data_record

    if args.per_pitch < 2:
        raise ConfigError("--per-pitch must be at least 2 (a spacing needs two notes)")
    data = args.data or read_data_record(args.run)["data_dir"]
    if not Path(data).is_dir():
        raise ConfigError(f"--data {data} is not a directory of notes; render or download the run's data "
                          "and name it with --data DIR")
    path, notes = build_reference(args.run, data, args.per_pitch)
    print_result({"saved": str(path), "notes": notes, "data": str(data)}, args.json)
    return 0


def run_beyond(args: argparse.Namespace) -> int:
    import numpy as np

    from device.errors import ConfigError
    from host_tools.bend.audition import audition_scores, bend_plan, render_audition
    from host_tools.bend.beyond import walk_latents
    from host_tools.bend.clusters import bend_dir
    from host_tools.bend.distance import MEANING, load_reference, no_reference_hint, note_distances
    from host_tools.gan.evaluation import DISTANCE_HOP, log_mel_db
    from host_tools.gan.levelling import level_notes, run_level
    from host_tools.gan.run_dir import load_generator
    from host_tools.space.contact_sheet import write_contact_sheet
    from host_tools.space.parsing import parse_range, parse_steps
    from host_tools.space.render import write_wav

    low, high = parse_range(args.range)
    steps = parse_steps(args.steps)
    if not 0.0 <= args.amount <= 1.0:
        raise ConfigError(f"--amount {args.amount} must be from 0 to 1")
    generator, cfg = load_generator(args.run)
    plan = bend_plan(args.bend, generator, args.run)
    pitch = chosen_pitch(cfg, args.pitch)
    reference = load_reference(args.run)
    walk = walk_latents(args.run, generator, cfg, args.direction, low, high, steps, seed=args.seed)
    pitches = [pitch] * steps
    with progress_bar(steps, "beyond", args.quiet) as bar:
        audio = render_audition(generator, cfg, plan, walk.latents, pitches, np.full(steps, args.amount),
                                progress=bar.update)
    safe = args.direction.replace(":", "_").replace(",", "-")
    out = Path(args.out) if args.out else bend_dir(args.run) / f"beyond_{safe}_p{pitch}"
    out.mkdir(parents=True, exist_ok=True)
    levelled = level_notes(audio, run_level(args.run))
    rate = int(cfg.audio.sample_rate)
    distances = note_distances(reference, audio, pitches)
    scores = audition_scores(args.run, cfg, audio, pitches)
    cells = []
    for n, value in enumerate(walk.values):
        name = f"{safe}_{value:+.2f}.wav"
        write_wav(out / name, levelled[n], rate)
        cells.append({"value": round(float(value), 4), "file": name,
                      "inside_data_range": bool(walk.inside[n]), "data_distance": distances[n],
                      **({"critic_score": scores[n]} if scores else {})})
    ticks = [f"{v:+.2g}{'' if inside else ' *'}" + (f"\nd={d:.1f}" if d is not None else "")
             for v, inside, d in zip(walk.values, walk.inside, distances, strict=True)]
    sheet = write_contact_sheet(out / "contact_sheet.png", log_mel_db(audio, rate)[None], [""], ticks,
                                f"{Path(args.run).name}: {args.direction} at pitch {pitch} "
                                "(* = outside the fitted range, d = distance from the data)", rate,
                                DISTANCE_HOP)
    result: dict[str, Any] = {"out": str(out), "direction": args.direction, "unit": walk.unit,
                              "pitch": pitch, "bend": plan.describe() if plan else None,
                              "bend_amount": args.amount if plan else None, "cells": cells,
                              "contact_sheet": str(sheet), "meaning": MEANING["data_distance"]}
    if reference is None:
        result["hint"] = no_reference_hint(args.run)
    (out / "index.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    print_result(result, args.json)
    return 0


def run_measure(args: argparse.Namespace) -> int:
    from host_tools.bend.audition import bend_plan, parse_amounts
    from host_tools.bend.distance import MEANING, load_reference, no_reference_hint
    from host_tools.bend.measure import measure_bend
    from host_tools.gan.run_dir import load_generator

    amounts = parse_amounts(args.amounts)
    generator, cfg = load_generator(args.run)
    plan = bend_plan(args.bend, generator, args.run)
    reference = load_reference(args.run)
    if reference is None:
        print(no_reference_hint(args.run), file=sys.stderr)
    from host_tools.bend.critic import load_critic

    figures = measure_bend(generator, cfg, plan, amounts, args.per_pitch, args.seed, reference,
                           load_critic(args.run))
    print_result({"run": args.run, "bend": plan.describe(), **figures, "meaning": MEANING}, args.json)
    return 0
