"""`latent bench midi`: MIDI note-on to sound through a real MIDI port, beside the sensor path (bench layer).

A private JACK dummy server carries the MIDI: a virtual keyboard port (python-rtmidi's JACK
backend, as the tests use; on the Pi the ALSA sequencer plays this part) sends note-ons to the
instrument's MIDI input, which applies each note at once from rtmidi's thread
(`Instrument.refresh`); a render thread paced like the audio path renders the instrument, exactly
as `latent bench latency` does for the electrodes. For each note-on sent at t0:

    latency = (t_render - t0) + (render_ahead_frames - block_frames + device_period_frames
              + offset_in_block) / rate

`to_apply_ms` (t0 until the engine has the note: JACK's MIDI delivery, one JACK period at most,
and our handler) and `to_render_ms` are reported beside it. The sensor path's figure comes from
`device.bench.latency_bench` in the same run (`--touches 0` skips it), so the two are compared on
one machine under one load. No C reference: JACK's own MIDI tools measure MIDI transport, not a
note reaching sound, so the sensor path is the fair neighbour.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from device.bench.latency_bench import (
    DEVICE_PERIOD_FRAMES,
    LATENCY_TARGET_MS,
    RENDER_AHEAD_FRAMES,
    PacedRenderer,
    measure_latency,
    spread_ms,
    time_to_sound,
)
from device.engine.params import DEFAULT_SAMPLE_RATE

NAME = "midi"
HELP = "MIDI note-on to sound through a JACK MIDI port, beside the sensor path's latency"
KEYBOARD_CLIENT = "latent-bench-keys"
CONNECT_TIMEOUT_S = 10.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bundle", type=Path, default=None, help="bundle to play (default: the shipped one)")
    parser.add_argument("--notes", type=int, default=60, help="note-ons sent (default: %(default)s)")
    parser.add_argument("--touches", type=int, default=30,
                        help="electrode touches for the sensor path's figure (0: skip; default: %(default)s)")
    parser.add_argument("--block-frames", type=int, default=64, help="render block (default: %(default)s)")
    parser.add_argument("--sample-rate", type=int, default=DEFAULT_SAMPLE_RATE,
                        help="output rate in Hz (default: %(default)s)")


def run(args: argparse.Namespace) -> dict[str, Any]:
    from device.bench.jack_server import JackServer

    with JackServer(args.sample_rate, args.block_frames):
        midi = measure_midi(args.bundle, notes=args.notes, block_frames=args.block_frames,
                            sample_rate=args.sample_rate)
    sensors = None
    if args.touches > 0:
        figures = measure_latency(args.bundle, touches=args.touches, block_frames=args.block_frames,
                                  sample_rate=args.sample_rate, idle_s=0.0)
        sensors = {"touches": figures["touches"], "missed_touches": figures["missed_touches"],
                   "sensor_to_sound_ms": figures["sensor_to_sound_ms"]}
    return {"bench": NAME, **midi, "sensor_path": sensors}


def measure_midi(bundle: Path | None = None, *, notes: int = 60, block_frames: int = 64,
                 sample_rate: int = DEFAULT_SAMPLE_RATE) -> dict[str, Any]:
    """Note-on to sound over a JACK MIDI port (a JACK server must be reachable, see `run`)."""
    import mido

    from device.app.midi_in import MidiSettings, open_backend
    from device.app.play import PlaySettings, attach_stage, build_rig, live_control
    from device.app.settings import InstrumentSettings

    midi_settings = MidiSettings(port=KEYBOARD_CLIENT, api="jack", attack_ms=0.0, release_ms=5.0,
                                 rescan_s=0.05)
    settings = PlaySettings(bundle=bundle, sensors="sim", gesture=None, block_frames=block_frames,
                            sample_rate=sample_rate, instrument=InstrumentSettings(midi=midi_settings))
    output_frames = RENDER_AHEAD_FRAMES - block_frames + DEVICE_PERIOD_FRAMES
    keyboard = open_backend("jack").open_output("keys", virtual=True, client_name=KEYBOARD_CLIENT)
    rig = build_rig(settings)
    try:
        attach_stage(rig, settings, live=True, report=lambda line: None)
        stage = rig.stage
        renderer = PacedRenderer(rig.instrument, block_frames, sample_rate)
        control = live_control(rig, settings)
        renderer.start()
        control.start()
        stage.start()
        try:
            deadline = time.monotonic() + CONNECT_TIMEOUT_S
            while not stage.midi.connected and time.monotonic() < deadline:
                time.sleep(0.01)
            to_apply, to_render, total, missed = [], [], [], 0
            for i in range(notes if stage.midi.connected else 0):
                note = 60 + i % 12
                before = rig.instrument.triggers_applied
                t0 = time.perf_counter()
                keyboard.send(mido.Message("note_on", note=note, velocity=100))
                heard = time_to_sound(rig.instrument, renderer, before, t0, output_frames, 0.0002)
                if heard is None:
                    missed += 1
                else:
                    to_apply.append(heard[0])
                    to_render.append(heard[1])
                    total.append(heard[2])
                keyboard.send(mido.Message("note_off", note=note))
                time.sleep(0.02 + 0.003 * (i % 5))  # vary the phase against the blocks
            connected = stage.midi.connected
        finally:
            stage.stop()
            control.stop()
            renderer.stop()
    finally:
        keyboard.close()
        rig.close()
    sound = spread_ms(total)
    p99 = sound["p99"]
    return {
        "notes": notes,
        "connected": connected,
        "missed_notes": missed if connected else notes,
        "block_frames": block_frames,
        "sample_rate": sample_rate,
        "jack_period_frames": block_frames,
        "render_ahead_frames": RENDER_AHEAD_FRAMES,
        "device_period_frames": DEVICE_PERIOD_FRAMES,
        "to_apply_ms": spread_ms(to_apply),
        "to_render_ms": spread_ms(to_render),
        "midi_to_sound_ms": sound,
        "late_render_blocks": renderer.late_blocks,
        "target_p99_ms": LATENCY_TARGET_MS,
        "meets_target": bool(p99 is not None and connected and missed == 0 and p99 <= LATENCY_TARGET_MS),
    }
