"""Render a recipe's notes with fluidsynth into NSynth's layout (host data layer).

    DIR/examples.json           {note_str: {NSynth's fields}}, sorted, written last and atomically
    DIR/audio/<note_str>.wav    16-bit mono, exactly recipe.seconds long
    DIR/render.json             provenance: the recipe, the soundfont (sha256), skipped notes and why

Every note is dry, ends with a 10 ms fade where its tail is cut, and is peak-normalised to -1 dBFS.
Notes the synth cannot play (no preset), that come out silent, non-finite or as a bare click are
skipped and counted. The same recipe and soundfont give byte-identical files.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from device.files import file_sha256, write_file_atomically
from host_tools.data.audio_ops import FADE_SECONDS, envelope_qualities, fade_out, peak_normalize, to_pcm16
from host_tools.data.gm_programs import GM_PROGRAMS
from host_tools.data.nsynth_fields import FAMILIES, QUALITIES, SOURCES, instrument_str, note_str
from host_tools.data.recipe import RenderRecipe
from host_tools.errors import DatasetError

SILENCE_PEAK = 1e-6  # -120 dBFS at synth gain 1: fluidsynth writes exact zeros for keys a preset lacks
CLICK_SECONDS = 0.02  # a note audible (within 40 dB of its peak) for less than this is a click, not a note
SKIP_REASONS = ("no_preset", "non_finite", "silent", "click")

NoteRenderer = Callable[[int, int, int, int, int], np.ndarray | None]


@dataclass
class RenderReport:
    out_dir: Path
    rendered: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    skipped_notes: list[tuple[str, str]] = field(default_factory=list)
    bytes_written: int = 0
    elapsed_seconds: float = 0.0

    def summary(self) -> str:
        reasons = ", ".join(f"{reason} {count}" for reason, count in sorted(self.skipped.items()))
        skipped = sum(self.skipped.values())
        return (
            f"{self.rendered} notes rendered into {self.out_dir} ({self.bytes_written / 1e6:.1f} MB) in "
            f"{self.elapsed_seconds:.1f} s; {skipped} skipped" + (f" ({reasons})" if reasons else "")
        )


def classify_render(audio: np.ndarray | None, sample_rate: int) -> str | None:
    """Why a rendered note must be skipped (one of SKIP_REASONS), or None when it is a usable note."""
    if audio is None:
        return "no_preset"
    if not np.all(np.isfinite(audio)):
        return "non_finite"
    magnitude = np.abs(audio)
    peak = float(magnitude.max()) if len(audio) else 0.0
    if peak < SILENCE_PEAK:
        return "silent"
    audible = np.nonzero(magnitude >= peak * 0.01)[0]
    if audible[-1] - audible[0] < CLICK_SECONDS * sample_rate:
        return "click"
    return None


def nsynth_example(
    program: int, pitch: int, velocity: int, sample_rate: int, measured_qualities: tuple[str, ...]
) -> dict[str, Any]:
    """One examples.json entry with all of NSynth's fields for a rendered GM note."""
    gm = GM_PROGRAMS[program]
    assert gm.family is not None and gm.source is not None  # recipes only admit mapped programs
    instrument = instrument_str(gm.family, gm.source, program)
    qualities = set(gm.qualities) | set(measured_qualities)
    return {
        "note": (program << 14) | (pitch << 7) | velocity,  # unique per note, independent of the note set
        "note_str": note_str(instrument, pitch, velocity),
        "instrument": program,
        "instrument_str": instrument,
        "instrument_family": FAMILIES.index(gm.family),
        "instrument_family_str": gm.family,
        "instrument_source": SOURCES.index(gm.source),
        "instrument_source_str": gm.source,
        "pitch": pitch,
        "velocity": velocity,
        "sample_rate": sample_rate,
        "qualities": [int(q in qualities) for q in QUALITIES],
        "qualities_str": [q for q in QUALITIES if q in qualities],
    }


def _write_atomic(path: Path, text: str) -> None:
    write_file_atomically(path, lambda handle: handle.write(text.encode("utf-8")))


def check_out_dir(out_dir: Path, force: bool) -> None:
    """Refuse to write over an existing data set unless forced (checked before any work starts)."""
    if out_dir.exists() and not out_dir.is_dir():
        raise DatasetError(f"--out {out_dir} is a file; give a directory for the data set")
    if (out_dir / "examples.json").exists() and not force:
        raise DatasetError(
            f"{out_dir} already holds a data set (examples.json); choose another --out "
            "or pass --force to replace it"
        )


def _prepare_out_dir(out_dir: Path, force: bool) -> Path:
    check_out_dir(out_dir, force)
    audio_dir = out_dir / "audio"
    audio_dir.mkdir(parents=True, exist_ok=True)
    if force:
        # Only what a render writes is removed, so a stale note cannot outlive its json entry.
        for stale in audio_dir.glob("*.wav"):
            stale.unlink()
        for name in ("examples.json", "render.json"):
            (out_dir / name).unlink(missing_ok=True)
    return audio_dir


def render_notes(
    recipe: RenderRecipe,
    out_dir: Path,
    render: NoteRenderer,
    *,
    provenance: dict[str, Any],
    force: bool = False,
    progress: bool = True,
) -> RenderReport:
    """Render every note of the recipe through `render(program, pitch, velocity, note_frames, frames)`."""
    import soundfile
    from tqdm import tqdm

    started = time.perf_counter()
    out_dir = Path(out_dir)
    audio_dir = _prepare_out_dir(out_dir, force)
    report = RenderReport(out_dir=out_dir)
    examples: dict[str, dict[str, Any]] = {}
    rate, frames, note_frames = recipe.sample_rate, recipe.total_frames, recipe.note_frames
    notes = recipe.notes()
    with tqdm(total=len(notes), unit="note", desc="render", disable=not progress) as bar:
        for program, pitch, velocity in notes:
            audio = render(program, pitch, velocity, note_frames, frames)
            reason = classify_render(audio, rate)
            if reason is None and audio is not None:
                example = nsynth_example(
                    program, pitch, velocity, rate, envelope_qualities(audio, rate, note_frames)
                )
                level = peak_normalize(fade_out(audio.copy(), int(FADE_SECONDS * rate)))
                path = audio_dir / f"{example['note_str']}.wav"
                soundfile.write(path, to_pcm16(level), rate, subtype="PCM_16", format="WAV")
                report.bytes_written += path.stat().st_size
                examples[example["note_str"]] = example
                report.rendered += 1
            else:
                skipped = nsynth_example(program, pitch, velocity, rate, ())["note_str"]
                report.skipped[str(reason)] += 1
                report.skipped_notes.append((skipped, str(reason)))
                bar.set_postfix(skipped=sum(report.skipped.values()))
            bar.update()
    if not examples:
        raise DatasetError(
            f"none of the {len(notes)} notes produced sound "
            f"({dict(report.skipped)}); check the soundfont and the pitch range"
        )
    record = {
        "recipe": recipe.to_config(),
        **provenance,
        "rendered": report.rendered,
        "skipped": dict(sorted(report.skipped.items())),
        "skipped_notes": [{"note_str": n, "reason": r} for n, r in report.skipped_notes],
        "processing": {
            "dry": True,
            "peak_dbfs": -1.0,
            "end_fade_seconds": FADE_SECONDS,
            "measured_qualities": ["fast_decay", "long_release"],
        },
    }
    _write_atomic(out_dir / "render.json", json.dumps(record, indent=1, sort_keys=True) + "\n")
    # One example per line: readable, diffable, and still a single json object as NSynth's.
    lines = ",\n".join(
        f" {json.dumps(k)}: {json.dumps(v, sort_keys=True)}" for k, v in sorted(examples.items())
    )
    _write_atomic(out_dir / "examples.json", "{\n" + lines + "\n}\n")
    report.bytes_written += sum((out_dir / n).stat().st_size for n in ("render.json", "examples.json"))
    report.elapsed_seconds = time.perf_counter() - started
    return report


def render_dataset(
    recipe: RenderRecipe, out_dir: Path, soundfont: Path, *, force: bool = False, progress: bool = True
) -> RenderReport:
    """Render the recipe with the real fluidsynth and the given soundfont into NSynth's layout."""
    from host_tools.data.fluid_renderer import FluidNoteRenderer

    check_out_dir(Path(out_dir), force)
    with FluidNoteRenderer(soundfont, recipe.sample_rate) as synth:
        presets = {p: synth.preset_name(p) for p in sorted({n[0] for n in recipe.notes()})}
        provenance = {
            "soundfont": {
                "path": str(soundfont),
                "bytes": soundfont.stat().st_size,
                "sha256": file_sha256(soundfont),
            },
            "presets": {str(p): name for p, name in presets.items()},
            "synthesizer": synth.version,
        }
        return render_notes(
            recipe, out_dir, synth.render, provenance=provenance, force=force, progress=progress
        )
