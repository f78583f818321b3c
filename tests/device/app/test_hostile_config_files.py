"""`latent play` given a FIFO or a device for its mapping, pin map or gesture file: one line, exit 1.

A FIFO once hung the player for ever (opening it waits for a writer) and /dev/zero filled its
memory. Each runs the console command in a process of its own, so that the subprocess timeout turns
a regression into a failure instead of a blocked test run.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ...hostile_files import SPECIAL_PATHS, Hostile, make

# option -> what the refusal asks for
OPTIONS = {
    "--map": "a .toml mapping file",
    "--pins": "a pin map (a copy of hardware/pins.toml)",
    "--gesture": "a gesture file (.toml)",
}
KINDS = [c for c in SPECIAL_PATHS if c.special in ("fifo", "link-dev-zero")]


@pytest.mark.timeout(180)
@pytest.mark.parametrize("case", [pytest.param(c, id=c.name) for c in KINDS])
@pytest.mark.parametrize("option", list(OPTIONS))
def test_play_refuses_a_fifo_or_a_device_in_one_line(tmp_path: Path, option: str, case: Hostile) -> None:
    path = make(case, tmp_path / "config.toml")
    out = tmp_path / "x.wav"
    done = subprocess.run(
        [sys.executable, "-m", "device.cli", "play", option, str(path), "--out", str(out),
         "--seconds", "0.1"],
        capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.splitlines() == [
        f"latent play: error: {path}: is {case.reason}; give the path of {OPTIONS[option]}"]
    assert not out.exists()
