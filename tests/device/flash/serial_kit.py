"""A device on the far end of a simulated serial line: a store with one active bundle and a real
`latent serve --serial` process listening on the link's end B."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from device.flash.linksim import LinkFaults, LinkSim
from device.flash.sender import LinkTiming

from ..store.bundles import make_bundle, make_key, new_store, sign

CLEAN = LinkFaults()
FAST = LinkTiming(initial_rto=0.2, connect_timeout=15, stall_timeout=5, install_timeout=30)


@dataclass
class Device:
    root: Path
    key: Path
    stranger: Path
    old: Path
    new: Path
    sim: LinkSim
    serve: subprocess.Popen
    log: Path

    def active_bytes(self) -> bytes:
        from device.store.store import ModelStore

        path = ModelStore(self.root).active_path()
        assert path is not None
        return path.read_bytes()

    def serve_log(self) -> str:
        return self.log.read_text()


def prepare_store(tmp: Path) -> tuple[Path, Path, Path, Path, Path]:
    key, public = make_key(tmp, "artist")
    stranger, _ = make_key(tmp, "stranger")
    old = make_bundle(tmp / "old.bundle", version=1, seed=1)
    new = make_bundle(tmp / "new.bundle", version=2, seed=2, frames=4000)
    root = tmp / "store"
    new_store(root, public).install_file(old, sign(old, key))
    return root, key, stranger, old, new


def start_serve(end: str, root: Path, log: Path, *extra: str) -> subprocess.Popen:
    argv = [sys.executable, "-m", "device.cli", "serve", "--serial", end, "--store", str(root),
            "--session-timeout", "5", *extra]
    with log.open("w") as err:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err)


def wait_listening(serve: subprocess.Popen, log: Path, timeout: float = 20.0) -> None:
    """Until the device has its port open (pyserial flushes what arrived before)."""
    deadline = time.monotonic() + timeout
    while "listening on" not in log.read_text():
        if serve.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"latent serve did not start: {log.read_text()}")
        time.sleep(0.02)


@contextlib.contextmanager
def serial_device(tmp: Path, *, a_to_b: LinkFaults = CLEAN, b_to_a: LinkFaults = CLEAN,
                  serve_args: tuple[str, ...] = (), seed: int = 0) -> Iterator[Device]:
    root, key, stranger, old, new = prepare_store(tmp)
    log = tmp / "serve.log"
    with LinkSim(a_to_b=a_to_b, b_to_a=b_to_a, seed=seed) as sim:
        serve = start_serve(sim.end_b, root, log, *serve_args)
        try:
            wait_listening(serve, log)
            yield Device(root, key, stranger, old, new, sim, serve, log)
        finally:
            if serve.poll() is None:
                serve.terminate()
            serve.wait(timeout=10)
