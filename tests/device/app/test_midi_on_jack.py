"""MIDI through real ports into the live instrument: python-rtmidi's JACK backend on the JACK dummy
server the audio tests start (this machine has no ALSA sequencer; the Pi uses ALSA's).

A virtual keyboard port is opened on JACK; the instrument (sensors polled by the control thread,
the engine rendering into PortAudio's ring on the same server) finds it by name and connects.
Everything is judged by the engine's state and output, waiting for it with a generous deadline,
never by how long it took (`latent bench midi` measures that).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import mido
import numpy as np
import pytest

from device.app.audio_tap import AudioTap
from device.app.midi_in import CcTarget, MidiSettings
from device.app.play import PlaySettings, Rig, attach_stage, live_output_and_control, open_live_rig
from device.app.settings import InstrumentSettings
from device.bench.jack_server import DUMMY_DEVICE, JackServer
from device.mapping.map_file import default_map_path

from .waiting import wait_for

pytestmark = [pytest.mark.jack]



@pytest.fixture
def silent_map(tmp_path: Path) -> Path:
    """The shipped map with a silent idle level, so that only a note sounds."""
    text = default_map_path().read_text()
    assert "idle = 0.2" in text
    path = tmp_path / "map.toml"
    path.write_text(text.replace("idle = 0.2", "idle = 0.0"))
    return path


@pytest.fixture
def keyboard(jack_server: JackServer) -> Iterator[mido.ports.BaseOutput]:
    backend = mido.Backend("mido.backends.rtmidi/UNIX_JACK", load=True)
    port = backend.open_output("keys", virtual=True, client_name="testkbd")
    try:
        yield port
    finally:
        if not port.closed:
            port.close()


@pytest.fixture
def live(jack_server: JackServer, silent_map: Path, keyboard: mido.ports.BaseOutput) -> Iterator[Rig]:
    midi = MidiSettings(port="testkbd", api="jack", attack_ms=2.0, release_ms=30.0, rescan_s=0.1,
                        cc=(CcTarget(1, 0, None, 0.0, 1.0),), cc_out=True, cc_out_rate_hz=100.0)
    settings = PlaySettings(gesture=None, block_frames=64, sample_rate=48000, device=DUMMY_DEVICE,
                            map_file=silent_map, instrument=InstrumentSettings(midi=midi))
    rig, _ = open_live_rig(settings, print)
    rig.instrument.tap = AudioTap(48000)
    output, control = live_output_and_control(rig, settings)
    attach_stage(rig, settings, live=True)
    control.start()
    rig.stage.start()
    try:
        with output.start(rig.instrument):
            wait_for(lambda: rig.stage.midi.connected, "the instrument connects to the keyboard's port")
            yield rig
    finally:
        rig.stage.stop()
        control.stop()
        rig.close()


def loudness(rig: Rig) -> float:
    """RMS of what the engine rendered since the last call."""
    assert rig.instrument.tap is not None
    rig.instrument.tap.read()
    time.sleep(0.05)
    block = rig.instrument.tap.read()
    return float(np.sqrt(np.mean(np.square(block)))) if block.size else 0.0


def test_a_note_on_reaches_the_engine_and_sounds(live: Rig, keyboard: mido.ports.BaseOutput) -> None:
    engine = live.engine
    wait_for(lambda: engine.params.gain == 0.0, "silence before any note")
    triggers = live.instrument.triggers_applied
    keyboard.send(mido.Message("note_on", note=67, velocity=127))
    wait_for(lambda: engine.pitch == 67.0 and engine.params.gain > 0.9, "the note's pitch and level")
    assert live.instrument.triggers_applied == triggers + 1
    assert loudness(live) > 1e-3
    keyboard.send(mido.Message("note_off", note=67))
    wait_for(lambda: engine.params.gain == 0.0, "silence after the note-off's release")


def test_all_notes_off_leaves_no_stuck_note(live: Rig, keyboard: mido.ports.BaseOutput) -> None:
    engine = live.engine
    keyboard.send(mido.Message("control_change", control=64, value=127))
    for note in (60, 64, 67):
        keyboard.send(mido.Message("note_on", note=note, velocity=100))
    wait_for(lambda: live.stage.voice.sounding_notes == (60, 64, 67), "three notes held")
    keyboard.send(mido.Message("control_change", control=123, value=0))
    wait_for(lambda: engine.params.gain == 0.0, "silence after all-notes-off")
    assert live.stage.voice.sounding_notes == ()
    wait_for(lambda: loudness(live) < 1e-5, "the last grains fade out")


def test_a_port_that_disappears_leaves_no_stuck_note(live: Rig, keyboard: mido.ports.BaseOutput) -> None:
    engine = live.engine
    keyboard.send(mido.Message("note_on", note=72, velocity=127))
    wait_for(lambda: engine.pitch == 72.0 and engine.params.gain > 0.9, "the note sounds")
    keyboard.close()  # the keyboard is unplugged with the key still down
    wait_for(lambda: live.stage.midi.disconnects == 1, "the instrument notices the port went away")
    wait_for(lambda: engine.params.gain == 0.0, "silence after the port went away")
    assert live.stage.voice.sounding_notes == ()
    assert not live.stage.midi.connected


def test_a_cc_moves_a_latent_axis_and_the_position_goes_out_as_ccs(live: Rig,
                                                                   keyboard: mido.ports.BaseOutput) -> None:
    backend = mido.Backend("mido.backends.rtmidi/UNIX_JACK", load=True)
    wait_for(lambda: "latent:out" in backend.get_input_names(), "the instrument's CC output port")
    received: list[mido.Message] = []
    lights = backend.open_input("latent:out", callback=received.append)  # a lighting desk, say
    try:
        keyboard.send(mido.Message("control_change", control=1, value=127))
        wait_for(lambda: live.engine.point[0] == 1.0, "CC 1 moves latent axis 0 to its end")
        wait_for(lambda: any(m.control == 20 and m.value == 127 for m in received), "CC 20 = 127 out")
        keyboard.send(mido.Message("control_change", control=1, value=0))
        wait_for(lambda: [m.value for m in received if m.control == 20][-1:] == [0], "CC 20 = 0 out")
    finally:
        lights.close()
