"""Finding sound output devices through PortAudio (audio layer).

`list_output_devices()` says what there is, `has_output_device()` lets the app fall back to a WAV
file when there is no sound card, and `resolve_output_device()` turns what the user asked for
(nothing, an index, or part of a name) into one device, or raises AudioDeviceError listing the
devices there are and what to do. PortAudio is imported lazily, so WAV-only use needs no pyaudio.

PortAudio takes its device list when it is initialised: a JACK server started later, or a USB
card plugged in later, is seen only by a PortAudio initialised after it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from device.errors import AudioDeviceError

if TYPE_CHECKING:
    import pyaudio

NO_DEVICE_ADVICE = (
    "Connect a sound card or enable the audio HAT (a dtoverlay line in /boot/firmware/config.txt, then "
    "reboot), check `aplay -l`, or play into a file instead with --out FILE.wav"
)


@dataclass(frozen=True)
class OutputDevice:
    """One PortAudio device that can play: its index, name, host API and what it offers."""

    index: int
    name: str
    host_api: str
    max_channels: int
    default_sample_rate: float

    def describe(self) -> str:
        return (f"[{self.index}] {self.name} ({self.host_api}, {self.max_channels} output channels, "
                f"default {self.default_sample_rate:g} Hz)")


@contextlib.contextmanager
def _stderr_silenced() -> Iterator[None]:
    # ALSA and libjack print dozens of lines to the C-level stderr while PortAudio probes for
    # devices that are not there; they say nothing the exceptions here do not say better.
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
            try:
                yield
            finally:
                os.dup2(saved, 2)
    finally:
        os.close(saved)


def open_portaudio(*, quiet: bool = True) -> pyaudio.PyAudio:
    """Initialise PortAudio (a new device scan); call `.terminate()` on the result when done.

    `quiet` hides the C libraries' probing noise on stderr during the scan (the whole process's
    stderr is redirected for that moment, so use it at start-up, not while other threads print).
    """
    try:
        import pyaudio
    except ImportError as exc:
        raise AudioDeviceError(
            "pyaudio is not installed, so no sound card can be used: install the device extra "
            "(pip install -e '.[device]', which needs portaudio19-dev) or play into a WAV file with --out"
        ) from exc
    if not quiet:
        return pyaudio.PyAudio()
    with _stderr_silenced():
        return pyaudio.PyAudio()


@contextlib.contextmanager
def portaudio_session(pa: pyaudio.PyAudio | None = None) -> Iterator[pyaudio.PyAudio]:
    """Use `pa` if given (left open), else initialise PortAudio for the block and terminate it after."""
    if pa is not None:
        yield pa
        return
    owned = open_portaudio()
    try:
        yield owned
    finally:
        owned.terminate()


def list_output_devices(pa: pyaudio.PyAudio | None = None) -> list[OutputDevice]:
    """Every device PortAudio can play to, in PortAudio's index order."""
    with portaudio_session(pa) as session:
        devices = []
        for index in range(session.get_device_count()):
            info = session.get_device_info_by_index(index)
            if int(info["maxOutputChannels"]) < 1:
                continue
            host_api = session.get_host_api_info_by_index(int(info["hostApi"]))["name"]
            devices.append(OutputDevice(
                index=index,
                name=str(info["name"]),
                host_api=str(host_api),
                max_channels=int(info["maxOutputChannels"]),
                default_sample_rate=float(info["defaultSampleRate"]),
            ))
        return devices


def has_output_device(pa: pyaudio.PyAudio | None = None) -> bool:
    """True when PortAudio sees at least one device that can play (False if pyaudio is missing)."""
    try:
        return bool(list_output_devices(pa))
    except AudioDeviceError:
        return False


def describe_devices(devices: list[OutputDevice]) -> str:
    if not devices:
        return "There are no audio output devices."
    return "Output devices:\n" + "\n".join("  " + device.describe() for device in devices)


def _not_found(reason: str, devices: list[OutputDevice], advice: str) -> AudioDeviceError:
    return AudioDeviceError(f"{reason}. {describe_devices(devices)}\n{advice}")


def resolve_output_device(pa: pyaudio.PyAudio, device: int | str | None, channels: int = 1) -> OutputDevice:
    """The output device meant by `device`: None for the default, an index, or part of a name.

    A name matches case-insensitively; an exact name wins over partial matches, and a part that
    matches several devices is refused rather than guessed. The device must offer `channels`.
    """
    devices = list_output_devices(pa)
    choose = "Choose one by index or by part of its name (--device)"
    if not devices:
        raise _not_found("No audio output device found", devices, NO_DEVICE_ADVICE)
    if isinstance(device, str) and device.strip().isdigit():
        device = int(device.strip())
    if device is None:
        chosen = _default_device(pa, devices)
    elif isinstance(device, int) and not isinstance(device, bool):
        matches = [d for d in devices if d.index == device]
        if not matches:
            raise _not_found(f"There is no output device with index {device}", devices, choose)
        chosen = matches[0]
    elif isinstance(device, str) and device.strip():
        wanted = device.strip().lower()
        exact = [d for d in devices if d.name.lower() == wanted]
        matches = exact or [d for d in devices if wanted in d.name.lower()]
        if not matches:
            raise _not_found(f"No output device name contains {device!r}", devices, choose)
        if len(matches) > 1:
            raise _not_found(f"{device!r} matches {len(matches)} output devices", devices,
                             "Give more of the name, or the index")
        chosen = matches[0]
    else:
        raise _not_found(f"Output device {device!r} is neither an index nor a name", devices, choose)
    if channels > chosen.max_channels:
        raise AudioDeviceError(
            f"Output device {chosen.describe()} cannot play {channels} channels. "
            f"Ask for at most {chosen.max_channels}, or choose another device.\n{describe_devices(devices)}"
        )
    return chosen


def _default_device(pa: pyaudio.PyAudio, devices: list[OutputDevice]) -> OutputDevice:
    try:
        index = int(pa.get_default_output_device_info()["index"])
    except (OSError, ValueError):
        # PortAudio reports no default when its default host API has no devices, even though
        # another host API (JACK, say) has some: the first one that can play is the natural default.
        return devices[0]
    for candidate in devices:
        if candidate.index == index:
            return candidate
    return devices[0]
