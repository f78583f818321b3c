"""Single notes from a General MIDI soundfont through the real fluidsynth synthesizer (host data layer).

Each note is played on a fresh synth that shares the one loaded soundfont: fluidsynth reuses its voice
objects and carries a little state (amplitude ramps) from one note into the next, so a shared synth
would make a note's samples depend on the note rendered before it. A fresh synth costs under a
millisecond; the soundfont (up to 150 MB of samples) is loaded once.

Reverb and chorus are switched off (dry notes), the output is read as float (no 16-bit dither, no
clipping before our own normalisation) and exactly as many frames are rendered as asked for.
fluidsynth applies events at its 64-frame block boundaries, so the note-off falls at the first block
boundary at or after `note_frames` (at most 63 frames, 4 ms at 16 kHz, late).
"""

from __future__ import annotations

import ctypes
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from host_tools.errors import DatasetError

_FLUID_OK = 0
_LOG_LEVELS = (0, 1, 2, 3, 4)  # panic, error, warning, info, debug: all silenced while we render
_INTERP_7TH_ORDER = 7

_INSTALL_LIB = (
    "install the fluidsynth library (Debian/Ubuntu: `apt-get install fluidsynth`, which brings "
    "libfluidsynth3) and the Python binding (`pip install pyfluidsynth`, part of the `host` extra)"
)


def _load_binding() -> Any:
    try:
        import fluidsynth
    except (ImportError, OSError) as err:
        raise DatasetError(f"cannot use fluidsynth ({err}); {_INSTALL_LIB}") from err
    return fluidsynth


class _Api:
    """The few libfluidsynth calls pyfluidsynth does not wrap, typed through its own loader."""

    def __init__(self, fluidsynth: Any) -> None:
        c_int, c_void_p = ctypes.c_int, ctypes.c_void_p
        cfunc = fluidsynth.cfunc
        self.write_float = cfunc(
            "fluid_synth_write_float",
            c_int,
            ("synth", c_void_p, 1),
            ("len", c_int, 1),
            ("lout", c_void_p, 1),
            ("loff", c_int, 1),
            ("lincr", c_int, 1),
            ("rout", c_void_p, 1),
            ("roff", c_int, 1),
            ("rincr", c_int, 1),
        )
        self.add_sfont = cfunc("fluid_synth_add_sfont", c_int, ("synth", c_void_p, 1), ("sfont", c_void_p, 1))
        self.remove_sfont = cfunc(
            "fluid_synth_remove_sfont", c_int, ("synth", c_void_p, 1), ("sfont", c_void_p, 1)
        )
        self.sfont_by_id = cfunc(
            "fluid_synth_get_sfont_by_id", c_void_p, ("synth", c_void_p, 1), ("id", c_int, 1)
        )
        self.sfont_id = cfunc("fluid_sfont_get_id", c_int, ("sfont", c_void_p, 1))
        self.set_interp = cfunc(
            "fluid_synth_set_interp_method",
            c_int,
            ("synth", c_void_p, 1),
            ("chan", c_int, 1),
            ("method", c_int, 1),
        )
        self.set_log_function = cfunc(
            "fluid_set_log_function",
            c_void_p,
            ("level", c_int, 1),
            ("fun", c_void_p, 1),
            ("data", c_void_p, 1),
        )
        self.version_str = cfunc("fluid_version_str", ctypes.c_char_p)
        missing = [name for name, fn in vars(self).items() if fn is None]
        if missing:
            raise DatasetError(f"this libfluidsynth lacks {', '.join(missing)}; install fluidsynth 2.x")


class FluidNoteRenderer:
    """Renders dry single notes of one soundfont; use as a context manager (or call close())."""

    def __init__(self, soundfont: Path, sample_rate: int) -> None:
        self._fluidsynth = _load_binding()
        self._api = _Api(self._fluidsynth)
        self.soundfont = Path(soundfont)
        self.sample_rate = int(sample_rate)
        self._saved_loggers = [self._api.set_log_function(level, None, None) for level in _LOG_LEVELS]
        self._owner = self._new_synth()
        sfid = self._owner.sfload(str(self.soundfont))
        if sfid < 0:
            self.close()
            raise DatasetError(
                f"fluidsynth could not load {self.soundfont} as a soundfont; give a .sf2 (or .sf3) file"
            )
        self._sfont = self._api.sfont_by_id(self._owner.synth, sfid)

    def _new_synth(self) -> Any:
        synth = self._fluidsynth.Synth(
            gain=1.0,
            samplerate=float(self.sample_rate),
            channels=16,
            **{
                "synth.reverb.active": 0,
                "synth.chorus.active": 0,
                "synth.cpu-cores": 1,
                "synth.dynamic-sample-loading": 0,
            },
        )
        self._api.set_interp(synth.synth, -1, _INTERP_7TH_ORDER)
        return synth

    @property
    def version(self) -> str:
        """libfluidsynth's and pyfluidsynth's versions, for the provenance of what was rendered."""
        from importlib.metadata import PackageNotFoundError, version

        try:
            binding = version("pyfluidsynth")
        except PackageNotFoundError:
            binding = "unknown"
        return f"libfluidsynth {self._api.version_str().decode()}, pyfluidsynth {binding}"

    def preset_name(self, program: int, bank: int = 0) -> str | None:
        """The soundfont's own name for a program, or None when it has no such preset."""
        name = self._owner.sfpreset_name(self._api.sfont_id(self._sfont), bank, program)
        return name or None

    def render(
        self, program: int, pitch: int, velocity: int, note_frames: int, total_frames: int
    ) -> np.ndarray | None:
        """Mono float32 of exactly `total_frames`: key held for `note_frames`, then released.

        None when the soundfont has no preset for the program (nothing was played).
        """
        if self._owner is None:
            raise DatasetError("this renderer is closed; open a new FluidNoteRenderer")
        synth = self._new_synth()
        added = False
        try:
            if self._api.add_sfont(synth.synth, self._sfont) < 0:
                raise DatasetError(f"fluidsynth refused to share {self.soundfont} with a new synth")
            added = True
            sfid = self._api.sfont_id(self._sfont)
            if synth.program_select(0, sfid, 0, program) != _FLUID_OK:
                return None
            stereo = np.zeros((total_frames, 2), dtype=np.float32)
            if synth.noteon(0, pitch, velocity) != _FLUID_OK:
                return None
            held = min(note_frames, total_frames)
            self._write(synth, stereo[:held])
            synth.noteoff(0, pitch)
            self._write(synth, stereo[held:])
            return stereo.mean(axis=1, dtype=np.float32)
        finally:
            if added:
                # The owner synth owns the soundfont; a note synth must not free it on delete.
                self._api.remove_sfont(synth.synth, self._sfont)
            synth.delete()

    def _write(self, synth: Any, out: np.ndarray) -> None:
        if len(out) == 0:
            return
        address = out.ctypes.data
        status = self._api.write_float(synth.synth, len(out), address, 0, 2, address, 1, 2)
        if status != _FLUID_OK:
            raise DatasetError(f"fluidsynth failed to render {len(out)} frames from {self.soundfont}")

    def close(self) -> None:
        if getattr(self, "_owner", None) is not None:
            self._owner.delete()
            self._owner = None
        for level, logger in zip(_LOG_LEVELS, getattr(self, "_saved_loggers", ()), strict=False):
            self._api.set_log_function(level, logger, None)
        self._saved_loggers = []

    def __enter__(self) -> FluidNoteRenderer:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()
