"""Compiles a trained GAN's latent grid into a segment-bank bundle (host tools, bank layer).

`plan_compile` checks everything a person can get wrong (run, PCA, axes, range, bookmarks, pitches,
window, codec, output path) before a single note is generated. `compile_bank` then generates every
(grid cell, pitch) segment in batches and caches each finished batch in a work directory beside the
output (OUT.partial/: batch_NNNNN.npy + manifest.json naming the job and the batches done), so an
interrupted compile continues where it stopped; a job whose inputs changed (other checkpoint, grid,
pitches or window) starts afresh. The bank is written under a staging name through the device's own
writer, reloaded through the device reader and played through the device's granular engine; only
then is it moved onto the output path, so a partial or failing bank is never where a bundle is expected.
Every segment is levelled to one loudness first (`level_segments`).

With a bend recipe (host_tools/bend/) the bend amount becomes the grid's last axis: every latent point
of the PCA or corner grid is generated through the bent generator at each amount of the recipe's range,
so a sensor on that axis bends the model live on the device without the device running it. The recipe
and what it resolved to (channels, cluster name) are stored in the bundle's config and provenance.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from device.bundle.codecs import CODECS
from device.engine.params import DEFAULT_SAMPLE_RATE
from device.errors import BundleError, ConfigError
from host_tools.gan.levelling import CEILING_DBFS  # no sample above this, as every levelled WAV
from host_tools.space.grids import LatentGrid

if TYPE_CHECKING:
    from host_tools.bend.plan import BendPlan
    from host_tools.gan.config import GanConfig

TOOL_NAME = "latent bank compile"
ENGINE_RATE = DEFAULT_SAMPLE_RATE  # the bank is played through the engine at the rate the device plays
_MIN_FRAMES = 16
_SILENCE_RMS = 1e-5
LEVEL_DB = -18.0      # K-weighted RMS of every segment, as the additive bank (models/README.md)


@dataclass(frozen=True)
class CompileRequest:
    run: Path
    checkpoint: dict[str, Any]   # step and sha256 of the weights the bank is made from
    cfg: GanConfig
    grid: LatentGrid
    pitches: list[int]
    window: tuple[int, int]      # first sample, end sample of each note kept
    codec: str
    out: Path
    batch: int
    bend: BendPlan | None = None        # the bend on the grid's last axis, if any
    amounts: np.ndarray | None = None   # (cells,) bend amount of each grid cell, row-major

    @property
    def work_dir(self) -> Path:
        return self.out.with_name(self.out.name + ".partial")

    @property
    def segment_count(self) -> int:
        return len(self.grid.cells()) * len(self.pitches)

    def job_key(self) -> str:
        """Identity of everything that determines the cached batches' contents."""
        digest = hashlib.sha256()
        digest.update(json.dumps([self.checkpoint, self.pitches, list(self.window), self.batch]).encode())
        digest.update(np.ascontiguousarray(self.grid.latents, dtype=np.float64).tobytes())
        if self.bend is not None and self.amounts is not None:
            digest.update(json.dumps(self.bend.describe(), sort_keys=True).encode())
            digest.update(np.ascontiguousarray(self.amounts, dtype=np.float64).tobytes())
        return digest.hexdigest()


@dataclass(frozen=True)
class CompileReport:
    path: Path
    size_bytes: int
    segments: int
    batches_generated: int
    batches_reused: int
    generate_seconds: float
    total_seconds: float
    engine_check: list[dict[str, float]]

    @property
    def segments_per_second(self) -> float:
        batches = max(self.batches_generated + self.batches_reused, 1)
        fresh = self.segments * self.batches_generated / batches
        return fresh / self.generate_seconds if self.generate_seconds > 0 else float("nan")

    def to_json(self) -> dict[str, Any]:
        return {
            "bundle": str(self.path), "bytes": self.size_bytes, "segments": self.segments,
            "batches_generated": self.batches_generated, "batches_reused": self.batches_reused,
            "generate_seconds": round(self.generate_seconds, 3),
            "total_seconds": round(self.total_seconds, 3),
            "segments_per_second": round(self.segments_per_second, 2), "engine_check": self.engine_check,
        }


def plan_compile(
    run: str | os.PathLike[str], *, out: str | os.PathLike[str], pitches: list[int],
    pca_axes: list[int] | str | None = None, value_range: tuple[float, float] | str = (-2.0, 2.0),
    steps: int = 5, corners: list[str] | None = None, seconds: float | None = None, offset: float = 0.0,
    codec: str = "int16", batch: int = 32, axis_names: list[tuple[str, str]] | None = None,
    bend: str | os.PathLike[str] | None = None,
) -> CompileRequest:
    """Check the whole job and resolve its grid; ConfigError before anything is generated.
    `bend`: a bend recipe file whose amount range becomes the grid's last axis."""
    from host_tools.gan.config import note_samples, pitch_list
    from host_tools.gan.run_dir import newest_checkpoint, read_run_config
    from host_tools.space.grids import surface_grid
    from host_tools.space.parsing import check_trained_pitches

    run = Path(run)
    cfg = read_run_config(run)
    out = Path(out)
    if out.is_dir():
        raise ConfigError(f"--out {out} is a directory; give a bundle file name such as {out}/bank.bundle")
    if codec not in CODECS:
        raise ConfigError(f"--codec {codec!r} is unknown; choose one of {', '.join(CODECS)}")
    if batch < 1:
        raise ConfigError(f"--batch {batch} must be at least 1")
    grid = surface_grid(run, int(cfg.model.latent_dim), pca_axes=pca_axes, value_range=value_range,
                        steps=steps, corners=corners, axis_counts=(1, 3),
                        count_hint="a bank has 1 to 3 latent axes", axis_names=axis_names)
    check_trained_pitches(pitches, pitch_list(cfg))
    plan, amounts = None, None
    if bend is not None:
        from host_tools.bend.recipe import load_bend

        recipe = load_bend(bend)
        if len(grid.axes) >= 3:
            raise ConfigError(f"--bend adds an axis to {len(grid.axes)} latent axes; a bank has at most 3 "
                              "axes, so choose at most 2 with --pca-axes")
        grid, plan, amounts = _bent_grid(run, cfg, grid, recipe, steps)
    rate, length = int(cfg.audio.sample_rate), note_samples(cfg)
    first = round(offset * rate)
    end = length if seconds is None else first + round(seconds * rate)
    if offset < 0 or (seconds is not None and seconds <= 0) or end > length or end - first < _MIN_FRAMES:
        raise ConfigError(f"window --offset {offset} --seconds {seconds} does not fit the run's "
                          f"{length / rate:.3f} s notes; keep offset >= 0 and offset + seconds <= "
                          f"{length / rate:.3f}")
    return CompileRequest(run=run, checkpoint=newest_checkpoint(run), cfg=cfg, grid=grid, pitches=pitches,
                          window=(first, end), codec=codec, out=out, batch=batch, bend=plan, amounts=amounts)


def _bent_grid(run: Path, cfg: GanConfig, grid: LatentGrid, recipe: Any, steps: int
               ) -> tuple[LatentGrid, BendPlan, np.ndarray]:
    """The grid with the bend amount as one more (last) axis: each latent point repeated per amount."""
    from host_tools.bend.plan import resolve_bend
    from host_tools.gan.networks import build_generator

    # Layer names and shapes come from the architecture alone: the weights are read once, to compile.
    generator = build_generator(cfg).eval()
    plan = resolve_bend(recipe, generator, run)  # unknown layer, cluster or channel: refused here
    values = plan.amounts(steps)
    latents = np.repeat(grid.latents[..., None, :], steps, axis=-2)
    amounts = np.broadcast_to(values, (*grid.shape, steps)).reshape(-1).copy()
    bent = LatentGrid([*grid.axes, plan.axis(steps)], latents, {
        **grid.description, "bend": {**plan.describe(), "amounts": values.tolist(), "axis": len(grid.axes)}})
    return bent, plan, amounts


class _WorkDir:
    """OUT.partial/: one .npy per finished batch and a manifest naming the job and the batches done."""

    def __init__(self, request: CompileRequest) -> None:
        self.root = request.work_dir
        self.key = request.job_key()
        manifest = self.root / "manifest.json"
        try:
            state = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            state = None
        if not state or state.get("key") != self.key:
            if self.root.exists():
                shutil.rmtree(self.root)
            state = {"key": self.key, "done": []}
        self.root.mkdir(parents=True, exist_ok=True)
        self.done = {i for i in state["done"] if self.batch_path(i).is_file()}

    def batch_path(self, index: int) -> Path:
        return self.root / f"batch_{index:05d}.npy"

    def save(self, index: int, audio: np.ndarray) -> None:
        temp = self.root / f".batch_{index:05d}.tmp.npy"
        np.save(temp, audio)
        os.replace(temp, self.batch_path(index))
        self.done.add(index)
        manifest = self.root / "manifest.json"
        temp_manifest = self.root / ".manifest.tmp"
        temp_manifest.write_text(json.dumps({"key": self.key, "done": sorted(self.done)}), encoding="utf-8")
        os.replace(temp_manifest, manifest)

    def load(self, index: int) -> np.ndarray:
        return np.load(self.batch_path(index), allow_pickle=False)


def _generate(request: CompileRequest, generator: Any, work: _WorkDir, progress: bool,
              after_batch: Callable[[int], None] | None) -> tuple[np.ndarray, int, int, float]:
    """All segments (*grid, pitches, frames) and (batches generated, reused, seconds generating)."""
    from host_tools.bend.audition import render_audition

    latents = request.grid.flat_latents()
    amounts = request.amounts if request.amounts is not None else np.zeros(len(latents))
    n_pitches = len(request.pitches)
    total = request.segment_count
    first, end = request.window
    out = np.empty((total, end - first), dtype=np.float32)
    starts = list(range(0, total, request.batch))
    generated, seconds = 0, 0.0
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=total, desc="compile", unit="segment", leave=False, dynamic_ncols=True)
    try:
        for index, start in enumerate(starts):
            items = range(start, min(start + request.batch, total))
            if index in work.done:
                out[items.start:items.stop] = work.load(index)
            else:
                began = time.perf_counter()
                cells = [i // n_pitches for i in items]
                audio = render_audition(generator, request.cfg, request.bend, latents[cells],
                                        [request.pitches[i % n_pitches] for i in items], amounts[cells],
                                        batch=len(items))
                out[items.start:items.stop] = audio[:, first:end]
                seconds += time.perf_counter() - began
                work.save(index, out[items.start:items.stop])
                generated += 1
                if after_batch:
                    after_batch(index)
            if bar:
                bar.update(len(items))
    finally:
        if bar:
            bar.close()
    shape = (*request.grid.shape, n_pitches, end - first)
    return out.reshape(shape), generated, len(starts) - generated, seconds


def level_segments(segments: np.ndarray, sample_rate: int) -> np.ndarray:
    """Every segment at LEVEL_DB K-weighted RMS, lowered where that would put a peak over CEILING_DBFS.

    A GAN's output level is whatever it learned, and it varies across the latent space; on an
    instrument a timbre axis should move timbre, not volume, and no corner of the grid may blast.
    One gain per segment (never a clipper: the waveform stays the generator's), the convention of the
    additive bank, so banks can be swapped live at the same loudness. Silent segments stay silent."""
    flat = segments.reshape(-1, segments.shape[-1]).astype(np.float64)
    gain = level_gains(flat, flat, sample_rate)
    return (flat * gain[:, None]).astype(np.float32).reshape(segments.shape)


def level_gains(measured: np.ndarray, whole: np.ndarray, sample_rate: int) -> np.ndarray:
    """One gain per row (the levelling of `level_segments`): what brings the K-weighted RMS of
    `measured` (n, samples) to LEVEL_DB, lowered where it would put a peak of `whole` (n, samples: the
    same sounds, all of them) over CEILING_DBFS; 1 for a silent row."""
    from host_tools.bank.loudness import k_weighted_rms

    loudness = k_weighted_rms(measured, sample_rate)
    peaks = np.max(np.abs(whole), axis=1)
    gain = np.where(loudness > _SILENCE_RMS, 10.0 ** (LEVEL_DB / 20.0) / np.maximum(loudness, 1e-12), 1.0)
    ceiling = 10.0 ** (CEILING_DBFS / 20.0)
    return np.minimum(gain, np.where(peaks > 0, ceiling / np.maximum(peaks, 1e-12), gain))


def _engine_check(path: Path, request: CompileRequest) -> list[dict[str, float]]:
    """Reload through the device reader, compare its description, play grains through the engine."""
    from device.bundle.reader import load_segment_bank
    from device.engine.granular import GranularEngine

    bank = load_segment_bank(path)
    try:
        frames = request.window[1] - request.window[0]
        if list(bank.axes) != list(request.grid.axes) or list(bank.pitches) != request.pitches \
                or bank.codec != request.codec or bank.segment_frames != frames:
            raise BundleError(f"{path}: the reloaded bank does not match what was written "
                              "(axes, pitches, codec or segment length differ)")
        engine = GranularEngine(bank, sample_rate=ENGINE_RATE)
        dims = len(bank.axes)
        probes = [(0.5,) * dims, (0.0,) * dims, (1.0,) * dims]
        results = []
        probe_pitches = (bank.pitches[len(bank.pitches) // 2], bank.pitches[0], bank.pitches[-1])
        for point, pitch in zip(probes, probe_pitches, strict=True):
            engine.set_point(point)
            engine.set_pitch(float(pitch))
            engine.trigger()
            audio = engine.render(ENGINE_RATE // 5)
            rms = float(np.sqrt(np.mean(audio.astype(np.float64) ** 2)))
            if not np.all(np.isfinite(audio)) or rms < _SILENCE_RMS:
                raise BundleError(f"{path}: the engine plays non-finite or silent "
                                  f"audio at point {point}, pitch {pitch} (rms {rms:.2e}); "
                                  "the generator's notes may be silent in the chosen window")
            results.append({"point": list(point), "pitch": float(pitch), "rms": round(rms, 5)})
        return results
    finally:
        bank.bundle.close()


def compile_bank(
    request: CompileRequest, *, progress: bool = True, after_batch: Callable[[int], None] | None = None,
) -> CompileReport:
    """Generate (resuming cached batches), write, verify and move the bank into place.

    `after_batch(index)` runs after each newly generated batch is cached; an exception it raises
    stops the compile like a crash would, with the cache kept for the next run."""
    from device.bundle.writer import write_segment_bank
    from host_tools.bank.provenance import tool_provenance
    from host_tools.gan.run_dir import load_generator

    started = time.perf_counter()
    generator, _ = load_generator(request.run, step=request.checkpoint["step"])
    work = _WorkDir(request)
    segments, generated, reused, seconds = _generate(request, generator, work, progress, after_batch)
    rate = int(request.cfg.audio.sample_rate)
    segments = level_segments(segments, rate)
    request.out.parent.mkdir(parents=True, exist_ok=True)
    staged = request.out.with_name(f".{request.out.name}.staged-{os.getpid()}")
    config = {
        "run": str(request.run.resolve()), "checkpoint": request.checkpoint,
        "gan_config": request.cfg.to_dict(),
        "grid": request.grid.description, "pitches": request.pitches,
        "window": {"offset_seconds": request.window[0] / rate,
                   "seconds": (request.window[1] - request.window[0]) / rate},
        "codec": request.codec, "batch": request.batch,
        "level": {"k_weighted_rms_db": LEVEL_DB, "ceiling_dbfs": CEILING_DBFS},
    }
    provenance = tool_provenance(TOOL_NAME)
    if request.bend is not None:
        config["bend"] = request.grid.description["bend"]
        provenance["bend_recipe"] = request.bend.recipe.to_config()
    try:
        write_segment_bank(staged, name=request.out.stem, sample_rate=rate, axes=request.grid.axes,
                           pitches=request.pitches, segments=segments, codec=request.codec,
                           config=config, provenance=provenance)
        check = _engine_check(staged, request)
        os.replace(staged, request.out)
    except OSError as bad:
        raise BundleError(f"cannot write {request.out}: {bad.strerror or bad}") from None
    finally:
        staged.unlink(missing_ok=True)
    shutil.rmtree(work.root, ignore_errors=True)
    return CompileReport(path=request.out, size_bytes=request.out.stat().st_size,
                         segments=request.segment_count, batches_generated=generated, batches_reused=reused,
                         generate_seconds=seconds, total_seconds=time.perf_counter() - started,
                         engine_check=check)
