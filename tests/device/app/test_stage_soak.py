"""A 30-minute offline soak of the stage and the gallery together, faster than real time: every 5
minutes a player comes to the MIDI keyboard (notes released and not, the sustain pedal, bends,
CCs, a program change, an all-notes-off, the keyboard unplugged and plugged back in) and an OSC
controller sends values (good and bad); in between nobody plays and gallery mode drifts.
Afterwards no note is stuck, the gallery handed over and back at every visit, the output stayed
finite and under the room's level cap, and the memory the instrument holds has not grown.

MIDI arrives as it does live, through `MidiInput` and its rtmidi port callback: the port is a
fake of mido's backend (the two calls `MidiInput` makes of it), so the keyboard can be unplugged
and the real watcher thread notices (the stream clock waits for it, so the take stays exact).
OSC arrives as whole datagrams through the live link's own dispatcher
(`device.app.osc_link.dispatcher_for`), on the stream clock.

Made cheap where it does not matter, as the gallery soak is: 8 kHz, 64 ms blocks, one sensor
poll per block, a small sine bank.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import mido
import numpy as np
import pytest
from pythonosc.osc_message_builder import OscMessageBuilder

from device.app.gallery_settings import GallerySettings
from device.app.midi_in import CcTarget, MidiInput, MidiSettings
from device.app.osc_link import OscSettings, dispatcher_for
from device.app.play import PlaySettings, StreamClock, attach_gallery_mode, attach_stage, build_rig
from device.app.presets import Preset, PresetSettings, PresetStore
from device.app.settings import InstrumentSettings
from device.app.stage import program_action
from device.audio.offline import run_offline
from device.mapping.map_file import default_map_path

from ..engine.banks import midi_hz, sine_bank
from .soak_memory import SoakMemory
from .waiting import wait_for

RATE = 8000
BLOCK = 512
BLOCK_S = BLOCK / RATE
MINUTES = 30
LOOP_S = 300
RELEASE_S = 0.25
IDLE_S = 60.0
CAP_DB = -6.0
KEYBOARD = "Soak Keys:out 1"
START = dt.datetime(2026, 3, 1, 14, 0)


class FakePort:
    """An open rtmidi input as mido hands it out: the callback it calls with each message."""

    def __init__(self, callback: Callable[[mido.Message], None]) -> None:
        self.callback = callback
        self.closed = False

    def close(self) -> None:
        self.closed = True


class FakeMidiBackend:
    """mido's backend as far as `MidiInput` uses it (list the inputs, open one with a callback):
    one USB keyboard, which the test can unplug and plug back in."""

    def __init__(self) -> None:
        self.plugged = True
        self.port: FakePort | None = None

    def get_input_names(self) -> list[str]:
        return [KEYBOARD] if self.plugged else []

    def open_input(self, name: str, callback: Callable[[mido.Message], None]) -> FakePort:
        assert self.plugged and name == KEYBOARD
        self.port = FakePort(callback)
        return self.port

    def play(self, msg: mido.Message) -> None:
        port = self.port
        assert self.plugged and port is not None and not port.closed, f"{msg} sent to an unplugged keyboard"
        port.callback(msg)


def osc(address: str, *args: Any) -> bytes:
    builder = OscMessageBuilder(address)
    for arg in args:
        builder.add_arg(arg)
    return builder.build().dgram


def visit() -> tuple[list[tuple[float, str, Any]], list[float], list[tuple[float, float]]]:
    """One visit (offsets into a loop): the events, the moments every note ends (the release starts),
    and the stretches that must be silent (released, nothing else sounding, gallery not yet back)."""
    m = mido.Message
    events: list[tuple[float, str, Any]] = [
        (2.0, "midi", m("note_on", note=60, velocity=100)),
        (2.5, "midi", m("pitchwheel", pitch=4096)),
        (3.0, "midi", m("control_change", control=1, value=100)),  # latent axis 0
        (3.0, "midi", m("control_change", control=74, value=40)),  # grain_ms
        (3.5, "midi", m("pitchwheel", pitch=0)),
        (4.0, "midi", m("note_off", note=60)),  # released
        (5.0, "midi", m("control_change", control=64, value=127)),  # pedal down
        (5.2, "midi", m("note_on", note=64, velocity=127)),
        (5.6, "midi", m("note_off", note=64)),  # kept by the pedal...
        (6.4, "midi", m("control_change", control=64, value=0)),  # ...until it is lifted
        (8.0, "midi", m("note_on", note=67, velocity=80)),  # two notes never released...
        (8.2, "midi", m("note_on", note=71, velocity=90)),
        (9.0, "midi", m("control_change", control=123, value=0)),  # ...until all-notes-off
        (10.0, "midi", m("program_change", program=0)),  # preset slot 1
        (12.0, "osc", osc("/latent/axis", 1, 0.8)),
        (12.0, "osc", osc("/latent/pitch", 62.0)),
        (12.0, "osc", osc("/latent/param", "grain_ms", 80.0)),
        (12.0, "osc", osc("/latent/trigger")),
        (12.5, "osc", osc("/latent/axis", 99, 0.5)),  # refused: no such axis
        (12.5, "osc", osc("/latent/volume", 1.0)),  # refused: no such address
        (13.0, "osc", osc("/latent/point", 0.2, 0.7)),
        (13.0, "osc", osc("/latent/preset", 1)),
        (14.0, "osc", osc("/latent/release")),
        (20.0, "midi", m("note_on", note=72, velocity=100)),  # held when...
        (21.0, "unplug", None),  # ...the keyboard is pulled out: the watcher ends the note
        (25.0, "plug", None),
    ]
    ends = [4.0, 6.4, 9.0, 21.0]
    silent = [(4.0, 5.0), (6.4, 8.0), (9.0, 20.0), (21.0, 80.0)]
    return events, ends, silent


@pytest.mark.slow
def test_half_an_hour_of_stage_traffic_in_gallery_mode_leaves_no_stuck_note_and_no_growth(
        tmp_path: Path) -> None:
    bank = tmp_path / "grid.bundle"
    sine_bank(bank, steps=(3, 3), pitches=[48, 60], sample_rate=RATE, seconds=0.5,
              frequency=lambda g, p: midi_hz(48 + 12 * p) * (1 + 0.1 * g[0] + 0.05 * g[1]))
    silent_map = tmp_path / "map.toml"  # untouched electrodes are silent: a stuck note is heard
    silent_map.write_text(default_map_path().read_text().replace("idle = 0.2", "idle = 0.0"))
    slots = tmp_path / "slots"
    PresetStore(slots).store(1, Preset((0.9, 0.1), 55.0, {"grain_ms": 150.0}))
    instrument = InstrumentSettings(
        midi=MidiSettings(attack_ms=5.0, release_ms=RELEASE_S * 1000, rescan_s=0.05,
                          cc=(CcTarget(1, 0, None, 0.0, 1.0), CcTarget(74, None, "grain_ms", 20.0, 200.0))),
        osc=OscSettings(listen_port=0, send_host="127.0.0.1"),
        presets=PresetSettings(dir=slots, slots=4),
        gallery=GallerySettings(idle_s=IDLE_S, speed=0.05, pitch_every_s=20.0, level_cap_db=CAP_DB))
    settings = PlaySettings(bundle=bank, gesture=None, map_file=silent_map, sample_rate=RATE,
                            block_frames=BLOCK, instrument=instrument, wall_start=START)
    clock = StreamClock(RATE)
    rig = build_rig(settings, clock)
    said: Counter[str] = Counter()  # repeated lines are kept once: the log must not grow the heap

    def report(line: str) -> None:
        said[line] += 1

    events: list[tuple[float, str, Any]] = []
    ends: list[float] = []
    silent: list[tuple[float, float]] = []
    one_events, one_ends, one_silent = visit()
    for loop in range(MINUTES * 60 // LOOP_S):
        o = loop * LOOP_S
        events += [(o + t, kind, payload) for t, kind, payload in one_events]
        ends += [o + t for t in one_ends]
        silent += [(o + a, o + b) for a, b in one_silent]

    blocks = -(-MINUTES * 60 * RATE // BLOCK)
    peaks = np.zeros(blocks, dtype=np.float32)
    modes = np.zeros(blocks, dtype=np.int8)  # 0 play, 1 drift, 2 quiet
    levels = np.zeros(blocks)  # the MIDI voice's envelope
    notes = np.zeros(blocks, dtype=np.int8)  # notes held or sustained
    points = np.zeros((blocks, 2))
    pitches = np.zeros(blocks)
    codes = {"play": 0, "drift": 1, "quiet": 2}
    memory = SoakMemory()
    keyboard = FakeMidiBackend()
    midi: MidiInput | None = None
    try:
        attach_stage(rig, settings, live=False, clock=clock, report=report)
        attach_gallery_mode(rig, settings, wall_clock=lambda: START + dt.timedelta(seconds=clock()),
                            report=report)
        stage, gallery = rig.stage, rig.gallery
        assert stage.voice is not None and stage.osc_source is not None and gallery is not None
        voice = stage.voice
        # The live MIDI thread on the fake keyboard (open_stage makes it only for a live run).
        midi = MidiInput(voice, instrument.midi, program_action=program_action("preset", stage, None, report),
                         report=report, backend=keyboard)
        osc_in = dispatcher_for(stage.osc_source, instrument.osc.prefix)
        midi.start()
        wait_for(lambda: midi.connects == 1, "the keyboard to be found", 5.0)
        pending = iter(events)
        upcoming: list[tuple[float, str, Any] | None] = [next(pending, None)]

        def play(kind: str, payload: Any) -> None:
            assert midi is not None
            if kind == "midi":
                programs = midi.programs_run
                keyboard.play(payload)
                if payload.type == "program_change":  # run on the MIDI thread: wait for it
                    wait_for(lambda: midi.programs_run > programs, "the program change", 5.0)
            elif kind == "osc":
                osc_in.call_handlers_for_packet(payload, ("127.0.0.1", 9000))
            elif kind == "unplug":
                gone = midi.disconnects
                keyboard.plugged = False
                wait_for(lambda: midi.disconnects > gone, "the watcher to see the keyboard gone", 5.0)
            else:
                found = midi.connects
                keyboard.plugged = True
                wait_for(lambda: midi.connects > found, "the watcher to find the keyboard again", 5.0)

        def before_block(t: float) -> None:
            clock.frames = round(t * RATE)
            while (event := upcoming[0]) is not None and event[0] <= t:
                play(event[1], event[2])
                upcoming[0] = next(pending, None)
            rig.instrument.poll()
            i = round(t * RATE) // BLOCK
            modes[i] = codes[gallery.mode]
            levels[i] = voice.level(t)
            notes[i] = len(voice.sounding_notes)
            points[i] = rig.engine.point
            pitches[i] = rig.engine.pitch
            memory.sample(int(t))

        class Peaks:
            def write(self, block: np.ndarray) -> None:
                peaks[i_block[0]] = float(np.max(np.abs(block)))
                i_block[0] += 1

        i_block = [0]
        with memory:
            frames = run_offline(rig.instrument, Peaks(), float(MINUTES * 60), sample_rate=RATE,
                                 block_frames=BLOCK, before_block=before_block)
        assert frames == MINUTES * 60 * RATE and upcoming[0] is None  # every event was played
        times = np.arange(blocks) * BLOCK_S

        # Memory: after the first visit nothing grows, in all and in what the instrument's code holds.
        memory.assert_nothing_grows()

        # No stuck note: at every note's end the envelope is down to 0 within the release time and
        # nothing is held; the audio is silent from then on until someone (or the gallery) plays.
        for end in ends:
            i = int(np.searchsorted(times, end + RELEASE_S))
            assert levels[i] == 0.0 and notes[i] == 0, (end, levels[i], notes[i])
        for a, b in silent:
            quiet = (times >= a + RELEASE_S + 2 * BLOCK_S) & (times + BLOCK_S <= b)
            assert quiet.any() and float(peaks[quiet].max()) < 1e-4, (a, b, float(peaks[quiet].max()))
        assert voice.sounding_notes == () and notes[-1] == 0 and levels[-1] == 0.0
        assert midi.disconnects == 6 and midi.connects == 7 and midi.programs_run == 6 and midi.errors == 0
        assert said[f"MIDI port {KEYBOARD!r} disappeared: all notes off; waiting for it"] == 6
        source = stage.osc_source
        assert source.accepted == 6 * 7 and source.refused == 6 * 2
        assert stage.presets.source.recalls == 12  # program change and /preset, every visit

        # The gallery: drifts from a minute after the keyboard was pulled out (the last touch),
        # hands back within one block of each visit's first note (the drift is asked before the
        # keyboard in each poll, so it sees the note in the next one), and nothing else changes its mind.
        changes = [(float(times[i]), int(modes[i])) for i in range(1, blocks) if modes[i] != modes[i - 1]]
        first_notes = [o + 2.0 for o in range(LOOP_S, MINUTES * 60, LOOP_S)]
        drift_from = [o + 21.0 + IDLE_S for o in range(0, MINUTES * 60, LOOP_S)]
        assert [c[1] for c in changes] == [1, 0] * 5 + [1], changes
        note_blocks = np.searchsorted(times, first_notes)  # the block each note arrived before
        handbacks = np.searchsorted(times, [at for at, _ in changes[1::2]])
        assert np.all((handbacks - note_blocks >= 0) & (handbacks - note_blocks <= 1)), changes
        assert [c[0] for c in changes[0::2]] == pytest.approx(drift_from, abs=2 * BLOCK_S)
        assert gallery.episodes == 6 and gallery.handbacks == 5 and gallery.drifting

        # While it drifts the sound moves: both latent axes and the pitch, whatever the player left
        # held (a CC on axis 0, a recalled preset) before walking away.
        for start in drift_from:
            span = (times >= start + 1.0) & (times < start + 200.0)
            assert modes[span].min() == 1
            moved = np.ptp(points[span], axis=0)
            assert moved.min() > 0.1, (start, moved)
            assert len(np.unique(pitches[span])) > 1

        # The output: finite, and never over the room's level cap (the notes' peaks would be).
        assert rig.engine.nonfinite_samples == 0 and np.isfinite(peaks).all()
        assert float(peaks.max()) <= 10 ** (CAP_DB / 20) + 1e-6 and rig.engine.limited_samples > 0
    finally:
        if midi is not None:
            midi.stop()
        rig.close()

