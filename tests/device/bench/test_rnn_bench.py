"""`latent bench rnn`: the report's shape and consistency on a tiny bundle (no timing is asserted)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from device.bench import rnn_bench
from device.cli import main
from tests.device import rnn_models


def test_the_json_report_has_every_figure(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    bundle = rnn_models.write(tmp_path / "rnn.bundle")
    assert main(["bench", "rnn", "--bundle", str(bundle), "--seconds", "0.5", "--json", "--quiet"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    report = json.loads(lines[0])
    assert report["bench"] == "rnn" and report["seconds"] == pytest.approx(0.5, abs=0.01)
    assert report["real_time_factor"] > 0 and report["model_faults"] == 0
    for figure in ("model_step", "synth_block"):
        assert 0 < report[figure]["p50_us"] <= report[figure]["p90_us"] <= report[figure]["max_us"]
    assert report["changes"] >= 3 and report["response_ms"]["p50"] <= report["response_ms"]["max"]
    assert report["frames_made"] > 0 and report["rss_bytes"] > 0
    reference = report["eager_reference"]
    if reference != "not installed (host extra)":
        assert reference["rounds"] == rnn_bench.ROUNDS and "eager" in reference["model"]
        low, high = reference["ratio_range"]
        assert 0 < low <= reference["ratio_median"] <= high
        for side in ("eager_step", "our_step"):
            assert 0 < reference[side]["p50_us"] <= reference[side]["max_us"]
        assert report["meets_eager_ratio"] == (reference["ratio_median"] >= report["target_eager_ratio"])
    assert report["spec"] == {"hidden": 16, "layers": 1, "harmonics": 64, "noise_bands": 65,
                              "quantization": "none"}


def test_without_the_host_extra_the_eager_reference_says_so(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rnn_bench.importlib.metadata, "entry_points", lambda group: [])
    assert rnn_bench.eager_reference(tmp_path / "any.bundle", argparse.Namespace()) == \
        "not installed (host extra)"


def test_a_missing_bundle_is_named(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["bench", "rnn", "--bundle", str(tmp_path / "none.bundle"), "--quiet"]) != 0
    assert "no such rnn bundle" in capsys.readouterr().err
