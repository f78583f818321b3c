"""Strict, self-describing reads of one TOML table (mapping layer, config loading).

A `TableReader` hands out typed values one key at a time, each with its allowed range, and
`finish()` then refuses any key nobody asked for. Every error is a `ConfigError` that names the
file, the dotted key and what would be accepted, so a musician editing a mapping file by hand
is told exactly what to change.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from device.errors import ConfigError

T = TypeVar("T")

_MISSING: Any = object()


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "table"
    if isinstance(value, list):
        return "array"
    return type(value).__name__


def _show(value: Any) -> str:
    # Values are shown as they are spelt in TOML, not as Python prints them.
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def format_range(lo: float | None, hi: float | None, lo_open: bool = False, hi_open: bool = False) -> str:
    if lo is not None and hi is not None:
        left = "above" if lo_open else "from"
        right = "below" if hi_open else "up to"
        return f"a number {left} {lo:g} {right} {hi:g}"
    if lo is not None:
        return f"a number {'above' if lo_open else 'of at least'} {lo:g}"
    if hi is not None:
        return f"a number {'below' if hi_open else 'of at most'} {hi:g}"
    return "a number"


class TableReader:
    """Typed access to one table of a TOML document, remembering which keys were read."""

    def __init__(self, data: dict[str, Any], where: str, source: str) -> None:
        self.data = data
        self.where = where
        self.source = source
        self._known: list[str] = []

    def key_path(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def fail(self, key: str | None, problem: str, allowed: str) -> ConfigError:
        place = self.key_path(key) if key is not None else (self.where or "top level")
        return ConfigError(f"{self.source}: {place}: {problem}; allowed: {allowed}")

    def has(self, key: str) -> bool:
        self._note(key)
        return key in self.data

    def _note(self, key: str) -> None:
        if key not in self._known:
            self._known.append(key)

    def _get(self, key: str, default: Any, allowed: str) -> Any:
        self._note(key)
        if key in self.data:
            return self.data[key]
        if default is _MISSING:
            raise self.fail(key, "missing", allowed)
        return default

    def number(
        self,
        key: str,
        default: float = _MISSING,
        *,
        lo: float | None = None,
        hi: float | None = None,
        lo_open: bool = False,
        hi_open: bool = False,
    ) -> float:
        allowed = format_range(lo, hi, lo_open, hi_open)
        value = self._get(key, default, allowed)
        return check_number(value, lambda problem: self.fail(key, problem, allowed), lo, hi, lo_open, hi_open)

    def integer(self, key: str, default: int = _MISSING, *, lo: int, hi: int) -> int:
        allowed = f"a whole number from {lo} to {hi}"
        value = self._get(key, default, allowed)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"is {_show(value)} ({_type_name(value)}), not a whole number", allowed)
        if not lo <= value <= hi:
            raise self.fail(key, f"is {value}, out of range", allowed)
        return value

    def boolean(self, key: str, default: bool = _MISSING) -> bool:
        allowed = "true or false"
        value = self._get(key, default, allowed)
        if not isinstance(value, bool):
            raise self.fail(key, f"is {_show(value)} ({_type_name(value)}), not true or false", allowed)
        return value

    def choice(self, key: str, choices: Sequence[str], default: str = _MISSING) -> str:
        allowed = ", ".join(choices)
        value = self._get(key, default, allowed)
        if not isinstance(value, str):
            raise self.fail(key, f"is {_show(value)} ({_type_name(value)}), not a name", allowed)
        if value not in choices:
            raise self.fail(key, f"is {value!r}, not a known name", allowed)
        return value

    def table(self, key: str, *, required: bool = False) -> TableReader:
        """The sub-table `key` (an empty one when absent and not required)."""
        value = self._get(key, _MISSING if required else {}, "a table")
        if not isinstance(value, dict):
            raise self.fail(key, f"is {_show(value)} ({_type_name(value)}), not a table",
                            f"a [{self.key_path(key)}] table")
        return TableReader(value, self.key_path(key), self.source)

    def tables(self, key: str) -> list[TableReader]:
        """An array of tables (`[[key]]`), empty when absent."""
        value = self._get(key, [], "an array of tables")
        allowed = f"[[{self.key_path(key)}]] tables"
        if not isinstance(value, list):
            raise self.fail(key, f"is {_type_name(value)}, not an array of tables", allowed)
        readers = []
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                raise self.fail(f"{key}[{i}]", f"is {_show(item)} ({_type_name(item)}), not a table", allowed)
            readers.append(TableReader(item, f"{self.key_path(key)}[{i}]", self.source))
        return readers

    def array(self, key: str, item: Callable[[Any, Callable[[str], ConfigError]], T], allowed: str,
              *, min_len: int = 1, default: list[T] = _MISSING) -> list[T]:
        """An array whose items `item(value, fail)` checks and converts (fail builds the error)."""
        value = self._get(key, default, allowed)
        if value is default and default is not _MISSING:
            return list(default)
        if not isinstance(value, list):
            raise self.fail(key, f"is {_show(value)} ({_type_name(value)}), not an array", allowed)
        if len(value) < min_len:
            raise self.fail(key, f"has {len(value)} entries, needs at least {min_len}", allowed)
        out = []
        for i, entry in enumerate(value):
            out.append(item(entry, lambda problem, i=i: self.fail(f"{key}[{i}]", problem, allowed)))
        return out

    def raw(self, key: str, default: Any = _MISSING, allowed: str = "a value") -> Any:
        return self._get(key, default, allowed)

    def names(self) -> list[str]:
        """Every key present (for tables whose keys are user-chosen names)."""
        return list(self.data)

    def finish(self, allowed: Iterable[str] = ()) -> None:
        """Refuse keys that were never read (typos, misplaced settings)."""
        known = [*self._known, *[k for k in allowed if k not in self._known]]
        for key in self.data:
            if key not in known:
                section = f"[{self.where}]" if self.where else "the top level"
                raise ConfigError(
                    f"{self.source}: {self.key_path(key)}: unknown key; allowed in {section}: "
                    f"{', '.join(known) if known else '(nothing)'}"
                )


def check_number(
    value: Any,
    fail: Callable[[str], ConfigError],
    lo: float | None = None,
    hi: float | None = None,
    lo_open: bool = False,
    hi_open: bool = False,
) -> float:
    """`value` as a finite float within the bounds, or `fail(problem)` raised."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise fail(f"is {_show(value)} ({_type_name(value)}), not a number")
    number = float(value)
    if not math.isfinite(number):
        raise fail(f"is {value!r}, not a finite number")
    too_low = lo is not None and (number <= lo if lo_open else number < lo)
    too_high = hi is not None and (number >= hi if hi_open else number > hi)
    if too_low or too_high:
        raise fail(f"is {value!r}, out of range")
    return number
