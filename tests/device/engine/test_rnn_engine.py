"""The rnn engine: streams finite, bounded sound under a parameter sweep; the GRU state carries
across blocks exactly as one long model run; changes reach the next frame; a NaN model is silenced
and reported; nothing is allocated per block; the model thread keeps ahead and stops on close."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from device.bundle.rnn_format import COND_INPUT, RAW_OUTPUT, STATE_INPUT, STATE_OUTPUT, controls_of
from device.engine.harmonic_synth import R_AMP
from device.engine.rnn import RnnEngine, loudness_and_rest
from device.errors import EngineError
from tests.device import rnn_models
from tests.device.engine.allocations import render_allocations

RATE = 48000
FRAME = 64 * RATE // 16000  # output samples per 4 ms control frame


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[RnnEngine]:
    made = rnn_models.engine(tmp_path / "r.bundle", sample_rate=RATE)
    yield made
    made.close()


def _render(engine: RnnEngine, samples: int, block: int = 64) -> np.ndarray:
    return np.concatenate([engine.render(min(block, samples - i)) for i in range(0, samples, block)])


def test_two_seconds_of_sweeping_controls_stay_finite_bounded_and_audible(engine: RnnEngine) -> None:
    blocks = []
    out = np.zeros(64, dtype=np.float32)
    steps = 2 * RATE // 64
    for i in range(steps):
        phase = i / steps
        engine.set_point((phase, 1.0 - phase))
        engine.set_pitch(36.0 + 48.0 * phase)
        engine.set_params(gain=float(4.0 * abs(np.sin(3 * np.pi * phase))))
        engine.render_into(out)
        blocks.append(out.copy())
    audio = np.concatenate(blocks)
    assert np.all(np.isfinite(audio))
    assert np.max(np.abs(audio)) <= engine.ceiling
    assert np.sqrt(np.mean(audio ** 2)) > 1e-3
    assert engine.model_faults == 0 and engine.nonfinite_samples == 0 and engine.frames_held == 0


def test_the_render_does_not_depend_on_the_block_size(tmp_path: Path) -> None:
    # Frames are made when the synth reaches them, and phase, noise and state carry across blocks.
    renders = []
    for block in (64, 333, 4096):
        made = rnn_models.engine(tmp_path / f"b{block}.bundle", sample_rate=RATE, seed=3)
        made.set_point((0.2, 0.7))
        renders.append(_render(made, RATE // 2, block))
        made.close()
    # Only float32 rounding differs (oscillator chunks restart from the float64 phase at block edges).
    peak = np.max(np.abs(renders[0]))
    np.testing.assert_allclose(renders[1], renders[0], rtol=0, atol=1e-5 * peak)
    np.testing.assert_allclose(renders[2], renders[0], rtol=0, atol=1e-5 * peak)


def test_the_gru_state_carries_across_frames_as_in_one_long_model_run(engine: RnnEngine,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from device.engine import rnn

    written: list[np.ndarray] = []
    controls: list[np.ndarray] = []
    original = rnn.store_frame

    def record(*args: object) -> bool:
        written.append(np.array(args[6], copy=True))  # the model's raw outputs for this frame
        ring, sync = args[0], args[1]
        made = bool(original(*args))
        row = ring[(int(sync[0]) - 1) % ring.shape[0]]  # type: ignore[index, call-overload]
        controls.append(np.array(row[R_AMP:], copy=True))  # what the stage put in the ring
        return made

    monkeypatch.setattr(rnn, "store_frame", record)
    engine.set_point((0.8, 0.3))
    engine.set_pitch(67.0)
    _render(engine, 60 * FRAME)
    assert len(written) >= 60
    spec = engine.spec
    cond = np.zeros((1, len(written), 4), dtype=np.float32)
    cond[0, :] = (0.6, -0.4, (67.0 - 60.0) / 24.0, 1.0)
    session = engine._session
    whole, _ = session.run([RAW_OUTPUT, STATE_OUTPUT], {
        COND_INPUT: cond, STATE_INPUT: np.zeros((spec.layers, 1, spec.hidden), dtype=np.float32)})
    np.testing.assert_allclose(np.array(written), whole[0], rtol=1e-5, atol=1e-6)
    assert np.ptp(whole[0, :, 0]) > 1e-4  # the state really moves: this would catch a reset per frame
    # The ring holds the output stage's controls of those raw outputs (gain 1: amplitude and noise as made).
    np.testing.assert_allclose(np.array(controls), controls_of(spec, whole, cond), rtol=1e-5, atol=1e-9)


def test_a_change_reaches_the_very_next_frame(engine: RnnEngine) -> None:
    _render(engine, 10 * FRAME + 17)
    changed_at = engine.samples_rendered
    engine.set_point((0.9, 0.1))
    _render(engine, 3 * FRAME)
    onset = engine.onset_of(engine.generation)
    assert onset is not None and 0 <= onset - changed_at <= FRAME


def test_gain_drives_loudness_and_zero_is_silence(engine: RnnEngine) -> None:
    assert loudness_and_rest(1.0) == (1.0, 1.0)
    assert loudness_and_rest(0.0) == (0.0, 0.0)
    loudness, rest = loudness_and_rest(10 ** (-30 / 20))
    assert loudness == pytest.approx(0.5) and rest == pytest.approx(1.0)
    assert loudness_and_rest(4.0) == (1.0, 4.0)
    assert loudness_and_rest(1e-4)[0] == 0.0 and loudness_and_rest(1e-4)[1] == pytest.approx(0.1)
    loud = _render(engine, 20 * FRAME)[-10 * FRAME:]
    engine.set_params(gain=0.0)
    quiet = _render(engine, 20 * FRAME)[-10 * FRAME:]
    assert np.max(np.abs(loud)) > 1e-3 and np.max(np.abs(quiet)) == 0.0


def test_pitch_is_clamped_to_the_trained_range(engine: RnnEngine) -> None:
    engine.set_pitch(100.0)
    assert engine.pitch == engine.spec.pitch_hi
    engine.set_pitch(10.0)
    assert engine.pitch == engine.spec.pitch_lo


def test_a_model_that_turns_nan_is_silenced_counted_and_recovers(tmp_path: Path) -> None:
    made = rnn_models.engine(tmp_path / "nan.bundle", "nan-centre", sample_rate=RATE)
    try:
        made.set_point((0.9, 0.9))
        assert np.max(np.abs(_render(made, 20 * FRAME))) > 1e-3 and made.model_faults == 0
        made.set_point((0.5, 0.5))  # the centre, where this model gives NaN
        centre = _render(made, 20 * FRAME)
        assert np.all(np.isfinite(centre)) and made.model_faults > 0 and made.nonfinite_samples > 0
        assert made.last_block_nonfinite > 0  # what the store's trial hears of
        made.set_point((0.9, 0.9))
        back = _render(made, RATE // 2)[-RATE // 10:]
        assert made.last_block_nonfinite == 0 and np.max(np.abs(back)) > 1e-3
    finally:
        made.close()


def test_steady_state_rendering_allocates_nothing(engine: RnnEngine) -> None:
    kept, passing = render_allocations(engine, settle_blocks=500, measured_blocks=1500)  # 500 model steps
    # onnxruntime's Python wrapper keeps a small pool (~5 kB, +-1 object between calls); a leak of
    # even one small object per model step would add 16 kB here.
    assert abs(kept) < 512, f"{kept} bytes kept over 1500 blocks"
    assert passing < 2048, f"a block allocated {passing} bytes in passing"


def test_the_model_thread_keeps_ahead_and_stops_on_close(tmp_path: Path) -> None:
    made = rnn_models.engine(tmp_path / "t.bundle", sample_rate=RATE, threaded=True)
    deadline = time.monotonic() + 5.0
    while made.frames_made < 1 and time.monotonic() < deadline:
        time.sleep(0.001)
    assert made.frames_made >= 1  # made before any audio was asked for
    out = np.zeros(64, dtype=np.float32)
    made.render_into(out)
    assert made.frames_held == 0 and made.model_thread_error is None
    thread = made._thread
    made.close()
    assert thread is not None and not thread.is_alive()


def test_random_jumps_at_any_rate_and_block_size_stay_in_bounds(tmp_path: Path) -> None:
    from .rnn_extremes import exercise

    assert exercise(tmp_path, steps=30) <= 10 ** (-1 / 20)  # the default ceiling


def test_the_synth_never_reads_or_writes_outside_its_arrays(tmp_path: Path) -> None:
    """The same drive with numba's bounds checking compiled in (an out-of-range index raises)."""
    repo = Path(__file__).resolve().parents[3]
    env = {**os.environ, "NUMBA_BOUNDSCHECK": "1", "NUMBA_CACHE_DIR": str(tmp_path / "numba-cache"),
           "PYTHONPATH": str(repo)}
    done = subprocess.run([sys.executable, "-m", "tests.device.engine.rnn_extremes", str(tmp_path)],
                          cwd=repo, env=env, capture_output=True, text=True, timeout=280)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.startswith("peak ")


def test_the_ceiling_can_move_while_playing(engine: RnnEngine) -> None:
    engine.set_params(gain=4.0)
    _render(engine, 20 * FRAME)
    engine.set_ceiling(10 ** (-20 / 20))
    assert engine.ceiling <= 0.1
    assert np.max(np.abs(_render(engine, 20 * FRAME))) <= engine.ceiling
    with pytest.raises(EngineError, match="ceiling must be a linear level"):
        engine.set_ceiling(2.0)


def test_the_model_thread_takes_its_real_time_class_or_says_why_not(tmp_path: Path) -> None:
    from device.audio.realtime import MODEL_PRIORITY

    made = rnn_models.engine(tmp_path / "rt.bundle", sample_rate=RATE, threaded=True,
                             realtime_priority=MODEL_PRIORITY)
    try:
        assert made.frames_made >= 1  # it plays either way
        if made.realtime_problem is None:
            assert made.model_thread_scheduling == f"SCHED_RR {MODEL_PRIORITY}"
        else:
            assert made.model_thread_scheduling == "SCHED_OTHER 0"
            assert f"real-time priority {MODEL_PRIORITY} refused" in made.realtime_problem
    finally:
        made.close()


def test_a_refused_real_time_class_is_kept_for_the_report_and_the_model_plays_on(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import device.engine.rnn as rnn_module

    asked: list[int] = []

    def refuse(priority: int) -> str:
        asked.append(priority)
        return f"real-time priority {priority} refused (test)"

    monkeypatch.setattr(rnn_module, "promote_current_thread", refuse)
    made = rnn_models.engine(tmp_path / "no.bundle", sample_rate=RATE, threaded=True, realtime_priority=7)
    try:
        assert asked == [7] and made.realtime_problem == "real-time priority 7 refused (test)"
        assert made.frames_made >= 1 and made.model_thread_error is None
    finally:
        made.close()


def test_without_a_priority_the_model_thread_stays_in_the_normal_class(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import device.engine.rnn as rnn_module

    def never(priority: int) -> str:
        raise AssertionError(f"promoted to {priority} without being asked")

    monkeypatch.setattr(rnn_module, "promote_current_thread", never)
    made = rnn_models.engine(tmp_path / "n.bundle", sample_rate=RATE, threaded=True)
    try:
        assert made.frames_made >= 1 and made.realtime_problem is None and made.model_thread_error is None
        assert made.model_thread_scheduling is not None
    finally:
        made.close()


@pytest.mark.parametrize("priority", [0, 100, 2.5, True])
def test_a_real_time_priority_outside_1_to_99_is_refused(tmp_path: Path, priority: object) -> None:
    from device.bundle.reader import open_bundle
    from device.bundle.rnn_format import rnn_model

    rnn_models.write(tmp_path / "p.bundle", "ok")
    with open_bundle(tmp_path / "p.bundle") as bundle:
        spec, model = rnn_model(bundle)
        with pytest.raises(EngineError, match=r"realtime_priority must be an integer in 1\.\.99"):
            RnnEngine(spec, model, threaded=True, realtime_priority=priority)  # type: ignore[arg-type]


def test_the_engine_step_is_the_model_run_over_its_bound_arrays(engine: RnnEngine) -> None:
    """The step's direct call gives exactly what the public onnxruntime call gives on the same arrays."""
    engine.set_point((0.3, 0.7))
    engine._cond[0, 0, :] = engine._inputs[:4]
    state = engine._state
    state[...] = np.linspace(-0.5, 0.5, state.size, dtype=np.float32).reshape(state.shape)
    engine._run_model()
    direct = engine._raw.copy(), engine._state_out.copy()
    engine._raw[...] = 0.0
    engine._state_out[...] = 0.0
    engine._session.run_with_iobinding(engine._binding)
    assert np.array_equal(direct[0], engine._raw) and np.array_equal(direct[1], engine._state_out)
    assert np.any(direct[0] != 0.0)
