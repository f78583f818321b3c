"""Register-level simulation of the TI ADS1115 ADC with flex sensors on its inputs (bus layer).

As the datasheet says where the adafruit driver can see it: a 2-bit pointer register selects
one of four 16-bit big-endian registers (conversion 0x00, config 0x01, thresholds 0x02/0x03);
writing the config register with OS = 1 in single-shot mode starts one conversion of the input
pair chosen by MUX, with the full-scale range chosen by PGA; reading config shows OS = 0 while
converting and 1 when idle; in continuous mode the conversion register follows the inputs.
Conversions see the voltage set on each input plus a little seeded noise.

Given a `clock`, a single-shot conversion is done 1/data-rate seconds after the write that
started it (1.16 ms at 860 SPS), as on the real part; without one it is done at once, so unit
tests poll fast. Simplified: a conversion takes the inputs as they are when it is first looked
at after it is done (no integration window), the data rate does not change the noise, and the
comparator never drives ALERT/RDY.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass

from device.bus import registers as r
from device.errors import SimulationError

ADC_INPUTS = 4


@dataclass(frozen=True)
class FlexDivider:
    """A flex sensor in a voltage divider: VDD -- r_fixed -- input -- flex -- GND.

    The flex sensor's resistance grows with bend, so the input voltage rises with bend.
    Defaults: a 2.2" Spectra Symbol sensor (about 25 kOhm flat, 100 kOhm bent double) and 47 kOhm.
    """

    vdd: float = 3.3
    r_fixed: float = 47_000.0
    r_flat: float = 25_000.0
    r_bent: float = 100_000.0

    def volts(self, bend: float) -> float:
        resistance = self.r_flat + bend * (self.r_bent - self.r_flat)
        return self.vdd * resistance / (resistance + self.r_fixed)


class FakeADS1115:
    """The chip with what is wired to its four inputs (volts, all 0 at start). `clock` (seconds,
    e.g. time.monotonic) times single-shot conversions; None finishes them at once."""

    def __init__(self, *, seed: int = 0, noise_volts: float = 0.0003, divider: FlexDivider | None = None,
                 clock: Callable[[], float] | None = None) -> None:
        if noise_volts < 0:
            raise SimulationError(f"noise_volts must be >= 0, got {noise_volts}")
        self._rng = random.Random(seed)
        self.noise_volts = float(noise_volts)
        self.divider = divider or FlexDivider()
        self.clock = clock
        self._volts = [0.0] * ADC_INPUTS
        self.conversions = 0
        self.power_on_reset()

    # --- what is wired to the inputs -----------------------------------------------------
    def set_voltage(self, channel: int, volts: float) -> None:
        self._check_channel(channel)
        limit = self.divider.vdd + 0.3
        if not -0.3 <= volts <= limit:
            raise SimulationError(f"input A{channel} can take -0.3..{limit:.1f} V (VDD + 0.3), got {volts} V")
        self._volts[channel] = float(volts)

    def voltage(self, channel: int) -> float:
        self._check_channel(channel)
        return self._volts[channel]

    def bend(self, channel: int, amount: float) -> None:
        """Bend the flex sensor on input `channel`: 0 = flat, 1 = fully bent."""
        self._check_channel(channel)
        if not 0.0 <= amount <= 1.0:
            raise SimulationError(f"bend amount must be in 0..1, got {amount} for input A{channel}")
        self._volts[channel] = self.divider.volts(amount)

    # --- chip behaviour ------------------------------------------------------------------
    def power_on_reset(self) -> None:
        self.pointer = r.ADS1115_CONVERSION
        self._config = r.ADS1115_CONFIG_RESET & ~r.ADS1115_OS
        self._thresholds = {r.ADS1115_LO_THRESH: r.ADS1115_LO_THRESH_RESET,
                            r.ADS1115_HI_THRESH: r.ADS1115_HI_THRESH_RESET}
        self._result = 0
        self._converting = False
        self._started_config = 0  # the config word that started the conversion under way
        self._done_at = 0.0

    def write(self, data: bytes) -> None:
        if not data:
            return  # an address-only write: what a bus probe sends
        self.pointer = data[0] & r.ADS1115_POINTER_MASK
        if len(data) < 3:
            return  # a pointer-only write, or an incomplete word the chip discards
        value = (data[1] << 8) | data[2]
        if self.pointer == r.ADS1115_CONFIG:
            self._write_config(value)
        elif self.pointer in self._thresholds:
            self._thresholds[self.pointer] = value

    def read(self, count: int) -> bytes:
        word = self._register(self.pointer)
        pair = bytes(((word >> 8) & 0xFF, word & 0xFF))
        # The chip keeps shifting out the same register for longer reads.
        return (pair * (count // 2 + 1))[:count]

    @staticmethod
    def conversion_seconds(config: int) -> float:
        """How long a single-shot conversion takes at the data rate in `config`: 1/SPS."""
        return 1.0 / r.ADS1115_DATA_RATES[(config & r.ADS1115_DR_MASK) >> r.ADS1115_DR_SHIFT]

    @property
    def converting(self) -> bool:
        """True while a single-shot conversion is under way (OS reads 0)."""
        self._finish_if_done()
        return self._converting

    def _write_config(self, value: int) -> None:
        self._config = value & ~r.ADS1115_OS
        if value & r.ADS1115_OS and value & r.ADS1115_MODE_SINGLE:
            self._converting = True
            self._started_config = self._config
            if self.clock is not None:
                self._done_at = self.clock() + self.conversion_seconds(self._config)

    def _finish_if_done(self) -> None:
        if self._converting and (self.clock is None or self.clock() >= self._done_at):
            self._converting = False
            self._result = self._convert(self._started_config)

    def _register(self, pointer: int) -> int:
        if pointer == r.ADS1115_CONFIG:
            self._finish_if_done()
            return self._config if self._converting else self._config | r.ADS1115_OS
        if pointer == r.ADS1115_CONVERSION:
            if not self._config & r.ADS1115_MODE_SINGLE:
                self._result = self._convert(self._config)
            else:
                self._finish_if_done()  # until then the register holds the previous result
            return self._result
        return self._thresholds[pointer]

    def _convert(self, config: int) -> int:
        self.conversions += 1
        positive, negative = r.ADS1115_MUX_INPUTS[(config & r.ADS1115_MUX_MASK) >> r.ADS1115_MUX_SHIFT]
        volts = self._volts[positive] - (self._volts[negative] if negative is not None else 0.0)
        if self.noise_volts:
            volts += self._rng.gauss(0.0, self.noise_volts)
        full_scale = r.ADS1115_PGA_FULL_SCALE[(config & r.ADS1115_PGA_MASK) >> r.ADS1115_PGA_SHIFT]
        code = min(max(math.floor(volts / full_scale * 32768.0), -32768), 32767)
        return code & 0xFFFF

    @staticmethod
    def _check_channel(channel: int) -> None:
        if not (isinstance(channel, int) and 0 <= channel < ADC_INPUTS):
            raise SimulationError(f"the ADS1115 has inputs A0..A3 (0..3), got {channel!r}")
