"""The recipe of an additive timbre bank: its settings, defaults and strict validation (host tools).

A recipe is a TOML file (see models/additive-timbre.toml) or a plain mapping of the same shape.
Every key is optional (defaults below); an unknown key, a wrong type or a value out of range is
a `ConfigError` naming the key, so a typo never silently builds a different bank. The resolved
recipe (`AdditiveRecipe.to_config()`) is what the bundle stores as its config, and feeding it
back through `parse_recipe` rebuilds the same bank.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from device.bundle.codecs import CODECS
from device.errors import ConfigError
from device.safe_read import read_toml

Check = Callable[[Any], str | None]


def _between(low: float, high: float) -> Check:
    return lambda v: None if low <= v <= high else f"must lie in {low}..{high}"


def _one_of(*choices: Any) -> Check:
    return lambda v: None if v in choices else f"must be one of {', '.join(map(repr, choices))}"


def _rate_range(v: tuple[float, float]) -> str | None:
    low, high = v
    return None if 0.0 < low <= high <= 20.0 else "must be [low, high] with 0 < low <= high <= 20 Hz"


def _setting(default: Any, check: Check, meaning: str) -> Any:
    """A recipe key: its default, its check and what it means (quoted when its value is refused)."""
    return field(default=default, metadata={"check": check, "meaning": meaning})


@dataclass(frozen=True)
class PitchSettings:
    low: int = _setting(36, _between(0, 127), "lowest bank pitch, MIDI note")
    high: int = _setting(84, _between(0, 127), "highest bank pitch, MIDI note")
    step: int = _setting(6, _between(1, 48), "semitones between bank pitches")

    def notes(self) -> tuple[int, ...]:
        return tuple(range(self.low, self.high + 1, self.step))


@dataclass(frozen=True)
class BrightnessSettings:
    steps: int = _setting(5, _between(2, 17), "grid points along the brightness axis")
    slope_min_db_per_octave: float = _setting(-20.0, _between(-60.0, 0.0), "darkest spectral slope")
    slope_max_db_per_octave: float = _setting(-4.0, _between(-60.0, 0.0), "brightest spectral slope")


@dataclass(frozen=True)
class OddEvenSettings:
    steps: int = _setting(5, _between(2, 17), "grid points along the odd/even axis")
    curve: float = _setting(2.0, _between(0.25, 8.0), "exponent shaping how fast a family fades")


@dataclass(frozen=True)
class BandLimitSettings:
    nyquist_fraction: float = _setting(0.8, _between(0.1, 0.95), "no partial above this part of Nyquist")
    rolloff_octaves: float = _setting(0.5, _between(0.0, 3.0), "raised-cosine fade below the limit")


@dataclass(frozen=True)
class LifeSettings:
    detune_cents: float = _setting(1.5, _between(0.0, 20.0), "static random detune of upper partials")
    drift_cents: float = _setting(2.0, _between(0.0, 20.0), "depth of slow per-partial pitch drift")
    drift_rate_hz: tuple[float, float] = _setting((0.5, 3.0), _rate_range, "pitch drift rate range")
    amp_drift_db: float = _setting(0.6, _between(0.0, 6.0), "depth of slow per-partial level drift")
    amp_drift_rate_hz: tuple[float, float] = _setting((0.3, 2.0), _rate_range, "level drift rate range")


@dataclass(frozen=True)
class LevelSettings:
    loudness_db: float = _setting(-18.0, _between(-60.0, -3.0), "K-weighted RMS of every segment, dBFS")
    ceiling_db: float = _setting(-1.0, _between(-40.0, 0.0), "no sample may peak above this, dBFS")


@dataclass(frozen=True)
class AdditiveRecipe:
    name: str = _setting("additive-timbre", lambda v: None if v.strip() else "must not be empty",
                         "bundle name")
    version: int = _setting(1, _between(1, 2**31 - 1), "bundle version number")
    seed: int = _setting(1979, _between(0, 2**63 - 1), "seed of every random choice")
    sample_rate: int = _setting(22050, _one_of(16000, 22050, 24000, 32000, 44100, 48000),
                                "bank sample rate, Hz")
    segment_seconds: float = _setting(0.5, _between(0.05, 4.0), "length of every segment, seconds")
    codec: str = _setting("int16", _one_of(*CODECS), "sample codec of the bundle")
    pitches: PitchSettings = field(default_factory=PitchSettings)
    brightness: BrightnessSettings = field(default_factory=BrightnessSettings)
    odd_even: OddEvenSettings = field(default_factory=OddEvenSettings)
    band_limit: BandLimitSettings = field(default_factory=BandLimitSettings)
    life: LifeSettings = field(default_factory=LifeSettings)
    level: LevelSettings = field(default_factory=LevelSettings)

    @property
    def segment_frames(self) -> int:
        return round(self.segment_seconds * self.sample_rate)

    def to_config(self) -> dict[str, Any]:
        """The resolved recipe as plain TOML/JSON-able data (ranges as lists)."""
        def plain(value: Any) -> Any:
            if dataclasses.is_dataclass(value):
                return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
            return list(value) if isinstance(value, tuple) else value

        return plain(self)


def _coerce(where: str, value: Any, kind: Any) -> Any:
    """Check one value against its declared type; ints are accepted where floats are wanted."""
    if kind is bool or isinstance(value, bool):
        raise ConfigError(f"recipe key {where}: expected a {_kind_name(kind)}, got {value!r}")
    if kind is int and isinstance(value, int):
        return value
    if kind is float and isinstance(value, int | float):
        if not math.isfinite(value):
            raise ConfigError(f"recipe key {where}: must be a finite number, got {value!r}")
        return float(value)
    if kind is str and isinstance(value, str):
        return value
    if kind == tuple[float, float] and isinstance(value, list | tuple) and len(value) == 2:
        return tuple(_coerce(f"{where}[{i}]", v, float) for i, v in enumerate(value))
    raise ConfigError(f"recipe key {where}: expected a {_kind_name(kind)}, got {value!r}")


def _kind_name(kind: Any) -> str:
    names = {int: "whole number", float: "number", str: "string", tuple[float, float]: "[low, high] pair"}
    return names.get(kind, str(kind))


def _parse_section(cls: type, data: Any, prefix: str) -> Any:
    if not isinstance(data, Mapping):
        raise ConfigError(f"recipe key {prefix.rstrip('.') or 'root'}: expected a table, got {data!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        names = ", ".join(f"{prefix}{k}" for k in unknown)
        raise ConfigError(f"unknown recipe key(s) {names}; known keys here: {', '.join(fields)}")
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for name, value in data.items():
        where = f"{prefix}{name}"
        if dataclasses.is_dataclass(hints[name]):
            values[name] = _parse_section(hints[name], value, f"{where}.")
            continue
        coerced = _coerce(where, value, hints[name])
        problem = fields[name].metadata["check"](coerced)
        if problem:
            raise ConfigError(f"recipe key {where} = {value!r} ({fields[name].metadata['meaning']}): "
                              f"{problem}")
        values[name] = coerced
    return cls(**values)


def _check_consistency(recipe: AdditiveRecipe) -> None:
    p, b = recipe.pitches, recipe.brightness
    if p.high < p.low:
        raise ConfigError(f"recipe keys pitches.low = {p.low} and pitches.high = {p.high}: "
                          "high must not be below low")
    if (p.high - p.low) % p.step:
        raise ConfigError(f"recipe key pitches.step = {p.step}: pitches.high - pitches.low "
                          f"= {p.high - p.low} must be a multiple of it, so that high is a bank pitch")
    if b.slope_max_db_per_octave <= b.slope_min_db_per_octave:
        raise ConfigError(
            f"recipe keys brightness.slope_min_db_per_octave = {b.slope_min_db_per_octave} and "
            f"brightness.slope_max_db_per_octave = {b.slope_max_db_per_octave}: max must be greater "
            "(the axis runs from dark to bright)")
    if recipe.level.loudness_db >= recipe.level.ceiling_db:
        raise ConfigError(f"recipe key level.loudness_db = {recipe.level.loudness_db} must lie below "
                          f"level.ceiling_db = {recipe.level.ceiling_db}")


def parse_recipe(data: Mapping[str, Any]) -> AdditiveRecipe:
    """Validate a recipe mapping (missing keys take their defaults)."""
    recipe = _parse_section(AdditiveRecipe, data, "")
    _check_consistency(recipe)
    return recipe


def load_recipe(path: str | Path, overrides: Mapping[str, Any] | None = None) -> AdditiveRecipe:
    """Read and validate a recipe TOML file, with dotted keys in `overrides` replacing its values."""
    path = Path(path)
    if not os.path.lexists(path):
        raise ConfigError(f"recipe file {path} does not exist")
    try:
        # Bounded: a directory, FIFO, device, huge or hostile file is refused by name, never hangs.
        data = read_toml(path, what="a recipe TOML file", error=ConfigError, raise_syntax_errors=True)
    except tomllib.TOMLDecodeError as bad:
        raise ConfigError(f"recipe file {path} is not valid TOML: {bad}") from None
    try:
        return parse_recipe(with_overrides(data, overrides or {}))
    except ConfigError as bad:
        raise ConfigError(f"{path}: {bad}") from None


def with_overrides(data: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Copy of a recipe mapping with dotted keys (`"pitches.step"`) replaced."""
    merged: dict[str, Any] = {k: dict(v) if isinstance(v, Mapping) else v for k, v in data.items()}
    for dotted, value in overrides.items():
        section, _, key = dotted.rpartition(".")
        target = merged.setdefault(section, {}) if section else merged
        if not isinstance(target, dict):
            raise ConfigError(f"recipe key {section}: expected a table, got {target!r}")
        target[key] = value
    return merged
