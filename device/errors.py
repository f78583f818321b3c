"""Every error the instrument raises on purpose, in one place (shared by all layers).

Each is also a standard exception, so callers that only know `ValueError` or `OSError`
still catch it. Messages say what is wrong and what to do about it.
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


class EngineError(InstrumentError, ValueError):
    """The sound engine was given parameters or a bundle it cannot play."""
