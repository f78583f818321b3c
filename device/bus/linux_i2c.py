"""Opens the Raspberry Pi's hardware I2C bus through Adafruit Blinka (bus layer).

`board` and `busio` are imported inside `open_i2c_bus`, never at import time: on a laptop, in
tests and in the simulator nothing here runs, and Blinka's board detection stays out of the way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from device.errors import ConfigError, SensorError

ENABLE_HINT = ("enable I2C with `sudo raspi-config nonint do_i2c 0` (or dtparam=i2c_arm=on in "
               "/boot/firmware/config.txt) and reboot")


def open_i2c_bus(bus_number: int = 1) -> Any:
    """A Blinka `busio.I2C` on /dev/i2c-`bus_number` (header pins 3/5 for bus 1)."""
    device = Path(f"/dev/i2c-{bus_number}")
    if not device.exists():
        raise SensorError(f"{device} does not exist: {ENABLE_HINT}; on a machine without I2C, "
                          "play with --sensors sim")
    try:
        if bus_number == 1:
            import board
            import busio

            return busio.I2C(board.SCL, board.SDA)
        try:
            from adafruit_extended_bus import ExtendedI2C
        except ImportError:
            raise ConfigError(f"[i2c].bus = {bus_number}: Blinka reaches only bus 1 through board.SCL/SDA; "
                              "install adafruit-extended-bus to use another bus") from None
        return ExtendedI2C(bus_number)
    except (ImportError, NotImplementedError, RuntimeError, ValueError, OSError) as err:
        if isinstance(err, ConfigError):
            raise
        raise SensorError(f"cannot open I2C bus {bus_number} through Blinka: {err}. On a Raspberry Pi, "
                          f"check that the user is in the i2c group and {ENABLE_HINT}") from err
