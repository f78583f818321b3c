"""Tiny bundles, keys and stores for the store, flash and host flashing tests."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np

from device.bundle.grid import Axis
from device.bundle.writer import write_segment_bank
from device.store.policy import DevicePolicy
from device.store.signature import (
    load_private_key,
    new_private_key,
    public_key_line,
    save_private_key,
    sign_bundle,
)
from device.store.store import ModelStore

TEST_POLICY = DevicePolicy(reserve_bytes=0, sync_every_bytes=4096)


def make_bundle(path: Path, *, name: str = "pads", version: int = 1, seed: int = 0,
                sample_rate: int = 16000, frames: int = 400, steps: tuple[int, ...] = (3, 2),
                pitches: tuple[int, ...] = (48, 60)) -> Path:
    rng = np.random.default_rng(seed)
    axes = [Axis(f"axis{i}", 0.0, 1.0, n) for i, n in enumerate(steps)]
    segments = rng.uniform(-0.8, 0.8, size=(*steps, len(pitches), frames)).astype(np.float32)
    return write_segment_bank(path, name=name, sample_rate=sample_rate, axes=axes, pitches=list(pitches),
                              segments=segments, version=version, config={"seed": seed},
                              provenance={"tool": "tests"})


def sha256_of(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def make_key(directory: Path, name: str = "artist") -> tuple[Path, Path]:
    """A fresh key pair on disk: (private key file, public key file)."""
    key = new_private_key()
    private, public = directory / f"{name}.key", directory / f"{name}.pub"
    save_private_key(key, private)
    public.write_text(public_key_line(key.public_key(), name))
    return private, public


def sign(bundle: Path, private_key_file: Path) -> dict[str, Any]:
    return sign_bundle(bundle, load_private_key(private_key_file))


def new_store(root: Path, public_key: Path | None = None, **kwargs: Any) -> ModelStore:
    kwargs.setdefault("policy", TEST_POLICY)
    store = ModelStore(root, **kwargs)
    if public_key is not None:
        store.trust_key(public_key)
    return store
