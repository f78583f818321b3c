"""`latent map ...`: run through the real `latent` command parser."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from device.cli import main

from ...hostile_files import SPECIAL_PATHS, Hostile, make


def test_map_check_summarises_a_good_map(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["map", "check"]) == 0
    out = capsys.readouterr().out
    assert "default_map.toml: OK" in out
    assert "e3=55" in out and "grain_ms: e10" in out and "presets: home, cloud, bright" in out


def test_map_check_reports_a_bad_map_without_a_traceback(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "mine.toml"
    bad.write_text("[gain]\nidle = 3\n")
    assert main(["map", "check", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("latent map: error: ")
    assert "mine.toml: gain.idle: is 3, out of range" in err


def test_map_default_prints_a_file_that_checks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["map", "default"]) == 0
    copy = tmp_path / "copy.toml"
    copy.write_text(capsys.readouterr().out)
    assert main(["map", "check", str(copy)]) == 0


@pytest.mark.timeout(120)
@pytest.mark.parametrize("case", [pytest.param(c, id=c.name) for c in SPECIAL_PATHS
                                  if c.special in ("fifo", "dev-zero", "link-dev-zero")])
def test_map_check_refuses_a_fifo_or_a_device_in_one_line(tmp_path: Path, case: Hostile) -> None:
    # Through the console command in a process of its own: a FIFO once hung it for ever, /dev/zero
    # ended in MemoryError. The subprocess timeout turns a regression into a failure.
    path = make(case, tmp_path / "mine.toml")
    done = subprocess.run([sys.executable, "-m", "device.cli", "map", "check", str(path)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.splitlines() == [
        f"latent map: error: {path}: is {case.reason}; give the path of a .toml mapping file"]
