"""Opening a PortAudio output stream through pyaudio, with errors that say what to do (audio layer).

Shared by the ring-fed output and the callback output: the sample format a device takes, the
stream itself, and the device's own latency. JACK gets one correction here: PortAudio's JACK
blocking mode (19.6 and later, `BlockingBegin` in pa_jack.c) sizes and copies its ring as if
every stream were two-channel float32, so a blocking stream on JACK is opened that way whatever
was asked for (a mono source is copied to both channels, as to every channel elsewhere).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from device.audio.devices import OutputDevice, describe_devices, list_output_devices
from device.errors import AudioDeviceError

if TYPE_CHECKING:
    import pyaudio

SAMPLE_FORMATS = ("auto", "float32", "int16")
JACK_HOST_API = "JACK Audio Connection Kit"
PA_OUTPUT_UNDERFLOWED = -9980  # PortAudio's paOutputUnderflowed, as pyaudio's OSError carries it


def blocking_layout(device: OutputDevice, channels: int, requested_format: str) -> tuple[int, str]:
    """Channels and format to open a blocking stream with (see the module doc about JACK)."""
    if device.host_api == JACK_HOST_API:
        return max(2, channels), "float32"
    return channels, requested_format


def choose_format(pa: pyaudio.PyAudio, device: OutputDevice, sample_rate: int, channels: int,
                  requested: str) -> str:
    """"float32" or "int16": the requested one, or with "auto" the first the device accepts."""
    import pyaudio as _pyaudio

    candidates = ["float32", "int16"] if requested == "auto" else [requested]
    codes = {"float32": _pyaudio.paFloat32, "int16": _pyaudio.paInt16}
    reasons = []
    for name in candidates:
        try:
            pa.is_format_supported(sample_rate, output_device=device.index, output_channels=channels,
                                   output_format=codes[name])
            return name
        except ValueError as exc:
            reasons.append(f"{name}: {exc.args[0] if exc.args else exc}")
    raise AudioDeviceError(
        f"Output device {device.describe()} does not accept {channels}-channel "
        f"{' or '.join(candidates)} audio at {sample_rate} Hz ({'; '.join(reasons)}). "
        f"Try its default rate ({device.default_sample_rate:g} Hz) or another sample format."
    )


def open_output_stream(pa: pyaudio.PyAudio, device: OutputDevice, *, sample_rate: int, channels: int,
                       sample_format: str, frames_per_buffer: int, callback: Any = None) -> Any:
    """An opened, not yet started, output stream: blocking when `callback` is None."""
    import pyaudio as _pyaudio

    code = _pyaudio.paFloat32 if sample_format == "float32" else _pyaudio.paInt16
    try:
        return pa.open(rate=sample_rate, channels=channels, format=code, output=True,
                       output_device_index=device.index, frames_per_buffer=frames_per_buffer,
                       stream_callback=callback, start=False)
    except (OSError, ValueError) as exc:
        raise AudioDeviceError(
            f"Could not open output device {device.describe()} at {sample_rate} Hz, "
            f"{channels} channels, {frames_per_buffer}-frame buffers: {exc}. "
            "Another program may hold the device (stop it), or the settings may not suit it.\n"
            f"{describe_devices(list_output_devices(pa))}"
        ) from exc


def stream_latency(stream: Any) -> float:
    try:
        return float(stream.get_output_latency())
    except OSError:
        return 0.0
