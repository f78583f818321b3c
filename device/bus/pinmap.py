"""Loads and checks `hardware/pins.toml`, the instrument's one pin map (bus layer).

Everything the code needs to know about the wiring comes from this file: the I2C bus, the
addresses and settings of the two sensor chips, which ADC input is which flex sensor, and the
BCM GPIO numbers of the touch chip's IRQ line, the buttons and the LEDs. Every key is required
and unknown keys are refused (a typo must not silently fall back to a default); each problem is
a `ConfigError` naming the file, the key and what would be accepted (`device.config_file`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from device.bus import registers as r
from device.config_file import TableReader, load_table, show, top_table
from device.errors import ConfigError

PINS_ENV = "LATENT_PINS"
SYSTEM_PINS = Path("/etc/latent-instrument/pins.toml")
REPO_PINS = Path(__file__).resolve().parents[2] / "hardware" / "pins.toml"
BCM_GPIOS = range(28)  # GPIO0..GPIO27 reach the 40-pin header
GAIN_NAMES: dict[str, float] = {"2/3": 2 / 3, "1": 1, "2": 2, "4": 4, "8": 8, "16": 16}
GAIN_WORDS = '"2/3", 1, 2, 4, 8 or 16'
FLEX_NAME = re.compile(r"flex[0-9]+")
# Added to every refusal: the shipped file explains each key in a comment.
HINT = "see hardware/pins.toml in the repository for every key with a comment"


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
    # Bounded: a FIFO, a device, a huge or hostile file is refused by name, never hangs.
    top = load_table(source, what="a pin map (a copy of hardware/pins.toml)", error=ConfigError, hint=HINT,
                     missing=f"pin map not found; point ${PINS_ENV} at a copy of hardware/pins.toml "
                             "or restore it")
    return _parse(top)


def parse_pin_map(data: Mapping[str, Any], source: str = "pins.toml") -> PinMap:
    return _parse(top_table(data, source, error=ConfigError, hint=HINT))


def _parse(top: TableReader) -> PinMap:
    # Every key is required: a pin map with a key left out must not silently fall back to a default.
    i2c = top.table("i2c", required=True)
    touch = top.table("mpr121", required=True)
    flex = top.table("ads1115", required=True)
    inputs_table = flex.table("inputs", required=True)
    buttons = top.table("buttons", required=True)
    leds = top.table("leds", required=True)
    reserved_table = top.table("reserved", required=True)

    reserved = {name: tuple(reserved_table.integers(name, lo=BCM_GPIOS.start, hi=BCM_GPIOS.stop - 1,
                                                    min_len=0))
                for name in reserved_table.names()}
    touch_pins = TouchChipPins(
        address=touch.choice("address", r.MPR121_ADDRESSES, show_choice=_hex),
        touch_threshold=touch.integer("touch_threshold", lo=1, hi=255),
        release_threshold=touch.integer("release_threshold", lo=0, hi=254),
        irq=_gpio(touch, "irq", reserved) if touch.has("irq") else None,
    )
    if touch_pins.release_threshold >= touch_pins.touch_threshold:
        raise touch.fail("release_threshold", f"is {touch_pins.release_threshold}, not lower than "
                         f"touch_threshold ({touch_pins.touch_threshold}), so a touch would never end",
                         f"a whole number below {touch_pins.touch_threshold}")
    inputs = {name: inputs_table.integer(name, lo=0, hi=3) for name in inputs_table.names()}
    owners: dict[int, str] = {}
    for name, channel in inputs.items():
        if not FLEX_NAME.fullmatch(name):
            raise inputs_table.fail(name, "is not a flex channel name", "flex0, flex1, ... (e.g. flex0 = 0)")
        if channel in owners:
            raise inputs_table.fail(name, f"is {channel}: input A{channel} is already given to "
                                    f"{owners[channel]}", "one flex channel per ADC input 0..3")
        owners[channel] = name
    if not inputs:
        raise flex.fail("inputs", "names no flex channel", "at least one, e.g. flex0 = 0")
    flex_pins = FlexChipPins(
        address=flex.choice("address", r.ADS1115_ADDRESSES, show_choice=_hex),
        gain=_gain(flex, "gain"),
        data_rate=flex.choice("data_rate", tuple(sorted(r.ADS1115_RATE_CODES))),
        channels_per_poll=flex.integer("channels_per_poll", lo=1, hi=len(inputs)),
        inputs=inputs,
    )
    button_pins = ButtonPins(
        preset=_gpio(buttons, "preset", reserved),
        freeze=_gpio(buttons, "freeze", reserved),
        recalibrate=_gpio(buttons, "recalibrate", reserved),
        bounce_ms=buttons.integer("bounce_ms", lo=0, hi=1000),
    )
    led_pins = LedPins(status=_gpio(leds, "status", reserved), touch=_gpio(leds, "touch", reserved))
    pin_map = PinMap(i2c_bus=i2c.integer("bus", lo=0, hi=255), mpr121=touch_pins, ads1115=flex_pins,
                     buttons=button_pins, leds=led_pins, reserved=reserved, source=top.source)
    for table in (top, i2c, touch, flex, inputs_table, buttons, leds, reserved_table):
        table.finish()
    _refuse_shared_gpios(pin_map, touch, buttons, leds)
    return pin_map


def _hex(address: int) -> str:
    return f"0x{address:02X}"


def _gain(table: TableReader, key: str) -> float:
    value = table.raw(key, allowed=GAIN_WORDS)
    # The gain is a name ("2/3") or a whole number written bare (1) or quoted ("1").
    name = value if isinstance(value, str) else (str(value) if isinstance(value, int) else None)
    if isinstance(value, bool) or name not in GAIN_NAMES:
        raise table.fail(key, f"is {show(value)}, not a gain of the ADS1115", GAIN_WORDS)
    return GAIN_NAMES[name]


def _gpio(table: TableReader, key: str, reserved: Mapping[str, tuple[int, ...]]) -> int:
    value = table.integer(key, lo=BCM_GPIOS.start, hi=BCM_GPIOS.stop - 1)
    for why, pins in reserved.items():
        if value in pins:
            raise table.fail(key, f"is {value}: GPIO{value} is reserved for {why} (reserved.{why})",
                             "a free BCM GPIO (see hardware/WIRING.md)")
    return value


def _refuse_shared_gpios(pin_map: PinMap, touch: TableReader, buttons: TableReader,
                         leds: TableReader) -> None:
    owners: dict[int, str] = {}
    users: tuple[tuple[TableReader, Any, tuple[str, ...]], ...] = (
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
                raise table.fail(name, f"is {gpio}: GPIO{gpio} is already used by {owners[gpio]}",
                                 "a BCM GPIO no other part uses")
            owners[gpio] = table.key_path(name)
