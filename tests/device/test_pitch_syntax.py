"""The one pitch grammar of every `--pitch`/`--pitches` option and recipe: each form, and the errors."""

from __future__ import annotations

import pytest

from device.errors import ConfigError
from device.pitch_syntax import PITCH_FORMS, parse_pitch, parse_pitch_spec, parse_pitches, pitch_name


@pytest.mark.parametrize(
    ("text", "pitches"),
    [
        ("60", [60]),
        ("0", [0]),
        ("127", [127]),
        ("60-67", list(range(60, 68))),
        ("C4", [60]),
        ("c4", [60]),
        ("F#3", [54]),
        ("Bb2", [46]),
        ("bb2", [46]),
        ("C-1", [0]),
        ("G9", [127]),
        ("C3-C5", list(range(48, 73))),
        ("C-1-C0", list(range(0, 13))),
        ("48,60,72", [48, 60, 72]),
        ("72, 48 ,60", [48, 60, 72]),  # sorted, spaces allowed
        ("60,60,60-61", [60, 61]),  # each pitch once
        ("36-84:6", list(range(36, 85, 6))),
        ("36-84:5", list(range(36, 82, 5))),  # the step decides; 84 is not on it
        ("C2-C6:12", [36, 48, 60, 72, 84]),
        ("36-84:3,100", [*range(36, 85, 3), 100]),
        ("60-60", [60]),
    ],
)
def test_every_form_of_the_grammar(text: str, pitches: list[int]) -> None:
    assert parse_pitches(text) == pitches


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("H4", "'H4' is not a pitch"),
        ("60-", "'60-' is not a pitch"),
        ("60:3", "'60:3' is not a pitch"),
        ("36:84:6", "'36:84:6' is not a pitch"),
        ("60..67", "'60..67' is not a pitch"),
        ("-5", "'-5' is not a pitch"),
        ("4.5", "'4.5' is not a pitch"),
        ("128", "'128' is outside the MIDI range 0..127"),
        ("A10", "'A10' is outside the MIDI range 0..127"),
        ("Cb-1", "'Cb-1' is outside the MIDI range 0..127"),
        ("70-60", "range '70-60' runs backwards"),
        ("60-70:0", "range '60-70:0' has step 0"),
        ("60,,62", "'60,,62' has an empty item between commas"),
    ],
)
def test_errors_name_the_option_say_what_is_wrong_and_show_the_forms(text: str, reason: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_pitches(text, "--pitches")
    message = str(raised.value)
    assert message.startswith("--pitches: ") and reason in message
    assert message.endswith(PITCH_FORMS)
    assert "\n" not in message


def test_an_empty_value_is_refused() -> None:
    with pytest.raises(ConfigError, match="--pitches is empty; write MIDI numbers"):
        parse_pitches(" ")


def test_pitch_errors_are_value_errors_too() -> None:
    with pytest.raises(ValueError, match="not a pitch"):
        parse_pitches("x")


@pytest.mark.parametrize(("text", "pitch"), [("60", 60), ("C4", 60), (" A4 ", 69), ("Bb2", 46), (61, 61)])
def test_one_pitch(text: str | int, pitch: int) -> None:
    assert parse_pitch(text) == pitch


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("60-62", "'60-62' names several pitches; give one, like 60 or C4"),
        ("60,62", "'60,62' names several pitches"),
        ("x", "'x' is not a pitch; write a MIDI number (60) or a note name (C4, F#3, Bb2; C4 = 60)"),
        ("200", "'200' is outside the MIDI range 0..127"),
    ],
)
def test_one_pitch_refuses_several_and_nonsense(text: str, reason: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_pitch(text, "--pitch")
    assert str(raised.value).startswith("--pitch: ") and reason in str(raised.value)


def test_recipe_values_as_strings_numbers_and_lists() -> None:
    assert parse_pitch_spec("C4-D4,72") == [60, 61, 62, 72]
    assert parse_pitch_spec(60) == [60]
    assert parse_pitch_spec([72, "C4", "48-50"]) == [48, 49, 50, 60, 72]
    for bad in (True, [], 4.5, {"low": 1}, [True]):
        with pytest.raises(ConfigError, match=r"recipe\.toml: pitches"):
            parse_pitch_spec(bad, "recipe.toml: pitches")  # type: ignore[arg-type]


def test_names_round_trip() -> None:
    assert [pitch_name(p) for p in (0, 60, 61, 127)] == ["C-1", "C4", "C#4", "G9"]
    assert all(parse_pitch(pitch_name(p)) == p for p in range(128))
