"""A learned mapping end to end: record poses, train, play them back (Mapper and `latent map ...`)."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
import wave
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from device.cli import main
from device.errors import ConfigError
from device.mapping import Mapper, load_map
from device.mapping.learned import LearnedMapping, fit, fit_presets
from device.mapping.pose_examples import load_examples
from device.mapping.pose_recorder import PoseRecorder
from device.sensors.frame import SensorFrame

from .player import FLEX_REST, Player

RATE = 500.0
# Held poses (flex counts above rest, within the default 6000-count range so it never grows)
# and the points they should play.
POSES = {(500.0, 500.0): (0.1, 0.9), (5000.0, 500.0): (0.9, 0.8), (500.0, 5000.0): (0.2, 0.1),
         (5000.0, 5000.0): (0.7, 0.3), (2800.0, 2800.0): (0.5, 0.5)}


def _frames(bends: tuple[float, float], seconds: float, t0: float, rng: random.Random,
            stale: frozenset[str] = frozenset()) -> list[SensorFrame]:
    frames = []
    for i in range(round(seconds * RATE)):
        values = {f"e{k}": rng.gauss(0.0, 0.7) for k in range(12)}
        values["flex0"] = FLEX_REST + bends[0] + rng.gauss(0.0, 4.0)
        values["flex1"] = FLEX_REST + bends[1] + rng.gauss(0.0, 4.0)
        frames.append(SensorFrame(t0 + (i + 1) / RATE, values, stale))
    return frames


def test_recorded_poses_play_their_points_through_the_mapper() -> None:
    config = load_map()
    recorder = PoseRecorder(config, ("flex0", "flex1"), window_s=0.25)
    rng = random.Random(1)
    t = 0.0
    for frame in _frames((0.0, 0.0), 1.2, t, rng):  # hands off while calibrating
        recorder.feed(frame)
    t += 1.2
    poses, points = [], []
    for bends, point in POSES.items():
        recorder.capture()
        recorded = None
        for frame in _frames(bends, 0.5, t, rng):
            recorded = recorder.feed(frame) or recorded
        t += 0.5
        assert recorded is not None
        poses.append(recorded)
        points.append(point)
    model = fit(poses, points, inputs=("flex0", "flex1"), axes=(0, 1))

    mapper = Mapper(replace(config, learned=LearnedMapping(("flex0", "flex1"), model)))
    player = Player(mapper, rate=RATE, seed=2)
    player.settle()
    for bends, point in POSES.items():
        player.bend("flex0", bends[0])
        player.bend("flex1", bends[1])
        state = player.play(1.0)[-1]  # held: the One-Euro filters have settled
        assert state.point == pytest.approx(point, abs=0.02), bends
    # Between two recorded poses the point lies between their points.
    player.bend("flex0", 2750.0)
    player.bend("flex1", 500.0)
    middle = player.play(1.0)[-1].point
    assert 0.1 < middle[0] < 0.9 and 0.8 < middle[1] < 0.9


def test_a_stale_input_holds_the_learned_point() -> None:
    model = fit([(0.0, 0.0), (1.0, 1.0)], [(0.0, 0.0), (1.0, 1.0)], inputs=("flex0", "flex1"), axes=(0, 1))
    mapper = Mapper(replace(load_map(), learned=LearnedMapping(("flex0", "flex1"), model)))
    player = Player(mapper, rate=RATE)
    player.settle()
    player.bend("flex0", 3000.0)
    player.bend("flex1", 3000.0)
    held = player.play(1.0)[-1].point
    player.stale = {"flex0", "flex1"}
    player.bend("flex0", 0.0)
    player.bend("flex1", 0.0)
    assert player.play(0.5)[-1].point == held


def test_a_learned_preset_chooser_switches_presets_by_pose_with_hysteresis() -> None:
    # Three recorded poses, each naming a preset of the default map.
    names, chooser = fit_presets([(0.0, 0.0), (0.8, 0.0), (0.0, 0.8)], ["home", "cloud", "bright"],
                                 inputs=("flex0", "flex1"))
    config = load_map()
    mapper = Mapper(replace(config, learned=LearnedMapping(("flex0", "flex1"), None, names, chooser)))
    assert [a.axis for a in mapper.config.axes] == [0, 1]  # no point model: flex0/flex1 still drive
    player = Player(mapper, rate=RATE)
    player.settle()
    player.play(0.1)
    assert mapper.preset == "home"
    full = 6000.0  # counts for a calibrated amount of about 1
    player.bend("flex0", 0.8 * full)
    player.play(1.0)
    assert mapper.preset == "cloud"
    # Halfway back the scores of home and cloud are close: cloud stays (no flicker on noise).
    player.bend("flex0", 0.4 * full)
    assert {mapper.preset for _ in range(5) for _ in [player.play(0.2)]} == {"cloud"}
    player.bend("flex0", 0.0)
    player.bend("flex1", 0.8 * full)
    player.play(1.0)
    assert mapper.preset == "bright"
    # The preset button still works while the pose stays put.
    mapper.cycle_preset()
    player.play(0.1)
    assert mapper.preset == "home"


def test_train_refuses_a_preset_the_map_does_not_have(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    examples = tmp_path / "p.json"
    examples.write_text('{"format": "latent-map-examples", "version": 1, "inputs": ["flex0"], "axes": [], '
                        '"examples": [{"pose": [0.1], "preset": "home"}, {"pose": [0.9], "preset": "dark"}]}',
                        encoding="utf-8")
    assert main(["map", "train", str(examples), "--out", str(tmp_path / "l.toml")]) == 1
    err = capsys.readouterr().err
    assert "examples[1] names preset 'dark'" in err and err.count("\n") == 1
    assert not (tmp_path / "l.toml").exists()


def _write_pose_gesture(path: Path) -> list[float]:
    """Flat while calibrating, then four held poses; returns a capture time inside each hold."""
    holds = [(0.15, 0.15), (0.6, 0.15), (0.15, 0.6), (0.6, 0.6)]
    lines = ['name = "poses"', "[[keyframe]]", "t = 0.0", "flex0 = 0.0", "flex1 = 0.0",
             "[[keyframe]]", "t = 1.5", "flex0 = 0.0", "flex1 = 0.0"]
    times = []
    t = 1.5
    for a, b in holds:
        for when in (t + 0.2, t + 1.4):
            lines += ["[[keyframe]]", f"t = {when}", f"flex0 = {a}", f"flex1 = {b}"]
        times.append(round(t + 0.5, 3))
        t += 1.5
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return times


def test_record_from_the_simulated_sensors_train_and_play(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    gesture = tmp_path / "poses.toml"
    times = _write_pose_gesture(gesture)
    examples = tmp_path / "poses.json"
    targets = ["0.1,0.9", "0.9,0.9", "0.1,0.1", "0.9,0.1"]
    record = ["map", "record", "--gesture", str(gesture), "--at", ",".join(map(str, times)),
              "--out", str(examples), "--json"]
    for target in targets:
        record += ["--target", target]
    assert main(record) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["added"] == 4 and result["inputs"] == ["flex0", "flex1"] and result["axes"] == [0, 1]
    recorded = load_examples(examples)
    poses = np.array([e.pose for e in recorded.examples])
    # Each pose is the gesture's hold: more bend reads as a larger amount, on the right channel.
    assert poses[1, 0] > poses[0, 0] + 0.2 and poses[2, 1] > poses[0, 1] + 0.2
    assert abs(poses[1, 1] - poses[0, 1]) < 0.05

    learned = tmp_path / "learned.toml"
    assert main(["map", "train", str(examples), "--out", str(learned), "--json"]) == 0
    fitted = json.loads(capsys.readouterr().out)
    assert fitted["point"]["examples"] == 4 and fitted["point"]["train_max_error"] < 0.01
    config = load_map(learned)
    assert config.learned is not None and config.learned.point is not None
    assert config.learned.point.predict(poses) == pytest.approx(
        np.array([[float(v) for v in t.split(",")] for t in targets]), abs=0.01)

    out = tmp_path / "x.wav"
    assert main(["play", "--map", str(learned), "--gesture", str(gesture), "--out", str(out),
                 "--seconds", "3"]) == 0
    with wave.open(str(out)) as w:
        frames = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
    assert len(frames) > 0 and np.abs(frames).max() > 0


@pytest.mark.timeout(120)
def test_record_captures_on_enter_and_stops_at_end_of_input(tmp_path: Path) -> None:
    # A person at the laptop: the simulated sensors run in real time, each Enter takes a pose.
    gesture = tmp_path / "poses.toml"
    times = _write_pose_gesture(gesture)
    examples = tmp_path / "poses.json"
    targets = ["--target", "0,0", "--target", "1,1", "--target", "0.5,0.5"]
    proc = subprocess.Popen([sys.executable, "-m", "device.cli", "map", "record", "--gesture", str(gesture),
                             "--out", str(examples), *targets],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdin is not None and proc.stdout is not None
    first = proc.stdout.readline()  # printed as the sensors start: the gesture's time 0
    started = time.monotonic()
    assert first.startswith("calibrating flex0, flex1")
    for at in times[:2]:
        time.sleep(max(0.0, at - (time.monotonic() - started)))
        proc.stdin.write("\n")
        proc.stdin.flush()
    time.sleep(max(0.0, times[1] + 0.6 - (time.monotonic() - started)))
    out, err = proc.communicate(timeout=60)  # closes stdin: the end of the session
    assert proc.returncode == 0, err
    assert "hold the pose for point 0,0 (1 of 3)" in out and "2 examples added" in out
    poses = [e.pose for e in load_examples(examples).examples]
    assert len(poses) == 2 and poses[1][0] > poses[0][0] + 0.2


def test_record_poses_for_presets_and_points_then_train_both(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    gesture = tmp_path / "poses.toml"
    times = _write_pose_gesture(gesture)
    examples = tmp_path / "poses.json"
    assert main(["map", "record", "--gesture", str(gesture), "--at", ",".join(map(str, times)),
                 "--out", str(examples), "--quiet", "--target", "home", "--target", "cloud",
                 "--target", "0.2,0.2", "--target", "0.8,0.8"]) == 0
    recorded = load_examples(examples).examples
    assert [e.preset for e in recorded] == ["home", "cloud", None, None]
    assert recorded[2].point == (0.2, 0.2)
    learned = tmp_path / "learned.toml"
    assert main(["map", "train", str(examples), "--out", str(learned), "--json"]) == 0
    fitted = json.loads(capsys.readouterr().out)
    assert fitted["presets"]["names"] == ["home", "cloud"] and fitted["point"]["examples"] == 2
    config = load_map(learned)
    assert config.learned is not None and config.learned.chooser is not None
    scores = config.learned.chooser.predict(np.array([e.pose for e in recorded[:2]]))
    assert list(scores.argmax(axis=1)) == [0, 1]
    assert main(["map", "check", str(learned)]) == 0
    assert "-> preset home | cloud" in capsys.readouterr().out


def test_record_adds_to_a_file_of_the_same_shape_only(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    gesture = tmp_path / "poses.toml"
    times = _write_pose_gesture(gesture)
    examples = tmp_path / "poses.json"
    base = ["map", "record", "--gesture", str(gesture), "--out", str(examples), "--quiet"]
    assert main([*base, "--at", f"{times[0]},{times[1]}", "--target", "0,0", "--target", "1,1"]) == 0
    assert main([*base, "--at", str(times[2]), "--target", "0.5,0.5"]) == 0
    assert len(load_examples(examples).examples) == 3
    assert main([*base, "--at", str(times[2]), "--target", "0.5,0.5", "--inputs", "flex0"]) == 1
    assert "holds poses of flex0, flex1" in capsys.readouterr().err
    assert len(load_examples(examples).examples) == 3


@pytest.mark.parametrize(("args", "problem"), [
    (["--target", "0.2,1.5"], "target '0.2,1.5': is 1.5, out of range"),
    (["--target", "0.2,0.3", "--target", "0.5"], "every target point needs the same number of coordinates"),
    (["--target", "dark"], "--target 'dark': not a latent point nor a preset of"),
    (["--target", "0,0", "--at", "2,3"], "--at gives 2 times for 1 captures"),
    (["--target", "0,0", "--inputs", "flex7"], "input 'flex7' is not a channel"),
])
def test_record_refuses_bad_options_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                args: list[str], problem: str) -> None:
    assert main(["map", "record", "--out", str(tmp_path / "p.json"), *args]) == 1
    err = capsys.readouterr().err
    assert problem in err and err.count("\n") == 1


@pytest.mark.parametrize(("text", "problem"), [
    ('{"format": "latent-map-examples", "version": 9, "inputs": ["flex0"], "axes": [0], "examples": []}',
     "version: is 9, an examples-file version this instrument cannot read"),
    ('{"format": "latent-map-examples", "version": 1, "inputs": ["flex0"], "axes": [0], '
     '"examples": [{"pose": [0.1, 0.2], "point": [0.5]}]}', "examples[0].pose: has 2 entries"),
    ('{"format": "latent-map-examples", "version": 1, "inputs": ["flex0"], "axes": [0], '
     '"examples": [{"pose": [0.1], "point": [0.5], "note": 1}]}', "examples[0].note: unknown key"),
    ('{"format": "something-else"}', "format: is 'something-else', not an examples file"),
])
def test_bad_examples_files_are_refused(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "p.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_examples(path)
    assert problem in str(caught.value) and "\n" not in str(caught.value)
