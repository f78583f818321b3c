"""Strict, self-describing reading of configuration files (bottom layer, shared by all).

Every hand-written settings file of the project (mapping files, the pin map, gesture scripts,
timbre-bank and render recipes, GAN training configs) is read through one `TableReader`: it hands
out typed values one key at a time (booleans, whole numbers and numbers with their ranges,
strings, choices, arrays, sub-tables, arrays of tables), and `finish()` then refuses every key
nobody asked for, listing the keys that are known there. A file is loaded through
`device.safe_read` (bounded, depth-checked) by `load_table`, text by `parse_table`, data that
did not come from a file (command-line options, a saved run) by `top_table`.

Every refusal is raised as the caller's error class (`ConfigError`, `GestureError`, ...) and
names the file, the dotted key (`axes[0].curve`) and what would be accepted:

    my_map.toml: gain.idle: is 1.5, out of range; allowed: a number from 0 up to 1

A reader made with `locate_lines=True` also names the line of the key (`bad.toml:12: ...`).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar, cast

from device.errors import ConfigError, InstrumentError
from device.safe_read import MAX_CONFIG_BYTES, loads_json, loads_toml, read_text

T = TypeVar("T")

# The default of a key that has none: a missing key is then refused.
REQUIRED: Any = object()

Fail = Callable[[str], InstrumentError]
ItemCheck = Callable[[Any, Fail], T]


def type_name(value: Any) -> str:
    """The TOML word for a value's type (what a person editing the file sees)."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "table"
    if isinstance(value, list | tuple):
        return "array"
    return type(value).__name__


def show(value: Any) -> str:
    """A value as it is spelt in TOML, not as Python prints it (true, not True)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = repr(value)
    # A hostile file may hold a megabyte-long string: quote its start only.
    return text if len(text) <= 80 else text[:80] + "…"


def format_range(lo: float | None, hi: float | None, lo_open: bool = False, hi_open: bool = False) -> str:
    """'a number from 0 up to 1', 'a number above 0', ... for the bounds of `check_number`."""
    if lo is not None and hi is not None:
        left = "above" if lo_open else "from"
        right = "below" if hi_open else "up to"
        return f"a number {left} {lo:g} {right} {hi:g}"
    if lo is not None:
        return f"a number {'above' if lo_open else 'of at least'} {lo:g}"
    if hi is not None:
        return f"a number {'below' if hi_open else 'of at most'} {hi:g}"
    return "a number"


def format_int_range(lo: int | None, hi: int | None) -> str:
    """'a whole number from 1 to 255', 'a whole number of at least 0', ... for `check_integer`."""
    if lo is not None and hi is not None:
        return f"a whole number from {lo} to {hi}"
    if lo is not None:
        return f"a whole number of at least {lo}"
    if hi is not None:
        return f"a whole number of at most {hi}"
    return "a whole number"


def check_number(value: Any, fail: Fail, lo: float | None = None, hi: float | None = None,
                 lo_open: bool = False, hi_open: bool = False, *, exact: bool = False) -> float:
    """`value` as a finite float within the bounds, or `fail(problem)` raised.

    With `exact` a whole number is returned as written (an int), for values that are saved back
    or hashed, where 4 and 4.0 must stay what the file said.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise fail(f"is {show(value)} ({type_name(value)}), not a number")
    number = float(value)
    if not math.isfinite(number):
        raise fail(f"is {value!r}, not a finite number")
    too_low = lo is not None and (number <= lo if lo_open else number < lo)
    too_high = hi is not None and (number >= hi if hi_open else number > hi)
    if too_low or too_high:
        raise fail(f"is {value!r}, out of range")
    return value if exact else number


def check_integer(value: Any, fail: Fail, lo: int | None = None, hi: int | None = None) -> int:
    """`value` as an int within the bounds (a boolean or 2.0 is not one), or `fail(problem)` raised."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise fail(f"is {show(value)} ({type_name(value)}), not a whole number")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise fail(f"is {value}, out of range")
    return value


def check_string(value: Any, fail: Fail, non_empty: bool = False) -> str:
    """`value` as a string (a non-blank one with `non_empty`), or `fail(problem)` raised."""
    if not isinstance(value, str):
        raise fail(f"is {show(value)} ({type_name(value)}), not a string")
    if non_empty and not value.strip():
        raise fail(f"is {value!r}, an empty name")
    return value


class TableReader:
    """Typed access to one table of a config document, remembering which keys were read.

    `where` is the table's dotted path ("" at the top), `source` the file (or other origin) named
    in errors, `error` the class raised, `hint` a pointer added to every refusal (e.g. "see
    hardware/pins.toml"), `lines` the document's text lines when errors should name a line.
    """

    def __init__(self, data: Mapping[str, Any], where: str = "", source: str = "<config>", *,
                 error: type[InstrumentError] = ConfigError, hint: str = "",
                 lines: Sequence[str] | None = None, parts: tuple[str | int, ...] = ()) -> None:
        self.data = data
        self.where = where
        self.source = source
        self.error = error
        self.hint = hint
        self.lines = lines
        self._parts = parts
        self._known: list[str] = []
        self._about: dict[str, str] = {}

    # -- naming and refusing ------------------------------------------------------------------

    def key_path(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def describe(self, meanings: Mapping[str, str]) -> None:
        """Say what keys mean: a refusal then names the key with its meaning, e.g. `seed (seed of
        every random choice)`."""
        self._about.update(meanings)

    def fail(self, key: str | None, problem: str, allowed: str = "") -> InstrumentError:
        """The error for `key` of this table (the table itself when None); `allowed` says what
        would be accepted."""
        place = self.key_path(key) if key is not None else (self.where or "top level")
        if key is not None and key in self._about:
            place += f" ({self._about[key]})"
        line = self._line(key)
        origin = f"{self.source}:{line}" if line else self.source
        message = f"{origin}: {place}: {problem}"
        if allowed:
            message += f"; allowed: {allowed}"
        if self.hint:
            message += f" ({self.hint})"
        return self.error(message)

    def _line(self, key: str | None) -> int | None:
        if self.lines is None:
            return None
        # An array item's key (`notes[2]`) is looked for as the array's key.
        name = key.partition("[")[0] if key is not None else None
        return locate_line(self.lines, self._parts, name)

    # -- values ----------------------------------------------------------------------------------

    def has(self, key: str) -> bool:
        """Whether `key` is present (it then counts as known: the caller reads it)."""
        self._note(key)
        return key in self.data

    def names(self) -> list[str]:
        """Every key present (for tables whose keys are user-chosen names)."""
        return list(self.data)

    def _note(self, key: str) -> None:
        if key not in self._known:
            self._known.append(key)

    def _get(self, key: str, default: Any, allowed: str) -> Any:
        self._note(key)
        if key in self.data:
            return self.data[key]
        if default is REQUIRED:
            raise self.fail(key, "missing", allowed)
        return default

    def raw(self, key: str, default: Any = REQUIRED, allowed: str = "a value") -> Any:
        """The value as written, for a key whose checks are the caller's own (then `self.fail`)."""
        return self._get(key, default, allowed)

    def boolean(self, key: str, default: bool = REQUIRED) -> bool:
        allowed = "true or false"
        value = self._get(key, default, allowed)
        if not isinstance(value, bool):
            raise self.fail(key, f"is {show(value)} ({type_name(value)}), not true or false", allowed)
        return value

    def integer(self, key: str, default: int = REQUIRED, *, lo: int | None = None,
                hi: int | None = None) -> int:
        allowed = format_int_range(lo, hi)
        value = self._get(key, default, allowed)
        return check_integer(value, lambda problem: self.fail(key, problem, allowed), lo, hi)

    def number(self, key: str, default: float = REQUIRED, *, lo: float | None = None,
               hi: float | None = None, lo_open: bool = False, hi_open: bool = False,
               exact: bool = False) -> float:
        """A finite number within the bounds (`exact`: a whole number stays an int, see
        `check_number`)."""
        allowed = format_range(lo, hi, lo_open, hi_open)
        value = self._get(key, default, allowed)
        return check_number(value, lambda problem: self.fail(key, problem, allowed), lo, hi,
                            lo_open, hi_open, exact=exact)

    def string(self, key: str, default: str = REQUIRED, *, non_empty: bool = False,
               allowed: str | None = None) -> str:
        allowed = allowed or ("a non-empty string" if non_empty else "a string")
        value = self._get(key, default, allowed)
        return check_string(value, lambda problem: self.fail(key, problem, allowed), non_empty)

    def choice(self, key: str, choices: Sequence[T], default: T = REQUIRED, *,
               show_choice: Callable[[T], str] = str) -> T:
        """One of `choices` (names, or numbers shown by `show_choice`, e.g. as hex)."""
        allowed = ", ".join(show_choice(c) for c in choices)
        value = self._get(key, default, allowed)
        names = all(isinstance(c, str) for c in choices)
        if names and not isinstance(value, str):
            raise self.fail(key, f"is {show(value)} ({type_name(value)}), not a name", allowed)
        # True == 1 in Python: a boolean is never a numeric choice.
        if isinstance(value, bool) and not any(isinstance(c, bool) for c in choices):
            raise self.fail(key, f"is {show(value)} (boolean), not one of the allowed values", allowed)
        if isinstance(value, list | dict) or value not in choices:
            problem = "not a known name" if names else "not one of the allowed values"
            # A wrong number is shown as the choices are (an I2C address in hex).
            shown = show(value) if names or not isinstance(value, int) else show_choice(cast(T, value))
            raise self.fail(key, f"is {shown}, {problem}", allowed)
        return value

    def refuse_repeats(self, key: str, values: Sequence[Any], allowed: str = "each once") -> None:
        """Fail at the first entry of array `key` that repeats an earlier one."""
        for i, value in enumerate(values):
            if value in values[:i]:
                raise self.fail(f"{key}[{i}]", f"repeats {value!r}", allowed)

    def array(self, key: str, item: ItemCheck[T], allowed: str, *, min_len: int = 1,
              max_len: int | None = None, default: Sequence[T] = REQUIRED) -> list[T]:
        """An array whose items `item(value, fail)` checks and converts (fail builds the error)."""
        value = self._get(key, default, allowed)
        if value is default and default is not REQUIRED:
            return list(default)
        if not isinstance(value, list):
            raise self.fail(key, f"is {show(value)} ({type_name(value)}), not an array", allowed)
        if len(value) < min_len or (max_len is not None and len(value) > max_len):
            if max_len == min_len:
                need = f"needs exactly {min_len}"
            else:
                need = f"needs at least {min_len}" if len(value) < min_len else f"takes at most {max_len}"
            raise self.fail(key, f"has {len(value)} entries, {need}", allowed)
        return [item(entry, self._item_fail(f"{key}[{i}]", allowed)) for i, entry in enumerate(value)]

    def _item_fail(self, key: str, allowed: str) -> Fail:
        return lambda problem: self.fail(key, problem, allowed)

    def numbers(self, key: str, default: Sequence[float] = REQUIRED, *, lo: float | None = None,
                hi: float | None = None, lo_open: bool = False, hi_open: bool = False,
                min_len: int = 1, length: int | None = None, exact: bool = False,
                allowed: str | None = None) -> list[float]:
        """An array of numbers within the bounds; `length` fixes the count ([low, high] pairs)."""
        each = format_range(lo, hi, lo_open, hi_open)
        allowed = allowed or _array_words(each, min_len, length)
        return self.array(key, lambda v, fail: check_number(v, fail, lo, hi, lo_open, hi_open, exact=exact),
                          allowed, min_len=length if length is not None else min_len, max_len=length,
                          default=default)

    def integers(self, key: str, default: Sequence[int] = REQUIRED, *, lo: int | None = None,
                 hi: int | None = None, min_len: int = 1, length: int | None = None,
                 allowed: str | None = None) -> list[int]:
        """An array of whole numbers within the bounds; `length` fixes the count."""
        allowed = allowed or _array_words(format_int_range(lo, hi), min_len, length)
        return self.array(key, lambda v, fail: check_integer(v, fail, lo, hi), allowed,
                          min_len=length if length is not None else min_len, max_len=length,
                          default=default)

    def strings(self, key: str, default: Sequence[str] = REQUIRED, *, min_len: int = 1,
                non_empty: bool = False) -> list[str]:
        allowed = _array_words("a non-empty string" if non_empty else "a string", min_len, None)
        return self.array(key, lambda v, fail: check_string(v, fail, non_empty), allowed,
                          min_len=min_len, default=default)

    # -- tables ----------------------------------------------------------------------------------

    def _child(self, data: Mapping[str, Any], where: str, parts: tuple[str | int, ...]) -> TableReader:
        return TableReader(data, where, self.source, error=self.error, hint=self.hint,
                           lines=self.lines, parts=parts)

    def table(self, key: str, *, required: bool = False) -> TableReader:
        """The sub-table `key` (an empty one when absent and not required)."""
        value = self._get(key, REQUIRED if required else {}, f"a [{self.key_path(key)}] table")
        if not isinstance(value, Mapping):
            raise self.fail(key, f"is {show(value)} ({type_name(value)}), not a table",
                            f"a [{self.key_path(key)}] table")
        return self._child(value, self.key_path(key), (*self._parts, key))

    def tables(self, key: str, *, min_len: int = 0) -> list[TableReader]:
        """An array of tables (`[[key]]`), empty when absent (refused below `min_len`)."""
        allowed = f"[[{self.key_path(key)}]] tables"
        value = self._get(key, [] if min_len == 0 else REQUIRED, allowed)
        if not isinstance(value, list):
            raise self.fail(key, f"is {show(value)} ({type_name(value)}), not an array of tables", allowed)
        if len(value) < min_len:
            raise self.fail(key, f"has {len(value)} tables, needs at least {min_len}", allowed)
        readers = []
        for i, item in enumerate(value):
            if not isinstance(item, Mapping):
                raise self.fail(f"{key}[{i}]", f"is {show(item)} ({type_name(item)}), not a table", allowed)
            readers.append(self._child(item, f"{self.key_path(key)}[{i}]", (*self._parts, key, i)))
        return readers

    def finish(self, allowed: Iterable[str] = ()) -> None:
        """Refuse keys that were never read (typos, misplaced settings), naming the known ones;
        `allowed` adds keys that are known here but were not read."""
        known = [*self._known, *[k for k in allowed if k not in self._known]]
        for key in self.data:
            if key not in known:
                # An item of an array of tables is named as such (touch[0]), not as a [table].
                section = (self.where if self.where.endswith("]") else f"[{self.where}]") if self.where \
                    else "the top level"
                raise self.fail(str(key), f"unknown key; allowed in {section}: "
                                          f"{', '.join(known) if known else '(nothing)'}")


def _array_words(each: str, min_len: int, length: int | None) -> str:
    if length is not None:
        return f"an array of {length} entries, each {each}"
    if min_len > 1:
        return f"an array of at least {min_len} entries, each {each}"
    if min_len == 1:
        return f"a non-empty array, each entry {each}"
    return f"an array, each entry {each}"


def top_table(data: Any, source: str, *, error: type[InstrumentError] = ConfigError, hint: str = "",
              lines: Sequence[str] | None = None) -> TableReader:
    """The reader of a whole document (parsed data, or settings built by a command line)."""
    if not isinstance(data, Mapping):
        extra = f" ({hint})" if hint else ""
        raise error(f"{source}: is {show(data)} ({type_name(data)}), not a table of keys{extra}")
    return TableReader(data, "", source, error=error, hint=hint, lines=lines)


def parse_table(text: str, *, source: str, error: type[InstrumentError] = ConfigError, hint: str = "",
                locate_lines: bool = False, json: bool = False) -> TableReader:
    """The reader of TOML (or JSON) text; syntax errors and hostile text are refused by name."""
    if json:
        data = loads_json(text, source=source, error=error)
    else:
        data = loads_toml(text, source=source, error=error)
    return top_table(data, source, error=error, hint=hint,
                     lines=text.splitlines() if locate_lines else None)


def load_table(path: str | os.PathLike[str], *, what: str, error: type[InstrumentError] = ConfigError,
               hint: str = "", missing: str = "", locate_lines: bool = False,
               max_bytes: int = MAX_CONFIG_BYTES) -> TableReader:
    """The reader of a config file: TOML, or JSON when it ends in .json. It is read through
    `device.safe_read` (a FIFO, a device, a huge or hostile file is refused by name, never hangs);
    `missing` says what to do when there is no such file."""
    if missing and not os.path.lexists(path):
        raise error(f"{path}: {missing}")
    text = read_text(path, what=what, error=error, max_bytes=max_bytes)
    return parse_table(text, source=str(Path(path)), error=error, hint=hint, locate_lines=locate_lines,
                       json=Path(path).suffix.lower() == ".json")


_HEADER = re.compile(r"\s*\[")


def locate_line(lines: Sequence[str], parts: tuple[str | int, ...], key: str | None) -> int | None:
    """The 1-based line where `key` of the table at `parts` is written (its table's header line
    when the key is not written there), or None where it cannot be found (inline tables, arrays
    of tables inside arrays of tables)."""
    start = 0
    if parts:
        if any(isinstance(p, int) for p in parts[:-1]):
            return None
        index = parts[-1] if isinstance(parts[-1], int) else None
        names = [str(p) for p in parts if not isinstance(p, int)]
        dotted = r"\s*\.\s*".join(re.escape(n) for n in names)
        header = re.compile(rf"\s*\[\[\s*{dotted}\s*\]\]" if index is not None else rf"\s*\[\s*{dotted}\s*\]")
        wanted = index if index is not None else 0
        seen = -1
        for n, line in enumerate(lines):
            if header.match(line):
                seen += 1
                if seen == wanted:
                    start = n + 1
                    break
        else:
            return None
        if key is None:
            return start
    if key is None:
        return None
    assignment = re.compile(rf"\s*{re.escape(key)}\s*=")
    for n in range(start, len(lines)):
        if _HEADER.match(lines[n]):
            break  # the next table begins: the key is not written in this one
        if assignment.match(lines[n]):
            return n + 1
    # A key that is itself a table is written as a header ([midi], [[midi.cc]], [midi.x]).
    dotted = r"\s*\.\s*".join(re.escape(str(n)) for n in (*parts, key) if not isinstance(n, int))
    table_header = re.compile(rf"\s*\[\[?\s*{dotted}\s*[\].]")
    for n, line in enumerate(lines):
        if table_header.match(line):
            return n + 1
    return start or None
