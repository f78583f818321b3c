"""Float to 16-bit PCM conversion shared by the outputs (audio layer).

Sources produce float32 nominally in -1..1. 16-bit outputs scale by 32767 (so +1.0 and -1.0 map
symmetrically) and clip; values outside -1..1, and NaN or infinities, are counted as clipped
because each one is a fault worth seeing in a report, not something to pass to a DAC.
"""

from __future__ import annotations

import numpy as np

INT16_SCALE = 32767.0


def float_to_int16(block: np.ndarray, out: np.ndarray, scratch: np.ndarray) -> int:
    """Write `block` (float) as int16 into `out` (same shape); return how many samples were clipped.

    `scratch` is a float32 array of the same shape that callers keep between blocks; the clip count
    still makes one boolean temporary, so this is for offline outputs, not for an audio callback.
    """
    clipped = int(block.size - np.count_nonzero(np.abs(block, out=scratch) <= 1.0))
    if clipped:
        np.copyto(scratch, block, casting="same_kind")
        np.nan_to_num(scratch, copy=False, nan=0.0, posinf=1.0, neginf=-1.0)
        np.clip(scratch, -1.0, 1.0, out=scratch)
    else:
        np.copyto(scratch, block, casting="same_kind")
    np.multiply(scratch, INT16_SCALE, out=scratch)
    np.rint(scratch, out=scratch)
    np.copyto(out, scratch, casting="unsafe")
    return clipped
