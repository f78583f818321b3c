"""The recipe of an additive timbre bank: its settings, defaults and strict validation (host tools).

A recipe is a TOML file (see models/additive-timbre.toml) or a plain mapping of the same shape.
Every key is optional (defaults below); an unknown key, a wrong type or a value out of range is
a `ConfigError` naming the file, the key, its meaning and what would be accepted
(`device.config_file`), so a typo never silently builds a different bank. The resolved
recipe (`AdditiveRecipe.to_config()`) is what the bundle stores as its config, and feeding it
back through `parse_recipe` rebuilds the same bank.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from device.bundle.codecs import CODECS
from device.config_file import TableReader, load_table, top_table
from device.errors import ConfigError

# How one recipe key is read: (its table, the key, its default) -> the checked value.
Read = Callable[[TableReader, str, Any], Any]
RATE_RANGE = "[low, high] with 0 < low <= high <= 20 Hz"


def _whole(low: int, high: int) -> Read:
    return lambda table, key, default: table.integer(key, default, lo=low, hi=high)


def _between(low: float, high: float) -> Read:
    return lambda table, key, default: table.number(key, default, lo=low, hi=high)


def _one_of(*choices: Any) -> Read:
    return lambda table, key, default: table.choice(key, choices, default)


def _name(table: TableReader, key: str, default: str) -> str:
    return table.string(key, default, non_empty=True)


def _rate_range(table: TableReader, key: str, default: tuple[float, float]) -> tuple[float, float]:
    low, high = table.numbers(key, default, length=2, allowed=RATE_RANGE)
    if not 0.0 < low <= high <= 20.0:
        raise table.fail(key, f"is [{low:g}, {high:g}], not a rate range", RATE_RANGE)
    return low, high


def _setting(default: Any, read: Read, meaning: str) -> Any:
    """A recipe key: its default, how it is read and what it means (quoted when its value is refused)."""
    return field(default=default, metadata={"read": read, "meaning": meaning})


@dataclass(frozen=True)
class PitchSettings:
    low: int = _setting(36, _whole(0, 127), "lowest bank pitch, MIDI note")
    high: int = _setting(84, _whole(0, 127), "highest bank pitch, MIDI note")
    step: int = _setting(6, _whole(1, 48), "semitones between bank pitches")

    def notes(self) -> tuple[int, ...]:
        return tuple(range(self.low, self.high + 1, self.step))


@dataclass(frozen=True)
class BrightnessSettings:
    steps: int = _setting(5, _whole(2, 17), "grid points along the brightness axis")
    slope_min_db_per_octave: float = _setting(-20.0, _between(-60.0, 0.0), "darkest spectral slope")
    slope_max_db_per_octave: float = _setting(-4.0, _between(-60.0, 0.0), "brightest spectral slope")


@dataclass(frozen=True)
class OddEvenSettings:
    steps: int = _setting(5, _whole(2, 17), "grid points along the odd/even axis")
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
    name: str = _setting("additive-timbre", _name, "bundle name")
    version: int = _setting(1, _whole(1, 2**31 - 1), "bundle version number")
    seed: int = _setting(1979, _whole(0, 2**63 - 1), "seed of every random choice")
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


def _parse_section(cls: type, table: TableReader) -> Any:
    """One recipe table read into its settings class; absent keys take their defaults."""
    hints = typing.get_type_hints(cls)
    fields = dataclasses.fields(cls)
    table.describe({f.name: f.metadata["meaning"] for f in fields if "meaning" in f.metadata})
    values: dict[str, Any] = {}
    for f in fields:
        if dataclasses.is_dataclass(hints[f.name]):
            values[f.name] = _parse_section(hints[f.name], table.table(f.name))
        else:
            values[f.name] = f.metadata["read"](table, f.name, f.default)
    table.finish()
    return cls(**values)


def _check_consistency(recipe: AdditiveRecipe, source: str) -> None:
    p, b = recipe.pitches, recipe.brightness
    if p.high < p.low:
        raise ConfigError(f"{source}: pitches.low = {p.low} and pitches.high = {p.high}: "
                          "high must not be below low")
    if (p.high - p.low) % p.step:
        raise ConfigError(f"{source}: pitches.step = {p.step}: pitches.high - pitches.low "
                          f"= {p.high - p.low} must be a multiple of it, so that high is a bank pitch")
    if b.slope_max_db_per_octave <= b.slope_min_db_per_octave:
        raise ConfigError(
            f"{source}: brightness.slope_min_db_per_octave = {b.slope_min_db_per_octave} and "
            f"brightness.slope_max_db_per_octave = {b.slope_max_db_per_octave}: max must be greater "
            "(the axis runs from dark to bright)")
    if recipe.level.loudness_db >= recipe.level.ceiling_db:
        raise ConfigError(f"{source}: level.loudness_db = {recipe.level.loudness_db} must lie below "
                          f"level.ceiling_db = {recipe.level.ceiling_db}")


def parse_recipe(data: Mapping[str, Any], source: str = "recipe") -> AdditiveRecipe:
    """Validate a recipe mapping (missing keys take their defaults); `source` names it in errors."""
    recipe = _parse_section(AdditiveRecipe, top_table(data, source, error=ConfigError))
    _check_consistency(recipe, source)
    return recipe


def load_recipe(path: str | Path, overrides: Mapping[str, Any] | None = None) -> AdditiveRecipe:
    """Read and validate a recipe TOML file, with dotted keys in `overrides` replacing its values."""
    # Bounded: a directory, FIFO, device, huge or hostile file is refused by name, never hangs.
    data = load_table(path, what="a recipe TOML file", error=ConfigError,
                      missing="recipe file does not exist").data
    return parse_recipe(with_overrides(data, overrides or {}), str(path))


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
