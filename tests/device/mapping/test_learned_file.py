"""The learned mapping file: read back as written, bad sections refused in one line, saved atomically."""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np
import pytest

from device.errors import ConfigError
from device.mapping.learned import LearnedMapping, fit, fit_presets
from device.mapping.learned_file import MARKER, learned_map_text, save_learned_map, strip_learned
from device.mapping.map_file import default_map_path, load_map, parse_map
from device.store.powercut import MODES, PowerCut, PowerCutFs

POSES = [(0.1, 0.1), (0.9, 0.1), (0.1, 0.9), (0.9, 0.9), (0.5, 0.5)]
POINTS = [(0.0, 0.0), (1.0, 0.2), (0.3, 1.0), (0.8, 0.8), (0.4, 0.6)]


def _model():
    return fit(POSES, POINTS, inputs=("flex0", "flex1"), axes=(0, 1))


def _learned() -> LearnedMapping:
    return LearnedMapping(("flex0", "flex1"), _model())


def _text() -> str:
    base = default_map_path().read_text(encoding="utf-8")
    return learned_map_text(base, _learned(), examples_source="x.json")


def test_round_trip_plays_the_same_points() -> None:
    model = _model()
    config = parse_map(_text(), source="learned.toml")
    assert config.learned is not None and config.learned.point is not None
    assert config.learned.inputs == ("flex0", "flex1") and config.learned.axes == (0, 1)
    assert config.learned.chooser is None
    probe = np.random.default_rng(0).uniform(0.0, 1.0, (50, 2))
    assert np.array_equal(config.learned.point.predict(probe), model.predict(probe))
    assert config.learned.point.report == model.report
    # The direct mapping is all still there (pitch keys, controls, presets).
    assert config.pitch is not None and len(config.controls) == 2 and len(config.presets) == 3


def test_retraining_replaces_the_learned_block() -> None:
    once = _text()
    twice = learned_map_text(strip_learned(once), _learned(), examples_source="x.json")
    assert twice == once
    assert twice.count(MARKER) == 1
    assert strip_learned(once) == default_map_path().read_text(encoding="utf-8").rstrip("\n") + "\n"


@pytest.mark.parametrize(("old", "new", "problem"), [
    ("format = 1", "format = 2",
     r"learned\.format: is 2, a learned-mapping version this instrument cannot read"),
    ('inputs = ["flex0", "flex1"]', 'inputs = ["flex0", "flex1", "e10"]',
     r"learned\.point\.centres\[0\]: has 2 numbers, expected 3"),
    ('inputs = ["flex0", "flex1"]', 'inputs = ["flex0", "flex9"]',
     r"learned\.inputs\[1\]: is 'flex9', not a channel"),
    ("axes = [0, 1]", "axes = [0, 1, 2]", r"learned\.point\.linear\[0\]: has 2 numbers, expected 3"),
    ("axes = [0, 1]", "axes = [0, 0]", r"learned\.point\.axes\[1\]: repeats 0"),
    ("width = ", "width = -", r"learned\.point\.width: is -[0-9.e-]+, out of range"),
    ("weights = [\n  [", "weights = [\n  [nan, 0.0],\n  [",
     r"learned\.point\.weights\[0\]: is nan, not a finite number"),
    ("weights = [\n  [", "weights = [\n  [", None),  # control: the unchanged file loads
])
def test_bad_learned_sections_are_refused_in_one_line(tmp_path: Path, old: str, new: str,
                                                      problem: str | None) -> None:
    text = _text()
    assert old in text
    path = tmp_path / "learned.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    if problem is None:
        assert load_map(path).learned is not None
        return
    with pytest.raises(ConfigError, match=problem) as caught:
        load_map(path)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(str(path))


def test_weights_rows_must_match_centres(tmp_path: Path) -> None:
    text = _text()
    start = text.index("weights = [\n") + len("weights = [\n")
    end = text.index("\n", start) + 1
    path = tmp_path / "learned.toml"
    path.write_text(text[:start] + text[end:], encoding="utf-8")  # one weight row gone
    with pytest.raises(ConfigError, match=r"learned\.point\.weights: has 4 rows for 5 centres"):
        load_map(path)


def test_a_preset_chooser_reads_back_and_must_name_the_maps_presets(tmp_path: Path) -> None:
    names, chooser = fit_presets([(0.1, 0.1), (0.9, 0.1), (0.1, 0.9)], ["home", "cloud", "bright"],
                                 inputs=("flex0", "flex1"))
    learned = LearnedMapping(("flex0", "flex1"), None, names, chooser)
    text = learned_map_text(default_map_path().read_text(encoding="utf-8"), learned, examples_source="x.json")
    config = parse_map(text, source="learned.toml")
    assert config.learned is not None and config.learned.point is None and config.learned.axes == ()
    assert config.learned.presets == ("home", "cloud", "bright")
    assert config.learned.chooser is not None
    assert config.learned.chooser.predict(np.array([(0.9, 0.1)])).argmax() == 1
    path = tmp_path / "learned.toml"
    renamed = text.replace('names = ["home", "cloud", "bright"]', 'names = ["home", "cloud", "dark"]')
    path.write_text(renamed, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"learned\.presets\.names\[2\]: is 'dark', not a preset of th"):
        load_map(path)
    path.write_text(text.replace("[learned.presets", "[learned.other"), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"learned\.other: unknown key"):
        load_map(path)


def test_a_live_instrument_falls_back_to_the_direct_mapping(tmp_path: Path) -> None:
    path = tmp_path / "learned.toml"
    path.write_text(_text().replace("format = 1", "format = 7"), encoding="utf-8")
    told: list[str] = []
    config = load_map(path, on_bad_learned=told.append)
    assert config.learned is None
    assert len(config.axes) == 2  # flex0/flex1 drive axes 0/1 directly again
    assert len(told) == 1 and "learned.format" in told[0] and "direct mapping" in told[0]


def test_a_torn_write_leaves_the_old_file(tmp_path: Path) -> None:
    live = tmp_path / "live"
    live.mkdir()
    target = live / "learned.toml"
    old = default_map_path().read_text(encoding="utf-8")
    target.write_text(old, encoding="utf-8")
    new = _text()
    probe = PowerCutFs(live)
    save_learned_map(target, new, fs=probe)
    steps = len(probe.steps)
    assert steps >= 4  # create, write, fsync, rename, fsync directory
    outcomes = set()
    for cut in range(steps + 1):
        target.write_text(old, encoding="utf-8")
        for leftover in live.iterdir():
            if leftover != target:
                leftover.unlink()
        fs = PowerCutFs(live, cut_before=cut)
        with contextlib.suppress(PowerCut):
            save_learned_map(target, new, fs=fs)
        for mode in MODES:
            after = tmp_path / f"after-{cut}-{mode}"
            fs.materialize(after, mode)
            found = (after / "learned.toml").read_text(encoding="utf-8")
            assert found in (old, new), (cut, mode)
            outcomes.add(found == new)
            load_map(after / "learned.toml")  # whichever it is, it plays
    assert outcomes == {False, True}
