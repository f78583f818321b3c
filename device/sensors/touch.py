"""Reads the twelve MPR121 touch electrodes (sensors layer).

The Adafruit driver `adafruit_mpr121.MPR121` resets and configures the chip and checks its
identity; polling then reads the touch status and all twelve filtered measurements in one
auto-increment block read (0x00..0x1B, 28 bytes, ~0.7 ms at 400 kHz) instead of the driver's
one transaction per electrode (24 on a full poll), because each transaction costs bus time.
Reading the status is what releases the chip's IRQ line (`irq`), which wakes the control loop
when the touch status changes; the channel values come from the measurements. Baselines change
slowly and are read every `housekeeping_every` polls (put off by a poll while the IRQ is low, so
a touch's read stays one transaction), together with the ECR register: if the chip stopped
measuring (a supply glitch resets it), the read raises SensorError so the array re-initialises it.
Channel "eN" = baseline - filtered data: ~0 untouched, rising with touch (~60 at a firm touch).
"""

from __future__ import annotations

import struct
from typing import Any

import adafruit_mpr121
from adafruit_bus_device.i2c_device import I2CDevice

from device.bus import registers as r
from device.bus.irq_line import IrqLine
from device.bus.retry import RetryingI2C
from device.errors import ChipIdentityError, ConfigError, SensorError
from device.sensors.chip import devices_answering, probe

DRIVER_TOUCH_THRESHOLD = 12  # what adafruit_mpr121's reset() writes
DRIVER_RELEASE_THRESHOLD = 6
WIRING_HINT = ("Check SDA/SCL/3V3/GND to the MPR121 board and that [mpr121].address in hardware/pins.toml "
               "matches its ADDR jumper (0x5A..0x5D).")


class TouchSensor:
    """One MPR121 on `i2c` (a busio.I2C or a fake): channels e0..e11. `irq` is its IRQ output,
    if wired; `touch_status` holds the status bits (bit i = electrode i) of the last read."""

    name = "mpr121"

    def __init__(self, i2c: Any, *, address: int = 0x5A, touch_threshold: int = DRIVER_TOUCH_THRESHOLD,
                 release_threshold: int = DRIVER_RELEASE_THRESHOLD, housekeeping_every: int = 16,
                 init_retries: int = 3, irq: IrqLine | None = None) -> None:
        if address not in r.MPR121_ADDRESSES:
            raise ConfigError(f"MPR121 address 0x{address:02X} is impossible: the chip answers at "
                              "0x5A..0x5D only")
        if not 0 <= release_threshold < touch_threshold <= 255:
            raise ConfigError(f"MPR121 thresholds need 0 <= release < touch <= 255, got touch "
                              f"{touch_threshold}, release {release_threshold}")
        if housekeeping_every < 1:
            raise ConfigError(f"housekeeping_every must be >= 1 poll, got {housekeeping_every}")
        self.address = address
        self.channels = tuple(f"e{i}" for i in range(r.MPR121_ELECTRODES))
        self.touch_threshold = touch_threshold
        self.release_threshold = release_threshold
        self.housekeeping_every = housekeeping_every
        self.init_retries = init_retries
        self.irq = irq
        self.touch_status = 0
        self.driver: adafruit_mpr121.MPR121 | None = None
        self._bus = RetryingI2C(i2c)
        self._device = I2CDevice(self._bus, address, probe=False)
        self._status_register = bytes((r.MPR121_TOUCH_STATUS,))
        self._baseline_register = bytes((r.MPR121_BASELINE,))
        self._ecr_register = bytes((r.MPR121_ECR,))
        # Touch status (2 bytes), out-of-range status (2), then the filtered data (2 per electrode).
        self._block = bytearray(r.MPR121_FILTERED_DATA + 2 * r.MPR121_ELECTRODES)
        self._baseline_bytes = bytearray(r.MPR121_ELECTRODES)
        self._ecr = bytearray(1)
        self._baselines: tuple[int, ...] = (0,) * r.MPR121_ELECTRODES
        self._unpack = struct.Struct(f"<H{r.MPR121_FILTERED_DATA - 2}x{r.MPR121_ELECTRODES}H").unpack
        self._until_housekeeping = 0  # reads before the next housekeeping; 0: the next read does it
        self._have_baselines = False

    @property
    def connected(self) -> bool:
        return self.driver is not None

    def connect(self) -> None:
        self.driver = None
        with self._bus.retrying(self.init_retries):
            probe(self._bus, self.address, "MPR121", WIRING_HINT)
            try:
                driver = adafruit_mpr121.MPR121(self._bus, address=self.address)
                if (self.touch_threshold, self.release_threshold) != (DRIVER_TOUCH_THRESHOLD,
                                                                       DRIVER_RELEASE_THRESHOLD):
                    for electrode in range(r.MPR121_ELECTRODES):
                        driver[electrode].threshold = self.touch_threshold
                        driver[electrode].release_threshold = self.release_threshold
            except RuntimeError:
                raise self._identity_error() from None
            except (OSError, ValueError) as err:  # ValueError: the driver's own probe found nothing
                raise SensorError(f"the MPR121 at 0x{self.address:02X} stopped answering while being "
                                  f"reset and configured ({err}). {WIRING_HINT}") from err
        self._until_housekeeping = 0
        self._have_baselines = False
        self.driver = driver

    def disconnect(self) -> None:
        self.driver = None

    def read(self, values: dict[str, float]) -> None:
        # A read that a touch caused (IRQ low) puts housekeeping off to the next one: the note goes first.
        touch_waiting = self.irq is not None and self.irq.asserted and self._have_baselines
        if self._until_housekeeping <= 0 and not touch_waiting:
            self._housekeeping()
            self._until_housekeeping = self.housekeeping_every
        self._until_housekeeping -= 1
        with self._device as device:
            device.write_then_readinto(self._status_register, self._block)
        status, *filtered_data = self._unpack(self._block)
        self.touch_status = status & ((1 << r.MPR121_ELECTRODES) - 1)
        for name, baseline, filtered in zip(self.channels, self._baselines, filtered_data, strict=True):
            values[name] = float(baseline - (filtered & r.MPR121_DATA_MAX))

    def _housekeeping(self) -> None:
        with self._device as device:
            device.write_then_readinto(self._ecr_register, self._ecr)
            if not self._ecr[0] & r.MPR121_ECR_ELECTRODE_MASK:
                raise SensorError(f"the MPR121 at 0x{self.address:02X} stopped measuring (ECR = "
                                  f"0x{self._ecr[0]:02X}): it was reset, probably by a supply glitch")
            device.write_then_readinto(self._baseline_register, self._baseline_bytes)
        self._baselines = tuple(b << 2 for b in self._baseline_bytes)
        self._have_baselines = True

    def _identity_error(self) -> ChipIdentityError:
        config2 = bytearray(1)
        try:
            with self._device as device:
                device.write_then_readinto(bytes((r.MPR121_CONFIG2,)), config2)
            seen = f"0x{config2[0]:02X}"
        except OSError as err:
            seen = f"unreadable ({err})"
        return ChipIdentityError(
            f"the chip at I2C address 0x{self.address:02X} is not an MPR121: after a soft reset its CONFIG2 "
            f"register (0x5D) read {seen}, an MPR121 reads 0x{r.MPR121_CONFIG2_RESET:02X}. Check that "
            f"[mpr121].address in hardware/pins.toml matches the board's ADDR jumper and that no other "
            f"device uses that address (devices answering: {devices_answering(self._bus)}).")
