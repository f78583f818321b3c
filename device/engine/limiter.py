"""Settings of the engine's output limiter (engine layer, no numba).

The limiter itself runs inside the compiled block kernel (`device.engine.kernel.limit`); this
module holds what the app layer and the CLI need without importing numba: the default and the
lowest ceiling, the hold and release times, the dBFS conversion and the validation of a ceiling.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from device.engine.state import F_CEILING, F_LIMIT_GAIN, S_BLOCK_NONFINITE, S_LIMITED, S_NONFINITE
from device.errors import EngineError

# -1 dBFS leaves headroom for a DAC's reconstruction overshoot; the lowest ceiling only guards
# against nonsense (at -60 dBFS the instrument is all but silent).
DEFAULT_CEILING_DBFS = -1.0
MIN_CEILING_DBFS = -60.0
# After the last sample over the ceiling the gain is held this long, longer than the period of
# the lowest notes (E1 is 24 ms), so a steady loud tone is turned down by one steady gain rather
# than by a gain that ripples at its own frequency (distortion).
LIMITER_HOLD_MS = 30.0
# Then the gain reduction, in dB, decays with this time constant: slow enough not to pump on
# normal material, fast enough that one burst does not leave the following notes ducked (a 40 dB
# over is back within 1 dB of unity some 0.2 s after the hold).
LIMITER_RELEASE_MS = 50.0


def ceiling_from_dbfs(dbfs: float) -> float:
    """Linear amplitude of a level in dBFS (0 dBFS = full scale = 1.0)."""
    return float(10.0 ** (dbfs / 20.0))


DEFAULT_CEILING = ceiling_from_dbfs(DEFAULT_CEILING_DBFS)
MIN_CEILING = ceiling_from_dbfs(MIN_CEILING_DBFS)


def float32_ceiling(value: object) -> float:
    """A validated linear ceiling, lowered to the largest float32 not above it.

    The engine's output is float32: a ceiling it can represent exactly is one the rounded output
    can meet without passing. Raises EngineError outside MIN_CEILING..1.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)) \
            or not MIN_CEILING <= float(value) <= 1.0:
        raise EngineError(f"ceiling must be a linear level in {MIN_CEILING:g}..1 ({MIN_CEILING_DBFS:g}..0 "
                          f"dBFS), got {value!r}")
    single = np.float32(value)
    if float(single) > float(value):
        single = np.nextafter(single, np.float32(0.0))
    return float(single)


def release_factor(sample_rate: int) -> float:
    """Per-sample factor by which the gain reduction in dB decays: a LIMITER_RELEASE_MS time constant."""
    return math.exp(-1000.0 / (LIMITER_RELEASE_MS * sample_rate))


def hold_samples(sample_rate: int) -> int:
    """LIMITER_HOLD_MS in samples."""
    return round(LIMITER_HOLD_MS * sample_rate / 1000.0)


class LimiterReadout:
    """What every engine says about its output limiter, read from the limiter's slots of its state
    arrays (`_limiter_si`, `_limiter_sf`: device.engine.state's S_ and F_ indices), and the ceiling
    moved while playing. Both engines inherit it (through `device.engine.engine_core.EngineCore`),
    so the store's trial, the status file and gallery mode see one meaning."""

    _limiter_si: np.ndarray
    _limiter_sf: np.ndarray

    def set_ceiling(self, ceiling: float) -> None:
        """Move the limiter's ceiling (linear, as in the engine's constructor) while playing.

        Lowering it holds from the next block on (the limiter's attack is instantaneous); raising
        it lets the gain come back at the release pace. Gallery mode's level caps use this."""
        self._limiter_sf[F_CEILING] = float32_ceiling(ceiling)

    @property
    def ceiling(self) -> float:
        """The limiter's ceiling (linear): no output sample's magnitude exceeds it."""
        return float(self._limiter_sf[F_CEILING])

    @property
    def limited_samples(self) -> int:
        """Output samples the limiter turned down so far (0 while everything stayed under the ceiling)."""
        return int(self._limiter_si[S_LIMITED])

    @property
    def limiter_gain(self) -> float:
        """The limiter's gain at the end of the last block: 1.0 when it is not working."""
        return float(self._limiter_sf[F_LIMIT_GAIN])

    @property
    def nonfinite_samples(self) -> int:
        """NaN or infinite samples the engine produced and the limiter played as silence, so far."""
        return int(self._limiter_si[S_NONFINITE])

    @property
    def last_block_nonfinite(self) -> int:
        """NaN or infinite samples silenced in the last block (what a trial must still hear of)."""
        return int(self._limiter_si[S_BLOCK_NONFINITE])
