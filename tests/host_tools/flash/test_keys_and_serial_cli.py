"""`latent keys new|sign|id`, and `latent flash --to serial://...` into a `latent serve` process."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from device.cli import main
from device.store.signature import load_signature_doc
from device.store.store import ModelStore

from ...device.flash.serial_kit import serial_device
from ...device.store.bundles import make_bundle, sha256_of


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_keys_new_sign_and_id(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    keys = tmp_path / "keys"
    code, out, _ = _run(capsys, "keys", "new", "gallery", "--dir", str(keys))
    assert code == 0 and "latent models trust gallery.pub" in out
    private, public = keys / "gallery.key", keys / "gallery.pub"
    assert stat.S_IMODE(os.stat(private).st_mode) == 0o600
    kid = out.split()[1]
    assert _run(capsys, "keys", "id", str(public))[1].strip() == kid
    assert _run(capsys, "keys", "id", str(private))[1].strip() == kid
    code, _, err = _run(capsys, "keys", "new", "gallery", "--dir", str(keys))
    assert code == 1 and "already exists" in err
    bundle = make_bundle(tmp_path / "pads.bundle")
    code, out, _ = _run(capsys, "keys", "sign", str(bundle), "--key", str(private))
    assert code == 0 and load_signature_doc(tmp_path / "pads.bundle.sig")["key_id"] == kid
    store = ModelStore(tmp_path / "store")
    store.trust_key(public)
    signature = load_signature_doc(tmp_path / "pads.bundle.sig")
    assert store.install_file(bundle, signature).bundle.signed_by == kid
    (tmp_path / "junk.bundle").write_bytes(b"not a bundle" * 10)
    code, _, err = _run(capsys, "keys", "sign", str(tmp_path / "junk.bundle"), "--key", str(private))
    assert code == 1 and "not a latent-instrument bundle" in err
    code, _, err = _run(capsys, "keys", "sign", str(bundle), "--key", str(public))
    assert code == 1 and "not an unencrypted PEM private key" in err


def test_flash_over_serial_from_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with serial_device(tmp_path, serve_args=("--once",)) as device:
        url = f"serial://{device.sim.end_a}?baud=921600"
        code, _, err = _run(capsys, "flash", str(device.new), "--to", url, "--allow-unsigned")
        assert code == 1 and "a serial device decides this itself" in err
        code, out, err = _run(capsys, "flash", str(device.new), "--to", url, "--key", str(device.key),
                              "--timeout", "5")
        assert code == 0, err
        assert "pads v2: installed and activated pads v2" in out
        assert device.serve.wait(timeout=10) == 0
    assert ModelStore(device.root).pointer.active == sha256_of(device.new)
    code, _, err = _run(capsys, "flash", str(device.new), "--to", "serial:///dev/definitely-not-here")
    assert code == 1 and "cannot open serial device /dev/definitely-not-here" in err


def test_keys_new_names_the_paths_it_wrote(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    home.mkdir()
    elsewhere.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(elsewhere)
    code, out, _ = _run(capsys, "keys", "new", "gallery")
    keys = home / ".config" / "latent" / "keys"
    private, public = keys / "gallery.key", keys / "gallery.pub"
    assert code == 0 and private.is_file() and public.is_file() and list(elsewhere.iterdir()) == []
    assert f"private: {private} " in out and f"public:  {public}\n" in out
    assert f"--key {private}\n" in out and f"copy {public} to it" in out
    code, out, _ = _run(capsys, "keys", "new", "stage", "--dir", "relative/keys")
    assert code == 0 and f"public:  {elsewhere / 'relative' / 'keys' / 'stage.pub'}\n" in out
