"""A contact sheet: the spectrograms of a 2-D latent grid laid out as the grid (host analysis layer).

Each small spectrogram has a time axis in seconds and a frequency axis in kHz (mel-spaced bands,
labelled at their true frequencies), so a person can say where in the note and at what pitch region
two cells differ without counting pixels.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from host_tools.gan.evaluation import mel_band_edges

# Frequency ticks (Hz) the sheets label, where they fall inside the mel bands' range.
_FREQUENCY_TICKS_HZ = (200.0, 500.0, 1000.0, 2000.0, 4000.0, 8000.0, 16000.0)


def frequency_ticks(sample_rate: int, n_mels: int) -> tuple[list[float], list[str]]:
    """(positions on a band-index axis where band i spans [i, i + 1], labels in kHz) for the round
    frequencies that lie between the lowest and highest band centres (HTK mel, 30 Hz to Nyquist)."""
    centres = mel_band_edges(sample_rate, n_mels)[1:-1]
    positions, labels = [], []
    for hz in _FREQUENCY_TICKS_HZ:
        if centres[0] <= hz <= centres[-1]:
            positions.append(float(np.interp(hz, centres, np.arange(n_mels) + 0.5)))
            labels.append(f"{hz / 1000:g}")
    return positions, labels


def contact_sheet_figure(
    spectrograms: np.ndarray, row_labels: list[str], col_labels: list[str], title: str, sample_rate: int,
    hop: int,
) -> Any:
    """The matplotlib Figure of a sheet: spectrograms (rows, cols, frames, mels) in dB, row i the first
    axis' i-th value; time (s) along x, frequency (kHz) along y, shared by every cell."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.ticker import MaxNLocator

    rows, cols, frames, n_mels = spectrograms.shape
    top = float(np.max(spectrograms))
    fig, grid = plt.subplots(rows, cols, figsize=(1.7 * cols + 1.2, 1.35 * rows + 1.1), squeeze=False,
                             sharex=True, sharey=True)
    seconds = frames * hop / sample_rate
    positions, labels = frequency_ticks(sample_rate, n_mels)
    for i in range(rows):
        for j in range(cols):
            ax = grid[i][j]
            ax.imshow(spectrograms[i, j].T, origin="lower", aspect="auto", cmap="magma",
                      vmin=top - 80.0, vmax=top, extent=(0.0, seconds, 0, n_mels))
            ax.set_yticks(positions, labels)
            ax.xaxis.set_major_locator(MaxNLocator(nbins=3, steps=[1, 2, 2.5, 5, 10]))
            ax.tick_params(labelsize=6, length=2, pad=1)
            if j == 0:
                ax.set_ylabel(row_labels[i], fontsize=7)
            if i == rows - 1:
                ax.set_xlabel(col_labels[j], fontsize=7)
    fig.suptitle(title, fontsize=9)
    fig.supxlabel("time (s)", fontsize=8)
    fig.supylabel("frequency (kHz, mel-spaced)", fontsize=8)
    fig.tight_layout()
    return fig


def write_contact_sheet(
    path: str | os.PathLike[str], spectrograms: np.ndarray, row_labels: list[str], col_labels: list[str],
    title: str, sample_rate: int, hop: int,
) -> Path:
    """spectrograms (rows, cols, frames, mels) in dB -> PNG; row i is the first axis' i-th value."""
    fig = contact_sheet_figure(spectrograms, row_labels, col_labels, title, sample_rate, hop)
    from matplotlib import pyplot as plt

    path = Path(path)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
