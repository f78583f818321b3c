"""Every kind of broken bundle is refused, before anything plays, with a reason naming the fault."""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Callable
from pathlib import Path

import pytest

from device.bundle.format import HEADER, HEADER_SIZE, align
from device.bundle.reader import load_segment_bank, open_bundle
from device.cli import main
from device.errors import BundleError


def _split(data: bytes) -> tuple[dict, bytes]:
    _, _, manifest_len, _ = HEADER.unpack_from(data, 0)
    manifest = json.loads(data[HEADER_SIZE:HEADER_SIZE + manifest_len])
    rest = data[align(HEADER_SIZE + manifest_len):]
    return manifest, rest


def _rewrite_manifest(data: bytes, edit: Callable[[dict], None]) -> bytes:
    """Apply `edit` to the manifest and re-seal it with a correct hash and layout."""
    manifest, payload_area = _split(data)
    old_start = len(data) - len(payload_area)
    edit(manifest)
    text = json.dumps(manifest).encode()
    new_start = align(HEADER_SIZE + len(text))
    shift = new_start - old_start
    for entry in manifest["payloads"].values():
        if isinstance(entry.get("offset"), int):
            entry["offset"] += shift
    if isinstance(manifest.get("file_size"), int):
        manifest["file_size"] += shift
    text = json.dumps(manifest).encode()
    text = text + b" " * (new_start - HEADER_SIZE - len(text))  # keep the payload start
    header = HEADER.pack(b"LATENTB\x00", 1, len(text), hashlib.sha256(text).digest())
    return header + text + payload_area


def _flip(data: bytes, offset: int) -> bytes:
    return data[:offset] + bytes([data[offset] ^ 0x40]) + data[offset + 1:]


def _payload_offset(data: bytes, name: str) -> int:
    return _split(data)[0]["payloads"][name]["offset"]


def _manifest_edit(path: list, value: object) -> Callable[[bytes], bytes]:
    def edit(manifest: dict) -> None:
        target = manifest
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return lambda data: _rewrite_manifest(data, edit)


CASES: dict[str, tuple[Callable[[bytes], bytes], str]] = {
    "empty file": (lambda d: b"", "truncated"),
    "truncated in header": (lambda d: d[:20], "truncated"),
    "truncated in manifest": (lambda d: d[:HEADER_SIZE + 30], "truncated"),
    "truncated at payload start": (lambda d: d[:_payload_offset(d, "segments")], "truncated"),
    "truncated mid payload": (lambda d: d[:_payload_offset(d, "segments") + 101], "truncated"),
    "truncated by one byte": (lambda d: d[:-1], "truncated"),
    "extra bytes": (lambda d: d + b"\x00" * 7, "unexpected bytes"),
    "bad magic": (lambda d: b"RIFF" + d[4:], "bad magic"),
    "wrong version": (lambda d: d[:8] + struct.pack("<I", 2) + d[12:], "version 2 is not supported"),
    "flipped manifest byte": (lambda d: _flip(d, HEADER_SIZE + 40), "manifest sha256 mismatch"),
    "flipped manifest hash": (lambda d: _flip(d, 20), "manifest sha256 mismatch"),
    "flipped segment byte": (
        lambda d: _flip(d, _payload_offset(d, "segments") + 333), "'segments' sha256 mismatch"),
    "flipped scale byte": (
        lambda d: _flip(d, _payload_offset(d, "scales") + 2), "'scales' sha256 mismatch"),
    "flipped last byte": (lambda d: _flip(d, len(d) - 1), "sha256 mismatch"),
    "manifest version disagrees": (_manifest_edit(["format_version"], 3), "format_version"),
    "unknown kind": (_manifest_edit(["kind"], "hologram"), "unknown bundle kind"),
    "missing sample rate": (
        lambda d: _rewrite_manifest(d, lambda m: m.pop("sample_rate")), "'sample_rate'"),
    "absurd sample rate": (_manifest_edit(["sample_rate"], 5), "sample_rate 5"),
    "axis steps disagree with payload": (
        _manifest_edit(["bank", "axes", 0, "steps"], 4), "segments payload has shape"),
    "pitch count disagrees": (
        _manifest_edit(["bank", "pitches"], [48, 60, 72]), "segments payload has shape"),
    "segment length disagrees": (
        _manifest_edit(["bank", "segment_frames"], 401), "segments payload has shape"),
    "shape disagrees with byte count": (
        _manifest_edit(["payloads", "segments", "shape"], [3, 2, 2, 401]), "needs"),
    "payload outside the file": (
        _manifest_edit(["payloads", "scales", "offset"], 10**9), "outside the payload area"),
    "codec disagrees with dtype": (
        _manifest_edit(["bank", "codec"], "mulaw8"), "codec mulaw8"),
    "unsupported dtype": (_manifest_edit(["payloads", "scales", "dtype"], "O"), "unsupported dtype"),
    "pitches out of order": (_manifest_edit(["bank", "pitches"], [60, 48]), "increasing"),
    "axis range reversed": (_manifest_edit(["bank", "axes", 0, "max"], -5.0), "finite and increasing"),
    "too many axes": (
        _manifest_edit(["bank", "axes"], [{"name": str(i), "min": 0, "max": 1, "steps": 2}
                                          for i in range(5)]), "1..4 axes"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_bundle_is_refused_with_reason(small_bank: Path, tmp_path: Path, case: str) -> None:
    damage, reason = CASES[case]
    bad = tmp_path / "bad.bundle"
    bad.write_bytes(damage(small_bank.read_bytes()))
    with pytest.raises(BundleError, match=reason.replace("(", r"\(")) as caught:
        load_segment_bank(bad)
    assert str(bad) in str(caught.value)


@pytest.mark.parametrize("case", ["truncated mid payload", "flipped segment byte", "wrong version"])
def test_verify_command_exits_1_with_reason(small_bank: Path, tmp_path: Path, case: str,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    damage, reason = CASES[case]
    bad = tmp_path / "bad.bundle"
    bad.write_bytes(damage(small_bank.read_bytes()))
    assert main(["bundle", "verify", str(bad)]) == 1
    err = capsys.readouterr().err
    assert reason in err
    assert "Traceback" not in err


def test_verify_and_info_accept_a_good_bundle(small_bank: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bundle", "verify", str(small_bank)]) == 0
    assert "OK" in capsys.readouterr().out
    assert main(["bundle", "info", str(small_bank)]) == 0
    manifest = json.loads(capsys.readouterr().out)
    assert manifest["kind"] == "segment-bank"
    assert manifest["bank"]["pitches"] == [48, 60]


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="no such bundle file"):
        open_bundle(tmp_path / "nope.bundle")
    with pytest.raises(BundleError, match="is a directory"):
        open_bundle(tmp_path)


def test_unverified_open_still_checks_structure(small_bank: Path, tmp_path: Path) -> None:
    data = small_bank.read_bytes()
    bad = tmp_path / "bad.bundle"
    bad.write_bytes(_flip(data, _payload_offset(data, "segments") + 3))
    open_bundle(bad, verify=False).close()
    bad.write_bytes(data[:-3])
    with pytest.raises(BundleError, match="truncated"):
        open_bundle(bad, verify=False)
