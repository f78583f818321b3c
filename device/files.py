"""File helpers shared by the device's layers and the host tools: hashing and durable directories."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

HASH_CHUNK = 1024 * 1024


def file_sha256(path: str | os.PathLike[str], limit: int | None = None) -> str:
    """sha256 of a file, or of its first `limit` bytes, read in chunks (any size, bounded memory)."""
    digest = hashlib.sha256()
    remaining = limit
    with open(path, "rb") as f:
        while remaining is None or remaining > 0:
            chunk = f.read(HASH_CHUNK if remaining is None else min(HASH_CHUNK, remaining))
            if not chunk:
                break
            digest.update(chunk)
            if remaining is not None:
                remaining -= len(chunk)
    return digest.hexdigest()


def fsync_dir(directory: str | os.PathLike[str]) -> None:
    """Make a rename or a new file in `directory` survive a power cut."""
    fd = os.open(Path(directory), os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
