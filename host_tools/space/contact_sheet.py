"""A contact sheet: the spectrograms of a 2-D latent grid laid out as the grid (host analysis layer)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np


def write_contact_sheet(
    path: str | os.PathLike[str], spectrograms: np.ndarray, row_labels: list[str], col_labels: list[str],
    title: str, sample_rate: int, hop: int,
) -> Path:
    """spectrograms (rows, cols, frames, mels) in dB -> PNG; row i is the first axis' i-th value."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    rows, cols = spectrograms.shape[:2]
    top = float(np.max(spectrograms))
    fig, grid = plt.subplots(rows, cols, figsize=(1.6 * cols + 0.8, 1.3 * rows + 0.8), squeeze=False,
                             sharex=True, sharey=True)
    seconds = spectrograms.shape[2] * hop / sample_rate
    for i in range(rows):
        for j in range(cols):
            ax = grid[i][j]
            ax.imshow(spectrograms[i, j].T, origin="lower", aspect="auto", cmap="magma",
                      vmin=top - 80.0, vmax=top, extent=(0.0, seconds, 0, spectrograms.shape[3]))
            ax.set_xticks([])
            ax.set_yticks([])
            if j == 0:
                ax.set_ylabel(row_labels[i], fontsize=7)
            if i == rows - 1:
                ax.set_xlabel(col_labels[j], fontsize=7)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
