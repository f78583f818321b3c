"""Fuzzing the bundle reader with hostile manifests and damaged files (seeded and bounded).

A bundle arrives from outside (a USB stick, the flashing cable, a download), so `open_bundle` must
treat every byte as hostile: whatever the file holds, it either opens a bundle whose arrays have
exactly the shapes its manifest declares (and whose `segment_bank` view works), or refuses with a
`BundleError` naming the fault. Any other exception (TypeError, KeyError, OverflowError,
numpy's ValueError, ...) would reach the user as a traceback instead of a reason.

Two fuzzers, both starting from small valid banks written by the real writer:

- manifest mutations: fields at every level replaced, deleted or inserted with hypothesis-made
  JSON (wrong types, bools and floats where integers belong, huge and negative numbers, nested
  containers, control and non-ASCII characters, tokens json.dumps never writes such as 1e400),
  then the manifest is re-serialised and the header resealed (length and sha256), so that the
  reader gets past the hash and into its schema checks;
- raw damage: truncations, byte flips, insertions and deletions anywhere in a valid file, with
  the manifest hash optionally resealed so that damage inside the manifest reaches the parser.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st

from device.bundle.format import ALIGNMENT, HEADER, HEADER_SIZE, MAGIC, MAX_SEGMENT_PEAK, align
from device.bundle.grid import Axis
from device.bundle.reader import open_bundle, segment_bank
from device.bundle.writer import write_segment_bank
from device.errors import BundleError

# Deterministic in CI: derandomized, no example database written into the working tree.
FUZZ = settings(
    max_examples=250,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class Raw:
    """JSON text written verbatim: what json.dumps never writes (1e400, -0, 5000-digit numbers)."""

    text: str


RAW_TOKENS = [
    "1e400", "-1e400", "1e-400", "-0", "-0.0", "2.0", "1E2", "0.5e1", "16.000",
    "1" + "0" * 40, "9" * 5000, "NaN", "Infinity", "-Infinity",
    '"\\ud800"', '"\\u0000"', '"a\\u0000b"', '"\\u202e"',
    "[" * 70 + "]" * 70, '{"a":' * 70 + "1" + "}" * 70,
]

# ---------------------------------------------------------------------------------------------
# Valid starting points


def _segments(shape: tuple[int, ...], frames: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(frames) / 16000.0
    freqs = 110.0 * (1.0 + rng.random(shape))
    amps = 0.1 + 0.8 * rng.random(shape)
    return (amps[..., None] * np.sin(2 * np.pi * freqs[..., None] * t)).astype(np.float32)


class Bases(dict[str, bytes]):
    """Valid bundle files by codec (shown briefly in hypothesis' reports)."""

    def __repr__(self) -> str:
        return f"<valid banks: {', '.join(self)}>"


@pytest.fixture(scope="module")
def bases(tmp_path_factory: pytest.TempPathFactory) -> Bases:
    """Two small valid banks (one per codec), as bytes."""
    folder = tmp_path_factory.mktemp("fuzz-bases")
    out = Bases()
    for codec, axes in (
        ("int16", [Axis("brightness", 0.0, 1.0, 3), Axis("oddeven", -1.0, 1.0, 2, "odd/even")]),
        ("mulaw8", [Axis("tone", -2.0, 2.0, 2)]),
    ):
        steps = tuple(a.steps for a in axes)
        path = write_segment_bank(
            folder / f"{codec}.bundle", name=f"fuzz {codec}", sample_rate=16000, axes=axes,
            pitches=[48, 60], segments=_segments((*steps, 2), 32, seed=len(out)), codec=codec,
            config={"recipe": "fuzz", "n": 1}, provenance={"tool": "tests", "list": [1, 2.5]},
        )
        out[codec] = path.read_bytes()
        open_bundle(path).close()  # the starting points themselves are valid
    return out


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz-cases")


_names = itertools.count()


def _write(folder: Path, data: bytes) -> Path:
    # A new file per example: a mapping of an earlier example must never see its file rewritten.
    path = folder / f"case-{next(_names)}.bundle"
    path.write_bytes(data)
    return path


def _split(data: bytes) -> tuple[dict[str, Any], int]:
    """The manifest of a valid bundle and where its payload area starts."""
    _, _, manifest_len, _ = HEADER.unpack_from(data, 0)
    manifest = json.loads(data[HEADER_SIZE:HEADER_SIZE + manifest_len])
    return manifest, align(HEADER_SIZE + manifest_len)


# ---------------------------------------------------------------------------------------------
# The property


def _opens_or_refuses(path: Path, verify: bool) -> None:
    """`open_bundle` refuses with BundleError, or gives a bundle whose arrays match its manifest."""
    try:
        bundle = open_bundle(path, verify=verify)
    except BundleError as refused:
        event(f"refused: {str(refused).removeprefix(str(path) + ': ')[:40]}")
        return
    event("opened")
    try:
        manifest = bundle.manifest
        for name, entry in manifest["payloads"].items():
            array = bundle.arrays[name]
            assert array.shape == tuple(entry["shape"]), name
            assert array.dtype == np.dtype(entry["dtype"]), name
        bank = segment_bank(bundle)
        grid = (*(axis.steps for axis in bank.axes), len(bank.pitches))
        assert bank.segments.shape == (*grid, manifest["bank"]["segment_frames"])
        assert bank.scales.shape == grid
        assert isinstance(bank.sample_rate, int) and bank.segment_frames >= 16
        decoded = bank.segment((0,) * len(bank.axes), len(bank.pitches) - 1)
        assert decoded.shape == (bank.segment_frames,)
        if verify:
            assert float(np.max(np.abs(decoded), initial=0.0)) <= MAX_SEGMENT_PEAK + 1e-6
        assert isinstance(bundle.name, str) and bundle.kind == "segment-bank"
    finally:
        bundle.close()


# ---------------------------------------------------------------------------------------------
# Manifest mutations

INTS = st.one_of(
    st.integers(),
    st.sampled_from([0, 1, -1, 2, 15, 16, 127, 128, 255, 256, 1000, 384001, 2**31 - 1, 2**31,
                     2**32, 2**63, 2**64, 10**40, -(10**40)]),
)
FLOATS = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([2.0, 1.0, 0.0, -0.0, 0.5, 16.0, 16000.0, 1e308, -1e308, 5e-324, 1e40]),
    st.sampled_from([float("nan"), float("inf"), float("-inf")]),  # json.dumps writes NaN/Infinity
)
TEXTS = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", " ", "\x00", "\n", "a\tb", "\x7f", "\u202e", "\u200b", "\ud800", "\ufeff",
                     "x" * 200, "int16", "mulaw8", "segment-bank", "rnn", "<f4", "<i2", "|u1", "<f8",
                     "O", "V8", ">i2", "segments", "scales", "0" * 64]),
)
RAW = st.sampled_from(RAW_TOKENS).map(Raw)
SCALARS = st.one_of(st.none(), st.booleans(), INTS, FLOATS, TEXTS, RAW)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(TEXTS, inner, max_size=4)),
    max_leaves=8,
)


def _related(old: Any) -> st.SearchStrategy[Any]:
    """Near misses of a field's valid value: the same number as a float, bool or text, off by one..."""
    if isinstance(old, bool):
        return st.sampled_from([int(old), str(old).lower(), not old])
    if isinstance(old, int):
        return st.sampled_from([old + 1, old - 1, -old, float(old), old + 0.5, old * 2**32, str(old),
                                bool(old), [old], {"value": old}, Raw(f"{old}.0"), Raw(f"{old}e0")])
    if isinstance(old, float):
        whole = int(old) if math.isfinite(old) else 0
        return st.sampled_from([-old, old * 1e300, whole, str(old), old + 1.0, Raw("1e400"), [old]])
    if isinstance(old, str):
        return st.sampled_from([old.upper(), old + "\x00", old + "\n", " " + old, old * 100, "", [old],
                                old[:-1], old.encode("utf-8", "surrogatepass").hex()])
    if isinstance(old, list):
        longer = [*old, old[-1]] if old else [None]
        return st.sampled_from([[], old * 2, old[::-1], old[:-1], [old], {"0": old}, longer])
    if isinstance(old, dict):
        return st.sampled_from([{}, [old], dict(list(old.items())[:-1]), {k: None for k in old}])
    return SCALARS


def _subtrees(doc: Any, path: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    yield path, doc
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from _subtrees(value, (*path, key))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            yield from _subtrees(value, (*path, index))


def _at(doc: Any, path: Path_) -> Any:
    for step in path:
        doc = doc[step]
    return doc


@st.composite
def _mutated_manifest(draw: st.DrawFn, base: dict[str, Any]) -> Any:
    """`base` with 1..3 fields replaced, deleted or inserted anywhere in it."""
    donors = [value for _, value in _subtrees(base)]
    keys = sorted({str(p[-1]) for p, _ in _subtrees(base) if p and isinstance(p[-1], str)})
    doc: Any = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 3))):
        containers = [p for p, v in _subtrees(doc) if isinstance(v, dict | list)]
        if not containers:
            containers = [()]
        path = draw(st.sampled_from(containers), label="container")
        target = _at(doc, path) if isinstance(doc, dict | list) else doc
        op = draw(st.sampled_from(["replace", "replace", "delete", "insert", "replace container"]))
        if op == "replace container" or not isinstance(target, dict | list):
            value = draw(st.one_of(_related(target), JSON), label="new container")
            if path:
                _at(doc, path[:-1])[path[-1]] = value
            else:
                doc = value
            note(f"manifest{list(path)} = {value!r:.300}")
            continue
        if isinstance(target, dict):
            if op == "insert" or not target:
                key = draw(st.one_of(st.sampled_from(keys), TEXTS), label="key")
            else:
                key = draw(st.sampled_from(sorted(target)), label="key")
            where = [*path, key]
        else:
            if op == "insert" or not target:
                key = draw(st.integers(0, len(target)), label="index")
            else:
                key = draw(st.integers(0, len(target) - 1), label="index")
            where = [*path, key]
        if op == "delete" and isinstance(target, dict) and key in target:
            del target[key]
            note(f"del manifest{where}")
            continue
        if op == "delete" and isinstance(target, list) and isinstance(key, int) and key < len(target):
            del target[key]
            note(f"del manifest{where}")
            continue
        old = target.get(key) if isinstance(target, dict) else (
            target[key] if key < len(target) else None)
        value = draw(st.one_of(_related(old), JSON, st.sampled_from(donors).map(copy.deepcopy),
                               RAW), label="value")
        if isinstance(target, list) and (op == "insert" or key >= len(target)):
            target.insert(key, value)
            note(f"manifest{list(path)}.insert({key}, {value!r:.300})")
        else:
            target[key] = value
            note(f"manifest{where} = {value!r:.300}")
    return doc


def _dump(value: Any, ensure_ascii: bool) -> str:
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k, ensure_ascii=ensure_ascii)}:{_dump(v, ensure_ascii)}"
                              for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_dump(v, ensure_ascii) for v in value) + "]"
    return json.dumps(value, ensure_ascii=ensure_ascii)


def _shift(doc: Any, shift: int) -> Any:
    """A copy of `doc` with integer payload offsets and file size moved by `shift` bytes."""
    doc = copy.deepcopy(doc)
    if not isinstance(doc, dict):
        return doc
    if type(doc.get("file_size")) is int:
        doc["file_size"] += shift
    if isinstance(doc.get("payloads"), dict):
        for entry in doc["payloads"].values():
            if isinstance(entry, dict) and type(entry.get("offset")) is int:
                entry["offset"] += shift
    return doc


def _seal(doc: Any, payload_area: bytes, start: int, *, ensure_ascii: bool, pad_inside: bool) -> bytes:
    """A file holding `doc` as its manifest (correct length and sha256) before `payload_area`.

    The payload area stays where it was if the manifest still fits before it; otherwise the area
    moves and integer offsets and the file size move with it, so that a mutation is judged on its
    own and not on a layout the mutation never touched. The gap up to the payloads is either
    spaces inside the manifest or zero padding after it.
    """
    new_start, shifted = start, doc
    while True:
        text = _dump(shifted, ensure_ascii).encode("utf-8", errors="surrogatepass")
        if HEADER_SIZE + len(text) <= new_start:
            break
        new_start = align(HEADER_SIZE + len(text)) + ALIGNMENT
        shifted = _shift(doc, new_start - start)
    gap = new_start - HEADER_SIZE - len(text)
    if pad_inside:
        text, gap = text + b" " * gap, 0
    header = HEADER.pack(MAGIC, 1, len(text), hashlib.sha256(text).digest())
    return header + text + bytes(gap) + payload_area


@FUZZ
@given(data=st.data(), codec=st.sampled_from(["int16", "mulaw8"]), verify=st.booleans(),
       ensure_ascii=st.booleans(), pad_inside=st.booleans())
def test_mutated_manifests_open_consistently_or_raise_bundle_error(
        bases: Bases, workdir: Path, data: st.DataObject, codec: str, verify: bool,
        ensure_ascii: bool, pad_inside: bool) -> None:
    base = bases[codec]
    manifest, start = _split(base)
    doc = data.draw(_mutated_manifest(manifest), label="manifest")
    sealed = _seal(doc, base[start:], start, ensure_ascii=ensure_ascii, pad_inside=pad_inside)
    _opens_or_refuses(_write(workdir, sealed), verify)


# ---------------------------------------------------------------------------------------------
# Raw damage


@st.composite
def _damaged(draw: st.DrawFn, base: bytes) -> bytes:
    """`base` with 1..4 truncations, flips, overwrites, insertions or deletions."""
    _, start = _split(base)
    regions = {"header": (0, HEADER_SIZE), "manifest": (HEADER_SIZE, start),
               "payloads": (start, len(base)), "anywhere": (0, len(base))}
    out = bytearray(base)
    for _ in range(draw(st.integers(1, 4))):
        if not out:
            break
        region = draw(st.sampled_from(["manifest", "payloads", "manifest", "payloads", "anywhere",
                                       "header"]), label="region")
        low, high = regions[region]
        high = min(high, len(out))
        low = min(low, high - 1) if high else 0
        at = draw(st.integers(max(low, 0), max(high - 1, 0)), label="at")
        op = draw(st.sampled_from(["flip", "flip", "set", "truncate", "insert", "delete"]), label="op")
        if op == "flip":
            out[at] ^= draw(st.integers(1, 255), label="mask")
        elif op == "set":
            out[at] = draw(st.sampled_from([0, 1, 0x7F, 0x80, 0xFF, ord('"'), ord("{"), ord("9")]))
        elif op == "truncate":
            del out[at:]
        elif op == "insert":
            out[at:at] = draw(st.binary(min_size=1, max_size=70), label="inserted")
        else:
            del out[at:at + draw(st.integers(1, 70), label="deleted")]
        note(f"{op} in {region} at byte {at}")
    reseal = draw(st.sampled_from([True, True, False]), label="reseal manifest hash")
    if reseal and len(out) >= HEADER_SIZE:
        manifest_len = HEADER.unpack_from(out, 0)[2]
        if HEADER_SIZE + manifest_len <= len(out):
            out[16:48] = hashlib.sha256(out[HEADER_SIZE:HEADER_SIZE + manifest_len]).digest()
    return bytes(out)


@FUZZ
@given(data=st.data(), codec=st.sampled_from(["int16", "mulaw8"]), verify=st.booleans())
def test_damaged_files_open_consistently_or_raise_bundle_error(
        bases: Bases, workdir: Path, data: st.DataObject, codec: str, verify: bool) -> None:
    damaged = data.draw(_damaged(bases[codec]), label="file")
    _opens_or_refuses(_write(workdir, damaged), verify)


def test_resealing_an_unchanged_manifest_keeps_the_bundle_valid(bases: Bases,
                                                                 workdir: Path) -> None:
    """The sealing used by the fuzzer is itself sound: an untouched manifest still opens."""
    for base in bases.values():
        manifest, start = _split(base)
        for pad_inside in (False, True):
            sealed = _seal(manifest, base[start:], start, ensure_ascii=True, pad_inside=pad_inside)
            open_bundle(_write(workdir, sealed)).close()
        grown = dict(manifest, provenance={"note": "x" * 5000})  # forces the payloads to move
        open_bundle(_write(workdir, _seal(grown, base[start:], start, ensure_ascii=False,
                                          pad_inside=False))).close()
