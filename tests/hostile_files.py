"""Hostile inputs for the tests of every reader of files from outside (shared by the test packages).

Each case is a kind of trouble that once crashed, hung or exhausted a reader: documents nested
30000 deep (RecursionError in Python's parsers, minutes in tomllib for a dotted key), integers of
100000 digits (ValueError past Python's 4300-digit limit), and paths that are no regular file (a
FIFO blocks `open` forever, /dev/zero never ends). A reader must refuse each with its own error
class, in one line naming the file, within a fraction of a second: `refused_quickly` checks that.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

DEPTH = 30_000
DIGITS = 100_000
# Generous for a shared two-core machine; a regression to the old behaviour takes 15 s or forever.
QUICK_S = 3.0


@dataclass(frozen=True)
class Hostile:
    """One hostile input: `text` to write into the file, or `special` naming a kind of path."""

    name: str
    reason: str  # a fragment the refusal must contain (what is wrong)
    text: str | None = None
    special: str | None = None


TOML_TEXTS = (
    Hostile("nested arrays", "nested more than 64 levels", text="v = " + "[" * DEPTH + "]" * DEPTH + "\n"),
    Hostile("nested inline tables", "nested more than 64 levels",
            text="v = " + "{a = " * DEPTH + "1" + "}" * DEPTH + "\n"),
    Hostile("deep dotted key", "nested more than 64 levels", text="a" + ".a" * DEPTH + " = 1\n"),
    Hostile("deep table header", "nested more than 64 levels", text="[a" + ".a" * DEPTH + "]\nv = 1\n"),
    Hostile("giant integer", "more than 1000 characters", text="v = 1" + "0" * DIGITS + "\n"),
    Hostile("giant hex integer", "more than 1000 characters", text="v = 0x" + "f" * DIGITS + "\n"),
)

JSON_TEXTS = (
    Hostile("nested arrays", "nested more than 64 levels", text="[" * DEPTH + "]" * DEPTH),
    Hostile("nested objects", "nested more than 64 levels", text='{"a": ' * DEPTH + "1" + "}" * DEPTH),
    Hostile("giant integer", "more than 1000 characters", text='{"v": 1' + "0" * DIGITS + "}"),
    Hostile("NaN", "NaN", text='{"v": NaN}'),
    Hostile("infinity", "Infinity", text='{"v": -Infinity}'),
    Hostile("overflowing float", "1e400", text='{"v": 1e400}'),
)

SPECIAL_PATHS = (
    Hostile("FIFO", "a FIFO (named pipe), not a regular file", special="fifo"),
    Hostile("/dev/zero", "a character device, not a regular file", special="dev-zero"),
    Hostile("symlink to /dev/zero", "a character device, not a regular file", special="link-dev-zero"),
    Hostile("directory", "a directory", special="directory"),
    Hostile("sparse 4 GiB file", "too large", special="huge"),
    Hostile("not UTF-8", "not UTF-8", special="latin-1"),
)


def params(*groups: tuple[Hostile, ...], skip: tuple[str, ...] = ()) -> list[pytest.param]:
    """The cases of `groups` as pytest parameters named after them, less those named in `skip`."""
    return [pytest.param(case, id=case.name) for group in groups for case in group if case.name not in skip]


def make(case: Hostile, path: Path) -> Path:
    """Put `case` at `path` (which must not exist yet) and return the path to hand the reader."""
    if case.text is not None:
        path.write_text(case.text, encoding="utf-8")
    elif case.special == "fifo":
        os.mkfifo(path)
    elif case.special == "dev-zero":
        return Path("/dev/zero")
    elif case.special == "link-dev-zero":
        path.symlink_to("/dev/zero")
    elif case.special == "directory":
        path.mkdir()
    elif case.special == "huge":
        # Sparse: 4 GiB that take no disk, more than any reader may hold in memory.
        with open(path, "wb") as f:
            f.truncate(4 << 30)
    elif case.special == "latin-1":
        path.write_bytes('name = "caf\u00e9"\n'.encode("latin-1"))
    else:
        raise AssertionError(f"unknown hostile case {case}")
    return path


def refused_quickly(read: Callable[[], object], error: type[Exception], case: Hostile) -> str:
    """Run `read`, which must raise exactly a kind of `error` within QUICK_S seconds, in one line
    saying what is wrong; returns the message."""
    start = time.monotonic()
    with pytest.raises(error) as caught:
        read()
    elapsed = time.monotonic() - start
    message = str(caught.value)
    assert elapsed < QUICK_S, f"{case.name}: took {elapsed:.1f} s to refuse"
    assert "\n" not in message, message
    assert case.reason in message, f"{case.reason!r} not in {message!r}"
    assert len(message) < 400, message
    return message
