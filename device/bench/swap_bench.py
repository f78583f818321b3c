"""`latent bench swap`: flashes and hot swaps while the whole instrument plays (bench layer).

Installs the first of two or more bundles (the shipped ones by default) into a fresh temporary
model store and plays it live exactly as `latent play --store` does: simulated chips through the
real drivers polled by the control thread, the model watcher, the engine rendering in the
output's render thread. After a warm-up and one steady window, every --every seconds it moves
to the next bundle: the first time a bundle comes up it is flashed (`latent install FILE`: copied into the
store's staging area, verified, synced and activated), later times it is re-activated (`latent
models activate`). Those commands run in separate processes, as on the device, where sshd or the
serial receiver starts them; they are started by a helper process launched before the stream,
because forking from the playing process would add a cost of its own that the instrument never
pays.

For each window it reports the underruns, the blocks delivered against those the device's
clock calls for (a skipped block shows as a shortfall), the longest render; for each
swap, how long the command took and how long after it returned the crossfade was complete.
`--realtime` runs the instrument's threads in a real-time class, as the service does (see
`device.audio.realtime`); compare a run with and without it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from device.engine.params import DEFAULT_SAMPLE_RATE
from device.errors import ConfigError, InstrumentError
from device.files import file_sha256

NAME = "swap"
HELP = "flash and hot-swap bundles while the instrument plays; count underruns and skipped blocks"

SHIPPED_MODELS = Path(__file__).resolve().parents[2] / "models"
DEFAULT_BUNDLES = (SHIPPED_MODELS / "additive-timbre.bundle", SHIPPED_MODELS / "gan-tiny.bundle")
SWAP_TIMEOUT_S = 10.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default=None, help="output device index or part of its name")
    parser.add_argument("--bundles", nargs="+", type=Path, default=list(DEFAULT_BUNDLES), metavar="FILE",
                        help="bundles to swap between, in turn (default: the shipped ones)")
    parser.add_argument("--swaps", type=int, default=4, help="how many swaps")
    parser.add_argument("--every", type=float, default=2.0,
                        help="seconds per window: the steady one, and each swap's")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds ignored at the start")
    parser.add_argument("--sample-rate", type=int, default=DEFAULT_SAMPLE_RATE,
                        help="output rate in Hz (default: %(default)s)")
    parser.add_argument("--block-frames", type=int, default=64,
                        help="frames per block (default: %(default)s)")
    parser.add_argument("--fade", type=float, default=0.1, help="crossfade length in seconds")
    parser.add_argument("--realtime", action="store_true",
                        help="run the instrument's threads in a real-time class, as `latent play --realtime`")


def settings_from(argv: list[str]) -> argparse.Namespace:
    """The bench's settings from command-line words (for callers other than the CLI)."""
    parser = argparse.ArgumentParser(prog=f"latent bench {NAME}")
    add_arguments(parser)
    return parser.parse_args(argv)


@dataclass
class Window:
    """What the stream did from one snapshot of its counters to the next."""

    label: str
    underruns: int
    blocks: int
    blocks_due: float
    render_max_ms: float
    errors: int

    def as_dict(self) -> dict[str, Any]:
        return {"window": self.label, "underruns": self.underruns, "blocks": self.blocks,
                "blocks_due": round(self.blocks_due, 1), "render_max_ms": self.render_max_ms,
                "errors": self.errors}


def check_settings(args: argparse.Namespace) -> list[str]:
    """Refuse settings the bench cannot run; returns the bundles' sha256s, in order."""
    if not 1 <= args.swaps <= 1000:
        raise ConfigError("--swaps must be between 1 and 1000")
    if not args.fade + 0.2 < args.every <= 600.0:
        raise ConfigError(f"--every must leave room for the {args.fade:g} s crossfade and the load "
                          f"(more than {args.fade + 0.2:g} s) and be at most 600 s")
    if not 0.0 <= args.warmup <= 60.0:
        raise ConfigError("--warmup must be between 0 and 60 s")
    if len(args.bundles) < 2:
        raise ConfigError("--bundles needs at least two bundles to swap between")
    for bundle in args.bundles:
        if not Path(bundle).is_file():
            raise ConfigError(f"bundle {bundle} not found; pass existing bundle files to --bundles")
    digests = [file_sha256(bundle) for bundle in args.bundles]
    if len(set(digests)) != len(digests):
        raise ConfigError("--bundles lists the same bundle twice; give distinct bundles")
    return digests


class CommandRunner:
    """Runs `latent ...` commands on request, from a helper process started before the stream.

    The playing process only writes a line to the helper; the helper starts the command, so
    no process is forked from the playing one (see the module docstring).
    """

    def __init__(self) -> None:
        self._helper = subprocess.Popen([sys.executable, "-m", "device.bench.swap_bench"],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def run(self, *argv: str) -> float:
        """Run `latent ARGV...` in its own process; returns how long it took, raises if it failed."""
        assert self._helper.stdin is not None and self._helper.stdout is not None
        self._helper.stdin.write(json.dumps(list(argv)) + "\n")
        self._helper.stdin.flush()
        line = self._helper.stdout.readline()
        if not line:
            raise InstrumentError("the helper process that runs `latent` commands for the bench died")
        answer = json.loads(line)
        if answer["returncode"] != 0:
            raise InstrumentError(f"`latent {' '.join(argv)}` failed: {answer['stderr']}")
        return float(answer["seconds"])

    def close(self) -> None:
        if self._helper.stdin is not None:
            self._helper.stdin.close()
        try:
            self._helper.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._helper.kill()
            self._helper.wait()
        if self._helper.stdout is not None:
            self._helper.stdout.close()


def bring_up(runner: CommandRunner, bundle: Path, digest: str, installed: set[str],
             store_dir: Path) -> tuple[str, float]:
    """Make `bundle` the store's active one from another process, as a flash does on the device:
    installed (`latent install`) the first time it comes up, re-activated (`latent models
    activate`) after that. Returns the command used and how long it took; `installed` is updated."""
    store_arg = ("--store", str(store_dir))
    if digest in installed:
        return "activate", runner.run("models", "activate", digest, *store_arg)
    took = runner.run("install", str(bundle), "--allow-unsigned", *store_arg)
    installed.add(digest)
    return "install", took


def _serve_commands() -> None:
    """The helper's loop: a JSON list of `latent` arguments per line in, a JSON answer per line out."""
    for line in sys.stdin:
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "device.cli", *json.loads(line)],
                              capture_output=True, text=True, timeout=120)
        print(json.dumps({"returncode": done.returncode, "stderr": done.stderr.strip(),
                          "seconds": time.perf_counter() - started}), flush=True)


def run(args: argparse.Namespace) -> dict[str, Any]:
    digests = check_settings(args)
    with tempfile.TemporaryDirectory(prefix="latent-swap-bench-") as tmp:
        return measure_swaps(Path(tmp), args, digests)


def measure_swaps(store_dir: Path, args: argparse.Namespace, digests: list[str]) -> dict[str, Any]:
    """Play from `store_dir` with args.bundles[0] active and swap args.swaps times (see module doc).

    `digests`: the sha256 of each of args.bundles, as `check_settings` returns them.
    """
    from device.app.play import PlaySettings, live_output_and_control, open_live_rig
    from device.store.store import InstallOptions, ModelStore

    bundles = [Path(bundle) for bundle in args.bundles]
    # Unsigned bundles are accepted: a bench's own store, not the service's.
    ModelStore(store_dir).install_file(bundles[0], options=InstallOptions(allow_unsigned=True))
    installed = {digests[0]}
    settings = PlaySettings(store=store_dir, block_frames=args.block_frames, sample_rate=args.sample_rate,
                            device=args.device, realtime=args.realtime)
    messages: list[str] = []
    runner = CommandRunner()  # before the rig and the stream: see its docstring
    rig, watcher = open_live_rig(settings, messages.append)
    watcher.fade_s = args.fade
    output, control = live_output_and_control(rig, settings)
    windows: list[Window] = []
    swaps: list[dict[str, Any]] = []

    def close_window(label: str, started: Any) -> None:
        done = output.stats
        windows.append(Window(label, done.underruns - started.underruns, done.blocks - started.blocks,
                              done.blocks_due - started.blocks_due,
                              round(done.max_render_s * 1e3, 4), done.errors - started.errors))
        output.reset_peaks()

    try:
        control.start()
        with output.start(rig.instrument):
            watcher.start()
            time.sleep(args.warmup)
            output.reset_peaks()
            started = output.stats
            time.sleep(args.every)
            close_window("steady", started)
            for i in range(args.swaps):
                target = (i + 1) % len(bundles)
                started, t0 = output.stats, time.perf_counter()
                done_before = rig.instrument.swaps
                command, took = bring_up(runner, bundles[target], digests[target], installed, store_dir)
                returned = time.perf_counter()
                while rig.instrument.swaps == done_before:
                    if watcher.errors or time.perf_counter() - returned > SWAP_TIMEOUT_S:
                        raise InstrumentError(f"swap {i + 1} to {bundles[target].name} did not complete "
                                              f"within {SWAP_TIMEOUT_S:g} s: {watcher.errors or messages}")
                    time.sleep(0.005)
                swaps.append({"to": bundles[target].name, "command": command, "command_s": round(took, 3),
                              "crossfade_done_ms": round((time.perf_counter() - returned) * 1e3, 1)})
                time.sleep(max(0.0, args.every - (time.perf_counter() - t0)))
                close_window(f"swap {i + 1}", started)
    finally:
        watcher.stop()
        control.stop()
        rig.close()
        runner.close()
    return _summary(args, output, control, watcher, windows, swaps)


def _summary(args: argparse.Namespace, output: Any, control: Any, watcher: Any, windows: list[Window],
             swaps: list[dict[str, Any]]) -> dict[str, Any]:
    from device.app.play import realtime_problem

    assert output.device is not None
    problem = realtime_problem(output, control, watcher)
    steady = [w for w in windows if w.label == "steady"]
    swapping = [w for w in windows if w.label != "steady"]
    return {
        "device": output.device.describe(),
        "sample_rate": args.sample_rate,
        "block_frames": args.block_frames,
        "fade_s": args.fade,
        "realtime": bool(args.realtime and problem is None),
        "realtime_problem": problem,
        "audio_thread": output.audio_thread_scheduling,
        "swaps": len(swaps),
        "rollbacks": watcher.rollbacks,
        "watcher_errors": len(watcher.errors),
        "control_errors": control.errors,
        "steady_underruns": sum(w.underruns for w in steady),
        "swap_underruns": sum(w.underruns for w in swapping),
        "blocks": sum(w.blocks for w in windows),
        "blocks_due": round(sum(w.blocks_due for w in windows), 1),
        "errors": sum(w.errors for w in windows),
        "render_max_ms_steady": max((w.render_max_ms for w in steady), default=0.0),
        "render_max_ms_swaps": max((w.render_max_ms for w in swapping), default=0.0),
        "crossfade_done_ms_max": max(s["crossfade_done_ms"] for s in swaps),
        "command_s_max": max(s["command_s"] for s in swaps),
        "windows": [w.as_dict() for w in windows],
        "swap_log": swaps,
    }


if __name__ == "__main__":
    _serve_commands()
