"""`latent bench audio` under the JACK dummy server: the report adds up and names the device."""

from __future__ import annotations

import argparse

import pytest

from device.bench import audio_bench
from device.bench.jack_server import DUMMY_DEVICE, JackServer
from device.errors import ConfigError


def bench_args(**overrides: object) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    audio_bench.add_arguments(parser)
    args = parser.parse_args(["--device", DUMMY_DEVICE, "--seconds", "1", "--warmup", "0.3"])
    for key, value in overrides.items():
        setattr(args, key, value)
    return args


@pytest.mark.jack
@pytest.mark.parametrize("arrangement", ["ring", "callback"])
def test_the_report_counts_the_measured_second(jack_server: JackServer, arrangement: str) -> None:
    result = audio_bench.run(bench_args(channels=2, arrangement=arrangement))
    assert result["arrangement"] == arrangement
    assert result["device"].startswith(f"[0] {DUMMY_DEVICE} (JACK")
    assert result["sample_format"] == "float32" and result["period_ms"] == pytest.approx(1.3333, abs=1e-3)
    # Due by a clock that runs on while a stalled dummy driver skips cycles (up to a sixth of them
    # in a second seen here), and never fewer than were delivered.
    assert 0.5 * result["blocks_due"] < result["blocks"] <= 1.05 * result["blocks_due"] + 4
    assert result["errors"] == 0 and result["sensor_load_polls"] > 200
    assert 0.0 < result["interval_p99_ms"] <= result["interval_p999_ms"] <= result["interval_max_ms"]
    assert result["output_latency_ms"] > 0.0
    if arrangement == "ring":
        assert result["render_ahead_frames"] == 256 and result["ring_frames"] >= 256


def test_bad_lengths_are_refused() -> None:
    with pytest.raises(ConfigError, match="--seconds"):
        audio_bench.run(bench_args(seconds=0.0))
