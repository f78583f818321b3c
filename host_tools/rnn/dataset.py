"""`latent rnn dataset`: what the RNN learns from, sampled from a GAN's 2-D latent surface (host tools).

For every point of a steps x steps grid (two PCA axes, or four corner bookmarks, resolved exactly as
`latent bank compile` resolves them) and every pitch, the `ddsp` generator's per-frame synthesiser
controls (amplitude, harmonic distribution, noise magnitudes: the positive values HarmonicNoiseSynth
renders) are taken before synthesis, interpolated from the generator's frames to 4 ms frames (the
RNN's frame rate), and scaled by one gain per note, the gain `level_segments` gives the bank's
segments (K-weighted RMS of the held part, peak ceiling), so the RNN and the bank play at one level.
The synthesiser is linear in amplitude and noise magnitudes, so scaling them scales the audio.

Per frame also the loudness input: 1 + dB/60 of the frame's RMS (a 16 ms window centred on it)
relative to the note's loudest frame, clipped to -60..0 dB. The cell centres (halfway between grid
points along both axes) are held out for evaluation: no training example sits there. The levelled
audio of every note is kept for `latent rnn eval`.

Layout of DIR: dataset.json (what, how, provenance) and .npy arrays, grid_* shaped (steps, steps,
pitches, ...) and heldout_* (steps - 1, steps - 1, pitches, ...): *_controls (..., frames, 1 + H + N),
*_loudness (..., frames), *_audio (..., samples), *_gain (...,).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from device.errors import ConfigError
from host_tools.errors import DatasetError

TOOL_NAME = "latent rnn dataset"
FORMAT = 1
FRAME_SECONDS = 0.004          # the RNN's control frame (64 samples at 16 kHz)
LOUDNESS_WINDOW_S = 0.016      # frame level window: long enough to span a 62 Hz period
LOUDNESS_FLOOR_DB = -60.0
LEVEL_WINDOW_S = (0.3, 1.3)    # the held part the bank levels (models/gan-medium.toml: offset 0.3, 1 s)
_SILENCE_RMS = 1e-5
ARRAYS = ("controls", "loudness", "audio", "gain")


@dataclass(frozen=True)
class DatasetRequest:
    run: Path
    out: Path
    cfg: Any                    # GanConfig
    grid: Any                   # host_tools.space.grids.LatentGrid (2 axes)
    pitches: list[int]
    checkpoint: dict[str, Any]
    batch: int = 32

    @property
    def steps(self) -> int:
        return int(self.grid.axes[0].steps)


def loudness_input(level_db: np.ndarray) -> np.ndarray:
    """dB relative to the note's peak -> the RNN's loudness input in 0..1."""
    return (1.0 + np.clip(level_db, LOUDNESS_FLOOR_DB, 0.0) / -LOUDNESS_FLOOR_DB).astype(np.float32)


def frame_levels_db(audio: np.ndarray, hop: int, frames: int, window: int) -> np.ndarray:
    """(n, frames) RMS in dB of a `window`-sample span centred on each frame j * hop, relative to the
    loudest frame of each note (0 dB); a silent note is all at the floor."""
    audio = np.asarray(audio, dtype=np.float64)
    n, samples = audio.shape
    energy = np.concatenate([np.zeros((n, 1)), np.cumsum(audio**2, axis=1)], axis=1)
    centres = np.arange(frames) * hop
    lo = np.clip(centres - window // 2, 0, samples)
    hi = np.clip(centres + window // 2, 0, samples)
    rms = np.sqrt((energy[:, hi] - energy[:, lo]) / np.maximum(hi - lo, 1))
    peak = rms.max(axis=1, keepdims=True)
    level = 20.0 * np.log10(np.maximum(rms, 1e-12) / np.maximum(peak, 1e-12))
    return np.where(peak > _SILENCE_RMS, level, LOUDNESS_FLOOR_DB)


def note_gains(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """One gain per note (n,): the bank's levelling (host_tools.bank.compile.level_segments) measured
    on the held part LEVEL_WINDOW_S (the whole note if shorter), the peak ceiling on the whole note."""
    from host_tools.bank.compile import level_gains

    flat = np.asarray(audio, dtype=np.float64)
    first, end = (round(s * sample_rate) for s in LEVEL_WINDOW_S)
    if end > flat.shape[1]:
        first, end = 0, flat.shape[1]
    return level_gains(flat[:, first:end], flat, sample_rate)


def resample_frames(values: Any, samples: int, hop: int) -> Any:
    """(b, C, F) controls on the synthesiser's frame grid (frame i at i (samples - 1) / (F - 1), as
    HarmonicNoiseSynth's align_corners upsampling places them) -> (b, C, samples // hop + 1) at j * hop."""
    import torch

    frames = values.shape[2]
    position = torch.arange(samples // hop + 1, dtype=torch.float64) * hop * (frames - 1) / (samples - 1)
    position = position.clamp(max=frames - 1)
    lo = position.floor().long().clamp(max=frames - 2)
    weight = (position - lo).to(values.dtype)
    return values[:, :, lo] * (1 - weight) + values[:, :, lo + 1] * weight


def plan_dataset(
    run: str | os.PathLike[str], *, out: str | os.PathLike[str], pitches: list[int],
    pca_axes: str | None = None, value_range: str = "-2,2", steps: int = 9, corners: list[str] | None = None,
    batch: int = 32,
) -> DatasetRequest:
    """Check the job and resolve its surface; ConfigError before anything is generated."""
    from host_tools.gan.config import pitch_list
    from host_tools.gan.run_dir import newest_checkpoint, read_run_config
    from host_tools.space.grids import surface_grid
    from host_tools.space.parsing import check_trained_pitches

    run, out = Path(run), Path(out)
    cfg = read_run_config(run)
    if cfg.audio.representation != "ddsp":
        raise ConfigError(f"{run} is a {cfg.audio.representation!r} GAN; the RNN learns the controls of "
                          "the harmonic-plus-noise generator, so give a run trained with representation "
                          "'ddsp' (e.g. models/gan-medium)")
    if out.exists() and not (out / "dataset.json").is_file():
        raise ConfigError(f"--out {out} exists and is not an RNN dataset; give a new directory")
    if batch < 1:
        raise ConfigError(f"--batch {batch} must be at least 1")
    grid = surface_grid(run, int(cfg.model.latent_dim), pca_axes=pca_axes, value_range=value_range,
                        steps=steps, corners=corners, axis_counts=(2, 2),
                        count_hint="the RNN plays a 2-D surface, name two, e.g. 0,1")
    if not pitches:
        raise ConfigError("--pitches names no pitch; give some, e.g. 36-84:3")
    check_trained_pitches(pitches, pitch_list(cfg))
    return DatasetRequest(run=run, out=out, cfg=cfg, grid=grid, pitches=list(pitches),
                          checkpoint=newest_checkpoint(run), batch=batch)


def _notes(generator: Any, cfg: Any, latents: np.ndarray, pitches: list[int], frame_hop: int,
           batch: int, progress: Callable[[int], None] | None) -> dict[str, np.ndarray]:
    """Controls (n, frames, C), loudness (n, frames), levelled audio (n, samples), gain (n,) of every
    (latent, pitch) pair, latents outer pitches."""
    import torch

    from host_tools.gan.config import note_samples, pitch_list
    from host_tools.gan.harmonic_synth import midi_to_hz

    classes = pitch_list(cfg)
    samples = note_samples(cfg)
    synth = generator.synth
    pairs = [(i, p) for i in range(len(latents)) for p in pitches]
    frames = samples // frame_hop + 1
    width = 1 + synth.harmonics + synth.noise_bands
    controls = np.empty((len(pairs), frames, width), dtype=np.float32)
    audio = np.empty((len(pairs), samples), dtype=np.float32)
    for start in range(0, len(pairs), batch):
        chunk = pairs[start:start + batch]
        z = torch.from_numpy(np.asarray(latents[[i for i, _ in chunk]], dtype=np.float32))
        index = torch.tensor([classes.index(p) for _, p in chunk])
        with torch.no_grad():
            logits = generator.controls(generator.features(z, index), index)
            f0 = midi_to_hz(generator.midi[index])
            amplitude, distribution, noise = synth.positive_controls(logits, f0)
            audio[start:start + len(chunk)] = synth.render(amplitude, distribution, noise, f0).numpy()
            positive = torch.cat([amplitude, distribution, noise], dim=1)
            controls[start:start + len(chunk)] = resample_frames(positive, samples, frame_hop
                                                                 ).transpose(1, 2).numpy()
        if progress:
            progress(len(chunk))
    rate = int(cfg.audio.sample_rate)
    gain = note_gains(audio, rate).astype(np.float32)
    audio *= gain[:, None]
    controls[:, :, 0] *= gain[:, None]
    controls[:, :, 1 + synth.harmonics:] *= gain[:, None, None]
    window = round(LOUDNESS_WINDOW_S * rate)
    loudness = loudness_input(frame_levels_db(audio, frame_hop, frames, window))
    return {"controls": controls, "loudness": loudness, "audio": audio, "gain": gain}


def _save(directory: Path, name: str, array: np.ndarray) -> None:
    np.save(directory / f"{name}.npy", np.ascontiguousarray(array), allow_pickle=False)


def build_dataset(request: DatasetRequest, *, progress: bool = True) -> dict[str, Any]:
    """Generate, write into OUT.partial/ and move into place; returns dataset.json's content."""
    import torch

    from host_tools.bank.provenance import tool_provenance
    from host_tools.gan.config import note_samples
    from host_tools.gan.run_dir import load_generator

    started = time.perf_counter()
    cfg = request.cfg
    rate = int(cfg.audio.sample_rate)
    frame_hop = round(FRAME_SECONDS * rate)
    generator, _ = load_generator(request.run, step=request.checkpoint["step"])
    steps, n_p = request.steps, len(request.pitches)
    latents = request.grid.latents                                  # (steps, steps, D)
    # The surface is affine along each axis (PCA) or bilinear (corners): either way a cell centre's z
    # is the mean of its four corners' z.
    held = 0.25 * (latents[:-1, :-1] + latents[1:, :-1] + latents[:-1, 1:] + latents[1:, 1:])
    total = (steps * steps + (steps - 1) ** 2) * n_p
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=total, desc="rnn dataset", unit="note", leave=False, dynamic_ncols=True)
    partial = request.out.with_name(request.out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        for prefix, points in (("grid", latents), ("heldout", held)):
            shape = (*points.shape[:2], n_p)
            arrays = _notes(generator, cfg, points.reshape(-1, points.shape[-1]), request.pitches,
                            frame_hop, request.batch, bar.update if bar else None)
            for name in ARRAYS:
                _save(partial, f"{prefix}_{name}", arrays[name].reshape(*shape, *arrays[name].shape[1:]))
    finally:
        torch.set_num_threads(threads)
        if bar:
            bar.close()
    synth = generator.synth
    axes = [{"name": a.name, "lo": float(a.min), "hi": float(a.max), "what": a.description}
            for a in request.grid.axes]
    meta: dict[str, Any] = {
        "format": FORMAT,
        "what": "per-frame harmonic-plus-noise controls of a GAN over a 2-D latent surface, for "
                "`latent rnn train`; grid_* at the grid points, heldout_* at the cell centres",
        "how": {
            "controls": "amplitude (linear), harmonic distribution (sums to 1 below nyquist), noise "
                        "magnitudes (linear), as HarmonicNoiseSynth renders them, resampled from the "
                        "generator's frames to frame_hop and scaled by the note's gain",
            "gain": "one per note: K-weighted RMS of the held part "
                    f"{LEVEL_WINDOW_S[0]}-{LEVEL_WINDOW_S[1]} s to the bank's level, peak ceiling "
                    "(host_tools.bank.compile.level_segments)",
            "loudness": f"1 + dB/60 of the frame's RMS ({LOUDNESS_WINDOW_S * 1000:.0f} ms window) "
                        f"relative to the note's loudest frame, clipped to {LOUDNESS_FLOOR_DB:.0f}..0 dB",
            "x_y": "grid index i -> -1 + 2 i / (steps - 1); held-out cell centres at i + 0.5",
            "pitch_input": "(midi - 60) / 24",
        },
        "sample_rate": rate, "frame_hop": frame_hop, "samples": note_samples(cfg),
        "frames": note_samples(cfg) // frame_hop + 1,
        "harmonics": int(synth.harmonics), "noise_bands": int(synth.noise_bands),
        "nyquist_hz": rate / 2.0, "steps": steps, "pitches": request.pitches, "axes": axes,
        "surface": request.grid.description,
        "gan": {"run": str(request.run.resolve()), "checkpoint": request.checkpoint,
                "config": cfg.to_dict()},
        "seconds": round(time.perf_counter() - started, 2),
        "provenance": tool_provenance(TOOL_NAME),
    }
    (partial / "dataset.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
    if request.out.exists():
        shutil.rmtree(request.out)
    os.replace(partial, request.out)
    return meta


@dataclass
class RnnDataset:
    """A dataset directory opened for training and evaluation (arrays memory-mapped)."""

    root: Path
    meta: dict[str, Any]

    def array(self, name: str) -> np.ndarray:
        path = self.root / f"{name}.npy"
        try:
            return np.load(path, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as err:
            raise DatasetError(f"{path} is missing or unreadable ({err}); rebuild the dataset with "
                               "`latent rnn dataset`") from None

    def xy(self, held_out: bool = False) -> np.ndarray:
        """(n, n, 2) x, y inputs of the grid points or of the held-out cell centres."""
        steps = int(self.meta["steps"])
        ticks = -1.0 + 2.0 * np.arange(steps) / (steps - 1)
        if held_out:
            ticks = 0.5 * (ticks[:-1] + ticks[1:])
        x, y = np.meshgrid(ticks, ticks, indexing="ij")
        return np.stack([x, y], axis=-1).astype(np.float32)


def open_dataset(root: str | os.PathLike[str]) -> RnnDataset:
    from device.safe_read import read_json

    root = Path(root)
    path = root / "dataset.json"
    if not path.is_file():
        raise DatasetError(f"{root} is not an RNN dataset (no dataset.json); make one with "
                           "`latent rnn dataset --run RUN --pca-axes 0,1 --out DIR`")
    meta = read_json(path, what="an RNN dataset description", error=DatasetError)
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise DatasetError(f"{path} is not an RNN dataset of format {FORMAT}; rebuild it with "
                           "`latent rnn dataset`")
    return RnnDataset(root, meta)
