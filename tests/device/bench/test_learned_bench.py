"""`latent bench learned` runs through the real `latent` command parser (no timing limits)."""

from __future__ import annotations

import json

import pytest

from device.cli import main


def test_bench_learned_compares_the_kernel_fit_with_the_mlp(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "learned", "--json", "--quiet", "--examples", "8", "--mlp-steps", "50",
                 "--mlp-starts", "2"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["bench"] == "learned" and set(result["cases"]) == {"8_smooth", "8_chosen"}
    for case in result["cases"].values():
        kernel, mlp = case["kernel_ridge"], case["mlp_3_3"]
        assert kernel["train_max_error"] <= 0.01  # the shipped fit reproduces its poses
        assert kernel["fit_s"] >= 0 and kernel["per_frame_us"] > 0
        assert len(mlp["train_max_error_per_start"]) == 2
    assert len(result["cases"]["8_smooth"]["mlp_3_3"]["held_out_mean_error_per_start"]) == 2
