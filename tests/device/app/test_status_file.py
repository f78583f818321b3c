"""The status file and `latent status`: written atomically every period while playing, a failure
reported once and never fatal, read back bounded, judged fresh or stale, healthy or not."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from device.app.status_file import (
    STALE_AFTER_S,
    STATUS_FORMAT,
    StatusReporter,
    describe,
    read_status,
    write_status,
)
from device.errors import ConfigError


def _doc(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "format": STATUS_FORMAT, "updated": time.time(), "pid": 123, "mode": "play", "uptime_s": 42.0,
        "model": "gan-medium.bundle", "audio": {"blocks": 9000, "underruns": 2, "errors": 0},
        "sensors": {"chips": [{"name": "mpr121", "connected": True}, {"name": "ads1115", "connected": True}]},
        "control": {"polls": 8000, "errors": 0}, "health": {"problem": None, "watchdog_pings": 8},
        "limiter": {"limited_samples": 0, "nonfinite_samples": 0},
    }
    doc.update(changes)
    return doc


def test_the_reporter_writes_every_period_and_atomically(tmp_path: Path) -> None:
    path = tmp_path / "status.json"
    count = iter(range(100))
    reporter = StatusReporter(path, lambda: {"n": next(count)}, period_s=2.0, clock=lambda: 1000.0)
    assert [reporter.tick(t) for t in (0.0, 1.0, 2.0, 3.9, 4.0)] == [True, False, True, False, True]
    doc = json.loads(path.read_text())
    assert doc == {"format": STATUS_FORMAT, "updated": 1000.0, "n": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["status.json"]  # no temporary left behind


def test_a_write_that_fails_is_reported_once_and_never_raises(tmp_path: Path) -> None:
    reports: list[str] = []
    reporter = StatusReporter(tmp_path / "missing" / "status.json", dict, period_s=0.0, report=reports.append)
    assert not any(reporter.tick(float(t)) for t in range(5))
    assert reporter.failures == 5 and len(reports) == 1 and "playing on without it" in reports[0]


def test_reading_it_back_is_bounded_and_checked(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no status file: the instrument is not playing"):
        read_status(tmp_path / "none.json")
    other = tmp_path / "other.json"
    other.write_text('{"format": "something else"}')
    with pytest.raises(ConfigError, match="not a latent-status-1 document"):
        read_status(other)
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 5000 + "]" * 5000)
    with pytest.raises(ConfigError, match="nested more than"):
        read_status(deep)
    good = tmp_path / "good.json"
    write_status(good, _doc())
    assert read_status(good)["model"] == "gan-medium.bundle"


def test_the_verdict_comes_first_and_names_what_is_wrong() -> None:
    now = time.time()
    assert describe(_doc(), now)[0] == "playing, healthy"
    stale = describe(_doc(updated=now - STALE_AFTER_S - 5), now)[0]
    assert stale.startswith("NOT RUNNING?") and "old" in stale
    sick = describe(_doc(health={"problem": "no audio block went out\x1b[2J"}), now)[0]
    assert sick.startswith("UNHEALTHY: no audio block went out") and "\x1b" not in sick
    chips = [{"name": "mpr121", "connected": False}, {"name": "ads1115", "connected": True}]
    lines = describe(_doc(sensors={"chips": chips}, uptime_s="soon"), now)
    assert any("missing: mpr121" in line for line in lines) and any("uptime    ? s" in line for line in lines)


@pytest.mark.parametrize("age, code", [(0.0, 0), (STALE_AFTER_S + 30, 1)])
def test_latent_status_exits_by_the_verdict_and_json_is_only_json(tmp_path: Path, age: float,
                                                                     code: int) -> None:
    path = tmp_path / "status.json"
    write_status(path, _doc(updated=time.time() - age))
    for extra in ([], ["--json"]):
        argv = [sys.executable, "-m", "device.cli", "status", "--status-file", str(path), *extra]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        assert done.returncode == code, done.stderr
        if extra:
            assert json.loads(done.stdout)["model"] == "gan-medium.bundle"
        else:
            assert "gan-medium.bundle" in done.stdout


def test_latent_status_without_a_file_is_one_line(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "device.cli", "status", "--status-file",
                           str(tmp_path / "none.json")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and len(done.stderr.strip().splitlines()) == 1
    assert "no status file" in done.stderr and "Traceback" not in done.stderr
