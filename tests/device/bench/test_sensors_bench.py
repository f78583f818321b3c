"""`latent bench sensors` runs end to end and reports every figure it promises (no timing limits)."""

from __future__ import annotations

import json

import pytest

from device.cli import main


def test_the_sensor_benchmark_prints_its_json(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["bench", "sensors", "--json", "--polls", "40"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["bus_speed_hz"] == 400_000
    timed = ("poll", "poll_every_flex_input", "poll_with_demo_gesture", "poll_after_touch_irq",
             "mpr121_block_read", "ads1115_collect_and_start", "fake_mpr121_simulation_only",
             "mpr121_driver_per_electrode_reads", "poll_untimed_fakes")
    for name in timed:
        figures = result[name]
        assert 0 < figures["p50_us"] <= figures["p99_us"] <= figures["max_us"]
        assert figures["cpu_mean_us"] > 0
    bus = result["real_bus_estimate"]
    assert bus["transactions_per_poll"] >= 3  # the MPR121 block read + collecting and starting a conversion
    assert bus["wire_time_us_100khz"] == pytest.approx(bus["wire_time_us_400khz"] * 4, abs=0.5)
    # Through the timed bus a poll takes at least its wire time.
    assert result["poll"]["p50_us"] >= bus["wire_time_us_400khz"] * 0.9
