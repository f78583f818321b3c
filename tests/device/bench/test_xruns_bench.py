"""`latent bench xruns`: the whole instrument beside a C client on its own JACK dummy server."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pytest

from device.bench import xruns_bench
from device.errors import ConfigError


def bench_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    xruns_bench.add_arguments(parser)
    return parser.parse_args(list(argv))


@pytest.mark.parametrize(("argv", "message"), [
    (["--seconds", "0"], "--seconds"),
    (["--load", "-1"], "--load"),
    (["--swap-every", "0.5"], "--swap-every"),
    (["--period-frames", "100"], "--period-frames"),
    (["--latency-touches", "5000"], "--latency-touches"),
])
def test_bad_settings_are_refused(argv: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        xruns_bench.run(bench_args(*argv))


@pytest.mark.jack
@pytest.mark.slow
def test_a_short_run_reports_ours_beside_the_reference() -> None:
    # Its own process: the bench starts its own server, and libjack in a process that already
    # talks to one server (this one's session server) does not see another.
    done = subprocess.run([sys.executable, "-m", "device.cli", "bench", "xruns", "--seconds", "4",
                           "--warmup", "1", "--swap-every", "2", "--load", "1", "--latency-touches", "4",
                           "--json"], capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["arrangement"] == "ring" and result["jack_period_frames"] == 64
    assert result["busy_processes"] == 1
    assert result["seconds"] == pytest.approx(4.0, abs=0.5)
    assert result["swaps"] == 1 and result["model_swaps"] == 1 and result["watcher_errors"] == 0
    assert result["reference"]["client"] == "jack_metro"
    ours, reference = result["ours"], result["reference"]
    assert ours["underruns"] == ours["jack_named"] + ours["ring_ran_dry"]
    # `seconds` is reported rounded: with thousands of underruns a minute (a loaded machine) the
    # rate computed back from it differs by more than 0.5, hence the relative tolerance too.
    assert ours["per_minute"] == pytest.approx(ours["underruns"] * 60 / result["seconds"], rel=0.01, abs=0.5)
    assert result["ours_within_reference"] == (ours["underruns"] <= reference["underruns"])
    assert result["blocks"] > 0.5 * 4 * 48000 / 64 and result["errors"] == 0
    assert result["render_ahead_frames"] == 256 and result["output_latency_ms"] > 5.3
    assert 0 < result["interval_p99_ms"] <= result["interval_p999_ms"] <= result["interval_max_ms"]
    assert result["sensor_to_sound_missed_touches"] == 0
    latency = result["sensor_to_sound_ms"]
    assert 0 < latency["p50"] <= latency["p99"] <= latency["max"]
    assert result["device_lost"] is None
