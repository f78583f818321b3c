"""A recording `FsOps` that knows what a power cut would keep (store layer, fault injection).

`PowerCutFs` performs every operation on the real directory tree (so the store under test runs
normally) and, beside it, keeps a model of what is durable: a file's bytes as of its last fsync,
a directory's entries as of its last directory fsync. It can be told to "lose power" before its
N-th operation; from then on every call raises `PowerCut` and does nothing (`on_cut` runs first:
a test can make it kill the process there instead). `materialize(dest)`
then writes the tree a machine would find after rebooting:

- ``"power"``: only what was synced: unsynced data and unsynced renames, creations and unlinks are
  all lost (the worst case a POSIX file system allows);
- ``"names"``: every name change survives but file contents only as of their last fsync (the
  classic "renamed but empty file" outcome of delayed allocation);
- ``"kill"``: everything survives (the process died, the kernel did not).

The store's crash tests run an install, cut at every operation in turn, materialize, reopen the
store on the result and check that it starts on a complete bundle.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from device.store.fsops import RealFs, RealHandle

MODES = ("power", "names", "kill")


class PowerCut(BaseException):
    """Raised by every operation once the simulated power is off (not an Exception on purpose:
    the store's error handling must not be able to swallow it and carry on)."""


@dataclass
class _Node:
    is_dir: bool
    live: bytearray = field(default_factory=bytearray)
    durable: bytes = b""
    live_entries: dict[str, int] = field(default_factory=dict)
    durable_entries: dict[str, int] = field(default_factory=dict)


class _Handle:
    def __init__(self, fs: PowerCutFs, real: RealHandle, ino: int, why: str) -> None:
        self._fs = fs
        self._real = real
        self._ino = ino
        self._why = why
        self.path = real.path

    def write(self, data: bytes | memoryview) -> None:
        self._fs._step(f"{self._why}: write")
        self._real.write(data)
        self._fs._nodes[self._ino].live += bytes(data)

    def sync(self) -> None:
        self._fs._step(f"{self._why}: fsync")
        self._real.sync()
        node = self._fs._nodes[self._ino]
        node.durable = bytes(node.live)

    def truncate(self, size: int) -> None:
        self._fs._step(f"{self._why}: truncate")
        self._real.truncate(size)
        del self._fs._nodes[self._ino].live[size:]

    def close(self) -> None:
        # Closing changes nothing on disk; it is not a point where power could matter.
        self._real.close()


class PowerCutFs:
    """`FsOps` over a real tree under `root`, recording durability; see the module docstring."""

    def __init__(self, root: Path, *, cut_before: int | None = None,
                 on_cut: Callable[[str], None] | None = None) -> None:
        self.root = Path(root)
        self.cut_before = cut_before
        self.on_cut = on_cut
        self.steps: list[str] = []
        self.dead = False
        self._real = RealFs()
        self._nodes: dict[int, _Node] = {0: _Node(is_dir=True)}
        self._snapshot(self.root, 0)

    def _snapshot(self, directory: Path, ino: int) -> None:
        for entry in sorted(os.scandir(directory), key=lambda e: e.name):
            child = len(self._nodes)
            if entry.is_dir(follow_symlinks=False):
                self._nodes[child] = _Node(is_dir=True)
                self._snapshot(Path(entry.path), child)
            elif entry.is_file(follow_symlinks=False):
                data = Path(entry.path).read_bytes()
                self._nodes[child] = _Node(is_dir=False, live=bytearray(data), durable=data)
            else:
                continue
            self._nodes[ino].live_entries[entry.name] = child
            self._nodes[ino].durable_entries[entry.name] = child

    def _step(self, why: str) -> None:
        if self.dead:
            raise PowerCut(f"power is off (cut before step {self.cut_before})")
        if self.cut_before is not None and len(self.steps) >= self.cut_before:
            self.dead = True
            if self.on_cut is not None:
                self.on_cut(why)
            raise PowerCut(f"power cut before step {len(self.steps)}: {why}")
        self.steps.append(why)

    def _parent(self, path: Path) -> tuple[int, str]:
        parts = Path(path).relative_to(self.root).parts
        ino = 0
        for part in parts[:-1]:
            ino = self._nodes[ino].live_entries[part]
        return ino, parts[-1]

    def _lookup(self, path: Path) -> int | None:
        parent, name = self._parent(path)
        return self._nodes[parent].live_entries.get(name)

    def mkdir(self, path: Path, why: str) -> None:
        self._step(why)
        self._real.mkdir(path, why)
        parent, name = self._parent(path)
        ino = len(self._nodes)
        self._nodes[ino] = _Node(is_dir=True)
        self._nodes[parent].live_entries[name] = ino

    def _open(self, path: Path, why: str, real: RealHandle, truncate: bool) -> _Handle:
        ino = self._lookup(path)
        if ino is None:
            ino = len(self._nodes)
            self._nodes[ino] = _Node(is_dir=False)
            parent, name = self._parent(path)
            self._nodes[parent].live_entries[name] = ino
        elif truncate:
            self._nodes[ino].live.clear()
        return _Handle(self, real, ino, why)

    def create(self, path: Path, why: str) -> _Handle:
        self._step(f"{why}: create")
        return self._open(path, why, self._real.create(path, why), truncate=True)

    def append(self, path: Path, why: str) -> _Handle:
        self._step(f"{why}: open")
        return self._open(path, why, self._real.append(path, why), truncate=False)

    def rename(self, src: Path, dst: Path, why: str) -> None:
        self._step(why)
        self._real.rename(src, dst, why)
        src_parent, src_name = self._parent(src)
        ino = self._nodes[src_parent].live_entries.pop(src_name)
        dst_parent, dst_name = self._parent(dst)
        self._nodes[dst_parent].live_entries[dst_name] = ino

    def unlink(self, path: Path, why: str) -> None:
        self._step(why)
        self._real.unlink(path, why)
        parent, name = self._parent(path)
        del self._nodes[parent].live_entries[name]

    def fsync_dir(self, path: Path, why: str) -> None:
        self._step(why)
        self._real.fsync_dir(path, why)
        ino = 0 if Path(path) == self.root else self._lookup(path)
        assert ino is not None, f"fsync of unknown directory {path}"
        node = self._nodes[ino]
        node.durable_entries = dict(node.live_entries)

    def materialize(self, dest: Path, mode: str = "power") -> None:
        """Write the tree that would be found after the cut (see the module docstring)."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        Path(dest).mkdir(parents=True, exist_ok=True)
        self._write_tree(Path(dest), 0, mode)

    def _write_tree(self, directory: Path, ino: int, mode: str) -> None:
        node = self._nodes[ino]
        entries = node.durable_entries if mode == "power" else node.live_entries
        for name, child_ino in entries.items():
            child = self._nodes[child_ino]
            target = directory / name
            if child.is_dir:
                target.mkdir()
                self._write_tree(target, child_ino, mode)
            else:
                target.write_bytes(bytes(child.live) if mode == "kill" else child.durable)
