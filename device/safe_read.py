"""Bounded reading of files and documents that come from outside (bottom layer, shared by all).

Everything a person, a cable or a network hands the instrument (bundles, manifests, signatures,
serial frames, mapping, pin, gesture and recipe files, keys) is read through here, so that no
input can hang a reader, exhaust its memory or crash it with a traceback:

- files: regular files only. They are opened non-blocking (a FIFO opens at once instead of
  waiting for a writer forever), checked with stat before and fstat after opening (FIFOs,
  devices, sockets and directories are refused by name, a device without being opened),
  size-checked before a byte is read, and read no further than their limit
  (a file that grows while it is read cannot run past it). Links are followed only where the
  caller allows it; a store's own files never are.
- JSON and TOML: size-limited, nesting depth checked before the parser runs (Python's parsers
  recurse once per level: 30000 nested brackets end in RecursionError; tomllib's time grows with
  the square of a dotted key's length), numbers written with more than `MAX_NUMBER_CHARS`
  characters, integers beyond 2**64 and JSON's NaN/Infinity (also as 1e400) refused, and the
  parsed document's depth checked again.

Every refusal is raised as the caller's error class (a `ConfigError`, `BundleError`, ...) with a
message naming the source and what to do.
"""

from __future__ import annotations

import errno
import json
import math
import os
import re
import stat
import tomllib
from pathlib import Path
from typing import Any

import numpy as np

from device.errors import ConfigError, InstrumentError

MAX_DEPTH = 64
MAX_CONFIG_BYTES = 1024 * 1024
# Longest number accepted in a document: far beyond any real value, far below what makes int()
# slow (its cost grows with the square of the digits where Python's own limit is lifted).
MAX_NUMBER_CHARS = 1000
# Integers are refused from this magnitude on: TOML itself promises only 64 bits, and callers turn
# numbers into floats, which overflow (OverflowError, a traceback) from 2**1024.
INT_LIMIT = 2**64

# Strings and comments are blanked before brackets, dots and digits are counted, so that "[[[["
# inside a string is not nesting. Each pattern is possessive with an optional closing quote, so no
# match attempt fails after scanning: an unterminated string swallows the rest of its text instead
# of being rescanned from every later quote (quadratic: hours for a megabyte of "\"\"\"...).
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*+"?', re.DOTALL)
# Multi-line strings first: '''a''' must not be read as three literal strings. A multi-line string
# may end in up to two quotes of its own before the closing three ("""a""""" holds 'a""').
_TOML_SKIP = re.compile(
    r'"""(?:[^"\\]|\\.|"(?!""))*+(?:"{3,5}+)?'
    r"|'''(?:[^']|'(?!''))*+(?:'{3,5}+)?"
    r'|"(?:[^"\\\n]|\\.)*+"?'
    r"|'[^'\n]*+'?"
    r"|#[^\n]*+",
    re.DOTALL,
)
# MAX_DEPTH dots in one key (`a.a.a... = 1`, or a [table.header]) nest deeper than MAX_DEPTH, and
# tomllib's time grows with the square of a dotted key's length (15 s for 30000 parts), so they are
# counted before it runs. A key never spans `=`, a line, a bracket, a brace or a comma; a float or
# a time has one dot.
_DOTTED_KEY = re.compile(r"\.(?:[^.=\n\[\]{},]*+\.){" + str(MAX_DEPTH - 1) + "}")
# A number (or a bare word starting with a digit) longer than MAX_NUMBER_CHARS. The look-behind
# allows one match attempt per run of characters, which keeps the search linear.
_LONG_NUMBER = re.compile(r"(?<![0-9A-Za-z_])[0-9][0-9A-Za-z_]{" + str(MAX_NUMBER_CHARS) + "}")
_OPEN = np.frombuffer(b"[{", dtype=np.uint8)
_CLOSE = np.frombuffer(b"]}", dtype=np.uint8)

_FILE_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISLNK, "a symbolic link"),
)


def file_kind(mode: int) -> str:
    """'a FIFO (named pipe)', 'a directory', ... for a stat mode; 'a regular file' otherwise."""
    for test, name in _FILE_KINDS:
        if test(mode):
            return name
    return "a regular file"


def open_regular(path: str | os.PathLike[str], *, what: str,
                 error: type[InstrumentError] = ConfigError,
                 follow_links: bool = True) -> tuple[int, os.stat_result]:
    """An open read-only descriptor of a regular file, and its fstat; anything else is refused.

    The caller owns the descriptor. It is blocking again by the time it is returned.
    """
    # A stat first, so that a device is refused without being opened: opening a serial port
    # resets the board behind it, opening a tape rewinds it. The fstat after the open still
    # decides, as the path may change in between.
    try:
        before = os.stat(path, follow_symlinks=follow_links)
    except OSError as bad:
        raise _open_error(bad, path, what, error, follow_links) from None
    if stat.S_ISLNK(before.st_mode):
        raise _link_error(path, what, error)
    if not stat.S_ISREG(before.st_mode):
        raise _not_regular(path, before.st_mode, what, error)
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | (0 if follow_links else os.O_NOFOLLOW)
    try:
        fd = os.open(path, flags)
    except OSError as bad:
        raise _open_error(bad, path, what, error, follow_links) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _not_regular(path, st.st_mode, what, error)
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd, st


def _not_regular(path: str | os.PathLike[str], mode: int, what: str,
                 error: type[InstrumentError]) -> InstrumentError:
    return error(f"{path}: is {file_kind(mode)}, not a regular file; give the path of {what}")


def _link_error(path: str | os.PathLike[str], what: str, error: type[InstrumentError]) -> InstrumentError:
    return error(f"{path}: is a symbolic link; {what} is never read through a link here "
                 "(give the file itself)")


def _open_error(bad: OSError, path: str | os.PathLike[str], what: str, error: type[InstrumentError],
                follow_links: bool) -> InstrumentError:
    if isinstance(bad, FileNotFoundError):
        noun = what.removeprefix("a ").removeprefix("an ").removeprefix("the ")
        return error(f"{path}: no such {noun}")
    if isinstance(bad, IsADirectoryError):
        return error(f"{path}: is a directory, not {what}")
    if isinstance(bad, PermissionError):
        return error(f"{path}: permission denied; cannot read {what}")
    if bad.errno == errno.ELOOP and not follow_links:
        return _link_error(path, what, error)
    return error(f"{path}: cannot open {what}: {bad.strerror or bad}")


def too_large(path: str | os.PathLike[str], size: int, limit: int, what: str,
              error: type[InstrumentError]) -> InstrumentError:
    """The refusal of a file of `size` bytes where at most `limit` are read."""
    return error(f"{path}: {size} bytes is too large for {what} (at most {limit} bytes)")


def read_bytes(path: str | os.PathLike[str], *, max_bytes: int, what: str,
               error: type[InstrumentError] = ConfigError, follow_links: bool = True) -> bytes:
    """The whole of a regular file of at most `max_bytes` bytes."""
    fd, st = open_regular(path, what=what, error=error, follow_links=follow_links)
    try:
        if st.st_size > max_bytes:
            raise too_large(path, st.st_size, max_bytes, what, error)
        chunks: list[bytes] = []
        total = 0
        while total <= max_bytes:
            chunk = os.read(fd, max_bytes + 1 - total)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    except OSError as bad:
        raise error(f"{path}: cannot read {what}: {bad.strerror or bad}") from None
    finally:
        os.close(fd)
    if total > max_bytes:
        raise too_large(path, total, max_bytes, what, error)
    return b"".join(chunks)


def read_text(path: str | os.PathLike[str], *, max_bytes: int = MAX_CONFIG_BYTES, what: str,
              error: type[InstrumentError] = ConfigError, follow_links: bool = True) -> str:
    """A regular UTF-8 text file of at most `max_bytes` bytes."""
    raw = read_bytes(path, max_bytes=max_bytes, what=what, error=error, follow_links=follow_links)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as bad:
        raise error(f"{path}: {what} is not UTF-8 text (byte {bad.start} is not valid); save it as "
                    "UTF-8") from None


def _bracket_depth(code: str) -> int:
    """The deepest nesting of [ and { in `code` (text with its strings blanked)."""
    codes = np.frombuffer(code.encode("utf-8", errors="replace"), dtype=np.uint8)
    steps = np.isin(codes, _OPEN).astype(np.int32) - np.isin(codes, _CLOSE).astype(np.int32)
    return int(np.cumsum(steps).max(initial=0))


def _check_text(code: str, source: str, error: type[InstrumentError], *, dotted_keys: bool) -> None:
    """Refuse, before a parser sees it, text (strings and comments blanked) nested too deeply or
    holding a number too long to convert quickly."""
    if _bracket_depth(code) > MAX_DEPTH or (dotted_keys and _DOTTED_KEY.search(code)):
        raise _too_deep(source, error)
    if _LONG_NUMBER.search(code):
        raise error(f"{source}: a number written with more than {MAX_NUMBER_CHARS} characters; no file "
                    "of this kind needs that (it is damaged or hostile)")


def _check_document(doc: Any, source: str, error: type[InstrumentError]) -> None:
    """Refuse a parsed document nested deeper than MAX_DEPTH or holding an integer beyond
    INT_LIMIT. Walked without recursion: the document may be 30000 levels deep."""
    stack: list[tuple[Any, int]] = [(doc, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= INT_LIMIT:
                raise error(f"{source}: an integer of {value.bit_length()} bits is too large (the "
                            "limit is 2**64 either side of 0); no file of this kind needs that "
                            "(it is damaged or hostile)")
            continue
        if depth > MAX_DEPTH:
            raise _too_deep(source, error)
        stack.extend((child, depth + 1) for child in children)


def _too_deep(source: str, error: type[InstrumentError]) -> InstrumentError:
    return error(f"{source}: nested more than {MAX_DEPTH} levels deep; no file of this kind needs "
                 "that (it is damaged or hostile)")


class _Refused(ValueError):
    """A value the JSON parser's hooks refuse; the message says which and why."""


def _refuse_constant(name: str) -> Any:
    raise _Refused(f"{name} is not a number JSON allows here")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(f"{text[:40]} is too large for a number (it would be infinite)")
    return value


def loads_json(data: bytes | str, *, source: str, error: type[InstrumentError] = ConfigError,
               max_bytes: int = MAX_CONFIG_BYTES, raise_syntax_errors: bool = False) -> Any:
    """Parse JSON from outside: bounded size and depth, no NaN/Infinity, no giant numbers.

    With `raise_syntax_errors`, a syntax error is raised as json.JSONDecodeError, for a caller
    that words it itself; every other refusal is an `error`.
    """
    if len(data) > max_bytes:
        raise error(f"{source}: {len(data)} bytes of JSON is too large (at most {max_bytes})")
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError:
        raise error(f"{source}: not UTF-8 text, so not JSON") from None
    _check_text(_JSON_STRING.sub(" ", text), source, error, dotted_keys=False)
    try:
        doc = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except _Refused as bad:
        raise error(f"{source}: not valid JSON ({bad})") from None
    except json.JSONDecodeError as bad:
        if raise_syntax_errors:
            raise
        raise error(f"{source}: not valid JSON ({_short(bad)})") from None
    except (ValueError, RecursionError) as bad:  # unreachable past the checks above; kept as a net
        raise error(f"{source}: not valid JSON ({_short(bad)})") from None
    _check_document(doc, source, error)
    return doc


def loads_toml(text: str, *, source: str, error: type[InstrumentError] = ConfigError,
               max_bytes: int = MAX_CONFIG_BYTES, raise_syntax_errors: bool = False) -> dict[str, Any]:
    """Parse TOML from outside: bounded size and depth, no giant numbers.

    With `raise_syntax_errors`, a syntax error is raised as tomllib.TOMLDecodeError, for a caller
    that words it itself; every other refusal is an `error`.
    """
    if len(text) > max_bytes:
        raise error(f"{source}: {len(text)} characters is too large for a TOML file here "
                    f"(at most {max_bytes})")
    _check_text(_TOML_SKIP.sub(" ", text), source, error, dotted_keys=True)
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as bad:
        if raise_syntax_errors:
            raise
        raise error(f"{source}: not valid TOML ({bad}); fix the syntax at that line") from None
    except (ValueError, RecursionError) as bad:  # unreachable past the checks above; kept as a net
        raise error(f"{source}: not valid TOML ({_short(bad)})") from None
    _check_document(doc, source, error)
    return doc


def read_toml(path: str | os.PathLike[str], *, what: str, error: type[InstrumentError] = ConfigError,
              max_bytes: int = MAX_CONFIG_BYTES, follow_links: bool = True,
              raise_syntax_errors: bool = False) -> dict[str, Any]:
    """A TOML file from outside (regular file, bounded, depth-checked) as a dict."""
    text = read_text(path, max_bytes=max_bytes, what=what, error=error, follow_links=follow_links)
    return loads_toml(text, source=str(Path(path)), error=error, max_bytes=max_bytes,
                      raise_syntax_errors=raise_syntax_errors)


def read_json(path: str | os.PathLike[str], *, what: str, error: type[InstrumentError] = ConfigError,
              max_bytes: int = MAX_CONFIG_BYTES, follow_links: bool = True,
              raise_syntax_errors: bool = False) -> Any:
    """A JSON file from outside (regular file, bounded, depth-checked), parsed."""
    raw = read_bytes(path, max_bytes=max_bytes, what=what, error=error, follow_links=follow_links)
    return loads_json(raw, source=str(Path(path)), error=error, max_bytes=max_bytes,
                      raise_syntax_errors=raise_syntax_errors)


def _short(bad: BaseException) -> str:
    text = str(bad) or type(bad).__name__
    return text if len(text) <= 200 else text[:200] + "…"
