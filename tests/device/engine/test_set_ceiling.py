"""Moving the limiter's ceiling while playing (gallery mode's level caps): a lower one holds from
the next block, a higher one lets the sound come back, a bad one is refused."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from device.engine.granular import GranularEngine
from device.engine.limiter import MIN_CEILING, ceiling_from_dbfs
from device.errors import EngineError

from .banks import midi_hz, sine_bank

RATE = 48000


@pytest.fixture
def engine(tmp_path: Path) -> GranularEngine:
    bank = sine_bank(tmp_path / "b.bundle", steps=(2,), pitches=[57], seconds=0.5,
                     frequency=lambda g, _p: midi_hz(57) * (1 + 0.1 * g[0]))
    loud = dataclasses.replace(bank, scales=np.full(bank.scales.shape, 1000.0, dtype=np.float32))
    e = GranularEngine(loud, sample_rate=RATE, seed=1)
    e.set_params(gain=4.0, overlap=8.0)
    return e


def peaks(engine: GranularEngine, blocks: int, frames: int = 64) -> list[float]:
    out = np.zeros(frames, dtype=np.float32)
    result = []
    for _ in range(blocks):
        engine.render_into(out)
        result.append(float(np.max(np.abs(out))))
    return result


def test_a_lower_ceiling_holds_from_the_next_block(engine: GranularEngine) -> None:
    assert max(peaks(engine, 200)) > 0.8
    engine.set_ceiling(ceiling_from_dbfs(-30.0))
    assert engine.ceiling == pytest.approx(ceiling_from_dbfs(-30.0), rel=1e-6)
    after = peaks(engine, 400)
    assert max(after) <= engine.ceiling
    assert float(np.median(after[20:])) > 0.5 * engine.ceiling  # limited, not muted


def test_a_higher_ceiling_lets_the_level_come_back(engine: GranularEngine) -> None:
    engine.set_ceiling(ceiling_from_dbfs(-40.0))
    peaks(engine, 200)
    engine.set_ceiling(ceiling_from_dbfs(-6.0))
    after = peaks(engine, 2000)
    assert max(after) <= engine.ceiling
    assert max(after[-200:]) > 0.9 * ceiling_from_dbfs(-6.0)


@pytest.mark.parametrize("ceiling", [0.0, MIN_CEILING / 2, 1.5, float("nan"), True])
def test_a_bad_ceiling_is_refused_and_the_old_one_kept(engine: GranularEngine, ceiling: object) -> None:
    before = engine.ceiling
    with pytest.raises(EngineError, match="ceiling must be a linear level"):
        engine.set_ceiling(ceiling)  # type: ignore[arg-type]
    assert engine.ceiling == before
