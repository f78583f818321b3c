"""`latent bench mapping` runs through the real `latent` command parser (no timing limits)."""

from __future__ import annotations

import json

import pytest

from device.cli import main


def test_bench_mapping_prints_costs_for_each_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "mapping", "--json", "--polls", "200", "--quiet"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["bench"] == "mapping" and result["channels_mapped"] == 14
    assert result["polls_per_scenario"] == 200
    assert set(result["scenarios"]) == {"rest", "moving", "stale"}
    for numbers in result["scenarios"].values():
        assert 0 < numbers["p50_us"] <= numbers["p99_us"] <= numbers["max_us"]
        assert numbers["mean_us"] > 0 and numbers["load_at_poll_rate"] > 0
