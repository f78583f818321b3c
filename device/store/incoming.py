"""An incoming transfer in the store's staging area, resumable by offset (store layer).

Every transport (USB serial, SSH stdin, a local file) feeds bytes through an `IncomingTransfer`:
it only ever writes `staging/<sha256>.part`, only appends at the offset it expects, never past
the size the sender declared, and fsyncs every `sync_every` bytes. After a disconnect or a power
cut the next offer of the same sha256 resumes from what reached the disk; the sender compares
`prefix_sha256()` with its own file before trusting that prefix.

While it is open a transfer holds an exclusive flock on its staging file: another process's offer
sees the file is live (`store.staging_in_use`) and neither deletes it nor writes into it.
"""

from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from device.errors import StoreError
from device.files import file_sha256
from device.store.fsops import FsOps, WriteHandle
from device.store.layout import check_bundle_name, check_sha256


@dataclass(frozen=True)
class TransferOffer:
    """What a sender announces before the first byte: display name, exact size, sha256, signature."""

    name: str
    size: int
    sha256: str
    signature: dict[str, Any] | None = None

    @staticmethod
    def from_document(doc: dict[str, Any]) -> TransferOffer:
        """An offer from a sender's JSON (a serial HELLO), its fields' types checked: `checked`
        then judges their values."""
        name, size, sha256, signature = (doc.get(k) for k in ("name", "size", "sha256", "signature"))
        if not isinstance(name, str):
            raise StoreError(f"bundle name {name!r:.80} is empty or not text; send a plain file name")
        if not isinstance(size, int) or isinstance(size, bool):
            raise StoreError(f"declared size {size!r:.40} is not a positive byte count")
        if not isinstance(sha256, str):
            raise StoreError(f"{sha256!r:.80} is not a sha256 digest (64 lowercase hex digits)")
        if signature is not None and not isinstance(signature, dict):
            raise StoreError(f"{name}: the signature must be a JSON object")
        return TransferOffer(name=name, size=size, sha256=sha256, signature=signature)

    def checked(self, max_bytes: int) -> TransferOffer:
        check_bundle_name(self.name)
        check_sha256(self.sha256)
        if not isinstance(self.size, int) or isinstance(self.size, bool) or self.size <= 0:
            raise StoreError(f"declared size {self.size!r} is not a positive byte count")
        if self.size > max_bytes:
            raise StoreError(f"{self.name}: {self.size} bytes is over this device's limit of "
                             f"{max_bytes} bytes per bundle; make a smaller bundle")
        if self.signature is not None and not isinstance(self.signature, dict):
            raise StoreError(f"{self.name}: the signature must be a JSON object")
        return self


class IncomingTransfer:
    """The staged bytes of one offered bundle; see the module docstring.

    `existing=True` marks an offer of a bundle the store already holds: nothing needs sending
    (offset == size) and installing it only (re)activates the stored copy.
    """

    def __init__(self, fs: FsOps, path: Path, offer: TransferOffer, *, sync_every: int,
                 existing: bool = False) -> None:
        self.fs = fs
        self.path = path
        self.offer = offer
        self.existing = existing
        self._sync_every = max(1, sync_every)
        self._handle: WriteHandle | None = None
        self._lock_fd = -1
        self._unsynced = 0
        if existing:
            self.offset = offer.size
            return
        created = not os.path.lexists(path)
        try:
            self._handle = fs.append(path, "staging")
        except OSError as bad:
            raise StoreError(f"{path}: cannot open the staging file ({bad.strerror or bad}); if it "
                             "is a symbolic link or a directory, remove it: the store never writes "
                             "through links") from None
        try:
            self._lock()
        except BaseException:
            self._handle.close()
            self._handle = None
            raise
        if created:
            fs.fsync_dir(path.parent, "staging: fsync directory")
        self.offset = os.stat(path).st_size
        if self.offset > offer.size:
            self.restart()

    def _lock(self) -> None:
        fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StoreError(f"{self.offer.name} is already being received by another transfer; "
                             "wait for it to finish (or to time out) and try again") from None
        self._lock_fd = fd

    def _unlock(self) -> None:
        if self._lock_fd >= 0:
            os.close(self._lock_fd)  # closing drops the flock
            self._lock_fd = -1

    @property
    def complete(self) -> bool:
        return self.offset == self.offer.size

    def prefix_sha256(self) -> str:
        if self.existing:
            return self.offer.sha256
        return file_sha256(self.path, self.offset)

    def write(self, offset: int, data: bytes | memoryview) -> None:
        if self._handle is None:
            raise StoreError(f"{self.offer.name}: the transfer is closed or needs no data")
        if offset + len(data) > self.offer.size:
            raise StoreError(f"{self.offer.name}: cut off: the sender sent data up to byte "
                             f"{offset + len(data)}, past its declared size of {self.offer.size}")
        if offset != self.offset:
            raise StoreError(f"{self.offer.name}: data for offset {offset} arrived but the "
                             f"staged copy ends at {self.offset}")
        self._handle.write(data)
        self.offset += len(data)
        self._unsynced += len(data)
        if self._unsynced >= self._sync_every:
            self.sync()

    def sync(self) -> None:
        if self._handle is not None and self._unsynced:
            self._handle.sync()
            self._unsynced = 0

    def restart(self) -> None:
        """Throw the staged bytes away and start again from offset 0."""
        if self._handle is None:
            return
        self._handle.truncate(0)
        self._handle.sync()
        self.offset = 0
        self._unsynced = 0

    def close(self) -> None:
        if self._handle is not None:
            self.sync()
            self._handle.close()
            self._handle = None
        self._unlock()

    def discard(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        try:
            if not self.existing and os.path.lexists(self.path):
                self.fs.unlink(self.path, "staging: discard")
                self.fs.fsync_dir(self.path.parent, "staging: fsync directory")
        finally:
            self._unlock()
