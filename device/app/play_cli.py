"""`latent play`: play the instrument (app layer, CLI)."""

from __future__ import annotations

import argparse
from pathlib import Path


def _device(text: str) -> int | str:
    return int(text) if text.isdigit() else text


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "play", help="play the instrument (sound card, or a WAV file when there is none)",
        description="Sensors -> mapping -> engine -> audio. With --out, or with no sound card, "
                    "renders to a WAV file faster than real time.")
    parser.add_argument("--bundle", type=Path, help="bundle to play (default: the shipped additive bank)")
    parser.add_argument("--sensors", choices=("sim", "i2c"), default="sim",
                        help="simulated sensors driven by a gesture, or the real chips on I2C")
    parser.add_argument("--gesture", default="demo",
                        help="gesture script for --sensors sim: a TOML file or 'demo' (default)")
    parser.add_argument("--out", type=Path, help="write a WAV file instead of playing live")
    parser.add_argument("--seconds", type=float,
                        help="stop after this long (default: forever live, 30 s to a file)")
    parser.add_argument("--rate", type=int, default=48000, help="output sample rate (default 48000)")
    parser.add_argument("--block", type=int, default=64, help="frames per audio block (default 64)")
    parser.add_argument("--device", type=_device, help="output device: index or part of its name")
    parser.add_argument("--channels", type=int, default=1, help="output channels (mono copied to each)")
    parser.add_argument("--map", type=Path, dest="map_file", help="mapping TOML (default: the shipped map)")
    parser.add_argument("--pins", type=Path, dest="pins_file",
                        help="pin map TOML (default: hardware/pins.toml)")
    parser.add_argument("--store", type=Path,
                        help="model store to play from (live): its active bundle plays, a newly flashed one "
                             "is crossfaded in, a failing one rolled back; --bundle is the fallback")
    parser.add_argument("--seed", type=int, default=0, help="random seed of engine and simulation")
    parser.add_argument("--realtime", action="store_true",
                        help="live: run the audio, sensor and model threads in a real-time class, so that "
                             "other busy processes cannot cause underruns (needs an RTPRIO limit; the "
                             "service has one); if refused, says so and plays anyway")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from device.app.play import PlaySettings, play, report_to_stderr
    from device.errors import ConfigError

    if args.seconds is not None and not args.seconds > 0:
        raise ConfigError(f"--seconds must be a positive number, got {args.seconds}")
    if args.gesture != "demo" and args.sensors != "sim":
        raise ConfigError("--gesture only applies to --sensors sim")
    settings = PlaySettings(bundle=args.bundle, sensors=args.sensors, gesture=args.gesture, out=args.out,
                            seconds=args.seconds, sample_rate=args.rate, block_frames=args.block,
                            device=args.device, channels=args.channels, map_file=args.map_file,
                            pins_file=args.pins_file, seed=args.seed, store=args.store,
                            realtime=args.realtime)
    play(settings, report_to_stderr)
    return 0
