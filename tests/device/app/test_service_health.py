"""systemd notify and the health-gated watchdog: READY when sound starts, a WATCHDOG ping only when
blocks went out, sensors were polled and no NaN was silenced since the last one, STOPPING at the
end; outside systemd nothing is sent and nothing fails."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from device.app.sd_notify import SystemdNotifier
from device.app.service_health import Counters, ServiceHealth
from device.app.status_file import read_status


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    path = tmp_path / "notify"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(2.0)
    yield sock, str(path)
    sock.close()


def _messages(sock: socket.socket, wait: float = 0.2) -> list[dict[str, str]]:
    sock.settimeout(wait)
    found = []
    while True:
        try:
            data = sock.recv(4096).decode()
        except TimeoutError:
            return found
        found.append(dict(line.split("=", 1) for line in data.splitlines()))


def test_outside_systemd_nothing_is_sent() -> None:
    notifier = SystemdNotifier({})
    assert not notifier.enabled and notifier.watchdog_s is None
    assert notifier.ready("x") is False and notifier.failures == 0


def test_ready_watchdog_status_and_stopping_reach_the_socket(listener: tuple[socket.socket, str]) -> None:
    sock, path = listener
    notifier = SystemdNotifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "5000000"})
    assert notifier.enabled and notifier.watchdog_s == 5.0
    assert notifier.ready("playing pads")
    assert notifier.watchdog(status="line one\nline two")
    assert notifier.stopping("bye")
    assert _messages(sock) == [{"READY": "1", "STATUS": "playing pads"},
                               {"WATCHDOG": "1", "STATUS": "line one line two"},
                               {"STOPPING": "1", "STATUS": "bye"}]


def test_an_abstract_socket_is_named_with_a_leading_at() -> None:
    name = f"latent-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        assert SystemdNotifier({"NOTIFY_SOCKET": "@" + name}).status("abstract")
        assert _messages(sock) == [{"STATUS": "abstract"}]


def test_a_watchdog_meant_for_another_process_or_malformed_is_ignored() -> None:
    assert SystemdNotifier({"WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "1"}).watchdog_s is None
    assert SystemdNotifier({"WATCHDOG_USEC": "soon"}).watchdog_s is None
    assert SystemdNotifier({"WATCHDOG_USEC": "0"}).watchdog_s is None
    own = SystemdNotifier({"WATCHDOG_USEC": "2000000", "WATCHDOG_PID": str(os.getpid())})
    assert own.watchdog_s == 2.0


def test_a_reader_that_lags_never_blocks_the_sender(listener: tuple[socket.socket, str]) -> None:
    """The kernel queues only a few datagrams per socket (net.unix.max_dgram_qlen); past that a
    blocking send would hang the supervising loop."""
    _, path = listener
    notifier = SystemdNotifier({"NOTIFY_SOCKET": path})
    results = [notifier.watchdog() for _ in range(1000)]
    assert results[0] and not all(results) and notifier.failures > 0


def test_a_vanished_socket_is_counted_not_raised(tmp_path: Path) -> None:
    notifier = SystemdNotifier({"NOTIFY_SOCKET": str(tmp_path / "gone")})
    assert notifier.watchdog() is False
    assert notifier.failures == 1 and "FileNotFoundError" in (notifier.last_error or "")


class FakeNotifier:
    def __init__(self, watchdog_s: float | None = 1.0) -> None:
        self.watchdog_s = watchdog_s
        self.pings: list[str | None] = []
        self.statuses: list[str] = []

    def watchdog(self, status: str | None = None) -> bool:
        self.pings.append(status)
        return True

    def status(self, status: str) -> bool:
        self.statuses.append(status)
        return True


def _health(sequence: list[Counters], watchdog_s: float | None = 1.0) -> tuple[ServiceHealth, FakeNotifier,
                                                                               list[str]]:
    notifier, reports = FakeNotifier(watchdog_s), []
    values = iter(sequence)
    return ServiceHealth(notifier, lambda: next(values), report=reports.append), notifier, reports


def test_pings_are_earned_and_stop_while_anything_is_stuck() -> None:
    health, notifier, reports = _health([
        Counters(0, 0, 0), Counters(100, 10, 0),          # first look, then moving: ping
        Counters(100, 20, 0), Counters(100, 30, 0),       # no block went out: no ping, said once
        Counters(200, 40, 0),                             # moving again: ping
        Counters(300, 40, 0),                             # sensors not polled: no ping
        Counters(400, 50, 7),                             # NaN silenced: no ping
        Counters(500, 60, 7),                             # healthy
    ])
    ticks = [health.tick(t) for t in (0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5)]
    assert ticks == [True, True, False, False, True, False, False, True]
    assert len(notifier.pings) == 4 and health.pings == 4
    assert [r.split(": ", 1)[0] for r in reports].count("unhealthy, not pinging the service watchdog") == 3
    assert "no audio block went out" in notifier.statuses[0]
    assert "not polled" in notifier.statuses[1] and "7 NaN or infinite" in notifier.statuses[2]


def test_checks_wait_for_half_the_interval_and_nothing_happens_without_a_watchdog() -> None:
    health, pinged, _ = _health([Counters(i * 10, i, 0) for i in range(10)])
    assert [health.tick(t) for t in (0.0, 0.2, 0.4, 0.6)] == [True, False, False, True]
    assert len(pinged.pings) == 2
    off, quiet, _ = _health([], watchdog_s=None)
    assert off.tick(0.0) is False and off.tick(100.0) is False and quiet.pings == []


@pytest.mark.jack
@pytest.mark.slow
def test_latent_play_live_tells_systemd_it_is_ready_and_earns_its_pings(
        jack_server: object, listener: tuple[socket.socket, str], monkeypatch: pytest.MonkeyPatch) -> None:
    from device.app.play import PlaySettings, play_live
    from device.bench.jack_server import DUMMY_DEVICE

    sock, path = listener
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    monkeypatch.setenv("WATCHDOG_USEC", "400000")
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    messages: list[dict[str, str]] = []
    reading = threading.Thread(target=lambda: messages.extend(_messages(sock, wait=2.0)), daemon=True)
    reading.start()  # as systemd does: read while it plays
    status_file = Path(path).with_name("status.json")
    stats = play_live(PlaySettings(device=DUMMY_DEVICE, block_frames=64, sample_rate=48000,
                                   status_file=status_file), 3.0, print)
    reading.join(timeout=10)
    status = read_status(status_file)  # written while it played, every 2 s
    assert status["audio"]["blocks"] > 0 and status["health"]["problem"] is None
    assert status["model"] and status["control"]["polls"] > 0
    assert messages[0]["READY"] == "1" and messages[0]["STATUS"].startswith("playing ")
    pings = [m for m in messages if m.get("WATCHDOG") == "1"]
    assert len(pings) >= 5 and stats["watchdog_pings"] == len(pings)
    assert messages[-1]["STOPPING"] == "1"
