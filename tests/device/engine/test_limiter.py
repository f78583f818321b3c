"""The engine's output limiter: no bank or setting gets past the ceiling, quiet material passes
bit for bit, the gain comes back after a burst, and NaN or inf plays as counted silence."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from device.bundle.reader import SegmentBank
from device.engine import kernel
from device.engine.granular import GranularEngine
from device.engine.kernel import limit
from device.engine.limiter import (
    DEFAULT_CEILING,
    LIMITER_HOLD_MS,
    LIMITER_RELEASE_MS,
    MIN_CEILING,
    ceiling_from_dbfs,
    float32_ceiling,
    hold_samples,
    release_factor,
)
from device.engine.state import F_LIMIT_GAIN, S_BLOCK_NONFINITE, S_LIMITED, allocate_state
from device.errors import EngineError

from .allocations import render_allocations
from .banks import midi_hz, sine_bank

RATE = 48000
BLOCK_SIZES = (64, 1, 333, 4096, 7)


@pytest.fixture(params=["int16", "mulaw8"])
def bank(tmp_path: Path, request: pytest.FixtureRequest) -> SegmentBank:
    """A 3x2 grid at two pitches, every segment a sine peaking at 0.8."""
    return sine_bank(tmp_path / f"{request.param}.bundle", steps=(3, 2), pitches=[48, 60],
                     codec=request.param, seconds=0.5,
                     frequency=lambda g, p: midi_hz(48 + 12 * p) * (1 + 0.1 * g[0] + 0.05 * g[1]))


def scaled(bank: SegmentBank, scales: np.ndarray | float) -> SegmentBank:
    """The same codes with other per-segment scales (what a hostile or broken bundle could carry)."""
    return dataclasses.replace(bank, scales=np.broadcast_to(np.float32(scales), bank.scales.shape).copy())


def render_blocks(engine: GranularEngine, seconds: float,
                  render: Callable[[np.ndarray], None] | None = None) -> np.ndarray:
    """`seconds` of output through render_into (or `render`) in blocks of varied sizes."""
    total = round(seconds * RATE)
    pieces = []
    done = 0
    i = 0
    while done < total:
        block = np.zeros(min(BLOCK_SIZES[i % len(BLOCK_SIZES)], total - done), dtype=np.float32)
        (render or engine.render_into)(block)
        pieces.append(block)
        done += block.size
        i += 1
    return np.concatenate(pieces)


def limiter_state(ceiling: float, release: float, hold: int = 0) -> tuple[np.ndarray, np.ndarray]:
    state = allocate_state(steps=(2,), n_pitches=1, frames=64, lookup=False, ramp_samples=1,
                           max_grains=8, seed=0, ceiling=ceiling, release=release, hold_samples=hold)
    return state.si, state.sf


# ----- the ceiling holds ---------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["mix", "scatter"])
def test_scales_of_1000_never_pass_the_ceiling(bank: SegmentBank, mode: str) -> None:
    engine = GranularEngine(scaled(bank, 1000.0), sample_rate=RATE, seed=3)
    engine.set_point((0.3, 0.7))
    engine.set_params(gain=4.0, overlap=16.0, grain_ms=60.0, jitter=0.5, mode=mode)
    out = render_blocks(engine, 2.0)

    assert engine.ceiling <= DEFAULT_CEILING == pytest.approx(10 ** (-1 / 20))
    assert np.all(np.isfinite(out))
    assert float(np.max(np.abs(out))) <= engine.ceiling
    # Limited, not muted: the sound is still there, held at the ceiling's level.
    assert float(np.sqrt(np.mean(out[RATE // 10:] ** 2))) > 0.2 * engine.ceiling
    assert engine.limited_samples > len(out) // 2
    assert engine.limiter_gain < 0.01
    assert engine.nonfinite_samples == 0


@pytest.mark.parametrize("dbfs", [0.0, -6.0, -30.0])
def test_any_ceiling_holds_at_any_gain(bank: SegmentBank, dbfs: float) -> None:
    engine = GranularEngine(scaled(bank, 50.0), sample_rate=RATE, seed=1, ceiling=ceiling_from_dbfs(dbfs))
    for gain in (4.0, 0.3, 4.0):
        engine.set_params(gain=gain, overlap=8.0, jitter=1.0)
        out = render_blocks(engine, 0.3)
        assert float(np.max(np.abs(out))) <= engine.ceiling <= ceiling_from_dbfs(dbfs)
    assert engine.limited_samples > 0


def test_the_bound_is_exact_for_any_sample_magnitude() -> None:
    """Instant attack: a sample that would pass the ceiling lands on it, never above, for
    magnitudes from just over the ceiling to float32's largest."""
    ceiling = float32_ceiling(DEFAULT_CEILING)
    si, sf = limiter_state(ceiling, release_factor(RATE))
    rng = np.random.default_rng(0)
    # Ever louder, so every sample is over the ceiling even at the gain the one before left.
    magnitudes = np.sort(np.exp(rng.uniform(np.log(ceiling * 1.001), np.log(3e38), 20000))).astype(np.float32)
    out = magnitudes * rng.choice(np.array([-1.0, 1.0], dtype=np.float32), magnitudes.size)
    loud = out.copy()
    limit(out, si, sf)
    assert float(np.max(np.abs(out))) <= ceiling
    # Each lands on the ceiling (to float32 rounding), with its sign kept.
    assert np.all(np.abs(out) >= np.float32(ceiling) * np.float32(1 - 1e-6))
    assert np.array_equal(np.sign(out), np.sign(loud))
    assert int(si[S_LIMITED]) == out.size


# ----- quiet material is untouched -----------------------------------------------------------

def test_material_under_the_ceiling_passes_bit_for_bit(bank: SegmentBank,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Against the same engine rendered without the limiter at all: the block kernel run as
    Python (its helpers still compiled) with `limit` replaced by nothing."""
    limited = GranularEngine(bank, sample_rate=RATE, seed=7)
    unlimited = GranularEngine(bank, sample_rate=RATE, seed=7)
    for engine in (limited, unlimited):
        engine.set_point((0.6, 0.2))
        engine.set_params(gain=1.0, overlap=4.0, grain_ms=50.0, jitter=0.4)
    out = render_blocks(limited, 0.5)
    with monkeypatch.context() as patch:
        patch.setattr(kernel, "limit", lambda out, si, sf: None)
        reference = render_blocks(unlimited, 0.5,
                                  lambda block: kernel.render_block.py_func(block, *unlimited._kernel_args))
    assert 0.1 < float(np.max(np.abs(reference))) < limited.ceiling  # the premise: loud, but under
    assert np.array_equal(out, reference)
    assert limited.limited_samples == 0 and limited.limiter_gain == 1.0


def test_the_limiter_leaves_samples_under_the_ceiling_alone() -> None:
    ceiling = float32_ceiling(DEFAULT_CEILING)
    si, sf = limiter_state(ceiling, release_factor(RATE))
    rng = np.random.default_rng(1)
    signal = rng.uniform(-ceiling, ceiling, 48000).astype(np.float32)
    signal[::997] = np.float32(ceiling)  # exactly at the ceiling is still under it
    out = signal.copy()
    limit(out, si, sf)
    assert np.array_equal(out, signal)
    assert si.tolist() == limiter_state(ceiling, release_factor(RATE))[0].tolist()  # no counter moved


# ----- release -------------------------------------------------------------------------------

def test_the_gain_holds_then_returns_smoothly_after_a_burst() -> None:
    ceiling = float32_ceiling(DEFAULT_CEILING)
    release, hold = release_factor(RATE), hold_samples(RATE)
    si, sf = limiter_state(ceiling, release, hold)
    out = np.full(2 * RATE, 0.1, dtype=np.float32)
    out[0] = 100 * ceiling  # 40 dB over
    limit(out, si, sf)
    assert out[0] == pytest.approx(ceiling)
    gain = out[1:].astype(np.float64) / 0.1
    # Held at -40 dB for LIMITER_HOLD_MS...
    assert hold == round(LIMITER_HOLD_MS * RATE / 1000)
    np.testing.assert_allclose(gain[:hold], 0.01, rtol=1e-5)
    # ...then the reduction in dB decays exponentially with the release time constant.
    depth = np.log(100.0)
    expected = np.exp(-depth * release ** np.arange(1, RATE))
    np.testing.assert_allclose(gain[hold:hold + RATE - 1], expected, rtol=1e-5)
    tau = round(LIMITER_RELEASE_MS * RATE / 1000)
    assert -20 * np.log10(gain[hold + tau - 1]) == pytest.approx(40.0 / np.e, rel=1e-4)
    # Smooth: never falls back, never rises faster than its first step (0.2 % a sample).
    steps = np.diff(np.log(gain))
    assert np.all(steps >= -1e-6)
    assert float(np.max(steps)) <= 1.01 * depth * (1.0 - release)
    # Back to exactly unity (the snap), so the samples are untouched again.
    assert sf[F_LIMIT_GAIN] == 1.0 and np.all(out[-RATE // 2:] == np.float32(0.1))
    assert hold < int(si[S_LIMITED]) < 1.5 * RATE  # the release was counted, and it ended


def test_a_steady_loud_tone_is_turned_down_by_a_steady_gain() -> None:
    """The hold outlasts a 60 Hz period: after the first one the tone is scaled, not reshaped
    (a gain rippling at the tone's own frequency would be distortion)."""
    ceiling = float32_ceiling(DEFAULT_CEILING)
    si, sf = limiter_state(ceiling, release_factor(RATE), hold_samples(RATE))
    period = RATE // 60
    tone = (10.0 * np.sin(2 * np.pi * np.arange(RATE) / period)).astype(np.float32)
    out = tone.copy()
    limit(out, si, sf)
    gain = ceiling / float(np.max(np.abs(tone)))
    np.testing.assert_allclose(out[period:], tone[period:] * gain, rtol=1e-6, atol=1e-7)
    assert float(np.max(np.abs(out))) <= ceiling


def test_after_a_loud_burst_the_engine_sounds_as_if_it_never_happened(bank: SegmentBank) -> None:
    """Same seed, same control history, one with a burst at gain 4 over scales of 20: once the
    release is over the two renders are identical again, bit for bit."""
    loud_bank = scaled(bank, 20.0)
    burst = GranularEngine(loud_bank, sample_rate=RATE, seed=11)
    calm = GranularEngine(loud_bank, sample_rate=RATE, seed=11)
    for engine, gain in ((burst, 4.0), (calm, 0.001)):
        engine.set_params(gain=gain, overlap=6.0, grain_ms=40.0, jitter=0.3)
        render_blocks(engine, 0.3)
        engine.set_params(gain=0.002)  # quiet enough that neither is limited afterwards
    assert burst.limited_samples > 0.25 * RATE and calm.limited_samples == 0
    assert burst.limiter_gain < 0.1

    after, reference = render_blocks(burst, 1.5), render_blocks(calm, 1.5)
    quarter = RATE // 4
    assert burst.limiter_gain == 1.0
    # Held down once the gain ramp is over (20..30 ms), back within 1 dB from 0.35 s (hold, then
    # a 40 dB reduction released), identical once the release has ended.
    early, later = slice(RATE // 50, RATE * 3 // 100), slice(RATE * 35 // 100, RATE * 45 // 100)
    assert float(np.std(after[early])) < 0.1 * float(np.std(reference[early]))
    assert float(np.std(after[later])) > 10 ** (-1 / 20) * float(np.std(reference[later]))
    assert np.array_equal(after[-quarter:], reference[-quarter:])


# ----- NaN and infinity ----------------------------------------------------------------------

def test_infinite_scales_play_as_counted_silence(bank: SegmentBank) -> None:
    engine = GranularEngine(scaled(bank, np.inf), sample_rate=RATE)
    out = render_blocks(engine, 0.2)
    assert np.all(out == 0.0)
    # Every sample from the first grain on was NaN or inf before the limiter.
    assert 0 < engine.nonfinite_samples <= len(out)
    assert engine.nonfinite_samples >= len(out) - 64
    block = np.zeros(64, dtype=np.float32)
    engine.render_into(block)
    assert engine.last_block_nonfinite == 64


def test_a_fault_is_silenced_and_the_sound_fades_back_in(bank: SegmentBank) -> None:
    """One grid point's scale is infinite: playing it is silence, leaving it fades in (no NaN,
    no click), and the counters say how many samples were lost."""
    scales = np.array(bank.scales, dtype=np.float32)
    scales[2] = np.inf  # both pitches of the grid column x = 1
    engine = GranularEngine(dataclasses.replace(bank, scales=scales), sample_rate=RATE, seed=2)
    engine.set_params(grain_ms=20.0, overlap=2.0, jitter=0.0)
    engine.set_point((0.0, 0.0))
    healthy = render_blocks(engine, 0.2)
    assert engine.nonfinite_samples == 0 and float(np.max(np.abs(healthy))) > 0.1
    engine.set_point((1.0, 0.0))
    faulty = render_blocks(engine, 0.2)
    lost = engine.nonfinite_samples
    assert lost > 0.1 * RATE and engine.last_block_nonfinite > 0
    assert np.all(faulty[-RATE // 20:] == 0.0)
    engine.set_point((0.0, 0.0))
    back = render_blocks(engine, 0.5)
    assert engine.nonfinite_samples - lost < RATE // 20  # the faulty grains still sounding die out
    assert engine.last_block_nonfinite == 0
    assert np.all(np.isfinite(np.concatenate((healthy, faulty, back))))
    assert float(np.max(np.abs(back[-RATE // 10:]))) > 0.1  # sounding again
    # Faded in: no sample-to-sample jump beyond what the healthy sound has on its own.
    assert float(np.max(np.abs(np.diff(back)))) <= 1.05 * float(np.max(np.abs(np.diff(healthy))))


def test_nan_inf_in_a_block_become_zero_and_drop_the_gain() -> None:
    si, sf = limiter_state(float32_ceiling(DEFAULT_CEILING), release_factor(RATE))
    out = np.array([0.5, np.nan, 0.5, np.inf, -np.inf, 0.5], dtype=np.float32)
    limit(out, si, sf)
    assert out[0] == np.float32(0.5) and out[1] == out[3] == out[4] == 0.0
    assert 0.0 < out[2] < 0.001 and 0.0 < out[5] < 0.001  # from gain 0, one release step
    assert int(si[S_BLOCK_NONFINITE]) == 3


# ----- construction and allocation -----------------------------------------------------------

@pytest.mark.parametrize("ceiling", [0.0, -0.5, 1.0001, MIN_CEILING / 2, float("nan"), float("inf"),
                                     True, "1"])
def test_a_ceiling_out_of_range_is_refused(bank: SegmentBank, ceiling: object) -> None:
    with pytest.raises(EngineError, match="ceiling must be a linear level"):
        GranularEngine(bank, ceiling=ceiling)  # type: ignore[arg-type]


def test_the_ceiling_is_float32_exact_and_not_above_the_request(bank: SegmentBank) -> None:
    for requested in (DEFAULT_CEILING, 0.5, 1.0, MIN_CEILING, 0.7071067811865476):
        got = GranularEngine(bank, ceiling=requested).ceiling
        assert got <= requested and float(np.float32(got)) == got
        assert got == pytest.approx(requested, rel=1e-7)


def test_limiting_allocates_nothing(bank: SegmentBank) -> None:
    engine = GranularEngine(scaled(bank, 1000.0), max_grains=16)
    engine.set_params(overlap=8.0, grain_ms=30.0, jitter=0.5, gain=4.0)
    kept, passing = render_allocations(engine, settle_blocks=500, measured_blocks=2000)
    assert engine.limited_samples > 2000 * 64
    assert kept == 0, f"{kept} bytes kept over 2000 limited blocks"
    assert passing < 2048, f"a limited block allocated {passing} bytes in passing"
