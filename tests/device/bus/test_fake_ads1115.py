"""The ADS1115 fake, exercised through the real adafruit_ads1x15 driver and raw register access."""

from __future__ import annotations

import math

import pytest
from adafruit_ads1x15 import ADS1115, AnalogIn
from adafruit_ads1x15.ads1x15 import Mode

from device.bus import registers as r
from device.bus.fake_ads1115 import FakeADS1115, FlexDivider
from device.bus.fake_i2c import FakeI2C
from device.errors import SimulationError

ADDRESS = 0x48


def rig(gain: float = 1, mode: int = Mode.SINGLE,
        **chip_args: object) -> tuple[FakeI2C, FakeADS1115, ADS1115]:
    chip = FakeADS1115(**chip_args)  # type: ignore[arg-type]
    bus = FakeI2C({ADDRESS: chip}, log_size=10_000)
    return bus, chip, ADS1115(bus, gain=gain, data_rate=860, mode=mode, address=ADDRESS)


def expected_code(volts: float, full_scale: float) -> int:
    return min(max(math.floor(volts / full_scale * 32768), -32768), 32767)


@pytest.mark.parametrize("gain", [2 / 3, 1, 2, 4, 8, 16])
def test_single_shot_reads_the_voltage_at_every_gain(gain: float) -> None:
    _, chip, ads = rig(gain=gain, noise_volts=0.0)
    full_scale = r.ADS1115_PGA_FULL_SCALE[r.ADS1115_GAIN_CODES[gain]]
    chip.set_voltage(2, 0.2)
    channel = AnalogIn(ads, 2)
    assert channel.value == expected_code(0.2, full_scale)
    assert channel.voltage == pytest.approx(0.2, abs=full_scale / 32768)


def test_each_channel_converts_its_own_input() -> None:
    _, chip, ads = rig(noise_volts=0.0)
    for adc_input, volts in enumerate((0.5, 1.0, 1.5, 2.0)):
        chip.set_voltage(adc_input, volts)
    readings = [AnalogIn(ads, i).voltage for i in range(4)]
    assert readings == pytest.approx([0.5, 1.0, 1.5, 2.0], abs=1e-3)
    assert AnalogIn(ads, 0, 1).voltage == pytest.approx(-0.5, abs=1e-3)  # differential A0 - A1


def test_readings_clip_at_full_scale() -> None:
    _, chip, ads = rig(gain=2, noise_volts=0.0)  # +-2.048 V
    chip.set_voltage(0, 3.0)
    assert AnalogIn(ads, 0).value == 32767


def test_bending_raises_the_reading_through_the_divider() -> None:
    _, chip, ads = rig(noise_volts=0.0)
    flex = AnalogIn(ads, 1)
    readings = []
    for bend in (0.0, 0.25, 0.5, 0.75, 1.0):
        chip.bend(1, bend)
        readings.append(flex.value)
    assert readings == sorted(readings) and readings[-1] - readings[0] > 5000
    assert flex.voltage == pytest.approx(FlexDivider().volts(1.0), abs=1e-3)


class TickingClock:
    """Advances `step` seconds each time it is read, so a polling loop sees time pass."""

    def __init__(self, step: float = 0.0) -> None:
        self.now = 100.0
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def register(bus: FakeI2C, pointer: int) -> int:
    out = bytearray(2)
    bus.writeto_then_readfrom(ADDRESS, bytes([pointer]), out)
    return (out[0] << 8) | out[1]


def start_conversion(bus: FakeI2C, adc_input: int, data_rate: int = 860) -> None:
    config = (r.ADS1115_OS | ((4 + adc_input) << r.ADS1115_MUX_SHIFT) | (1 << r.ADS1115_PGA_SHIFT)
              | r.ADS1115_MODE_SINGLE | (r.ADS1115_RATE_CODES[data_rate] << r.ADS1115_DR_SHIFT)
              | r.ADS1115_COMPARATOR_DISABLED)
    bus.writeto(ADDRESS, bytes([r.ADS1115_CONFIG, config >> 8, config & 0xFF]))


@pytest.mark.parametrize("data_rate", [8, 128, 860])
def test_a_conversion_is_done_one_data_period_after_it_starts(data_rate: int) -> None:
    clock = TickingClock()
    chip = FakeADS1115(noise_volts=0.0, clock=clock)
    bus = FakeI2C({ADDRESS: chip})
    assert bus.try_lock()
    chip.set_voltage(0, 1.0)
    start_conversion(bus, 0, data_rate)
    period = 1.0 / data_rate
    assert chip.conversion_seconds(register(bus, r.ADS1115_CONFIG)) == pytest.approx(period)
    clock.now += period * 0.99
    assert not register(bus, r.ADS1115_CONFIG) & r.ADS1115_OS  # still converting
    assert register(bus, r.ADS1115_CONVERSION) == 0  # the previous result (none yet)
    clock.now += period * 0.02
    assert register(bus, r.ADS1115_CONFIG) & r.ADS1115_OS
    assert register(bus, r.ADS1115_CONVERSION) == expected_code(1.0, 4.096)
    bus.unlock()


def test_without_a_clock_a_conversion_is_done_at_once() -> None:
    chip = FakeADS1115(noise_volts=0.0)
    bus = FakeI2C({ADDRESS: chip})
    assert bus.try_lock()
    chip.set_voltage(1, 0.5)
    start_conversion(bus, 1)
    assert not chip.converting
    assert register(bus, r.ADS1115_CONVERSION) == expected_code(0.5, 4.096)
    bus.unlock()


def test_the_driver_waits_for_a_slow_conversion() -> None:
    clock = TickingClock(step=0.0003)  # each look at the clock: 0.3 ms later
    bus, chip, ads = rig(noise_volts=0.0, clock=clock)
    chip.set_voltage(0, 1.0)
    bus.log.clear()  # type: ignore[union-attr]
    assert AnalogIn(ads, 0).voltage == pytest.approx(1.0, abs=1e-3)
    config_reads = [tx for tx in bus.log if tx.written == bytes([r.ADS1115_CONFIG]) and tx.read]  # type: ignore[union-attr]
    # 1.16 ms at 860 SPS: busy at 0.3, 0.6 and 0.9 ms, done at 1.2 ms.
    assert [tx.read[0] & 0x80 for tx in config_reads] == [0, 0, 0, 0x80]


def test_continuous_mode_converts_what_mux_holds_and_follows_the_input() -> None:
    _, chip, ads = rig(mode=Mode.CONTINUOUS, noise_volts=0.0)
    chip.set_voltage(0, 0.7)
    chip.set_voltage(1, 0.2)
    chip.set_voltage(3, 1.1)
    channel = AnalogIn(ads, 3)
    # The driver keeps the chip's MUX (power-on: A0 - A1) in continuous mode instead of
    # selecting A3: the reason the flex sensors are read in single-shot mode.
    assert channel.voltage == pytest.approx(0.5, abs=1e-3)
    chip.set_voltage(0, 0.9)
    assert channel.voltage == pytest.approx(0.7, abs=1e-3)


def test_power_on_registers_and_pointer_reads() -> None:
    chip = FakeADS1115()
    bus = FakeI2C({ADDRESS: chip})
    out = bytearray(2)
    assert bus.try_lock()
    bus.writeto(ADDRESS, bytes([r.ADS1115_CONFIG]))
    bus.readfrom_into(ADDRESS, out)
    assert out == r.ADS1115_CONFIG_RESET.to_bytes(2, "big")
    bus.writeto_then_readfrom(ADDRESS, bytes([r.ADS1115_HI_THRESH]), out)
    assert out == r.ADS1115_HI_THRESH_RESET.to_bytes(2, "big")
    bus.writeto(ADDRESS, bytes([r.ADS1115_LO_THRESH, 0x12, 0x34]))
    bus.writeto_then_readfrom(ADDRESS, bytes([r.ADS1115_LO_THRESH]), out)
    assert out == bytes([0x12, 0x34])
    bus.unlock()


def test_noise_is_small_and_seeded() -> None:
    _, chip, ads = rig(seed=5, noise_volts=0.0003)
    chip.set_voltage(0, 1.0)
    channel = AnalogIn(ads, 0)
    samples = [channel.value for _ in range(100)]
    assert len(set(samples)) > 1 and max(samples) - min(samples) < 40
    _, chip2, ads2 = rig(seed=5, noise_volts=0.0003)
    chip2.set_voltage(0, 1.0)
    assert [AnalogIn(ads2, 0).value for _ in range(100)] == samples


def test_impossible_inputs_are_refused() -> None:
    chip = FakeADS1115()
    with pytest.raises(SimulationError, match=r"A0\.\.A3"):
        chip.bend(4, 0.5)
    with pytest.raises(SimulationError, match="VDD"):
        chip.set_voltage(0, 5.0)
    with pytest.raises(SimulationError, match=r"0\.\.1"):
        chip.bend(0, -0.1)
