"""`latent map record|train`: teach the instrument a mapping by example (app layer, CLI).

Wekinator's loop on the instrument: hold a pose, press a button, and that pose is paired with a
latent point; after a few dozen, `train` fits a regressor and writes a mapping file that
`latent play --map FILE` plays. `record` owns the sensors and the clock; the mapping layer's
`PoseRecorder` calibrates and averages, `pose_examples` keeps the file, `learned` fits.

A capture is triggered by Enter on the laptop, by the panel's preset button (with --sensors
i2c), or at fixed times (--at, e.g. with a gesture file driving the simulated sensors, which
then runs faster than real time).
"""

from __future__ import annotations

import argparse
import json
import os
import select
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from device.cli_options import add_json, add_quiet, examples
from device.errors import ConfigError

DEFAULT_WINDOW_S = 0.25
DEFAULT_POLL_HZ = 200.0
# --at without a capture finishing this long after its time: the inputs never gave fresh readings.
AT_GIVE_UP_S = 30.0


def register_actions(actions: argparse._SubParsersAction) -> None:
    """Add `record` and `train` to the `latent map` actions."""
    record = actions.add_parser(
        "record", help="pair held sensor poses with latent points or presets (for `latent map train`)",
        description="Calibrate the sensors (hands off at the start), then for each target hold a pose and "
                    "press Enter (or the preset button, with --sensors i2c): the pose, averaged over "
                    "--window seconds, is added to the examples file with the target's point or preset. "
                    "Targets are taken in turn, --takes times each. An existing file is added to.",
        **examples("latent map record --sensors i2c --out poses.json --target 0.1,0.1 --target 0.9,0.1 "
                   "--target cloud",
                   "latent map record --gesture poses.toml --at 2,4,6 --out poses.json --target 0,0 "
                   "--target 1,0 --target 0.5,1"))
    record.add_argument("--out", type=Path, required=True, help="examples file (.json) to create or add to")
    record.add_argument("--target", action="append", required=True, metavar="POINT|PRESET",
                        help="a latent point, one 0..1 coordinate per axis (e.g. 0.2,0.8), or the name of "
                             "a preset of the map; repeat for each")
    record.add_argument("--axes", help="latent axes the targets give (comma-separated; default 0,1,..)")
    record.add_argument("--inputs", help="channels that make up a pose (comma-separated; default: the "
                                         "sources of the map's [[axes]])")
    record.add_argument("--map", type=Path, dest="map_file",
                        help="mapping file whose calibration settings to use (default: the shipped map)")
    record.add_argument("--sensors", choices=("sim", "i2c"), default="sim",
                        help="simulated sensors (driven by --gesture) or the real chips on I2C")
    record.add_argument("--gesture", help="gesture file driving the simulated sensors (--sensors sim)")
    record.add_argument("--at", help="capture at these times (seconds from the start, comma-separated) "
                                     "instead of on a key press; one per capture")
    record.add_argument("--takes", type=int, default=1, help="captures per target (default 1)")
    record.add_argument("--window", type=float, default=DEFAULT_WINDOW_S,
                        help=f"seconds of frames averaged into one pose (default {DEFAULT_WINDOW_S:g})")
    record.add_argument("--poll-rate", type=float, default=DEFAULT_POLL_HZ, dest="poll_rate",
                        help=f"sensor polls per second (default {DEFAULT_POLL_HZ:g})")
    record.add_argument("--pins", type=Path, dest="pins_file",
                        help="pin map TOML (default: hardware/pins.toml)")
    record.add_argument("--seed", type=int, default=0, help="seed of the simulated sensors' noise")
    add_json(record)
    add_quiet(record, "no prompts or progress lines")
    record.set_defaults(func=_record)

    train = actions.add_parser(
        "train", help="fit a learned mapping to recorded examples and write a mapping file",
        description="Fit a regressor (linear + kernel ridge, width chosen by leave-one-out) from poses to "
                    "latent points, report its training and leave-one-out errors, and write a mapping file: "
                    "the direct map (--map, default the shipped one) with a [learned] section, for "
                    "`latent play --map FILE`.",
        **examples("latent map train poses.json --out learned.toml",
                   "latent map train poses.json --map mine.toml --out learned.toml --json"))
    train.add_argument("examples", type=Path, help="examples file from `latent map record`")
    train.add_argument("--out", type=Path, required=True, help="mapping file to write (replaced atomically)")
    train.add_argument("--map", type=Path, dest="map_file",
                       help="direct mapping to build on (default: the shipped map); may be a learned map")
    add_json(train)
    add_quiet(train, "no summary lines")
    train.set_defaults(func=_train)


# -- record ------------------------------------------------------------------------------------

class _VirtualClock:
    """Frame time for a simulated session driven by --at: advances per poll, never waits."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def _record(args: argparse.Namespace) -> int:
    from device.bus.pinmap import load_pin_map
    from device.mapping.config import MAX_AXES
    from device.mapping.map_file import load_map
    from device.mapping.pose_examples import (
        ExampleSet,
        PoseExample,
        load_examples,
        save_examples,
    )
    from device.mapping.pose_recorder import PoseRecorder

    say = _reporter(args)
    config = load_map(args.map_file)
    axes = _int_list(args.axes, "--axes") if args.axes else None
    if axes is not None and (len(set(axes)) != len(axes) or not all(0 <= a < MAX_AXES for a in axes)):
        raise ConfigError(f"--axes {args.axes!r}: allowed: different axis numbers from 0 to {MAX_AXES - 1}")
    targets = [_target(text, axes, config) for text in args.target]
    sizes = {len(t.point) for t in targets if t.point is not None}
    if len(sizes) > 1:
        raise ConfigError("--target: every target point needs the same number of coordinates (one per axis)")
    if axes is None:
        axes = list(range(sizes.pop())) if sizes else []
    inputs = _names(args.inputs) if args.inputs else list(dict.fromkeys(a.source for a in config.axes))
    if not inputs:
        raise ConfigError(f"{config.source} drives no latent axis directly; name the pose's channels with "
                          "--inputs (e.g. --inputs flex0,flex1)")
    if args.takes < 1:
        raise ConfigError(f"--takes must be at least 1, got {args.takes}")
    if not args.poll_rate > 0:
        raise ConfigError(f"--poll-rate must be above 0, got {args.poll_rate}")
    if args.sensors != "sim" and args.gesture is not None:
        raise ConfigError("--gesture only applies to --sensors sim")
    captures = len(targets) * args.takes
    at = _float_list(args.at, "--at") if args.at else None
    if at is not None and len(at) != captures:
        raise ConfigError(f"--at gives {len(at)} times for {captures} captures ({len(targets)} targets x "
                          f"{args.takes} takes); give one time per capture")
    if args.out.suffix.lower() != ".json":
        raise ConfigError(f"--out {args.out}: an examples file is JSON; give a name ending in .json")
    recorder = PoseRecorder(config, inputs, args.window)  # checks the inputs are channels
    examples_set = (load_examples(args.out) if os.path.lexists(args.out)
                    else ExampleSet(tuple(inputs), tuple(axes)))
    if not examples_set.axes and not any(e.point for e in examples_set.examples):
        examples_set = ExampleSet(examples_set.inputs, tuple(axes), examples_set.examples)  # presets only yet
    if not axes:
        axes = list(examples_set.axes)  # this session records presets only: any axes fit
    if examples_set.inputs != tuple(inputs) or examples_set.axes != tuple(axes):
        raise ConfigError(f"{args.out}: holds poses of {', '.join(examples_set.inputs)} for axes "
                          f"{', '.join(map(str, examples_set.axes))}, not of {', '.join(inputs)} for axes "
                          f"{', '.join(map(str, axes))}; use the same --inputs/--axes or another file")

    pins = load_pin_map(args.pins_file)
    virtual = _VirtualClock() if (args.sensors == "sim" and at is not None) else None
    clock: Callable[[], float] = virtual if virtual is not None else time.monotonic
    sensors = _open_sensors(args, pins, clock)
    panel = _open_panel(pins, say) if args.sensors == "i2c" and at is None else None
    start = clock()
    added = 0
    try:
        say(f"calibrating {', '.join(inputs)}: hands off for {config.learn_s:g} s, then move each through "
            "its whole range once (its range is learned from that, so poses read the same when played)")
        next_at = 0
        stdin_open = at is None
        prompted = False
        while added < captures:
            now = clock() - start
            frame = sensors.poll()
            pose = recorder.feed(frame)
            target = targets[added % len(targets)]
            if pose is not None:
                examples_set = examples_set.add(PoseExample(pose, target.point, target.preset))
                save_examples(args.out, examples_set)
                added += 1
                prompted = False
                say(f"example {len(examples_set.examples)}: pose "
                    f"{' '.join(f'{n}={v:.3f}' for n, v in zip(inputs, pose, strict=True))} -> "
                    f"{_show(target)}")
                continue
            if at is not None:
                while next_at < len(at) and now >= at[next_at]:
                    recorder.capture()
                    next_at += 1
                if next_at == len(at) and now > at[-1] + config.learn_s + args.window + AT_GIVE_UP_S:
                    raise ConfigError(f"the capture at {at[added]:g} s never completed: the inputs "
                                      f"({', '.join(inputs)}) gave no fresh readings; check the sensors")
            else:
                if not prompted and not recorder.calibrating and not recorder.capturing:
                    say(f"hold the pose for {_show(target)} ({added + 1} of {captures}), then press "
                        f"{'Enter or the preset button' if panel is not None else 'Enter'}")
                    prompted = True
                presses, stdin_open = _presses(stdin_open, panel)
                if presses and not recorder.capturing:
                    recorder.capture()
                if not stdin_open and panel is None and not recorder.capturing:
                    break  # end of input: keep what was recorded
            if virtual is not None:
                virtual.t += 1.0 / args.poll_rate
            else:
                time.sleep(1.0 / args.poll_rate)
    finally:
        if panel is not None:
            panel.close()
        sensors.close()
    result = {"out": str(args.out), "added": added, "examples": len(examples_set.examples),
              "inputs": list(inputs), "axes": list(axes)}
    if args.json:
        print(json.dumps(result))
    elif not args.quiet:
        print(f"{args.out}: {added} examples added, {len(examples_set.examples)} in all; next: "
              f"latent map train {args.out} --out learned.toml")
    return 0


def _open_sensors(args: argparse.Namespace, pins: Any, clock: Callable[[], float]) -> Any:
    if args.sensors == "sim":
        from device.sim.gesture import load_gesture
        from device.sim.hardware import SimulatedHardware

        gesture = load_gesture(args.gesture) if args.gesture is not None else None
        return SimulatedHardware(pins, gesture=gesture, clock=clock, seed=args.seed)
    from device.sensors.build import open_i2c_sensors

    return open_i2c_sensors(pins, clock=clock)


class _ButtonPresses:
    """The panel's preset button, counted from gpiozero's thread."""

    def __init__(self, panel: Any) -> None:
        self.panel = panel
        self.count = 0
        panel.on_cycle_preset = self._press

    def _press(self) -> None:
        self.count += 1

    def take(self) -> int:
        count, self.count = self.count, 0
        return count

    def close(self) -> None:
        self.panel.close()


def _open_panel(pins: Any, say: Callable[[str], None]) -> _ButtonPresses | None:
    try:
        from device.controls.panel import ControlPanel

        return _ButtonPresses(ControlPanel(pins))
    except Exception as bad:  # no GPIO here (a laptop), or the pins are busy: Enter still works
        say(f"no panel buttons ({bad}); press Enter to capture")
        return None


def _presses(stdin_open: bool, panel: _ButtonPresses | None) -> tuple[int, bool]:
    presses = panel.take() if panel is not None else 0
    if stdin_open:
        # The descriptor, not sys.stdin: lines left in Python's buffer would be invisible to select.
        fd = sys.stdin.fileno()
        ready, _, _ = select.select([fd], [], [], 0.0)
        if ready:
            data = os.read(fd, 4096)
            if not data:
                stdin_open = False
            presses += data.count(b"\n")
    return presses, stdin_open


# -- train ---------------------------------------------------------------------------------------

def _train(args: argparse.Namespace) -> int:
    from device.mapping.learned import LearnedMapping, fit, fit_presets
    from device.mapping.learned_file import learned_map_text, save_learned_map, strip_learned
    from device.mapping.map_file import default_map_path, parse_map
    from device.mapping.pose_examples import load_examples
    from device.safe_read import read_text

    say = _reporter(args)
    examples_set = load_examples(args.examples)
    base_path = args.map_file if args.map_file is not None else default_map_path()
    base_text = strip_learned(read_text(base_path, what="a .toml mapping file"))
    base = parse_map(base_text, source=str(base_path))
    if base.learned is not None:
        raise ConfigError(f"{base_path}: has a [learned] section that `latent map train` did not write; "
                          "remove it, or train from the direct map it was made from")
    preset_names = [p.name for p in base.presets]
    for i, example in enumerate(examples_set.examples):
        if example.preset is not None and example.preset not in preset_names:
            raise ConfigError(f"{args.examples}: examples[{i}] names preset {example.preset!r}, which "
                              f"{base_path} does not have; allowed: {', '.join(preset_names) or '(none)'}")
    with_points = [e for e in examples_set.examples if e.point is not None]
    with_presets = [e for e in examples_set.examples if e.preset is not None]
    started = time.perf_counter()
    point = chooser = None
    presets: tuple[str, ...] = ()
    if with_points:
        point = fit([e.pose for e in with_points], [e.point for e in with_points if e.point is not None],
                    inputs=examples_set.inputs, axes=examples_set.axes)
    if with_presets:
        presets, chooser = fit_presets([e.pose for e in with_presets], [e.preset or "" for e in with_presets],
                                       inputs=examples_set.inputs)
    if point is None and chooser is None:
        raise ConfigError(f"{args.examples}: holds no examples; record some with `latent map record`")
    learned = LearnedMapping(examples_set.inputs, point, presets, chooser)
    fit_s = time.perf_counter() - started
    text = learned_map_text(base_text, learned, examples_source=args.examples.name)
    # Read back through the player's own reader before anything is replaced.
    parse_map(text, source=str(args.out))
    save_learned_map(args.out, text)
    result: dict[str, Any] = {"out": str(args.out), "inputs": list(learned.inputs), "fit_s": round(fit_s, 4)}
    if point is not None:
        result["point"] = {"axes": list(point.axes), **_fit_figures(point)}
    if chooser is not None:
        result["presets"] = {"names": list(presets), **_fit_figures(chooser)}
    if args.json:
        print(json.dumps(result))
        return 0
    say(f"{args.out}: learned from {', '.join(learned.inputs)} in {fit_s:.2f} s")
    for key, model, what in (("point", point, f"axes {', '.join(map(str, learned.axes))}"),
                             ("presets", chooser, f"presets {', '.join(presets)}")):
        if model is not None:
            figures = result[key]
            say(f"  {what}: {figures['examples']} examples; training error max "
                f"{figures['train_max_error']:.4f}, mean {figures['train_mean_error']:.4f}; leave-one-out "
                f"mean {figures['loo_mean_error']:.4f}, max {figures['loo_max_error']:.4f} (0..1 units)")
    say(f"  play it: latent play --map {args.out}")
    return 0


def _fit_figures(model: Any) -> dict[str, Any]:
    report = model.report
    return {"examples": report.examples, "train_max_error": report.train_max_error,
            "train_mean_error": report.train_mean_error, "loo_mean_error": report.loo_mean_error,
            "loo_max_error": report.loo_max_error, "width": model.width, "ridge": model.ridge}


# -- shared ----------------------------------------------------------------------------------------

def _reporter(args: argparse.Namespace) -> Callable[[str], None]:
    if args.quiet:
        return lambda message: None
    stream = sys.stderr if args.json else sys.stdout
    return lambda message: print(message, file=stream, flush=True)


def _show(target: Any) -> str:
    if target.point is None:
        return f"preset {target.preset}"
    return "point " + ",".join(f"{v:g}" for v in target.point)


def _target(text: str, axes: Sequence[int] | None, config: Any) -> Any:
    """A --target: a latent point (starts with a digit, '.' or '-') or the name of a preset of the map."""
    from device.mapping.pose_examples import PoseExample, parse_point

    if text[:1].isdigit() or text[:1] in ".-":
        return PoseExample((), point=parse_point(text, axes))
    names = [p.name for p in config.presets]
    if text not in names:
        raise ConfigError(f"--target {text!r}: not a latent point nor a preset of {config.source}; "
                          "allowed: coordinates such as 0.2,0.8 or a preset name "
                          f"({', '.join(names) or 'the map has none'})")
    return PoseExample((), preset=text)


def _names(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _int_list(text: str, option: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise ConfigError(f"{option} {text!r}: allowed: whole numbers separated by commas, "
                          "e.g. 0,1") from None


def _float_list(text: str, option: str) -> list[float]:
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError:
        raise ConfigError(f"{option} {text!r}: allowed: numbers separated by commas, e.g. 2,4.5,7") from None
    if any(not (v >= 0.0 and v < float("inf")) for v in values) or values != sorted(values):
        raise ConfigError(f"{option} {text!r}: allowed: times of at least 0 s, in increasing order")
    return values
