"""Reads the flex (bend) sensors through an ADS1115 ADC (sensors layer).

`adafruit_ads1x15.ADS1115` configures the chip (single-shot mode, gain, data rate) at start;
conversions are then started and collected here, because the driver's single-shot read polls
the config register's OS bit in a tight loop for the whole conversion (1/data_rate: 1.2 ms at
860 SPS), keeping the bus busy and the polling thread from resting. Here the chip converts
between polls instead: a poll collects the conversion the previous poll started (one read of
the conversion register; a config read first, to see the OS bit, only when the poll comes less
than 1.5 conversion times after the start), starts the next input's conversion and returns, so
it costs two or three short transactions and no waiting, and a value is one poll old.
A poll that comes before the conversion is done (one woken early by a touch) leaves the values
as they are. Inputs are converted round robin, `channels_per_poll` per poll; the ones beyond
the first are converted during the poll, sleeping for each conversion rather than polling for
it. At start every input is converted once, so every channel has a value from the first poll.
Flex sensors follow a hand's slow bending; the touch keys are what needs every poll. The
ADS1115 has no identity register, so after the driver writes its configuration the register is
read back: a chip that does not keep the settings is not an ADS1115. Channel values are raw
signed ADC counts, rising with bend.
"""

from __future__ import annotations

import errno
import time
from collections.abc import Callable, Mapping
from typing import Any

from adafruit_ads1x15 import ADS1115
from adafruit_ads1x15.ads1x15 import Mode
from adafruit_bus_device.i2c_device import I2CDevice

from device.bus import registers as r
from device.bus.retry import RetryingI2C
from device.errors import ChipIdentityError, ConfigError, SensorError
from device.sensors.chip import devices_answering, probe

WIRING_HINT = ("Check SDA/SCL/3V3/GND to the ADS1115 board and that [ads1115].address in hardware/pins.toml "
               "matches its ADDR pin (0x48..0x4B).")
SINGLE_ENDED_MUX = 4  # MUX code of input A0 against GND; A1..A3 follow
CONVERSION_CHECKS = 8  # how many times a conversion waited for is checked before giving up
SURELY_DONE = 1.5  # conversion times after its start when a conversion is done without asking


class FlexSensor:
    """One ADS1115 on `i2c`; `inputs` maps channel names ("flex0") to ADC inputs 0..3. `sleep`
    waits for a conversion that a poll or the start must have at once; `clock` (seconds) tells
    how long ago the conversion under way started."""

    name = "ads1115"

    def __init__(self, i2c: Any, *, address: int = 0x48, inputs: Mapping[str, int] | None = None,
                 gain: float = 1, data_rate: int = 860, channels_per_poll: int | None = None,
                 init_retries: int = 3, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
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
        self.conversion_s = 1.0 / data_rate
        self.driver: ADS1115 | None = None
        self._sleep = sleep
        self._clock = clock
        self._bus = RetryingI2C(i2c)
        self._device = I2CDevice(self._bus, address, probe=False)
        self._expected_settings = (
            (r.ADS1115_GAIN_CODES[gain] << r.ADS1115_PGA_SHIFT) | r.ADS1115_MODE_SINGLE
            | (r.ADS1115_RATE_CODES[data_rate] << r.ADS1115_DR_SHIFT) | r.ADS1115_COMPARATOR_DISABLED)
        # Per input, in round-robin order: its channel name and the config word that starts its conversion.
        self._order = [(name, self._expected_settings | r.ADS1115_OS
                        | ((SINGLE_ENDED_MUX + channel) << r.ADS1115_MUX_SHIFT))
                       for name, channel in inputs.items()]
        self._next = 0
        self._pending: str | None = None  # channel whose conversion is under way
        self._started_at = 0.0
        self._fresh: dict[str, float] = {}  # converted, not yet handed to a poll
        self._out = bytearray(3)
        self._in = bytearray(2)

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
            self._next, self._pending, self._fresh = 0, None, {}
            try:
                for _ in self._order:
                    self._convert_now()
                self._start()
            except OSError as err:
                self._pending = None
                raise SensorError(f"the ADS1115 at 0x{self.address:02X} stopped answering during its "
                                  f"first conversions ({err}). {WIRING_HINT}") from err
        self.driver = driver

    def disconnect(self) -> None:
        self.driver = None
        self._pending = None
        self._fresh = {}

    def read(self, values: dict[str, float]) -> None:
        # All inputs of this poll convert before any value is stored: when one fails, the
        # chip's channels all keep their last good values, as the stale flag says.
        fresh = self._fresh
        try:
            if self._pending is None or self._surely_done() or self._conversion_done():
                if self._pending is not None:
                    fresh[self._pending] = self._result()
                    self._pending = None
                for _ in range(self.channels_per_poll - 1):
                    self._convert_now()
                self._start()
        except OSError:
            self._pending = None
            fresh.clear()
            raise
        values.update(fresh)
        fresh.clear()

    # --- conversions: start, check, collect ---------------------------------------------------
    def _start(self) -> None:
        """Start converting the next input in round-robin order."""
        name, word = self._order[self._next]
        self._next = (self._next + 1) % len(self._order)
        self._write_register(r.ADS1115_CONFIG, word)
        self._started_at = self._clock()  # after the write: the chip started before this
        self._pending = name

    def _surely_done(self) -> bool:
        # Long enough after the start that the chip must be done, even with its oscillator 10 %
        # slow: the config read that would say so is skipped (one of the ADC's three transactions).
        return self._clock() - self._started_at >= SURELY_DONE * self.conversion_s

    def _conversion_done(self) -> bool:
        return bool(self._read_register(r.ADS1115_CONFIG) & r.ADS1115_OS)

    def _result(self) -> float:
        raw = self._read_register(r.ADS1115_CONVERSION)
        return float(raw - 0x10000 if raw & 0x8000 else raw)

    def _convert_now(self) -> None:
        """Convert the next input into the fresh values, sleeping through the conversion."""
        self._start()
        # Checked once at once (a chip or fake that converts instantly costs no sleep), then
        # after a conversion time, then in quarter steps.
        waited = 0.0
        for check in range(CONVERSION_CHECKS):
            if check:
                pause = self.conversion_s if check == 1 else self.conversion_s / 4
                self._sleep(pause)
                waited += pause
            if self._conversion_done():
                assert self._pending is not None
                self._fresh[self._pending] = self._result()
                self._pending = None
                return
        raise OSError(errno.ETIMEDOUT,
                      f"the ADS1115 at 0x{self.address:02X} did not finish a conversion in "
                      f"{waited * 1e3:.1f} ms (one takes {self.conversion_s * 1e3:.1f} ms)")

    def _write_register(self, register: int, value: int) -> None:
        out = self._out
        out[0], out[1], out[2] = register, value >> 8, value & 0xFF
        with self._device as device:
            device.write(out)

    def _read_register(self, register: int) -> int:
        with self._device as device:
            device.write_then_readinto(bytes((register,)), self._in)
        return (self._in[0] << 8) | self._in[1]

    def _read_settings(self) -> int:
        return self._read_register(r.ADS1115_CONFIG) & r.ADS1115_SETTINGS_MASK

    def _identity_error(self, settings: int) -> ChipIdentityError:
        return ChipIdentityError(
            f"the chip at I2C address 0x{self.address:02X} is not an ADS1115: its config register (0x01) "
            f"read back 0x{settings:03X} in the settings bits just after 0x{self._expected_settings:03X} was "
            f"written. Check that [ads1115].address in hardware/pins.toml matches the board's ADDR pin "
            f"and that no other device uses that address (devices answering: "
            f"{devices_answering(self._bus)}).")
