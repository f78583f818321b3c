"""Clusters of a layer's channels, grouped by how their activations co-vary and named by what they
change in the sound (host bend layer).

1. Activations: the layer's output over `notes` generated notes (seeded z at the trained pitches in
   turn), recorded by a forward hook: (notes, channels, frames).
2. Each channel becomes one vector, its activations over every note and frame, standardised (mean 0,
   RMS 1), so the squared distance between two channels is 2 n (1 - their correlation): k-means on
   these vectors (kmeans.py, seeded) groups channels that rise and fall together across the data.
3. Naming: each cluster is ablated (amount 1) on a few notes at low, middle and high pitches, and the
   bent notes are compared with the unbent ones by the features `latent space describe` uses
   (describe.describe_direction: centroid in octaves, harmonic-to-noise, odd/even, level, attack,
   sustain, and the log-mel distance). The cluster is named by the feature that moves most in
   just-noticeable steps and the way it goes, e.g. "brightness: darker when ablated".

Saved as RUN/bend/clusters-LAYER.json (or --out), written atomically, read back by bend recipes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from device.errors import ConfigError

if TYPE_CHECKING:
    from host_tools.gan.config import GanConfig


# describe.STEPS' feature keys as the words its module docstring uses for them
FEATURE_WORDS = {"brightness_octaves": "brightness", "harmonic_to_noise_db": "noisiness",
                 "odd_even_db": "hollowness", "level_db": "loudness", "attack_s": "attack",
                 "sustain_db_per_s": "sustain"}


def bend_dir(run: str | os.PathLike[str]) -> Path:
    return Path(run) / "bend"


def clusters_path(run: str | os.PathLike[str], layer: str) -> Path:
    return bend_dir(run) / f"clusters-{layer}.json"


def probe_latents(cfg: GanConfig, notes: int, seed: int) -> tuple[np.ndarray, list[int]]:
    """`notes` seeded z (notes, D) and pitches cycling through the trained pitches."""
    from host_tools.gan.config import pitch_list

    trained = pitch_list(cfg)
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((notes, int(cfg.model.latent_dim)))
    step = max(1, len(trained) // max(notes, 1))
    pitches = [trained[(i * step + i // len(trained)) % len(trained)] for i in range(notes)]
    return z, pitches


def layer_activations(generator: Any, cfg: GanConfig, layer: str, z: np.ndarray,
                      pitches: list[int], batch: int = 32) -> np.ndarray:
    """(notes, channels, ...) the layer's output for each (z, pitch), recorded by a forward hook."""
    import torch

    from host_tools.bend.layers import candidate_modules
    from host_tools.gan.config import pitch_list

    classes = pitch_list(cfg)
    module = candidate_modules(generator)[layer]
    recorded: list[np.ndarray] = []

    def record(module: Any, inputs: Any, output: torch.Tensor) -> None:
        recorded.append(output.detach().float().cpu().numpy())

    handle = module.register_forward_hook(record)
    try:
        with torch.no_grad():
            for start in range(0, len(z), batch):
                chunk = torch.from_numpy(np.asarray(z[start:start + batch], dtype=np.float32))
                index = torch.tensor([classes.index(p) for p in pitches[start:start + batch]])
                generator(chunk, index)
    finally:
        handle.remove()
    return np.concatenate(recorded)


def channel_vectors(activations: np.ndarray) -> np.ndarray:
    """(channels, notes * frames): each channel's activations, standardised (a constant one is 0)."""
    flat = np.moveaxis(activations, 1, 0).reshape(activations.shape[1], -1).astype(np.float64)
    flat = flat - flat.mean(axis=1, keepdims=True)
    rms = np.sqrt(np.mean(flat**2, axis=1, keepdims=True))
    return np.where(rms > 1e-12, flat / np.maximum(rms, 1e-12), 0.0)


def cluster_channels(activations: np.ndarray, k: int, seed: int) -> np.ndarray:
    from host_tools.bend.kmeans import kmeans

    return kmeans(channel_vectors(activations), k, seed)


def name_clusters(generator: Any, cfg: GanConfig, layer: str, labels: np.ndarray, pitches: list[int],
                  per_pitch: int, seed: int) -> list[dict[str, Any]]:
    """Per cluster: its channels and what ablating it does (describe.describe_direction figures)."""
    from host_tools.bend.render import render_bent
    from host_tools.space.describe import describe_direction
    from host_tools.space.render import render_latents

    rng = np.random.default_rng(seed + 1)
    z = np.repeat(rng.standard_normal((per_pitch, int(cfg.model.latent_dim))), len(pitches), axis=0)
    at = pitches * per_pitch
    rate = int(cfg.audio.sample_rate)
    plain = render_latents(generator, cfg, z, at)
    named = []
    for cluster in range(int(labels.max()) + 1):
        channels = [int(c) for c in np.flatnonzero(labels == cluster)]
        bent = render_bent(generator, cfg, z, at, np.ones(len(z)), layer=layer, transform="ablate",
                           channels=channels, params={})
        found = describe_direction(plain, bent, at, rate)
        feature, word = FEATURE_WORDS[found["moves"]], found["goes"]
        # Under one just-noticeable step the name is still the largest change, but says it is faint.
        faint = "" if max(found["noticeable_steps"].values()) >= 1.0 else "faintly "
        named.append({"cluster": cluster, "size": len(channels), "channels": channels,
                      "name": f"{feature}: {faint}{word} when ablated", "moves": found["moves"],
                      "distance_db": found["distance_db"], "changes": found["changes"],
                      "noticeable_steps": found["noticeable_steps"]})
    return named


def save_clusters(path: str | os.PathLike[str], record: dict[str, Any]) -> Path:
    from device.files import write_file_atomically

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # A reader never sees half a file, a crash leaves the old one or the new one.
    write_file_atomically(path, lambda handle: handle.write(json.dumps(record, indent=1).encode("utf-8")))
    return path


def load_clusters(path: str | os.PathLike[str], layer: str, channels: int) -> dict[str, Any]:
    """The saved clustering of `layer`, checked against the layer's channel count."""
    from device.config_file import load_table

    table = load_table(path, what="a channel clustering (JSON)", error=ConfigError,
                       missing=f"no clustering of layer {layer!r}; make one with "
                               f"`latent bend clusters --run RUN --layer {layer}`")
    data = dict(table.data)
    if data.get("layer") != layer or len(data.get("assignment", [])) != channels:
        raise ConfigError(f"{path} clusters layer {data.get('layer')!r} with "
                          f"{len(data.get('assignment', []))} channels, not {layer!r} with {channels}; "
                          f"recluster with `latent bend clusters --layer {layer}`")
    return data


MEANING = {
    "assignment": "cluster of each channel (index = channel)",
    "name": "the sound feature that ablating the cluster (amount 1) moves most, in just-noticeable "
            "steps, and which way it goes",
    "moves": "that feature's key in `changes`",
    "distance_db": "log-mel distance (dB) between the notes with and without the cluster: how audible "
                   "it is (compare latent gan eval's diversity_db_real)",
    "changes": "ablated minus plain, mean over notes: brightness in octaves of spectral centroid, "
               "harmonic-to-noise / odd-even / level in dB, attack in s, sustain in dB/s",
}
