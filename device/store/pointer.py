"""The store's pointer file: which bundle is active, which was before, and the trial (store layer).

One small JSON file replaced atomically (temp + fsync + rename + directory fsync). Active and
previous live in the same file on purpose: two files could not be switched together, and a crash
between two renames would leave a pair that never existed. The generation counts every change of
the active bundle, so a running instrument can see that it must swap.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from device.errors import StoreError
from device.safe_read import loads_json
from device.store.fsops import FsOps, write_atomic
from device.store.layout import check_sha256

POINTER_FORMAT = "latent-store-pointer-v1"


@dataclass(frozen=True)
class Trial:
    """The active bundle is on trial since `started`; `starts` are service starts seen since."""

    started: float
    starts: tuple[float, ...] = ()


@dataclass(frozen=True)
class Pointer:
    active: str | None = None
    previous: str | None = None
    generation: int = 0
    trial: Trial | None = None

    def to_json(self) -> bytes:
        doc = {
            "format": POINTER_FORMAT,
            "active": self.active,
            "previous": self.previous,
            "generation": self.generation,
            "trial": None if self.trial is None else {
                "started": self.trial.started, "starts": list(self.trial.starts)},
        }
        return (json.dumps(doc, indent=1, sort_keys=True) + "\n").encode("utf-8")


def _sha_or_none(path: Path, doc: dict[str, Any], key: str) -> str | None:
    value = doc.get(key)
    if value is None:
        return None
    try:
        return check_sha256(value)
    except StoreError:
        raise StoreError(f"{path}: field {key!r} is not a sha256 ({value!r}); the pointer is damaged: "
                         "repair it with `latent models activate NAME`") from None


def parse_pointer(path: Path, raw: bytes) -> Pointer:
    try:
        doc = loads_json(raw, source=str(path), error=StoreError)
    except StoreError as bad:
        raise StoreError(f"{bad}; the pointer is damaged: repair it with `latent models activate NAME`"
                         ) from None
    if not isinstance(doc, dict) or doc.get("format") != POINTER_FORMAT:
        raise StoreError(f"{path}: not a {POINTER_FORMAT} file; repair it with "
                         "`latent models activate NAME`")
    generation = doc.get("generation")
    if not isinstance(generation, int) or generation < 0:
        raise StoreError(f"{path}: generation {generation!r} is not a count")
    trial_doc = doc.get("trial")
    trial = None
    if isinstance(trial_doc, dict):
        starts = trial_doc.get("starts", [])
        trial = Trial(started=float(trial_doc.get("started", 0.0)),
                      starts=tuple(float(s) for s in starts if isinstance(s, int | float)))
    return Pointer(
        active=_sha_or_none(path, doc, "active"),
        previous=_sha_or_none(path, doc, "previous"),
        generation=generation,
        trial=trial,
    )


def read_pointer(path: Path) -> Pointer:
    """The pointer on disk; an empty pointer (nothing active, generation 0) when there is none."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return Pointer()
    return parse_pointer(path, raw)


def write_pointer(fs: FsOps, path: Path, pointer: Pointer) -> None:
    write_atomic(fs, path, pointer.to_json(), "switch pointer")
