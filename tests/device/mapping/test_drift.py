"""Gallery drift paths: inside 0..1, no axis faster than the speed asked for, seeded, taking up
from wherever the instrument is, and pitch changes now and then."""

from __future__ import annotations

import math
from itertools import pairwise

import pytest

from device.mapping.drift import SLOPE, Drift, NoisePath, PitchSchedule, WalkPath, smootherstep, unit_hash

BLOCK_S = 64 / 48000  # one 64-frame block at 48 kHz


def sample(path: NoisePath | WalkPath | Drift, seconds: float, dt: float, t0: float = 0.0
           ) -> list[tuple[float, ...]]:
    at = path.point if isinstance(path, Drift) else path.at
    return [at(t0 + i * dt) for i in range(round(seconds / dt) + 1)]


def fastest(points: list[tuple[float, ...]], dt: float) -> float:
    """The largest per-axis speed between neighbouring samples (units per second)."""
    return max(max(abs(b - a) for a, b in zip(p, q, strict=True)) for p, q in pairwise(points)) / dt


def test_smootherstep_is_flat_at_both_ends_and_its_slope_is_bounded() -> None:
    assert smootherstep(-1.0) == smootherstep(0.0) == 0.0 and smootherstep(1.0) == smootherstep(2.0) == 1.0
    assert smootherstep(0.5) == pytest.approx(0.5)
    h = 1e-6
    slopes = [(smootherstep(x + h) - smootherstep(x)) / h for x in (i / 1000 for i in range(1000))]
    assert max(slopes) == pytest.approx(SLOPE, rel=1e-4)
    assert slopes[0] < 1e-5


def test_unit_hash_is_uniform_enough_and_depends_on_every_key() -> None:
    values = [unit_hash(3, i) for i in range(20000)]
    assert all(0.0 <= v < 1.0 for v in values)
    assert sum(values) / len(values) == pytest.approx(0.5, abs=0.01)
    assert sum(v < 0.1 for v in values) == pytest.approx(2000, rel=0.08)
    assert unit_hash(3, 1, 2) != unit_hash(3, 2, 1) != unit_hash(4, 1, 2)
    assert unit_hash(3, -5) == unit_hash(3, -5)


@pytest.mark.parametrize("speed", [0.005, 0.02, 0.2])
def test_noise_stays_inside_and_never_outruns_its_speed(speed: float) -> None:
    path = NoisePath(3, speed, seed=1)
    dt = 0.25 / speed * BLOCK_S * 100  # coarse enough to cover many knots, fine enough to see them
    points = sample(path, 4000 * dt, dt)
    assert all(0.0 <= v <= 1.0 for p in points for v in p)
    assert fastest(points, dt) <= speed * (1 + 1e-9)
    # It goes somewhere: each axis covers a good part of the space (not stuck near the middle)...
    for axis in range(3):
        values = [p[axis] for p in points]
        assert max(values) - min(values) > 0.4
    # ...and uses most of its speed at times (the bound is not loose by orders of magnitude).
    assert fastest(points, dt) > 0.3 * speed


def test_noise_block_by_block_moves_by_a_bounded_step() -> None:
    path = NoisePath(2, 0.05, seed=9)
    points = sample(path, 20.0, BLOCK_S, t0=1234.5)
    assert fastest(points, BLOCK_S) <= 0.05 * (1 + 1e-9)
    assert max(abs(b - a) for p, q in pairwise(points) for a, b in zip(p, q, strict=True)) \
        <= 0.05 * BLOCK_S * (1 + 1e-9)


def test_noise_is_seeded() -> None:
    times = [0.0, 17.3, 999.9]
    a, b, c = NoisePath(2, 0.02, seed=5), NoisePath(2, 0.02, seed=5), NoisePath(2, 0.02, seed=6)
    assert [a.at(t) for t in times] == [b.at(t) for t in times]
    assert [a.at(t) for t in times] != [c.at(t) for t in times]
    assert a.at(17.3)[0] != a.at(17.3)[1]  # the axes do not move in lockstep


BOOKMARKS = [(0.1, 0.2), (0.9, 0.8), (0.5, 0.1), (0.2, 0.9)]


def test_walk_goes_from_bookmark_to_bookmark_and_rests_at_each() -> None:
    walk = WalkPath(BOOKMARKS, speed=0.1, hold_s=5.0, seed=2)
    dt = 0.05
    points = sample(walk, 600.0, dt)
    assert fastest(points, dt) <= 0.1 * (1 + 1e-9)
    assert all(0.0 <= v <= 1.0 for p in points for v in p)
    # The rests: runs of samples at one bookmark lasting about hold_s.
    rests: list[tuple[int, int]] = []  # (bookmark, samples)
    for p in points:
        at = next((i for i, b in enumerate(BOOKMARKS)
                   if max(abs(x - y) for x, y in zip(p, b, strict=True)) < 1e-12), None)
        if at is None:
            continue
        if rests and rests[-1][0] == at:
            rests[-1] = (at, rests[-1][1] + 1)
        else:
            rests.append((at, 1))
    visited = [b for b, _ in rests]
    assert len(visited) >= 10 and set(visited) == set(range(len(BOOKMARKS)))
    assert all(a != b for a, b in pairwise(visited))  # never "walks" to where it stands
    assert all(abs(n * dt - 5.0) <= 2 * dt for _, n in rests[1:-1])


def test_walk_is_seeded_and_can_be_asked_again_from_the_start() -> None:
    a = WalkPath(BOOKMARKS, 0.1, 2.0, seed=4)
    first = sample(a, 100.0, 0.5)
    again = sample(a, 100.0, 0.5)  # time went back: the same walk again
    assert first == again == sample(WalkPath(BOOKMARKS, 0.1, 2.0, seed=4), 100.0, 0.5)
    assert first != sample(WalkPath(BOOKMARKS, 0.1, 2.0, seed=5), 100.0, 0.5)


def test_a_walk_between_bookmarks_at_one_place_still_advances() -> None:
    walk = WalkPath([(0.3,), (0.3,)], speed=0.1, hold_s=0.0)
    assert walk.at(1e5) == (0.3,)


def test_drift_starts_where_the_instrument_is_and_leaves_smoothly() -> None:
    speed = 0.02
    drift = Drift(NoisePath(2, speed, seed=3))
    start = (0.95, 0.02)
    drift.begin(start, 60.0, t=500.0)
    assert drift.point(500.0) == pytest.approx(start)
    points = sample(drift, 200.0, BLOCK_S * 50, t0=500.0)
    assert all(0.0 <= v <= 1.0 for p in points for v in p)
    assert fastest(points, BLOCK_S * 50) <= 2 * speed * (1 + 1e-9)
    # Once the fade is over it is on the path itself.
    there = NoisePath(2, speed, seed=3).at(500.0)
    fade = SLOPE * max(abs(s - h) for s, h in zip(start, there, strict=True)) / speed
    assert drift.point(500.0 + fade + 1.0) == NoisePath(2, speed, seed=3).at(500.0 + fade + 1.0)


def test_drift_with_fewer_start_coordinates_fills_in_the_middle() -> None:
    drift = Drift(NoisePath(3, 0.02))
    drift.begin((0.2,), 60.0, t=0.0)
    assert drift.point(0.0) == pytest.approx((0.2, 0.5, 0.5))


def test_the_pitch_changes_now_and_then_and_each_change_is_counted_once() -> None:
    schedule = PitchSchedule([48, 55, 60, 63], every_s=10.0, seed=1)
    drift = Drift(NoisePath(1, 0.02), schedule)
    drift.begin((0.5,), 50.0, t=3.0)
    assert [drift.pitch(t) for t in (3.0, 9.9)] == [50.0, 50.0]  # the note it found, until the next slot
    assert drift.pitch_changes == 0
    heard = [drift.pitch(t) for t in range(10, 400)]
    assert drift.pitch_changes == 39
    assert set(heard) <= {48.0, 55.0, 60.0, 63.0} and len(set(heard)) == 4
    assert drift.pitch(399.0) == heard[-1] and drift.pitch_changes == 39
    # Every slot holds one pitch for its whole length.
    assert all(heard[i] == heard[i + 1] for i in range(len(heard) - 1) if (10 + i + 1) % 10)
    # A later episode goes on counting (a running count, like a note-on counter).
    drift.begin((0.5,), 60.0, t=1000.0)
    drift.pitch(1010.0)
    assert drift.pitch_changes == 40


def test_without_a_schedule_the_drift_keeps_the_pitch_it_found() -> None:
    drift = Drift(NoisePath(1, 0.02))
    drift.begin((0.5,), 57.0, t=0.0)
    assert {drift.pitch(t) for t in range(0, 1000, 7)} == {57.0}
    assert drift.pitch_changes == 0


def test_bad_paths_are_refused() -> None:
    with pytest.raises(ValueError):
        NoisePath(0, 0.1)
    with pytest.raises(ValueError):
        NoisePath(2, 0.0)
    with pytest.raises(ValueError):
        WalkPath([(0.1,)], 0.1, 1.0)
    with pytest.raises(ValueError):
        PitchSchedule([], 1.0)
    assert math.isfinite(NoisePath(1, 1e-6).rate)
