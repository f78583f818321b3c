"""`latent bench flash` runs end to end and reports the share of the raw rate (no timing asserted)."""

from __future__ import annotations

import json

import pytest

from device.cli import main


def test_flash_bench_reports_rates_and_share(capsys: pytest.CaptureFixture[str]) -> None:
    # Unpaced and small: this checks that the benchmark works, not how fast anything is.
    assert main(["bench", "flash", "--json", "--baud", "0", "--size-kib", "64"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["bench"] == "flash" and result["protocol"]["action"] == "installed"
    assert result["bundle_bytes"] >= 64 * 1024
    assert result["raw_bytes_per_s"] > 0 and result["protocol_bytes_per_s"] > 0
    share = result["protocol_bytes_per_s"] / result["raw_bytes_per_s"]
    assert result["share_of_raw"] == pytest.approx(share, abs=0.002)
    assert result["target_share"] == 0.8
    assert result["meets_target"] == (result["share_of_raw"] >= 0.8)
