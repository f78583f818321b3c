"""Every error the device raises on purpose, in one place (shared by all layers).

The host tools' own errors (data sets, checkpoints) subclass `InstrumentError` in
`host_tools/errors.py`. Each is also a standard exception, so callers that only know
`ValueError` or `OSError` still catch it. Messages say what is wrong and what to do about it.
"""


class InstrumentError(Exception):
    """Base of every error the instrument raises deliberately."""


class BundleError(InstrumentError, ValueError):
    """A bundle file is unreadable, corrupt, of an unknown version or inconsistent."""


class ConfigError(InstrumentError, ValueError):
    """A configuration file (mapping, pins, gesture, recipe) is missing keys or has bad values."""


class GestureError(ConfigError):
    """A gesture script for the simulated sensors is malformed."""


class SensorError(InstrumentError, OSError):
    """A sensor chip did not answer, or answered as the wrong chip."""


class ChipIdentityError(SensorError):
    """The chip at an I2C address is not the one expected (wrong part, or wiring fault)."""


class AudioDeviceError(InstrumentError, OSError):
    """The requested audio device does not exist or cannot be opened."""


class AudioDeviceLostError(AudioDeviceError):
    """The sound device stopped taking audio while playing (a JACK server gone, a card unplugged)."""


class EngineError(InstrumentError, ValueError):
    """The sound engine was given parameters or a bundle it cannot play."""



class StoreError(InstrumentError, ValueError):
    """The model store refused an operation (bad name, incompatible or oversized bundle, no room,
    nothing to roll back to) or found its own files damaged."""


class SignatureError(StoreError):
    """A bundle's signature is missing, malformed, made by an untrusted key or does not match."""


class FlashError(InstrumentError, OSError):
    """A transfer to the device failed: the link stalled, the device refused, or the frames broke."""


class SimulationError(InstrumentError, ValueError):
    """A simulated bus or chip was asked for something the real part cannot do."""



class PresetError(InstrumentError, ValueError):
    """A preset slot is empty, out of range or its file is damaged or of an unknown version."""
