"""Loads and checks `hardware/pins.toml`, the instrument's one pin map (bus layer).

Everything the code needs to know about the wiring comes from this file: the I2C bus, the
addresses and settings of the two sensor chips, which ADC input is which flex sensor, and the
BCM GPIO numbers of the touch chip's IRQ line, the buttons and the LEDs. Every key is required
and unknown keys are refused (a typo must not silently fall back to a default); each problem is
a `ConfigError` naming the file and the key.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from device.bus import registers as r
from device.errors import ConfigError
from device.safe_read import read_toml

PINS_ENV = "LATENT_PINS"
SYSTEM_PINS = Path("/etc/latent-instrument/pins.toml")
REPO_PINS = Path(__file__).resolve().parents[2] / "hardware" / "pins.toml"
BCM_GPIOS = range(28)  # GPIO0..GPIO27 reach the 40-pin header
GAIN_NAMES: dict[str, float] = {"2/3": 2 / 3, "1": 1, "2": 2, "4": 4, "8": 8, "16": 16}
FLEX_NAME = re.compile(r"flex[0-9]+")


@dataclass(frozen=True)
class TouchChipPins:
    address: int
    touch_threshold: int
    release_threshold: int
    # BCM GPIO of the chip's open-drain IRQ output (low while a touch change is unread). Optional:
    # pin maps written before the line was wired have none, and touches are then polled.
    irq: int | None


@dataclass(frozen=True)
class FlexChipPins:
    address: int
    gain: float
    data_rate: int
    channels_per_poll: int
    inputs: Mapping[str, int]  # channel name -> ADC input 0..3


@dataclass(frozen=True)
class ButtonPins:
    preset: int
    freeze: int
    recalibrate: int
    bounce_ms: int


@dataclass(frozen=True)
class LedPins:
    status: int
    touch: int


@dataclass(frozen=True)
class PinMap:
    i2c_bus: int
    mpr121: TouchChipPins
    ads1115: FlexChipPins
    buttons: ButtonPins
    leds: LedPins
    reserved: Mapping[str, tuple[int, ...]]
    source: str


def default_pin_map_path() -> Path:
    """$LATENT_PINS if set, else /etc/latent-instrument/pins.toml if present, else the repository's."""
    override = os.environ.get(PINS_ENV)
    if override:
        return Path(override)
    if SYSTEM_PINS.is_file():
        return SYSTEM_PINS
    return REPO_PINS


def load_pin_map(path: str | os.PathLike[str] | None = None) -> PinMap:
    source = Path(path) if path is not None else default_pin_map_path()
    if not os.path.lexists(source):
        raise ConfigError(f"{source}: pin map not found; point ${PINS_ENV} at a copy of "
                          f"hardware/pins.toml or restore it")
    try:
        # Bounded: a FIFO, a device, a huge or hostile file is refused by name, never hangs.
        data = read_toml(source, what="a pin map (a copy of hardware/pins.toml)", error=ConfigError,
                         raise_syntax_errors=True)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{source}: not valid TOML: {err}") from None
    return parse_pin_map(data, str(source))


def parse_pin_map(data: Mapping[str, Any], source: str = "pins.toml") -> PinMap:
    top = _Table(data, "", source)
    i2c = top.table("i2c")
    touch = top.table("mpr121")
    flex = top.table("ads1115")
    inputs_table = flex.table("inputs")
    buttons = top.table("buttons")
    leds = top.table("leds")
    reserved_table = top.table("reserved")

    reserved = {name: tuple(reserved_table.pin_list(name)) for name in reserved_table.names()}
    touch_pins = TouchChipPins(
        address=touch.choice("address", r.MPR121_ADDRESSES, hex_values=True),
        touch_threshold=touch.integer("touch_threshold", 1, 255),
        release_threshold=touch.integer("release_threshold", 0, 254),
        irq=touch.gpio("irq", reserved) if "irq" in touch.data else None,
    )
    if touch_pins.release_threshold >= touch_pins.touch_threshold:
        raise touch.error("release_threshold", touch_pins.release_threshold,
                          f"must be lower than touch_threshold ({touch_pins.touch_threshold}), "
                          "or a touch would never end")
    inputs = {name: inputs_table.integer(name, 0, 3) for name in inputs_table.names()}
    owners: dict[int, str] = {}
    for name, channel in inputs.items():
        if not FLEX_NAME.fullmatch(name):
            raise inputs_table.error(name, channel, "channel names must be flex0, flex1, ...")
        if channel in owners:
            raise inputs_table.error(name, channel, f"input A{channel} is already given to {owners[channel]}")
        owners[channel] = name
    if not inputs:
        raise flex.error("inputs", {}, "name at least one flex channel, e.g. flex0 = 0")
    flex_pins = FlexChipPins(
        address=flex.choice("address", r.ADS1115_ADDRESSES, hex_values=True),
        gain=flex.gain("gain"),
        data_rate=flex.choice("data_rate", tuple(sorted(r.ADS1115_RATE_CODES))),
        channels_per_poll=flex.integer("channels_per_poll", 1, len(inputs)),
        inputs=inputs,
    )
    button_pins = ButtonPins(
        preset=buttons.gpio("preset", reserved),
        freeze=buttons.gpio("freeze", reserved),
        recalibrate=buttons.gpio("recalibrate", reserved),
        bounce_ms=buttons.integer("bounce_ms", 0, 1000),
    )
    led_pins = LedPins(status=leds.gpio("status", reserved), touch=leds.gpio("touch", reserved))
    pin_map = PinMap(i2c_bus=i2c.integer("bus", 0, 255), mpr121=touch_pins, ads1115=flex_pins,
                     buttons=button_pins, leds=led_pins, reserved=reserved, source=source)
    for table in (top, i2c, touch, flex, inputs_table, buttons, leds, reserved_table):
        table.refuse_unknown()
    _refuse_shared_gpios(pin_map, touch, buttons, leds)
    return pin_map


def _refuse_shared_gpios(pin_map: PinMap, touch: _Table, buttons: _Table, leds: _Table) -> None:
    owners: dict[int, str] = {}
    users: tuple[tuple[_Table, Any, tuple[str, ...]], ...] = (
        (touch, pin_map.mpr121, ("irq",)),
        (buttons, pin_map.buttons, ("preset", "freeze", "recalibrate")),
        (leds, pin_map.leds, ("status", "touch")),
    )
    for table, pins, names in users:
        for name in names:
            gpio = getattr(pins, name)
            if gpio is None:
                continue
            if gpio in owners:
                raise table.error(name, gpio, f"GPIO{gpio} is already used by {owners[gpio]}")
            owners[gpio] = table.dotted(name)


class _Table:
    """One TOML table, read key by key; remembers the keys read so the rest can be refused."""

    def __init__(self, data: Any, where: str, source: str) -> None:
        if not isinstance(data, Mapping):
            raise ConfigError(f"{source}: [{where}] must be a table")
        self.data = data
        self.where = where
        self.source = source
        self._read: set[str] = set()

    def dotted(self, key: str) -> str:
        return f"[{self.where}].{key}" if self.where else key

    def error(self, key: str, value: Any, problem: str) -> ConfigError:
        return ConfigError(f"{self.source}: {self.dotted(key)} = {value!r}: {problem}")

    def names(self) -> list[str]:
        return list(self.data)

    def _get(self, key: str) -> Any:
        if key not in self.data:
            raise ConfigError(f"{self.source}: {self.dotted(key)} is missing; see hardware/pins.toml "
                              "in the repository for every key with a comment")
        self._read.add(key)
        return self.data[key]

    def table(self, key: str) -> _Table:
        where = f"{self.where}.{key}" if self.where else key
        return _Table(self._get(key), where, self.source)

    def integer(self, key: str, lo: int, hi: int) -> int:
        value = self._get(key)
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise self.error(key, value, f"must be a whole number from {lo} to {hi}")
        return value

    def choice(self, key: str, allowed: tuple[int, ...], *, hex_values: bool = False) -> int:
        value = self._get(key)
        if isinstance(value, bool) or value not in allowed:
            shown = ", ".join(f"0x{a:02X}" if hex_values else str(a) for a in allowed)
            raise self.error(key, value, f"must be one of {shown}")
        return int(value)

    def gain(self, key: str) -> float:
        value = self._get(key)
        name = value if isinstance(value, str) else (str(value) if isinstance(value, int) else None)
        if isinstance(value, bool) or name not in GAIN_NAMES:
            raise self.error(key, value, 'must be "2/3", 1, 2, 4, 8 or 16')
        return GAIN_NAMES[name]

    def gpio(self, key: str, reserved: Mapping[str, tuple[int, ...]]) -> int:
        value = self.integer(key, BCM_GPIOS.start, BCM_GPIOS.stop - 1)
        for why, pins in reserved.items():
            if value in pins:
                raise self.error(key, value, f"GPIO{value} is reserved for {why} ([reserved].{why}); "
                                             "pick a free BCM GPIO (see hardware/WIRING.md)")
        return value

    def pin_list(self, key: str) -> list[int]:
        value = self._get(key)
        if not isinstance(value, list) or not all(
                isinstance(v, int) and not isinstance(v, bool) and v in BCM_GPIOS for v in value):
            raise self.error(key, value, "must be a list of BCM GPIO numbers 0..27")
        return value

    def refuse_unknown(self) -> None:
        unknown = sorted(set(self.data) - self._read)
        if unknown:
            raise ConfigError(f"{self.source}: unknown key {self.dotted(unknown[0])}: check its spelling "
                              "against hardware/pins.toml")
