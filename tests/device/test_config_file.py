"""The shared config-file reader: typed getters with ranges, unknown keys, nested tables, arrays of
tables, file loading, and errors that name the file, the table, the key and what is accepted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from device.config_file import (
    REQUIRED,
    TableReader,
    check_number,
    load_table,
    locate_line,
    parse_table,
    top_table,
)
from device.errors import ConfigError, GestureError


def reader(data: dict[str, Any], **kwargs: Any) -> TableReader:
    return top_table(data, "my.toml", **kwargs)


def refused(call: Any, error: type[Exception] = ConfigError) -> str:
    with pytest.raises(error) as caught:
        call()
    return str(caught.value)


# -- getters ---------------------------------------------------------------------------------------


def test_each_getter_returns_the_typed_value_or_its_default() -> None:
    t = reader({"on": True, "n": 3, "x": 2, "name": "pad", "kind": "flex", "xs": [1, 2.5], "ns": [4],
                "names": ["a"]})
    assert t.boolean("on") is True and t.boolean("off", False) is False
    assert t.integer("n", lo=0, hi=5) == 3 and t.integer("m", 7) == 7
    number = t.number("x", lo=0)
    assert number == 2.0 and isinstance(number, float)
    assert t.string("name", non_empty=True) == "pad" and t.string("other", "x") == "x"
    assert t.choice("kind", ("electrode", "flex")) == "flex"
    assert t.numbers("xs", length=2) == [1.0, 2.5] and t.integers("ns", lo=0) == [4]
    assert t.strings("names") == ["a"] and t.strings("none", [], min_len=0) == []
    t.finish()


def test_exact_numbers_keep_whole_numbers_as_written() -> None:
    t = reader({"seconds": 4, "lr": 0.5, "betas": [0, 0.99]})
    assert isinstance(t.number("seconds", exact=True), int)
    assert t.number("lr", exact=True) == 0.5
    assert t.numbers("betas", exact=True, length=2) == [0, 0.99]
    assert isinstance(t.numbers("betas", exact=True, length=2)[0], int)


@pytest.mark.parametrize(
    ("data", "read", "fragments"),
    [
        ({"on": 1}, lambda t: t.boolean("on"),
         ["on: is 1 (number), not true or false", "allowed: true or false"]),
        ({"n": True}, lambda t: t.integer("n", lo=0, hi=9), ["n: is true (boolean), not a whole number",
                                                              "allowed: a whole number from 0 to 9"]),
        ({"n": 2.0}, lambda t: t.integer("n", lo=0), ["n: is 2.0 (number), not a whole number",
                                                       "a whole number of at least 0"]),
        ({"n": 10}, lambda t: t.integer("n", lo=0, hi=9), ["n: is 10, out of range", "from 0 to 9"]),
        ({"x": "low"}, lambda t: t.number("x", lo=0, hi=1), ["x: is 'low' (string), not a number",
                                                             "a number from 0 up to 1"]),
        ({"x": 0}, lambda t: t.number("x", lo=0, lo_open=True),
         ["x: is 0, out of range", "a number above 0"]),
        ({"x": 1.0}, lambda t: t.number("x", hi=1, hi_open=True), ["out of range", "a number below 1"]),
        ({"x": float("nan")}, lambda t: t.number("x"), ["x: is nan, not a finite number"]),
        ({"s": 3}, lambda t: t.string("s"), ["s: is 3 (number), not a string", "allowed: a string"]),
        ({"s": "  "}, lambda t: t.string("s", non_empty=True), ["s: is '  ', an empty name",
                                                                "a non-empty string"]),
        ({"c": "cubic"}, lambda t: t.choice("c", ("linear", "s-curve")),
         ["c: is 'cubic', not a known name", "allowed: linear, s-curve"]),
        ({"c": 3}, lambda t: t.choice("c", ("linear",)), ["c: is 3 (number), not a name"]),
        ({"a": 0x20}, lambda t: t.choice("a", (0x48, 0x49), show_choice=lambda v: f"0x{v:02X}"),
         ["a: is 0x20, not one of the allowed values", "allowed: 0x48, 0x49"]),
        ({"a": True}, lambda t: t.choice("a", (1, 2)),
         ["a: is true (boolean), not one of the allowed values"]),
        ({"xs": 3}, lambda t: t.numbers("xs"), ["xs: is 3 (number), not an array"]),
        ({"xs": []}, lambda t: t.numbers("xs"), ["xs: has 0 entries, needs at least 1"]),
        ({"xs": [1, 2, 3]}, lambda t: t.numbers("xs", length=2), ["xs: has 3 entries, needs exactly 2",
                                                                   "an array of 2 entries"]),
        ({"xs": [1, "a"]}, lambda t: t.numbers("xs", lo=0), ["xs[1]: is 'a' (string), not a number"]),
        ({"ns": [1, 99]}, lambda t: t.integers("ns", hi=27), ["ns[1]: is 99, out of range",
                                                              "each entry a whole number of at most 27"]),
        ({}, lambda t: t.integer("n", lo=1), ["n: missing", "allowed: a whole number of at least 1"]),
        ({}, lambda t: t.raw("v", allowed="a path"), ["v: missing; allowed: a path"]),
    ],
)
def test_each_getter_refuses_naming_the_key_the_value_and_what_is_allowed(
        data: dict[str, Any], read: Any, fragments: list[str]) -> None:
    message = refused(lambda: read(reader(data)))
    assert message.startswith("my.toml: ")
    for fragment in fragments:
        assert fragment in message, (fragment, message)


def test_check_number_is_usable_for_array_items_of_the_callers_own() -> None:
    def fail(problem: str) -> ConfigError:
        return ConfigError(f"item: {problem}")

    assert check_number(3, fail, 0, 5) == 3.0
    with pytest.raises(ConfigError, match="item: is 6, out of range"):
        check_number(6, fail, 0, 5)


# -- keys and tables --------------------------------------------------------------------------------


def test_unknown_keys_are_refused_listing_the_known_ones() -> None:
    t = reader({"gain": 1, "colour": 2})
    t.number("gain")
    t.number("level", 0.5)
    message = refused(t.finish)
    assert message == "my.toml: colour: unknown key; allowed in the top level: gain, level"
    quiet = reader({"later": 1})
    quiet.finish(allowed=("later",))  # known without being read


def test_has_marks_a_key_as_known() -> None:
    t = reader({"pitch": {}})
    assert t.has("pitch") and not t.has("gain")
    t.finish()


def test_nested_tables_name_their_dotted_path() -> None:
    t = reader({"calibration": {"channels": {"flex0": {"rest": "x", "ful": 1}}}})
    flex0 = t.table("calibration").table("channels").table("flex0")
    assert flex0.where == "calibration.channels.flex0"
    message = refused(lambda: flex0.number("rest"))
    assert message.startswith("my.toml: calibration.channels.flex0.rest: is 'x' (string), not a number")
    flex0.raw("rest")
    message = refused(flex0.finish)
    assert ("calibration.channels.flex0.ful: unknown key; allowed in [calibration.channels.flex0]: rest"
            in message)
    assert t.table("absent").names() == []  # an absent table reads as empty
    assert "gain: missing; allowed: a [gain] table" in refused(lambda: t.table("gain", required=True))
    not_table = reader({"gain": 1})
    message = refused(lambda: not_table.table("gain"))
    assert "gain: is 1 (number), not a table; allowed: a [gain] table" in message


def test_arrays_of_tables_name_each_entry() -> None:
    t = reader({"axes": [{"axis": 0}, {"axis": 9, "curve": "x"}]})
    axes = t.tables("axes")
    assert [a.where for a in axes] == ["axes[0]", "axes[1]"]
    assert axes[0].integer("axis", lo=0, hi=3) == 0
    assert "axes[1].axis: is 9, out of range" in refused(lambda: axes[1].integer("axis", lo=0, hi=3))
    axes[1].raw("axis")
    assert "axes[1].curve: unknown key; allowed in axes[1]: axis" in refused(axes[1].finish)
    assert reader({}).tables("axes") == []
    assert "axes: missing; allowed: [[axes]] tables" in refused(lambda: reader({}).tables("axes", min_len=1))
    empty = reader({"axes": []})
    assert "axes: has 0 tables, needs at least 1" in refused(lambda: empty.tables("axes", min_len=1))
    value = reader({"axes": 3})
    assert "axes: is 3 (number), not an array of tables" in refused(lambda: value.tables("axes"))
    assert "axes[1]: is 2 (number), not a table" in refused(lambda: reader({"axes": [{}, 2]}).tables("axes"))


def test_describe_and_hint_add_meaning_and_a_pointer() -> None:
    t = reader({"seed": -1}, hint="see recipes/default.toml")
    t.describe({"seed": "seed of every random choice"})
    message = refused(lambda: t.integer("seed", lo=0))
    assert message == ("my.toml: seed (seed of every random choice): is -1, out of range; allowed: a whole "
                       "number of at least 0 (see recipes/default.toml)")
    child = t.table("sub")
    assert child.hint == "see recipes/default.toml"  # inherited


def test_the_callers_error_class_is_raised() -> None:
    t = reader({"loop": "yes"}, error=GestureError)
    refused(lambda: t.boolean("loop"), GestureError)
    refused(lambda: t.table("x").integer("n"), GestureError)
    refused(lambda: top_table([1], "g.toml", error=GestureError), GestureError)


def test_fail_without_a_key_names_the_table_and_allowed_is_optional() -> None:
    t = reader({"a": {}})
    assert str(t.fail(None, "needs at least one entry")) == "my.toml: top level: needs at least one entry"
    assert str(t.table("a").fail(None, "empty", "one key")) == "my.toml: a: empty; allowed: one key"


# -- documents and files ----------------------------------------------------------------------------


def test_a_document_that_is_not_a_table_is_refused() -> None:
    assert refused(lambda: top_table([1, 2], "c.json")) == "c.json: is [1, 2] (array), not a table of keys"


def test_parse_table_reads_toml_and_json_and_refuses_bad_syntax() -> None:
    assert parse_table("a = 1\n", source="s.toml").integer("a") == 1
    assert parse_table('{"a": 1}', source="s.json", json=True).integer("a") == 1
    assert refused(lambda: parse_table("[a\n", source="s.toml")).startswith("s.toml: not valid TOML (")
    message = refused(lambda: parse_table("{", source="s.json", json=True))
    assert message.startswith("s.json: not valid JSON (")


def test_load_table_reads_files_through_safe_read(tmp_path: Path) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text("[audio]\nrate = 16000\n")
    assert load_table(toml, what="a config").table("audio").integer("rate") == 16000
    js = tmp_path / "c.json"
    js.write_text('{"audio": {"rate": 8000}}')
    assert load_table(js, what="a config").table("audio").integer("rate") == 8000
    message = refused(lambda: load_table(tmp_path / "nope.toml", what="a config", missing="no such config; "
                                         "copy the default"))
    assert message == f"{tmp_path / 'nope.toml'}: no such config; copy the default"
    assert "is a directory" in refused(lambda: load_table(tmp_path, what="a config"))


def test_errors_can_name_the_line_of_the_key() -> None:
    text = 'name = "x"\n\n[[touch]]\nkey = "e1"\n\n[[touch]]\nkey = "e2"\nat = -1\n\n[gain]\nidle = 3\n'
    t = parse_table(text, source="g.toml", locate_lines=True)
    touches = t.tables("touch")
    assert refused(lambda: touches[1].number("at", lo=0)).startswith("g.toml:8: touch[1].at: is -1")
    # A missing key points at its table's header.
    assert refused(lambda: touches[0].number("at")).startswith("g.toml:3: touch[0].at: missing")
    assert refused(lambda: t.table("gain").number("idle", hi=1)).startswith("g.toml:11: gain.idle:")
    assert refused(lambda: t.integer("name")).startswith("g.toml:1: name:")
    assert str(t.fail(None, "empty")) == "g.toml: top level: empty"


def test_locate_line_gives_up_where_it_cannot_know() -> None:
    lines = ["[[a]]", "b = [{ c = 1 }]"]
    assert locate_line(lines, ("a", 0, "b", 0), "c") is None
    assert locate_line(lines, ("z",), "c") is None
    assert locate_line(lines, ("a", 0), None) == 1


def test_required_is_the_default_of_a_key_without_one() -> None:
    assert "n: missing" in refused(lambda: reader({}).integer("n", REQUIRED))
