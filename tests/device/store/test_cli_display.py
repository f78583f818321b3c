"""What `latent models` and `latent install` print from bundles and the store is escaped.

A name, kind or creation time from a manifest, a logged reason or a store path may hold terminal
escapes or newlines; the text output shows them as `\\x1b`, `\\n`, and `--json` leaves the escaping
to JSON. Bundles the reader refuses today may already sit in a store, and the display must not
rely on the reader: some cases hand the commands hostile fields directly.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from device.cli import main
from device.errors import StoreError
from device.store.pointer import Pointer
from device.store.store import InstalledBundle, InstallOptions, InstallResult, ModelStore

from .bundles import TEST_POLICY, make_bundle, sha256_of

HOSTILE = "pads\x1b[2J\x1b]0;owned\x07\nFAKE  active  line"
RAW = ("\x1b", "\x07", "\r", "\nFAKE")


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _assert_safe(text: str) -> None:
    for raw in RAW:
        assert raw not in text, text


@pytest.fixture
def store(tmp_path: Path) -> ModelStore:
    made = ModelStore(tmp_path / "store", policy=TEST_POLICY)
    made.install_file(make_bundle(tmp_path / "pads.bundle"), options=InstallOptions(allow_unsigned=True))
    return made


def _hostile(sha256: str, path: Path) -> InstalledBundle:
    return InstalledBundle(sha256, path, HOSTILE, 1, "segment\x1b[0m_bank", 16000, 1234,
                           "2024\rlater", None, problem=f"bad \x1b[31m{HOSTILE}")


def test_a_stored_bundle_with_a_hostile_name_is_listed_safely(
        store: ModelStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Written before readers refused such names: the file sits in the store as it arrived.
    evil = make_bundle(tmp_path / "evil.bundle", name=HOSTILE)
    shutil.copyfile(evil, store.layout.bundle(sha256_of(evil)))
    code, out, _ = _run(capsys, "models", "list", "--store", str(store.layout.root))
    assert code == 0 and sha256_of(evil)[:12] in out
    _assert_safe(out)
    assert len(out.splitlines()) == 3  # the heading and one line per bundle


def test_list_escapes_every_manifest_field_and_json_keeps_them(
        store: ModelStore, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    real = store.bundles()[0]
    monkeypatch.setattr(ModelStore, "bundles", lambda self: [_hostile(real.sha256, real.path)])
    code, out, _ = _run(capsys, "models", "list", "--store", str(store.layout.root))
    assert code == 0
    _assert_safe(out)
    assert "pads\\x1b[2J\\x1b]0;owned\\x07\\nFAKE  active  line" in out
    assert "DAMAGED: bad \\x1b[31mpads" in out and len(out.splitlines()) == 2
    code, out, _ = _run(capsys, "models", "list", "--json", "--store", str(store.layout.root))
    listed = json.loads(out)["bundles"][0]
    assert listed["name"] == HOSTILE and listed["kind"] == "segment\x1b[0m_bank"
    assert listed["created"] == "2024\rlater"
    _assert_safe(out)  # JSON escapes them itself


def test_a_huge_name_is_cut_short(store: ModelStore, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    real = store.bundles()[0]
    huge = InstalledBundle(real.sha256, real.path, "n" * 100_000, 1, "segment_bank", 16000, 1, "", None)
    monkeypatch.setattr(ModelStore, "bundles", lambda self: [huge])
    code, out, _ = _run(capsys, "models", "list", "--store", str(store.layout.root))
    assert code == 0 and "(100000 characters)" in out and len(out) < 1000


def test_messages_naming_a_bundle_are_escaped(store: ModelStore, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    real = store.bundles()[0]
    hostile = _hostile(real.sha256, real.path)
    at = ("--store", str(store.layout.root))
    monkeypatch.setattr(ModelStore, "rollback", lambda self: hostile)
    monkeypatch.setattr(ModelStore, "remove", lambda self, ref: hostile)
    monkeypatch.setattr(ModelStore, "install_file", lambda self, *a, **k: InstallResult(
        "installed", hostile, None))
    for argv in (("models", "rollback"), ("models", "remove", "x"),
                 ("install", str(tmp_path / "pads.bundle"), "--allow-unsigned")):
        code, out, _ = _run(capsys, *argv, *at)
        assert code == 0 and "pads\\x1b[2J" in out and out.count("\n") == 1, out
        _assert_safe(out)
    code, out, _ = _run(capsys, "install", str(tmp_path / "pads.bundle"), "--allow-unsigned", "--json", *at)
    assert json.loads(out)["name"] == HOSTILE

    def refuse(self: ModelStore, ref: str) -> InstalledBundle:
        raise StoreError(f"{hostile.label()} cannot be activated: damaged")

    monkeypatch.setattr(ModelStore, "activate", refuse)
    code, out, err = _run(capsys, "models", "activate", "x", *at)
    assert code == 1 and out == "" and err.count("\n") == 1 and "pads\\x1b[2J" in err
    _assert_safe(err)


def test_the_failure_log_is_shown_safely(store: ModelStore, capsys: pytest.CaptureFixture[str]) -> None:
    entry = {"time": "2024-01-01T00:00:00+00:00\x1b[1A", "sha256": None, "name": HOSTILE,
             "reason": "crashed\nFAKE  active  line\n", "action": "rolled back\x07"}
    store.layout.failures.write_text(json.dumps(entry) + "\n", encoding="utf-8")
    code, out, _ = _run(capsys, "models", "log", "--store", str(store.layout.root))
    assert code == 0 and out.count("\n") == 1 and "crashed\\nFAKE" in out
    _assert_safe(out)
    code, out, _ = _run(capsys, "models", "log", "--json", "--store", str(store.layout.root))
    assert json.loads(out)["reason"] == entry["reason"]


def test_a_store_path_with_a_newline_is_shown_escaped(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "st\nore\x1b[2J"
    ModelStore(root).layout.pointer.write_bytes(Pointer().to_json())
    code, out, _ = _run(capsys, "models", "list", "--store", str(root))
    assert code == 0 and "st\\nore\\x1b[2J" in out and out.count("\n") == 1
    assert os.path.isdir(root)
