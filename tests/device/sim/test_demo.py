"""The built-in demo gesture plays the default mapping musically, as its comments promise."""

from __future__ import annotations

import numpy as np
import pytest

from device.sim.gesture import Gesture, builtin_gestures, load_gesture

KEYS = [f"e{i}" for i in range(8)]
TOUCHED = 0.5


@pytest.fixture(scope="module")
def demo() -> Gesture:
    return load_gesture("demo")


@pytest.fixture(scope="module")
def timeline(demo: Gesture) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    times = np.arange(0.0, demo.duration, 0.01)
    states = [demo.state_at(float(t)) for t in times]
    return times, {ch: np.array([s[ch] for s in states]) for ch in demo.tracks}


def test_it_is_built_in_loops_and_lasts_20_to_30_seconds(demo: Gesture) -> None:
    assert "demo" in builtin_gestures()
    assert demo.loop and 20.0 <= demo.duration <= 30.0
    assert demo.source.endswith("device/sim/gestures/demo.toml")


def test_it_drives_every_channel_of_the_default_mapping(demo: Gesture) -> None:
    assert set(demo.tracks) == {*(f"e{i}" for i in range(12)), "flex0", "flex1"}


def test_both_flex_sensors_bend_slowly_across_their_range(timeline) -> None:  # type: ignore[no-untyped-def]
    times, tracks = timeline
    for channel in ("flex0", "flex1"):
        track = tracks[channel]
        assert track.max() - track.min() >= 0.6
        steepest = np.abs(np.diff(track)).max() / np.diff(times).max()
        assert steepest < 0.5  # no faster than half the range per second: slow bends


def test_a_melody_plays_every_key_with_some_legato_overlaps(timeline) -> None:  # type: ignore[no-untyped-def]
    _, tracks = timeline
    down = np.array([tracks[k] > TOUCHED for k in KEYS])
    assert all(row.any() for row in down)
    onsets = sum(int(np.sum(np.diff(row.astype(int)) == 1)) for row in down)
    assert onsets >= 20
    assert (down.sum(axis=0) >= 2).any()  # two keys held at once somewhere


def test_scatter_freeze_and_the_swells_each_have_their_passage(timeline) -> None:  # type: ignore[no-untyped-def]
    _, tracks = timeline
    keys_down = np.array([tracks[k] > TOUCHED for k in KEYS]).any(axis=0)
    scatter, freeze = tracks["e9"] > TOUCHED, tracks["e8"] > TOUCHED
    assert scatter.sum() >= 200 and (scatter & keys_down).any()  # 2 s or more, with notes in it
    assert freeze.sum() >= 100 and (freeze & keys_down).any()  # a held note is frozen
    for swell in ("e10", "e11"):
        track = tracks[swell]
        assert track.max() >= 0.5 and track[0] == 0.0 and track[-1] < 0.05
        assert np.count_nonzero((track > 0.05) & (track < track.max() - 0.05)) > 50  # gradual


def test_the_keys_rest_for_a_while_and_the_loop_is_seamless(demo: Gesture, timeline) -> None:  # type: ignore[no-untyped-def]
    times, tracks = timeline
    idle = ~np.array([tracks[k] > 0.0 for k in KEYS]).any(axis=0)
    longest, run = 0, 0
    for quiet in idle:
        run = run + 1 if quiet else 0
        longest = max(longest, run)
    assert longest * (times[1] - times[0]) >= 2.0
    assert demo.state_at(demo.duration - 1e-6) == pytest.approx(demo.state_at(0.0), abs=1e-3)
