"""RNN bundles: a tiny ONNX GRU round-trips through the writer and the reader, its raw outputs made into
the controls PyTorch makes by the device's output stage; broken ones (and the retired "controls"
output form) are refused with one line naming the fault (the reader runs the model before anything
can play it)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from device.bundle.reader import open_bundle
from device.bundle.rnn_format import (
    COND_INPUT,
    RAW_OUTPUT,
    STATE_INPUT,
    STATE_OUTPUT,
    controls_of,
    open_session,
    rnn_model,
    write_rnn_bundle,
)
from device.cli import main
from device.errors import BundleError
from tests.device import rnn_models
from tests.device.bundle.test_bad_bundles import _flip, _manifest_edit, _payload_offset, _rewrite_manifest


def test_a_tiny_gru_round_trips_and_matches_torch(tmp_path: Path) -> None:
    path = rnn_models.write(tmp_path / "tiny.bundle")
    with open_bundle(path) as bundle:
        assert bundle.kind == "rnn" and bundle.sample_rate == 16000
        spec, model = rnn_model(bundle)
    assert spec == rnn_models.spec()
    assert model == rnn_models.onnx_bytes()
    torch.manual_seed(0)
    cond = torch.rand(1, 40, 4) * 2 - 1
    cond[..., 3] = cond[..., 3].abs()
    state = torch.zeros(spec.layers, 1, spec.hidden)
    tiny = rnn_models.TinyControlRnn(spec, "ok").eval()
    with torch.no_grad():
        want_raw, want_state = tiny(cond, state)
        want = tiny.controls(want_raw, cond)
    session = open_session(model)
    raw, got_state = session.run([RAW_OUTPUT, STATE_OUTPUT],
                                 {COND_INPUT: cond.numpy(), STATE_INPUT: state.numpy()})
    np.testing.assert_allclose(raw, want_raw.numpy(), atol=1e-5)
    np.testing.assert_allclose(got_state, want_state.numpy(), atol=1e-5)
    got = controls_of(spec, raw, cond.numpy())
    np.testing.assert_allclose(got, want[0].numpy(), rtol=1e-5, atol=1e-7)
    # The contract: the stage zeroes the harmonics above Nyquist and the rest sum to 1.
    distribution = got[:, 1:1 + spec.harmonics]
    np.testing.assert_allclose(distribution.sum(axis=-1), 1.0, atol=1e-5)
    f0 = 440.0 * 2.0 ** ((cond[0, :, 2].numpy() * 24.0 + 60.0 - 69.0) / 12.0)
    above = np.arange(1, spec.harmonics + 1)[None, :] * f0[:, None] >= spec.nyquist_hz
    assert above.any() and np.all(distribution[above] == 0.0)


def test_bundle_verify_and_info_describe_the_model(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = rnn_models.write(tmp_path / "tiny.bundle")
    assert main(["bundle", "verify", str(path)]) == 0
    out = capsys.readouterr().out
    assert "OK (rnn 'tiny-rnn'" in out and "GRU 1x16, 64 harmonics + 65 noise bands, 4 ms frames" in out
    assert main(["bundle", "info", str(path)]) == 0
    manifest = json.loads(capsys.readouterr().out)
    assert manifest["rnn"]["axes"][0] == {"name": "pc0", "lo": -2.0, "hi": 2.0}


def _raw(tmp_path: Path, model: bytes, **spec_changes: object) -> Path:
    return write_rnn_bundle(tmp_path / "raw.bundle", spec=rnn_models.spec(**spec_changes),
                            onnx_model=model, name="raw", version=1, description="", config={},
                            provenance={})


REFUSALS = {
    "wrong input names": (lambda p: rnn_models.write(p, "names"), "inputs are ['conditions', 'state']"),
    "wrong control width": (lambda p: rnn_models.write(p, harmonics=32), "output 'raw' has shape"),
    "wrong state width": (lambda p: rnn_models.write(p, hidden=32), "input 'state' has shape"),
    "NaN-producing": (lambda p: rnn_models.write(p, "nan"), "NaN or infinite values"),
    "not ONNX": (lambda p: _raw(p.parent, b"not an onnx model at all"), "onnxruntime cannot open"),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_broken_models_are_refused_in_one_line(tmp_path: Path, case: str) -> None:
    make, reason = REFUSALS[case]
    path = make(tmp_path / "bad.bundle")
    with pytest.raises(BundleError) as refused:
        open_bundle(path)
    message = str(refused.value)
    assert reason in message and str(path) in message and "\n" not in message


def _rewritten(tmp_path: Path, edit: object) -> Path:
    data = rnn_models.write(tmp_path / "ok.bundle").read_bytes()
    path = tmp_path / "edited.bundle"
    path.write_bytes(edit(data))  # type: ignore[operator]
    return path


FILE_FAULTS = {
    "truncated": (lambda d: d[:-100], "truncated"),
    "flipped model byte": (lambda d: _flip(d, _payload_offset(d, "model") + 50), "'model' sha256 mismatch"),
    "unknown rnn field": (_manifest_edit(["rnn", "temperature"], 1.0), "unknown field 'temperature'"),
    "missing rnn field": (_manifest_edit(["rnn"], {"hidden": 16, "outputs": "raw-head"}), "lacks field"),
    "one axis": (_manifest_edit(["rnn", "axes"], [{"name": "pc0", "lo": -1, "hi": 1}]), "exactly 2 axes"),
    "bad quantization": (_manifest_edit(["rnn", "quantization"], "int4"), "rnn.quantization"),
    "inverted pitch range": (_manifest_edit(["rnn", "pitch_lo"], 90.0), "pitch_lo and pitch_hi"),
    "nyquist above half the rate": (_manifest_edit(["rnn", "nyquist_hz"], 9000.0), "nyquist_hz"),
    "unknown output form": (_manifest_edit(["rnn", "outputs"], "controls"),
                            "rnn.outputs 'controls' is unknown"),
    "negative amplitude ceiling": (_manifest_edit(["rnn", "amplitude_max"], -1.0), "rnn.amplitude_max"),
    "exponent of 1": (_manifest_edit(["rnn", "exp_sigmoid_exponent"], 1.0), "must be above 1"),
}


def test_the_retired_controls_form_is_refused_with_a_hint_to_re_export(tmp_path: Path) -> None:
    # Bundles from before the output stage moved to the device had no `outputs` and their graph ended
    # in the finished controls: read as raw outputs they would play wrong, so they are refused.
    def old_section(manifest: dict) -> None:
        for key in ("outputs", "amplitude_max", "noise_max", "exp_sigmoid_exponent", "exp_sigmoid_threshold"):
            del manifest["rnn"][key]

    path = _rewritten(tmp_path, lambda data: _rewrite_manifest(data, old_section))
    with pytest.raises(BundleError) as refused:
        open_bundle(path, verify=False)
    message = str(refused.value)
    assert "names no output form" in message and "latent rnn export" in message and "\n" not in message


@pytest.mark.parametrize("case", sorted(FILE_FAULTS))
def test_corrupt_rnn_files_are_refused_in_one_line(tmp_path: Path, case: str) -> None:
    edit, reason = FILE_FAULTS[case]
    path = _rewritten(tmp_path, edit)
    with pytest.raises(BundleError) as refused:
        open_bundle(path)
    assert reason in str(refused.value) and "\n" not in str(refused.value)


def test_listing_without_verify_skips_the_probe_but_not_the_manifest(tmp_path: Path) -> None:
    # The store lists installed bundles with verify=False: cheap, yet a bad section is still named.
    with open_bundle(rnn_models.write(tmp_path / "nan.bundle", "nan"), verify=False) as bundle:
        assert bundle.kind == "rnn"
    with pytest.raises(BundleError, match="exactly 2 axes"):
        open_bundle(_rewritten(tmp_path, _manifest_edit(["rnn", "axes"], [])), verify=False)


def test_the_writer_refuses_a_bad_spec_before_writing(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="pitch_lo and pitch_hi"):
        _raw(tmp_path, rnn_models.onnx_bytes(), pitch_lo=80.0, pitch_hi=40.0)
    assert not (tmp_path / "raw.bundle").exists()
