"""The pose recorder: waits for calibration, averages a window of fresh frames only."""

from __future__ import annotations

import pytest

from device.errors import ConfigError
from device.mapping import load_map
from device.mapping.pose_recorder import PoseRecorder
from device.sensors.frame import SensorFrame

from .player import FLEX_REST

RATE = 100.0


def _feed(recorder: PoseRecorder, bend: float, seconds: float, t0: float,
          stale: frozenset[str] = frozenset()) -> list[tuple[float, ...]]:
    poses = []
    for i in range(round(seconds * RATE)):
        wobble = 3.0 if i % 2 else -3.0  # noise of a few counts
        frame = SensorFrame(t0 + (i + 1) / RATE, {"flex0": FLEX_REST + bend + wobble}, stale)
        pose = recorder.feed(frame)
        if pose is not None:
            poses.append(pose)
    return poses


def test_a_capture_waits_for_calibration_then_averages_one_window() -> None:
    recorder = PoseRecorder(load_map(), ["flex0"], window_s=0.2)
    recorder.capture()  # pressed too early: kept until calibration (learn_s = 1 s) is done
    assert _feed(recorder, 0.0, 0.9, 0.0) == [] and recorder.calibrating and recorder.capturing
    rest = _feed(recorder, 0.0, 0.6, 0.9)
    assert rest == [(0.0,)] and not recorder.capturing
    recorder.capture()
    poses = _feed(recorder, 3000.0, 1.0, 1.5)
    assert len(poses) == 1 and not recorder.capturing
    assert 0.3 < poses[0][0] < 0.7
    assert poses[0][0] == pytest.approx(recorder.amounts()[0], abs=0.01)


def test_stale_frames_are_left_out_of_the_window() -> None:
    recorder = PoseRecorder(load_map(), ["flex0"], window_s=0.2)
    _feed(recorder, 0.0, 1.2, 0.0)
    assert not recorder.calibrating
    recorder.capture()
    # The chip stops answering: its held value (a full bend, say) must not enter the average.
    assert _feed(recorder, 6000.0, 0.5, 1.2, stale=frozenset({"flex0"})) == []
    poses = _feed(recorder, 1500.0, 0.5, 1.7)
    assert len(poses) == 1 and poses[0][0] < 0.35


def test_inputs_must_be_channels_and_the_window_positive() -> None:
    with pytest.raises(ConfigError, match="input 'flex9' is not a channel"):
        PoseRecorder(load_map(), ["flex9"], window_s=0.2)
    with pytest.raises(ConfigError, match="window must be above 0"):
        PoseRecorder(load_map(), ["flex0"], window_s=0.0)
