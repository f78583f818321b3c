"""What every engine shares behind the engine interface (engine layer).

The granular and the rnn engine keep the same control state (latent point, pitch, parameters and
the generation that counts changes), take output blocks on the same terms, and answer `onset_of`
from the same kind of ring of (generation, output sample) records that their compiled code
writes. `EngineCore` holds that once; each engine says how a change reaches its compiled state
(`_publish`) and how a block is rendered (`render_into`).
"""

from __future__ import annotations

import numpy as np

from device.engine.limiter import LimiterReadout
from device.engine.params import GrainParams, check_int
from device.errors import EngineError

_FLOAT32 = np.dtype(np.float32)


def check_output_block(out: object) -> None:
    """Refuse anything but a non-empty, writeable, contiguous 1-D float32 numpy array."""
    if type(out) is not np.ndarray or out.dtype is not _FLOAT32 or out.ndim != 1 \
            or not out.flags.c_contiguous or not out.flags.writeable or out.size == 0:
        raise EngineError("render_into needs a non-empty, writeable, contiguous 1-D float32 numpy "
                          f"array; got {type(out).__name__} {getattr(out, 'dtype', '')} "
                          f"{getattr(out, 'shape', '')}")


def onset_in_ring(si: np.ndarray, written: int, ring_start: int, ring_size: int,
                  generation: int) -> int | None:
    """The output sample of the first record with `generation` or newer in a ring of `ring_size`
    (generation, sample) pairs from si[ring_start], `written` records so far; None when none is
    that new yet. Raises EngineError when the records of `generation` have been overwritten."""
    held = min(written, ring_size)
    for i in range(written - held, written):
        slot = ring_start + 2 * (i % ring_size)
        recorded = int(si[slot])
        if recorded >= generation:
            if i == written - held and written > held and recorded > generation:
                raise EngineError(f"generation {generation} is older than the last {ring_size} "
                                  "onset records; ask for a recent generation")
            return int(si[slot + 1])
    return None


class EngineCore(LimiterReadout):
    """The control state and the observation both engines share (see the module docstring)."""

    _rate: int
    _params: GrainParams
    _point: tuple[float, ...]
    _pitch: float
    _generation: int

    def render_into(self, out: np.ndarray) -> None:
        raise NotImplementedError

    def _publish(self) -> None:
        """Make the current controls what the compiled code reads next."""
        raise NotImplementedError

    def _changed(self) -> None:
        self._generation += 1
        self._publish()

    def render(self, frames: int) -> np.ndarray:
        """The next `frames` samples as a new float32 array (allocates; the audio path uses render_into)."""
        out = np.empty(check_int("frames", frames, 1, 1 << 24), dtype=np.float32)
        self.render_into(out)
        return out

    @property
    def generation(self) -> int:
        """Number of control changes so far (0 = the state the engine was built with)."""
        return self._generation

    @property
    def params(self) -> GrainParams:
        return self._params

    @property
    def point(self) -> tuple[float, ...]:
        return self._point

    @property
    def pitch(self) -> float:
        return self._pitch

    @property
    def sample_rate(self) -> int:
        return self._rate
