"""Provenance stamped into every bundle the bank tools build: tool, versions, source commit (host tools).

Kept out of the payloads on purpose: a rebuild from the same recipe must give byte-identical
payloads, while the provenance says where and with what the bundle was made.
"""

from __future__ import annotations

import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np

_SOURCE_ROOT = Path(__file__).resolve().parents[2]


def _package_version() -> str:
    try:
        return version("latent-instrument")
    except PackageNotFoundError:
        return "unknown (not installed)"


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(_SOURCE_ROOT), *args], capture_output=True,
                              text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def git_state() -> dict[str, Any]:
    """The source tree's commit and whether it had uncommitted changes (None when not a checkout)."""
    commit = _git("rev-parse", "HEAD")
    if commit is None:
        return {"git_commit": None, "git_dirty": None}
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {"git_commit": commit, "git_dirty": bool(status) if status is not None else None}


def tool_provenance(tool: str) -> dict[str, Any]:
    return {
        "tool": tool,
        "latent_instrument": _package_version(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "machine": platform.machine(),
        **git_state(),
    }
