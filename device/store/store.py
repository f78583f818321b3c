"""The model store on the device: verified bundles, one active, one previous (store layer).

`ModelStore(root)` recovers on open (drops half-written temporaries, checks the active bundle in
full and falls back to the previous one if it is damaged), then offers:

- for the running instrument: `active_path()`, `generation`, `poll()` (has the active bundle
  changed since I last looked?), `note_service_start()`, `report_trial_ok()`,
  `report_trial_failed(reason)`;
- for transports: `offer(TransferOffer)` -> an `IncomingTransfer` in staging, then
  `install_incoming(transfer)`; `install_file(path)` for a local file;
- for people: `bundles()`, `activate(ref)`, `rollback()`, `remove(ref)`, `trust_key(path)`.

Crash safety rests on three rules: bytes are fsynced before the rename that publishes them; the
only switch is the atomic replacement of `pointer.json`; an installed bundle file is never opened
for writing again (the running engine memory-maps it). Every change is made under an exclusive
flock on `.lock`, so the service and an install arriving over SSH never interleave.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import stat
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from device.bundle.reader import open_bundle
from device.errors import BundleError, StoreError
from device.files import file_sha256, stream_sha256
from device.safe_read import open_regular, read_text
from device.store.failures import append_failure, read_failures
from device.store.fsops import FsOps, RealFs, is_temp_name, write_atomic
from device.store.incoming import IncomingTransfer, TransferOffer
from device.store.layout import BUNDLE_FILE_RE, StoreLayout
from device.store.pointer import Pointer, Trial, read_pointer, write_pointer
from device.store.policy import DevicePolicy
from device.store.signature import (
    MAX_KEY_FILE_BYTES,
    Signature,
    TrustStore,
    key_id,
    load_signature_doc,
    parse_public_key,
    public_key_line,
    signature_bytes,
)
from device.store.trial import crash_loop_reason, record_start

COPY_CHUNK = 1024 * 1024


def staging_in_use(path: Path) -> bool:
    """Whether a live transfer holds `path` (an `IncomingTransfer` keeps a flock on its file)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return False  # gone, or a planted link: not a transfer's file
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


@dataclass(frozen=True)
class InstalledBundle:
    """One bundle in the store, as `latent models list` shows it."""

    sha256: str
    path: Path
    name: str
    version: int
    kind: str
    sample_rate: int
    size: int
    created: str
    signed_by: str | None
    problem: str | None = None

    def label(self) -> str:
        return f"{self.name} v{self.version} ({self.sha256[:12]})"


@dataclass(frozen=True)
class InstallOptions:
    """How an install may go. Older versions of an installed name are refused unless
    `allow_older`: a signed old bundle replayed to the device must not roll it back."""

    activate: bool = True
    allow_unsigned: bool = False
    allow_older: bool = False


@dataclass(frozen=True)
class InstallResult:
    """`action`: installed (new file, now active), stored (new file, not activated),
    activated (already stored, now active) or unchanged (already stored and active: a no-op)."""

    action: str
    bundle: InstalledBundle
    previous: str | None

    def to_json(self) -> dict[str, Any]:
        return {"action": self.action, "sha256": self.bundle.sha256, "name": self.bundle.name,
                "version": self.bundle.version, "signed_by": self.bundle.signed_by,
                "previous": self.previous, "message": self.message()}

    def message(self) -> str:
        return {
            "installed": f"installed and activated {self.bundle.label()}",
            "stored": f"stored {self.bundle.label()} (not activated)",
            "activated": f"{self.bundle.label()} was already stored; activated it",
            "unchanged": f"{self.bundle.label()} is already installed and active; nothing to do",
        }[self.action]


class ModelStore:
    """See the module docstring."""

    def __init__(self, root: str | os.PathLike[str], *, policy: DevicePolicy | None = None,
                 fs: FsOps | None = None, clock: Callable[[], float] = time.time,
                 create: bool = True) -> None:
        """Open the store at `root`: create what is missing and recover from a crash (see `_recover`).

        `create=False` opens an existing store without writing anything (for commands that only
        look, or that cannot succeed on an empty store): a missing store raises StoreError instead
        of being made. Any OS failure while opening (not a directory, no permission, a read-only
        or pseudo file system such as /proc) is a StoreError that names the root.
        """
        self.layout = StoreLayout(Path(root))
        self._create = create
        self.policy = policy or DevicePolicy()
        self.fs: FsOps = fs or RealFs()
        self.clock = clock
        self.trust = TrustStore(self.layout.trusted_keys)
        self._lock_fd = -1
        self._lock_depth = 0
        self._thread_lock = threading.RLock()
        self._info: dict[str, InstalledBundle] = {}
        self._pointer = Pointer()
        self._pointer_id: tuple[int, int, int] | None = None
        try:
            self._recover()
        except OSError as bad:
            where = f" ({bad.filename})" if bad.filename and str(bad.filename) != str(root) else ""
            doing, need = ("create or open", "write") if create else ("read", "read")
            raise StoreError(f"{root}: cannot {doing} the model store: {bad.strerror or bad}{where}; "
                             f"point --store (or $LATENT_STORE) at a directory this user can {need}"
                             ) from None

    # ------------------------------------------------------------------ locking and pointer

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        # The thread lock orders this process's threads; the flock orders processes.
        with self._thread_lock, self._flocked():
            yield

    @contextlib.contextmanager
    def _flocked(self) -> Iterator[None]:
        if self._lock_depth == 0:
            self.layout.root.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.layout.lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._lock_fd = fd
        self._lock_depth += 1
        try:
            yield
        finally:
            self._lock_depth -= 1
            if self._lock_depth == 0:
                os.close(self._lock_fd)  # closing drops the flock
                self._lock_fd = -1

    def _file_id(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.layout.pointer)
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def _reload_pointer(self) -> Pointer:
        self._pointer_id = self._file_id()
        self._pointer = read_pointer(self.layout.pointer)
        return self._pointer

    def _write_pointer(self, pointer: Pointer) -> None:
        write_pointer(self.fs, self.layout.pointer, pointer)
        self._pointer = pointer
        self._pointer_id = self._file_id()

    # ------------------------------------------------------------------ recovery

    def _ensure_dir(self, path: Path) -> bool:
        """Refuse `path` unless it is a real directory; make it when missing if this store may
        create. False when it is missing and was not made."""
        if path.is_symlink() or (path.exists() and not path.is_dir()):
            raise StoreError(f"{path} is a link or a file, not a directory; the store refuses to "
                             "use it (remove it, or point the store at another root)")
        if not path.exists():
            if not self._create:
                return False
            self.fs.mkdir(path, f"create {path.name}/")
            self.fs.fsync_dir(path.parent, f"create {path.name}/: fsync parent")
        return True

    def _drop_temporaries(self, directory: Path) -> None:
        dropped = False
        for entry in os.scandir(directory):
            if is_temp_name(entry.name) and not entry.is_dir(follow_symlinks=False):
                self.fs.unlink(Path(entry.path), "recovery: drop temporary")
                dropped = True
        if dropped:
            self.fs.fsync_dir(directory, "recovery: fsync directory")

    def _recover(self) -> None:
        root = self.layout.root
        # The root itself may be a link (a store moved to a bigger disk), but it must be a directory.
        if root.exists() and not root.is_dir():
            raise StoreError(f"{root} is not a directory, and a model store is one: point --store "
                             "(or $LATENT_STORE) at a store, or at a new path for the first `latent "
                             "install` to create")
        if not self._create:
            self._recover_for_reading()
            return
        with self._locked():
            for directory in (self.layout.bundles, self.layout.staging, self.layout.trusted_keys):
                self._ensure_dir(directory)
            for directory in (self.layout.root, self.layout.bundles):
                self._drop_temporaries(directory)
            pointer = self._reload_pointer()
            damaged = self._damaged_active(pointer)
            if damaged is None or pointer.active is None:
                return
            problem, fallback = damaged
            action = (f"restored previous bundle {fallback[:12]}" if fallback
                      else "no healthy previous bundle: nothing is active")
            self._log_failure(pointer.active, f"active bundle failed its check at start: {problem}", action)
            self._write_pointer(Pointer(active=fallback, previous=None,
                                        generation=pointer.generation + 1))

    def _recover_for_reading(self) -> None:
        """What recovery means to a reader, with nothing written (`create=False`).

        No lock is taken: creating `.lock` would be a write, and a reader needs none, since the
        pointer is replaced atomically and a bundle never changes after its rename. Leftover
        temporaries stay (no reader looks at them; the next writing open drops them). A damaged
        active bundle is shown as the next writing open will leave the store, because that is what
        the instrument will play: the healthy previous bundle active (or none), the damaged one
        marked with its problem. Nothing is switched or logged on disk.
        """
        from dataclasses import replace

        root = self.layout.root
        if not root.is_dir() or not self._ensure_dir(self.layout.bundles):
            raise StoreError(f"no model store at {root} (nothing was created): the first `latent "
                             "install` on the device, or `latent flash` from a computer, creates it")
        for directory in (self.layout.staging, self.layout.trusted_keys):
            self._ensure_dir(directory)  # a link or file is refused; a missing one is not read here
        pointer = self._reload_pointer()
        damaged = self._damaged_active(pointer)
        if damaged is None or pointer.active is None:
            return
        problem, fallback = damaged
        self._info[pointer.active] = replace(self.info(pointer.active),
                                             problem=f"failed its check, will not play: {problem}")
        self._pointer = Pointer(active=fallback, previous=None, generation=pointer.generation)

    def _damaged_active(self, pointer: Pointer) -> tuple[str, str | None] | None:
        """(why the active bundle cannot play, the healthy previous one to fall back to or None),
        or None when the active bundle plays (or there is none)."""
        if pointer.active is None:
            return None
        problem = self._problem(pointer.active)
        if problem is None:
            return None
        fallback = pointer.previous if pointer.previous and not self._problem(pointer.previous) else None
        return problem, fallback

    def _problem(self, sha256: str) -> str | None:
        """Why the stored bundle `sha256` cannot be played (None if it verifies in full)."""
        path = self.layout.bundle(sha256)
        try:
            mode = os.lstat(path).st_mode
        except FileNotFoundError:
            return f"{path.name} is missing from the store"
        if not stat.S_ISREG(mode):
            return f"{path.name} is not a regular file"
        try:
            with open_bundle(path, verify=True):
                return None
        except BundleError as bad:
            return str(bad)

    # ------------------------------------------------------------------ reading

    @property
    def pointer(self) -> Pointer:
        return self._pointer

    @property
    def generation(self) -> int:
        return self._pointer.generation

    def poll(self) -> bool:
        """Re-read the pointer if another process replaced it; True if the active bundle changed."""
        if self._file_id() == self._pointer_id:
            return False
        before = self._pointer.generation
        self._reload_pointer()
        return self._pointer.generation != before

    def active_path(self) -> Path | None:
        active = self._pointer.active
        return None if active is None else self.layout.bundle(active)

    def active(self) -> InstalledBundle | None:
        active = self._pointer.active
        return None if active is None else self.info(active)

    @property
    def on_trial(self) -> bool:
        return self._pointer.active is not None and self._pointer.trial is not None

    def info(self, sha256: str) -> InstalledBundle:
        cached = self._info.get(sha256)
        if cached is not None:
            return cached
        path = self.layout.bundle(sha256)
        sig_path = self.layout.signature(sha256)
        signed_by = None
        with contextlib.suppress(StoreError, OSError):
            signed_by = Signature.from_doc(load_signature_doc(sig_path), str(sig_path)).key_id
        try:
            size = os.lstat(path).st_size
            with open_bundle(path, verify=False) as bundle:
                m = bundle.manifest
                found = InstalledBundle(sha256, path, str(m["name"]), int(m["version"]), str(m["kind"]),
                                        int(m["sample_rate"]), size, str(m.get("created", "")), signed_by)
        except (BundleError, OSError) as bad:
            return InstalledBundle(sha256, path, "?", 0, "?", 0, 0, "", signed_by, problem=str(bad))
        self._info[sha256] = found
        return found

    def bundles(self) -> list[InstalledBundle]:
        found = []
        for entry in os.scandir(self.layout.bundles):
            match = BUNDLE_FILE_RE.fullmatch(entry.name)
            if match and entry.is_file(follow_symlinks=False):
                found.append(self.info(match.group(1)))
        return sorted(found, key=lambda b: (b.name, b.version, b.created, b.sha256))

    def failures(self) -> list[dict[str, Any]]:
        return read_failures(self.layout.failures)

    def find(self, ref: str) -> InstalledBundle:
        """A bundle by full or abbreviated sha256 (6+ hex digits), NAME (newest) or NAME@VERSION."""
        if not ref or "/" in ref or ".." in ref or "\\" in ref:
            raise StoreError(f"{ref!r} is not a bundle name or sha256 (store entries are never "
                             "addressed by path); see `latent models list`")
        installed = [b for b in self.bundles() if b.problem is None]
        if re.fullmatch(r"[0-9a-f]{6,64}", ref):
            hits = [b for b in installed if b.sha256.startswith(ref)]
            if len(hits) == 1:
                return hits[0]
            if len(hits) > 1:
                raise StoreError(f"{ref!r} matches {len(hits)} bundles; give more digits of the sha256")
        name, _, version = ref.partition("@")
        hits = [b for b in installed if b.name == name and (not version or str(b.version) == version)]
        if not hits:
            raise StoreError(f"no bundle {ref!r} in the store; see `latent models list`")
        return hits[-1]

    # ------------------------------------------------------------------ installing

    def offer(self, offer: TransferOffer, options: InstallOptions = InstallOptions()) -> IncomingTransfer:
        """Accept (or refuse, with the reason) an announced transfer; returns its staging."""
        offer = offer.checked(self.policy.max_bundle_bytes)
        if offer.signature is not None:
            # The signature covers the announced size and sha256, so it is checked in full now:
            # no unauthenticated byte reaches the disk. DONE checks the bytes hash to the same.
            self.trust.verify_claim(offer.signature, size=offer.size, sha256=offer.sha256,
                                    label=offer.name)
        elif not options.allow_unsigned:
            raise StoreError(f"{offer.name} is unsigned and this device accepts only signed bundles: "
                             "sign it with `latent keys sign` (or allow unsigned bundles on the device "
                             "with --allow-unsigned, for tinkering)")
        with self._locked():
            if os.path.lexists(self.layout.bundle(offer.sha256)):
                return IncomingTransfer(self.fs, self.layout.bundle(offer.sha256), offer,
                                        sync_every=self.policy.sync_every_bytes, existing=True)
            self._drop_other_staging(offer.sha256)
            staged = self.layout.staged(offer.sha256)
            have = os.lstat(staged).st_size if os.path.lexists(staged) else 0
            self._check_room(offer, max(0, offer.size - have))
            return IncomingTransfer(self.fs, staged, offer, sync_every=self.policy.sync_every_bytes)

    def _drop_other_staging(self, keep_sha: str) -> None:
        """One transfer at a time: a new bundle's offer drops other half-sent ones (bounded disk),
        but never one that a live transfer is still writing: that offer is refused instead."""
        keep = self.layout.staged(keep_sha).name
        dropped = False
        for entry in os.scandir(self.layout.staging):
            if entry.name != keep and not entry.is_dir(follow_symlinks=False):
                if staging_in_use(Path(entry.path)):
                    raise StoreError(
                        f"another transfer into this store is in progress ({entry.name}, "
                        f"{entry.stat(follow_symlinks=False).st_size} bytes so far); try again when it "
                        "has finished (a silent sender is dropped after its session timeout)")
                self.fs.unlink(Path(entry.path), "staging: drop other transfer")
                dropped = True
        if dropped:
            self.fs.fsync_dir(self.layout.staging, "staging: fsync directory")

    def _check_room(self, offer: TransferOffer, needed: int) -> None:
        free = shutil.disk_usage(self.layout.staging).free
        if free - needed < self.policy.reserve_bytes:
            raise StoreError(
                f"not enough free space for {offer.name}: it needs {needed} more bytes and the store "
                f"keeps {self.policy.reserve_bytes} bytes free, but only {free} are free; remove old "
                "bundles with `latent models remove`")

    def install_file(self, path: str | os.PathLike[str], signature: dict[str, Any] | None = None,
                     options: InstallOptions = InstallOptions()) -> InstallResult:
        """Copy a local bundle file into staging and install it.

        The file is opened once: a regular file only (a FIFO, device or directory is refused at
        once), its size checked against the limit before a byte is hashed, and the bytes hashed
        are the bytes copied.
        """
        path = Path(path)
        fd, st = open_regular(path, what="a bundle file", error=StoreError)
        with os.fdopen(fd, "rb") as f:
            if st.st_size > self.policy.max_bundle_bytes:
                raise StoreError(f"{path}: {st.st_size} bytes is over this device's limit of "
                                 f"{self.policy.max_bundle_bytes} bytes per bundle; make a smaller bundle")
            try:
                sha, size = stream_sha256(f, limit=self.policy.max_bundle_bytes + 1)
            except OSError as bad:
                raise StoreError(f"{path}: cannot read: {bad.strerror or bad}") from None
            if size != st.st_size:
                raise StoreError(f"{path}: the file changed size while it was read; install it again "
                                 "once nothing writes to it")
            name = re.sub(r"[^A-Za-z0-9._+-]", "_", path.name).lstrip("._-+") or "bundle"
            incoming = self.offer(TransferOffer(name=name.replace("..", "_"), size=size, sha256=sha,
                                                signature=signature), options)
            if not incoming.existing:
                try:
                    if incoming.offset:
                        f.seek(0)
                        if incoming.prefix_sha256() != stream_sha256(f, limit=incoming.offset)[0]:
                            incoming.restart()  # staged bytes are not this file's beginning
                    f.seek(incoming.offset)
                    while not incoming.complete:
                        chunk = f.read(min(COPY_CHUNK, incoming.offer.size - incoming.offset))
                        if not chunk:
                            raise StoreError(f"{path}: the file shrank while it was being copied")
                        incoming.write(incoming.offset, chunk)
                except BaseException:
                    incoming.close()
                    raise
        return self.install_incoming(incoming, options)

    def install_incoming(self, incoming: IncomingTransfer,
                         options: InstallOptions = InstallOptions()) -> InstallResult:
        """Verify a completely staged transfer and publish it (and activate it, unless told not to).

        Any refusal discards the staged copy and leaves the active bundle untouched.
        """
        offer = incoming.offer
        with self._locked():
            self._reload_pointer()
            if incoming.existing:
                return self._adopt(offer.sha256, options, installed=False)
            incoming.close()
            if not incoming.complete:
                raise StoreError(f"{offer.name}: transfer incomplete: {incoming.offset} of {offer.size} "
                                 "bytes arrived; send it again to resume")
            try:
                actual = file_sha256(incoming.path)
                if actual != offer.sha256:
                    raise StoreError(f"{offer.name}: the received bytes hash to {actual[:16]}…, not the "
                                     f"announced {offer.sha256[:16]}…: corrupted in transit; flash again")
                signer = self._verify_signature(incoming.path, offer, options)
                self._check_compatible(incoming.path, offer, options)
            except BaseException:
                incoming.discard()
                raise
            if os.path.lexists(self.layout.bundle(offer.sha256)):
                # Arrived meanwhile by another route: never replace a file that may be mapped.
                incoming.discard()
                return self._adopt(offer.sha256, options, installed=False)
            self._publish(incoming.path, offer.sha256, offer.signature if signer else None)
            return self._adopt(offer.sha256, options, installed=True)

    def _verify_signature(self, path: Path, offer: TransferOffer, options: InstallOptions) -> str | None:
        if offer.signature is None:
            if not options.allow_unsigned:
                raise StoreError(f"{offer.name} is unsigned and this device accepts only signed bundles")
            return None
        # A signature that is present must be right even when unsigned bundles are allowed. The
        # staged file was just hashed to offer.sha256 and is complete, so the claim is the file.
        return self.trust.verify_claim(offer.signature, size=offer.size, sha256=offer.sha256,
                                       label=offer.name)

    def _check_compatible(self, path: Path, offer: TransferOffer, options: InstallOptions) -> None:
        with open_bundle(path, verify=True, label=offer.name, follow_links=False) as bundle:
            kind, rate, name = bundle.kind, bundle.sample_rate, bundle.name
            version = int(bundle.manifest["version"])
        if kind not in self.policy.kinds:
            raise StoreError(f"{offer.name}: this device plays {', '.join(self.policy.kinds)} bundles, "
                             f"not {kind!r}")
        if rate not in self.policy.sample_rates:
            raise StoreError(f"{offer.name}: sample rate {rate} Hz is not one this device runs at "
                             f"({', '.join(map(str, self.policy.sample_rates))}); rebuild the bundle")
        self._check_not_older(offer.name, name, version, options)

    def _check_not_older(self, label: str, name: str, version: int, options: InstallOptions) -> None:
        if options.allow_older:
            return
        newest = max((b.version for b in self.bundles() if b.name == name and b.problem is None),
                     default=None)
        if newest is not None and version < newest:
            raise StoreError(f"{label}: {name!r} v{version} is older than the installed v{newest}; "
                             "refused (rollback protection: an old signed bundle must not be replayed "
                             "onto the device); flash a newer version, or on the device go back on "
                             f"purpose with `latent models activate {name}@{version}` (if stored) or "
                             "`latent install --allow-older`")

    def _publish(self, staged: Path, sha256: str, signature: dict[str, Any] | None) -> None:
        target = self.layout.bundle(sha256)
        if signature is not None:
            write_atomic(self.fs, self.layout.signature(sha256), signature_bytes(signature),
                         "store signature")
        self.fs.rename(staged, target, "publish bundle")
        self.fs.fsync_dir(self.layout.bundles, "publish bundle: fsync bundles/")
        self.fs.fsync_dir(self.layout.staging, "publish bundle: fsync staging/")

    def _adopt(self, sha256: str, options: InstallOptions, *, installed: bool) -> InstallResult:
        bundle = self.info(sha256)
        previous = self._pointer.active
        if not options.activate:
            return InstallResult("stored" if installed else "unchanged", bundle, previous)
        if previous == sha256:
            return InstallResult("unchanged", bundle, previous)
        if not installed:
            self._check_not_older(bundle.label(), bundle.name, bundle.version, options)
            problem = self._problem(sha256)
            if problem:
                raise StoreError(f"the stored copy of {bundle.label()} is damaged ({problem}); "
                                 f"remove it with `latent models remove {sha256[:12]}` and flash again")
        self._switch(sha256)
        return InstallResult("installed" if installed else "activated", bundle, previous)

    def _switch(self, sha256: str) -> None:
        old = self._pointer
        self._write_pointer(Pointer(active=sha256, previous=old.active if old.active != sha256
                                    else old.previous, generation=old.generation + 1,
                                    trial=Trial(started=self.clock())))

    # ------------------------------------------------------------------ people's commands

    def activate(self, ref: str) -> InstalledBundle:
        with self._locked():
            self._reload_pointer()
            bundle = self.find(ref)
            if self._pointer.active == bundle.sha256:
                return bundle
            problem = self._problem(bundle.sha256)
            if problem:
                raise StoreError(f"{bundle.label()} cannot be activated: {problem}")
            # A person choosing a stored bundle on the device may go back to an older version.
            self._check_compatible(bundle.path, TransferOffer(bundle.name, bundle.size, bundle.sha256),
                                   InstallOptions(allow_older=True))
            self._switch(bundle.sha256)
            return bundle

    def rollback(self) -> InstalledBundle:
        """Make the previous bundle active again (and the current one previous)."""
        with self._locked():
            pointer = self._reload_pointer()
            if pointer.previous is None:
                raise StoreError("nothing to roll back to: there is no previous bundle; activate one "
                                 "by name (see `latent models list`)")
            problem = self._problem(pointer.previous)
            if problem:
                raise StoreError(f"cannot roll back: the previous bundle is damaged ({problem})")
            self._write_pointer(Pointer(active=pointer.previous, previous=pointer.active,
                                        generation=pointer.generation + 1))
            return self.info(pointer.previous)

    def remove(self, ref: str) -> InstalledBundle:
        with self._locked():
            pointer = self._reload_pointer()
            bundle = self.find(ref)
            if bundle.sha256 == pointer.active:
                raise StoreError(f"{bundle.label()} is active and cannot be removed; activate another "
                                 "bundle first")
            if bundle.sha256 == pointer.previous:
                # The pointer must never name a missing file: forget it before deleting.
                self._write_pointer(Pointer(active=pointer.active, previous=None,
                                            generation=pointer.generation, trial=pointer.trial))
            for path in (self.layout.signature(bundle.sha256), bundle.path):
                if os.path.lexists(path):
                    self.fs.unlink(path, "remove bundle")
            self.fs.fsync_dir(self.layout.bundles, "remove bundle: fsync bundles/")
            self._info.pop(bundle.sha256, None)
            return bundle

    def trust_key(self, public_key_file: str | os.PathLike[str]) -> str:
        """Add a public key to the keys whose signatures this device accepts; returns its key id."""
        path = Path(public_key_file)
        text = read_text(path, max_bytes=MAX_KEY_FILE_BYTES, what="a public key file", error=StoreError)
        public = parse_public_key(text, str(path))
        kid = key_id(public)
        with self._locked():
            write_atomic(self.fs, self.layout.trusted_keys / f"{kid}.pub",
                         public_key_line(public, comment=" ".join(text.split()[2:])).encode("utf-8"),
                         "trust key")
        return kid

    # ------------------------------------------------------------------ trial

    def _log_failure(self, sha256: str | None, reason: str, action: str) -> None:
        name = None
        if sha256 is not None:
            info = self.info(sha256)
            name = None if info.problem else f"{info.name} v{info.version}"
        append_failure(self.fs, self.layout.failures, when=self.clock(), sha256=sha256, name=name,
                       reason=reason, action=action)

    def note_service_start(self) -> bool:
        """Call once when the service starts; True if a crash loop made the store roll back."""
        with self._locked():
            pointer = self._reload_pointer()
            if pointer.active is None or pointer.trial is None:
                return False
            trial, starts = record_start(pointer.trial, self.clock(), self.policy.trial)
            reason = crash_loop_reason(starts, self.policy.trial)
            if reason is None:
                self._write_pointer(Pointer(pointer.active, pointer.previous, pointer.generation, trial))
                return False
            return self._fail_trial(pointer, reason) is not None

    def report_trial_ok(self) -> None:
        """The active bundle loaded and sounded fine: it is no longer on trial."""
        with self._locked():
            pointer = self._reload_pointer()
            if pointer.trial is not None:
                self._write_pointer(Pointer(pointer.active, pointer.previous, pointer.generation, None))

    def report_trial_failed(self, reason: str) -> InstalledBundle | None:
        """The active bundle failed its trial: restore the previous one (returned) and log why.

        Returns None when nothing was rolled back (not on trial, or no healthy previous bundle);
        the failure is logged either way.
        """
        with self._locked():
            pointer = self._reload_pointer()
            if pointer.active is None:
                return None
            if pointer.trial is None:
                self._log_failure(pointer.active, reason, "none: the bundle was not on trial")
                return None
            return self._fail_trial(pointer, reason)

    def _fail_trial(self, pointer: Pointer, reason: str) -> InstalledBundle | None:
        target = pointer.previous
        problem = self._problem(target) if target else "there is no previous bundle"
        if problem:
            self._log_failure(pointer.active, reason, f"kept: cannot roll back ({problem})")
            self._write_pointer(Pointer(pointer.active, pointer.previous, pointer.generation, None))
            return None
        assert target is not None
        self._log_failure(pointer.active, reason, f"rolled back to {self.info(target).label()}")
        # The failed bundle does not become "previous": a later rollback must not bring it back.
        self._write_pointer(Pointer(active=target, previous=None, generation=pointer.generation + 1))
        return self.info(target)
