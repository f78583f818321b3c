"""The few file-system mutations the model store makes, behind one small interface (store layer).

Every change the store makes to disk goes through an `FsOps`: create or append to a file, write,
fsync, truncate, rename, unlink, make a directory, fsync a directory. The real implementation
calls the OS; `device.store.powercut.PowerCutFs` records the same calls to show what a power cut
at any point would leave behind. Reads are plain file reads and need no indirection.

Files are always opened with O_NOFOLLOW: a symbolic link planted inside the store is refused
instead of followed, so nothing outside the store can be written through it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol


class WriteHandle(Protocol):
    """An open file the store writes sequentially."""

    path: Path

    def write(self, data: bytes | memoryview) -> None: ...

    def sync(self) -> None: ...

    def truncate(self, size: int) -> None: ...

    def close(self) -> None: ...


class FsOps(Protocol):
    """The store's mutating file-system calls. `why` names the step (crash tables report it)."""

    def mkdir(self, path: Path, why: str) -> None: ...

    def create(self, path: Path, why: str) -> WriteHandle: ...

    def append(self, path: Path, why: str) -> WriteHandle: ...

    def rename(self, src: Path, dst: Path, why: str) -> None: ...

    def unlink(self, path: Path, why: str) -> None: ...

    def fsync_dir(self, path: Path, why: str) -> None: ...


_WRITE_FLAGS = os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC


class RealHandle:
    """A file descriptor opened for writing, with the store's four operations on it."""

    def __init__(self, path: Path, flags: int) -> None:
        self.path = path
        self._fd = os.open(path, flags, 0o644)

    def write(self, data: bytes | memoryview) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]

    def sync(self) -> None:
        os.fsync(self._fd)

    def truncate(self, size: int) -> None:
        os.ftruncate(self._fd, size)
        os.lseek(self._fd, size, os.SEEK_SET)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class RealFs:
    """`FsOps` on the real file system."""

    def mkdir(self, path: Path, why: str) -> None:
        os.mkdir(path, 0o755)

    def create(self, path: Path, why: str) -> RealHandle:
        # O_EXCL: the store only creates fresh temporary names; an existing entry (even a link) is
        # a sign of tampering or of a bug, never something to overwrite.
        return RealHandle(path, _WRITE_FLAGS | os.O_CREAT | os.O_EXCL)

    def append(self, path: Path, why: str) -> RealHandle:
        return RealHandle(path, _WRITE_FLAGS | os.O_CREAT | os.O_APPEND)

    def rename(self, src: Path, dst: Path, why: str) -> None:
        os.replace(src, dst)

    def unlink(self, path: Path, why: str) -> None:
        os.unlink(path)

    def fsync_dir(self, path: Path, why: str) -> None:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


_counter = 0


def temp_name(path: Path) -> Path:
    """A fresh hidden name beside `path`; the store deletes leftovers of this form on start."""
    global _counter
    _counter += 1
    return path.with_name(f".{path.name}.tmp-{os.getpid()}-{_counter}")


def is_temp_name(name: str) -> bool:
    return name.startswith(".") and ".tmp-" in name


def write_atomic(fs: FsOps, path: Path, data: bytes, why: str) -> None:
    """Replace `path` with `data` so that after a crash it holds either the old or the new bytes.

    Write a temporary file, fsync it, rename it over the target, fsync the directory: the rename
    is the single atomic switch, and nothing is renamed before its bytes are on disk.
    """
    tmp = temp_name(path)
    handle = fs.create(tmp, f"{why}: create temporary")
    try:
        handle.write(data)
        handle.sync()
    except Exception:
        handle.close()
        fs.unlink(tmp, f"{why}: drop temporary")
        raise
    handle.close()
    fs.rename(tmp, path, f"{why}: rename into place")
    fs.fsync_dir(path.parent, f"{why}: fsync directory")
