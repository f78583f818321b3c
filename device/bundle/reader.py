"""Reads and verifies bundle files on the device (bundle layer).

`open_bundle` checks everything before anything can play: header, version, manifest hash,
manifest schema, exact file size, payload bounds and shapes, and (unless told not to) the
sha256 of every payload. Payloads are memory-mapped read-only; nothing is unpickled.
Every refusal is a `BundleError` naming the file and what is wrong with it.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import mmap
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from device.bundle import codecs
from device.bundle.format import (
    HEADER,
    HEADER_SIZE,
    KIND_RNN,
    KIND_SEGMENT_BANK,
    KINDS,
    MAGIC,
    MAX_GRID_AXES,
    MAX_MANIFEST_BYTES,
    MAX_SEGMENT_PEAK,
    PAYLOAD_DTYPES,
    SUPPORTED_VERSIONS,
    align,
    check_display_name,
    is_int,
)
from device.bundle.grid import Axis
from device.bundle.rnn_format import check_rnn
from device.errors import BundleError
from device.safe_read import loads_json, open_regular

MAX_VERSION = 2**31 - 1
MAX_PAYLOADS = 64


class Bundle:
    """An opened, verified bundle: its manifest and memory-mapped payload arrays."""

    def __init__(self, path: Path, manifest: dict[str, Any], mapped: mmap.mmap | None,
                 arrays: dict[str, np.ndarray]) -> None:
        self.path = path
        self.manifest = manifest
        self._mmap = mapped
        self.arrays = arrays

    @property
    def kind(self) -> str:
        return str(self.manifest["kind"])

    @property
    def name(self) -> str:
        return str(self.manifest["name"])

    @property
    def sample_rate(self) -> int:
        return int(self.manifest["sample_rate"])

    def close(self) -> None:
        """Drop the arrays and unmap the file (arrays handed out earlier become invalid)."""
        self.arrays = {}
        if self._mmap is not None:
            # A caller may still hold a view; the map then closes when that view is collected.
            with contextlib.suppress(BufferError):
                self._mmap.close()
            self._mmap = None

    def __enter__(self) -> Bundle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class SegmentBank:
    """A `segment-bank` bundle seen as a grid of coded mono segments.

    `segments[i0, ..., iN-1, p, t]` is the code of sample t of the segment at grid point
    (i0..iN-1) and pitch index p; its float value is `decode_table` lookup (mulaw8) or
    code * decode_table[0] (int16), times `scales[i0, ..., p]`.
    """

    bundle: Bundle
    axes: tuple[Axis, ...]
    pitches: tuple[int, ...]
    codec: str
    segments: np.ndarray
    scales: np.ndarray

    @property
    def sample_rate(self) -> int:
        return self.bundle.sample_rate

    @property
    def segment_frames(self) -> int:
        return int(self.segments.shape[-1])

    @property
    def decode_table(self) -> np.ndarray:
        return codecs.decode_table(self.codec)

    def segment(self, grid_index: tuple[int, ...], pitch_index: int) -> np.ndarray:
        """One segment decoded to float32 (tools and tests; the engine decodes inline)."""
        codes = self.segments[(*grid_index, pitch_index)]
        return codecs.decode(codes, self.codec) * self.scales[(*grid_index, pitch_index)]


def _fail(path: Path, why: str) -> BundleError:
    return BundleError(f"{path}: {why}")


def _read_manifest(path: Path, data: memoryview, size: int) -> dict[str, Any]:
    if size < HEADER_SIZE:
        raise _fail(path, f"truncated: {size} bytes, shorter than the {HEADER_SIZE}-byte header")
    magic, version, manifest_len, manifest_hash = HEADER.unpack_from(data, 0)
    if magic != MAGIC:
        raise _fail(path, "not a latent-instrument bundle (bad magic bytes)")
    if version not in SUPPORTED_VERSIONS:
        raise _fail(
            path,
            f"bundle format version {version} is not supported by this device "
            f"(it reads {', '.join(map(str, SUPPORTED_VERSIONS))}); update the device software "
            "or rebuild the bundle with matching host tools",
        )
    if manifest_len > MAX_MANIFEST_BYTES:
        raise _fail(path, f"manifest length {manifest_len} is implausibly large (corrupt header)")
    if HEADER_SIZE + manifest_len > size:
        raise _fail(path, f"truncated: {size} bytes, the manifest alone needs "
                          f"{HEADER_SIZE + manifest_len}")
    raw = bytes(data[HEADER_SIZE:HEADER_SIZE + manifest_len])
    if hashlib.sha256(raw).digest() != manifest_hash:
        raise _fail(path, "manifest sha256 mismatch: the manifest is corrupt")
    try:
        manifest = loads_json(raw, source="manifest", error=BundleError, max_bytes=MAX_MANIFEST_BYTES)
    except BundleError as bad:
        raise _fail(path, str(bad)) from None
    if not isinstance(manifest, dict):
        raise _fail(path, "manifest is not a JSON object")
    declared_version = manifest.get("format_version")
    if not isinstance(declared_version, int) or isinstance(declared_version, bool) \
            or declared_version != version:
        raise _fail(path, f"manifest says format_version {manifest.get('format_version')!r} "
                          f"but the header says {version}")
    return manifest


def _require(path: Path, manifest: Mapping[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    if key not in manifest:
        raise _fail(path, f"manifest lacks required field {key!r}")
    value = manifest[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise _fail(path, f"manifest field {key!r} has the wrong type: {value!r}")
    return value


def _check_common(path: Path, manifest: dict[str, Any], size: int, manifest_len: int) -> None:
    kind = _require(path, manifest, "kind", str)
    if kind not in KINDS:
        raise _fail(path, f"unknown bundle kind {kind!r}; this device plays {', '.join(KINDS)}")
    name = _require(path, manifest, "name", str)
    why = check_display_name(name)
    if why:
        raise _fail(path, f"manifest name {name!r} {why}; rebuild the bundle with a plain name")
    version = _require(path, manifest, "version", int)
    if not 0 <= version <= MAX_VERSION:
        raise _fail(path, f"manifest version {version} is outside 0..{MAX_VERSION}")
    created = manifest.get("created", "")
    if not isinstance(created, str) or len(created) > 64 or check_display_name(created or "-"):
        raise _fail(path, f"manifest field 'created' is not a short date text: {created!r:.80}")
    for section in ("config", "provenance"):
        if not isinstance(manifest.get(section, {}), dict):
            raise _fail(path, f"manifest field {section!r} must be an object, got "
                              f"{type(manifest[section]).__name__}")
    rate = _require(path, manifest, "sample_rate", int)
    if not 1000 <= rate <= 384000:
        raise _fail(path, f"sample_rate {rate} is outside 1000..384000")
    declared = _require(path, manifest, "file_size", int)
    if size < declared:
        raise _fail(path, f"truncated: file has {size} bytes, manifest declares {declared}")
    if size > declared:
        raise _fail(path, f"file has {size - declared} unexpected bytes after the declared end "
                          f"({declared} bytes)")
    payloads = _require(path, manifest, "payloads", dict)
    if len(payloads) > MAX_PAYLOADS:
        raise _fail(path, f"manifest lists {len(payloads)} payloads (at most {MAX_PAYLOADS})")
    payload_start = align(HEADER_SIZE + manifest_len)
    for name, entry in payloads.items():
        why = check_display_name(name)
        if why:
            raise _fail(path, f"payload name {name!r:.40} {why}")
        if not isinstance(entry, dict):
            raise _fail(path, f"payload {name!r} entry is not an object")
        for key in ("offset", "nbytes", "dtype", "shape", "sha256"):
            if key not in entry:
                raise _fail(path, f"payload {name!r} lacks field {key!r}")
        if not isinstance(entry["dtype"], str) or entry["dtype"] not in PAYLOAD_DTYPES:
            raise _fail(path, f"payload {name!r} has unsupported dtype {entry['dtype']!r:.40}")
        shape = entry["shape"]
        if not isinstance(shape, list) or len(shape) > 8 or not all(
            is_int(n) and 0 <= n <= declared for n in shape
        ):
            raise _fail(path, f"payload {name!r} has a malformed shape {shape!r:.80}")
        if not isinstance(entry["sha256"], str):
            raise _fail(path, f"payload {name!r} has a malformed sha256 {entry['sha256']!r:.80}")
        offset, nbytes = entry["offset"], entry["nbytes"]
        if not is_int(offset) or not is_int(nbytes) or offset < payload_start \
                or nbytes < 0 or offset + nbytes > declared:
            raise _fail(path, f"payload {name!r} at offset {offset!r:.40} with {nbytes!r:.40} bytes "
                              "lies outside the payload area")
        expected = math.prod(shape) * np.dtype(entry["dtype"]).itemsize
        if expected != nbytes:
            raise _fail(path, f"payload {name!r}: shape {shape} of {entry['dtype']} needs "
                              f"{expected} bytes but {nbytes} are declared")


def _check_layout(path: Path, payloads: dict[str, Any], data: memoryview, manifest_end: int,
                  declared: int) -> None:
    """Payloads must not overlap, and every byte between them (alignment padding) must be zero.

    Checked so that a bundle has one byte string: padding cannot carry hidden bytes, and two
    files that differ only there are not both "the same" bundle.
    """
    position = manifest_end
    for name, entry in sorted(payloads.items(), key=lambda item: item[1]["offset"]):
        offset = entry["offset"]
        if offset < position:
            raise _fail(path, f"payload {name!r} at offset {offset} overlaps the manifest or the "
                              "payload before it")
        if offset > position and np.any(np.frombuffer(data[position:offset], dtype=np.uint8)):
            raise _fail(path, f"the padding before payload {name!r} (bytes {position}..{offset}) is "
                              "not zero: the file was altered")
        position = offset + entry["nbytes"]
    if declared > position and np.any(np.frombuffer(data[position:declared], dtype=np.uint8)):
        raise _fail(path, f"bytes {position}..{declared} after the last payload are not zero: the file "
                          "was altered")


def _map_arrays(path: Path, manifest: dict[str, Any], data: memoryview,
                verify: bool) -> dict[str, np.ndarray]:
    arrays: dict[str, np.ndarray] = {}
    for name, entry in manifest["payloads"].items():
        offset, nbytes = entry["offset"], entry["nbytes"]
        view = data[offset:offset + nbytes]
        if verify and hashlib.sha256(view).hexdigest() != entry["sha256"]:
            raise _fail(path, f"payload {name!r} sha256 mismatch: the payload is corrupt")
        arr = np.frombuffer(view, dtype=np.dtype(entry["dtype"]))
        arrays[name] = arr.reshape(entry["shape"])
    return arrays


def _check_segment_bank(path: Path, manifest: dict[str, Any], arrays: dict[str, np.ndarray],
                        verify: bool) -> None:
    bank = _require(path, manifest, "bank", dict)
    axes_raw = bank.get("axes")
    if not isinstance(axes_raw, list) or not 1 <= len(axes_raw) <= MAX_GRID_AXES:
        raise _fail(path, f"bank.axes must list 1..{MAX_GRID_AXES} axes, got {axes_raw!r:.80}")
    try:
        axes = [Axis.from_manifest(a) for a in axes_raw]
    except BundleError as bad:
        raise _fail(path, str(bad)) from None
    names = [a.name for a in axes]
    if len(set(names)) != len(names):
        raise _fail(path, f"bank.axes names must differ (a mapping addresses axes by name), got {names}")
    pitches = bank.get("pitches")
    if not isinstance(pitches, list) or not pitches or not all(
        is_int(p) and 0 <= p <= 127 for p in pitches
    ):
        raise _fail(path, f"bank.pitches must be a non-empty list of MIDI notes, got {pitches!r:.80}")
    if sorted(set(pitches)) != pitches:
        raise _fail(path, "bank.pitches must be strictly increasing")
    codec = bank.get("codec")
    if not isinstance(codec, str) or codec not in codecs.CODECS:
        raise _fail(path, f"bank.codec {codec!r:.40} is unknown; expected one of {codecs.CODECS}")
    frames = bank.get("segment_frames")
    if not is_int(frames) or frames < 16:
        raise _fail(path, f"bank.segment_frames must be an integer >= 16, got {frames!r:.40}")
    for needed in ("segments", "scales"):
        if needed not in arrays:
            raise _fail(path, f"segment bank lacks the {needed!r} payload")
    grid = (*[a.steps for a in axes], len(pitches))
    seg, scales = arrays["segments"], arrays["scales"]
    if seg.shape != (*grid, frames):
        raise _fail(path, f"segments payload has shape {seg.shape}; axes, pitches and "
                          f"segment_frames say {(*grid, frames)}")
    if seg.dtype != codecs.CODEC_DTYPES[codec]:
        raise _fail(path, f"segments are {seg.dtype.str} but codec {codec} stores "
                          f"{codecs.CODEC_DTYPES[codec].str}")
    if scales.shape != grid or scales.dtype != np.dtype("<f4"):
        raise _fail(path, f"scales payload has shape {scales.shape} ({scales.dtype.str}); "
                          f"expected {grid} float32")
    if not np.all(np.isfinite(scales)) or np.any(scales < 0):
        raise _fail(path, "scales payload holds negative, NaN or infinite values")
    if verify:
        _check_levels(path, seg, scales, codec)


def segment_peaks(segments: np.ndarray, scales: np.ndarray, codec: str) -> np.ndarray:
    """Each segment's peak after scaling (shape of `scales`), read one grid row at a time."""
    magnitude = np.abs(codecs.decode_table(codec)).astype(np.float64)
    peaks = np.empty(scales.shape, dtype=np.float64)
    for row in range(segments.shape[0]):
        codes = segments[row]
        if codec == "int16":
            # -32768 has the largest magnitude; widen before abs so it does not wrap.
            code_peak = np.maximum(codes.max(axis=-1), -codes.min(axis=-1).astype(np.int32))
            peaks[row] = code_peak * magnitude[0]
        else:
            peaks[row] = magnitude[codes].max(axis=-1)
    return peaks * scales


def _check_levels(path: Path, segments: np.ndarray, scales: np.ndarray, codec: str) -> None:
    peaks = segment_peaks(segments, scales, codec)
    worst = float(peaks.max(initial=0.0))
    if worst > MAX_SEGMENT_PEAK:
        loud = int(np.count_nonzero(peaks > MAX_SEGMENT_PEAK))
        raise _fail(path, f"{loud} of {peaks.size} segments peak above full scale (the loudest at "
                          f"{20 * math.log10(worst):+.1f} dBFS); a bundle must never play above 0 dBFS: "
                          "recompile it (the compiler levels every segment)")


KIND_CHECKS: dict[str, Callable[[Path, dict[str, Any], dict[str, np.ndarray], bool], None]] = {
    KIND_SEGMENT_BANK: _check_segment_bank,
    KIND_RNN: check_rnn,
}


def open_bundle(path: str | os.PathLike[str], *, verify: bool = True, label: str | None = None,
                follow_links: bool = True) -> Bundle:
    """Open and check a bundle.

    `verify=False` skips payload hashing, a bank's level check and an RNN's onnxruntime probe
    (everything else is checked).
    `label` names the bundle in errors instead of `path` (e.g. the file a user gave, not the
    store's staging copy); `follow_links=False` refuses a symbolic link.
    """
    path = Path(path)
    fd, st = open_regular(path, what="a bundle file", error=BundleError, follow_links=follow_links)
    size = st.st_size
    try:
        mapped = mmap.mmap(fd, 0, access=mmap.ACCESS_READ) if size else None
    except OSError as bad:
        raise BundleError(f"{path}: cannot read: {bad.strerror or bad}") from None
    finally:
        os.close(fd)  # the map keeps its own reference to the file
    shown = Path(label) if label is not None else path
    data = memoryview(mapped) if mapped is not None else memoryview(b"")
    try:
        manifest = _read_manifest(shown, data, size)
        manifest_len = HEADER.unpack_from(data, 0)[2]
        _check_common(shown, manifest, size, manifest_len)
        _check_layout(shown, manifest["payloads"], data, HEADER_SIZE + manifest_len, size)
        arrays = _map_arrays(shown, manifest, data, verify)
        KIND_CHECKS[manifest["kind"]](shown, manifest, arrays, verify)
    except BaseException:
        data.release()
        if mapped is not None:
            with contextlib.suppress(BufferError):
                mapped.close()
        raise
    return Bundle(path, manifest, mapped, arrays)


def segment_bank(bundle: Bundle) -> SegmentBank:
    """View an opened `segment-bank` bundle as a `SegmentBank`."""
    if bundle.kind != KIND_SEGMENT_BANK:
        raise BundleError(f"{bundle.path}: is a {bundle.kind!r} bundle, not a segment bank")
    bank = bundle.manifest["bank"]
    return SegmentBank(
        bundle=bundle,
        axes=tuple(Axis.from_manifest(a) for a in bank["axes"]),
        pitches=tuple(bank["pitches"]),
        codec=bank["codec"],
        segments=bundle.arrays["segments"],
        scales=bundle.arrays["scales"],
    )


def load_segment_bank(path: str | os.PathLike[str], *, verify: bool = True) -> SegmentBank:
    """Open, verify and view a segment bank in one call."""
    return segment_bank(open_bundle(path, verify=verify))
