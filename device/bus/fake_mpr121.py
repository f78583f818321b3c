"""Register-level simulation of the NXP MPR121 capacitive touch controller (bus layer).

Behaves as the datasheet says where the adafruit driver and our reader can see it: power-on
and soft reset (0x80 <- 0x63) leave CONFIG1 = 0x10 and CONFIG2 = 0x24, configuration writes
are ignored in run mode (ECR electrode bits non-zero), run mode starts with the baseline
loaded from the first measurement (ECR CL bits 1x), filtered data (0x04..) are 10-bit
little-endian words, baseline bytes (0x1E..) hold the baseline >> 2, touch status (0x00/0x01)
follows the touch/release thresholds (0x41..) with hysteresis, reads auto-increment, and the
IRQ output (`irq`) is pulled low when the touch status changes and released when the host
reads a touch status register (0x00 or 0x01).

Simplified: a fresh measurement at every read, and at every touch or release in run mode (so
the IRQ follows a finger at once), instead of every ESI period; no debounce, no out-of-range
detection, and baseline tracking only upwards (untouched data above the baseline pull it up at
once), which is what matters after a touch that was present when the chip started. A real
MPR121 reports a touch a few milliseconds after the finger lands (ESI period, filters), which
no figure measured on the fake includes. Bus reads and finger changes may come from different
threads (a control thread polling, a test touching), so both take the chip's lock.
"""

from __future__ import annotations

import random
import threading

from device.bus import registers as r
from device.bus.fake_register_chip import FakeRegisterChip
from device.bus.irq_line import FakeIrqLine
from device.errors import SimulationError

NOISE_TABLE = 4099


class FakeMPR121(FakeRegisterChip):
    """The chip plus the electrodes in front of it.

    `rest_counts` is each electrode's untouched measurement (default: seeded, 640..720),
    `touch_depth` how far a full touch pulls the measurement down (counts), `noise` the
    standard deviation of the measurement noise (counts).
    """

    def __init__(self, *, seed: int = 0, touch_depth: float = 60.0, noise: float = 0.8,
                 rest_counts: list[int] | None = None) -> None:
        self._rng = random.Random(seed)
        if rest_counts is None:
            rest_counts = [640 + self._rng.randrange(80) for _ in range(r.MPR121_ELECTRODES)]
        if len(rest_counts) != r.MPR121_ELECTRODES or not all(
                0 <= c <= r.MPR121_DATA_MAX for c in rest_counts):
            raise SimulationError(f"rest_counts must be {r.MPR121_ELECTRODES} values in 0..1023, "
                                  f"got {rest_counts!r}")
        if not 0.0 < touch_depth <= 512.0 or noise < 0.0:
            raise SimulationError(f"touch_depth must be in (0, 512] and noise >= 0, "
                                  f"got {touch_depth}, {noise}")
        self.rest_counts = list(rest_counts)
        self.touch_depth = float(touch_depth)
        self.noise = float(noise)
        self._amounts = [0.0] * r.MPR121_ELECTRODES
        self._levels = list(self.rest_counts)  # noiseless measurement of each electrode now
        # Noise comes from a seeded table read from a random offset per refresh: one random
        # draw per refresh instead of twelve keeps the fake cheap at kilohertz poll rates.
        self._noise = [round(self._rng.gauss(0.0, noise)) for _ in range(NOISE_TABLE)] if noise else [0]
        self.soft_resets = 0
        self.irq = FakeIrqLine()
        self._lock = threading.RLock()
        super().__init__({r.MPR121_CONFIG1: r.MPR121_CONFIG1_RESET,
                          r.MPR121_CONFIG2: r.MPR121_CONFIG2_RESET})

    # --- what a finger (or a gesture script) does ----------------------------------------
    def touch(self, electrode: int, amount: float = 1.0) -> None:
        """Put a finger on `electrode`; `amount` 0..1 scales how firmly (0 = not touching)."""
        self._check_electrode(electrode)
        if not 0.0 <= amount <= 1.0:
            raise SimulationError(f"touch amount must be in 0..1, got {amount} for electrode {electrode}")
        with self._lock:
            level = round(self.rest_counts[electrode] - amount * self.touch_depth)
            changed = level != self._levels[electrode]
            self._amounts[electrode] = float(amount)
            self._levels[electrode] = level
            if changed and self.running:
                self._refresh()  # the chip measures while the finger is there: IRQ at once

    def release(self, electrode: int) -> None:
        self.touch(electrode, 0.0)

    def touch_amount(self, electrode: int) -> float:
        self._check_electrode(electrode)
        return self._amounts[electrode]

    @property
    def running(self) -> bool:
        enabled = r.MPR121_ECR_ELECTRODE_MASK | r.MPR121_ECR_PROXIMITY_MASK
        return bool(self.registers[r.MPR121_ECR] & enabled)

    # --- chip behaviour --------------------------------------------------------------------
    def power_on_reset(self) -> None:
        with self._lock:
            super().power_on_reset()
            self._baseline = [0] * r.MPR121_ELECTRODES
            self._touched = [False] * r.MPR121_ELECTRODES
            self.irq.release()

    def write(self, data: bytes) -> None:
        with self._lock:
            super().write(data)

    def read(self, count: int) -> bytes:
        with self._lock:
            return super().read(count)

    def _store(self, register: int, value: int) -> None:
        if register == r.MPR121_SOFT_RESET:
            if value == r.MPR121_SOFT_RESET_KEY:
                self.soft_resets += 1
                self.power_on_reset()
            return
        if register < r.MPR121_BASELINE or register > r.MPR121_SOFT_RESET:
            return  # status and measurement registers are read-only; nothing lives above 0x80
        if register == r.MPR121_ECR:
            was_running = self.running
            self.registers[register] = value
            if self.running and not was_running:
                self._start_run()
            return
        if self.running and not r.MPR121_GPIO_FIRST <= register <= r.MPR121_GPIO_LAST:
            return  # the real part ignores configuration writes outside stop mode
        self.registers[register] = value
        if register < r.MPR121_DATA_END:
            electrode = register - r.MPR121_BASELINE
            if electrode < r.MPR121_ELECTRODES:
                self._baseline[electrode] = value << 2

    def _start_run(self) -> None:
        load_baseline = self.registers[r.MPR121_ECR] & 0x80
        noise, at = self._noise, self._rng.randrange(len(self._noise))
        for electrode in range(self._enabled_electrodes()):
            measured = min(max(self._levels[electrode] + noise[(at + electrode) % len(noise)], 0),
                           r.MPR121_DATA_MAX)
            self._write_filtered(electrode, measured)
            if load_baseline:
                self._set_baseline(electrode, measured)

    def _before_read(self, start: int, count: int) -> None:
        if self.running and start < r.MPR121_DATA_END:
            self._refresh()
        if start <= r.MPR121_TOUCH_STATUS + 1 and count > 0:
            self.irq.release()  # the host has read the touch status

    def _refresh(self) -> None:
        """One new measurement of every enabled electrode, then touch status and baseline tracking."""
        regs = self.registers
        tracking = (regs[r.MPR121_ECR] & 0xC0) != 0x40
        noise = self._noise
        at = self._rng.randrange(len(noise))
        levels, baselines, touched_now = self._levels, self._baseline, self._touched
        status = 0
        for electrode in range(self._enabled_electrodes()):
            measured = levels[electrode] + noise[(at + electrode) % len(noise)]
            measured = min(max(measured, 0), r.MPR121_DATA_MAX)
            at_data = r.MPR121_FILTERED_DATA + 2 * electrode
            regs[at_data] = measured & 0xFF
            regs[at_data + 1] = measured >> 8
            baseline = baselines[electrode]
            delta = baseline - measured
            if touched_now[electrode]:
                touched = delta >= regs[r.MPR121_TOUCH_THRESHOLD + 2 * electrode + 1]
            else:
                touched = delta > regs[r.MPR121_TOUCH_THRESHOLD + 2 * electrode]
            touched_now[electrode] = touched
            if touched:
                status |= 1 << electrode
            elif tracking and measured > baseline + 3:
                self._set_baseline(electrode, measured)
        if status != regs[r.MPR121_TOUCH_STATUS] | (regs[r.MPR121_TOUCH_STATUS + 1] << 8):
            self.irq.assert_()
        regs[r.MPR121_TOUCH_STATUS] = status & 0xFF
        regs[r.MPR121_TOUCH_STATUS + 1] = status >> 8

    def _write_filtered(self, electrode: int, value: int) -> None:
        at = r.MPR121_FILTERED_DATA + 2 * electrode
        self.registers[at] = value & 0xFF
        self.registers[at + 1] = value >> 8

    def _set_baseline(self, electrode: int, measured: int) -> None:
        # Only the top 8 of the baseline's 10 bits are visible, so keep it a multiple of 4.
        self._baseline[electrode] = measured & ~0x3
        self.registers[r.MPR121_BASELINE + electrode] = measured >> 2

    def _enabled_electrodes(self) -> int:
        return min(self.registers[r.MPR121_ECR] & r.MPR121_ECR_ELECTRODE_MASK, r.MPR121_ELECTRODES)

    @staticmethod
    def _check_electrode(electrode: int) -> None:
        if not (isinstance(electrode, int) and 0 <= electrode < r.MPR121_ELECTRODES):
            raise SimulationError(f"the MPR121 has electrodes 0..11, got {electrode!r}")
