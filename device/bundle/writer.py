"""Writes bundle files (bundle layer; used by host tools, which import it from here).

Files are written beside their destination under a temporary name, fsynced and renamed into
place, so a reader never sees half a bundle and an interrupted write leaves no file where a
bundle is expected.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from device.bundle import codecs
from device.bundle.format import (
    ALIGNMENT,
    FORMAT_VERSION,
    HEADER,
    HEADER_SIZE,
    KIND_SEGMENT_BANK,
    MAGIC,
    MAX_SEGMENT_PEAK,
    PAYLOAD_DTYPES,
    align,
)
from device.bundle.grid import Axis
from device.errors import BundleError
from device.files import write_file_atomically


def _payload_entries(payloads: Mapping[str, np.ndarray], start: int) -> tuple[dict, int]:
    entries: dict[str, dict[str, Any]] = {}
    offset = start
    for name, array in payloads.items():
        arr = np.ascontiguousarray(array)
        if arr.dtype.str not in PAYLOAD_DTYPES:
            raise BundleError(f"payload {name!r} has dtype {arr.dtype.str}; allowed: {PAYLOAD_DTYPES}")
        offset = align(offset)
        entries[name] = {
            "offset": offset,
            "nbytes": int(arr.nbytes),
            "dtype": arr.dtype.str,
            "shape": list(arr.shape),
            "sha256": hashlib.sha256(arr.data).hexdigest(),
        }
        offset += arr.nbytes
    return entries, offset


def _layout(manifest: dict, payloads: Mapping[str, np.ndarray]) -> bytes:
    """Fill in payload offsets and file size; both depend on the manifest's own length."""
    start = align(HEADER_SIZE)
    while True:
        manifest["payloads"], end = _payload_entries(payloads, start)
        manifest["file_size"] = end
        text = json.dumps(manifest, indent=1, sort_keys=True).encode("utf-8")
        if align(HEADER_SIZE + len(text)) <= start:
            return text
        # Leave one spare alignment step: longer offsets must not push the manifest past it.
        start = align(HEADER_SIZE + len(text)) + ALIGNMENT


def write_bundle(
    path: str | os.PathLike[str],
    *,
    kind: str,
    name: str,
    sample_rate: int,
    payloads: Mapping[str, np.ndarray],
    kind_fields: Mapping[str, Any],
    version: int = 1,
    config: Mapping[str, Any] | None = None,
    provenance: Mapping[str, Any] | None = None,
) -> Path:
    """Write one bundle atomically and return its path."""
    path = Path(path)
    manifest: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "kind": kind,
        "name": name,
        "version": int(version),
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "sample_rate": int(sample_rate),
        **dict(kind_fields),
        "config": dict(config or {}),
        "provenance": dict(provenance or {}),
    }
    manifest_bytes = _layout(manifest, payloads)
    header = HEADER.pack(
        MAGIC, FORMAT_VERSION, len(manifest_bytes), hashlib.sha256(manifest_bytes).digest()
    )

    def write(f: BinaryIO) -> None:
        f.write(header)
        f.write(manifest_bytes)
        for entry_name, array in payloads.items():
            entry = manifest["payloads"][entry_name]
            f.write(b"\x00" * (entry["offset"] - f.tell()))
            f.write(np.ascontiguousarray(array).data)
        if f.tell() != manifest["file_size"]:
            raise BundleError("internal error: bundle size does not match its layout")

    write_file_atomically(path, write)
    return path


def quantize_segments(
    segments: np.ndarray, codec: str
) -> tuple[np.ndarray, np.ndarray]:
    """Peak-normalise each segment (last axis) and code it; returns (codes, float32 scales)."""
    seg = np.asarray(segments, dtype=np.float32)
    peaks = np.max(np.abs(seg), axis=-1)
    safe = np.where(peaks > 0, peaks, 1.0)
    codes = codecs.encode(seg / safe[..., None], codec)
    return codes, peaks.astype("<f4")


def write_segment_bank(
    path: str | os.PathLike[str],
    *,
    name: str,
    sample_rate: int,
    axes: Sequence[Axis],
    pitches: Sequence[int],
    segments: np.ndarray,
    codec: str = "int16",
    version: int = 1,
    config: Mapping[str, Any] | None = None,
    provenance: Mapping[str, Any] | None = None,
) -> Path:
    """Quantise float segments shaped (*axis steps, pitches, frames) and write a bank bundle."""
    seg = np.asarray(segments)
    expected = (*[a.steps for a in axes], len(pitches))
    if seg.ndim != len(expected) + 1 or seg.shape[:-1] != expected:
        raise BundleError(
            f"segments have shape {seg.shape}; axes and pitches need {(*expected, 'frames')}"
        )
    if not np.all(np.isfinite(seg)):
        raise BundleError("segments contain NaN or infinite samples; refusing to write the bank")
    codes, scales = quantize_segments(seg, codec)
    loudest = float(scales.max(initial=0.0))
    if loudest > MAX_SEGMENT_PEAK:
        raise BundleError(f"segments peak at {loudest:.3g} ({20 * np.log10(loudest):+.1f} dBFS), above "
                          "full scale; level them to at most 1.0 before writing (devices refuse "
                          "louder banks)")
    kind_fields = {
        "bank": {
            "axes": [a.to_manifest() for a in axes],
            "pitches": [int(p) for p in pitches],
            "segment_frames": int(seg.shape[-1]),
            "codec": codec,
        }
    }
    return write_bundle(
        path,
        kind=KIND_SEGMENT_BANK,
        name=name,
        sample_rate=sample_rate,
        payloads={"segments": codes, "scales": scales},
        kind_fields=kind_fields,
        version=version,
        config=config,
        provenance=provenance,
    )
