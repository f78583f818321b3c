"""`latent bench latency`: runs end to end through the timed fakes and reports every figure it
promises, computed as its docstring says (no timing limits are asserted)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from device.bench.latency_bench import DEVICE_PERIOD_FRAMES, LATENCY_TARGET_MS, RENDER_AHEAD_FRAMES
from device.cli import main


def test_the_latency_benchmark_prints_its_json(bank_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "latency", "--bundle", str(bank_path), "--touches", "4", "--idle-seconds", "0.2",
                 "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["touches"] == 4 and result["missed_touches"] == 0
    assert result["render_ahead_frames"] == RENDER_AHEAD_FRAMES == 256
    assert result["device_period_frames"] == DEVICE_PERIOD_FRAMES == 64
    assert result["output_buffering_ms"] == pytest.approx(256 / 48000 * 1000, abs=0.001)
    total, to_render = result["sensor_to_sound_ms"], result["to_render_ms"]
    assert 0 < to_render["p50"] <= to_render["p99"] <= to_render["max"]
    # The buffering is added to every touch; the offset inside a block adds less than one block.
    buffering, block_ms = result["output_buffering_ms"], 64 / 48000 * 1000
    assert buffering - 0.002 <= total["p50"] - to_render["p50"] <= buffering + block_ms + 0.002
    assert result["target_p99_ms"] == LATENCY_TARGET_MS == 10.0
    assert isinstance(result["meets_target"], bool)
    control = result["control_thread"]
    assert control["errors"] == 0
    for window in (control["idle"], control["touched"]):
        assert window["seconds"] > 0 and window["cpu_percent_of_core"] > 0 and window["polls_per_s"] > 0
    assert control["idle"]["woken_polls"] == 0  # nobody touched anything
    assert control["touched"]["woken_polls"] >= 1  # touches woke the loop through the IRQ
    assert 0 < control["poll_ms"]["p50"] <= control["poll_ms"]["max"]
