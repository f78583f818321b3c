"""MIDI, OSC and presets on the built instrument: offline takes on the stream clock, the panel's
preset button, program change."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import mido
import numpy as np
import pytest
from gpiozero.pins.mock import MockFactory

from device.app.midi_in import CcTarget, MidiSettings
from device.app.play import PlaySettings, Rig, StreamClock, attach_panel, attach_stage, build_rig
from device.app.presets import PresetSettings
from device.app.settings import InstrumentSettings
from device.app.stage import program_action
from device.audio.offline import run_offline
from device.bus.pinmap import load_pin_map
from device.errors import ConfigError
from device.mapping.map_file import default_map_path

RATE = 48000
BLOCK = 64


@pytest.fixture
def silent_map(tmp_path: Path) -> Path:
    path = tmp_path / "map.toml"
    path.write_text(default_map_path().read_text().replace("idle = 0.2", "idle = 0.0"))
    return path


class Take:
    """An offline take that plays MIDI messages at given stream times, collecting the audio."""

    def __init__(self, settings: PlaySettings, events: list[tuple[float, mido.Message]]) -> None:
        self.clock = StreamClock(RATE)
        self.rig = build_rig(settings, self.clock)
        attach_stage(self.rig, settings, live=False, clock=self.clock)
        self.events = sorted(events, key=lambda e: e[0])
        self.blocks: list[np.ndarray] = []
        self.pitches: list[float] = []

    def before_block(self, t: float) -> None:
        self.clock.frames = round(t * RATE)
        while self.events and self.events[0][0] <= t:
            self.rig.stage.voice.handle(self.events.pop(0)[1])
        self.rig.instrument.poll()
        self.pitches.append(self.rig.engine.pitch)

    def write(self, block: np.ndarray) -> None:
        self.blocks.append(block.copy())

    def run(self, seconds: float) -> np.ndarray:
        try:
            run_offline(self.rig.instrument, self, seconds, sample_rate=RATE, block_frames=BLOCK,
                        before_block=self.before_block)
        finally:
            self.rig.close()
        return np.concatenate(self.blocks)

    def close(self) -> None:
        pass


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x)))) if x.size else 0.0


def test_an_offline_take_with_midi_is_the_same_every_time_and_sounds_from_the_note_on(
        silent_map: Path) -> None:
    midi = MidiSettings(attack_ms=5.0, release_ms=50.0, cc=(CcTarget(1, 0, None, 0.0, 1.0),))
    settings = PlaySettings(gesture=None, map_file=silent_map, instrument=InstrumentSettings(midi=midi))
    events = [(0.5, mido.Message("note_on", note=64, velocity=120)),
              (0.7, mido.Message("control_change", control=1, value=127)),
              (1.0, mido.Message("note_off", note=64))]
    first = Take(settings, list(events)).run(1.5)
    again = Take(settings, list(events)).run(1.5)
    assert np.array_equal(first, again)
    assert rms(first[int(0.2 * RATE): int(0.45 * RATE)]) < 1e-5  # electrodes untouched: silence
    assert rms(first[int(0.55 * RATE): int(0.95 * RATE)]) > 1e-3  # the note
    assert rms(first[int(1.3 * RATE):]) < 1e-5  # released, no stuck note


def test_a_settings_file_is_honoured_by_latent_play_offline(tmp_path: Path, silent_map: Path) -> None:
    from device.app.play import play_offline
    from device.app.settings import load_settings

    path = tmp_path / "instrument.toml"
    path.write_text(f'[presets]\ndir = "{tmp_path / "slots"}"\n[midi]\n')
    settings = PlaySettings(gesture="demo", map_file=silent_map, instrument=load_settings(path))
    result = play_offline(settings, tmp_path / "take.wav", 0.5, report=lambda line: None)
    assert result["seconds"] == 0.5


@pytest.fixture
def panel_rig(tmp_path: Path, pin_factory: MockFactory) -> Iterator[Rig]:
    clock = StreamClock(RATE)
    settings = PlaySettings(gesture=None, instrument=InstrumentSettings(
        presets=PresetSettings(dir=tmp_path / "slots", slots=4)))
    rig = build_rig(settings, clock)
    attach_panel(rig, settings, pin_factory=pin_factory)
    rig.panel.panel.preset_button.hold_time = 0.1  # type: ignore[union-attr]
    attach_stage(rig, settings, live=False, clock=clock, report=lambda line: None)
    for _ in range(10):
        clock.frames += RATE // 100
        rig.control_step()
    yield rig
    rig.close()


def test_the_preset_button_stores_on_hold_and_recalls_on_press(panel_rig: Rig,
                                                               pin_factory: MockFactory) -> None:
    pin = pin_factory.pin(load_pin_map().buttons.preset)
    bank = panel_rig.stage.presets
    stored_point = panel_rig.instrument.latest_state.point
    pin.drive_low()
    deadline = time.monotonic() + 5.0
    # The button thread writes the slot file, then marks it current: wait for both
    while (bank.store.stored() != [1] or bank.current != 1) and time.monotonic() < deadline:
        time.sleep(0.01)
    pin.drive_high()
    assert bank.store.stored() == [1] and bank.store.load(1).point == stored_point
    assert bank.current == 1 and not bank.source.holding  # a hold stores; it does not also recall

    time.sleep(0.06)
    pin.drive_low()
    pin.drive_high()
    deadline = time.monotonic() + 5.0
    while (not bank.source.holding or bank.source.recalls < 1) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert bank.source.holding and bank.source.recalls == 1


def test_program_change_recalls_a_slot_and_says_what_is_missing(panel_rig: Rig) -> None:
    stage = panel_rig.stage
    stage.presets.store_current(3)
    recall = program_action("preset", stage, None, print)
    assert recall is not None
    recall(2)
    assert stage.presets.current == 3 and stage.presets.source.holding
    with pytest.raises(ConfigError, match="no \\[presets\\]"):
        program_action("preset", type(stage)(stage.merge), None, print)(0)  # type: ignore[misc]
    with pytest.raises(Exception, match="has no --store"):
        program_action("model", stage, None, print)(0)  # type: ignore[misc]
    assert program_action("off", stage, None, print) is None


def test_latent_status_shows_midi_and_osc(tmp_path: Path) -> None:
    import socket

    from device.app.osc_link import OscSettings
    from device.app.status_file import describe

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = PlaySettings(gesture=None, instrument=InstrumentSettings(
        midi=MidiSettings(port="nothing-here"), osc=OscSettings(listen_host="127.0.0.1", listen_port=port)))
    rig = build_rig(settings, StreamClock(RATE))
    try:
        attach_stage(rig, settings, live=True)  # threads made, not started: nothing is opened yet
        rig.stage.voice.handle(mido.Message("note_on", note=60, velocity=90))
        doc = {"updated": time.time(), **rig.stage.status()}
        lines = describe(doc, time.time())
    finally:
        rig.stage.stop()
        rig.close()
    assert "midi      no port (looking for it); 1 messages, 1 notes sounding" in lines
    assert f"osc       port {port}: 0 in, 0 refused, 0 rounds out" in lines


def test_an_osc_port_in_use_is_refused_before_anything_plays(tmp_path: Path) -> None:
    import socket

    from device.app.osc_link import OscSettings

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        settings = PlaySettings(gesture=None, instrument=InstrumentSettings(
            osc=OscSettings(listen_host="127.0.0.1", listen_port=port)))
        rig = build_rig(settings, StreamClock(RATE))
        try:
            with pytest.raises(ConfigError, match=f"cannot listen on 127.0.0.1:{port}"):
                attach_stage(rig, settings, live=True)
        finally:
            rig.close()


def test_program_change_can_activate_a_stored_model(tmp_path: Path, panel_rig: Rig) -> None:
    from device.store.store import InstallOptions

    from ..store.bundles import make_bundle, new_store

    store = new_store(tmp_path / "store")
    for name in ("alpha", "beta"):
        store.install_file(make_bundle(tmp_path / f"{name}.bundle", name=name),
                           options=InstallOptions(allow_unsigned=True))
    said: list[str] = []
    activate = program_action("model", panel_rig.stage, tmp_path / "store", said.append)
    assert activate is not None
    activate(0)
    assert new_store(tmp_path / "store").active().name == "alpha"  # type: ignore[union-attr]
    activate(1)
    assert new_store(tmp_path / "store").active().name == "beta"  # type: ignore[union-attr]
    assert said[-1].startswith("MIDI program 1: beta")
    with pytest.raises(Exception, match="no model 2 in the store"):
        activate(2)
