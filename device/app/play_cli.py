"""`latent play`: play the instrument (app layer, CLI)."""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

from device.cli_options import add_sample_rate, examples
from device.engine.limiter import DEFAULT_CEILING_DBFS, MIN_CEILING_DBFS


def _device(text: str) -> int | str:
    return int(text) if text.isdigit() else text


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "play", help="play the instrument (sound card, or a WAV file when there is none)",
        description="Sensors -> mapping -> engine -> audio. With --out, or with no sound card, "
                    "renders to a WAV file faster than real time.",
        **examples("latent play --out demo.wav --seconds 10",
                   "latent play --sensors i2c --realtime",
                   "latent play --sensors i2c --settings /etc/latent-instrument/instrument.toml",
                   "latent play --bundle models/gan-medium.bundle --gesture demo --sample-rate 44100"))
    parser.add_argument("--bundle", type=Path, help="bundle to play (default: the shipped additive bank)")
    parser.add_argument("--sensors", choices=("sim", "i2c"), default="sim",
                        help="simulated sensors driven by a gesture, or the real chips on I2C")
    parser.add_argument("--gesture", default="demo",
                        help="gesture script for --sensors sim: a TOML file or 'demo' (default)")
    parser.add_argument("--out", type=Path, help="write a WAV file instead of playing live")
    parser.add_argument("--seconds", type=float,
                        help="stop after this long (default: forever live, 30 s to a file)")
    add_sample_rate(parser, "output sample rate (default 48000)", default=48000)
    parser.add_argument("--block", type=int, default=64, help="frames per audio block (default 64)")
    parser.add_argument("--device", type=_device, help="output device: index or part of its name")
    parser.add_argument("--channels", type=int, default=1, help="output channels (mono copied to each)")
    parser.add_argument("--map", type=Path, dest="map_file", help="mapping TOML (default: the shipped map)")
    parser.add_argument("--pins", type=Path, dest="pins_file",
                        help="pin map TOML (default: hardware/pins.toml)")
    parser.add_argument("--store", type=Path,
                        help="model store to play from (live): its active bundle plays, a newly flashed one "
                             "is crossfaded in, a failing one rolled back; --bundle is the fallback")
    parser.add_argument("--render-ahead", type=int, default=256, dest="render_ahead",
                        help="live: frames the render thread keeps queued ahead of the sound device "
                             "(default 256 = 5.3 ms at 48 kHz): more survives a busier machine, less "
                             "answers the hands sooner")
    parser.add_argument("--seed", type=int, default=0, help="random seed of engine and simulation")
    settings_file = parser.add_mutually_exclusive_group()
    settings_file.add_argument("--settings", type=Path, metavar="FILE", dest="settings_file",
                               help="instrument settings TOML: [midi], [osc], [presets], [gallery] "
                                    "(docs/instrument-settings.md)")
    settings_file.add_argument("--settings-if-present", type=Path, metavar="FILE",
                               help="like --settings, but no such file means no settings (the service "
                                    "passes /etc/latent-instrument/instrument.toml this way)")
    parser.add_argument("--status-file", type=Path, metavar="PATH",
                        help="live: keep the instrument's status in this JSON file, rewritten every "
                             "2 s, for `latent status` (the service uses /run/latent/status.json)")
    parser.add_argument("--ceiling", type=float, default=DEFAULT_CEILING_DBFS, metavar="DBFS",
                        help="output limiter ceiling in dBFS: no sample leaves the engine louder, whatever "
                             f"the bundle or the controls do ({MIN_CEILING_DBFS:g}..0, default "
                             f"{DEFAULT_CEILING_DBFS:g})")
    parser.add_argument("--realtime", action="store_true",
                        help="live: run the audio, sensor and model threads in a real-time class, so that "
                             "other busy processes cannot cause underruns (needs an RTPRIO limit; the "
                             "service has one); if refused, says so and plays anyway")
    parser.set_defaults(func=_run)


# EX_TEMPFAIL: the sound device went away; the service starts the instrument again.
EXIT_DEVICE_LOST = 75


def _run(args: argparse.Namespace) -> int:
    from device.app.play import PlaySettings, play, report_to_stderr
    from device.errors import AudioDeviceLostError, ConfigError

    if args.seconds is not None and not args.seconds > 0:
        raise ConfigError(f"--seconds must be a positive number, got {args.seconds}")
    if args.gesture != "demo" and args.sensors != "sim":
        raise ConfigError("--gesture only applies to --sensors sim")
    if math.isnan(args.ceiling) or args.ceiling > 0.0:
        raise ConfigError(f"--ceiling must be at most 0 dBFS (full scale), got {args.ceiling:g}; "
                          f"the default, {DEFAULT_CEILING_DBFS:g}, leaves headroom for the DAC")
    if not args.ceiling >= MIN_CEILING_DBFS:
        raise ConfigError(f"--ceiling {args.ceiling:g} dBFS would all but silence the instrument; "
                          f"use {MIN_CEILING_DBFS:g}..0 dBFS")
    from device.app.settings import load_settings

    settings_file = args.settings_file
    if args.settings_if_present is not None and os.path.lexists(args.settings_if_present):
        settings_file = args.settings_if_present
    instrument = load_settings(settings_file) if settings_file is not None else None
    settings = PlaySettings(bundle=args.bundle, sensors=args.sensors, gesture=args.gesture, out=args.out,
                            seconds=args.seconds, sample_rate=args.sample_rate, block_frames=args.block,
                            device=args.device, channels=args.channels, map_file=args.map_file,
                            pins_file=args.pins_file, seed=args.seed, store=args.store,
                            realtime=args.realtime, render_ahead_frames=args.render_ahead,
                            ceiling_dbfs=args.ceiling, status_file=args.status_file,
                            instrument=instrument)
    try:
        play(settings, report_to_stderr)
    except AudioDeviceLostError as err:
        if "went away" not in str(err):  # play() said so already when it happened while playing
            print(f"latent play: {err}", file=sys.stderr)
        print(f"latent play: exiting with code {EXIT_DEVICE_LOST}; the service starts it again",
              file=sys.stderr, flush=True)
        sys.stdout.flush()
        # Not a normal exit: PortAudio's exit handlers would wait on the stream the dead device
        # left stuck. Everything worth keeping was stopped or closed before this point.
        os._exit(EXIT_DEVICE_LOST)
    return 0
