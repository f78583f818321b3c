"""Where the model store keeps what, and which names may enter it (store layer).

    ROOT/                     default /var/lib/latent/models, or $LATENT_STORE
      pointer.json            active + previous bundle, generation, trial state (replaced atomically)
      bundles/<sha256>.bundle installed bundles, content-addressed, never written after their rename
      bundles/<sha256>.bundle.sig   detached signature, when the bundle came signed
      staging/<sha256>.part   an incoming transfer (resumable by offset); nothing else is written here
      trusted-keys/<key id>.pub     public keys whose signatures this device accepts
      failures.jsonl          one JSON line per failed trial or refused start, appended and fsynced
      .lock                   flock()ed by every process that changes the store

Names that arrive from outside (a bundle's display name over the wire, a reference on the command
line) are checked here and never used as paths: files in the store are named only by sha256 hex.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from device.errors import StoreError

DEFAULT_ROOT = Path("/var/lib/latent/models")
ROOT_ENV = "LATENT_STORE"

# Always used with fullmatch: `$` would also accept a trailing newline.
SHA256_RE = re.compile(r"[0-9a-f]{64}")
BUNDLE_FILE_RE = re.compile(r"([0-9a-f]{64})\.bundle")
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,127}")


def default_root() -> Path:
    return Path(os.environ.get(ROOT_ENV) or DEFAULT_ROOT)


@dataclass(frozen=True)
class StoreLayout:
    root: Path

    @property
    def pointer(self) -> Path:
        return self.root / "pointer.json"

    @property
    def bundles(self) -> Path:
        return self.root / "bundles"

    @property
    def staging(self) -> Path:
        return self.root / "staging"

    @property
    def trusted_keys(self) -> Path:
        return self.root / "trusted-keys"

    @property
    def failures(self) -> Path:
        return self.root / "failures.jsonl"

    @property
    def lock(self) -> Path:
        return self.root / ".lock"

    def bundle(self, sha256: str) -> Path:
        return self.bundles / f"{check_sha256(sha256)}.bundle"

    def signature(self, sha256: str) -> Path:
        return self.bundles / f"{check_sha256(sha256)}.bundle.sig"

    def staged(self, sha256: str) -> Path:
        return self.staging / f"{check_sha256(sha256)}.part"


def check_sha256(value: object) -> str:
    if not isinstance(value, str) or not SHA256_RE.fullmatch(value):
        raise StoreError(f"{value!r:.80} is not a sha256 digest (64 lowercase hex digits)")
    return value


def check_bundle_name(name: object) -> str:
    """A bundle's display name as sent by a host: a plain file name, never a path."""
    if not isinstance(name, str) or not name:
        raise StoreError(f"bundle name {name!r:.80} is empty or not text; send a plain file name")
    if name.startswith("/") or "\\" in name or "/" in name:
        raise StoreError(f"bundle name {name!r} is a path, not a plain file name; "
                         "absolute paths and directories are refused")
    if ".." in name:
        raise StoreError(f"bundle name {name!r} contains '..'; parent-directory names are refused")
    if not _NAME_RE.fullmatch(name):
        raise StoreError(f"bundle name {name!r} may only use letters, digits and . _ + - "
                         "(at most 128 characters, starting with a letter or digit)")
    return name
