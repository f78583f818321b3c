"""`latent models ...` and `latent install` given a store path that is no store: one clean line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from device.cli import main

from .bundles import make_bundle, make_key

REPO = Path(__file__).resolve().parents[3]
COMMANDS = {
    "list": ["models", "list"],
    "list --json": ["models", "list", "--json"],
    "log": ["models", "log"],
    "activate": ["models", "activate", "pads"],
    "rollback": ["models", "rollback"],
    "remove": ["models", "remove", "pads"],
    "trust": ["models", "trust", "{pub}"],
    "install": ["install", "{bundle}", "--allow-unsigned"],
}
WRITING = ("trust", "install")


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    _, public = make_key(tmp_path)
    return {"pub": str(public), "bundle": str(make_bundle(tmp_path / "pads.bundle"))}


def _argv(command: str, files: dict[str, str], store: Path | str) -> list[str]:
    return [part.format(**files) for part in COMMANDS[command]] + ["--store", str(store)]


def _one_clean_line(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 1 and out == "", (argv, out, err)
    assert err.endswith("\n") and err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith(f"latent {argv[0]}: error: ")
    return err


@pytest.mark.parametrize("command", COMMANDS)
def test_a_regular_file_as_store_is_refused(command: str, files: dict[str, str], tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "a-file"
    store.write_text("keep me")
    err = _one_clean_line(capsys, _argv(command, files, store))
    assert "is not a directory, and a model store is one" in err and "--store" in err
    assert store.read_text() == "keep me"


@pytest.mark.parametrize("command", COMMANDS)
def test_a_path_below_a_regular_file_is_refused(command: str, files: dict[str, str], tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a-file").write_text("keep me")
    err = _one_clean_line(capsys, _argv(command, files, tmp_path / "a-file" / "store"))
    assert ("cannot create or open the model store" if command in WRITING else "no model store at") in err


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux /proc")
@pytest.mark.parametrize("command", COMMANDS)
def test_proc_as_store_is_refused(command: str, files: dict[str, str],
                                  capsys: pytest.CaptureFixture[str]) -> None:
    err = _one_clean_line(capsys, _argv(command, files, "/proc"))
    assert ("/proc: cannot create or open the model store" if command in WRITING
            else "no model store at /proc") in err


@pytest.mark.parametrize("command", [c for c in COMMANDS if c not in WRITING])
def test_commands_that_need_a_store_report_a_missing_one_and_create_nothing(
        command: str, files: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "new" / "store"
    err = _one_clean_line(capsys, _argv(command, files, store))
    assert f"no model store at {store}" in err and "the first `latent install`" in err
    assert not (tmp_path / "new").exists()


@pytest.mark.timeout(60)
def test_the_refusal_reaches_a_shell_as_one_line_without_a_traceback(tmp_path: Path) -> None:
    store = tmp_path / "a-file"
    store.write_text("")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("LATENT_STORE", None)
    done = subprocess.run([sys.executable, "-m", "device.cli", "models", "list", "--store", str(store)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=50)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("latent models: error: ")
