"""MIDI, OSC and presets attached to a built instrument, as the settings file asks (app layer).

`open_stage(rig, settings)` makes the control sources that `device.app.control_merge` combines
with the sensors (`MidiVoice`, `OscSource`, `PresetSource`) and, for a live run, the threads that
feed them (`MidiInput`, `OscLink`); `start()` and `stop()` run those threads. An offline run
(a WAV take) gets the same sources without ports or sockets, and the clock of the rendered
stream, so a test can feed MIDI messages (`voice.handle`) and OSC datagrams (through
`device.app.osc_link.dispatcher_for(osc_source, prefix)`) at exact stream times and get the same
take every time.

Program change: with `program = "preset"` (the default) program N recalls preset slot N + 1; with
`"model"` it activates the N-th bundle of the model store (in `latent models list` order), which
the model watcher then crossfades in.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from device.app.control_merge import ControlMerge
from device.app.midi_in import MidiInput, MidiVoice
from device.app.osc_link import OscLink, OscSource
from device.app.presets import PresetBank, PresetSource, PresetStore
from device.app.settings import InstrumentSettings
from device.errors import ConfigError, StoreError


@dataclass
class Stage:
    """The sources and threads `open_stage` made (each None when its section is absent)."""

    merge: ControlMerge
    voice: MidiVoice | None = None
    midi: MidiInput | None = None
    osc_source: OscSource | None = None
    osc: OscLink | None = None
    presets: PresetBank | None = None

    def start(self) -> None:
        for thread in (self.midi, self.osc):
            if thread is not None:
                thread.start()

    def stop(self) -> None:
        for thread in (self.midi, self.osc):
            if thread is not None:
                thread.stop()
        if self.voice is not None:
            self.voice.panic(hard=True)

    def status(self) -> dict[str, Any]:
        """What `latent status` shows of MIDI and OSC."""
        doc: dict[str, Any] = {}
        if self.midi is not None:
            doc["midi"] = {"port": self.midi.port_name, "connected": self.midi.connected,
                           "disconnects": self.midi.disconnects, "problem": self.midi.last_error}
        if self.voice is not None:
            doc.setdefault("midi", {}).update(messages=self.voice.messages,
                                              notes=list(self.voice.sounding_notes))
        if self.osc is not None and self.osc_source is not None:
            doc["osc"] = {"port": self.osc.port, "in": self.osc_source.accepted,
                          "refused": self.osc_source.refused, "sent": self.osc.sent,
                          "rate_limited_s": self.osc.rate_limited}
        return doc


def open_stage(rig: Any, settings: InstrumentSettings, *, live: bool,
               clock: Callable[[], float] = time.monotonic, store: Path | None = None,
               health: Callable[[], str | None] | None = None,
               report: Callable[[str], None] = print) -> Stage:
    """The sources (and, when `live`, the threads) for `rig`; nothing is started yet."""
    merge = rig.instrument.mapper
    if not isinstance(merge, ControlMerge):
        raise TypeError("the rig's instrument must map through a ControlMerge (device.app.play.build_rig)")
    instrument = rig.instrument
    stage = Stage(merge)

    if settings.presets is not None:
        p = settings.presets
        source = PresetSource(lambda: merge.base, p.takeover)
        merge.add(source)
        stage.presets = PresetBank(PresetStore(p.dir, p.slots), source,
                                   lambda: instrument.latest_state, rig.mapper)

    if settings.midi is not None:
        m = settings.midi

        def note_now() -> None:  # apply a note at once, not at the next sensor poll
            if live:
                instrument.refresh(clock())

        voice = MidiVoice(m, clock=clock, on_note=note_now)
        merge.add(voice)
        stage.voice = voice
        if live:
            def point() -> tuple[float, ...] | None:
                state = instrument.latest_state
                return None if state is None else state.point

            stage.midi = MidiInput(voice, m, point=point, report=report,
                                   program_action=program_action(m.program, stage, store, report))

    if settings.osc is not None:
        osc_source = OscSource(clock=clock, on_preset=stage.presets.recall if stage.presets else None)
        merge.add(osc_source)
        stage.osc_source = osc_source
        if live:
            def snapshot() -> dict[str, Any] | None:
                state = instrument.latest_state
                if state is None:
                    return None
                frame = instrument.last_frame
                touches = [v for k, v in sorted(frame.values.items(), key=lambda kv: _channel_order(kv[0]))
                           if k.startswith("e")] if frame is not None else []
                return {"point": state.point, "pitch": state.pitch, "touches": touches,
                        "problem": health() if health is not None else None}

            try:
                stage.osc = OscLink(settings.osc, osc_source, snapshot, report=report)
            except OSError as err:
                raise ConfigError(f"[osc] cannot listen on {settings.osc.listen_host}:"
                                  f"{settings.osc.listen_port} ({err.strerror or err}); choose another "
                                  "listen_port or stop what uses it") from err
    return stage


def _channel_order(name: str) -> tuple[str, int]:
    digits = name.lstrip("abcdefghijklmnopqrstuvwxyz")
    return name[: len(name) - len(digits)], int(digits) if digits.isdigit() else 0


def program_action(kind: str, stage: Stage, store: Path | None,
                   report: Callable[[str], None]) -> Callable[[int], None] | None:
    """What a MIDI program change does (run on the MIDI thread, which may write files)."""
    if kind == "preset":
        def recall(program: int) -> None:
            if stage.presets is None:
                raise ConfigError("program change recalls presets, but the settings have no [presets]")
            stage.presets.program_change(program)
        return recall
    if kind == "model":
        def activate(program: int) -> None:
            if store is None:
                raise StoreError("program change selects models, but `latent play` has no --store")
            from device.store.store import ModelStore

            models = ModelStore(store)
            bundles = [b for b in models.bundles() if b.problem is None]
            if not 0 <= program < len(bundles):
                raise StoreError(f"no model {program} in the store ({len(bundles)} stored)")
            chosen = models.activate(bundles[program].sha256)
            report(f"MIDI program {program}: {chosen.label()}")
        return activate
    return None
