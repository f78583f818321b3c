"""Reads the flex (bend) sensors through an ADS1115 ADC (sensors layer).

Uses `adafruit_ads1x15.ADS1115` in single-shot mode with one `AnalogIn` per input (the
driver's continuous mode would return the last channel's result after a channel switch).
A single-shot read starts a conversion and polls the config register until it is done: about
1/data_rate seconds on the real part (1.2 ms at 860 SPS, the default here), so a poll converts
only `channels_per_poll` inputs, round robin; flex sensors follow a hand's slow bending, the
touch keys are what needs every poll. The ADS1115 has no identity register, so after the
driver writes its configuration the register is read back: a chip that does not keep the
settings is not an ADS1115. Channel values are raw signed ADC counts, rising with bend.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adafruit_ads1x15 import ADS1115, AnalogIn
from adafruit_ads1x15.ads1x15 import Mode
from adafruit_bus_device.i2c_device import I2CDevice

from device.bus import registers as r
from device.bus.retry import RetryingI2C
from device.errors import ChipIdentityError, ConfigError, SensorError
from device.sensors.chip import devices_answering, probe

WIRING_HINT = ("Check SDA/SCL/3V3/GND to the ADS1115 board and that [ads1115].address in hardware/pins.toml "
               "matches its ADDR pin (0x48..0x4B).")


class FlexSensor:
    """One ADS1115 on `i2c`; `inputs` maps channel names ("flex0") to ADC inputs 0..3."""

    name = "ads1115"

    def __init__(self, i2c: Any, *, address: int = 0x48, inputs: Mapping[str, int] | None = None,
                 gain: float = 1, data_rate: int = 860, channels_per_poll: int | None = None,
                 init_retries: int = 3) -> None:
        inputs = dict(inputs if inputs is not None else {"flex0": 0, "flex1": 1})
        if address not in r.ADS1115_ADDRESSES:
            raise ConfigError(f"ADS1115 address 0x{address:02X} is impossible: the chip answers at "
                              "0x48..0x4B only")
        if not inputs or not all(0 <= ch <= 3 for ch in inputs.values()) or \
                len(set(inputs.values())) != len(inputs):
            raise ConfigError(f"ADS1115 inputs must map channel names to distinct inputs 0..3, got {inputs}")
        if gain not in r.ADS1115_GAIN_CODES:
            raise ConfigError(f"ADS1115 gain must be one of 2/3, 1, 2, 4, 8, 16, got {gain}")
        if data_rate not in r.ADS1115_RATE_CODES:
            raise ConfigError(f"ADS1115 data_rate must be one of {sorted(r.ADS1115_RATE_CODES)}, "
                              f"got {data_rate}")
        per_poll = len(inputs) if channels_per_poll is None else channels_per_poll
        if not 1 <= per_poll <= len(inputs):
            raise ConfigError(f"channels_per_poll must be 1..{len(inputs)}, got {channels_per_poll}")
        self.address = address
        self.inputs = inputs
        self.channels = tuple(inputs)
        self.gain = gain
        self.data_rate = data_rate
        self.channels_per_poll = per_poll
        self.init_retries = init_retries
        self.driver: ADS1115 | None = None
        self._bus = RetryingI2C(i2c)
        self._analog: list[tuple[str, AnalogIn]] = []
        self._next = 0
        self._expected_settings = (
            (r.ADS1115_GAIN_CODES[gain] << r.ADS1115_PGA_SHIFT) | r.ADS1115_MODE_SINGLE
            | (r.ADS1115_RATE_CODES[data_rate] << r.ADS1115_DR_SHIFT) | r.ADS1115_COMPARATOR_DISABLED)

    @property
    def connected(self) -> bool:
        return self.driver is not None

    def connect(self) -> None:
        self.driver = None
        with self._bus.retrying(self.init_retries):
            probe(self._bus, self.address, "ADS1115", WIRING_HINT)
            try:
                driver = ADS1115(self._bus, gain=self.gain, data_rate=self.data_rate, mode=Mode.SINGLE,
                                 address=self.address)
                settings = self._read_settings()
            except (OSError, ValueError) as err:  # ValueError: the driver's own probe found nothing
                raise SensorError(f"the ADS1115 at 0x{self.address:02X} stopped answering while being "
                                  f"configured ({err}). {WIRING_HINT}") from err
            if settings != self._expected_settings:
                raise self._identity_error(settings)
        self._analog = [(name, AnalogIn(driver, channel)) for name, channel in self.inputs.items()]
        self._next = 0
        self.driver = driver

    def disconnect(self) -> None:
        self.driver = None
        self._analog = []

    def read(self, values: dict[str, float]) -> None:
        # All inputs of this poll convert before any value is stored: when one fails, the
        # chip's channels all keep their last good values, as the stale flag says.
        analog, start, count = self._analog, self._next, self.channels_per_poll
        results = [(analog[(start + k) % len(analog)][0], float(analog[(start + k) % len(analog)][1].value))
                   for k in range(count)]
        for name, value in results:
            values[name] = value
        self._next = (start + count) % len(analog)

    def _read_settings(self) -> int:
        config = bytearray(2)
        with I2CDevice(self._bus, self.address, probe=False) as device:
            device.write_then_readinto(bytes((r.ADS1115_CONFIG,)), config)
        return ((config[0] << 8) | config[1]) & r.ADS1115_SETTINGS_MASK

    def _identity_error(self, settings: int) -> ChipIdentityError:
        return ChipIdentityError(
            f"the chip at I2C address 0x{self.address:02X} is not an ADS1115: its config register (0x01) "
            f"read back 0x{settings:03X} in the settings bits just after 0x{self._expected_settings:03X} was "
            f"written. Check that [ads1115].address in hardware/pins.toml matches the board's ADDR pin "
            f"and that no other device uses that address (devices answering: "
            f"{devices_answering(self._bus)}).")
