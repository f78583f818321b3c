"""`latent models ...` and `latent install ...` as a person types them on the device."""

from __future__ import annotations

import base64
import io
import json
import sys
from pathlib import Path

import pytest

from device.cli import main
from device.store.signature import signature_bytes, signature_path

from .bundles import make_bundle, make_key, sha256_of, sign


@pytest.fixture
def kit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    monkeypatch.setenv("LATENT_STORE", str(tmp_path / "store"))
    private, public = make_key(tmp_path)
    bundles = {}
    for version in (1, 2):
        bundle = make_bundle(tmp_path / f"pads{version}.bundle", version=version, seed=version)
        signature_path(bundle).write_bytes(signature_bytes(sign(bundle, private)))
        bundles[version] = bundle
    return {"tmp": tmp_path, "pub": public, "key": private, "b": bundles}


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_models_commands_end_to_end(kit: dict, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "models", "list")
    assert code == 1 and "no model store at" in err and not (kit["tmp"] / "store").exists()
    assert _run(capsys, "models", "trust", str(kit["pub"]))[1].startswith("trusting key ")
    code, out, _ = _run(capsys, "models", "list")
    assert code == 0 and "no bundles" in out
    code, out, _ = _run(capsys, "install", str(kit["b"][1]))
    assert code == 0 and "installed and activated pads v1" in out
    code, out, _ = _run(capsys, "install", str(kit["b"][2]), "--json")
    assert json.loads(out)["action"] == "installed"
    code, out, _ = _run(capsys, "models", "list")
    assert "active (on trial)" in out and "previous" in out and sha256_of(kit["b"][2])[:12] in out
    code, out, _ = _run(capsys, "models", "rollback")
    assert code == 0 and "active: pads v1" in out
    code, out, _ = _run(capsys, "models", "activate", "pads@2")
    assert code == 0 and "pads v2" in out
    code, out, err = _run(capsys, "models", "remove", "pads@2")
    assert code == 1 and "latent models: error: pads v2" in err and "is active" in err
    code, out, _ = _run(capsys, "models", "remove", "pads@1")
    assert code == 0 and "removed pads v1" in out
    listing = json.loads(_run(capsys, "models", "list", "--json")[1])
    assert [b["version"] for b in listing["bundles"]] == [2] and listing["generation"] == 4
    assert "no failures recorded" in _run(capsys, "models", "log")[1]


def test_install_refuses_unsigned_unless_allowed(kit: dict, capsys: pytest.CaptureFixture[str]) -> None:
    bundle = make_bundle(kit["tmp"] / "plain.bundle")
    code, _, err = _run(capsys, "install", str(bundle))
    assert code == 1 and "accepts only signed bundles" in err
    code, out, _ = _run(capsys, "install", str(bundle), "--allow-unsigned")
    assert code == 0 and "installed" in out


def test_install_query_and_stdin(kit: dict, capsys: pytest.CaptureFixture[str],
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    _run(capsys, "models", "trust", str(kit["pub"]))
    data = kit["b"][1].read_bytes()
    sig = base64.b64encode(json.dumps(sign(kit["b"][1], kit["key"])).encode()).decode()
    offer = ["--name", "pads1.bundle", "--size", str(len(data)), "--sha256", sha256_of(kit["b"][1]),
             "--signature-b64", sig]
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data[:3000])))
    code, _, err = _run(capsys, "install", "--stdin", *offer)
    assert code == 1 and "interrupted after 3000 of" in err
    state = json.loads(_run(capsys, "install", "--query", *offer)[1])
    assert state["offset"] == 3000 and not state["existing"]
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data[3000:])))
    code, _, err = _run(capsys, "install", "--stdin", "--offset", "0", *offer)
    assert code == 1 and "has 3000 bytes of this bundle staged" in err
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data[3000:] + b"extra")))
    code, _, err = _run(capsys, "install", "--stdin", "--offset", "3000", *offer)
    assert code == 1 and "cut off" in err
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    code, out, _ = _run(capsys, "install", "--stdin", "--json", *offer)
    assert code == 0 and json.loads(out)["action"] == "installed"
    state = json.loads(_run(capsys, "install", "--query", *offer)[1])
    assert state["existing"] and state["active"]
    code, _, err = _run(capsys, "install", "--query", *offer[:-2], "--name", "..")
    assert code == 1 and "contains '..'" in err
