"""Finding output devices: the JACK dummy's device is found, and every miss names what there is."""

from __future__ import annotations

import sys

import pytest

from device.audio.devices import (
    has_output_device,
    list_output_devices,
    open_portaudio,
    resolve_output_device,
)
from device.audio.pyaudio_output import PyAudioOutput
from device.audio.tone import SineSource
from device.bench.jack_server import DUMMY_DEVICE, JACK_HOST_API, JackServer
from device.errors import AudioDeviceError

DUMMY_LINE = f"[0] {DUMMY_DEVICE} ({JACK_HOST_API}, 2 output channels, default 48000 Hz)"


@pytest.fixture
def no_jack(monkeypatch: pytest.MonkeyPatch) -> None:
    """PortAudio initialised now finds no JACK server (and starts none)."""
    monkeypatch.setenv("JACK_DEFAULT_SERVER", "latent-test-no-such-server")
    monkeypatch.setenv("JACK_NO_START_SERVER", "1")
    if list_output_devices():
        pytest.skip("this machine has a real sound card, so the no-device case cannot be shown here")


def test_no_devices_at_all_says_so_and_what_to_do(no_jack: None) -> None:
    assert has_output_device() is False
    pa = open_portaudio()
    try:
        with pytest.raises(AudioDeviceError) as raised:
            resolve_output_device(pa, None)
    finally:
        pa.terminate()
    message = str(raised.value)
    assert "No audio output device found" in message
    assert "There are no audio output devices" in message
    assert "--out FILE.wav" in message and "aplay -l" in message


def test_failed_start_without_devices_leaves_nothing_changed(no_jack: None) -> None:
    interval = sys.getswitchinterval()
    output = PyAudioOutput(device="hifiberry")
    with pytest.raises(AudioDeviceError, match="No audio output device found"):
        output.start(SineSource())
    assert sys.getswitchinterval() == interval
    assert not output.active
    output.stop()


@pytest.mark.jack
def test_the_jack_dummy_device_is_listed(jack_server: JackServer) -> None:
    devices = list_output_devices()
    assert [d.describe() for d in devices if d.host_api == JACK_HOST_API] == [DUMMY_LINE]
    assert has_output_device()


@pytest.mark.jack
@pytest.mark.parametrize("spec", [None, 0, "0", "system", "SYST"])
def test_device_is_found_by_default_index_or_name(jack_server: JackServer, spec: int | str | None) -> None:
    pa = open_portaudio()
    try:
        device = resolve_output_device(pa, spec, channels=2)
    finally:
        pa.terminate()
    assert (device.name, device.host_api, device.max_channels) == (DUMMY_DEVICE, JACK_HOST_API, 2)


@pytest.mark.jack
@pytest.mark.parametrize(
    ("spec", "channels", "reason"),
    [
        (7, 1, "There is no output device with index 7"),
        ("hifiberry", 1, "No output device name contains 'hifiberry'"),
        (2.5, 1, "Output device 2.5 is neither an index nor a name"),
        ("system", 3, "cannot play 3 channels. Ask for at most 2"),
    ],
)
def test_a_missing_device_lists_the_devices_there_are(jack_server: JackServer, spec: object, channels: int,
                                                      reason: str) -> None:
    pa = open_portaudio()
    try:
        with pytest.raises(AudioDeviceError) as raised:
            resolve_output_device(pa, spec, channels=channels)  # type: ignore[arg-type]
    finally:
        pa.terminate()
    message = str(raised.value)
    assert reason in message
    assert "Output devices:\n" in message and DUMMY_LINE in message


@pytest.mark.jack
def test_a_rate_the_device_cannot_run_at_names_its_rate(jack_server: JackServer) -> None:
    output = PyAudioOutput(sample_rate=44100, device="system")
    with pytest.raises(AudioDeviceError) as raised:
        output.start(SineSource(sample_rate=44100))
    assert "does not accept 2-channel float32 audio at 44100 Hz" in str(raised.value)  # JACK: stereo float
    assert "default rate (48000 Hz)" in str(raised.value)
    assert not output.active
