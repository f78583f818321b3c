"""`latent bench swap`: its settings are checked and its helper runs real `latent` commands.

The measurement itself runs on the JACK server in tests/device/audio/test_instrument_on_jack.py.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from device.bench import swap_bench
from device.cli import main
from device.errors import ConfigError, InstrumentError
from device.files import file_sha256
from device.store.store import InstallOptions, ModelStore


def active_sha(store: ModelStore) -> str | None:
    active = ModelStore(store.layout.root).active()  # as written on disk by the other process
    return active.sha256 if active is not None else None


def test_bad_settings_are_refused_with_what_to_change(tmp_path: Path) -> None:
    shipped = str(swap_bench.DEFAULT_BUNDLES[0])
    copy = tmp_path / "again.bundle"
    shutil.copyfile(shipped, copy)
    cases = {
        ("--swaps", "0"): "--swaps",
        ("--every", "0.25"): "--every must leave room",
        ("--bundles", shipped): "at least two bundles",
        ("--bundles", shipped, str(tmp_path / "nope.bundle")): "nope.bundle not found",
        ("--bundles", shipped, str(copy)): "same bundle twice",
    }
    for argv, message in cases.items():
        with pytest.raises(ConfigError, match=message):
            swap_bench.check_settings(swap_bench.settings_from(list(argv)))
    swap_bench.check_settings(swap_bench.settings_from([]))  # the shipped bundles are a valid default


def test_the_bench_is_listed_under_latent_bench(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["bench", "swap", "--help"])
    assert "--realtime" in capsys.readouterr().out


def test_the_helper_runs_latent_commands_in_other_processes(tmp_path: Path) -> None:
    store = ModelStore(tmp_path / "store")
    bundles = swap_bench.DEFAULT_BUNDLES
    store.install_file(bundles[0], options=InstallOptions(allow_unsigned=True))
    at = ("--store", str(store.layout.root))
    runner = swap_bench.CommandRunner()
    try:
        took = runner.run("install", str(bundles[1]), "--allow-unsigned", *at)
        assert took > 0.0
        assert active_sha(store) == file_sha256(bundles[1])
        runner.run("models", "activate", file_sha256(bundles[0])[:12], *at)
        assert active_sha(store) == file_sha256(bundles[0])
        with pytest.raises(InstrumentError, match="no bundle 'nothing-here' in the store"):
            runner.run("models", "activate", "nothing-here", *at)
    finally:
        runner.close()
