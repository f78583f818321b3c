"""The mono block in the device's layout: clipped, copied to every channel, in its sample format."""

from __future__ import annotations

import numpy as np
import pytest

from device.audio.block_format import BlockFormat


@pytest.mark.parametrize(("channels", "sample_format", "dtype"),
                         [(1, "float32", np.float32), (2, "float32", np.float32), (3, "int16", np.int16)])
def test_the_block_is_clipped_and_copied_to_every_channel(channels: int, sample_format: str,
                                                           dtype: type) -> None:
    block = BlockFormat(8, channels, sample_format)
    buffers = (block.mono, block.device)
    block.mono[:] = [0.0, 0.5, -0.5, 1.0, -1.0, 3.0, -7.0, 0.25]
    block.convert()
    assert block.device.shape == (8, channels) and block.device.dtype == dtype
    expected = np.array([0.0, 0.5, -0.5, 1.0, -1.0, 1.0, -1.0, 0.25])
    if dtype == np.int16:
        expected = np.rint(expected * 32767)
    for channel in range(channels):
        np.testing.assert_array_equal(block.device[:, channel], expected)
    block.convert()  # converting again reuses the same buffers
    assert block.mono is buffers[0] and block.device is buffers[1]
    assert block.sample_bytes == (2 if dtype == np.int16 else 4)


def test_a_failing_or_non_finite_source_costs_one_silent_block() -> None:
    block = BlockFormat(4, 2, "float32")

    def raising(out: np.ndarray) -> None:
        out[:] = 0.5
        raise RuntimeError("grain table exploded")

    def nan(out: np.ndarray) -> None:
        out[:] = [0.1, np.nan, 0.2, 0.3]

    def good(out: np.ndarray) -> None:
        out[:] = 0.25

    for source, message in ((raising, "grain table exploded"), (nan, "NaN or infinite")):
        error = block.fill(source)
        assert error is not None and message in str(error)
        assert not np.any(block.device)
    assert block.fill(good) is None and np.all(block.device == np.float32(0.25))
