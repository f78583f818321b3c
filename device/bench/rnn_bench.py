"""`latent bench rnn`: what the rnn engine costs and how fast it answers (bench layer).

- Real-time factor on one thread: audio seconds rendered per CPU second by the synchronous engine
  (model and synth on the calling thread; onnxruntime on 1 intra-op thread), while the point,
  pitch and gain sweep.
- The model's step: one frame as the engine makes it, the onnxruntime call through the engine's
  bound inputs (the graph ends at the head's raw outputs) and the compiled output stage that makes
  them controls in the synth's ring (device/engine/rnn_stage.py), timed together (median and p90
  microseconds).
- Side by side with eager PyTorch: the same whole model (its output stage included) stepped one
  frame per call on 1 thread, from the host's `latent.bench_references` entry point `rnn` (absent
  on a device-only install). This shared VM drifts between speeds over seconds, so the two are
  timed in interleaved rounds (ours, then eager, `ROUNDS` times) and the ratio is the median of
  the rounds' ratios: each ratio compares the two at the same moment.
- The synth alone: microseconds per block of frames the model made beforehand.
- Control response: in the threaded engine, paced at real time as a sound card would take it,
  the time from a change of the point to the output sample where the synth starts moving toward
  the first frame made with it; the model thread's late frames (`frames_held`) beside it.
- RSS of the process once all that ran (before the eager reference, which loads torch).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import resource
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from device.engine.params import DEFAULT_SAMPLE_RATE

NAME = "rnn"
HELP = "rnn engine: real-time factor on one thread, model step (onnxruntime vs eager), control response, RSS"
EXAMPLES = ("latent bench rnn", "latent bench rnn --bundle models/rnn-medium.bundle --seconds 5 --json")

DEFAULT_BUNDLE = Path(__file__).resolve().parents[2] / "models" / "rnn-medium.bundle"
TARGET_RTF = 20.0
TARGET_EAGER_RATIO = 10.0
TARGET_RESPONSE_MS = 10.0
REFERENCE_GROUP = "latent.bench_references"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bundle", type=Path, default=DEFAULT_BUNDLE,
                        help="rnn bundle to play (default: %(default)s)")
    parser.add_argument("--seconds", type=float, default=5.0,
                        help="seconds of audio for the real-time factor, and of paced play for the "
                             "response (default: %(default)s)")
    parser.add_argument("--sample-rate", type=int, default=DEFAULT_SAMPLE_RATE,
                        help="output rate in Hz (default: %(default)s)")
    parser.add_argument("--block-frames", type=int, default=64,
                        help="frames per rendered block (default: %(default)s)")
    parser.add_argument("--lead-frames", type=float, default=None,
                        help="control frames the model thread keeps ahead (default: the engine's)")


def _percentiles(values_us: list[float]) -> dict[str, float]:
    ordered = sorted(values_us)
    return {"p50_us": round(statistics.median(ordered), 2),
            "p90_us": round(ordered[int(0.9 * (len(ordered) - 1))], 2),
            "max_us": round(ordered[-1], 2)}


def _engine(bundle_path: Path, args: argparse.Namespace, *, threaded: bool) -> Any:
    from device.bundle.reader import open_bundle
    from device.bundle.rnn_format import rnn_model
    from device.engine.rnn import DEFAULT_LEAD_FRAMES, RnnEngine

    bundle = open_bundle(bundle_path)
    spec, model = rnn_model(bundle)
    lead = DEFAULT_LEAD_FRAMES if args.lead_frames is None else args.lead_frames
    engine = RnnEngine(spec, model, sample_rate=args.sample_rate, threaded=threaded, lead_frames=lead,
                       bundle=bundle)
    engine.warm_up()
    return engine


def _sweep(engine: Any, phase: float) -> None:
    engine.set_point((phase, 1.0 - phase))
    engine.set_pitch(48.0 + 24.0 * phase)
    engine.set_params(gain=0.3 + 0.7 * abs(float(np.sin(np.pi * 3 * phase))))


def measure_rtf(bundle: Path, args: argparse.Namespace) -> dict[str, Any]:
    engine = _engine(bundle, args, threaded=False)
    try:
        out = np.zeros(args.block_frames, dtype=np.float32)
        blocks = max(1, round(args.seconds * args.sample_rate / args.block_frames))
        for _ in range(200):
            engine.render_into(out)
        cpu = time.thread_time_ns()
        for i in range(blocks):
            if i % 32 == 0:
                _sweep(engine, i / blocks)
            engine.render_into(out)
        cpu_s = (time.thread_time_ns() - cpu) / 1e9
        audio_s = blocks * args.block_frames / args.sample_rate
        return {"real_time_factor": round(audio_s / cpu_s, 1), "seconds": round(audio_s, 2),
                "cpu_s": round(cpu_s, 3), "model_faults": engine.model_faults,
                "spec": {"hidden": engine.spec.hidden, "layers": engine.spec.layers,
                         "harmonics": engine.spec.harmonics, "noise_bands": engine.spec.noise_bands,
                         "quantization": engine.spec.quantization}}
    finally:
        engine.close()


def measure_steps(bundle: Path, args: argparse.Namespace, frames: int = 2000) -> dict[str, Any]:
    """The model's step (onnxruntime call + output stage) through the engine's binding, and the synth
    alone on frames made beforehand."""
    from device.engine.harmonic_synth import R_AMP, R_F0, RING_SLOTS, HarmonicSynth

    engine = _engine(bundle, args, threaded=False)
    try:
        steps: list[float] = []
        rows: list[tuple[float, np.ndarray]] = []
        ring, sync = engine._synth.ring, engine._synth.sync
        for i in range(frames + 100):
            _sweep(engine, (i % 500) / 500)
            start = time.perf_counter_ns()
            engine._step()  # exactly what the engine runs per frame: the model, the stage, the ring
            elapsed = time.perf_counter_ns() - start
            if i >= 100:
                steps.append(elapsed / 1000.0)
                row = ring[(int(sync[0]) - 1) % RING_SLOTS]  # nobody renders this engine: rows wrap
                rows.append((float(row[R_F0]), row[R_AMP:].astype(np.float32)))
        spec = engine.spec
        synth = HarmonicSynth(output_rate=args.sample_rate, model_rate=spec.sample_rate,
                              frame_hop=spec.frame_hop, harmonics=spec.harmonics,
                              noise_bands=spec.noise_bands, nyquist_hz=spec.nyquist_hz)
        out = np.zeros(args.block_frames, dtype=np.float32)
        block_us: list[float] = []
        fed = 0
        while fed < len(rows) - RING_SLOTS:
            while synth.frames_written < synth.frames_taken + RING_SLOTS - 2:
                f0, controls = rows[fed]
                synth.write_frame(0, f0, controls)
                fed += 1
            start = time.perf_counter_ns()
            synth.render(out, 0, True)
            block_us.append((time.perf_counter_ns() - start) / 1000.0)
        return {"model_step": _percentiles(steps),
                "model_step_what": "one frame: onnxruntime call (to the raw head outputs) + the compiled "
                                   "output stage into the synth's ring, as RnnEngine._step",
                "synth_block": _percentiles(block_us[50:]),
                "frames": frames}
    finally:
        engine.close()


def measure_response(bundle: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Paced at real time: change the point every ~100 ms and time when the sound starts to follow."""
    engine = _engine(bundle, args, threaded=True)
    try:
        rate, block = args.sample_rate, args.block_frames
        out = np.zeros(block, dtype=np.float32)
        blocks = max(1, round(args.seconds * rate / block))
        # About every 100 ms, a block more than a whole number of frames: changes land at every phase.
        every = max(1, round(0.1 * rate / block)) + 1
        pending: list[tuple[int, int]] = []
        responses: list[float] = []
        start = time.perf_counter()
        for i in range(blocks):
            if i % every == every // 2:
                engine.set_point((0.2, 0.8) if (i // every) % 2 else (0.8, 0.2))
                pending.append((engine.generation, engine.samples_rendered))
            engine.render_into(out)
            for generation, at in list(pending):
                onset = engine.onset_of(generation)
                if onset is not None:
                    # The first block that reflects it is the one holding that sample; it is heard
                    # once that block is out: count to the block's end.
                    block_end = (onset // block + 1) * block
                    responses.append(1000.0 * (block_end - at) / rate)
                    pending.remove((generation, at))
            wait = start + (i + 1) * block / rate - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
        ordered = sorted(responses)
        return {"response_ms": {"p50": round(statistics.median(ordered), 2),
                                "p90": round(ordered[int(0.9 * (len(ordered) - 1))], 2),
                                "max": round(ordered[-1], 2)} if ordered else None,
                "changes": len(responses), "frames_held": engine.frames_held,
                "frames_made": engine.frames_made, "lead_frames": engine._lead}
    finally:
        engine.close()


ROUNDS = 12
ROUND_STEPS = 150


def _timed_steps(step: Any, count: int) -> list[float]:
    times = []
    for _ in range(count):
        start = time.perf_counter_ns()
        step()
        times.append((time.perf_counter_ns() - start) / 1000.0)
    return times


def eager_reference(bundle: Path, args: argparse.Namespace, rounds: int = ROUNDS,
                    steps: int = ROUND_STEPS) -> dict[str, Any] | str:
    """Our step and the eager one in interleaved rounds (see the module docstring)."""
    found = [ep for ep in importlib.metadata.entry_points(group=REFERENCE_GROUP) if ep.name == NAME]
    if not found:
        return "not installed (host extra)"
    eager = found[0].load()(bundle)
    engine = _engine(bundle, args, threaded=False)
    try:
        _timed_steps(eager.step, 20)
        _timed_steps(engine._step, 20)
        ratios, ours_all, eager_all = [], [], []
        for _ in range(rounds):
            ours = _timed_steps(engine._step, steps)
            theirs = _timed_steps(eager.step, steps)
            ratios.append(statistics.median(theirs) / statistics.median(ours))
            ours_all += ours
            eager_all += theirs
    finally:
        engine.close()
        eager.close()
    return {"model": eager.description, "rounds": rounds, "steps_per_round": steps,
            "eager_step": _percentiles(eager_all), "our_step": _percentiles(ours_all),
            "ratio_median": round(statistics.median(ratios), 1),
            "ratio_range": [round(min(ratios), 1), round(max(ratios), 1)]}


def run(args: argparse.Namespace) -> dict[str, Any]:
    from device.errors import BundleError

    bundle = args.bundle
    if not bundle.exists():
        raise BundleError(f"{bundle}: no such rnn bundle; build one with `latent rnn export` or pass "
                          "--bundle")
    rtf = measure_rtf(bundle, args)
    steps = measure_steps(bundle, args)
    response = measure_response(bundle, args)
    rss = _rss_bytes()  # before the eager reference, which may bring torch into this process
    eager = eager_reference(bundle, args)
    result: dict[str, Any] = {"bundle": str(bundle), "sample_rate": args.sample_rate,
                              "block_frames": args.block_frames, **rtf, **steps, **response}
    if isinstance(eager, dict):
        result["eager_reference"] = eager
        result["target_eager_ratio"] = TARGET_EAGER_RATIO
        result["meets_eager_ratio"] = eager["ratio_median"] >= TARGET_EAGER_RATIO
    else:
        result["eager_reference"] = eager
    result["rss_bytes"] = rss
    result["target_real_time_factor"] = TARGET_RTF
    result["meets_real_time_factor"] = rtf["real_time_factor"] >= TARGET_RTF
    result["target_response_ms"] = TARGET_RESPONSE_MS
    result["meets_response"] = bool(response["response_ms"]) and \
        response["response_ms"]["max"] <= TARGET_RESPONSE_MS
    return result


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()
