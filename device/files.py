"""File helpers shared by the device's layers and the host tools: hashing, durable
directories and atomic writes of host artefacts (the model store has its own, behind its power-cut
seam: device/store/fsops.py)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

HASH_CHUNK = 1024 * 1024


def file_sha256(path: str | os.PathLike[str], limit: int | None = None) -> str:
    """sha256 of a file, or of its first `limit` bytes, read in chunks (any size, bounded memory)."""
    with open(path, "rb") as f:
        return stream_sha256(f, limit)[0]


def stream_sha256(f: BinaryIO, limit: int | None = None) -> tuple[str, int]:
    """sha256 of an open file from its current position (up to `limit` bytes), and the count."""
    digest = hashlib.sha256()
    count = 0
    while limit is None or count < limit:
        chunk = f.read(HASH_CHUNK if limit is None else min(HASH_CHUNK, limit - count))
        if not chunk:
            break
        digest.update(chunk)
        count += len(chunk)
    return digest.hexdigest(), count


def fsync_dir(directory: str | os.PathLike[str]) -> None:
    """Make a rename or a new file in `directory` survive a power cut."""
    fd = os.open(Path(directory), os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_file_atomically(path: str | os.PathLike[str], write: Callable[[BinaryIO], object]) -> None:
    """Write a file through `write(handle)` so that a crash leaves the old file or the new one whole:
    a hidden temporary beside it (one per process), flushed and fsynced, renamed over it, the
    directory fsynced. A failing `write` leaves the old file and no temporary."""
    path = Path(path)
    temp = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:
        with open(temp, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
