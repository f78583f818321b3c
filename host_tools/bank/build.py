"""Builds an additive timbre bundle end to end: render, write, reload, check, move into place (host tools).

The bundle is first written under a staging name beside its destination and read back through
the device's own reader (`load_segment_bank`, payload hashes included); only a bundle that
reloads with the intended axes, pitches, codec and length replaces what is at the destination,
so a failed build never clobbers a good bundle.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from device.bundle.codecs import decode
from device.bundle.reader import load_segment_bank
from device.bundle.writer import write_segment_bank
from device.errors import BundleError, ConfigError
from host_tools.bank.additive import AdditiveBank, render_bank
from host_tools.bank.provenance import tool_provenance
from host_tools.bank.recipe import AdditiveRecipe

TOOL_NAME = "latent bank additive"
# Worst round-trip error a codec may add, relative to a segment's peak.
_CODEC_TOLERANCE = {"int16": 1.0 / 32767.0, "mulaw8": 0.04}


@dataclass(frozen=True)
class BuildReport:
    path: Path
    size_bytes: int
    render_seconds: float
    total_seconds: float
    bank: AdditiveBank
    codec: str


def _check_reloaded(staged: Path, bank: AdditiveBank, recipe: AdditiveRecipe) -> None:
    loaded = load_segment_bank(staged)
    try:
        if loaded.axes != bank.axes or loaded.pitches != bank.pitches or loaded.codec != recipe.codec \
                or loaded.segment_frames != recipe.segment_frames \
                or loaded.sample_rate != recipe.sample_rate:
            raise BundleError(f"{staged}: reloaded bank does not match what was written "
                              f"(axes, pitches, codec, rate or length differ)")
        # Spot-check the audio of the first and last segment through the codec.
        for index in ((0,) * (bank.segments.ndim - 1), tuple(s - 1 for s in bank.segments.shape[:-1])):
            written = bank.segments[index]
            read = decode(loaded.segments[index], loaded.codec) * loaded.scales[index]
            peak = float(np.max(np.abs(written)))
            if float(np.max(np.abs(read - written))) > _CODEC_TOLERANCE[recipe.codec] * peak * 1.01:
                raise BundleError(f"{staged}: segment {index} does not read back as written")
    finally:
        loaded.bundle.close()


def build_additive_bundle(recipe: AdditiveRecipe, out: str | os.PathLike[str]) -> BuildReport:
    """Render the recipe's bank and write it to `out`, checked through the device reader."""
    out = Path(out)
    if out.is_dir():
        raise ConfigError(f"output path {out} is a directory; give a file name such as {out}/bank.bundle")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as bad:
        raise ConfigError(f"cannot create the output directory {out.parent}: {bad.strerror or bad}") from None
    start = time.perf_counter()
    bank = render_bank(recipe)
    rendered = time.perf_counter()
    staged = out.with_name(f".{out.name}.staged-{os.getpid()}")
    try:
        write_segment_bank(
            staged,
            name=recipe.name,
            sample_rate=bank.sample_rate,
            axes=bank.axes,
            pitches=bank.pitches,
            segments=bank.segments,
            codec=recipe.codec,
            version=recipe.version,
            config=recipe.to_config(),
            provenance=tool_provenance(TOOL_NAME),
        )
        _check_reloaded(staged, bank, recipe)
        os.replace(staged, out)
    except OSError as bad:
        raise BundleError(f"cannot write {out}: {bad.strerror or bad}") from None
    finally:
        if staged.is_file():
            staged.unlink()
    return BuildReport(
        path=out,
        size_bytes=out.stat().st_size,
        render_seconds=rendered - start,
        total_seconds=time.perf_counter() - start,
        bank=bank,
        codec=recipe.codec,
    )
