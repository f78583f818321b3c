"""Bad parameters are refused with an EngineError naming the parameter, and change nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from device.bundle.reader import SegmentBank
from device.engine.granular import GranularEngine
from device.engine.params import GrainParams
from device.errors import EngineError

from .banks import pitched_sine_bank


@pytest.fixture(params=["granular", "rnn"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GranularEngine]:
    """Both engines answer bad input alike (the rnn accepts and checks every grain field too)."""
    if request.param == "rnn":
        from tests.device import rnn_models

        rnn = rnn_models.engine(tmp_path / "r.bundle")
        yield rnn  # type: ignore[misc]
        rnn.close()
        return
    yield GranularEngine(pitched_sine_bank(tmp_path / "p.bundle", steps=(2, 3)), max_grains=16)


@pytest.mark.parametrize(("fields", "message"), [
    ({"grain_ms": 1.0}, r"grain_ms=1\.0 is outside 5\.\.2000 ms"),
    ({"grain_ms": float("nan")}, "grain_ms"),
    ({"grain_ms": True}, "grain_ms must be a number"),
    ({"overlap": 0.0}, "overlap"),
    ({"position": 1.5}, r"position=1\.5 is outside 0\.\.1"),
    ({"jitter": -0.1}, "jitter"),
    ({"gain": float("inf")}, "gain"),
    ({"gain": "loud"}, "gain must be a number"),
    ({"window": "box"}, "window='box' is unknown; use one of hann, tukey, triangle"),
    ({"mode": "granular"}, "mode='granular' is unknown; use one of mix, scatter"),
    ({"freeze": 1}, "freeze must be True or False"),
    ({"density": 3.0}, "unknown grain parameter.*density.*known: grain_ms"),
])
def test_bad_params_are_refused_and_change_nothing(engine: GranularEngine, fields: dict[str, object],
                                                   message: str) -> None:
    before, generation = engine.params, engine.generation
    with pytest.raises(EngineError, match=message):
        # A good field beside the bad one must not be applied either.
        engine.set_params(**{"jitter": 0.4, **fields})
    assert engine.params == before
    assert engine.generation == generation


def test_an_overlap_beyond_the_grain_slots_is_refused(tmp_path: Path) -> None:
    """Grain slots are the granular engine's alone: the rnn has none to run out of."""
    engine = GranularEngine(pitched_sine_bank(tmp_path / "p.bundle", steps=(2, 3)), max_grains=16)
    before = engine.params
    with pytest.raises(EngineError, match=r"overlap 15 needs up to 17 grain slots .* max_grains=16"):
        engine.set_params(jitter=0.4, overlap=15.0)
    assert engine.params == before


def test_grain_params_validate_on_their_own() -> None:
    with pytest.raises(EngineError, match="overlap"):
        GrainParams(overlap=-1.0)
    assert GrainParams(grain_ms=np.float32(50.0), overlap=np.int64(3)).overlap == 3.0


@pytest.mark.parametrize(("coords", "message"), [
    ((0.1, 0.2, 0.3), r"3 coordinates but the (bank|rnn) has 2 axes \(axis0, axis1\)"),
    ((1.2,), r"coordinate 0 \(axis0\) must be a number in 0\.\.1, got 1\.2"),
    ((0.5, float("nan")), r"coordinate 1 \(axis1\)"),
    ((0.5, "x"), "coordinate 1"),
])
def test_bad_points_are_refused(engine: GranularEngine, coords: tuple[object, ...], message: str) -> None:
    with pytest.raises(EngineError, match=message):
        engine.set_point(coords)  # type: ignore[arg-type]
    assert engine.point == (0.5, 0.5)


@pytest.mark.parametrize("midi", [-1.0, 128.0, float("nan"), "C4", None])
def test_bad_pitches_are_refused(engine: GranularEngine, midi: object) -> None:
    with pytest.raises(EngineError, match=r"pitch must be a MIDI note number in 0\.\.127"):
        engine.set_pitch(midi)  # type: ignore[arg-type]


@pytest.mark.parametrize("out", [
    np.zeros(64, dtype=np.float64),
    np.zeros((2, 32), dtype=np.float32),
    np.zeros(128, dtype=np.float32)[::2],
    np.zeros(0, dtype=np.float32),
    [0.0] * 64,
])
def test_bad_output_buffers_are_refused(engine: GranularEngine, out: object) -> None:
    with pytest.raises(EngineError, match="render_into needs a non-empty, writeable, contiguous 1-D float32"):
        engine.render_into(out)  # type: ignore[arg-type]


def test_read_only_output_is_refused(engine: GranularEngine) -> None:
    out = np.zeros(64, dtype=np.float32)
    out.flags.writeable = False
    with pytest.raises(EngineError, match="writeable"):
        engine.render_into(out)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"sample_rate": 1000}, r"sample_rate must be an integer in 8000\.\.384000, got 1000"),
    ({"sample_rate": 48000.0}, "sample_rate must be an integer"),
    ({"max_grains": 4}, r"max_grains must be an integer in 8\.\.4096, got 4"),
    ({"seed": -1}, "seed"),
])
def test_bad_construction_is_refused(tmp_path: Path, kwargs: dict[str, object], message: str) -> None:
    bank = pitched_sine_bank(tmp_path / "c.bundle")
    with pytest.raises(EngineError, match=message):
        GranularEngine(bank, **kwargs)  # type: ignore[arg-type]


def test_render_frames_must_be_positive(engine: GranularEngine) -> None:
    with pytest.raises(EngineError, match="frames"):
        engine.render(0)


def test_a_bank_with_other_codes_is_refused(tmp_path: Path) -> None:
    bank = pitched_sine_bank(tmp_path / "f.bundle")
    floats = SegmentBank(bundle=bank.bundle, axes=bank.axes, pitches=bank.pitches, codec=bank.codec,
                         segments=bank.segments.astype(np.float32), scales=bank.scales)
    with pytest.raises(EngineError, match="int16 or mulaw8"):
        GranularEngine(floats)
