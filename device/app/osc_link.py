"""OSC both ways: the instrument's state out at a set rate, the same parameters in (app layer).

Out (to `send_host:send_port`, `send_rate_hz` times a second), under `prefix` (default /latent):
`/point f...` (the latent point, 0..1 per axis), `/pitch f` (MIDI note), `/touches f...` (the
electrodes' readings, e0..), `/health i s` (1 and "ok", or 0 and the problem).

In (on `listen_host:listen_port`): `/point f...`, `/axis i f`, `/pitch f`, `/param s v` (an
engine parameter by name), `/trigger` (start a grain), `/preset i` (recall a slot), `/release`
(hand everything back to the sensors). What comes in is checked (types, ranges, names) and a
refusal is counted and remembered (`refused`, `last_refusal`), never raised: a stray sender must
not stop the instrument.

Threads and bounds: python-osc's `BlockingOSCUDPServer` (no thread per datagram) owns the socket
and the dispatcher; our own thread waits on the socket and, every `TICK_S` at most, drains what is
queued (at most `max_in_rate * TICK_S` datagrams a tick), keeps only the newest datagram of each
parameter (one per address; per axis and per parameter name for /axis and /param) and dispatches
those. Handlers only replace values in an immutable snapshot that the control thread reads
(`OscSource.contribute`). So a flood costs a bounded share of a core, never more dispatches than
there are parameters, and cannot stall the control or audio threads; beyond `max_in_rate` the
kernel drops what overflows the socket buffer, and the next value sent after it ends is applied.
The same thread sends on schedule.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from device.app.control_merge import HUMAN_HOLD_S, PRIORITY_OSC, Contribution
from device.config_file import TableReader
from device.mapping.config import CONTINUOUS_PARAMS, MAX_AXES, MODES, WINDOWS
from device.mapping.control_state import ParamValue

TICK_S = 0.01  # the receiving thread drains the socket at most this often
RECEIVE_BUFFER_BYTES = 64 * 1024  # bounds the backlog a flood can leave queued
# Argument bytes (after the type tags) that tell datagrams of one address apart when coalescing:
# /axis's axis number (an int32), /param's name (a padded string, 16 bytes cover every name).
_KEY_ARG_BYTES = {"axis": 4, "param": 16}


@dataclass(frozen=True)
class OscSettings:
    """The `[osc]` section (see docs/instrument-settings.md)."""

    listen_host: str = "0.0.0.0"
    listen_port: int = 9000  # 0: do not listen
    send_host: str = ""  # "": do not send
    send_port: int = 9001
    send_rate_hz: float = 30.0
    prefix: str = "/latent"
    max_in_rate: int = 20000  # datagrams read per second at most (then coalesced)


def read_osc(table: TableReader) -> OscSettings:
    d = OscSettings()
    prefix = table.string("prefix", d.prefix, allowed="an OSC address such as /latent")
    if not prefix.startswith("/") or prefix.endswith("/") or any(c in prefix for c in " #*,?[]{}"):
        raise table.fail("prefix", f"is {prefix!r}, not an OSC address", "an OSC address such as /latent")
    settings = OscSettings(
        listen_host=table.string("listen_host", d.listen_host, non_empty=True),
        listen_port=table.integer("listen_port", d.listen_port, lo=0, hi=65535),
        send_host=table.string("send_host", d.send_host),
        send_port=table.integer("send_port", d.send_port, lo=1, hi=65535),
        send_rate_hz=table.number("send_rate_hz", d.send_rate_hz, lo=1.0, hi=200.0),
        prefix=prefix,
        max_in_rate=table.integer("max_in_rate", d.max_in_rate, lo=100, hi=100000),
    )
    if settings.listen_port == 0 and not settings.send_host:
        raise table.fail(None, "neither listens (listen_port = 0) nor sends (no send_host)",
                         "a listen_port, a send_host, or both")
    table.finish()
    return settings


@dataclass(frozen=True, slots=True)
class _Incoming:
    axes: dict[int, float] = field(default_factory=dict)
    point: tuple[float, ...] | None = None
    pitch: float | None = None
    params: dict[str, ParamValue] = field(default_factory=dict)
    triggers: int = 0
    at: float | None = None


class OscSource:
    """What arrived over OSC, as a control source (newest value of each parameter wins)."""

    name = "osc"
    priority = PRIORITY_OSC

    def __init__(self, clock: Callable[[], float] = time.monotonic,
                 on_preset: Callable[[int], object] | None = None) -> None:
        self.clock = clock
        self.on_preset = on_preset
        self._in = _Incoming()
        self.accepted = 0
        self.refused = 0
        self.last_refusal: str | None = None

    def contribute(self, now: float) -> Contribution | None:
        snap = self._in
        if snap.at is None:
            return None
        return Contribution(axes=snap.axes, point=snap.point, pitch=snap.pitch, params=snap.params,
                            triggers=snap.triggers, human=now - snap.at < HUMAN_HOLD_S)

    def _refuse(self, address: str, why: str) -> None:
        self.refused += 1
        self.last_refusal = f"{address}: {why}"

    def _set(self, **changes: Any) -> None:
        self._in = replace(self._in, **changes, at=self.clock())
        self.accepted += 1

    # -- handlers (the OSC thread) --------------------------------------------------------------
    def point(self, address: str, *args: Any) -> None:
        if not 1 <= len(args) <= MAX_AXES or not all(_unit(a) for a in args):
            self._refuse(address, f"needs 1..{MAX_AXES} numbers in 0..1")
            return
        self._set(point=tuple(float(a) for a in args), axes={})

    def axis(self, address: str, *args: Any) -> None:
        if len(args) != 2 or not _int(args[0]) or not 0 <= args[0] < MAX_AXES or not _unit(args[1]):
            self._refuse(address, f"needs an axis 0..{MAX_AXES - 1} and a number in 0..1")
            return
        self._set(axes={**self._in.axes, int(args[0]): float(args[1])})

    def pitch(self, address: str, *args: Any) -> None:
        if len(args) != 1 or not _number(args[0]) or not 0.0 <= args[0] <= 127.0:
            self._refuse(address, "needs one MIDI note number in 0..127")
            return
        self._set(pitch=float(args[0]))

    def param(self, address: str, *args: Any) -> None:
        if len(args) != 2 or not isinstance(args[0], str):
            self._refuse(address, "needs a parameter name and a value")
            return
        name, value = args
        checked = _param_value(name, value)
        if checked is None:
            self._refuse(address, f"{name!r} {value!r} is not a parameter and a value it takes")
            return
        self._set(params={**self._in.params, name: checked})

    def trigger(self, address: str, *args: Any) -> None:
        self._set(triggers=self._in.triggers + 1)

    def preset(self, address: str, *args: Any) -> None:
        if len(args) != 1 or not _int(args[0]) or self.on_preset is None:
            self._refuse(address, "needs one slot number (and a [presets] section)")
            return
        try:
            self.on_preset(int(args[0]))
            self.accepted += 1
        except Exception as err:  # an empty slot is a sender's mistake, not ours
            self._refuse(address, str(err))

    def release(self, address: str, *args: Any) -> None:
        self._in = _Incoming(triggers=self._in.triggers)
        self.accepted += 1

    def unknown(self, address: str, *args: Any) -> None:
        self._refuse(address, "unknown address")


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _unit(value: Any) -> bool:
    return _number(value) and 0.0 <= value <= 1.0


def _param_value(name: str, value: Any) -> ParamValue | None:
    if name in CONTINUOUS_PARAMS:
        lo, hi = CONTINUOUS_PARAMS[name]
        return float(value) if _number(value) and lo <= value <= hi else None
    if name == "freeze":
        return bool(value) if isinstance(value, bool | int) else None
    if name == "mode":
        return value if value in MODES else None
    if name == "window":
        return value if value in WINDOWS else None
    return None


def _coalesce_key(data: bytes, prefix: str) -> bytes:
    """Datagrams with the same key set the same parameter: only the newest of them matters."""
    end = data.find(b"\0")
    if end < 0:
        return data  # not an OSC message: kept, and refused when dispatched
    address = data[:end]
    name = address.rpartition(b"/")[2].decode("latin-1")
    extra = _KEY_ARG_BYTES.get(name) if address.startswith(prefix.encode()) else None
    if extra is None:
        return address
    tags_at = (end + 4) & ~3
    tags_end = data.find(b"\0", tags_at)
    args_at = (tags_end + 4) & ~3 if tags_end >= 0 else len(data)
    return address + data[args_at:args_at + extra]


IN_ADDRESSES = ("point", "axis", "pitch", "param", "trigger", "preset", "release")


def dispatcher_for(source: OscSource, prefix: str) -> Any:
    """python-osc's dispatcher from the addresses under `prefix` to `source`'s handlers.

    `OscLink` listens through it. An offline run (a take or a test on the stream clock) has no
    socket and hands it whole datagrams instead, `dispatcher_for(source, prefix)
    .call_handlers_for_packet(data, sender)`, so what comes in is parsed, routed and checked as
    live (without the live link's per-round coalescing, which only matters for floods).
    """
    from pythonosc.dispatcher import Dispatcher

    dispatcher = Dispatcher()
    for name in IN_ADDRESSES:
        dispatcher.map(f"{prefix}/{name}", getattr(source, name))
    dispatcher.set_default_handler(source.unknown)
    return dispatcher


class OscLink:
    """The OSC thread: receives into an `OscSource` and sends `snapshot()` at the set rate.

    `snapshot()` returns {"point": [...], "pitch": float, "touches": [...], "problem": str | None}
    or None before anything played. `port` is the bound listening port.
    """

    def __init__(self, settings: OscSettings, source: OscSource,
                 snapshot: Callable[[], dict[str, Any] | None], *,
                 report: Callable[[str], None] = print) -> None:
        self.settings = settings
        self.source = source
        self._snapshot = snapshot
        self.report = report
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="latent-osc", daemon=True)
        self._server: Any = None
        self._client: Any = None
        self.port: int | None = None
        self.sent = 0
        self.received = 0  # datagrams read
        self.handled = 0  # datagrams dispatched after coalescing
        self.rate_limited = 0  # rounds that left datagrams queued (a flood)
        self.send_errors = 0
        self.last_error: str | None = None
        self._open()

    def _open(self) -> None:
        from pythonosc.osc_server import BlockingOSCUDPServer
        from pythonosc.udp_client import SimpleUDPClient

        s = self.settings
        if s.listen_port:
            # The socket is bound here, so a taken port is refused before anything plays.
            self._server = BlockingOSCUDPServer((s.listen_host, s.listen_port),
                                                dispatcher_for(self.source, s.prefix))
            self.port = self._server.server_address[1]
        if s.send_host:
            self._client = SimpleUDPClient(s.send_host, s.send_port)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        if self._server is not None:
            self._server.server_close()
            self._server = None

    def _run(self) -> None:
        import select

        period = 1.0 / self.settings.send_rate_hz
        batch = max(1, round(self.settings.max_in_rate * TICK_S))
        next_send = time.monotonic()
        server = self._server
        if server is not None:
            server.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER_BYTES)
            server.socket.setblocking(False)
        while not self._stop.is_set():
            now = time.monotonic()
            if self._client is not None and now >= next_send:
                self._send()
                next_send = max(next_send + period, now)
            wait = min(0.1, max(0.0, next_send - now)) if self._client is not None else 0.1
            if server is None:
                self._stop.wait(wait)
                continue
            ready, _, _ = select.select([server.socket], [], [], wait)
            if ready:
                self._drain(server, batch)
                self._stop.wait(TICK_S)  # what arrives meanwhile is coalesced in the next round

    def _drain(self, server: Any, batch: int) -> None:
        """Read up to `batch` datagrams, keep the newest per parameter, dispatch those."""
        newest: dict[bytes, tuple[bytes, Any]] = {}
        for _ in range(batch):
            try:
                data, sender = server.socket.recvfrom(65536)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as err:
                self.last_error = str(err)
                break
            self.received += 1
            newest[_coalesce_key(data, self.settings.prefix)] = (data, sender)
        else:
            self.rate_limited += 1  # more was queued than a round takes
        dispatcher = server.dispatcher
        for data, sender in newest.values():
            try:
                dispatcher.call_handlers_for_packet(data, sender)
            except Exception as err:  # a malformed datagram: python-osc's parse error
                self.source.refused += 1
                self.source.last_refusal = f"malformed datagram from {sender[0]}: {err}"
            self.handled += 1

    def _send(self) -> None:
        try:
            snap = self._snapshot()
            if snap is None:
                return
            p, client = self.settings.prefix, self._client
            client.send_message(f"{p}/point", [float(v) for v in snap["point"]])
            client.send_message(f"{p}/pitch", float(snap["pitch"]))
            client.send_message(f"{p}/touches", [float(v) for v in snap["touches"]] or [0.0])
            problem = snap.get("problem")
            client.send_message(f"{p}/health", [0 if problem else 1, problem or "ok"])
            self.sent += 1
        except Exception as err:  # an unreachable host must not end the thread
            self.send_errors += 1
            if str(err) != self.last_error:
                self.report(f"OSC send to {self.settings.send_host}:{self.settings.send_port}: {err}")
            self.last_error = str(err)
