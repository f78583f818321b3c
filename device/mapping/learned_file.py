"""The `[learned]` section of a mapping file: writing it, reading it back strictly (mapping layer).

`latent map train` writes a whole mapping file: the direct map it was given (the shipped one by
default), verbatim with its comments, then a marked block holding the fitted model as plain TOML
numbers: a point model (pose -> latent point) and/or a preset chooser (pose -> one of the map's
presets). `latent play --map FILE` reads it like any mapping file; the direct map still drives
pitch, controls, switches and every latent axis the model does not, and is what plays when the
learned section cannot be used. Retraining replaces the marked block, so a learned map can be the
base of the next one. The file is replaced atomically (temporary file, fsync, rename, directory
fsync), so a power cut during training leaves the previous map playable.

Reading checks everything a damaged or forged section could get wrong before anything plays: the
format version, channel names, axis numbers, every array's shape against the inputs and axes,
and that every number is finite; each refusal is one line naming the file and key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from device.config_file import Fail, TableReader, check_integer, check_number, check_string
from device.mapping.config import MAX_AXES, Smoothing
from device.mapping.learned import MAX_EXAMPLES, FitReport, LearnedMapping, LearnedModel, check_model
from device.store.fsops import FsOps, RealFs, write_atomic

LEARNED_FORMAT = 1
MARKER = "# --- learned mapping: written by `latent map train`"
# Kernel weights of a sane fit stay within a few hundred; a forged file cannot make the per-frame
# sums overflow to inf (the output is clipped to 0..1 whatever the weights).
MAX_WEIGHT = 1e9


def strip_learned(text: str) -> str:
    """A mapping file's text without the block `latent map train` appended (if any)."""
    at = text.find("\n" + MARKER)
    if text.startswith(MARKER):
        at = 0
    return text if at < 0 else text[:at].rstrip("\n") + "\n"


def learned_map_text(base_text: str, learned: LearnedMapping, *, examples_source: str) -> str:
    """`base_text` (a direct mapping file) with `learned` appended as its `[learned]` section."""
    lines = [
        f"{MARKER} from {examples_source} ---",
        "# The sensor pose (the calibrated amounts of `inputs`) drives the latent axes of [learned.point]",
        "# and/or chooses among the presets of [learned.presets]; everything else above still applies.",
        "# Each input is smoothed by the map's [smoothing] first (a [learned.smoothing] table with",
        "# min_cutoff, beta, d_cutoff would smooth them differently). Retrain rather than edit the numbers:",
        "#   latent map record ... --out examples.json && latent map train examples.json --out THIS_FILE",
        "[learned]",
        f"format = {LEARNED_FORMAT}",
        f"inputs = [{', '.join(_string(name) for name in learned.inputs)}]",
    ]
    if learned.point is not None:
        lines += ["", "[learned.point]   # pose -> latent point",
                  f"axes = [{', '.join(str(a) for a in learned.point.axes)}]",
                  *_model_lines(learned.point, "learned.point", "axis")]
    if learned.chooser is not None:
        lines += ["", "[learned.presets]   # pose -> preset: one score per name, the highest (clearly ahead) "
                      "is chosen",
                  f"names = [{', '.join(_string(name) for name in learned.presets)}]",
                  *_model_lines(learned.chooser, "learned.presets", "preset")]
    return base_text.rstrip("\n") + "\n\n\n" + "\n".join(lines) + "\n"


def _model_lines(model: LearnedModel, table: str, column: str) -> list[str]:
    lines = [
        f"width = {_number(model.width)}     # kernel width, in calibrated 0..1 amounts",
        f"ridge = {_number(model.ridge)}",
        "# one row per training pose (calibrated amounts of `inputs`)",
        _matrix("centres", model.centres),
        f"# linear part: one row per input, then the constant; one column per {column}",
        _matrix("linear", model.linear),
        f"# kernel weights: one row per training pose, one column per {column}",
        _matrix("weights", model.weights),
    ]
    report = model.report
    if report is not None:
        lines += [
            "",
            f"[{table}.fit]   # how well it fits (0..1 units); information only",
            f"examples = {report.examples}",
            f"train_max_error = {_number(report.train_max_error)}",
            f"train_mean_error = {_number(report.train_mean_error)}",
            f"loo_mean_error = {_number(report.loo_mean_error)}",
            f"loo_max_error = {_number(report.loo_max_error)}",
        ]
    return lines


def save_learned_map(path: str | Path, text: str, fs: FsOps | None = None) -> None:
    """Replace `path` with `text` so that a power cut leaves either the old or the new file."""
    write_atomic(fs if fs is not None else RealFs(), Path(path), text.encode("utf-8"), "learned map")


def _string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _number(value: float) -> str:
    # repr is the shortest text that reads back as the same float, and is valid TOML.
    return repr(float(value))


def _matrix(key: str, array: np.ndarray) -> str:
    rows = ",\n".join("  [" + ", ".join(_number(v) for v in row) + "]" for row in np.atleast_2d(array))
    return f"{key} = [\n{rows},\n]"


def parse_learned(sec: TableReader, channels: Mapping[str, str], smoothing: Smoothing,
                  preset_names: Sequence[str]) -> LearnedMapping:
    """The `[learned]` table (the caller has read its `smoothing` sub-table); `preset_names` are
    the map's presets, which a preset chooser must name."""
    version = sec.raw("format", allowed=str(LEARNED_FORMAT))
    if version != LEARNED_FORMAT or isinstance(version, bool):
        raise sec.fail("format", f"is {version!r}, a learned-mapping version this instrument cannot read",
                       f"{LEARNED_FORMAT} (retrain with this version's `latent map train`)")
    names = ", ".join(channels)
    inputs = tuple(sec.array("inputs", lambda v, fail: _channel(v, fail, channels),
                             f"channel names ({names})", max_len=len(channels)))
    sec.refuse_repeats("inputs", inputs)
    point = chooser = None
    presets: tuple[str, ...] = ()
    if sec.has("point"):
        part = sec.table("point")
        axes = tuple(part.integers("axes", lo=0, hi=MAX_AXES - 1))
        part.refuse_repeats("axes", axes)
        point = _model(part, inputs, axes, smoothing)
    if sec.has("presets"):
        part = sec.table("presets")
        known = ", ".join(preset_names) or "(the map has no presets)"
        presets = tuple(part.array("names", lambda v, fail: _preset(v, fail, preset_names),
                                   f"names of the map's presets ({known})", min_len=2))
        part.refuse_repeats("names", presets)
        chooser = _model(part, inputs, tuple(range(len(presets))), smoothing)
    sec.finish()
    if point is None and chooser is None:
        raise sec.fail(None, "has neither [learned.point] nor [learned.presets]",
                       "a section written by `latent map train`")
    return LearnedMapping(inputs, point, presets, chooser)


def _model(sec: TableReader, inputs: tuple[str, ...], outputs: tuple[int, ...],
           smoothing: Smoothing) -> LearnedModel:
    width = sec.number("width", lo=0.0, lo_open=True, hi=1e6)
    ridge = sec.number("ridge", lo=0.0, hi=1e6)
    centres = _rows(sec, "centres", len(inputs), 0.0, 1.0, "calibrated amounts from 0 up to 1", "input")
    column = "axis" if sec.where.endswith("point") else "preset"
    linear = _rows(sec, "linear", len(outputs), -MAX_WEIGHT, MAX_WEIGHT, "numbers", column)
    weights = _rows(sec, "weights", len(outputs), -MAX_WEIGHT, MAX_WEIGHT, "numbers", column)
    report = _report(sec.table("fit")) if sec.has("fit") else None
    sec.finish()
    if len(linear) != len(inputs) + 1:
        raise sec.fail("linear", f"has {len(linear)} rows for {len(inputs)} inputs",
                       f"{len(inputs) + 1} rows (one per input, then the constant); retrain with "
                       "`latent map train`")
    if len(weights) != len(centres):
        raise sec.fail("weights", f"has {len(weights)} rows for {len(centres)} centres",
                       "one row per centre; retrain with `latent map train`")
    model = LearnedModel(inputs, outputs, width, ridge, np.array(centres), np.array(linear),
                         np.array(weights), smoothing, report)
    check_model(model, sec.source)
    return model


def _preset(value: Any, fail: Fail, preset_names: Sequence[str]) -> str:
    name = check_string(value, fail)
    if name not in preset_names:
        raise fail(f"is {name!r}, not a preset of this map")
    return name


def _channel(value: Any, fail: Fail, channels: Mapping[str, str]) -> str:
    name = check_string(value, fail)
    if name not in channels:
        raise fail(f"is {name!r}, not a channel of this instrument (a map recorded on another build?)")
    return name


def _rows(sec: TableReader, key: str, width: int, lo: float, hi: float, each: str,
          column: str) -> list[list[float]]:
    allowed = f"an array of rows, each {width} {each}"

    def row(value: Any, fail: Fail) -> list[float]:
        if not isinstance(value, list):
            raise fail(f"is {value!r}, not a row (an array of {width} numbers)")
        if len(value) != width:
            raise fail(f"has {len(value)} numbers, expected {width} (one per {column}); retrain with "
                       "`latent map train`")
        return [check_number(v, fail, lo, hi) for v in value]

    return sec.array(key, row, allowed, max_len=MAX_EXAMPLES + 1)


def _report(sec: TableReader) -> FitReport:
    def error(key: str) -> float:
        return sec.number(key, lo=0.0, hi=1.0)

    examples = check_integer(sec.raw("examples", allowed="a whole number"),
                             lambda p: sec.fail("examples", p, f"2 to {MAX_EXAMPLES}"), 2, MAX_EXAMPLES)
    report = FitReport(examples, error("train_max_error"), error("train_mean_error"), error("loo_mean_error"),
                       error("loo_max_error"))
    sec.finish()
    return report

