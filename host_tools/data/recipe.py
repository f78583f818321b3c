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

Any unknown key, wrong type or out-of-range value is a ConfigError naming the file, the key and what
would be accepted (`device.config_file`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from device.config_file import TableReader, load_table, top_table
from device.errors import ConfigError
from device.pitch_syntax import parse_pitch_spec
from host_tools.data.gm_programs import gm_program, parse_programs
from host_tools.data.nsynth_fields import (
    NSYNTH_NOTE_SECONDS,
    NSYNTH_SAMPLE_RATE,
    NSYNTH_SECONDS,
    NSYNTH_VELOCITIES,
)

RECIPES_DIR = Path(__file__).with_name("recipes")

PROGRAMS = "GM program numbers [0, 24] or a string like '0,24-27,flute'"
NUMBER_SET = "numbers and inclusive ranges, as a string like '24-84,96' or a list like [48, 60]"


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
    """Pitches in the one grammar of every `--pitches` option (device/pitch_syntax.py)."""
    return parse_pitch_spec(spec, what)


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


def parse_recipe(data: Mapping[str, Any], source: str = "recipe") -> RenderRecipe:
    """A validated RenderRecipe from TOML-shaped data; `source` names it in errors."""
    return _parse(top_table(data, source, error=ConfigError))


def _parse(top: TableReader) -> RenderRecipe:
    soundfont = top.string("soundfont", "auto", non_empty=True, allowed='a soundfont path or "auto"')
    sample_rate = top.integer("sample_rate", NSYNTH_SAMPLE_RATE, lo=8000, hi=96000)
    seconds = top.number("seconds", NSYNTH_SECONDS, lo=0.05, hi=30.0)
    note_seconds = top.number("note_seconds", NSYNTH_NOTE_SECONDS, lo=0.01, hi=30.0)
    if note_seconds > seconds:
        raise top.fail("note_seconds", f"is {note_seconds:g}, longer than seconds ({seconds:g})",
                       f"a number up to seconds ({seconds:g})")
    velocities = _number_set(top, "velocities", list(NSYNTH_VELOCITIES), parse_velocities)
    groups = []
    for index, group in enumerate(top.tables("groups", min_len=1)):
        groups.append(
            NoteGroup(
                name=group.string("name", f"group{index}"),
                programs=tuple(_programs(group.raw("programs", allowed=PROGRAMS),
                                         f"{top.source}: {group.key_path('programs')}")),
                pitches=tuple(_number_set(group, "pitches", None, parse_pitches)),
                velocities=tuple(_number_set(group, "velocities", velocities, parse_velocities)),
            )
        )
        group.finish()
    top.finish()
    return RenderRecipe(soundfont=soundfont, sample_rate=sample_rate, seconds=seconds,
                        note_seconds=note_seconds, groups=tuple(groups))


def _number_set(table: TableReader, key: str, default: list[int] | None,
                parse: Callable[[Any, str], list[int]]) -> list[int]:
    """A set of pitches or velocities written as numbers and ranges ("24-84,96" or [48, 60])."""
    if default is not None and not table.has(key):
        return default
    return parse(table.raw(key, allowed=NUMBER_SET), f"{table.source}: {table.key_path(key)}")


def load_recipe(name_or_path: str | Path) -> RenderRecipe:
    """A recipe by file path, or by the name of one shipped in recipes/ (e.g. "default")."""
    path = Path(name_or_path)
    if not path.suffix and not path.exists():
        path = RECIPES_DIR / f"{name_or_path}.toml"
    if not os.path.lexists(path):
        shipped = ", ".join(sorted(p.stem for p in RECIPES_DIR.glob("*.toml")))
        raise ConfigError(f"recipe {name_or_path} not found; give a TOML file or one of: {shipped}")
    # Bounded: a directory, FIFO, device, huge or hostile file is refused by name, never hangs.
    return _parse(load_table(path, what="a recipe TOML file", error=ConfigError))
