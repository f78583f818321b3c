"""Fixtures shared by every test package."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from device.bench.jack_server import JackServer, JackUnavailable


@pytest.fixture(scope="session")
def jack_session_server() -> Iterator[JackServer]:
    """One jackd with the dummy driver at 48 kHz / 64 frames (as the instrument plays), private to
    this test session, with `jack_metro` (a C client) on it: the reference that the stream tests
    judge underruns against."""
    server = JackServer(sample_rate=48000, period=64)
    try:
        server.start()
        server.start_reference()
    except JackUnavailable as exc:
        server.close()
        pytest.skip(f"no JACK server for the real audio path: {exc}")
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def jack_server(jack_session_server: JackServer, monkeypatch: pytest.MonkeyPatch) -> JackServer:
    """The session's JACK server, with this process pointed at it for the test.

    PortAudio initialised during the test (pyaudio.PyAudio(), PyAudioOutput.start) sees its
    device, named "system" (`tests.jack_server.DUMMY_DEVICE`). Skips only when jackd is missing
    or will not start.
    """
    for key, value in jack_session_server.client_environment.items():
        monkeypatch.setenv(key, value)
    return jack_session_server
