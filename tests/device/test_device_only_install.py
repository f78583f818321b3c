"""A device-only install (`pip install .[device]`, as a Pi gets it; `./setup.sh test` makes one in
.venv-device) plays, verifies bundles, and answers a host command with one line instead of a
traceback. Outside CI the test is skipped when that environment has not been made."""

from __future__ import annotations

import os
import subprocess
import wave
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DEVICE_VENV = REPO / ".venv-device"
LATENT = DEVICE_VENV / "bin" / "latent"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not LATENT.exists() and not os.environ.get("CI"),
                       reason="no .venv-device here (./setup.sh test makes it; CI always has it)"),
]


def _latent(*argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LATENT), *argv], capture_output=True, text=True, timeout=timeout, cwd=REPO)


def test_the_environment_really_is_device_only() -> None:
    done = subprocess.run([str(DEVICE_VENV / "bin" / "python"), "-c", "import torch"],
                          capture_output=True, text=True)
    assert done.returncode != 0 and "No module named 'torch'" in done.stderr


def test_help_lists_device_and_host_commands() -> None:
    done = _latent("--help")
    assert done.returncode == 0, done.stderr
    for command in ("play", "bundle", "install", "models", "serve", "bank", "data", "flash"):
        assert command in done.stdout


def test_it_plays_to_a_wav_file(tmp_path: Path) -> None:
    out = tmp_path / "device-only.wav"
    done = _latent("play", "--out", str(out), "--seconds", "0.5")
    assert done.returncode == 0, done.stderr
    with wave.open(str(out)) as wav:
        assert wav.getnframes() > 0


def test_it_verifies_the_shipped_bundle() -> None:
    done = _latent("bundle", "verify", "models/gan-medium.bundle")
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("command", [["bank", "compile", "--help"], ["data", "render"], ["gan", "train"]])
def test_a_host_command_says_what_to_install_in_one_line(command: list[str]) -> None:
    done = _latent(*command)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "needs the host tools: pip install 'latent-instrument[host]'" in lines[0], \
        done.stderr
