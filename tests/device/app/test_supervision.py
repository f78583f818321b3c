"""Faults under a playing instrument: dead threads come back, a dead device ends it cleanly, SIGTERM stops it.

Real components throughout: the ring-fed output on a JACK dummy server, `latent play` in its
own process, a JACK server killed with SIGKILL under it. That server is a second one, watched
from a jack_lsp process only: libjack in a process whose server died connects to no other, and
the rest of the session's tests use the session server from this process.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import numpy as np
import pytest

from device.app.control_thread import ControlThread
from device.app.supervisor import Supervisor
from device.audio.pyaudio_output import PyAudioOutput
from device.audio.tone import SineSource
from device.bench.jack_server import DUMMY_DEVICE, JackServer
from device.errors import AudioDeviceLostError

pytestmark = [pytest.mark.jack, pytest.mark.slow]


def wait_until(condition: object, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.01)
    return False


def test_a_render_thread_that_dies_is_restarted_and_the_sound_comes_back(jack_server: JackServer) -> None:
    output = PyAudioOutput(device=DUMMY_DEVICE)
    messages: list[str] = []
    with output.start(SineSource(440.0)):
        supervisor = Supervisor(output, None, report=messages.append)
        assert wait_until(lambda: output.stats.blocks > 100, 3.0)
        real_write, failures = output._write_raw, [RuntimeError("a bug in the render loop")]

        def write_failing_once(data: bytes, frames: int) -> None:
            if failures:
                raise failures.pop()
            real_write(data, frames)

        output._write_raw = write_failing_once
        assert wait_until(lambda: not output.render_thread_alive, 2.0)
        died_at, blocks_at_death = time.monotonic(), output.stats.blocks
        supervisor.check()  # what play_live does every 0.1 s
        assert wait_until(lambda: output.stats.blocks > blocks_at_death + 50, 1.0)
        back_after = time.monotonic() - died_at
        supervisor.check()
        stats = output.stats
    assert output.thread_restarts == 1 and stats.thread_restarts == 1
    assert back_after < 1.0
    assert messages == ["the render thread stopped (RuntimeError: a bug in the render loop); restarted it"]
    assert stats.device_lost is None


def test_a_dead_control_thread_leaves_the_sound_going_and_is_restarted(jack_server: JackServer) -> None:
    polls: list[str] = []

    def dying_poll() -> None:
        polls.append("dying")
        raise SystemExit("the control loop was told to exit")  # not an Exception: ends the thread

    def good_poll() -> None:
        polls.append("good")

    output = PyAudioOutput(device=DUMMY_DEVICE)
    messages: list[str] = []
    control = ControlThread(dying_poll, rate_hz=100.0)
    with output.start(SineSource(440.0)):
        supervisor = Supervisor(output, control, make_control=lambda: ControlThread(good_poll, rate_hz=100.0),
                                report=messages.append)
        control.start()
        assert wait_until(lambda: not control.alive, 2.0)
        blocks = output.stats.blocks
        time.sleep(0.3)
        assert output.stats.blocks > blocks + 100  # the sound went on with the control side dead
        supervisor.check()
        assert wait_until(lambda: "good" in polls, 1.0)
        supervisor.control.stop()
    assert supervisor.control_restarts == 1 and supervisor.control is not control
    assert messages == ["the sensor thread stopped (SystemExit: the control loop was told to exit); "
                        "restarted it"]


def test_a_device_that_stops_taking_audio_is_reported_as_lost(jack_server: JackServer) -> None:
    output = PyAudioOutput(device=DUMMY_DEVICE)
    with output.start(SineSource(440.0)):
        supervisor = Supervisor(output, None, device_timeout_s=0.3)
        assert wait_until(lambda: output.stats.blocks > 50, 3.0)
        gate = threading.Event()
        real_write = output._write_raw

        def write_that_blocks(data: bytes, frames: int) -> None:  # as a dead JACK server's would
            gate.wait()
            real_write(data, frames)

        output._write_raw = write_that_blocks
        with pytest.raises(AudioDeviceLostError, match=r"the sound device went away \(no audio block"):
            deadline = time.monotonic() + 2.0
            while time.monotonic() < deadline:
                supervisor.check()
                time.sleep(0.05)
        gate.set()


class PlayProcess:
    """`latent play` in its own process, its stderr read line by line on a thread."""

    def __init__(self, server: JackServer, *args: str) -> None:
        env = {**os.environ, **server.client_environment, "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen([sys.executable, "-m", "device.cli", "play", *args], env=env,
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, prefix: str, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                continue
            self.seen.append(line)
            if line.startswith(prefix):
                return True
        return False

    def drain(self) -> list[str]:
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return self.seen

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)


@pytest.fixture
def doomed_server() -> Iterator[JackServer]:
    server = JackServer(48000, 64, probe_in_process=False)
    server.start()
    try:
        yield server
    finally:
        server.close()


def test_killing_the_jack_server_under_latent_play_ends_it_promptly_and_non_zero(
        doomed_server: JackServer) -> None:
    player = PlayProcess(doomed_server, "--device", DUMMY_DEVICE, "--seconds", "25")
    try:
        assert player.wait_for("playing ", 30.0), player.drain()
        time.sleep(1.0)
        killed_at = time.monotonic()
        doomed_server.kill()
        said = player.wait_for("the sound device went away", 10.0)
        said_after = time.monotonic() - killed_at
        code = player.process.wait(timeout=10)
        took = time.monotonic() - killed_at
    finally:
        player.close()
    lines = player.drain()
    print(f"said so {said_after:.2f} s and exited {took:.2f} s after the server was killed, code {code}: "
          f"{lines}")
    assert said and said_after < 1.0, lines  # noticed within a second, and said at once
    assert code == 75 and any("exiting with code 75" in line for line in lines), lines
    assert took < 2.5  # stopped without hanging, process gone


def test_sigterm_stops_latent_play_cleanly_within_a_second(jack_server: JackServer) -> None:
    player = PlayProcess(jack_server, "--device", DUMMY_DEVICE, "--seconds", "25")
    try:
        assert player.wait_for("playing ", 30.0), player.drain()
        time.sleep(1.0)
        sent_at = time.monotonic()
        player.process.send_signal(signal.SIGTERM)
        code = player.process.wait(timeout=10)
        took = time.monotonic() - sent_at
    finally:
        player.close()
    lines = player.drain()
    print(f"exited {took:.2f} s after SIGTERM: {lines}")
    assert code == 0 and any(line.startswith("stopped: ") for line in lines), lines
    assert took < 1.0


def test_the_output_plays_a_sine_after_all_this(jack_server: JackServer) -> None:
    # The session server and this process's PortAudio are unharmed by the killed server above.
    output = PyAudioOutput(device=DUMMY_DEVICE)
    with output.start(SineSource(440.0)):
        assert wait_until(lambda: output.stats.blocks > 100, 3.0)
    assert np.isfinite(output.stats.max_render_s)
