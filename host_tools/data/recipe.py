"""What to render: a recipe of GM programs, pitches and velocities, strictly validated (host data layer).

A recipe is a TOML file (see recipes/default.toml) or the same shape built from command-line options:

    soundfont = "auto"          # or a path; "auto" = the best General MIDI soundfont installed
    sample_rate = 16000
    seconds = 4.0               # length of every note file
    note_seconds = 3.0          # key held this long, then released (NSynth: 3 of 4 s)
    velocities = [50, 100, 127]
    [[groups]]                  # one or more
    name = "bass"
    programs = [32, 33, 38]     # or "32-33,38" or a family name such as "bass"
    pitches = "24-72"           # MIDI numbers or names ("C1-C5"), ranges inclusive
    velocities = [100]          # optional, overrides the top-level list for this group

Any unknown key, wrong type or out-of-range value is a ConfigError naming the file and the key.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from device.errors import ConfigError
from device.safe_read import read_toml
from host_tools.data.gm_programs import gm_program, parse_programs
from host_tools.data.nsynth_fields import (
    NSYNTH_NOTE_SECONDS,
    NSYNTH_SAMPLE_RATE,
    NSYNTH_SECONDS,
    NSYNTH_VELOCITIES,
    parse_midi_note,
)

RECIPES_DIR = Path(__file__).with_name("recipes")

_TOP_KEYS = ("soundfont", "sample_rate", "seconds", "note_seconds", "velocities", "groups")
_GROUP_KEYS = ("name", "programs", "pitches", "velocities")


@dataclass(frozen=True)
class NoteGroup:
    name: str
    programs: tuple[int, ...]
    pitches: tuple[int, ...]
    velocities: tuple[int, ...]


@dataclass(frozen=True)
class RenderRecipe:
    soundfont: str
    sample_rate: int
    seconds: float
    note_seconds: float
    groups: tuple[NoteGroup, ...]

    @property
    def total_frames(self) -> int:
        return round(self.seconds * self.sample_rate)

    @property
    def note_frames(self) -> int:
        return round(self.note_seconds * self.sample_rate)

    def notes(self) -> list[tuple[int, int, int]]:
        """Every (program, pitch, velocity) once, in a fixed order (so renders are reproducible)."""
        return sorted(
            {
                (program, pitch, velocity)
                for group in self.groups
                for program in group.programs
                for pitch in group.pitches
                for velocity in group.velocities
            }
        )

    def to_config(self) -> dict[str, Any]:
        """The recipe as plain data; parse_recipe(to_config()) gives the same recipe back."""
        return {
            "soundfont": self.soundfont,
            "sample_rate": self.sample_rate,
            "seconds": self.seconds,
            "note_seconds": self.note_seconds,
            "groups": [
                {
                    "name": g.name,
                    "programs": list(g.programs),
                    "pitches": list(g.pitches),
                    "velocities": list(g.velocities),
                }
                for g in self.groups
            ],
        }


def parse_number_set(
    spec: str | int | Sequence[Any], parse_one: Callable[[str], int], what: str
) -> list[int]:
    """`"24-84,96"`, `[48, 60]` or `60` as a sorted list; ranges are inclusive."""
    if isinstance(spec, bool):
        raise ConfigError(f"{what} must be numbers or ranges like 24-84, not {spec!r}")
    if isinstance(spec, int):
        tokens = [str(spec)]
    elif isinstance(spec, str):
        tokens = [t.strip() for t in spec.split(",") if t.strip()]
    elif isinstance(spec, Sequence):
        tokens = [str(t) for t in spec]
    else:
        raise ConfigError(f"{what} must be a string like '24-84' or a list of numbers, not {spec!r}")
    values: set[int] = set()
    for token in tokens:
        try:
            # A range's dash follows a digit or note name, so a leading minus stays part of the number.
            dash = token.find("-", 1)
            if dash > 0:
                low, high = parse_one(token[:dash]), parse_one(token[dash + 1 :])
                if low > high:
                    raise ValueError(f"range {token!r} runs backwards")
                values.update(range(low, high + 1))
            else:
                values.add(parse_one(token))
        except ValueError as err:
            raise ConfigError(f"{what}: {err}") from None
    if not values:
        raise ConfigError(f"{what} is empty; give numbers or ranges like 24-84")
    return sorted(values)


def parse_velocity(text: str) -> int:
    token = text.strip()
    if not token.isdigit() or not 1 <= int(token) <= 127:
        raise ValueError(f"velocity {text!r} must be a whole number 1..127")
    return int(token)


def parse_pitches(spec: str | int | Sequence[Any], what: str = "pitches") -> list[int]:
    return parse_number_set(spec, parse_midi_note, what)


def parse_velocities(spec: str | int | Sequence[Any], what: str = "velocities") -> list[int]:
    return parse_number_set(spec, parse_velocity, what)


def _programs(spec: Any, what: str) -> list[int]:
    if isinstance(spec, str):
        try:
            return parse_programs(spec)
        except ConfigError as err:
            raise ConfigError(f"{what}: {err}") from None
    if isinstance(spec, list) and spec and all(isinstance(p, int) and not isinstance(p, bool) for p in spec):
        try:
            for number in spec:
                gm_program(number)
        except ConfigError as err:
            raise ConfigError(f"{what}: {err}") from None
        return sorted(set(spec))
    raise ConfigError(
        f"{what} must be a non-empty list of GM program numbers or a string like '0,24-27,flute'"
    )


def _number(
    data: Mapping[str, Any],
    key: str,
    default: float,
    low: float,
    high: float,
    where: str,
    integer: bool = False,
) -> Any:
    value = data.get(key, default)
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or not low <= value <= high:
        kind = "a whole number" if integer else "a number"
        raise ConfigError(f"{where}: {key} = {value!r} must be {kind} from {low:g} to {high:g}")
    return value


def _refuse_unknown(data: Mapping[str, Any], known: Sequence[str], where: str) -> None:
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; known keys are {', '.join(known)}")


def parse_recipe(data: Mapping[str, Any], source: str = "recipe") -> RenderRecipe:
    """A validated RenderRecipe from TOML-shaped data; `source` names it in errors."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: a recipe must be a table of keys, not {type(data).__name__}")
    _refuse_unknown(data, _TOP_KEYS, source)
    soundfont = data.get("soundfont", "auto")
    if not isinstance(soundfont, str) or not soundfont:
        raise ConfigError(f'{source}: soundfont must be a path or "auto", not {soundfont!r}')
    sample_rate = _number(data, "sample_rate", NSYNTH_SAMPLE_RATE, 8000, 96000, source, integer=True)
    seconds = float(_number(data, "seconds", NSYNTH_SECONDS, 0.05, 30.0, source))
    note_seconds = float(_number(data, "note_seconds", NSYNTH_NOTE_SECONDS, 0.01, 30.0, source))
    if note_seconds > seconds:
        raise ConfigError(f"{source}: note_seconds ({note_seconds:g}) must not exceed seconds ({seconds:g})")
    velocities = parse_velocities(data.get("velocities", list(NSYNTH_VELOCITIES)), f"{source}: velocities")
    raw_groups = data.get("groups")
    if not isinstance(raw_groups, list) or not raw_groups:
        raise ConfigError(f"{source}: needs at least one [[groups]] table with programs and pitches")
    groups = []
    for index, raw in enumerate(raw_groups):
        where = f"{source}: groups[{index}]"
        if not isinstance(raw, Mapping):
            raise ConfigError(f"{where} must be a table with programs and pitches")
        _refuse_unknown(raw, _GROUP_KEYS, where)
        for key in ("programs", "pitches"):
            if key not in raw:
                raise ConfigError(f"{where} has no {key}; every group needs programs and pitches")
        name = raw.get("name", f"group{index}")
        if not isinstance(name, str):
            raise ConfigError(f"{where}: name must be a string")
        groups.append(
            NoteGroup(
                name=name,
                programs=tuple(_programs(raw["programs"], f"{where}.programs")),
                pitches=tuple(parse_pitches(raw["pitches"], f"{where}.pitches")),
                velocities=tuple(parse_velocities(raw["velocities"], f"{where}.velocities"))
                if "velocities" in raw
                else tuple(velocities),
            )
        )
    return RenderRecipe(
        soundfont=soundfont,
        sample_rate=int(sample_rate),
        seconds=seconds,
        note_seconds=note_seconds,
        groups=tuple(groups),
    )


def load_recipe(name_or_path: str | Path) -> RenderRecipe:
    """A recipe by file path, or by the name of one shipped in recipes/ (e.g. "default")."""
    path = Path(name_or_path)
    if not path.suffix and not path.exists():
        path = RECIPES_DIR / f"{name_or_path}.toml"
    if not os.path.lexists(path):
        shipped = ", ".join(sorted(p.stem for p in RECIPES_DIR.glob("*.toml")))
        raise ConfigError(f"recipe {name_or_path} not found; give a TOML file or one of: {shipped}")
    try:
        # Bounded: a directory, FIFO, device, huge or hostile file is refused by name, never hangs.
        data = read_toml(path, what="a recipe TOML file", error=ConfigError, raise_syntax_errors=True)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path} is not valid TOML: {err}") from None
    return parse_recipe(data, str(path))
