"""Preset slots: store and recall, readable versioned files, refusals, and power cuts at every step."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest

from device.app.control_merge import ControlMerge
from device.app.presets import Preset, PresetBank, PresetSource, PresetStore, read_presets
from device.config_file import top_table
from device.errors import ConfigError, PresetError
from device.mapping.control_state import ControlState
from device.sensors.frame import SensorFrame
from device.store.powercut import MODES, PowerCut, PowerCutFs

OLD = Preset((0.1, 0.2), 48.0, {"grain_ms": 40.0, "mode": "scatter"}, "default", "old")
NEW = Preset((0.9, 0.8, 0.7), 67.0, {"grain_ms": 150.0, "freeze": True}, None, "new")


def test_store_and_load_give_back_the_same_preset_in_a_readable_file(tmp_path: Path) -> None:
    store = PresetStore(tmp_path / "presets", 8)
    path = store.store(3, OLD)
    assert store.load(3) == OLD and store.load(4) is None and store.stored() == [3]
    doc = json.loads(path.read_text())
    assert doc["format"] == "latent-preset" and doc["version"] == 1 and doc["slot"] == 3
    assert path.name == "slot-03.json"


@pytest.mark.parametrize(("change", "words"), [
    ({"version": 2}, "version: is 2, out of range"),
    ({"format": "something"}, "not a preset file"),
    ({"point": [1.5]}, "point[0]: is 1.5, out of range"),
    ({"params": {"volume": 1}}, "params.volume: unknown engine parameter"),
    ({"extra": 1}, "extra: unknown key"),
    ({"slot": 4}, "holds slot 4, not 3"),
])
def test_a_damaged_or_foreign_file_is_refused_by_name(tmp_path: Path, change: dict[str, object],
                                                       words: str) -> None:
    store = PresetStore(tmp_path, 8)
    path = store.store(3, OLD)
    doc = json.loads(path.read_text())
    doc.update(change)
    path.write_text(json.dumps(doc))
    with pytest.raises(PresetError) as caught:
        store.load(3)
    assert words in str(caught.value) and str(path) in str(caught.value)


def test_a_truncated_file_is_refused(tmp_path: Path) -> None:
    store = PresetStore(tmp_path, 8)
    path = store.store(1, OLD)
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(PresetError, match=str(path)):
        store.load(1)


def test_a_preset_the_reader_would_refuse_is_never_written(tmp_path: Path) -> None:
    store = PresetStore(tmp_path, 8)
    with pytest.raises(PresetError, match=r"params\.mode"):
        store.store(1, Preset((0.5,), 60.0, {"mode": "cloud"}))
    assert store.stored() == []


def test_slots_outside_the_range_are_refused(tmp_path: Path) -> None:
    store = PresetStore(tmp_path, 8)
    for slot in (0, 9, True):
        with pytest.raises(PresetError, match=r"use 1\.\.8"):
            store.store(slot, OLD)  # type: ignore[arg-type]


def steps_of_one_store(tmp_path: Path) -> int:
    live = tmp_path / "count"
    (live / "presets").mkdir(parents=True)
    PresetStore(live / "presets", 8).store(2, OLD)
    fs = PowerCutFs(live)
    PresetStore(live / "presets", 8, fs=fs).store(2, NEW)
    return len(fs.steps)


@pytest.mark.parametrize("mode", MODES)
def test_a_power_cut_at_any_step_leaves_the_old_preset_or_the_new_one(tmp_path: Path, mode: str) -> None:
    steps = steps_of_one_store(tmp_path)
    assert steps >= 4  # create, write, fsync, rename, directory fsync
    for cut in range(steps + 1):
        live = tmp_path / f"live-{cut}"
        (live / "presets").mkdir(parents=True)
        PresetStore(live / "presets", 8).store(2, OLD)
        fs = PowerCutFs(live, cut_before=cut)
        with contextlib.suppress(PowerCut):
            PresetStore(live / "presets", 8, fs=fs).store(2, NEW)
        image = tmp_path / f"after-{cut}-{mode}"
        fs.materialize(image, mode)
        found = PresetStore(image / "presets", 8).load(2)
        assert found in (OLD, NEW), (cut, fs.steps)
        if cut == steps:  # no cut: every step ran, the directory was synced
            assert found == NEW
    # Stray temporary files never count as slots.
    assert PresetStore(image / "presets", 8).stored() == [2]


def test_a_first_store_into_a_new_directory_survives_a_power_cut_after_it_returns(tmp_path: Path) -> None:
    live = tmp_path / "live"
    live.mkdir()
    fs = PowerCutFs(live)
    PresetStore(live / "presets", 8, fs=fs).store(1, NEW)
    fs.materialize(tmp_path / "after", "power")
    assert PresetStore(tmp_path / "after" / "presets", 8).load(1) == NEW


class Sensors:
    """A mapper standing in for the sensors: the test moves its point."""

    def __init__(self) -> None:
        self.point = (0.5, 0.5)
        self.preset = "default"
        self.preset_names = ("default", "bright")
        self.set_to: str | None = None

    def update(self, frame: SensorFrame) -> ControlState:
        return ControlState(self.point, 60.0, {"gain": 0.3, "grain_ms": 80.0})

    def set_preset(self, name: str) -> None:
        self.set_to = name


def test_recall_holds_the_preset_until_the_sensors_move_away(tmp_path: Path) -> None:
    sensors = Sensors()
    merge = ControlMerge(sensors)
    source = PresetSource(lambda: merge.base, takeover=0.05)
    merge.add(source)
    latest: list[ControlState] = []
    bank = PresetBank(PresetStore(tmp_path, 8), source, lambda: latest[-1], sensors)
    latest.append(merge.update(SensorFrame(0.0, {})))
    assert bank.store_current(5) == 5
    stored = bank.store.load(5)
    assert stored is not None and stored.point == (0.5, 0.5) and "gain" not in stored.params

    bank.store.store(6, Preset((0.1, 0.9), 72.0, {"grain_ms": 30.0}, "bright"))
    bank.recall(6)
    assert sensors.set_to == "bright"
    state = merge.update(SensorFrame(0.1, {}))
    assert state.point == (0.1, 0.9) and state.pitch == 72.0 and state.params["grain_ms"] == 30.0
    assert state.params["gain"] == 0.3  # the hands keep the level
    sensors.point = (0.52, 0.5)  # a tremble: the preset holds
    assert merge.update(SensorFrame(0.2, {})).point == (0.1, 0.9)
    sensors.point = (0.7, 0.5)  # a real move: the sensors take over
    assert merge.update(SensorFrame(0.3, {})).point == (0.7, 0.5)
    assert source.taken_over == 1 and not source.holding


def test_recall_next_cycles_through_stored_slots_and_program_change_picks_one(tmp_path: Path) -> None:
    source = PresetSource(lambda: None)
    bank = PresetBank(PresetStore(tmp_path, 8), source, lambda: None)
    assert bank.recall_next() is None
    for slot in (2, 5):
        bank.store.store(slot, OLD)
    assert [bank.recall_next() for _ in range(3)] == [2, 5, 2]
    bank.program_change(4)
    assert bank.current == 5
    with pytest.raises(PresetError, match="slot 3 is empty"):
        bank.program_change(2)


def test_the_presets_section_is_read_strictly() -> None:
    settings = read_presets(top_table({"dir": "/x", "slots": 4}, "t.toml"))
    assert settings.slots == 4 and str(settings.dir) == "/x"
    with pytest.raises(ConfigError, match="slot: unknown key; allowed in the top level: dir, slots, takeover"
                       ):
        read_presets(top_table({"slots": 4, "slot": 3}, "t.toml"))
