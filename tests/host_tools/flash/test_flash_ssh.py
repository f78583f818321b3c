"""`latent flash --to ssh://...` against a real sshd on loopback, into a store on "the device"."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from device.errors import FlashError
from device.store.store import InstallOptions, ModelStore
from host_tools.flash.ssh import SshTarget

from ...device.store.bundles import make_bundle, make_key, new_store, sha256_of
from .sshd import Sshd, running_sshd

LATENT = str(Path(sys.executable).parent / "latent")


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    with running_sshd(tmp_path_factory.mktemp("sshd")) as server:
        if isinstance(server, str):
            pytest.skip(f"no loopback sshd: {server}")
        yield server


@pytest.fixture
def device(tmp_path: Path) -> dict:
    key, public = make_key(tmp_path, "artist")
    stranger, _ = make_key(tmp_path, "stranger")
    old = make_bundle(tmp_path / "old.bundle", version=1, seed=1)
    new = make_bundle(tmp_path / "new.bundle", version=2, seed=2, frames=3000)
    root = tmp_path / "device-store"
    store = new_store(root, public)
    store.install_file(old, None, InstallOptions(allow_unsigned=True))
    return {"root": root, "key": key, "stranger": stranger, "old": old, "new": new}


def _flash(sshd: Sshd, device: dict, *extra: str) -> subprocess.CompletedProcess:
    argv = [LATENT, "flash", str(device["new"]), "--to", sshd.url, *sshd.flash_args(),
            "--remote-latent", LATENT, "--remote-store", str(device["root"]), *extra]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120)


def test_flash_installs_on_the_device_and_a_resend_is_a_no_op(sshd: Sshd, device: dict) -> None:
    done = _flash(sshd, device, "--key", str(device["key"]))
    assert done.returncode == 0, done.stderr
    assert "pads v2: installed and activated pads v2" in done.stdout
    store = ModelStore(device["root"])
    assert store.pointer.active == sha256_of(device["new"]) and store.on_trial
    assert store.active().signed_by is not None
    again = _flash(sshd, device, "--key", str(device["key"]))
    assert again.returncode == 0 and "already installed and active" in again.stdout
    assert ModelStore(device["root"]).generation == store.generation


def test_an_interrupted_upload_resumes(sshd: Sshd, device: dict) -> None:
    data = device["new"].read_bytes()
    half = len(data) // 2
    remote = [LATENT, "install", "--stdin", "--allow-unsigned", "--name", "new.bundle", "--size",
              str(len(data)), "--sha256", sha256_of(device["new"]), "--store", str(device["root"])]
    cut = subprocess.run([*sshd.ssh_argv(), " ".join(remote)], input=data[:half], capture_output=True,
                         timeout=60)
    assert cut.returncode == 1 and b"interrupted after" in cut.stderr
    assert ModelStore(device["root"]).active_path().read_bytes() == device["old"].read_bytes()
    done = _flash(sshd, device, "--allow-unsigned")
    assert done.returncode == 0, done.stderr
    assert f"(resumed at byte {half})" in done.stdout and "[unsigned]" in done.stdout
    assert ModelStore(device["root"]).pointer.active == sha256_of(device["new"])


def test_refusals_come_back_with_the_device_s_reason(sshd: Sshd, device: dict) -> None:
    before = ModelStore(device["root"]).active_path().read_bytes()
    wrong = _flash(sshd, device, "--key", str(device["stranger"]))
    assert wrong.returncode == 1
    assert "latent flash: error: the device refused the bundle:" in wrong.stderr
    assert "which this device does not trust" in wrong.stderr
    unsigned = _flash(sshd, device)
    assert unsigned.returncode == 1 and "accepts only signed bundles" in unsigned.stderr
    assert ModelStore(device["root"]).active_path().read_bytes() == before
    newer = _flash(sshd, device, "--allow-unsigned")
    assert newer.returncode == 0  # v2 over v1 is newer: fine
    flash_old = [LATENT, "flash", str(device["old"]), "--to", sshd.url, *sshd.flash_args(),
                 "--remote-latent", LATENT, "--remote-store", str(device["root"]), "--allow-unsigned"]
    rollback = subprocess.run(flash_old, capture_output=True, text=True)
    assert rollback.returncode == 1 and "older than the installed v2" in rollback.stderr  # by default
    assert ModelStore(device["root"]).active().version == 2
    on_purpose = subprocess.run([*flash_old, "--allow-older"], capture_output=True, text=True)
    assert on_purpose.returncode == 0, on_purpose.stderr
    assert ModelStore(device["root"]).active().version == 1


@pytest.mark.skipif(shutil.which("ssh") is None, reason="the OpenSSH client is not installed")
def test_unreachable_device_is_a_clear_error(device: dict, tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    done = subprocess.run([LATENT, "flash", str(device["new"]), "--to", f"ssh://root@127.0.0.1:{port}",
                           "--ssh-option", f"UserKnownHostsFile={tmp_path / 'kh'}"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "ssh could not reach the device" in done.stderr


def test_ssh_target_urls() -> None:
    assert SshTarget.parse("ssh://pi@instrument.local:2222") == SshTarget("instrument.local", "pi", 2222)
    assert SshTarget.parse("ssh://instrument").destination == "instrument"
    for bad, why in (("ssh://", "not an ssh target"), ("ssh://pi@host/var/lib", "--remote-store"),
                     ("ssh://pi@host:99999", "port"), ("http://host", "not an ssh target")):
        with pytest.raises(FlashError, match=why):
            SshTarget.parse(bad)
