"""`latent bench xruns`: the whole instrument's dropouts beside a C client's, in one run (bench).

Starts a private JACK server with the dummy driver (or plays on `--device`, without a reference)
and `jack_metro`, a C client from jackd2, on it; optionally N busy processes at normal priority;
then plays the whole instrument as `latent play --store` does: simulated chips through the real
drivers and the real polling loop, the demo gesture, the model watcher, and a flash or
re-activation from another process every `--swap-every` seconds. After a warm-up it counts, over
the same minutes:

- ours: the cycles jackd reports our client ("PortAudio") not finished in, plus, for the ring
  arrangement, the times the render thread found PortAudio's ring run dry (a gap jackd cannot
  see, because the device thread itself was on time);
- the reference's: the cycles jackd reports `jack_metro` not finished in;
- the machine's: the dummy driver's own late wake-ups (a stall nobody's code causes).

Plus blocks delivered against the device's clock, the longest render, the spacing of block
deliveries (p99, p99.9), the latency the output adds, the CPU the render thread used, and, after
the stream, the sensor-to-sound latency with the same block, render-ahead and device period
(`latent bench latency`: fake electrodes on a bus that takes a real bus's time).
`--arrangement callback` plays the same instrument through the old arrangement (Python in
PortAudio's callback), for the side-by-side figures in the README.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from device.audio.pyaudio_output import DEFAULT_RENDER_AHEAD_FRAMES
from device.bench.stream_figures import stream_figures
from device.engine.params import DEFAULT_SAMPLE_RATE
from device.errors import ConfigError, InstrumentError

NAME = "xruns"
HELP = "the whole instrument on a JACK dummy server beside a C client: underruns per minute of both"

OUR_CLIENT = "PortAudio"
BUSY_LOOP = "while True: pass"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seconds", type=float, default=60.0, help="measured time after warm-up")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds ignored at the start")
    parser.add_argument("--load", type=int, default=0,
                        help="busy processes at normal priority beside the instrument (e.g. one per core)")
    parser.add_argument("--swap-every", type=float, default=30.0,
                        help="seconds between flashes/re-activations from another process (0: none)")
    parser.add_argument("--arrangement", choices=("ring", "callback"), default="ring",
                        help="ring: render thread feeding PortAudio's ring (the instrument's); "
                             "callback: Python in PortAudio's callback (the old arrangement)")
    parser.add_argument("--sample-rate", type=int, default=DEFAULT_SAMPLE_RATE,
                        help="output rate in Hz (default: %(default)s)")
    parser.add_argument("--period-frames", type=int, default=64,
                        help="the JACK dummy server's period in frames (default: %(default)s)")
    parser.add_argument("--block-frames", type=int, default=64,
                        help="frames per rendered block (default: %(default)s)")
    parser.add_argument("--render-ahead-frames", type=int, default=DEFAULT_RENDER_AHEAD_FRAMES,
                        help="ring arrangement: frames kept queued ahead of the device "
                             "(default: %(default)s)")
    parser.add_argument("--realtime", action="store_true",
                        help="the instrument's threads in a real-time class, as the service runs them")
    parser.add_argument("--latency-touches", type=int, default=40,
                        help="touches for the sensor-to-sound measurement after the stream (0: skip)")
    parser.add_argument("--device", default=None,
                        help="play on this existing device instead of a private JACK dummy server "
                             "(no reference client then)")


def check_settings(args: argparse.Namespace) -> None:
    if not 1.0 <= args.seconds <= 24 * 3600.0 or not 0.0 <= args.warmup <= 60.0:
        raise ConfigError("--seconds must be between 1 and 86400, --warmup between 0 and 60")
    if not 0 <= args.load <= 64:
        raise ConfigError("--load must be between 0 and 64 busy processes")
    if args.swap_every and not 1.0 <= args.swap_every <= 3600.0:
        raise ConfigError("--swap-every must be 0 (no swaps) or between 1 and 3600 s")
    if not 0 <= args.latency_touches <= 1000:
        raise ConfigError("--latency-touches must be between 0 and 1000")
    if args.period_frames not in (16, 32, 64, 128, 256, 512, 1024):
        raise ConfigError("--period-frames must be a power of two from 16 to 1024 frames")


def run(args: argparse.Namespace) -> dict[str, Any]:
    check_settings(args)
    from device.bench.jack_server import JackServer

    if args.device is not None:
        return _measure(args, None, args.device)
    with JackServer(args.sample_rate, args.period_frames) as server:
        server.start_reference()
        return _measure(args, server, "system")


def _measure(args: argparse.Namespace, server: Any, device: str) -> dict[str, Any]:
    from device.app.play import PlaySettings, live_control, open_live_rig
    from device.bench.swap_bench import DEFAULT_BUNDLES, CommandRunner
    from device.files import file_sha256
    from device.store.store import InstallOptions, ModelStore

    bundles = list(DEFAULT_BUNDLES)
    digests = [file_sha256(bundle) for bundle in bundles]
    busy = [subprocess.Popen([sys.executable, "-c", BUSY_LOOP]) for _ in range(args.load)]
    runner = CommandRunner() if args.swap_every else None  # before the stream: see its docstring
    try:
        with tempfile.TemporaryDirectory(prefix="latent-xruns-") as store_dir:
            ModelStore(store_dir).install_file(bundles[0], options=InstallOptions(allow_unsigned=True))
            settings = PlaySettings(store=Path(store_dir), block_frames=args.block_frames,
                                    sample_rate=args.sample_rate,
                                    device=device, realtime=args.realtime,
                                    render_ahead_frames=args.render_ahead_frames)
            messages: list[str] = []
            rig, watcher = open_live_rig(settings, messages.append)
            output = _output(args, settings)
            control = live_control(rig, settings)
            try:
                control.start()
                output.start(rig.instrument)
                watcher.start()
                time.sleep(args.warmup)
                output.reset_peaks()
                mark = server.log_mark() if server is not None else 0
                before = output.stats
                process_cpu_before = time.process_time()
                swaps = _play_and_swap(args, runner, rig, watcher, digests, Path(store_dir))
                after = output.stats
                xruns = server.xruns_since(mark) if server is not None else None
                process_cpu = time.process_time() - process_cpu_before
            finally:
                watcher.stop()
                output.stop()
                control.stop()
                if not output.render_thread_alive:
                    rig.close()
    finally:
        for process in busy:
            process.kill()
            process.wait()
        if runner is not None:
            runner.close()
    result = _summary(args, output, control, watcher, before, after, xruns, swaps, process_cpu)
    if args.latency_touches:
        from device.bench.latency_bench import measure_latency

        measured = measure_latency(touches=args.latency_touches, block_frames=args.block_frames,
                                   sample_rate=args.sample_rate,
                                   # The callback output renders straight into the device's buffer.
                                   render_ahead_frames=max(after.render_ahead_frames, args.block_frames),
                                   device_period_frames=(args.period_frames if args.device is None
                                                         else args.block_frames),
                                   idle_s=0.5)
        result["sensor_to_sound_ms"] = measured["sensor_to_sound_ms"]
        result["sensor_to_sound_missed_touches"] = measured["missed_touches"]
    return result


def _output(args: argparse.Namespace, settings: Any) -> Any:
    """The output `latent play` uses, or for the old arrangement the callback output."""
    from device.app.play import live_output, realtime_priorities

    if args.arrangement == "ring":
        return live_output(settings)
    from device.audio.callback_output import CallbackOutput

    return CallbackOutput(sample_rate=settings.sample_rate, frames_per_buffer=settings.block_frames,
                          device=settings.device, channels=settings.channels,
                          realtime_priority=realtime_priorities(settings)["audio"])


def _play_and_swap(args: argparse.Namespace, runner: Any, rig: Any, watcher: Any, digests: list[str],
                   store_dir: Path) -> list[dict[str, Any]]:
    """Play for args.seconds, flashing or re-activating the next bundle every args.swap_every s."""
    from device.bench.swap_bench import DEFAULT_BUNDLES, bring_up

    swaps: list[dict[str, Any]] = []
    installed = {digests[0]}
    started = time.monotonic()
    end = started + args.seconds
    next_swap = started + args.swap_every if args.swap_every else end
    while True:
        now = time.monotonic()
        if now >= end:
            return swaps
        if now < next_swap:
            time.sleep(min(end, next_swap) - now)
            continue
        target = (len(swaps) + 1) % len(digests)
        command, took = bring_up(runner, DEFAULT_BUNDLES[target], digests[target], installed, store_dir)
        swaps.append({"at_s": round(now - started, 1), "command": command, "command_s": round(took, 3)})
        if watcher.errors:
            raise InstrumentError(f"the model watcher failed during the bench: {watcher.errors}")
        next_swap += args.swap_every


def _per_minute(count: float, seconds: float) -> float:
    return round(count * 60.0 / seconds, 2) if seconds > 0 else 0.0


def _summary(args: argparse.Namespace, output: Any, control: Any, watcher: Any, before: Any, after: Any,
             xruns: Any, swaps: list[dict[str, Any]], process_cpu: float) -> dict[str, Any]:
    from device.app.play import realtime_problem

    seconds = after.elapsed_s - before.elapsed_s
    gaps = after.underruns - before.underruns
    ours_jack = xruns.client_count(OUR_CLIENT) if xruns is not None else 0
    # Under JACK the callback output's underflow flags are set by anyone's xrun: jackd's naming is ours.
    ours = ours_jack + (gaps if args.arrangement == "ring" else 0)
    reference = xruns.client_count("metro") if xruns is not None else None
    problem = realtime_problem(output, control, watcher)
    result: dict[str, Any] = {
        "arrangement": args.arrangement,
        "device": output.device.describe() if output.device else None,
        "sample_rate": args.sample_rate,
        "jack_period_frames": args.period_frames if args.device is None else None,
        "block_frames": args.block_frames,
        "busy_processes": args.load,
        "realtime": bool(args.realtime and problem is None),
        "realtime_problem": problem,
        "swaps": len(swaps),
        "ours": {"underruns": ours, "per_minute": _per_minute(ours, seconds), "jack_named": ours_jack,
                 "ring_ran_dry": gaps if args.arrangement == "ring" else None},
        "reference": None if reference is None else {
            "client": "jack_metro", "underruns": reference, "per_minute": _per_minute(reference, seconds)},
        "machine": None if xruns is None else {
            "driver_late_wakeups": xruns.driver, "per_minute": _per_minute(xruns.driver, seconds)},
        "ours_within_reference": None if reference is None else ours <= reference,
        **stream_figures(before, after),
        "process_cpu_percent": round(100.0 * process_cpu / seconds, 2) if seconds > 0 else 0.0,
        "control_polls_per_s": round(control.polls / max(seconds + args.warmup, 1e-9), 1),
        "control_errors": control.errors,
        "model_swaps": watcher.swaps,
        "watcher_errors": len(watcher.errors),
        "device_lost": after.device_lost,
        "swap_log": swaps,
    }
    return result
