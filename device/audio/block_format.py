"""A mono float block turned into the device's sample layout, without allocating (audio layer).

Both real-time outputs render through `fill(render)`: the source renders into `mono` (a source
that raises or gives NaN/inf costs one block of silence, never the stream), which is clipped to
-1..1 (a runaway source cannot drive the DAC past full scale) and copied into `device` (frames x
channels, the mono block on every channel) in the stream's sample format. Every buffer is made
once here; np.clip is avoided because its Python wrapper makes temporaries on every call, while
two ufuncs with float32 scalars made once do not.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

_INT16_SCALE = np.float32(32767.0)
_ONE = np.float32(1.0)
_MINUS_ONE = np.float32(-1.0)


class BlockFormat:
    """`mono` (float32, frames) in; `device` (frames x channels, float32 or int16) out."""

    def __init__(self, frames: int, channels: int, sample_format: str) -> None:
        self.mono = np.zeros(frames, dtype=np.float32)
        self._column = self.mono[:, None]
        self.device: np.ndarray  # int16 or float32, by the sample format
        if sample_format == "int16":
            self.device = np.zeros((frames, channels), dtype=np.int16)
            self.convert = self._to_int16
            self.sample_bytes = 2
        elif channels == 1:
            self.device = self._column  # the mono block itself: nothing to copy
            self.convert = self._clip
            self.sample_bytes = 4
        else:
            self.device = np.zeros((frames, channels), dtype=np.float32)
            self.convert = self._to_float_channels
            self.sample_bytes = 4

    def fill(self, render: Callable[[np.ndarray], None]) -> Exception | None:
        """Render into `mono` and convert; a source that raises or gives NaN/inf costs one block of
        silence, never the stream: the error is returned for the caller to count."""
        mono = self.mono
        error: Exception | None = None
        try:
            render(mono)
            # One BLAS dot (well under a microsecond, no temporary) catches any NaN or inf in the block.
            if not math.isfinite(mono.dot(mono)):
                raise ValueError("source produced NaN or infinite samples")
        except Exception as exc:  # any failure of the source must cost one block, never the stream
            error = exc
            mono.fill(0.0)
        self.convert()
        return error

    def _clip(self) -> None:
        np.minimum(self.mono, _ONE, out=self.mono)
        np.maximum(self.mono, _MINUS_ONE, out=self.mono)

    def _to_float_channels(self) -> None:
        self._clip()
        np.copyto(self.device, self._column)

    def _to_int16(self) -> None:
        self._clip()
        np.multiply(self.mono, _INT16_SCALE, out=self.mono)
        np.rint(self.mono, out=self.mono)
        np.copyto(self.device, self._column, casting="unsafe")
