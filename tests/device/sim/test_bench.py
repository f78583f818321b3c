"""`latent bench sensors` runs end to end and reports every figure it promises (no timing limits)."""

from __future__ import annotations

import json

import pytest

from device.cli import main


def test_the_sensor_benchmark_prints_its_json(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["bench", "sensors", "--json", "--polls", "200"]) == 0
    result = json.loads(capsys.readouterr().out)
    timed = ("poll", "poll_every_flex_input", "poll_with_demo_gesture", "mpr121_block_read",
             "ads1115_one_input", "fake_mpr121_simulation_only", "mpr121_driver_per_electrode_reads")
    for name in timed:
        figures = result[name]
        assert 0 < figures["p50_us"] <= figures["p99_us"] <= figures["max_us"]
    bus = result["real_bus_estimate"]
    assert bus["transactions_per_poll"] >= 4  # one MPR121 block read + a single-shot conversion
    assert bus["wire_time_us_100khz"] == pytest.approx(bus["wire_time_us_400khz"] * 4, abs=0.5)
