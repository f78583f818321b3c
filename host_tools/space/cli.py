"""`latent space ACTION`: see and hear a trained GAN's latent space and choose points in it (app layer, CLI).

    latent space pca --run RUN [--samples N] [--components K]        fit and store GANSpace directions
    latent space grid --run RUN --axes 0,1 --range -2,2 --steps 5 --pitch P [--out DIR] [--bend RECIPE]
    latent space explore --run RUN -n N [--pitch P] [--spread S] [--seed S] [--out DIR] [--bend RECIPE]
    latent space bookmark NAME --run RUN (--coeffs c0,c1,.. | --seed N | --z v0,v1,..)
    latent space bookmarks --run RUN
    latent space describe --run RUN [--components 0-7]   JSON: what each direction moves, axes to use
    latent space smoothness --bundle B        JSON: neighbour and random-pair log-mel distance (dB)
    latent space compare --bundle B --reference R    JSON: codec error of B against R, sizes

Heavy imports (torch, the GAN) stay inside the run functions so `latent --help` stays fast.
The WAVs of grid and explore are levelled like the run's training notes (host_tools/gan/levelling.py);
the contact sheet and smoothness figures measure the generator's raw output. With `--bend RECIPE` every
point is also rendered through the bent generator at each of `--amounts` (host_tools/bend/), and each
audition carries its distance from the real notes where the run stores them (`latent bend reference`)
and its critic score where the run keeps its critic (training runs).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from host_tools.gan.config import GanConfig


def register(sub: argparse._SubParsersAction) -> None:
    from device.cli_options import add_json, add_quiet, examples
    from host_tools.space.parsing import accept_negative_lists

    run_help = "training run or exported model directory (latent gan train --out, latent gan export --out)"
    parser = sub.add_parser("space", help="latent directions, audition grids, explore, bookmarks",
                            description="Navigate a trained GAN's latent space (GANSpace directions, "
                                        "grids, random explore, bookmarks) and measure compiled banks.",
                            **examples("latent space pca --run runs/medium",
                                       "latent space grid --run models/gan-medium --axes 0,1 --pitch C4"))
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    pca = actions.add_parser("pca", help="fit PCA directions of the generator's early layer",
                             description="Fit GANSpace PCA directions of the generator's early layer and "
                                         "store them in the run; prints what each figure means (JSON).",
                             **examples("latent space pca --run runs/medium --components 16"))
    pca.add_argument("--run", required=True, help=run_help)
    pca.add_argument("--samples", type=int, default=4096, help="latent samples (default 4096)")
    pca.add_argument("--components", type=int, default=16, help="directions to keep (default 16)")
    pca.add_argument("--batch", type=int, default=256, help="samples per batch (default 256)")
    pca.add_argument("--seed", type=int, default=0, help="seed of the latent samples (default 0)")
    add_quiet(pca)
    pca.set_defaults(func=run_pca)

    grid = actions.add_parser("grid", help="render a grid along PCA directions: WAVs + contact sheet PNG",
                              description="Render a grid of notes along one or two PCA directions at one "
                                          "pitch: levelled WAVs, a contact sheet PNG and an index.",
                              **examples("latent space grid --run models/gan-medium --axes 0,1 --range -2,2 "
                                         "--steps 5 --pitch C4 --out grid/",
                                         "latent space grid --run models/gan-medium --axes 0 --pitch C4 "
                                         "--bend models/bent-medium-inside-out.toml --amounts 0,0.5,1"))
    grid.add_argument("--run", required=True, help=run_help)
    grid.add_argument("--axes", default="0,1", help="one or two components, e.g. 0,1")
    grid.add_argument("--range", default="-2,2", help="LOW,HIGH in standard deviations (default -2,2)")
    grid.add_argument("--steps", type=int, default=5, help="grid points per axis (default 5)")
    grid.add_argument("--pitch", help="one trained pitch, e.g. 60 or C4 (default: the middle trained pitch)")
    grid.add_argument("--out", help="output directory (default RUN/space/grid_...)")
    _add_bend_options(grid)
    add_quiet(grid)
    accept_negative_lists(grid)
    grid.set_defaults(func=run_grid)

    explore = actions.add_parser("explore", help="render N random points with an index to listen through",
                                 description="Render N random points of the latent space at one pitch, "
                                             "with an index that gives the bookmark command of each.",
                                 **examples("latent space explore --run models/gan-medium -n 16 --pitch A3"))
    explore.add_argument("--run", required=True, help=run_help)
    explore.add_argument("-n", type=int, default=16, help="number of points (default 16)")
    explore.add_argument("--pitch", help="one trained pitch, e.g. 60 or C4 (default: the middle trained "
                                         "pitch)")
    explore.add_argument("--spread", type=float, default=1.0, help="std of the random coefficients")
    explore.add_argument("--seed", type=int, default=0, help="seed of the random points (default 0)")
    explore.add_argument("--out", help="output directory (default RUN/space/explore_SEED)")
    _add_bend_options(explore)
    add_quiet(explore)
    accept_negative_lists(explore)
    explore.set_defaults(func=run_explore)

    mark = actions.add_parser("bookmark", help="name a latent point (coefficients, seed or raw z)",
                              description="Name a latent point, given as PCA coefficients, a seed or a "
                                          "raw z, for `latent bank compile --corners`.",
                              **examples("latent space bookmark bright --run models/gan-medium "
                                         "--coeffs 1.5,-0.5",
                                         "latent space bookmark calm --run models/gan-medium --seed 7"))
    mark.add_argument("name")
    mark.add_argument("--run", required=True, help=run_help)
    source = mark.add_mutually_exclusive_group(required=True)
    source.add_argument("--coeffs", help="coefficients in std along directions 0,1,.. e.g. 1.5,-0.5")
    source.add_argument("--seed", type=int, help="the z this seed draws (as `latent gan generate --seed`)")
    source.add_argument("--z", help="raw z, comma separated (latent_dim values)")
    accept_negative_lists(mark)
    mark.set_defaults(func=run_bookmark)

    listing = actions.add_parser("bookmarks", help="list a run's bookmarks",
                                 description="List a run's bookmarks as JSON.",
                                 **examples("latent space bookmarks --run models/gan-medium"))
    listing.add_argument("--run", required=True, help=run_help)
    listing.set_defaults(func=run_bookmarks)

    describe = actions.add_parser("describe", help="JSON: how audible each PCA direction is and which "
                                                    "spectral feature it moves; suggests a bank's two axes",
                                  description="Measure how audible each PCA direction is and which "
                                              "spectral feature it moves (JSON); suggests a bank's axes.",
                                  **examples("latent space describe --run models/gan-medium --components 0-7 "
                                             "--pitches C3,C4,C5"))
    describe.add_argument("--run", required=True, help=run_help)
    describe.add_argument("--components", default="0-7", help="directions to describe, e.g. 0-7 or 0,2,5")
    describe.add_argument("--pitches", help="pitches to listen at, e.g. 48,60,72 or C3,C4,C5 (default: "
                                            "low, middle and high trained pitch)")
    describe.add_argument("--reach", type=float, default=2.0, help="R: compare -R and +R std (default 2)")
    describe.set_defaults(func=run_describe)

    smooth = actions.add_parser("smoothness", help="JSON: grid-neighbour and random-pair log-mel distance "
                                                   "(dB, as latent gan eval's diversity) and their ratio",
                                description="Measure a compiled bank: log-mel distance between grid "
                                            "neighbours and between random pairs (dB), and their ratio.",
                                **examples("latent space smoothness --bundle models/gan-medium.bundle "
                                           "--json"))
    smooth.add_argument("--bundle", required=True, help="segment-bank bundle to measure")
    smooth.add_argument("--pairs", type=int, default=256, help="random pairs to measure (default 256)")
    add_json(smooth, "the JSON on one line (without it: the same JSON, indented)")
    smooth.set_defaults(func=run_smoothness)

    compare = actions.add_parser("compare", help="JSON: codec error of a bank against a reference bank",
                                 description="Measure the codec error of a bank against a reference bank "
                                             "of the same grid (JSON), with both sizes.",
                                 **examples("latent space compare --bundle small.bundle --reference "
                                            "models/gan-medium.bundle"))
    compare.add_argument("--bundle", required=True, help="bank to measure")
    compare.add_argument("--reference", required=True, help="bank of the same grid to measure against")
    add_json(compare, "the JSON on one line (without it: the same JSON, indented)")
    compare.set_defaults(func=run_compare)


def _add_bend_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bend", metavar="RECIPE", help="also render every point bent by this recipe "
                                                         "(TOML, see `latent bend`), at each --amounts")
    parser.add_argument("--amounts", help="bend amounts to show, e.g. 0,0.5,1 (default: 0 and the "
                                          "recipe's range at its ends and middle)")


def progress_bar(total: int, label: str, quiet: bool = False) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, desc=label, unit="note", leave=False, dynamic_ncols=True, disable=quiet)


def print_result(result: dict[str, Any], one_line: bool = False) -> None:
    """A command's JSON result on stdout: indented for people, one line with --json."""
    print(json.dumps(result) if one_line else json.dumps(result, indent=1))


def low_middle_high(trained: list[int]) -> list[int]:
    """Three trained pitches to describe a direction at: a sixth from the bottom, the middle, a sixth
    from the top."""
    return [trained[len(trained) // 6], trained[len(trained) // 2], trained[-1 - len(trained) // 6]]


def chosen_pitch(cfg: GanConfig, pitch: str | None) -> int:
    """The trained pitch a `--pitch` option names (default: the middle trained pitch)."""
    from device.pitch_syntax import parse_pitch
    from host_tools.gan.config import pitch_list
    from host_tools.space.parsing import check_trained_pitches

    trained = pitch_list(cfg)
    chosen = trained[len(trained) // 2] if pitch is None else parse_pitch(pitch)
    check_trained_pitches([chosen], trained)
    return chosen


def run_describe(args: argparse.Namespace) -> int:
    from device.errors import ConfigError
    from host_tools.gan.config import pitch_list
    from host_tools.gan.run_dir import load_generator
    from host_tools.space.describe import MEANING, describe_directions, suggest_axes
    from host_tools.space.directions import load_directions
    from host_tools.space.parsing import check_trained_pitches, parse_indices, parse_pitches

    generator, cfg = load_generator(args.run)
    directions = load_directions(args.run)
    components = parse_indices(args.components, "--components")
    unknown = [k for k in components if not 0 <= k < directions.count]
    if unknown:
        raise ConfigError(f"--components {args.components}: the run has directions 0..{directions.count - 1}")
    trained = pitch_list(cfg)
    pitches = parse_pitches(args.pitches) if args.pitches else low_middle_high(trained)
    check_trained_pitches(pitches, trained)
    if not 0 < args.reach <= 10:
        raise ConfigError(f"--reach {args.reach} must be in (0, 10] standard deviations")
    described = describe_directions(generator, cfg, directions, components, pitches, args.reach)
    print_result({"run": args.run, "pitches": pitches, "reach": args.reach, "directions": described,
            "suggested_axes": suggest_axes(described), "meaning": MEANING})
    return 0


def run_pca(args: argparse.Namespace) -> int:
    from host_tools.gan.run_dir import load_generator
    from host_tools.space.directions import direction_response, fit_directions, save_directions

    generator, cfg = load_generator(args.run)
    with progress_bar(2 * args.samples, "pca (2 passes)", args.quiet) as bar:
        found = fit_directions(generator, cfg, samples=args.samples, components=args.components,
                               batch=args.batch, seed=args.seed, progress=bar.update)
    response = direction_response(generator, found)
    diagonal = [round(float(response[k, k]), 3) for k in range(found.count)]
    selectivity = [round(float(abs(response[k, k]) / max(float(abs(response[k]).sum()), 1e-12)), 3)
                   for k in range(found.count)]
    path = save_directions(args.run, found, {"response_diagonal": diagonal, "selectivity": selectivity})
    print_result({"saved": str(path), "components": found.count,
            "std": [round(float(s), 4) for s in found.std],
            "explained_ratio": [round(float(r), 4) for r in found.explained_ratio],
            "response_diagonal": diagonal, "selectivity": selectivity,
            "fit_seconds": found.meta["fit_seconds"], "meaning": PCA_MEANING})
    return 0


# What each figure `latent space pca` prints is, in plain words (one entry per list, index = direction).
PCA_MEANING = {
    "components": "how many directions were fitted; direction k is axis pc<k> of `latent space grid`",
    "std": "how much the generator's first-layer activations vary along each direction, in their own "
           "units; one grid step of 1.0 moves this much (decreasing: direction 0 varies most)",
    "explained_ratio": "share of the activations' variation at a fixed pitch that each direction carries "
                       "(0..1); the leading directions are the ones most likely to be audible",
    "response_diagonal": "moving z by one step (1 std) along direction k from random points moves "
                         "component k by this many std on average; near 1.0 means the direction does "
                         "what it says, near 0 that the generator ignores it",
    "selectivity": "share of that move that lands on component k rather than the other components "
                   "(|R[k,k]| / sum_j |R[k,j]|): 1.0 = it changes only its own component, about 1/K = "
                   "it changes all of them alike (entangled)",
}


def run_grid(args: argparse.Namespace) -> int:
    import numpy as np

    from device.errors import ConfigError
    from host_tools.bend.audition import audition_amounts, audition_scores, bend_plan, render_audition
    from host_tools.bend.distance import load_reference, no_reference_hint, note_distances
    from host_tools.gan.evaluation import DISTANCE_HOP, log_mel_db
    from host_tools.gan.levelling import level_notes, run_level
    from host_tools.gan.run_dir import load_generator, read_run_config
    from host_tools.space.contact_sheet import write_contact_sheet
    from host_tools.space.directions import load_directions, space_dir
    from host_tools.space.grids import pca_grid
    from host_tools.space.measures import METRIC, UNITS, grid_smoothness, smoothness_meaning
    from host_tools.space.parsing import parse_axes, parse_range, parse_steps
    from host_tools.space.render import write_wav

    cfg = read_run_config(args.run)
    level = run_level(args.run)
    directions = load_directions(args.run)
    axes = parse_axes(args.axes, directions.count)
    if len(axes) > 2:
        raise ConfigError(f"--axes {args.axes!r}: a contact sheet shows one or two axes")
    low, high = parse_range(args.range)
    steps = parse_steps(args.steps)
    pitch = chosen_pitch(cfg, args.pitch)
    grid = pca_grid(directions, axes, low, high, steps)
    generator, cfg = load_generator(args.run)
    plan = bend_plan(args.bend, generator, args.run)  # a bad recipe is refused before any note
    amounts = audition_amounts(plan, args.amounts)
    default_name = f"grid_{'-'.join(f'pc{a}' for a in axes)}_p{pitch}" + ("_bent" if plan else "")
    out = Path(args.out) if args.out else space_dir(args.run) / default_name
    out.mkdir(parents=True, exist_ok=True)
    cells = grid.cells()
    latents = np.concatenate([grid.flat_latents()] * len(amounts))
    per_note = np.repeat(amounts, len(cells))
    pitches = [pitch] * len(latents)
    with progress_bar(len(latents), "grid", args.quiet) as bar:
        audio = render_audition(generator, cfg, plan, latents, pitches, per_note, progress=bar.update)
    levelled = level_notes(audio, level)
    rate = int(cfg.audio.sample_rate)
    reference = load_reference(args.run)
    distances = note_distances(reference, audio, pitches)
    scores = audition_scores(args.run, cfg, audio, pitches)
    index = []
    for m, amount in enumerate(amounts):
        for n, cell in enumerate(cells):
            k = m * len(cells) + n
            values = {f"pc{a}": float(axis.values()[c]) for a, axis, c in zip(axes, grid.axes, cell,
                                                                                strict=True)}
            name = (f"bend_{amount:.2f}_" if plan else "") + "_".join(f"{key}_{value:+.2f}"
                                                                       for key, value in values.items())
            write_wav(out / f"{name}.wav", levelled[k], rate)
            entry: dict[str, Any] = {"cell": list(cell), "file": f"{name}.wav", "coeffs": values,
                                     "data_distance": distances[k]}
            if scores:
                entry["critic_score"] = scores[k]
            if plan:
                entry["bend_amount"] = amount
            index.append(entry)
    spectra = log_mel_db(audio, rate)
    spectra = spectra.reshape(len(amounts), *grid.shape, *spectra.shape[1:])
    ticks = [f"{v:+.2g}" for v in np.linspace(low, high, steps)]
    columns = [f"pc{axes[-1]} {t}" for t in ticks]
    title = f"{Path(args.run).name}: pitch {pitch}, rows pc{axes[0]}, columns pc{axes[-1]} (std)"
    sheets = []
    if plan and len(axes) == 1:  # one sheet: the same row of notes, unbent and bent by each amount
        sheets.append(write_contact_sheet(
            out / "contact_sheet.png", spectra, [f"bend {a:.2f}" for a in amounts], columns,
            f"{Path(args.run).name}: pitch {pitch}, rows bend amount ({plan.target()}), columns "
            f"pc{axes[0]} (std)", rate, DISTANCE_HOP))
    else:
        for m, amount in enumerate(amounts):
            sheets.append(write_contact_sheet(
                out / (f"contact_sheet_bend_{amount:.2f}.png" if plan else "contact_sheet.png"),
                spectra[m] if len(axes) == 2 else spectra[m][None],
                [f"pc{axes[0]} {t}" for t in ticks] if len(axes) == 2 else [""], columns,
                title + (f", bend {amount:.2f}" if plan else ""), rate, DISTANCE_HOP))
    per_amount = []
    for m, amount in enumerate(amounts):
        smooth: dict[str, Any] | None = None
        if len(cells) > 2:
            found = grid_smoothness(spectra[m], len(axes))
            smooth = {**found, "meaning": smoothness_meaning(found["neighbour_db"], found["random_pair_db"]),
                      "units": UNITS, "metric": METRIC}
        chosen = distances[m * len(cells):(m + 1) * len(cells)]
        per_amount.append({"amount": amount, "smoothness": smooth, "data_distance_median":
                           float(np.median(chosen)) if reference is not None else None})
    (out / "index.json").write_text(json.dumps({
        "pitch": pitch, "axes": axes, "cells": index,
        "bend": plan.describe() if plan else None}, indent=1))
    result: dict[str, Any] = {"out": str(out), "wavs": len(index), "contact_sheet": str(sheets[0]),
                              "smoothness": per_amount[0]["smoothness"],
                              "data_distance_median": per_amount[0]["data_distance_median"]}
    if plan:
        result["contact_sheets"] = [str(sheet) for sheet in sheets]
        result["bend"] = {**plan.describe(), "amounts": per_amount}
    if reference is None:
        result["hint"] = no_reference_hint(args.run)
    print_result(result)
    return 0


def run_explore(args: argparse.Namespace) -> int:
    import csv

    import numpy as np

    from device.errors import ConfigError
    from host_tools.bend.audition import audition_amounts, audition_scores, bend_plan, render_audition
    from host_tools.bend.distance import load_reference, no_reference_hint, note_distances
    from host_tools.gan.levelling import level_notes, run_level
    from host_tools.gan.run_dir import load_generator, read_run_config
    from host_tools.space.directions import load_directions, space_dir
    from host_tools.space.render import write_wav

    cfg = read_run_config(args.run)
    level = run_level(args.run)
    directions = load_directions(args.run)
    if args.n < 1 or not args.spread > 0:
        raise ConfigError("-n must be at least 1 and --spread a positive number")
    pitch = chosen_pitch(cfg, args.pitch)
    rng = np.random.default_rng(args.seed)
    limit = 3 * args.spread  # keep the tails from landing far outside where the model was fitted
    coeffs = np.clip(rng.normal(0.0, args.spread, (args.n, directions.count)), -limit, limit)
    latents = directions.latent(coeffs)
    generator, cfg = load_generator(args.run)
    plan = bend_plan(args.bend, generator, args.run)  # a bad recipe is refused before any note
    amounts = audition_amounts(plan, args.amounts)
    out = Path(args.out) if args.out else space_dir(args.run) / f"explore_{args.seed}"
    out.mkdir(parents=True, exist_ok=True)
    pitches = [pitch] * (args.n * len(amounts))
    with progress_bar(len(pitches), "explore", args.quiet) as bar:
        audio = render_audition(generator, cfg, plan, np.concatenate([latents] * len(amounts)), pitches,
                                np.repeat(amounts, args.n), progress=bar.update)
    reference = load_reference(args.run)
    distances = note_distances(reference, audio, pitches)
    scores = audition_scores(args.run, cfg, audio, pitches)
    audio = level_notes(audio, level)
    rows = []
    for m, amount in enumerate(amounts):
        for n in range(args.n):
            text = ",".join(f"{c:.3f}" for c in coeffs[n])
            suffix = f"_bend_{amount:.2f}" if plan else ""
            rows.append({"id": n, "file": f"point_{n:03d}{suffix}.wav", "pitch": pitch, "coeffs": text,
                         **({"bend_amount": amount} if plan else {}),
                         "data_distance": distances[m * args.n + n],
                         **({"critic_score": scores[m * args.n + n]} if scores else {}),
                         "bookmark": f"latent space bookmark NAME --run {args.run} --coeffs={text}"})
            write_wav(out / rows[-1]["file"], audio[m * args.n + n], int(cfg.audio.sample_rate))
    with open(out / "index.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    (out / "index.json").write_text(json.dumps(
        [{**row, "coeffs": coeffs[row["id"]].tolist(), "z": latents[row["id"]].tolist()} for row in rows],
        indent=1))
    result: dict[str, Any] = {"out": str(out), "points": args.n, "index": str(out / "index.csv")}
    if plan:
        result["bend"] = {**plan.describe(), "amounts": amounts}
    if reference is None:
        result["hint"] = no_reference_hint(args.run)
    print_result(result)
    return 0


def run_bookmark(args: argparse.Namespace) -> int:
    import numpy as np

    from device.errors import ConfigError
    from host_tools.gan.run_dir import read_run_config
    from host_tools.space.bookmarks import add_bookmark, seed_latent
    from host_tools.space.directions import load_directions
    from host_tools.space.parsing import parse_floats

    latent_dim = int(read_run_config(args.run).model.latent_dim)
    entry: dict[str, Any]
    if args.coeffs is not None:
        coeffs = parse_floats(args.coeffs, "--coeffs", "1.5,-0.5")
        z = load_directions(args.run).latent(np.array(coeffs))
        entry = {"source": "coeffs", "coeffs": coeffs, "z": z}
    elif args.seed is not None:
        entry = {"source": "seed", "seed": args.seed, "z": seed_latent(args.seed, latent_dim)}
    else:
        z = parse_floats(args.z, "--z", "0.1,-1.2,...")
        if len(z) != latent_dim:
            raise ConfigError(f"--z has {len(z)} values; this run's latent size is {latent_dim}")
        entry = {"source": "z", "z": z}
    path = add_bookmark(args.run, args.name, entry)
    print(f"bookmarked {args.name} ({entry['source']}) in {path}")
    return 0


def run_bookmarks(args: argparse.Namespace) -> int:
    from host_tools.space.bookmarks import load_bookmarks

    marks = load_bookmarks(args.run)
    print_result({name: {k: v for k, v in entry.items() if k != "z"} for name, entry in marks.items()})
    return 0


def run_smoothness(args: argparse.Namespace) -> int:
    from device.bundle.reader import load_segment_bank
    from host_tools.space.measures import bank_smoothness

    bank = load_segment_bank(args.bundle)
    try:
        print_result({"bundle": args.bundle, **bank_smoothness(bank, pairs=args.pairs)}, args.json)
    finally:
        bank.bundle.close()
    return 0


def run_compare(args: argparse.Namespace) -> int:
    from device.bundle.reader import load_segment_bank
    from host_tools.space.measures import codec_error

    bank, reference = load_segment_bank(args.bundle), load_segment_bank(args.reference)
    try:
        print_result(codec_error(bank, reference, (Path(args.bundle), Path(args.reference))), args.json)
    finally:
        bank.bundle.close()
        reference.bundle.close()
    return 0
