"""A generic I2C chip with byte-wide registers and an auto-incrementing pointer (bus layer).

Most I2C sensors work this way: the first byte of a write selects a register, further bytes
are stored at successive registers, and a read returns successive registers from the pointer.
On its own it stands in for "some other chip" at an address (a wrong part, a wrong jumper);
`FakeMPR121` builds on it.
"""

from __future__ import annotations

from collections.abc import Mapping

from device.errors import SimulationError

REGISTER_COUNT = 256


class FakeRegisterChip:
    """256 registers, all zero after power-on except `reset_values` (register -> byte)."""

    def __init__(self, reset_values: Mapping[int, int] | None = None) -> None:
        self._reset_values = dict(reset_values or {})
        for register, value in self._reset_values.items():
            if not (0 <= register < REGISTER_COUNT and 0 <= value <= 0xFF):
                raise SimulationError(f"reset value {value!r} for register {register!r} is not a byte "
                                      "at a register 0x00..0xFF")
        self.registers = bytearray(REGISTER_COUNT)
        self.pointer = 0
        self.power_on_reset()

    def power_on_reset(self) -> None:
        self.registers[:] = bytes(REGISTER_COUNT)
        for register, value in self._reset_values.items():
            self.registers[register] = value
        self.pointer = 0

    def write(self, data: bytes) -> None:
        if not data:
            return  # an address-only write: what a bus probe sends
        self.pointer = data[0]
        for value in data[1:]:
            self._store(self.pointer, value)
            self.pointer = (self.pointer + 1) % REGISTER_COUNT

    def read(self, count: int) -> bytes:
        start = self.pointer
        self._before_read(start, count)
        end = start + count
        if end <= REGISTER_COUNT:
            data = bytes(self.registers[start:end])
        else:
            data = bytes(self.registers[i % REGISTER_COUNT] for i in range(start, end))
        self.pointer = end % REGISTER_COUNT
        return data

    def _store(self, register: int, value: int) -> None:
        self.registers[register] = value

    def _before_read(self, start: int, count: int) -> None:
        """Hook: a chip with live measurements refreshes the registers about to be read."""
