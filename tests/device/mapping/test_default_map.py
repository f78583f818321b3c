"""The shipped default map, played by a simulated person (keys, flex sensors, switches, gain)."""

from __future__ import annotations

import itertools
import math

import pytest

from device.mapping import ControlState, Mapper

from .player import FIRM_TOUCH, FLEX_RANGE, FLEX_THRESHOLD, Player


def _triggers(states: list[ControlState]) -> int:
    return sum(s.trigger for s in states)


def test_at_rest_the_instrument_idles_at_the_first_note_with_the_axes_at_rest(player: Player) -> None:
    states = player.play(2.0)
    last = states[-1]
    assert _triggers(states) == 0
    assert last.point == (0.0, 0.0)
    assert last.pitch == 48.0
    assert last.params == {
        "overlap": 4.0, "position": 0.5, "freeze": False, "mode": "mix", "window": "hann",
        "grain_ms": 40.0, "jitter": 0.02, "gain": pytest.approx(0.2),
    }


def test_touching_e3_plays_55_with_a_trigger_on_the_onset_only(player: Player) -> None:
    player.touch("e3")
    first = player.frame()
    assert first.pitch == 55.0
    assert first.trigger
    held = player.play(1.0)
    assert _triggers(held) == 0
    assert {s.pitch for s in held} == {55.0}
    player.release("e3")
    released = player.play(1.0)
    assert _triggers(released) == 0
    assert released[-1].pitch == 55.0  # the last pitch holds
    player.touch("e3")
    assert player.frame().trigger  # a new touch is a new note-on


def test_a_light_touch_is_not_a_note(player: Player) -> None:
    player.touch("e3", 8.0)  # below the 14-count touch threshold of the default map
    states = player.play(1.0)
    assert _triggers(states) == 0
    assert states[-1].pitch == 48.0


def test_the_most_recently_touched_key_wins(player: Player) -> None:
    player.touch("e3")
    player.play(0.2)
    player.touch("e5")
    assert player.frame().trigger
    assert {s.pitch for s in player.play(0.2)} == {60.0}
    player.touch("e1")
    assert player.frame().pitch == 51.0
    # Letting go of the newest key returns to the one held before it, without a new note-on.
    player.release("e1")
    states = player.play(0.2)
    assert states[-1].pitch == 60.0 and _triggers(states) == 0
    # Releasing an older key changes nothing.
    player.release("e3")
    assert player.play(0.2)[-1].pitch == 60.0
    player.release("e5")
    states = player.play(0.5)
    assert states[-1].pitch == 60.0 and _triggers(states) == 0


def test_gain_rises_on_a_note_and_falls_to_idle_without_steps(player: Player) -> None:
    rest_gain = player.play(0.5)[-1].params["gain"]
    assert rest_gain == pytest.approx(0.2)
    player.touch("e0")
    attack = player.play(0.1)
    assert attack[-1].params["gain"] == pytest.approx(1.0)
    player.release("e0")
    release = player.play(2.0)
    assert release[-1].params["gain"] == pytest.approx(0.2)
    gains = [rest_gain] + [s.params["gain"] for s in attack + release]
    steps = [abs(b - a) for a, b in itertools.pairwise(gains)]
    # At 500 Hz, a 10 ms full-scale attack moves at most 0.2 per frame: no jump to full level.
    assert max(steps) <= 0.2 + 1e-9
    assert 0.2 < release[len(release) // 4].params["gain"] < 1.0  # the release takes its time


def test_flex_bends_move_the_point_axes(player: Player) -> None:
    player.bend("flex0", FLEX_RANGE / 2)  # half of the initial range
    half = player.play(1.0)[-1].point
    expected = (FLEX_RANGE / 2 - FLEX_THRESHOLD) / (FLEX_RANGE - FLEX_THRESHOLD)
    assert half[0] == pytest.approx(expected, abs=0.02)
    assert half[1] == 0.0
    player.bend("flex1", 1.3 * FLEX_RANGE)  # deeper than ever: the range grows, the axis is at its end
    full = player.play(1.0)[-1].point
    assert full[1] == pytest.approx(1.0, abs=0.01)  # the range's top is the noisy peak: just under 1
    assert full[0] == pytest.approx(half[0], abs=0.02)
    player.bend("flex0", 0.0)
    player.bend("flex1", 0.0)
    assert player.play(2.0)[-1].point == pytest.approx((0.0, 0.0), abs=1e-3)


def test_flex_motion_is_smoothed_not_stepped() -> None:
    player = Player(flex_noise=0.0)
    player.settle()
    player.bend("flex0", FLEX_RANGE)
    states = player.play(0.5)
    xs = [s.point[0] for s in states]
    assert xs == sorted(xs)  # a step in the reading becomes a monotonic glide...
    assert xs[0] < 0.5 < xs[-1]  # ...that still arrives quickly


def test_e8_freezes_while_touched(player: Player) -> None:
    player.touch("e8")
    assert all(s.params["freeze"] is True for s in player.play(0.5))
    player.release("e8")
    assert player.play(0.1)[-1].params["freeze"] is False


def test_e9_scatters_while_touched(player: Player) -> None:
    player.touch("e9")
    assert {s.params["mode"] for s in player.play(0.5)} == {"scatter"}
    player.release("e9")
    assert player.play(0.1)[-1].params["mode"] == "mix"


def test_switches_are_not_notes(player: Player) -> None:
    player.touch("e8")
    player.touch("e9")
    states = player.play(0.5)
    assert _triggers(states) == 0
    assert states[-1].params["gain"] == pytest.approx(0.2)


@pytest.mark.parametrize(("channel", "param", "lo", "hi"), [("e10", "grain_ms", 40.0, 250.0),
                                                            ("e11", "jitter", 0.02, 0.5)])
def test_e10_and_e11_sweep_their_ranges_with_touch_amount(player: Player, channel: str, param: str,
                                                          lo: float, hi: float) -> None:
    assert player.play(0.2)[-1].params[param] == lo
    readings = []
    for counts in (10.0, 20.0, 30.0, 40.0, FIRM_TOUCH):
        player.touch(channel, counts)
        readings.append(player.play(1.0)[-1].params[param])
    assert readings == sorted(readings)
    assert lo < readings[0] < readings[2] < hi
    # A firm touch reaches the top, less the noise peaks the range has learned on the way.
    assert readings[-1] > lo + 0.9 * (hi - lo)
    assert readings[-1] <= hi
    player.release(channel)
    assert player.play(2.0)[-1].params[param] == pytest.approx(lo, rel=1e-3)
    assert _triggers([player.frame()]) == 0


def test_grain_size_curve_gives_room_to_short_grains(player: Player) -> None:
    player.touch("e10", 5.0 + 22.5)  # half of the usable span above the dead zone
    mid = player.play(1.0)[-1].params["grain_ms"]
    assert 40.0 < mid < (40.0 + 250.0) / 2


def test_a_stale_sensor_keeps_its_last_output_and_learns_nothing(player: Player) -> None:
    player.bend("flex0", FLEX_RANGE / 4)
    player.touch("e2")
    before = player.play(1.0)[-1]
    report = player.mapper.calibration_report()
    player.stale = {"flex0", "e2"}  # their chip stops answering; readings are garbage meanwhile
    player.bend("flex0", -5000.0)
    player.release("e2")
    during = player.play(2.0)
    assert {s.point[0] for s in during} == {before.point[0]}
    assert {s.pitch for s in during} == {53.0}
    assert during[-1].params["gain"] == pytest.approx(1.0)  # the note keeps sounding
    after = player.mapper.calibration_report()
    for ch in ("flex0", "e2"):
        assert after[ch] == report[ch]
    player.stale = set()
    player.release("e2")
    player.bend("flex0", 0.0)
    back = player.play(2.0)[-1]
    assert back.point[0] == pytest.approx(0.0, abs=1e-3)
    assert back.params["gain"] == pytest.approx(0.2)


def test_a_missing_or_nan_reading_is_held_like_a_stale_one(player: Player) -> None:
    player.bend("flex1", FLEX_RANGE / 4)
    held = player.play(1.0)[-1].point[1]
    player.missing = {"flex1"}
    assert {s.point[1] for s in player.play(0.5)} == {held}
    player.missing = set()
    player.levels["flex1"] = math.nan
    states = player.play(0.5)
    assert {s.point[1] for s in states} == {held}
    assert all(math.isfinite(s.params["gain"]) for s in states)


def test_odd_timestamps_never_produce_nan(player: Player) -> None:
    player.bend("flex0", 2000.0)
    player.touch("e4")
    states = [player.frame(dt=0.0) for _ in range(5)] + [player.frame(dt=-3.0)] + player.play(0.5)
    for s in states:
        assert all(math.isfinite(x) for x in s.point)
        assert math.isfinite(s.pitch) and math.isfinite(s.params["gain"])
    assert states[-1].pitch == 58.0


def test_before_calibration_the_state_is_at_rest_and_silent() -> None:
    mapper = Mapper()
    assert mapper.state.params["gain"] == 0.0
    assert mapper.state.point == (0.0, 0.0)
    assert mapper.calibrating
    p = Player(mapper)
    p.touch("e3")  # touching during the learning window plays nothing
    assert _triggers(p.play(0.5)) == 0


def test_recalibrate_learns_the_new_rest(player: Player) -> None:
    # Every electrode reads 20 counts higher (someone moved the instrument onto a metal table).
    for i in range(12):
        player.touch(f"e{i}", 20.0)
    assert player.play(0.2)[-1].trigger is False  # several keys "touched" at once...
    player.mapper.recalibrate()
    assert player.mapper.calibrating
    states = player.play(1.5)
    assert not player.mapper.calibrating
    assert all(s.params["grain_ms"] == 40.0 for s in states[-100:])
    assert _triggers(states) == 0
    player.touch("e6", 20.0 + FIRM_TOUCH)
    assert player.frame().pitch == 63.0
