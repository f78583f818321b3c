"""MIDI in (and optional CC out) for the playing instrument: notes, bend, sustain, CCs, programs (app layer).

`MidiVoice` is the musical part and has no I/O: it takes mido messages and is a control source
of `device.app.control_merge` (monophonic, last note wins). A note-on sets the pitch, starts a
grain (a trigger) and an attack from the present level to the note's level (velocity scaled by
`velocity`, times `gain`) over `attack_ms`, applied through the engine's `gain` parameter; when the
last note is released (and the sustain pedal is up) the level falls to 0 over `release_ms`.
The envelope is a pure function of message time and the control thread's `now`, so offline runs
with a simulated clock are exact. Pitch bend moves the pitch by up to `bend_range` semitones.
CCs set latent axes or engine parameters as `[[midi.cc]]` says; program change calls
`on_program` (a preset slot or a stored model, see device.app.play).

No note can stick: all-notes-off (CC 123) releases every note whatever the pedal, all-sound-off
(CC 120) silences at once, reset-all-controllers (CC 121) lifts the pedal and centres the bend,
and `MidiInput` calls `panic()` when its port disappears or closes.

Threads: messages arrive on python-rtmidi's own input thread (never the audio thread), where
`handle` only replaces one immutable snapshot that the control thread reads; `MidiInput`'s
thread watches the port (reconnecting when it comes back), runs program changes (they write
files) and sends CC out, so nothing slow runs in rtmidi's callback.

Backends: python-rtmidi through mido; `api = "jack"` uses rtmidi's JACK MIDI, `"alsa"` the ALSA
sequencer (a Pi), `"auto"` rtmidi's default. On a Pi without a python-rtmidi wheel Debian's
`python3-rtmidi` serves (see deploy/README.md).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from device.app.control_merge import HUMAN_HOLD_S, PRIORITY_MIDI, Contribution
from device.config_file import TableReader
from device.errors import ConfigError
from device.mapping.config import CONTINUOUS_PARAMS, MAX_AXES
from device.mapping.control_state import ParamValue

APIS = {"auto": "", "jack": "UNIX_JACK", "alsa": "LINUX_ALSA"}
_API_NAMES = {2: "LINUX_ALSA", 3: "UNIX_JACK"}  # python-rtmidi's API_LINUX_ALSA, API_UNIX_JACK
PROGRAM_ACTIONS = ("preset", "model", "off")
CC_PARAMS = (*CONTINUOUS_PARAMS, "freeze")

# Channel-mode messages (MIDI 1.0): what keeps notes from sticking.
CC_SUSTAIN = 64
CC_ALL_SOUND_OFF = 120
CC_RESET_CONTROLLERS = 121
CC_ALL_NOTES_OFF = 123
CC_OMNI_POLY = (124, 125, 126, 127)  # these also end all notes (MIDI 1.0)


@dataclass(frozen=True)
class CcTarget:
    """One `[[midi.cc]]`: controller `cc` moves latent `axis` or engine `param` from `min` to `max`."""

    cc: int
    axis: int | None
    param: str | None
    min: float
    max: float


@dataclass(frozen=True)
class MidiSettings:
    """The `[midi]` section (see docs/instrument-settings.md)."""

    port: str = ""  # part of the input port's name ("" = the first one found)
    virtual: bool = False  # open our own input port "latent:in" for others to connect to
    api: str = "auto"
    channel: int = 0  # 1..16, 0 = every channel
    attack_ms: float = 5.0
    release_ms: float = 250.0
    gain: float = 1.0
    velocity: float = 1.0  # 0: every note at `gain`; 1: level follows velocity linearly
    bend_range: float = 2.0
    program: str = "preset"
    cc: tuple[CcTarget, ...] = ()
    rescan_s: float = 1.0
    cc_out: bool = False
    cc_out_port: str = ""  # "" = our own virtual output "latent:out"
    cc_out_channel: int = 1
    cc_out_first: int = 20  # latent axis i goes out as CC (cc_out_first + i)
    cc_out_rate_hz: float = 30.0


def read_midi(table: TableReader) -> MidiSettings:
    """The `[midi]` section, strictly (unknown keys and bad ranges refused with file:line)."""
    d = MidiSettings()
    targets: list[CcTarget] = []
    for item in table.tables("cc"):
        cc = item.integer("cc", lo=0, hi=119)
        has_axis, has_param = item.has("axis"), item.has("param")
        if has_axis == has_param:
            raise item.fail(None, "needs exactly one of axis or param")
        axis = item.integer("axis", lo=0, hi=MAX_AXES - 1) if has_axis else None
        param = item.choice("param", CC_PARAMS) if has_param else None
        lo, hi = (0.0, 1.0) if param is None or param == "freeze" else CONTINUOUS_PARAMS[param]
        low = item.number("min", lo, lo=lo, hi=hi)
        high = item.number("max", hi, lo=lo, hi=hi)
        item.finish()
        if any(t.cc == cc for t in targets):
            raise item.fail("cc", f"is {cc}, mapped twice", "each controller once")
        targets.append(CcTarget(cc, axis, param, low, high))
    settings = MidiSettings(
        port=table.string("port", d.port),
        virtual=table.boolean("virtual", d.virtual),
        api=table.choice("api", tuple(APIS), d.api),
        channel=table.integer("channel", d.channel, lo=0, hi=16),
        attack_ms=table.number("attack_ms", d.attack_ms, lo=0.0, hi=10000.0),
        release_ms=table.number("release_ms", d.release_ms, lo=0.0, hi=30000.0),
        gain=table.number("gain", d.gain, lo=0.0, hi=CONTINUOUS_PARAMS["gain"][1]),
        velocity=table.number("velocity", d.velocity, lo=0.0, hi=1.0),
        bend_range=table.number("bend_range", d.bend_range, lo=0.0, hi=48.0),
        program=table.choice("program", PROGRAM_ACTIONS, d.program),
        cc=tuple(targets),
        rescan_s=table.number("rescan_s", d.rescan_s, lo=0.05, hi=60.0),
        cc_out=table.boolean("cc_out", d.cc_out),
        cc_out_port=table.string("cc_out_port", d.cc_out_port),
        cc_out_channel=table.integer("cc_out_channel", d.cc_out_channel, lo=1, hi=16),
        cc_out_first=table.integer("cc_out_first", d.cc_out_first, lo=0, hi=119 - MAX_AXES + 1),
        cc_out_rate_hz=table.number("cc_out_rate_hz", d.cc_out_rate_hz, lo=1.0, hi=200.0),
    )
    if settings.virtual and settings.port:
        raise table.fail("port", "is set together with virtual = true",
                         "either a port to connect to or virtual = true")
    table.finish()
    return settings


@dataclass(frozen=True, slots=True)
class _Snapshot:
    """Everything `contribute` needs, replaced whole on every message (read without a lock)."""

    note: int | None = None  # sounding note (held or sustained), None when none
    last_note: int | None = None  # pitch of the release tail
    bend: float = 0.0  # semitones
    env_from: float = 0.0
    env_to: float = 0.0
    env_t0: float = 0.0
    env_s: float = 0.0
    triggers: int = 0
    axes: dict[int, float] = field(default_factory=dict)
    params: dict[str, ParamValue] = field(default_factory=dict)
    human_at: float | None = None

    def level(self, now: float) -> float:
        if self.env_s <= 0.0 or now >= self.env_t0 + self.env_s:
            return self.env_to
        frac = max(0.0, (now - self.env_t0) / self.env_s)
        return self.env_from + (self.env_to - self.env_from) * frac


class MidiVoice:
    """MIDI messages -> a control source (see the module docstring). `now` defaults to `clock()`."""

    name = "midi"
    priority = PRIORITY_MIDI

    def __init__(self, settings: MidiSettings, *, clock: Callable[[], float] = time.monotonic,
                 on_program: Callable[[int], None] | None = None,
                 on_note: Callable[[], None] | None = None) -> None:
        self.settings = settings
        self.clock = clock
        self.on_program = on_program
        self.on_note = on_note  # called after a note starts or ends: apply it without waiting for a poll
        self._cc = {t.cc: t for t in settings.cc}
        self._held: list[int] = []  # keys down, in the order pressed
        self._sustained: set[int] = set()  # released while the pedal was down
        self._pedal = False
        self._snap = _Snapshot()
        self._lock = threading.Lock()  # rtmidi's thread and panic() from the watcher thread
        self.messages = 0
        self.ignored = 0

    # -- inspection -----------------------------------------------------------------------------
    @property
    def sounding_notes(self) -> tuple[int, ...]:
        """Notes held or kept by the pedal (what a stuck-note check looks at)."""
        return tuple(self._held) + tuple(sorted(self._sustained - set(self._held)))

    def level(self, now: float | None = None) -> float:
        """The envelope's level now (0 once a release has ended)."""
        return self._snap.level(self.clock() if now is None else now)

    # -- messages -------------------------------------------------------------------------------
    def handle(self, msg: Any, now: float | None = None) -> None:
        """Take one mido message (any type; those not for us are counted and ignored)."""
        now = self.clock() if now is None else now
        kind = msg.type
        channel = self.settings.channel
        if channel and getattr(msg, "channel", channel - 1) != channel - 1:
            self.ignored += 1
            return
        if kind not in ("note_on", "note_off", "pitchwheel", "control_change", "program_change"):
            self.ignored += 1
            return
        note_event = False
        with self._lock:
            self.messages += 1
            if kind == "note_on" and msg.velocity > 0:
                self._note_on(msg.note, msg.velocity, now)
                note_event = True
            elif kind in ("note_off", "note_on"):
                note_event = self._note_off(msg.note, now)
            elif kind == "pitchwheel":
                self._publish(now, bend=msg.pitch / 8192.0 * self.settings.bend_range)
            elif kind == "control_change":
                note_event = self._control(msg.control, msg.value, now)
            else:
                self._publish(now)
        if kind == "program_change" and self.on_program is not None:
            self.on_program(msg.program)
        if note_event and self.on_note is not None:
            self.on_note()

    def panic(self, now: float | None = None, *, hard: bool = False) -> None:
        """End every note: released over `release_ms`, or silenced at once with `hard`."""
        now = self.clock() if now is None else now
        with self._lock:
            self._all_off(now, 0.0 if hard else self.settings.release_ms, human=False)
        if self.on_note is not None:
            self.on_note()

    def _all_off(self, now: float, release_ms: float, *, human: bool = True) -> None:
        """No key held or sustained, the pedal up, the envelope down to 0 over `release_ms`."""
        self._held.clear()
        self._sustained.clear()
        self._pedal = False
        self._envelope(now, 0.0, release_ms, note=None, human=human)

    def _note_on(self, note: int, velocity: int, now: float) -> None:
        if note in self._held:
            self._held.remove(note)
        self._held.append(note)
        self._sustained.discard(note)
        s = self.settings
        level = s.gain * (1.0 - s.velocity + s.velocity * velocity / 127.0)
        self._envelope(now, level, s.attack_ms, note=note, trigger=True)

    def _note_off(self, note: int, now: float) -> bool:
        if note not in self._held:
            return False
        self._held.remove(note)
        if self._pedal:
            self._sustained.add(note)
            return False
        return self._after_release(now)

    def _after_release(self, now: float) -> bool:
        """Fall back to the newest key still down, or release when none is (and none sustained)."""
        snap = self._snap
        if self._held:
            top = self._held[-1]
            if top != snap.note:  # legato back to an earlier key: new pitch, no new grain
                self._publish(now, note=top, last_note=top)
            return False
        if self._sustained:
            return False
        self._envelope(now, 0.0, self.settings.release_ms, note=None)
        return True

    def _control(self, cc: int, value: int, now: float) -> bool:
        if cc == CC_SUSTAIN:
            down = value >= 64
            if down == self._pedal:
                return False
            self._pedal = down
            if not down:
                self._sustained &= set(self._held)
                return self._after_release(now)
            return False
        if cc in (CC_ALL_SOUND_OFF, CC_ALL_NOTES_OFF, *CC_OMNI_POLY):
            self._all_off(now, 0.0 if cc == CC_ALL_SOUND_OFF else self.settings.release_ms)
            return True
        if cc == CC_RESET_CONTROLLERS:
            self._pedal = False
            self._sustained &= set(self._held)
            self._publish(now, bend=0.0)
            return self._after_release(now)
        target = self._cc.get(cc)
        if target is None:
            self._publish(now)
            return False
        amount = target.min + (target.max - target.min) * value / 127.0
        snap = self._snap
        if target.axis is not None:
            self._publish(now, axes={**snap.axes, target.axis: amount})
        elif target.param == "freeze":
            self._publish(now, params={**snap.params, "freeze": value >= 64})
        else:
            assert target.param is not None
            self._publish(now, params={**snap.params, target.param: amount})
        return False

    def _envelope(self, now: float, to: float, ms: float, *, note: int | None, trigger: bool = False,
                  human: bool = True) -> None:
        snap = self._snap
        self._publish(now, human=human, note=note, last_note=snap.last_note if note is None else note,
                      env_from=snap.level(now), env_to=to, env_t0=now, env_s=ms / 1000.0,
                      triggers=snap.triggers + (1 if trigger else 0))

    def _publish(self, now: float, *, human: bool = True, **changes: Any) -> None:
        if human:
            changes["human_at"] = now
        self._snap = replace(self._snap, **changes)

    # -- control source -------------------------------------------------------------------------
    def contribute(self, now: float) -> Contribution | None:
        snap = self._snap
        if snap.human_at is None:
            return None
        level = snap.level(now)
        sounding = snap.note is not None or level > 0.0
        pitch_note = snap.note if snap.note is not None else snap.last_note
        pitch = pitch_note + snap.bend if sounding and pitch_note is not None else None
        return Contribution(axes=snap.axes, pitch=pitch, params=snap.params,
                            gain=level if sounding else None, triggers=snap.triggers,
                            human=snap.note is not None or now - snap.human_at < HUMAN_HOLD_S)


def open_backend(api: str) -> Any:
    """mido's rtmidi backend for `api` ("auto", "jack", "alsa"), loaded."""
    import mido

    try:
        import rtmidi  # mido's port backend: imported here to name the fix when it is missing
    except ImportError as err:
        raise ConfigError("MIDI needs python-rtmidi: `pip install python-rtmidi`, or on Raspberry Pi OS "
                          "`sudo apt install python3-rtmidi` (deploy/README.md)") from err
    if api != "auto" and APIS[api] not in {_API_NAMES.get(n, "") for n in rtmidi.get_compiled_api()}:
        raise ConfigError(f"[midi] api = {api!r}: this python-rtmidi was built without it; "
                          "use api = \"auto\"")
    suffix = APIS[api]
    backend = mido.Backend("mido.backends.rtmidi" + (f"/{suffix}" if suffix else ""), load=True)
    return backend


def port_lister(api: str) -> Callable[[], list[str]]:
    """The input ports' names, listed through one rtmidi client kept open.

    mido's `get_input_names()` opens and closes a client per call; on JACK each of those changes
    the graph and holds up MIDI delivery for every client (tens of ms), so rescanning through it
    every second would delay notes. One client listed again and again costs nothing.
    """
    import rtmidi

    names = {v: k for k, v in _API_NAMES.items()}
    probe = rtmidi.MidiIn(names[APIS[api]] if api != "auto" else rtmidi.API_UNSPECIFIED, name="latent-scan")
    return lambda: list(probe.get_ports())


class MidiInput:
    """Keeps a MIDI input port open for a `MidiVoice` (and a CC-out port), on its own thread.

    Every `rescan_s` it checks that the port is still there: a port that disappeared ends every
    note (`panic`) and is looked for again until it returns. `point()` (the instrument's latent
    point now) feeds CC out. `report` gets one line per connect and disconnect.
    """

    def __init__(self, voice: MidiVoice, settings: MidiSettings, *,
                 point: Callable[[], tuple[float, ...] | None] | None = None,
                 program_action: Callable[[int], None] | None = None,
                 report: Callable[[str], None] = print, backend: Any = None) -> None:
        self.voice = voice
        self.settings = settings
        self._point = point
        self._program_action = program_action
        self.report = report
        self._backend = backend
        self._list_ports: Callable[[], list[str]] = (lambda: list(backend.get_input_names())) \
            if backend is not None else list
        self._port: Any = None
        self._out: Any = None
        self._sent: dict[int, int] = {}
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._program: int | None = None
        self._thread = threading.Thread(target=self._run, name="latent-midi", daemon=True)
        self.port_name: str | None = None
        self.connects = 0
        self.disconnects = 0
        self.errors = 0
        self.last_error: str | None = None
        self.programs_run = 0
        self.cc_sent = 0
        voice.on_program = self._program_request

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._close_port()
        if self._out is not None:
            self._out.close()
            self._out = None

    @property
    def connected(self) -> bool:
        return self._port is not None

    def _program_request(self, program: int) -> None:
        self._program = program  # the newest wins; the thread runs it
        self._wake.set()

    def _run(self) -> None:
        try:
            if self._backend is None:
                self._backend = open_backend(self.settings.api)
                self._list_ports = port_lister(self.settings.api)
        except Exception as err:  # no rtmidi here: say so once; the rest of the instrument plays
            self._fail(f"MIDI unavailable ({type(err).__name__}: {err})")
            return
        period = 1.0 / self.settings.cc_out_rate_hz if self.settings.cc_out else self.settings.rescan_s
        next_scan = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            if now >= next_scan:
                next_scan = now + self.settings.rescan_s
                self._watch_port()
            program, self._program = self._program, None
            if program is not None:
                self._run_program(program)
            if self.settings.cc_out:
                self._send_cc()
            self._wake.wait(min(period, max(0.0, next_scan - time.monotonic())))
            self._wake.clear()

    def _fail(self, message: str) -> None:
        self.errors += 1
        if message != self.last_error:
            self.report(message)
        self.last_error = message

    def _watch_port(self) -> None:
        try:
            names = self._list_ports()
        except Exception as err:
            self._fail(f"MIDI: cannot list ports ({err})")
            names = []
        if self._port is not None:
            if self.settings.virtual or self.port_name in names:
                return
            self.report(f"MIDI port {self.port_name!r} disappeared: all notes off; waiting for it")
            self.disconnects += 1
            self._close_port()
        try:
            self._open_port(names)
        except Exception as err:
            self._fail(f"MIDI: cannot open {self.settings.port or 'a port'!r} ({type(err).__name__}: {err})")

    def _open_port(self, names: list[str]) -> None:
        backend = self._backend
        if self.settings.virtual:
            self._port = backend.open_input("in", virtual=True, client_name="latent",
                                            callback=self.voice.handle)
            self.port_name = "latent:in"
        else:
            wanted = self.settings.port.lower()
            own = {"latent:out"}
            found = [n for n in names if wanted in n.lower() and n not in own]
            if not found:
                return
            self._port = backend.open_input(found[0], callback=self.voice.handle)
            self.port_name = found[0]
        self.connects += 1
        self.last_error = None
        self.report(f"MIDI in: {self.port_name}")

    def _close_port(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            try:
                port.close()
            except Exception as err:  # a vanished device may refuse a clean close
                self.last_error = str(err)
            self.voice.panic()

    def _run_program(self, program: int) -> None:
        if self._program_action is None or self.settings.program == "off":
            return
        try:
            self._program_action(program)
            self.programs_run += 1
        except Exception as err:  # a missing slot or model is said, not fatal
            self._fail(f"MIDI program change {program}: {err}")

    def _send_cc(self) -> None:
        import mido

        point = self._point() if self._point is not None else None
        if point is None:
            return
        s = self.settings
        if self._out is None:
            try:
                if s.cc_out_port:
                    wanted = s.cc_out_port.lower()
                    names = [n for n in self._backend.get_output_names() if wanted in n.lower()]
                    if not names:
                        return
                    self._out = self._backend.open_output(names[0])
                else:
                    self._out = self._backend.open_output("out", virtual=True, client_name="latent")
            except Exception as err:
                self._fail(f"MIDI CC out unavailable ({type(err).__name__}: {err})")
                return
        for axis, value in enumerate(point):
            cc_value = max(0, min(127, round(value * 127)))
            if self._sent.get(axis) != cc_value:
                self._out.send(mido.Message("control_change", channel=s.cc_out_channel - 1,
                                            control=s.cc_out_first + axis, value=cc_value))
                self._sent[axis] = cc_value
                self.cc_sent += 1
