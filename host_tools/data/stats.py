"""What is in a data set, for a person to look at before training (host data layer):
a text report of counts per family, source and pitch, and a PNG overview with a pitch x family count
heatmap and the spectrograms of a few notes (one per family, near middle C, loudest velocity).

The PNG is drawn with matplotlib's Agg canvas directly (no pyplot), so no window and no global state.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from host_tools.data.nsynth_dataset import NSynthDataset
from host_tools.data.nsynth_fields import FAMILIES, midi_name


def family_order(examples: Sequence[dict[str, Any]]) -> list[str]:
    present = {e["instrument_family_str"] for e in examples}
    return [f for f in FAMILIES if f in present] + sorted(present - set(FAMILIES))


def pitch_family_counts(examples: Sequence[dict[str, Any]]) -> tuple[list[str], list[int], np.ndarray]:
    """(families, pitches, counts[family, pitch]) over the pitches from the lowest to the highest present."""
    families = family_order(examples)
    low = min(e["pitch"] for e in examples)
    high = max(e["pitch"] for e in examples)
    pitches = list(range(low, high + 1))
    counts = np.zeros((len(families), len(pitches)), dtype=np.int64)
    for e in examples:
        counts[families.index(e["instrument_family_str"]), e["pitch"] - low] += 1
    return families, pitches, counts


def _ranges(values: Sequence[int]) -> str:
    ordered = sorted(set(values))
    runs: list[str] = []
    start = prev = ordered[0]
    for value in [*ordered[1:], None]:
        if value is not None and value == prev + 1:
            prev = value
            continue
        runs.append(str(start) if start == prev else f"{start}-{prev}")
        if value is not None:
            start = prev = value
    return ",".join(runs)


def text_report(dataset: NSynthDataset) -> str:
    examples = dataset.examples
    families, pitches, counts = pitch_family_counts(examples)
    rates = Counter(e["sample_rate"] for e in examples)
    rate = rates.most_common(1)[0][0]
    length = f", {dataset.frames} frames ({dataset.frames / rate:.2f} s)" if dataset.frames else ""
    instruments = {e["instrument_str"] for e in examples}
    lines = [
        f"{dataset.root}: {len(examples)} notes at {rate} Hz{length}, {len(instruments)} instruments",
        "",
    ]
    lines.append(f"{'family':<12}{'notes':>7}{'instruments':>13}  {'pitches':<12}velocities")
    for family in families:
        mine = [e for e in examples if e["instrument_family_str"] == family]
        lines.append(
            f"{family:<12}{len(mine):>7}{len({e['instrument_str'] for e in mine}):>13}  "
            f"{_ranges([e['pitch'] for e in mine]):<12}{_ranges([e['velocity'] for e in mine])}"
        )
    sources = Counter(e["instrument_source_str"] for e in examples)
    lines += ["", "source: " + ", ".join(f"{s} {n}" for s, n in sorted(sources.items())), ""]
    widths = [max(len(f), 5) + 1 for f in families]
    lines.append("notes per pitch and family:")
    lines.append(
        f"{'pitch':<9}"
        + "".join(f"{f:>{w}}" for f, w in zip(families, widths, strict=True))
        + f"{'total':>7}"
    )
    for column, pitch in enumerate(pitches):
        row = counts[:, column]
        if not row.any():
            continue
        lines.append(
            f"{pitch:<3}{midi_name(pitch):<6}"
            + "".join(f"{n:>{w}}" for n, w in zip(row, widths, strict=True))
            + f"{int(row.sum()):>7}"
        )
    return "\n".join(lines)


def _spectrogram_db(audio: np.ndarray, size: int = 512, hop: int = 128) -> np.ndarray:
    """(bins, frames) magnitude in dB relative to the loudest bin, floored at -80 dB."""
    if len(audio) < size:
        audio = np.concatenate([audio, np.zeros(size - len(audio), dtype=audio.dtype)])
    starts = np.arange(0, len(audio) - size + 1, hop)
    frames = audio[starts[:, None] + np.arange(size)] * np.hanning(size)
    magnitude = np.abs(np.fft.rfft(frames, axis=1)).T
    db = 20.0 * np.log10(np.maximum(magnitude, 1e-9) / max(float(magnitude.max()), 1e-9))
    return np.maximum(db, -80.0)


def showcase_indices(dataset: NSynthDataset, count: int = 6, near_pitch: int = 60) -> list[int]:
    """One note per family (most common families first): the pitch nearest `near_pitch`, loudest velocity."""
    examples = dataset.examples
    by_family = Counter(e["instrument_family_str"] for e in examples)
    chosen = []
    for family, _ in by_family.most_common(count):
        candidates = [i for i, e in enumerate(examples) if e["instrument_family_str"] == family]
        chosen.append(
            min(
                candidates,
                key=lambda i: (
                    abs(examples[i]["pitch"] - near_pitch),
                    -examples[i]["velocity"],
                    examples[i]["note_str"],
                ),
            )
        )
    return sorted(chosen, key=lambda i: family_order(examples).index(examples[i]["instrument_family_str"]))


def write_overview(dataset: NSynthDataset, png_path: Path, spectrograms: int = 6) -> Path:
    """Draw the heatmap and spectrograms into `png_path` (PNG) and return it."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    families, pitches, counts = pitch_family_counts(dataset.examples)
    picks = showcase_indices(dataset, spectrograms)
    columns = 3
    rows = (len(picks) + columns - 1) // columns
    figure = Figure(figsize=(14, 4.5 + 3.2 * rows), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    grid = figure.add_gridspec(1 + rows, columns, height_ratios=[1.4] + [1.0] * rows)

    heat = figure.add_subplot(grid[0, :])
    image = heat.imshow(
        counts,
        aspect="auto",
        cmap="viridis",
        interpolation="nearest",
        extent=(pitches[0] - 0.5, pitches[-1] + 0.5, len(families) - 0.5, -0.5),
    )
    heat.set_yticks(range(len(families)), families)
    octave_cs = [p for p in pitches if p % 12 == 0]
    heat.set_xticks(octave_cs, [f"{p}\n{midi_name(p)}" for p in octave_cs])
    heat.set_xlabel("MIDI pitch")
    heat.set_title(
        f"{dataset.root.name or dataset.root}: {len(dataset)} notes, count per instrument family and pitch"
    )
    from matplotlib.ticker import MaxNLocator

    figure.colorbar(image, ax=heat, label="notes", pad=0.01, ticks=MaxNLocator(integer=True))

    for slot, index in enumerate(picks):
        axis = figure.add_subplot(grid[1 + slot // columns, slot % columns])
        audio, pitch, meta = dataset[index]
        rate = meta["sample_rate"]
        db = _spectrogram_db(audio)
        times = np.arange(db.shape[1]) * 128 / rate
        freqs = np.fft.rfftfreq(512, 1.0 / rate)
        axis.pcolormesh(times, freqs[1:], db[1:], shading="auto", cmap="magma", vmin=-80, vmax=0)
        axis.set_yscale("log")
        axis.set_ylim(30, rate / 2)
        axis.set_title(f"{meta['note_str']} ({midi_name(pitch)})", fontsize=9)
        axis.set_xlabel("seconds")
        axis.set_ylabel("Hz")
    png_path = Path(png_path)
    png_path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(png_path, format="png")
    return png_path
