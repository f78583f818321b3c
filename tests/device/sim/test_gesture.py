"""Gesture scripts: parsing, interpolation, looping, and errors that name file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from device.errors import GestureError
from device.sim.gesture import builtin_gestures, load_gesture, parse_gesture

from ...hostile_files import SPECIAL_PATHS, TOML_TEXTS, Hostile, make, params, refused_quickly

SIMPLE = """\
name = "simple"

[[keyframe]]
t = 1.0
flex0 = 0.2

[[keyframe]]
t = 3.0
flex0 = 0.6
e10 = 1.0

[[touch]]
key = "e3"
at = 2.0
length = 0.5
amount = 0.8
ramp = 0.1
"""


def test_keyframes_interpolate_linearly_and_hold_outside_their_span() -> None:
    gesture = parse_gesture(SIMPLE, "simple.toml")
    assert gesture.name == "simple" and not gesture.loop
    assert gesture.state_at(0.0)["flex0"] == pytest.approx(0.2)  # held before the first keyframe
    assert gesture.state_at(2.0)["flex0"] == pytest.approx(0.4)
    assert gesture.state_at(2.5)["flex0"] == pytest.approx(0.5)
    assert gesture.state_at(10.0)["flex0"] == pytest.approx(0.6)  # held after the last
    assert gesture.state_at(0.5)["e10"] == pytest.approx(1.0)  # a single keyframe holds everywhere


def test_a_touch_ramps_up_holds_and_ramps_down() -> None:
    gesture = parse_gesture(SIMPLE, "simple.toml")
    e3 = [gesture.state_at(t)["e3"] for t in (0.0, 1.99, 2.05, 2.1, 2.3, 2.5, 2.55, 2.6, 2.7)]
    assert e3 == pytest.approx([0.0, 0.0, 0.4, 0.8, 0.8, 0.8, 0.4, 0.0, 0.0])
    assert gesture.duration == pytest.approx(3.0)  # the last keyframe ends it


def test_a_looping_gesture_wraps_at_its_duration() -> None:
    gesture = parse_gesture("loop = true\nduration = 4.0\n" + SIMPLE, "loop.toml")
    for t in (0.3, 2.05, 2.5, 3.9):
        assert gesture.state_at(t + 4.0) == pytest.approx(gesture.state_at(t))
        assert gesture.state_at(t + 12.0) == pytest.approx(gesture.state_at(t))


def test_a_gesture_loads_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(SIMPLE.replace('name = "simple"\n', ""), encoding="utf-8")
    gesture = load_gesture(path)
    assert gesture.name == "mine" and gesture.source == str(path)
    assert load_gesture(str(path)).tracks == gesture.tracks


def line_of(text: str, fragment: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if fragment in line)


BAD = [
    # (replace this, with that, message pattern, line that must be named or None)
    ("flex0 = 0.6", "flex0 = 1.6",
     r"keyframe\[1\]\.flex0: is 1\.6, out of range; allowed: a number from 0 up to 1",
     "flex0 = 1.6"),
    ("e10 = 1.0", "e12 = 1.0", r"keyframe\[1\]\.e12: is not a channel; allowed: t, e0\.\.e11", "e12 = 1.0"),
    ("t = 3.0", "t = 0.5", r"keyframe\[1\]\.t: t = 0\.5 comes before flex0's previous keyframe", "t = 0.5"),
    ("t = 3.0", 't = "soon"', r"keyframe\[1\]\.t: is 'soon' \(string\), not a number", 't = "soon"'),
    ('key = "e3"', 'key = "flex0"', r"touch\[0\]\.key: is 'flex0', not an electrode; allowed: e0\.\.e11",
     'key = "flex0"'),
    ('key = "e3"', 'key = "e10"', r"e10 is already driven by keyframes", 'key = "e10"'),
    ("ramp = 0.1", "ramp = 0.9", r"touch\[0\]\.ramp: needs 0 < ramp <= length", "ramp = 0.9"),
    ("ramp = 0.1", "ramp = 0.1\nvelocity = 3",
     r"touch\[0\]\.velocity: unknown key; allowed in touch\[0\]: key, at, length, amount, ramp",
     "velocity = 3"),
    ("length = 0.5\n", "", r"touch\[0\]\.length: missing", "[[touch]]"),
    ('name = "simple"', 'name = "simple"\ntempo = 120',
     r"tempo: unknown key; allowed in the top level: name, loop, keyframe, touch, duration",
     "tempo = 120"),
    ('name = "simple"', 'name = "simple"\nloop = "yes"', r"loop: is 'yes' \(string\), not true or false",
     'loop = "yes"'),
    ('name = "simple"', 'name = "simple"\nduration = 2.0', r"duration: is 2 s but the last",
     "duration"),
    ("ramp = 0.1\n", "ramp = 0.1\n\n[[keyframe]]\nt = 5.0\n", r"keyframe\[2\]\.t: sets no channel",
     "t = 5.0"),
    ("flex0 = 0.2", "flex0 = 0.2\nflex0 = 0.3", r"not valid TOML \(.*line", None),
]


@pytest.mark.parametrize(("old", "new", "message", "line_fragment"), BAD)
def test_mistakes_are_refused_naming_file_line_and_key(old: str, new: str, message: str,
                                                        line_fragment: str | None) -> None:
    text = SIMPLE.replace(old, new, 1)
    assert text != SIMPLE
    with pytest.raises(GestureError, match=message) as caught:
        parse_gesture(text, "bad.toml")
    shown = str(caught.value)
    assert shown.startswith("bad.toml")
    if line_fragment is not None:
        assert shown.startswith(f"bad.toml:{line_of(text, line_fragment)}:"), shown


def test_overlapping_touches_on_one_key_are_refused() -> None:
    text = SIMPLE + '\n[[touch]]\nkey = "e3"\nat = 2.55\nlength = 0.2\n'
    with pytest.raises(GestureError, match=r"touch\[1\]\.at: this touch of e3 at 2\.55 s starts before"):
        parse_gesture(text, "overlap.toml")


def test_empty_and_missing_gestures_are_refused(tmp_path: Path) -> None:
    with pytest.raises(GestureError, match="at least one"):
        parse_gesture('name = "nothing"\n', "empty.toml")
    with pytest.raises(GestureError, match="not found"):
        load_gesture(tmp_path / "absent.toml")
    with pytest.raises(GestureError, match=r"no built-in gesture named 'nonesuch'.*demo"):
        load_gesture("nonesuch")
    with pytest.raises(GestureError, match="looping gesture needs a duration"):
        parse_gesture('loop = true\n[[keyframe]]\nt = 0.0\nflex0 = 0.5\n', "still.toml")


@pytest.mark.timeout(10)
@pytest.mark.parametrize("case", params(TOML_TEXTS, SPECIAL_PATHS))
def test_hostile_gesture_files_are_refused_quickly_by_name(tmp_path: Path, case: Hostile) -> None:
    path = make(case, tmp_path / "hostile.toml")
    message = refused_quickly(lambda: load_gesture(path), GestureError, case)
    assert message.startswith(f"{path}: ")
    refused_quickly(lambda: load_gesture(str(path)), GestureError, case)


@pytest.mark.timeout(10)
@pytest.mark.parametrize("case", params(TOML_TEXTS))
def test_hostile_gesture_text_is_refused_quickly(case: Hostile) -> None:
    assert case.text is not None
    message = refused_quickly(lambda: parse_gesture(case.text, "hostile.toml"), GestureError, case)
    assert message.startswith("hostile.toml: ")


def test_every_built_in_gesture_loads_through_the_bounded_reader() -> None:
    names = builtin_gestures()
    assert "demo" in names
    for name in names:
        gesture = load_gesture(name)
        assert gesture.source.endswith(f"{name}.toml") and gesture.tracks
