"""`latent flash BUNDLE --to ssh://user@host[:port] | serial:///dev/ttyACM0[?baud=N]` (host tools, CLI).

Checks the bundle locally first (a broken file fails here, not halfway through a transfer), picks
its signature (`--sig FILE`, else `--key KEY` signs it now, else `BUNDLE.sig` beside it, else it
goes unsigned and the device decides), sends it with a progress bar and prints the device's
verdict. Either transport resumes an interrupted transfer when run again.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from device.cli_options import add_allow_older, add_quiet, examples


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("flash", help="send a bundle to an instrument over SSH or USB serial",
                            description="Check a bundle here, sign it (or take its signature), send it "
                                        "to an instrument and print the device's verdict; run again to "
                                        "resume an interrupted transfer.",
                            **examples("latent flash models/gan-medium.bundle --to ssh://pi@latent.local "
                                       "--key ~/.config/latent/keys/me.key",
                                       "latent flash models/gan-medium.bundle --to serial:///dev/ttyACM0 "
                                       "--quiet"))
    parser.add_argument("bundle", help="bundle file to flash")
    parser.add_argument("--to", required=True, metavar="URL",
                        help="ssh://user@host[:port] or serial:///dev/ttyACM0[?baud=115200]")
    sig = parser.add_mutually_exclusive_group()
    sig.add_argument("--key", metavar="KEYFILE", help="sign with this private key (from `latent keys new`)")
    sig.add_argument("--sig", metavar="FILE", help="detached signature (default: BUNDLE.sig if present)")
    parser.add_argument("--allow-unsigned", action="store_true",
                        help="ssh only: let the device's install accept an unsigned bundle (a serial "
                             "device decides this with its own `latent serve --allow-unsigned`)")
    parser.add_argument("--no-activate", action="store_true", help="ssh only: store without activating")
    add_allow_older(parser, "ssh only: let the device install a lower version of a bundle name it "
                            "already has (refused by default: rollback protection)")
    add_quiet(parser)
    ssh = parser.add_argument_group("ssh")
    ssh.add_argument("-i", "--identity", metavar="FILE", help="ssh private key")
    ssh.add_argument("--ssh-config", metavar="FILE", help="ssh config file (ssh -F)")
    ssh.add_argument("--ssh-option", action="append", default=[], metavar="KEY=VALUE",
                     help="extra ssh -o option (repeatable)")
    ssh.add_argument("--remote-latent", default="latent", metavar="CMD",
                     help="the latent command on the device (default: latent)")
    ssh.add_argument("--remote-store", metavar="DIR", help="model store directory on the device")
    serial = parser.add_argument_group("serial")
    serial.add_argument("--chunk", type=int, default=4096, help="bytes per frame (serial)")
    serial.add_argument("--timeout", type=float, default=10.0, metavar="S",
                        help="give up after S seconds without progress (serial; run again to resume)")
    parser.set_defaults(func=_run)


def _signature(args: argparse.Namespace, bundle) -> dict[str, Any] | None:  # type: ignore[no-untyped-def]
    from device.store.signature import load_private_key, load_signature_doc, sign_bundle, signature_path

    if args.key:
        return sign_bundle(bundle, load_private_key(args.key))
    if args.sig:
        return load_signature_doc(args.sig)
    if signature_path(bundle).exists():
        return load_signature_doc(signature_path(bundle))
    return None


def _progress_bar(disabled: bool, name: str):  # type: ignore[no-untyped-def]
    from tqdm import tqdm

    def make(start: int, total: int):  # type: ignore[no-untyped-def]
        bar = tqdm(total=total, initial=start, unit="B", unit_scale=True, unit_divisor=1024, desc=name,
                   disable=True if disabled else None, file=sys.stderr)
        return bar

    return make


def _run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from device.bundle.reader import open_bundle
    from device.errors import FlashError

    bundle = Path(args.bundle)
    with open_bundle(bundle) as opened:
        label = f"{opened.name} v{opened.manifest['version']}"
    signature = _signature(args, bundle)
    make_bar = _progress_bar(args.quiet, bundle.name)
    if args.to.startswith("ssh://"):
        result = _flash_ssh(args, bundle, signature, make_bar)
    elif args.to.startswith("serial:"):
        ssh_only = _install_flags(args)
        if ssh_only:
            raise FlashError(f"{', '.join(ssh_only)}: a serial device decides this itself; start "
                             f"`latent serve --serial DEV {' '.join(ssh_only)}` on it instead")
        result = _flash_serial(args, bundle, signature, make_bar)
    else:
        raise FlashError(f"--to {args.to!r}: use ssh://user@host[:port] or serial:///dev/ttyACM0")
    resumed = result.get("resumed_from", 0)
    print(f"{label}: {result.get('message') or result.get('action')}"
          + (f" (resumed at byte {resumed})" if resumed and result.get("sent") else "")
          + ("" if signature else " [unsigned]"))
    return 0


def _install_flags(args: argparse.Namespace) -> list[str]:
    """The device-side install options given, as `latent install` spells them."""
    return [flag for flag, on in (("--allow-unsigned", args.allow_unsigned),
                                  ("--no-activate", args.no_activate),
                                  ("--allow-older", args.allow_older)) if on]


def _flash_ssh(args, bundle, signature, make_bar) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    import hashlib
    import mmap

    from host_tools.flash.ssh import SshOptions, SshTarget, SshTransport, flash_over_ssh

    transport = SshTransport(SshTarget.parse(args.to), SshOptions(
        identity=args.identity, config=args.ssh_config, options=tuple(args.ssh_option),
        remote_latent=args.remote_latent, remote_store=args.remote_store))
    flags = _install_flags(args)
    bars = []

    def progress_factory(start: int, total: int):  # type: ignore[no-untyped-def]
        bar = make_bar(start, total)
        bars.append(bar)
        return bar.update

    with open(bundle, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
        data = memoryview(mapped)
        try:
            result = flash_over_ssh(transport, bundle, data, hashlib.sha256(data).hexdigest(), signature,
                                    flags, progress_factory)
        finally:
            data.release()
            for bar in bars:
                bar.close()
    return result


def _flash_serial(args, bundle, signature, make_bar) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    from device.flash.link import SerialTarget, open_serial
    from device.flash.sender import LinkTiming, send_bundle

    target = SerialTarget.parse(args.to)
    port = open_serial(target.device, target.baud, write_timeout=args.timeout)
    bar = None
    last = [0]

    def progress(acked: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = make_bar(acked, total)
            last[0] = acked
        bar.update(acked - last[0])
        last[0] = acked

    try:
        timing = LinkTiming(chunk=args.chunk, stall_timeout=args.timeout)
        report = send_bundle(port, bundle, signature=signature, timing=timing, progress=progress)
    finally:
        if bar is not None:
            bar.close()
        port.close()
    return {**report.result, "resumed_from": report.resumed_from, "sent": report.payload_bytes}
