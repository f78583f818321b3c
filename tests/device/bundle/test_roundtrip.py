"""A bank written by the host-side writer reads back identically through the device reader."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from device.bundle import codecs
from device.bundle.format import ALIGNMENT, MAGIC
from device.bundle.grid import Axis
from device.bundle.reader import load_segment_bank, open_bundle
from device.bundle.writer import write_segment_bank
from device.errors import BundleError

from .conftest import make_segments


@pytest.mark.parametrize("codec, tolerance", [("int16", 1e-4), ("mulaw8", 0.03)])
@pytest.mark.parametrize("n_axes", [1, 2, 3, 4])
def test_roundtrip_all_dimensions_and_codecs(tmp_path: Path, codec: str, tolerance: float,
                                             n_axes: int) -> None:
    steps = (2, 3, 2, 2)[:n_axes]
    axes = [Axis(f"a{i}", -2.0, 2.0, s) for i, s in enumerate(steps)]
    segments = make_segments(steps, 3, 257, seed=n_axes)
    path = write_segment_bank(tmp_path / "b.bundle", name="rt", sample_rate=22050, axes=axes,
                              pitches=[40, 52, 64], segments=segments, codec=codec)
    bank = load_segment_bank(path)
    assert bank.axes == tuple(axes)
    assert bank.pitches == (40, 52, 64)
    assert bank.sample_rate == 22050
    assert bank.segments.shape == (*steps, 3, 257)
    index = tuple(s - 1 for s in steps)
    restored = bank.segment(index, 2)
    assert np.max(np.abs(restored - segments[(*index, 2)])) < tolerance
    assert bank.bundle.manifest["bank"]["codec"] == codec


def test_payloads_are_aligned_and_memory_mapped(small_bank: Path) -> None:
    with open_bundle(small_bank) as bundle:
        for entry in bundle.manifest["payloads"].values():
            assert entry["offset"] % ALIGNMENT == 0
        assert not bundle.arrays["segments"].flags.writeable
        assert bundle.arrays["segments"].base is not None
    assert small_bank.read_bytes()[:8] == MAGIC


def test_manifest_carries_config_and_provenance(small_bank: Path) -> None:
    with open_bundle(small_bank) as bundle:
        assert bundle.manifest["config"] == {"recipe": "test"}
        assert bundle.manifest["provenance"] == {"tool": "tests"}
        assert bundle.manifest["file_size"] == small_bank.stat().st_size


def test_mulaw_keeps_silence_silent() -> None:
    codes = codecs.encode(np.zeros(8), "mulaw8")
    assert np.all(codecs.decode(codes, "mulaw8") == 0.0)


def test_mulaw_is_half_the_size_of_int16(tmp_path: Path) -> None:
    axes = [Axis("x", 0, 1, 2)]
    seg = make_segments((2,), 1, 4000)
    a = write_segment_bank(tmp_path / "a", name="a", sample_rate=16000, axes=axes, pitches=[60],
                           segments=seg, codec="int16")
    b = write_segment_bank(tmp_path / "b", name="b", sample_rate=16000, axes=axes, pitches=[60],
                           segments=seg, codec="mulaw8")
    assert b.stat().st_size < 0.55 * a.stat().st_size


def test_writer_refuses_inconsistent_segments(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="axes and pitches need"):
        write_segment_bank(tmp_path / "x", name="x", sample_rate=16000, axes=[Axis("x", 0, 1, 3)],
                           pitches=[60], segments=np.zeros((2, 1, 100), np.float32))
    assert not list(tmp_path.iterdir())


def test_writer_refuses_nan(tmp_path: Path) -> None:
    seg = np.zeros((2, 1, 100), np.float32)
    seg[1, 0, 5] = np.nan
    with pytest.raises(BundleError, match="NaN"):
        write_segment_bank(tmp_path / "x", name="x", sample_rate=16000, axes=[Axis("x", 0, 1, 2)],
                           pitches=[60], segments=seg)
    assert not list(tmp_path.iterdir())


def test_failed_write_keeps_the_previous_bundle(tmp_path: Path, small_bank: Path) -> None:
    before = small_bank.read_bytes()
    with pytest.raises(BundleError):
        write_segment_bank(small_bank, name="x", sample_rate=16000, axes=[Axis("x", 0, 1, 2)],
                           pitches=[60], segments=np.full((2, 1, 100), np.inf, np.float32))
    assert small_bank.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [small_bank.name]


@pytest.mark.parametrize("bad", [
    dict(name="", min=0.0, max=1.0, steps=3),
    dict(name="x", min=1.0, max=1.0, steps=3),
    dict(name="x", min=0.0, max=float("nan"), steps=3),
    dict(name="x", min=0.0, max=1.0, steps=1),
])
def test_axis_validation(bad: dict) -> None:
    with pytest.raises(BundleError):
        Axis(**bad)
