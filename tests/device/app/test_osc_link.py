"""OSC over loopback both ways: state out at the set rate, parameters in, refusals, a bounded flood."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_server import BlockingOSCUDPServer
from pythonosc.udp_client import SimpleUDPClient

from device.app.control_merge import ControlMerge
from device.app.osc_link import OscLink, OscSettings, OscSource
from device.mapping.control_state import ControlState
from device.sensors.frame import SensorFrame

from .waiting import wait_for


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Receiver:
    """What a lighting desk on the other end would see."""

    def __init__(self) -> None:
        self.got: dict[str, list[Any]] = {}
        self.count = 0
        dispatcher = Dispatcher()
        dispatcher.set_default_handler(self._on)
        self.server = BlockingOSCUDPServer(("127.0.0.1", 0), dispatcher)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def _on(self, address: str, *args: Any) -> None:
        self.got[address] = list(args)
        self.count += 1

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def link(source: OscSource, snapshot: Callable[[], dict[str, Any] | None], **changes: Any) -> OscLink:
    settings = OscSettings(**{"listen_host": "127.0.0.1", "listen_port": free_port(), **changes})
    return OscLink(settings, source, snapshot, report=lambda line: None)


def test_state_goes_out_at_the_set_rate(receiver: Receiver) -> None:
    state = {"point": (0.25, 0.75), "pitch": 62.5, "touches": [0.0, 12.0], "problem": None}
    osc = link(OscSource(), lambda: state, send_host="127.0.0.1", send_port=receiver.port, send_rate_hz=50)
    osc.start()
    try:
        wait_for(lambda: "/latent/health" in receiver.got, "the first round arrives")
        assert receiver.got["/latent/point"] == pytest.approx([0.25, 0.75])
        assert receiver.got["/latent/pitch"] == pytest.approx([62.5])
        assert receiver.got["/latent/touches"] == pytest.approx([0.0, 12.0])
        assert receiver.got["/latent/health"] == [1, "ok"]
        state["problem"] = "audio stalled"
        wait_for(lambda: receiver.got["/latent/health"] == [0, "audio stalled"], "health follows")
    finally:
        osc.stop()
    assert osc.sent >= 2 and osc.send_errors == 0


def test_parameters_come_in_and_reach_the_merged_state() -> None:
    source = OscSource()
    still = ControlState((0.5, 0.5), 60.0, {"gain": 0.2})
    merge = ControlMerge(type("Still", (), {"update": lambda self, frame: still})())
    merge.add(source)
    osc = link(source, lambda: None)
    osc.start()
    client = SimpleUDPClient("127.0.0.1", osc.port)
    try:
        client.send_message("/latent/point", [0.1, 0.2, 0.3])
        client.send_message("/latent/axis", [1, 0.9])
        client.send_message("/latent/pitch", 70.0)
        client.send_message("/latent/param", ["grain_ms", 120.0])
        client.send_message("/latent/trigger", [])
        wait_for(lambda: source.accepted == 5, "five messages accepted")
        state = merge.update(SensorFrame(0.0, {}))
        assert state.point == pytest.approx((0.1, 0.9, 0.3))
        assert state.pitch == 70.0 and state.params["grain_ms"] == 120.0 and state.trigger
        client.send_message("/latent/release", [])
        wait_for(lambda: source.accepted == 6, "release accepted")
        assert merge.update(SensorFrame(0.1, {})).point == (0.5, 0.5)
    finally:
        osc.stop()


@pytest.mark.parametrize(("address", "args"), [
    ("/latent/point", [1.5]),
    ("/latent/point", ["high"]),
    ("/latent/axis", [99, 0.5]),
    ("/latent/pitch", [200.0]),
    ("/latent/param", ["volume", 1.0]),
    ("/latent/param", ["grain_ms", 1e9]),
    ("/latent/preset", [3]),  # no presets configured
    ("/elsewhere", [1]),
])
def test_bad_messages_are_refused_and_counted_never_raised(address: str, args: list[Any]) -> None:
    source = OscSource()
    osc = link(source, lambda: None)
    osc.start()
    try:
        SimpleUDPClient("127.0.0.1", osc.port).send_message(address, args)
        wait_for(lambda: source.refused == 1, "the refusal")
    finally:
        osc.stop()
    assert source.accepted == 0 and source.contribute(0.0) is None
    assert source.last_refusal is not None and source.last_refusal.startswith(address)


def _quiet(osc: OscLink) -> bool:
    before = osc.received
    time.sleep(0.05)
    return osc.received == before


def test_a_flood_is_coalesced_to_the_newest_value_of_each_parameter() -> None:
    source = OscSource()
    osc = link(source, lambda: None)
    osc.start()
    client = SimpleUDPClient("127.0.0.1", osc.port)
    try:
        started = time.monotonic()
        sent = 0
        while time.monotonic() - started < 0.5:
            client.send_message("/latent/pitch", float(40 + sent % 40))
            client.send_message("/latent/axis", [sent % 2, 0.25])
            sent += 1
        # What the kernel kept of the flood is drained within a few rounds; datagrams sent while its
        # buffer was full are dropped (UDP), so the last values are sent once it has room again.
        wait_for(lambda: _quiet(osc), "the backlog is drained")
        client.send_message("/latent/pitch", 99.0)
        client.send_message("/latent/axis", [0, 1.0])
        client.send_message("/latent/axis", [1, 0.0])

        def settled() -> bool:
            c = source.contribute(time.monotonic())
            return c is not None and c.pitch == 99.0 and dict(c.axes) == {0: 1.0, 1: 0.0}

        wait_for(settled, "the newest pitch and both newest axes win")
    finally:
        osc.stop()
    assert sent > 1000, "the sender was too slow to flood"
    # Each round dispatches one datagram per parameter (pitch, axis 0, axis 1), whatever was queued.
    assert osc.handled < osc.received / 5, (osc.handled, osc.received)
