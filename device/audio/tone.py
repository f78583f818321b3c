"""A phase-continuous sine block source (audio layer): a speaker check and a known signal for tests.

It renders without allocating, like the engine must, so it can stand in for the engine when the
audio path itself is what is being measured.
"""

from __future__ import annotations

import math

import numpy as np

from device.errors import ConfigError


class SineSource:
    """A sine at `frequency` Hz and `amplitude` (0..1), continuous across blocks of any size."""

    def __init__(self, frequency: float = 440.0, *, sample_rate: int = 48000, amplitude: float = 0.5,
                 max_block: int = 4096) -> None:
        if not 0.0 < frequency < sample_rate / 2:
            raise ConfigError(
                f"sine frequency {frequency} Hz must be above 0 and below half the sample rate "
                f"({sample_rate / 2} Hz)"
            )
        if not 0.0 <= amplitude <= 1.0:
            raise ConfigError(f"sine amplitude {amplitude} must be between 0 and 1")
        self.frequency = float(frequency)
        self.sample_rate = int(sample_rate)
        self.amplitude = float(amplitude)
        self._step = 2.0 * math.pi * self.frequency / self.sample_rate
        self._phase = 0.0
        # Phase offsets of each sample in a block, in float64 so long runs do not drift audibly.
        self._ramp = np.arange(max_block, dtype=np.float64) * self._step
        self._work = np.empty(max_block, dtype=np.float64)

    def render_into(self, out: np.ndarray) -> None:
        frames = out.shape[0]
        if frames > self._ramp.shape[0]:
            raise ConfigError(
                f"sine source asked for a {frames}-frame block; it was built for at most "
                f"{self._ramp.shape[0]} (pass a larger max_block)"
            )
        work = self._work[:frames]
        np.add(self._ramp[:frames], self._phase, out=work)
        np.sin(work, out=work)
        np.multiply(work, self.amplitude, out=work)
        np.copyto(out, work, casting="same_kind")
        self._phase = (self._phase + frames * self._step) % (2.0 * math.pi)
