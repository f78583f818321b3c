"""Parsing of the latent-space command options (axes, ranges, numbers, pitches) into checked values
(host analysis layer). Every malformed value is a ConfigError naming the option and an example."""

from __future__ import annotations

import argparse
import math
import re

from device import pitch_syntax
from device.errors import ConfigError


def parse_floats(text: str, option: str, example: str) -> list[float]:
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError:
        raise ConfigError(f"{option} {text!r} is not a comma-separated list of numbers; "
                          f"write it like {example}") from None
    if not all(math.isfinite(v) for v in values):
        raise ConfigError(f"{option} {text!r} holds a NaN or infinite value; write it like {example}")
    return values


def parse_axes(text: str, count: int) -> list[int]:
    """Component indices like "0,1"; each must be below `count` (the stored components)."""
    try:
        axes = [int(part) for part in text.split(",")]
    except ValueError:
        raise ConfigError(f"--axes {text!r} is not a comma-separated list of component numbers; "
                          "write it like 0,1") from None
    if len(set(axes)) != len(axes):
        raise ConfigError(f"--axes {text!r} names a component twice")
    bad = [a for a in axes if not 0 <= a < count]
    if bad:
        raise ConfigError(f"--axes {text!r}: component {bad[0]} does not exist; the run's PCA stores "
                          f"components 0..{count - 1} (refit with `latent space pca --components N` "
                          "for more)")
    return axes


def parse_range(text: str) -> tuple[float, float]:
    values = parse_floats(text, "--range", "-2,2")
    if len(values) != 2 or values[1] <= values[0]:
        raise ConfigError(f"--range {text!r} must be two increasing numbers LOW,HIGH, like -2,2")
    return values[0], values[1]


def parse_steps(steps: int) -> int:
    if steps < 2:
        raise ConfigError(f"--steps {steps} is too few; a grid needs at least 2 points per axis")
    return steps


def parse_pitches(text: str, option: str = "--pitches") -> list[int]:
    """Pitches in the one grammar of every `--pitches` option (device/pitch_syntax.py)."""
    return pitch_syntax.parse_pitches(text, option)


def parse_indices(text: str, option: str) -> list[int]:
    """Component numbers: "0-7" (inclusive), "0,2,5" or "3", increasing."""
    try:
        if "-" in text.strip()[1:]:
            low, high = (int(part) for part in text.split("-", 1))
            values = list(range(low, high + 1))
        else:
            values = [int(part) for part in text.split(",")]
    except ValueError:
        raise ConfigError(f"{option} {text!r} is malformed; write a range like 0-7 or a list like "
                          "0,2,5") from None
    if not values or sorted(set(values)) != values:
        raise ConfigError(f"{option} {text!r} must name increasing numbers, like 0-7")
    return values


def check_trained_pitches(pitches: list[int], trained: list[int]) -> None:
    unknown = [p for p in pitches if p not in trained]
    if unknown:
        raise ConfigError(f"pitch {unknown[0]} was not trained; this run knows {trained[0]}..{trained[-1]}")


def accept_negative_lists(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Let option values such as `--range -2,2` or `--coeffs -1.5,0.5` through: argparse only takes a
    leading '-' for a value when the whole word is one number, so widen that test to number lists."""
    parser._negative_number_matcher = re.compile(r"^-\d[\d.,eE+-]*$")  # no public hook for this
    return parser
