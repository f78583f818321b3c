"""Grain envelopes follow their window tables; warm-up compiles everything and changes nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from device.bundle.grid import Axis
from device.bundle.reader import SegmentBank, load_segment_bank
from device.bundle.writer import write_segment_bank
from device.engine.granular import GranularEngine
from device.engine.kernel import render_block
from device.engine.windows import WINDOW_NAMES, window_tables

from .banks import pitched_sine_bank


@pytest.fixture
def dc_bank(tmp_path: Path) -> SegmentBank:
    """Constant segments: a grain's output is its envelope times the constant."""
    path = write_segment_bank(tmp_path / "dc.bundle", name="dc", sample_rate=16000,
                              axes=[Axis("x", 0.0, 1.0, 2)], pitches=[60],
                              segments=np.full((2, 1, 16000), 0.5, dtype=np.float32))
    return load_segment_bank(path)


@pytest.mark.parametrize("window", WINDOW_NAMES)
def test_a_grain_is_shaped_by_its_window(dc_bank: SegmentBank, window: str) -> None:
    engine = GranularEngine(dc_bank, sample_rate=48000)
    engine.set_params(window=window, grain_ms=100.0, overlap=0.1, jitter=0.0)
    engine.trigger()
    length = 4800
    grain = engine.render(length + 100)
    assert not np.any(grain[length:]), "the grain outlived its length"
    table = window_tables()[WINDOW_NAMES.index(window)]
    expected = 0.5 * np.interp(np.arange(length) / length, np.linspace(0.0, 1.0, len(table)), table)
    np.testing.assert_allclose(grain[:length], expected, atol=2e-4)
    assert grain[0] == 0.0 and abs(grain[length - 1]) < 2e-3


def test_windows_start_and_end_at_zero_and_peak_at_one() -> None:
    tables = window_tables()
    assert np.all(tables[:, 0] == 0.0) and np.all(tables[:, -1] == 0.0)
    np.testing.assert_allclose(tables.max(axis=1), 1.0, atol=1e-5)
    assert len({t.tobytes() for t in tables}) == len(WINDOW_NAMES)


def test_warm_up_compiles_both_codecs_and_leaves_the_engine_as_it_was(tmp_path: Path) -> None:
    bank = pitched_sine_bank(tmp_path / "w.bundle", steps=(3, 2))
    warmed, cold = GranularEngine(bank, seed=4), GranularEngine(bank, seed=4)
    warmed.warm_up()
    code_types = {str(signature[1].dtype) for signature in render_block.signatures}
    assert {"int16", "uint8"} <= code_types
    assert warmed.samples_rendered == 0 and warmed.generation == cold.generation
    assert np.array_equal(warmed.render(5000), cold.render(5000))
