"""The examples file of a learned mapping: recorded poses and the latent points or presets they
should play (mapping layer).

`latent map record` adds to it, `latent map train` fits a model to it. It is JSON (written by a
program, still readable and editable: deleting a bad example is deleting three lines):

    {"format": "latent-map-examples", "version": 1, "inputs": ["flex0", "flex1"], "axes": [0, 1],
     "examples": [{"pose": [0.12, 0.80], "point": [0.2, 0.9]}, {"pose": [0.9, 0.1], "preset": "cloud"}]}

`pose` holds the calibrated 0..1 amounts of `inputs`, averaged over the recording window; `point`
the 0..1 coordinates of latent `axes` (empty when every example names a preset), or `preset` the
name of one of the mapping file's presets. It is replaced atomically after every example, so a power
cut mid-session loses at most the example being recorded. Reading is strict: an unknown version,
an unknown key, a channel this instrument lacks or a row of the wrong length is refused in one line.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from device.config_file import Fail, TableReader, check_number, check_string, load_table
from device.errors import ConfigError
from device.mapping.config import INSTRUMENT_CHANNELS, MAX_AXES
from device.mapping.learned import MAX_EXAMPLES
from device.store.fsops import FsOps, RealFs, write_atomic

EXAMPLES_FORMAT = "latent-map-examples"
EXAMPLES_VERSION = 1


@dataclass(frozen=True)
class PoseExample:
    """A pose and what it plays: a latent `point` or a `preset` name (exactly one of them)."""

    pose: tuple[float, ...]
    point: tuple[float, ...] | None = None
    preset: str | None = None


@dataclass(frozen=True)
class ExampleSet:
    inputs: tuple[str, ...]
    axes: tuple[int, ...]
    examples: tuple[PoseExample, ...] = ()

    def add(self, example: PoseExample) -> ExampleSet:
        points = len(example.point) if example.point is not None else len(self.axes)
        if len(example.pose) != len(self.inputs) or points != len(self.axes):
            raise ConfigError(f"an example of {len(example.pose)} inputs and {points} axes does "
                              f"not fit a set of {len(self.inputs)} inputs and {len(self.axes)} axes")
        if len(self.examples) >= MAX_EXAMPLES:
            raise ConfigError(f"the examples file already holds {MAX_EXAMPLES} examples, the most a learned "
                              "mapping takes; start another file")
        return ExampleSet(self.inputs, self.axes, (*self.examples, example))


def examples_text(examples: ExampleSet) -> str:
    """The JSON text of an example set, one example per line."""
    head = {"format": EXAMPLES_FORMAT, "version": EXAMPLES_VERSION, "inputs": list(examples.inputs),
            "axes": list(examples.axes)}
    rows = ",\n".join("  " + json.dumps(_entry(e)) for e in examples.examples)
    body = json.dumps(head)[:-1]
    return f'{body},\n "examples": [\n{rows}\n ]\n}}\n' if rows else f'{body}, "examples": []}}\n'


def _entry(example: PoseExample) -> dict[str, Any]:
    if example.point is not None:
        return {"pose": list(example.pose), "point": list(example.point)}
    return {"pose": list(example.pose), "preset": example.preset}


def save_examples(path: str | Path, examples: ExampleSet, fs: FsOps | None = None) -> None:
    """Replace `path` atomically with `examples` (old or new after a power cut, never half)."""
    write_atomic(fs if fs is not None else RealFs(), Path(path), examples_text(examples).encode("utf-8"),
                 "examples file")


def load_examples(path: str | Path, *, channels: Mapping[str, str] = INSTRUMENT_CHANNELS) -> ExampleSet:
    """Read and check an examples file (bounded, strict; see the module docstring)."""
    if Path(path).suffix.lower() != ".json":
        raise ConfigError(f"{path}: an examples file is JSON and its name ends in .json")
    top = load_table(path, what="an examples file (.json)", error=ConfigError,
                     missing="no such examples file; record one with `latent map record --out FILE.json`")
    return _parse(top, channels)


def _parse(top: TableReader, channels: Mapping[str, str]) -> ExampleSet:
    kind = top.raw("format", allowed=repr(EXAMPLES_FORMAT))
    if kind != EXAMPLES_FORMAT:
        raise top.fail("format", f"is {kind!r}, not an examples file of `latent map record`",
                       repr(EXAMPLES_FORMAT))
    version = top.raw("version", allowed=str(EXAMPLES_VERSION))
    if version != EXAMPLES_VERSION or isinstance(version, bool):
        raise top.fail("version", f"is {version!r}, an examples-file version this instrument cannot read",
                       str(EXAMPLES_VERSION))
    names = ", ".join(channels)

    def channel(value: Any, fail: Fail) -> str:
        name = check_string(value, fail)
        if name not in channels:
            raise fail(f"is {name!r}, not a channel of this instrument")
        return name

    inputs = tuple(top.array("inputs", channel, f"channel names ({names})", max_len=len(channels)))
    axes = tuple(top.integers("axes", lo=0, hi=MAX_AXES - 1, min_len=0))
    top.refuse_repeats("inputs", inputs)
    top.refuse_repeats("axes", axes)
    examples = []
    for i, entry in enumerate(top.tables("examples")):
        pose = _row(entry, "pose", len(inputs), "calibrated amounts")
        if entry.has("preset"):
            if entry.has("point"):
                raise top.fail(f"examples[{i}]", "has both a point and a preset", "one of them")
            examples.append(PoseExample(pose, preset=entry.string("preset", non_empty=True)))
        else:
            if not axes:
                raise entry.fail("point", "missing, and `axes` is empty", "a `preset` name")
            examples.append(PoseExample(pose, point=_row(entry, "point", len(axes), "latent coordinates")))
        entry.finish()
    if len(examples) > MAX_EXAMPLES:
        raise top.fail("examples", f"has {len(examples)} examples", f"at most {MAX_EXAMPLES}")
    top.finish()
    return ExampleSet(inputs, axes, tuple(examples))


def _row(sec: TableReader, key: str, length: int, what: str) -> tuple[float, ...]:
    return tuple(sec.numbers(key, lo=0.0, hi=1.0, length=length,
                             allowed=f"an array of {length} {what}, each from 0 up to 1"))


def parse_point(text: str, axes: Sequence[int] | None = None) -> tuple[float, ...]:
    """A target point written on a command line: `0.2,0.8` (one 0..1 coordinate per axis)."""
    parts = text.split(",")
    allowed = "comma-separated coordinates from 0 to 1, one per latent axis, e.g. 0.2,0.8"
    coords = []
    for part in parts:
        try:
            value = float(part)
        except ValueError:
            raise ConfigError(f"target {text!r}: {part.strip()!r} is not a number; "
                              f"allowed: {allowed}") from None
        coords.append(check_number(value, lambda problem: ConfigError(f"target {text!r}: {problem}; allowed: "
                                                                      f"{allowed}"), 0.0, 1.0))
    if not 1 <= len(coords) <= MAX_AXES:
        raise ConfigError(f"target {text!r}: {len(coords)} coordinates; allowed: 1 to {MAX_AXES}")
    if axes is not None and len(coords) != len(axes):
        raise ConfigError(f"target {text!r}: {len(coords)} coordinates for {len(axes)} axes; "
                          "give one per axis")
    return tuple(coords)
