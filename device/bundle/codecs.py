"""Sample codecs for segment payloads (bundle layer, shared by host writer and device reader).

Segments are stored peak-normalised to [-1, 1] with one float scale per segment, then coded as
`int16` (linear, 96 dB) or `mulaw8` (8-bit mu-law, half the size, ~38 dB SNR on loud material).
The device never decodes a whole bank: the engine reads codes and looks them up per sample,
so `decode_table` returns the per-code float values for the 8-bit codec.
"""

from __future__ import annotations

import numpy as np

from device.errors import BundleError

CODECS = ("int16", "mulaw8")
CODEC_DTYPES: dict[str, np.dtype] = {"int16": np.dtype("<i2"), "mulaw8": np.dtype("u1")}
MU = 255.0
INT16_FULL_SCALE = 32767.0


def _check_codec(codec: str) -> None:
    if codec not in CODECS:
        raise BundleError(f"unknown sample codec {codec!r}; use one of {', '.join(CODECS)}")


def encode(samples: np.ndarray, codec: str) -> np.ndarray:
    """Code float samples in [-1, 1] (values outside are clipped)."""
    _check_codec(codec)
    x = np.clip(np.asarray(samples, dtype=np.float64), -1.0, 1.0)
    if codec == "int16":
        return np.round(x * INT16_FULL_SCALE).astype("<i2")
    y = np.sign(x) * np.log1p(MU * np.abs(x)) / np.log1p(MU)
    # Codes 1..255 with 128 as exact zero, so silence stays silent after a round trip.
    return (np.round(y * 127.0) + 128.0).astype(np.uint8)


def decode_table(codec: str) -> np.ndarray:
    """Float32 value of every code: 256 entries for mulaw8, a scale-only table for int16."""
    _check_codec(codec)
    if codec == "int16":
        return np.array([1.0 / INT16_FULL_SCALE], dtype=np.float32)
    y = np.clip((np.arange(256, dtype=np.float64) - 128.0) / 127.0, -1.0, 1.0)
    return (np.sign(y) * np.expm1(np.abs(y) * np.log1p(MU)) / MU).astype(np.float32)


def decode(codes: np.ndarray, codec: str) -> np.ndarray:
    """Float32 samples in [-1, 1] from codes (for tools and tests; the engine decodes inline)."""
    _check_codec(codec)
    table = decode_table(codec)
    if codec == "int16":
        return np.asarray(codes, dtype=np.float32) * table[0]
    return table[np.asarray(codes, dtype=np.uint8)]
