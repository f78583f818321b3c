"""`latent selftest` on simulated hardware: passes, each fault's failure and fix, --json, exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from device.app.selftest import SelftestOptions, check_channels, check_i2c, check_model, run_selftest
from device.bus.pinmap import load_pin_map
from device.cli import main
from device.sensors.build import build_sensor_array
from device.sim.hardware import SimulatedHardware

pytestmark = pytest.mark.timeout(60)


def _options(tmp_path: Path, pin_factory: Any = None, **kw: Any) -> SelftestOptions:
    return SelftestOptions(pins=load_pin_map(), out=tmp_path / "tone.wav", pin_factory=pin_factory,
                           poll_interval_s=0.0, sleep=lambda s: None, **kw)


def _by_name(results: list[Any]) -> dict[str, Any]:
    return {r.name: r for r in results}


def test_all_pass_on_simulated_hardware(tmp_path: Path, pin_factory: Any) -> None:
    results = _by_name(run_selftest(_options(tmp_path, pin_factory)))
    assert set(results) == {"i2c", "channels", "audio", "model", "leds"}
    assert all(r.ok and not r.skipped for r in results.values()), results
    assert (tmp_path / "tone.wav").stat().st_size > 44


def test_absent_chip_fails_i2c_with_fix() -> None:
    pins = load_pin_map()
    hw = SimulatedHardware(pins, timed=False)
    hw.close()
    hw.bus.unplug(pins.ads1115.address)
    sensors = build_sensor_array(hw.bus, pins, require_all=False)
    result = check_i2c(sensors, pins)
    assert not result.ok
    assert "ads1115" in result.detail and f"0x{pins.ads1115.address:02X}" in result.detail
    assert "wiring" in result.fix
    # The absent chip's channels are stale, not reported as stuck.
    assert check_channels(sensors, pins, polls=5, interval_s=0.0, sleep=lambda s: None).ok


def test_stuck_channel_fails_with_fix() -> None:
    pins = load_pin_map()
    hw = SimulatedHardware(pins, timed=False)
    name, adc_input = next(iter(pins.ads1115.inputs.items()))
    hw.flex_chip.noise_volts = 0.0
    hw.flex_chip.set_voltage(adc_input, 0.0)  # shorted to ground
    result = check_channels(hw, pins, polls=10, interval_s=0.0, sleep=lambda s: None)
    assert not result.ok
    assert f"{name}=0" in result.detail and "stuck" in result.detail
    assert "short" in result.fix


def test_floating_channel_fails_with_fix() -> None:
    pins = load_pin_map()
    hw = SimulatedHardware(pins, timed=False)
    name, adc_input = next(iter(pins.ads1115.inputs.items()))
    volts = iter([0.2, 1.5] * 50)

    def wander(s: float) -> None:
        hw.flex_chip.set_voltage(adc_input, next(volts))

    result = check_channels(hw, pins, polls=10, interval_s=0.0, sleep=wander)
    assert not result.ok and "floating" in result.detail and name in result.detail
    assert "plugged in" in result.fix


def test_missing_and_corrupt_bundle(tmp_path: Path) -> None:
    missing = check_model(None, tmp_path / "nope.bundle")
    assert not missing.ok and missing.fix
    corrupt = tmp_path / "bad.bundle"
    corrupt.write_bytes(b"not a bundle at all" * 10)
    result = check_model(None, corrupt)
    assert not result.ok and "bundle" in result.fix


def test_empty_store_falls_back_to_bundle(tmp_path: Path) -> None:
    from device.store.store import ModelStore

    ModelStore(tmp_path / "store")
    result = check_model(tmp_path / "store", None)
    assert result.ok and "empty" in result.detail


def test_leds_skipped_without_gpio(tmp_path: Path) -> None:
    from device.app.selftest import check_leds

    result = check_leds(load_pin_map(), None, sleep=lambda s: None)
    assert result.ok  # on this machine: skipped (no GPIO); on a Pi: blinked
    if result.skipped:
        assert "no GPIO" in result.detail


def test_cli_json_only_and_exit_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["selftest", "--out", str(tmp_path / "t.wav"), "--json"])
    out = capsys.readouterr().out
    report = json.loads(out)  # the whole of stdout is one JSON object
    assert rc == 0 and report["ok"] is True
    assert [c["name"] for c in report["checks"]] == ["i2c", "channels", "audio", "model", "leds"]
    assert all({"name", "ok", "detail", "fix"} <= set(c) for c in report["checks"])


def test_cli_exit_1_and_table_on_failure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["selftest", "--out", str(tmp_path / "t.wav"), "--bundle", str(tmp_path / "none.bundle")])
    out = capsys.readouterr().out
    assert rc == 1
    assert "model" in out and "FAIL" in out and "fix:" in out and "some checks FAILED" in out
