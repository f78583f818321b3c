"""`latent bench flash`: serial flashing throughput as a share of the link's raw rate (bench layer).

A pty has no baud rate, so "the link's raw rate" is defined by measurement, not by a label:

1. a `LinkSim` joins two pty pairs and paces each direction at `--baud` (10 bits per byte, as a
   UART with 8N1 framing does);
2. raw rate: unframed bytes written with pyserial into one end and read with pyserial at the other
   (in another process), from the first write to the last byte read;
3. protocol rate: the same number of bundle bytes sent by the real sender to a real
   `latent serve --serial` process over the same kind of link, from READY to the last ACK
   (install time excluded; it is reported separately);
4. share = protocol rate / raw rate (target >= 0.8). The share of the nominal baud/10 is shown too.

With `--baud 0` the link is not paced: both rates are then bounded by the CPU (Python on both
ends, the relay thread), which says how much headroom the protocol code has over fast USB links.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

NAME = "flash"
HELP = "serial flashing throughput over a paced pty link, as a share of the link's raw rate"
TARGET_SHARE = 0.8


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--size-kib", type=int, default=512, help="bundle size to send (KiB)")
    parser.add_argument("--baud", type=int, default=921600,
                        help="pace the link at this baud rate (0: unpaced, CPU-bound)")
    parser.add_argument("--chunk-bytes", type=int, default=4096,
                        help="DATA payload bytes per frame (default: %(default)s)")
    parser.add_argument("--window-frames", type=int, default=16,
                        help="frames in flight (default: %(default)s)")


def _make_bundle(path: Path, size: int) -> Path:
    import numpy as np

    from device.bundle.grid import Axis
    from device.bundle.writer import write_segment_bank

    frames = max(16, size // (2 * 16 * 2))  # int16 codes, 4x4 grid, 2 pitches
    rng = np.random.default_rng(0)
    segments = rng.uniform(-0.9, 0.9, size=(4, 4, 2, frames)).astype(np.float32)
    axes = [Axis("a", 0.0, 1.0, 4), Axis("b", 0.0, 1.0, 4)]
    return write_segment_bank(path, name="bench", sample_rate=48000, axes=axes, pitches=[48, 60],
                              segments=segments)


def _raw_reader(device: str, nbytes: int, conn: Any) -> None:
    from device.flash.link import open_serial

    port = open_serial(device, 115200)
    conn.send("ready")
    got = 0
    while got < nbytes:
        got += len(port.read(max(1, min(port.in_waiting, nbytes - got))))
    conn.send(time.monotonic())
    port.close()


def measure_raw(baud: int | None, nbytes: int) -> float:
    """Bytes per second of unframed data through a `LinkSim`, reader in another process."""
    import multiprocessing

    from device.flash.link import open_serial
    from device.flash.linksim import LinkSim

    with LinkSim(baud=baud) as sim:
        parent, child = multiprocessing.get_context("spawn").Pipe()
        reader = multiprocessing.get_context("spawn").Process(target=_raw_reader,
                                                              args=(sim.end_b, nbytes, child))
        reader.start()
        try:
            if not parent.poll(30) or parent.recv() != "ready":
                raise RuntimeError("the raw reader process did not start")
            port = open_serial(sim.end_a, 115200)
            payload = os.urandom(nbytes)
            started = time.monotonic()
            port.write(payload)
            if not parent.poll(120):
                raise RuntimeError("the raw reader did not receive everything within 120 s")
            finished = parent.recv()
            port.close()
        finally:
            reader.join(timeout=5)
            if reader.is_alive():
                reader.kill()
    return nbytes / (finished - started)


def measure_protocol(baud: int | None, bundle: Path, signature: dict[str, Any], store: Path,
                     chunk: int, window: int) -> dict[str, Any]:
    import subprocess

    from device.flash.link import open_serial
    from device.flash.linksim import LinkSim
    from device.flash.sender import LinkTiming, send_bundle

    with LinkSim(baud=baud) as sim:
        serve = subprocess.Popen([sys.executable, "-m", "device.cli", "serve", "--serial", sim.end_b,
                                  "--store", str(store), "--once"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            port = open_serial(sim.end_a, baud or 115200)
            report = send_bundle(port, bundle, signature=signature,
                                 timing=LinkTiming(chunk=chunk, window_frames=window, connect_timeout=30))
            port.close()
            serve.wait(timeout=30)
        finally:
            if serve.poll() is None:
                serve.kill()
                serve.wait()
    return {
        "bytes_per_s": report.payload_bytes / report.transfer_seconds,
        "transfer_s": round(report.transfer_seconds, 3),
        "install_and_handshake_s": round(report.total_seconds - report.transfer_seconds, 3),
        "line_bytes": report.line_bytes,
        "retransmits": report.retransmits,
        "action": report.result.get("action"),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    import tempfile

    from device.store.signature import new_private_key, public_key_line, sign_bundle
    from device.store.store import ModelStore

    baud = args.baud or None
    with tempfile.TemporaryDirectory(prefix="latent-flash-bench-") as tmp:
        bundle = _make_bundle(Path(tmp) / "bench.bundle", args.size_kib * 1024)
        key = new_private_key()
        public = Path(tmp) / "bench.pub"
        public.write_text(public_key_line(key.public_key(), "bench"))
        store = Path(tmp) / "store"
        ModelStore(store).trust_key(public)
        size = bundle.stat().st_size
        raw = measure_raw(baud, size)
        proto = measure_protocol(baud, bundle, sign_bundle(bundle, key), store, args.chunk_bytes,
                                 args.window_frames)
    share = proto["bytes_per_s"] / raw
    result: dict[str, Any] = {
        "link": "pty pair + relay" + (f" paced at {args.baud} baud (8N1)" if baud else " (unpaced)"),
        "bundle_bytes": size,
        "chunk_bytes": args.chunk_bytes,
        "window_frames": args.window_frames,
        "raw_bytes_per_s": round(raw),
        "protocol_bytes_per_s": round(proto["bytes_per_s"]),
        "share_of_raw": round(share, 3),
        "target_share": TARGET_SHARE,
        "meets_target": share >= TARGET_SHARE,
        "protocol": proto,
    }
    if baud:
        result["nominal_bytes_per_s"] = baud / 10
        result["share_of_nominal"] = round(proto["bytes_per_s"] / (baud / 10), 3)
    return result
