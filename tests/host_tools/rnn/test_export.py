"""`latent rnn export`: the tiny run as an rnn bundle the device reader accepts and that plays what
PyTorch plays; int8 measured and kept only where it pays; the eager reference of `latent bench rnn`."""

from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path

import numpy as np
import pytest
import torch

from device.bundle.reader import open_bundle
from device.bundle.rnn_format import open_session, rnn_model
from device.errors import ConfigError
from host_tools.rnn import eager_reference
from host_tools.rnn.export import FLOAT_TOLERANCE, export, int8_path, stream_session, stream_torch
from host_tools.rnn.render import condition
from host_tools.rnn.train import load_run

from .conftest import PITCHES


@pytest.fixture(scope="module")
def bundle(tiny_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("export") / "tiny.bundle"
    report = export(tiny_run, out)
    assert report.written == [str(out)] and report.max_abs_error <= FLOAT_TOLERANCE
    return out


def test_the_bundle_reloads_through_the_device_reader_and_matches_pytorch(bundle: Path, tiny_run: Path
                                                                          ) -> None:
    with open_bundle(bundle) as opened:
        spec, model_bytes = rnn_model(opened)
        assert opened.kind == "rnn" and opened.manifest["provenance"]["surface"]["kind"] == "pca"
    assert (spec.hidden, spec.layers, spec.harmonics, spec.noise_bands) == (32, 1, 16, 9)
    assert (spec.pitch_lo, spec.pitch_hi) == (PITCHES[0], PITCHES[-1]) and spec.quantization == "none"
    assert [a.name for a in spec.axes] == ["pc0", "pc1"]
    model, _, _ = load_run(tiny_run)
    t = np.linspace(0, 1, 300)
    cond = condition(np.sin(7 * t), np.cos(5 * t), 61.0, np.clip(2 * t, 0, 1))
    got = stream_session(open_session(model_bytes), spec, cond, chunks=3)
    want = stream_torch(model, cond, chunks=1)
    assert got.shape == (300, 26)
    np.testing.assert_allclose(got, want, atol=FLOAT_TOLERANCE)


def test_int8_is_measured_and_kept_only_where_it_holds_quality_and_gains_speed(tiny_run: Path,
                                                                               tmp_path: Path) -> None:
    out = tmp_path / "q.bundle"
    report = export(tiny_run, out, quantize="both")
    figures = report.int8
    assert figures is not None and figures["control_error"] >= 0.0
    assert figures["bytes"]["int8"] > 0 and figures["call_256_frames_us"]["int8"] > 0
    assert int8_path(out).exists() == figures["kept"]
    if figures["kept"]:
        with open_bundle(int8_path(out)) as opened:
            assert rnn_model(opened)[0].quantization == "int8"


def test_bad_export_requests_are_refused(tiny_run: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--quantize 'int4' is unknown"):
        export(tiny_run, tmp_path / "x.bundle", quantize="int4")
    with pytest.raises(ConfigError, match="is a directory"):
        export(tiny_run, tmp_path)
    with pytest.raises(ConfigError, match="not an RNN run"):
        export(tmp_path, tmp_path / "x.bundle")
    with pytest.raises(ConfigError, match="two different lower-case words"):
        export(tiny_run, tmp_path / "x.bundle", axis_names="Bright,bright")


def test_axes_can_be_named_by_what_they_move(tiny_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "named.bundle"
    export(tiny_run, out, axis_names="brightness,swell")
    with open_bundle(out) as opened:
        spec, _ = rnn_model(opened)
    assert [(a.name, a.lo, a.hi) for a in spec.axes] == [("brightness", -2.0, 2.0), ("swell", -2.0, 2.0)]


def test_the_eager_reference_steps_the_bundles_architecture(bundle: Path) -> None:
    (found,) = [e for e in entry_points(group="latent.bench_references") if e.name == "rnn"]
    assert found.load() is eager_reference.stepper
    arch = eager_reference.architecture_from_bundle(bundle)
    assert (arch.hidden, arch.input_width, arch.harmonics) == (32, 16, 16)
    threads = torch.get_num_threads()
    eager = eager_reference.stepper(bundle)
    try:
        assert torch.get_num_threads() == 1 and "GRU 1x32" in eager.description
        before = eager._state.clone()
        eager.step()
        assert not torch.equal(before, eager._state)  # it really steps the recurrence
    finally:
        eager.close()
    assert torch.get_num_threads() == threads
