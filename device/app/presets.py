"""Numbered preset slots: store and recall the latent point, pitch set and engine settings (app layer).

A preset is what the instrument plays at one moment: the latent point, the pitch, the mapping's
preset (its scale of pitch keys and its parameter ranges) and the engine parameters. Slots are
numbered 1..`slots`; each is one small readable JSON file (`slot-07.json`, with a format name and
version) in the presets directory, written with the store's atomic write (temporary file, fsync,
rename, directory fsync: `device.store.fsops.write_atomic`), so a power cut leaves the old
preset or the new one, never a torn file. The file system is injected (`fs`), so tests cut the
power at every step with `device.store.powercut.PowerCutFs`. Files are read back bounded and
strictly (`device.safe_read`, `device.config_file`): a damaged or foreign file is refused by name.

Recall goes through `PresetSource`, a control source of `device.app.control_merge`: the recalled
point and parameters hold until the sensors move away from where they were at recall by more
than `takeover` (like a fader picking up a stored value), then the sensors play again.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from device.app.control_merge import PRIORITY_PRESET, Contribution
from device.config_file import TableReader, top_table
from device.errors import PresetError
from device.mapping.config import MAX_AXES, PARAM_NAMES
from device.mapping.control_state import ControlState, ParamValue
from device.mapping.map_file import param_value
from device.safe_read import loads_json, read_text
from device.store.fsops import FsOps, RealFs, write_atomic

FORMAT = "latent-preset"
VERSION = 1
MAX_PRESET_BYTES = 64 * 1024
DEFAULT_DIR = Path("/var/lib/latent/presets")
_SLOT_FILE = re.compile(r"slot-(\d{2,3})\.json")


@dataclass(frozen=True)
class PresetSettings:
    """The `[presets]` section: where the slots live, how many, and the takeover distance."""

    dir: Path = DEFAULT_DIR
    slots: int = 16
    takeover: float = 0.05


def read_presets(table: TableReader) -> PresetSettings:
    d = PresetSettings()
    settings = PresetSettings(
        dir=Path(table.string("dir", str(d.dir), non_empty=True)),
        slots=table.integer("slots", d.slots, lo=1, hi=128),
        takeover=table.number("takeover", d.takeover, lo=0.0, hi=1.0),
    )
    table.finish()
    return settings


@dataclass(frozen=True)
class Preset:
    """One stored moment of the instrument."""

    point: tuple[float, ...]
    pitch: float
    params: dict[str, ParamValue]
    map_preset: str | None = None
    name: str = ""

    @classmethod
    def from_state(cls, state: ControlState, map_preset: str | None = None, name: str = "") -> Preset:
        # Gain follows the hands (the note envelope): a preset keeps the sound, not the moment's loudness.
        params = {k: v for k, v in state.params.items() if k != "gain"}
        return cls(tuple(state.point), float(state.pitch), params, map_preset, name)

    def to_json(self, slot: int) -> dict[str, Any]:
        return {"format": FORMAT, "version": VERSION, "slot": slot, "name": self.name,
                "point": list(self.point), "pitch": self.pitch, "map_preset": self.map_preset,
                "params": dict(self.params)}


def _param(table: TableReader, key: str) -> ParamValue:
    if key not in PARAM_NAMES:
        raise table.fail(key, "unknown engine parameter", ", ".join(PARAM_NAMES))
    return param_value(table, key, key)


def parse_preset(text: str, source: str) -> tuple[int, Preset]:
    """The slot and preset a file holds, strictly (unknown format, version or keys refused)."""
    table = top_table(loads_json(text, source=source, error=PresetError), source, error=PresetError,
                      hint="store the slot again to replace it")
    fmt = table.string("format")
    if fmt != FORMAT:
        raise table.fail("format", f"is {fmt!r}, not a preset file", repr(FORMAT))
    table.integer("version", lo=VERSION, hi=VERSION)
    slot = table.integer("slot", lo=1, hi=128)
    name = table.string("name", "")
    point = tuple(table.numbers("point", lo=0.0, hi=1.0, min_len=1))
    if len(point) > MAX_AXES:
        raise table.fail("point", f"has {len(point)} axes", f"at most {MAX_AXES}")
    pitch = table.number("pitch", lo=0.0, hi=127.0)
    map_preset = table.raw("map_preset", None)
    if map_preset is not None and not isinstance(map_preset, str):
        raise table.fail("map_preset", "is not a name", "a string or null")
    params_table = table.table("params")
    params = {key: _param(params_table, key) for key in params_table.names()}
    params_table.finish()
    table.finish()
    return slot, Preset(point, pitch, params, map_preset, name)


class PresetStore:
    """The slot files in one directory (created on first store)."""

    def __init__(self, directory: Path, slots: int = 16, *, fs: FsOps | None = None) -> None:
        self.dir = Path(directory)
        self.slots = slots
        self.fs: FsOps = fs if fs is not None else RealFs()

    def path(self, slot: int) -> Path:
        self._check_slot(slot)
        return self.dir / f"slot-{slot:02d}.json"

    def _check_slot(self, slot: int) -> None:
        if isinstance(slot, bool) or not isinstance(slot, int) or not 1 <= slot <= self.slots:
            raise PresetError(f"preset slot {slot!r} does not exist; use 1..{self.slots}")

    def store(self, slot: int, preset: Preset) -> Path:
        """Write `preset` into `slot`, replacing what was there; atomic (see the module docstring)."""
        path = self.path(slot)
        text = _dumps(preset.to_json(slot)) + "\n"
        parse_preset(text, f"preset for slot {slot}")  # nothing is written that could not be read back
        if not self.dir.is_dir():
            self.fs.mkdir(self.dir, "presets: make directory")
            self.fs.fsync_dir(self.dir.parent, "presets: fsync parent")
        write_atomic(self.fs, path, text.encode(), f"presets: slot {slot}")
        return path

    def load(self, slot: int) -> Preset | None:
        """The preset in `slot`, None when the slot is empty; a damaged file raises PresetError."""
        path = self.path(slot)
        if not os.path.lexists(path):
            return None
        text = read_text(path, max_bytes=MAX_PRESET_BYTES, what="preset", error=PresetError)
        stored_slot, preset = parse_preset(text, str(path))
        if stored_slot != slot:
            raise PresetError(f"{path}: holds slot {stored_slot}, not {slot}; store the slot again")
        return preset

    def stored(self) -> list[int]:
        """The slots that hold a file, in order."""
        if not self.dir.is_dir():
            return []
        found = []
        for entry in os.scandir(self.dir):
            match = _SLOT_FILE.fullmatch(entry.name)
            if match and 1 <= int(match.group(1)) <= self.slots:
                found.append(int(match.group(1)))
        return sorted(found)


def _dumps(doc: dict[str, Any]) -> str:
    import json

    return json.dumps(doc, indent=2, sort_keys=False)


class PresetSource:
    """A recalled preset as a control source, held until the sensors take over (module docstring)."""

    name = "preset"
    priority = PRIORITY_PRESET

    def __init__(self, base: Callable[[], ControlState | None], takeover: float = 0.05) -> None:
        self._base = base
        self.takeover = takeover
        self._held: tuple[Preset, tuple[float, ...] | None] | None = None
        self.recalls = 0
        self.taken_over = 0

    @property
    def holding(self) -> bool:
        return self._held is not None

    def recall(self, preset: Preset) -> None:
        """Hold `preset` from the next control round (any thread: one attribute store)."""
        self._held = (preset, None)
        self.recalls += 1

    def contribute(self, now: float) -> Contribution | None:
        held = self._held
        if held is None:
            return None
        preset, anchor = held
        base = self._base()
        if base is not None:
            if anchor is None:
                self._held = (preset, tuple(base.point))  # where the sensors were at recall
            elif any(abs(b - a) > self.takeover for b, a in zip(base.point, anchor, strict=False)):
                self._held = None  # the hands moved: the sensors play again
                self.taken_over += 1
                return None
        return Contribution(point=preset.point, pitch=preset.pitch, params=preset.params)


class PresetBank:
    """Storing and recalling slots for the panel and MIDI program change.

    `state()` is the instrument's newest state, `mapper` has `preset` and `set_preset(name)` (the
    mapping's presets) or is None. `current` is the slot last stored or recalled (0: none yet).
    """

    def __init__(self, store: PresetStore, source: PresetSource, state: Callable[[], ControlState | None],
                 mapper: Any = None) -> None:
        self.store = store
        self.source = source
        self._state = state
        self.mapper = mapper
        self.current = 0

    def store_current(self, slot: int | None = None) -> int:
        """Store what plays now into `slot` (default: the current slot, or 1); returns the slot."""
        slot = slot if slot is not None else max(1, self.current)
        state = self._state()
        if state is None:
            raise PresetError("nothing has played yet: there is no state to store")
        map_preset = getattr(self.mapper, "preset", None)
        self.store.store(slot, Preset.from_state(state, map_preset))
        self.current = slot
        return slot

    def recall(self, slot: int) -> Preset:
        preset = self.store.load(slot)
        if preset is None:
            raise PresetError(f"preset slot {slot} is empty; store one first (hold the preset button)")
        if preset.map_preset is not None and self.mapper is not None \
                and preset.map_preset in getattr(self.mapper, "preset_names", ()):
            self.mapper.set_preset(preset.map_preset)
        self.source.recall(preset)
        self.current = slot
        return preset

    def recall_next(self) -> int | None:
        """Recall the stored slot after the current one (wrapping); None when nothing is stored."""
        stored = self.store.stored()
        if not stored:
            return None
        slot = next((s for s in stored if s > self.current), stored[0])
        self.recall(slot)
        return slot

    def program_change(self, program: int) -> None:
        """MIDI program N (0-based) recalls slot N + 1."""
        self.recall(program + 1)
