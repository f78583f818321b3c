"""hardware/pins.toml: the shipped map loads, and every kind of mistake is named with its key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from device.bus import registers as r
from device.bus.pinmap import REPO_PINS, load_pin_map
from device.errors import ConfigError

from ...hostile_files import SPECIAL_PATHS, TOML_TEXTS, Hostile, make, params, refused_quickly

SHIPPED = REPO_PINS.read_text(encoding="utf-8")


def test_the_shipped_pin_map_loads_and_is_consistent() -> None:
    pins = load_pin_map(REPO_PINS)
    assert pins.i2c_bus == 1
    assert pins.mpr121.address in r.MPR121_ADDRESSES
    assert pins.ads1115.address in r.ADS1115_ADDRESSES
    assert set(pins.ads1115.inputs) == {"flex0", "flex1"}
    gpios = [pins.mpr121.irq, pins.buttons.preset, pins.buttons.freeze, pins.buttons.recalibrate,
             pins.leds.status, pins.leds.touch]
    reserved = {gpio for group in pins.reserved.values() for gpio in group}
    assert len(set(gpios)) == len(gpios) and not reserved & set(gpios)
    assert {2, 3} <= reserved and {18, 19, 20, 21} <= reserved  # I2C and the I2S audio HAT


def test_the_environment_variable_points_at_another_map(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "pins.toml"
    other.write_text(SHIPPED.replace("address = 0x5A", "address = 0x5B"), encoding="utf-8")
    monkeypatch.setenv("LATENT_PINS", str(other))
    pins = load_pin_map()
    assert pins.mpr121.address == 0x5B and pins.source == str(other)


def edit(pattern: str, replacement: str) -> str:
    text, count = re.subn(pattern, replacement, SHIPPED, count=1, flags=re.MULTILINE)
    assert count == 1, pattern
    return text


BAD_MAPS = [
    (edit(r"^address = 0x5A.*$", "address = 0x48"), r"mpr121\.address: is 0x48, not one.*0x5A"),
    (edit(r"^address = 0x48.*$", "address = 0x20"), r"ads1115\.address: is 0x20"),
    (edit(r"^release_threshold = 6.*$", "release_threshold = 12"), r"release_threshold.*lower"),
    (edit(r"^touch_threshold = 12.*$", "touch_threshold = 300"), r"touch_threshold.*1 to 255"),
    (edit(r"^gain = 1 .*$", "gain = 3"), r"ads1115\.gain: is 3.*2/3"),
    (edit(r"^data_rate = 860.*$", "data_rate = 1000"), r"data_rate.*860"),
    (edit(r"^flex1 = 1$", "flex1 = 0"), r"\.flex1: is 0: .*already given to flex0"),
    (edit(r"^flex1 = 1$", "bend = 1"), r"ads1115\.inputs\.bend.*flex0"),
    (edit(r"^channels_per_poll = 1.*$", "channels_per_poll = 3"), r"channels_per_poll"),
    (edit(r"^freeze = 6.*$", "freeze = 18"), r"buttons\.freeze: is 18.*reserved.*i2s_audio"),
    (edit(r"^touch = 16.*$", "touch = 5"), r"leds\.touch: is 5.*already used by buttons\.preset"),
    (edit(r"^status = 12.*$", "status = 40"), r"leds\.status: is 40.*0 to 27"),
    (edit(r"^status = 12.*$", 'status = "12"'), r"leds\.status: is '12' \(string\)"),
    (edit(r"^bounce_ms = 30.*$", "bounce_ms = 30\nbounce = 5"), r"buttons\.bounce: unknown key.*bounce_ms"),
    (edit(r"^preset = 5.*$", ""), r"buttons\.preset: missing"),
    (edit(r"^\[leds\].*$", "[led]"), r"unknown key led|\[leds\]|leds is missing"),
    (edit(r"^i2c = \[2, 3\].*$", "i2c = [2, 99]"), r"reserved\.i2c\[1\]: is 99"),
    (edit(r"^bus = 1 .*$", "bus = -1"), r"i2c\.bus: is -1"),
    (edit(r"^irq = 4 .*$", "irq = 2"), r"mpr121\.irq: is 2: .*reserved for i2c"),
    (edit(r"^irq = 4 .*$", "irq = 28"), r"mpr121\.irq: is 28.*0 to 27"),
    (edit(r"^irq = 4 .*$", "irq = 26"), r"buttons\.recalibrate: is 26: .*already used by mpr121\.irq"),
    (edit(r"^irq = 4 .*$", 'irq = "GPIO4"'), r"mpr121\.irq: is 'GPIO4'"),
    ("extra = 1\n" + SHIPPED, r"extra: unknown key"),
    (SHIPPED + "\nextra = 1\n", r"reserved\.extra: is 1 \(number\), not an array"),
    ("[i2c\nbus = 1\n", r"not valid TOML"),
]


@pytest.mark.parametrize(("text", "message"), BAD_MAPS)
def test_mistakes_are_refused_naming_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "pins.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message) as caught:
        load_pin_map(path)
    assert str(path) in str(caught.value)


def test_a_missing_file_says_where_to_look(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="LATENT_PINS"):
        load_pin_map(tmp_path / "nope.toml")


def test_a_pin_map_without_the_irq_line_still_loads_and_polls(tmp_path: Path) -> None:
    from device.sensors.build import open_irq_line

    path = tmp_path / "pins.toml"
    path.write_text(edit(r"^irq = 4 .*$", ""))  # a map written before the line was wired
    pins = load_pin_map(path)
    assert pins.mpr121.irq is None
    line, problem = open_irq_line(pins)
    assert line is None and problem is not None and "no [mpr121].irq in the pin map" in problem


@pytest.mark.timeout(10)
@pytest.mark.parametrize("case", params(TOML_TEXTS, SPECIAL_PATHS))
def test_hostile_pin_maps_are_refused_quickly_by_name(tmp_path: Path, case: Hostile,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    path = make(case, tmp_path / "pins.toml")
    message = refused_quickly(lambda: load_pin_map(path), ConfigError, case)
    assert message.startswith(f"{path}: ")
    # Through $LATENT_PINS as well, the way the instrument finds it.
    monkeypatch.setenv("LATENT_PINS", str(path))
    refused_quickly(load_pin_map, ConfigError, case)
