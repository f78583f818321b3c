"""The store's failure log: one JSON line per failed trial or broken bundle (store layer).

Appended and fsynced, so the reason a gallery's instrument went back to an older model survives
the power cut that may follow. Read by `latent models log`.
"""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path
from typing import Any

from device.store.fsops import FsOps


def append_failure(fs: FsOps, path: Path, *, when: float, sha256: str | None, name: str | None,
                   reason: str, action: str) -> dict[str, Any]:
    entry = {
        "time": _dt.datetime.fromtimestamp(when, _dt.UTC).isoformat(timespec="seconds"),
        "sha256": sha256,
        "name": name,
        "reason": reason,
        "action": action,
    }
    existed = path.exists()
    handle = fs.append(path, "failure log")
    try:
        handle.write((json.dumps(entry, sort_keys=True) + "\n").encode("utf-8"))
        handle.sync()
    finally:
        handle.close()
    if not existed:
        fs.fsync_dir(path.parent, "failure log: fsync directory")
    return entry


def read_failures(path: Path) -> list[dict[str, Any]]:
    """Every readable entry, oldest first (a line torn by a crash is skipped)."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return []
    entries = []
    for line in lines:
        try:
            entry = json.loads(line)
        except (ValueError, RecursionError):  # a torn or damaged line
            continue
        if isinstance(entry, dict):
            entries.append(entry)
    return entries
