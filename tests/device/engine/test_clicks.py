"""No parameter jump clicks: the output never steps further than the grain envelopes themselves make it.

A click is a sample-to-sample jump of the order of the signal's amplitude; the smooth low tones
used here move at most a few percent of their amplitude per sample. Each jump render is compared
with renders that hold the old and the new settings throughout (same seed): its largest step must
stay within a small factor of theirs (the factor covers the moment old and new grains overlap).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from device.bundle.reader import SegmentBank
from device.engine.granular import GranularEngine

from .banks import max_step, sine_bank

RATE = 48000
BLOCK = 64
JUMP_BLOCK = 150
BLOCKS = 400
FACTOR = 3.0

OLD: dict[str, Any] = {"point": (0.2, 0.3), "pitch": 48.0,
                       "params": {"grain_ms": 60.0, "overlap": 3.0, "position": 0.2, "jitter": 0.05,
                                  "window": "hann", "gain": 0.6, "mode": "mix"}}
NEW: dict[str, Any] = {"point": (0.9, 0.7), "pitch": 57.5,
                       "params": {"grain_ms": 23.0, "overlap": 7.0, "position": 0.8, "jitter": 0.6,
                                  "window": "tukey", "gain": 1.0, "mode": "scatter"}}


@pytest.fixture
def bank(tmp_path: Path) -> SegmentBank:
    """A 3 x 3 grid of low sines, each grid point its own frequency, at two bank pitches."""
    return sine_bank(tmp_path / "low.bundle", steps=(3, 3), pitches=[48, 60],
                     frequency=lambda g, p: (90.0 + 17.0 * g[0] + 7.0 * g[1]) * (1.0, 2.0)[p])


def _engine(bank: SegmentBank, settings: dict[str, Any]) -> GranularEngine:
    engine = GranularEngine(bank, sample_rate=RATE, seed=11)
    _apply(engine, settings)
    return engine


def _apply(engine: GranularEngine, settings: dict[str, Any]) -> None:
    engine.set_point(settings["point"])
    engine.set_pitch(settings["pitch"])
    engine.set_params(**settings["params"])


def _render(engine: GranularEngine, blocks: int, jump: dict[str, Any] | None = None) -> np.ndarray:
    out = np.zeros(blocks * BLOCK, dtype=np.float32)
    for b in range(blocks):
        if jump is not None and b == JUMP_BLOCK:
            _apply(engine, jump)
        engine.render_into(out[b * BLOCK:(b + 1) * BLOCK])
    return out


def _steady_step(bank: SegmentBank, settings: dict[str, Any]) -> float:
    return max_step(_render(_engine(bank, settings), BLOCKS)[BLOCK * 20:])


@pytest.mark.parametrize("field", ["point", "pitch", *OLD["params"], "everything"])
def test_jumps_stay_within_the_envelopes_own_slope(bank: SegmentBank, field: str) -> None:
    if field == "everything":
        new = NEW
    elif field in ("point", "pitch"):
        new = {**OLD, field: NEW[field]}
    else:
        new = {**OLD, "params": {**OLD["params"], field: NEW["params"][field]}}
    jumped = _render(_engine(bank, OLD), BLOCKS, jump=new)
    bound = FACTOR * max(_steady_step(bank, OLD), _steady_step(bank, new))
    assert max_step(jumped[BLOCK * 20:]) <= bound
    assert np.all(np.isfinite(jumped))


def test_the_criterion_catches_a_hard_switch(bank: SegmentBank) -> None:
    """Splicing the old render into the new one without grains is a click, and must be caught."""
    old = _render(_engine(bank, OLD), BLOCKS)
    new = _render(_engine(bank, NEW), BLOCKS)
    region = slice(BLOCK * 100, BLOCK * 300)
    at = region.start + int(np.argmax(np.abs(old[region] - new[region])))
    spliced = np.concatenate([old[:at], new[at:]])
    bound = FACTOR * max(max_step(old[BLOCK * 20:]), max_step(new[BLOCK * 20:]))
    assert max_step(spliced[BLOCK * 20:]) > bound
