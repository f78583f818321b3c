"""The fake I2C bus: dispatch by address, the lock contract, fault injection, counters, log and the
wire time it charges (asserted on what it asks to sleep, never on the clock)."""

from __future__ import annotations

import errno

import pytest

from device.bus.fake_i2c import FAST_MODE_HZ, FakeI2C, transfer_bits
from device.bus.fake_register_chip import FakeRegisterChip
from device.errors import SimulationError


def locked(bus: FakeI2C) -> FakeI2C:
    assert bus.try_lock()
    return bus


def test_transactions_reach_the_chip_at_their_address_only() -> None:
    a, b = FakeRegisterChip(), FakeRegisterChip()
    bus = locked(FakeI2C({0x10: a, 0x20: b}))
    bus.writeto(0x10, bytes([0x05, 0xAB, 0xCD]))
    assert a.registers[0x05:0x07] == bytes([0xAB, 0xCD])
    assert b.registers[0x05] == 0
    out = bytearray(2)
    bus.writeto_then_readfrom(0x10, bytes([0x05]), out)
    assert out == bytes([0xAB, 0xCD])
    assert bus.scan() == [0x10, 0x20]


def test_start_and_end_slice_the_buffers_like_busio() -> None:
    chip = FakeRegisterChip()
    bus = locked(FakeI2C({0x10: chip}))
    bus.writeto(0x10, bytes([0xFF, 0x02, 0x77, 0xFF]), start=1, end=3)
    assert chip.registers[0x02] == 0x77 and chip.registers[0x03] == 0
    out = bytearray(b"\xee" * 4)
    bus.writeto_then_readfrom(0x10, bytes([0x00, 0x02]), out, out_start=1, in_start=1, in_end=2)
    assert out == bytes([0xEE, 0x77, 0xEE, 0xEE])
    into = bytearray(3)
    bus.writeto(0x10, bytes([0x02]))
    bus.readfrom_into(0x10, into, end=1)
    assert into == bytes([0x77, 0, 0])


def test_transactions_need_the_lock_and_the_lock_is_exclusive() -> None:
    bus = FakeI2C({0x10: FakeRegisterChip()})
    with pytest.raises(SimulationError, match="try_lock"):
        bus.writeto(0x10, b"\x00")
    assert bus.try_lock()
    assert not bus.try_lock()
    bus.unlock()
    with pytest.raises(SimulationError, match="not locked"):
        bus.unlock()


def test_an_empty_address_gives_enxio_like_linux() -> None:
    bus = locked(FakeI2C({0x10: FakeRegisterChip()}))
    with pytest.raises(OSError) as caught:
        bus.writeto(0x11, b"")
    assert caught.value.errno == errno.ENXIO
    assert bus.counts["nak"] == 1 and bus.counts["failed"] == 1


def failure_pattern(seed: int, rate: float, n: int = 400) -> list[bool]:
    bus = locked(FakeI2C({0x10: FakeRegisterChip()}, error_rate=rate, seed=seed))
    pattern = []
    for _ in range(n):
        try:
            bus.writeto(0x10, b"\x00")
            pattern.append(False)
        except OSError as err:
            assert err.errno == errno.EIO
            pattern.append(True)
    return pattern


def test_injected_errors_follow_the_rate_and_repeat_with_the_seed() -> None:
    assert not any(failure_pattern(1, 0.0))
    assert all(failure_pattern(1, 1.0))
    tenth = failure_pattern(7, 0.1, 4000)
    assert 250 < sum(tenth) < 550  # 400 expected; a binomial 4-sigma band
    assert failure_pattern(7, 0.1, 4000) == tenth
    assert failure_pattern(8, 0.1, 4000) != tenth


def test_error_rate_must_be_a_probability() -> None:
    with pytest.raises(SimulationError, match=r"0\.\.1"):
        FakeI2C(error_rate=1.5)


def test_unplugging_the_bus_fails_everything_until_replugged() -> None:
    chip = FakeRegisterChip({0x01: 0x42})
    bus = locked(FakeI2C({0x10: chip}))
    bus.writeto(0x10, bytes([0x02, 0x99]))
    bus.unplug()
    assert bus.unplugged and bus.scan() == []
    with pytest.raises(OSError):
        bus.writeto(0x10, b"\x00")
    bus.replug(power_cycle=False)
    assert not bus.unplugged
    assert chip.registers[0x02] == 0x99  # power stayed on: state kept
    bus.unplug()
    bus.replug()
    assert chip.registers[0x02] == 0 and chip.registers[0x01] == 0x42  # power cycled: reset values


def test_unplugging_one_chip_leaves_the_others() -> None:
    a, b = FakeRegisterChip(), FakeRegisterChip()
    bus = locked(FakeI2C({0x10: a, 0x20: b}))
    bus.unplug(0x10)
    assert bus.scan() == [0x20]
    with pytest.raises(OSError):
        bus.writeto(0x10, b"\x00")
    bus.writeto(0x20, b"\x00")
    bus.replug(0x10)
    bus.writeto(0x10, b"\x00")


def test_the_log_records_what_was_written_read_and_refused() -> None:
    chip = FakeRegisterChip({0x03: 0x5C})
    bus = locked(FakeI2C({0x10: chip}, log_size=8))
    out = bytearray(1)
    bus.writeto_then_readfrom(0x10, b"\x03", out)
    with pytest.raises(OSError):
        bus.readfrom_into(0x30, out)
    first, second = bus.log
    assert (first.op, first.address, first.written, first.read, first.errno) == (
        "writeto_then_readfrom", 0x10, b"\x03", b"\x5c", None)
    assert (second.address, second.errno) == (0x30, errno.ENXIO)
    assert bus.counts["writeto_then_readfrom"] == 1 and bus.counts["readfrom_into"] == 1


def test_wiring_mistakes_in_the_simulation_are_named() -> None:
    bus = FakeI2C({0x10: FakeRegisterChip()})
    with pytest.raises(SimulationError, match="already attached"):
        bus.attach(0x10, FakeRegisterChip())
    with pytest.raises(SimulationError, match="7-bit"):
        bus.attach(0x80, FakeRegisterChip())
    with pytest.raises(SimulationError, match="no chip"):
        bus.unplug(0x33)
    assert isinstance(bus.detach(0x10), FakeRegisterChip)


class SleepRecorder:
    """Stands in for time.sleep: records what the bus asked for instead of waiting."""

    def __init__(self) -> None:
        self.requested: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.requested.append(seconds)


def test_transfer_bits_count_start_address_data_acks_and_stop() -> None:
    assert transfer_bits("writeto", 3, 0) == 1 + 9 * 4 + 1  # a register write: pointer + 2 bytes
    assert transfer_bits("readfrom_into", 0, 2) == 1 + 9 * 3 + 1
    # Pointer write, repeated start, the address again, then the data: the MPR121 status+data block.
    assert transfer_bits("writeto_then_readfrom", 1, 28) == 1 + 9 * 2 + 1 + 9 * 29 + 1


def test_a_timed_bus_charges_each_transaction_its_wire_time_by_sleeping() -> None:
    sleep = SleepRecorder()
    chip = FakeRegisterChip()
    bus = locked(FakeI2C({0x10: chip}, speed_hz=FAST_MODE_HZ, sleep=sleep))
    bus.writeto(0x10, bytes([0x05, 0xAB, 0xCD]))
    bus.writeto_then_readfrom(0x10, bytes([0x00]), bytearray(28))
    bus.readfrom_into(0x10, bytearray(2))
    expected = [38 / 400e3, 282 / 400e3, 29 / 400e3]  # 95 us, 705 us, 72.5 us
    assert sleep.requested == pytest.approx(expected)
    assert bus.last_charge_s == pytest.approx(29 / 400e3)
    assert bus.charged_s == pytest.approx(sum(expected))
    assert bus.transfer_seconds("writeto_then_readfrom", 1, 28) == pytest.approx(705e-6)


def test_a_nak_costs_only_the_address_byte_and_an_untimed_bus_never_sleeps() -> None:
    sleep = SleepRecorder()
    bus = locked(FakeI2C({0x10: FakeRegisterChip()}, speed_hz=100e3, sleep=sleep))
    with pytest.raises(OSError):
        bus.writeto_then_readfrom(0x11, bytes([0x00]), bytearray(4))
    assert sleep.requested == pytest.approx([11 / 100e3])
    quiet = SleepRecorder()
    untimed = locked(FakeI2C({0x10: FakeRegisterChip()}, sleep=quiet))
    untimed.writeto_then_readfrom(0x10, bytes([0x00]), bytearray(4))
    assert quiet.requested == [] and untimed.charged_s == 0.0
    assert untimed.transfer_seconds("writeto", 1, 0) == 0.0


def test_an_impossible_bus_speed_is_refused() -> None:
    with pytest.raises(SimulationError, match="speed_hz"):
        FakeI2C(speed_hz=50.0)
