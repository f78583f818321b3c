"""device/safe_read.py: the bounded readers refuse every hostile file or document quickly, in the
caller's error class, and read every ordinary one exactly as the standard parsers do."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from device.errors import BundleError, ConfigError, GestureError
from device.safe_read import (
    INT_LIMIT,
    MAX_CONFIG_BYTES,
    MAX_DEPTH,
    file_kind,
    loads_json,
    loads_toml,
    open_regular,
    read_bytes,
    read_json,
    read_text,
    read_toml,
)

from ..hostile_files import JSON_TEXTS, SPECIAL_PATHS, TOML_TEXTS, Hostile, make, params, refused_quickly

# -- hostile documents ------------------------------------------------------------------------------


@pytest.mark.timeout(10)
@pytest.mark.parametrize("case", params(TOML_TEXTS))
def test_hostile_toml_is_refused_quickly(case: Hostile) -> None:
    assert case.text is not None
    message = refused_quickly(lambda: loads_toml(case.text, source="evil.toml"), ConfigError, case)
    assert message.startswith("evil.toml: ")


@pytest.mark.timeout(10)
@pytest.mark.parametrize("case", params(JSON_TEXTS))
def test_hostile_json_is_refused_quickly(case: Hostile) -> None:
    assert case.text is not None
    message = refused_quickly(lambda: loads_json(case.text, source="evil.json"), ConfigError, case)
    assert message.startswith("evil.json: ")
    # Bytes take the same path as text.
    refused_quickly(lambda: loads_json(case.text.encode(), source="evil.json"), ConfigError, case)


def judged_in_a_child(parse: str, expression: str) -> tuple[float, str]:
    """Seconds `parse` (loads_json or loads_toml) takes on the text `expression` makes, and its
    outcome ("accepted" or the refusal), timed in a child process: a regular expression gone
    quadratic runs in C holding the GIL, where no timeout inside this process could stop it."""
    script = "\n".join([
        "import time",
        "from device.errors import ConfigError",
        f"from device.safe_read import {parse} as parse",
        f"text = {expression}",
        "start = time.monotonic()",
        "try:",
        "    parse(text, source='s')",
        "    outcome = 'accepted'",
        "except ConfigError as bad:",
        "    outcome = str(bad)[:300]",
        "print(f'{time.monotonic() - start:.3f} {outcome}')",
    ])
    try:
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                              check=True)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{parse} took over a minute on {expression}")
    seconds, _, outcome = done.stdout.strip().partition(" ")
    return float(seconds), outcome


# Each text once made a string pattern rescan the rest of the text from every quote: hours. The
# expressions are Python, evaluated in the child.
@pytest.mark.parametrize(
    ("parse", "expression", "outcome"),
    [
        pytest.param("loads_json", r"""'"\\' * 300_000""", "not valid JSON", id="JSON, escaped quotes"),
        pytest.param("loads_json", r"""'"' + '\\' * 500_001""", "not valid JSON", id="JSON, backslashes"),
        pytest.param("loads_json", r"""'[' + '"a",' * 200_000 + '"'""", "not valid JSON",
                     id="JSON, a string left open"),
        pytest.param("loads_toml", r"""'a = "' + '\\"' * 400_000""", "not valid TOML",
                     id="TOML basic, escaped quotes"),
        pytest.param("loads_toml", "'a = ' + chr(34) * 3 + (chr(92) + chr(34) * 3) * 200_000",
                     "not valid TOML", id="TOML multi-line basic, escaped quotes"),
        pytest.param("loads_toml", "'a = ' + chr(39) * 3 + ('x' + chr(39) * 2) * 200_000", "not valid TOML",
                     id="TOML multi-line literal, left open"),
        pytest.param("loads_toml", r"""('a' + '.a' * 62 + ' = 1.5\n') * 7000""", "not valid TOML",
                     id="TOML, one deep key 7000 times"),
        pytest.param("loads_toml", r"""''.join(f'a{".a" * 62}{i} = 1.5\n' for i in range(7000))""",
                     "accepted", id="TOML, 7000 keys just under the depth limit"),
    ],
)
def test_long_documents_are_judged_in_linear_time(parse: str, expression: str, outcome: str) -> None:
    seconds, got = judged_in_a_child(parse, expression)
    assert outcome in got
    assert seconds < 3.0


def nested_json(depth: int) -> str:
    return "[" * (depth - 1) + '{"a": 1}' + "]" * (depth - 1)


def test_nesting_up_to_the_limit_is_accepted_and_one_more_is_not() -> None:
    assert loads_json(nested_json(MAX_DEPTH), source="s") is not None
    with pytest.raises(ConfigError, match=f"nested more than {MAX_DEPTH} levels"):
        loads_json(nested_json(MAX_DEPTH + 1), source="s")
    inline = "v = " + "{a = " * (MAX_DEPTH - 1) + "1" + "}" * (MAX_DEPTH - 1)
    assert loads_toml(inline, source="s")["v"]["a"]["a"] is not None
    with pytest.raises(ConfigError, match=f"nested more than {MAX_DEPTH} levels"):
        loads_toml("w = [" + inline.removeprefix("v = ") + "]", source="s")
    # A dotted key nests a table per dot: the limit counts them too.
    assert loads_toml("a" + ".a" * (MAX_DEPTH - 2) + " = 1", source="s")
    with pytest.raises(ConfigError, match="nested more than"):
        loads_toml("a" + ".a" * MAX_DEPTH + " = 1", source="s")
    with pytest.raises(ConfigError, match="nested more than"):
        loads_toml("[[a" + ".a" * MAX_DEPTH + "]]", source="s")


def test_integers_are_bounded_at_64_bits_either_side() -> None:
    assert loads_toml(f"v = {INT_LIMIT - 1}\nw = -{INT_LIMIT - 1}", source="s") == {
        "v": INT_LIMIT - 1, "w": -(INT_LIMIT - 1)}
    assert loads_json(f"[{INT_LIMIT - 1}, -{INT_LIMIT - 1}]", source="s") == [INT_LIMIT - 1, 1 - INT_LIMIT]
    for text in (f"v = {INT_LIMIT}", f"v = -{INT_LIMIT}", "v = 0x1_0000_0000_0000_0000", "v = 0o" + "7" * 30):
        with pytest.raises(ConfigError, match=r"integer of \d+ bits is too large"):
            loads_toml(text, source="s")
    with pytest.raises(ConfigError, match="integer of 65 bits is too large"):
        loads_json(f'{{"deep": [[{INT_LIMIT}]]}}', source="s")
    # A float that overflows is TOML's business (it has inf); in JSON it is refused like Infinity.
    assert loads_toml("v = 1e400", source="s")["v"] == float("inf")
    assert loads_json("[1e300, -1e-400]", source="s") == [1e300, -0.0]


def test_a_long_number_is_refused_but_a_long_string_of_digits_is_not() -> None:
    digits = "7" * 5000
    assert loads_toml(f'v = "{digits}"', source="s") == {"v": digits}
    assert loads_json(f'["{digits}"]', source="s") == [digits]
    with pytest.raises(ConfigError, match="more than 1000 characters"):
        loads_toml(f"v = 0.{digits}", source="s")
    with pytest.raises(ConfigError, match="more than 1000 characters"):
        loads_json(f"[1e{digits}]", source="s")


def test_errors_come_in_the_callers_class_and_name_the_source() -> None:
    deep = TOML_TEXTS[0].text
    assert deep is not None
    with pytest.raises(GestureError, match=r"^gesture\.toml: nested"):
        loads_toml(deep, source="gesture.toml", error=GestureError)
    with pytest.raises(BundleError, match=r"^manifest: nested"):
        loads_json("[" * 100 + "]" * 100, source="manifest", error=BundleError)


def test_syntax_errors_are_worded_here_or_handed_to_the_caller() -> None:
    with pytest.raises(ConfigError, match=r"^s\.toml: not valid TOML \(.*line 1.*\); fix the syntax"):
        loads_toml("a = = 1", source="s.toml")
    with pytest.raises(tomllib.TOMLDecodeError):
        loads_toml("a = = 1", source="s.toml", raise_syntax_errors=True)
    with pytest.raises(json.JSONDecodeError):
        loads_json("[1,", source="s.json", raise_syntax_errors=True)
    with pytest.raises(ConfigError, match=r"^s\.json: not valid JSON \(Expecting"):
        loads_json("[1,", source="s.json")
    # Hostile input is still refused in the caller's class, never handed over as a syntax error.
    with pytest.raises(ConfigError, match="nested"):
        loads_toml("v = " + "[" * 100, source="s.toml", raise_syntax_errors=True)
    with pytest.raises(ConfigError, match="NaN"):
        loads_json("NaN", source="s.json", raise_syntax_errors=True)


def test_oversized_and_undecodable_documents_are_refused() -> None:
    with pytest.raises(ConfigError, match="too large"):
        loads_toml("#" * (MAX_CONFIG_BYTES + 1), source="s")
    with pytest.raises(ConfigError, match="too large"):
        loads_json(b" " * 101, source="s", max_bytes=100)
    with pytest.raises(ConfigError, match="not UTF-8"):
        loads_json(b'["caf\xe9"]', source="s")


# -- ordinary documents -----------------------------------------------------------------------------

# Built line by line: it holds both kinds of triple quote. Strings and comments hold brackets, and
# dots enough to pass for a key nested far too deep, none of which is structure.
ORDINARY_TOML = "\n".join([
    "# A comment with [[[[ brackets {{{{ and \"quotes\" and dots: " + ".x" * 70,
    'title = "a [[[[ string ]]]] with {{{{ braces, \\" an escaped quote # and no comment"',
    "literal = 'C:\\path\\[[[[ no escapes here'",
    'multi = """',
    "[[[[ one",
    ']]]] two \\""" still inside, and a "quoted" word',
    '"""',
    "multi_literal = '''",
    "{{{{ raw '' \"x\" \\ '''",
    'ends_with_quotes = """x"""""',
    "ends_with_ticks = '''y'''''",
    '"quoted' + ".key" * 70 + '" = 1',
    'site."google.com" = true',
    "number = 1_000",
    "float = 6.626e-34",
    "hex = 0xDEAD_BEEF",
    "when = 1979-05-27T07:32:00.999-08:00",
    'inline = { a = [1, [2, [3]]], b = { c = "]" } }',
    "",
    "[[axes]]",
    "axis = 0",
    "",
    "[[axes]]",
    "axis = 1   # the second",
    "",
])


def test_ordinary_toml_parses_exactly_as_tomllib_does() -> None:
    doc = loads_toml(ORDINARY_TOML, source="ok.toml")
    assert doc == tomllib.loads(ORDINARY_TOML)
    assert doc["ends_with_quotes"] == 'x""' and doc["ends_with_ticks"] == "y''"
    assert doc["multi"].startswith("[[[[ one")


def test_brackets_inside_strings_and_comments_are_not_nesting() -> None:
    noise = "[[[[{{{{" * 50
    document = "\n".join([f'a = "{noise}"', f"b = '{noise}'", f"# {noise}", f'c = """{noise}"""', ""])
    assert loads_toml(document, source="s") == {"a": noise, "b": noise, "c": noise}
    assert loads_toml(f"d = '''\n{noise}\n'''", source="s")["d"] == noise + "\n"
    assert loads_json(json.dumps({"a": noise, "b": [noise, {"c": '\\"' + noise}]}), source="s")["a"] == noise


@settings(max_examples=200, deadline=None)
@given(st.recursive(
    st.none() | st.booleans() | st.integers(-(INT_LIMIT - 1), INT_LIMIT - 1)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=20,
))
def test_any_json_document_within_the_limits_round_trips(doc: Any) -> None:
    assert loads_json(json.dumps(doc), source="s") == doc
    assert loads_json(json.dumps(doc, ensure_ascii=False).encode(), source="s") == doc


# Text with everything that could make the string patterns lose track of where a string ends.
_TRICKY = st.text(alphabet=st.sampled_from(list("ab1.#=[]{}\"'\\ \t\n")), max_size=40)
# Nested just below the limit: ten brackets more, counted from a string, would pass it.
_NEAR_LIMIT = "b = " + "[" * (MAX_DEPTH - 4) + "]" * (MAX_DEPTH - 4) + "\n"


def toml_strings(value: str) -> list[str]:
    """`value` written as each kind of TOML string that can hold it."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    forms = [json.dumps(value, ensure_ascii=False), f'"""{escaped}"""']
    if "'" not in value and "\n" not in value:
        forms.append(f"'{value}'")
    if "'''" not in value:
        forms.append(f"'''{value}'''")
    return forms


@settings(max_examples=300, deadline=None)
@given(_TRICKY)
def test_any_toml_string_is_read_back_whatever_it_holds(text: str) -> None:
    value = text + "[[[[[{{{{{"
    for quoted in toml_strings(value):
        document = f"a = {quoted}  # ]]]] [[[[\n" + _NEAR_LIMIT
        assert loads_toml(document, source="s") == tomllib.loads(document)


# -- files ------------------------------------------------------------------------------------------


@pytest.mark.timeout(10)
@pytest.mark.parametrize("case", params(SPECIAL_PATHS))
def test_paths_that_are_no_regular_text_file_are_refused_quickly(tmp_path: Path, case: Hostile) -> None:
    path = make(case, tmp_path / "input.toml")
    message = refused_quickly(lambda: read_toml(path, what="a test file"), ConfigError, case)
    assert message.startswith(f"{path}: ")
    if case.name != "not UTF-8":
        refused_quickly(lambda: read_bytes(path, max_bytes=MAX_CONFIG_BYTES, what="a test file",
                                           error=GestureError), GestureError, case)
        refused_quickly(lambda: read_json(path, what="a test file"), ConfigError, case)


@pytest.mark.timeout(10)
def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    start = time.monotonic()
    with pytest.raises(ConfigError, match=r"is a FIFO \(named pipe\), not a regular file; give the path of "
                                          r"a mapping file"):
        open_regular(fifo, what="a mapping file")
    assert time.monotonic() - start < 1.0


def test_links_are_followed_only_where_allowed(tmp_path: Path) -> None:
    target = tmp_path / "real.toml"
    target.write_text("a = 1\n")
    link = tmp_path / "link.toml"
    link.symlink_to(target)
    assert read_toml(link, what="a test file") == {"a": 1}
    with pytest.raises(ConfigError, match=r"link\.toml: is a symbolic link; a key file is never read "
                                          r"through a link here"):
        read_bytes(link, max_bytes=100, what="a key file", follow_links=False)
    with pytest.raises(ConfigError, match="symbolic link"):
        read_text(link, what="a key file", follow_links=False)
    assert read_bytes(target, max_bytes=100, what="a key file", follow_links=False) == b"a = 1\n"


def test_missing_files_and_files_over_the_limit_are_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.toml: no such map$"):
        read_toml(tmp_path / "nope.toml", what="a map")
    exact = tmp_path / "exact.bin"
    exact.write_bytes(b"x" * 100)
    assert read_bytes(exact, max_bytes=100, what="a blob") == b"x" * 100
    exact.write_bytes(b"x" * 101)
    with pytest.raises(ConfigError, match=r"101 bytes is too large for a blob \(at most 100 bytes\)"):
        read_bytes(exact, max_bytes=100, what="a blob")


def test_an_open_regular_file_is_handed_over_blocking_with_its_stat(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"abc")
    fd, st = open_regular(path, what="a blob")
    try:
        assert os.get_blocking(fd)
        assert stat.S_ISREG(st.st_mode) and st.st_size == 3
        assert os.read(fd, 10) == b"abc"
    finally:
        os.close(fd)


def test_ordinary_files_are_read_whole(tmp_path: Path) -> None:
    toml_path = tmp_path / "ok.toml"
    toml_path.write_text(ORDINARY_TOML, encoding="utf-8")
    assert read_toml(toml_path, what="a test file") == tomllib.loads(ORDINARY_TOML)
    assert read_text(toml_path, what="a test file") == ORDINARY_TOML
    json_path = tmp_path / "ok.json"
    json_path.write_text('{"z": [0.5, -1.25e-3], "name": "caf\u00e9"}', encoding="utf-8")
    assert read_json(json_path, what="a test file") == {"z": [0.5, -1.25e-3], "name": "caf\u00e9"}


def test_file_kinds_are_named(tmp_path: Path) -> None:
    assert file_kind(os.stat(tmp_path).st_mode) == "a directory"
    assert file_kind(os.stat("/dev/null").st_mode) == "a character device"
    assert file_kind(os.lstat(Path(__file__)).st_mode) == "a regular file"
    link = tmp_path / "l"
    link.symlink_to(tmp_path)
    assert file_kind(os.lstat(link).st_mode) == "a symbolic link"
    assert file_kind(stat.S_IFIFO) == "a FIFO (named pipe)"
    assert file_kind(stat.S_IFSOCK) == "a socket"
    assert file_kind(stat.S_IFBLK) == "a block device"
