"""Map features the default map does not use: toggles, glide, curves, invert, fixed ranges."""

from __future__ import annotations

import pytest

from device.mapping import Mapper, parse_map

from .player import FIRM_TOUCH, FLEX_RANGE, FLEX_REST, FLEX_THRESHOLD, Player


def _player(text: str, **kwargs: float) -> Player:
    p = Player(Mapper(parse_map(text)), **kwargs)
    p.settle()
    return p


def test_a_toggle_switch_flips_on_each_touch() -> None:
    p = _player('[[switches]]\nparam = "freeze"\nsource = "e8"\naction = "toggle"\n'
                "touched = true\nreleased = false\n")
    assert p.play(0.1)[-1].params["freeze"] is False
    p.touch("e8")
    p.play(0.1)
    p.release("e8")
    assert p.play(0.5)[-1].params["freeze"] is True  # stays on after letting go
    p.touch("e8")
    assert p.play(0.1)[-1].params["freeze"] is False
    p.release("e8")
    assert p.play(0.5)[-1].params["freeze"] is False


def test_glide_slides_between_notes_in_the_set_time() -> None:
    p = _player('[pitch]\nkeys = ["e0", "e1"]\nnotes = [48, 60]\nglide_ms = 100\n', rate=1000.0)
    p.touch("e1")
    states = p.play(0.2)
    assert states[0].trigger
    pitches = [s.pitch for s in states]
    assert pitches == sorted(pitches)
    assert pitches[49] == pytest.approx(54.0, abs=0.2)  # halfway after 50 ms
    assert pitches[-1] == 60.0
    p.touch("e0")
    assert p.play(0.05)[-1].pitch == pytest.approx(54.0, abs=0.2)


def test_invert_and_curves_shape_an_axis() -> None:
    text = """
[[axes]]
axis = 0
source = "flex0"
invert = true
smoothing = { min_cutoff = 50, beta = 0 }
[[axes]]
axis = 2
source = "flex1"
curve = "s-curve"
min = 0.2
max = 0.6
smoothing = { min_cutoff = 50, beta = 0 }
"""
    p = _player(text, flex_noise=0.0)
    rest = p.play(0.2)[-1].point
    assert rest == (1.0, 0.5, 0.2)  # inverted; axis 1 unmapped holds the middle; axis 2 at its min
    p.bend("flex0", FLEX_RANGE)
    p.bend("flex1", FLEX_THRESHOLD + 0.25 * (FLEX_RANGE - FLEX_THRESHOLD))  # a quarter past the dead zone
    point = p.play(0.5)[-1].point
    assert point[0] == pytest.approx(0.0, abs=1e-3)
    quarter = 0.25 * 0.25 * (3 - 2 * 0.25)
    assert point[2] == pytest.approx(0.2 + 0.4 * quarter, abs=1e-3)


def test_a_fixed_flex_range_plays_at_once_without_learning() -> None:
    text = f"""
[calibration.channels.flex0]
rest = {FLEX_REST}
full = {FLEX_REST + 4000}
dead_zone = 0.0
[[axes]]
axis = 0
source = "flex0"
smoothing = {{ min_cutoff = 50, beta = 0 }}
"""
    p = Player(Mapper(parse_map(text)), flex_noise=0.0)
    assert not p.mapper.calibrating
    p.bend("flex0", 1000.0)
    assert p.play(0.3)[-1].point[0] == pytest.approx(0.25, abs=1e-3)


def test_a_map_without_keys_plays_at_the_note_level() -> None:
    p = _player('[[axes]]\naxis = 0\nsource = "flex0"\n[gain]\nnote = 0.8\n')
    state = p.play(0.5)[-1]
    assert state.params["gain"] == pytest.approx(0.8)
    assert state.trigger is False and state.pitch == 60.0


def test_a_gain_control_scales_the_envelope() -> None:
    p = _player('[pitch]\nkeys = ["e0"]\nnotes = [60]\n'
                '[[controls]]\nparam = "gain"\nsource = "e11"\nmin = 0.5\nmax = 1.0\n')
    p.touch("e0")
    assert p.play(0.5)[-1].params["gain"] == pytest.approx(0.5)
    p.touch("e11", FIRM_TOUCH)
    assert p.play(1.0)[-1].params["gain"] > 0.95


def test_a_switch_without_released_value_leaves_the_preset_value() -> None:
    text = """
[params]
mode = "scatter"
[[switches]]
param = "mode"
source = "e9"
touched = "mix"
[presets.a]
[presets.b]
params = { mode = "mix" }
"""
    p = _player(text)
    assert p.play(0.1)[-1].params["mode"] == "scatter"
    p.touch("e9")
    assert p.play(0.1)[-1].params["mode"] == "mix"
    p.release("e9")
    p.mapper.cycle_preset()
    assert p.play(0.1)[-1].params["mode"] == "mix"
