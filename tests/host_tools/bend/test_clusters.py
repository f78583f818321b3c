"""Channel clusters: seeded k-means groups co-varying channels and is deterministic for a seed; the
clustering `latent bend clusters` saves names every cluster and is what recipes resolve against."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from device.cli import main
from host_tools.bend.clusters import channel_vectors, cluster_channels, clusters_path
from host_tools.bend.kmeans import kmeans


def _activations(seed: int) -> np.ndarray:
    """(notes, 9 channels, frames): channels 0-2, 3-5 and 6-8 each follow one of three signals."""
    rng = np.random.default_rng(seed)
    signals = rng.standard_normal((3, 5, 12))
    channels = [signals[c // 3] * (1.0 + 0.3 * c) + 0.05 * rng.standard_normal((5, 12)) for c in range(9)]
    order = rng.permutation(9)
    return np.stack([channels[i] for i in order], axis=1), order


def test_kmeans_groups_channels_that_co_vary() -> None:
    acts, order = _activations(0)
    labels = cluster_channels(acts, 3, seed=0)
    groups = order // 3  # the signal each channel follows
    for label in range(3):
        assert len(set(groups[labels == label])) == 1
    assert labels[0] == 0  # numbered in order of first appearance


def test_cluster_assignment_is_deterministic_for_a_seed() -> None:
    points = channel_vectors(np.random.default_rng(4).standard_normal((6, 40, 10)))
    first = kmeans(points, 5, seed=7)
    assert np.array_equal(first, kmeans(points, 5, seed=7))
    assert np.array_equal(first, kmeans(points.copy(), 5, seed=7))
    assert len(set(first.tolist())) == 5


def test_clusters_command_saves_a_named_deterministic_clustering(clustered_run: Path, tmp_path: Path) -> None:
    saved = json.loads(clusters_path(clustered_run, "first").read_text())
    assert saved["layer"] == "first" and saved["k"] == 3 and len(saved["assignment"]) == 8
    assert sorted({c for cluster in saved["clusters"] for c in cluster["channels"]}) == list(range(8))
    for cluster in saved["clusters"]:
        assert cluster["name"].endswith("when ablated") and cluster["distance_db"] >= 0
    again = tmp_path / "again.json"
    assert main(["bend", "clusters", "--run", str(clustered_run), "--layer", "first", "--k", "3",
                 "--notes", "6", "--pitches", "60,62", "--per-pitch", "1", "--quiet",
                 "--out", str(again)]) == 0
    assert json.loads(again.read_text())["assignment"] == saved["assignment"]
