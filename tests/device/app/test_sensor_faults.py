"""The whole instrument under I2C faults: the sound never stops, and the sensors come back.

Runs the real pipeline offline (simulated chips + real drivers + mapping + engine) on the
stream clock, with the fake bus failing 1 %, 10 % and then 100 % of transactions for a while.
"""

from __future__ import annotations

import numpy as np
import pytest

from device.app.play import PlaySettings, StreamClock, build_rig
from device.audio.offline import run_offline

RATE = 48000
BLOCK = 64
FAULTS = (3.0, 6.0)  # seconds of stream time during which the bus fails


class Recorder:
    def __init__(self) -> None:
        self.blocks: list[np.ndarray] = []

    def write(self, block: np.ndarray) -> None:
        self.blocks.append(block.copy())


@pytest.mark.parametrize("rate", [0.01, 0.10, 1.0])
def test_faults_never_stop_the_sound_and_the_sensors_recover(rate: float) -> None:
    clock = StreamClock(RATE)
    rig = build_rig(PlaySettings(gesture="demo", block_frames=BLOCK, sample_rate=RATE), clock)
    bus = rig.sensors.bus
    stale_during: list[int] = []
    stale_after: list[int] = []

    def before_block(t: float) -> None:
        clock.frames = round(t * RATE)
        bus.error_rate = rate if FAULTS[0] <= t < FAULTS[1] else 0.0
        rig.instrument.poll()
        stale = len(rig.instrument.last_frame.stale)
        if FAULTS[0] <= t < FAULTS[1]:
            stale_during.append(stale)
        elif t >= FAULTS[1] + 2.0:
            stale_after.append(stale)

    recorder = Recorder()
    try:
        run_offline(rig.instrument, recorder, 10.0, sample_rate=RATE, block_frames=BLOCK,
                    before_block=before_block)
        status = rig.sensors.status()
    finally:
        rig.close()

    audio = np.concatenate(recorder.blocks)
    assert np.all(np.isfinite(audio))
    window = RATE // 10
    rms = np.sqrt(np.mean(audio[RATE: len(audio) // window * window].reshape(-1, window) ** 2, axis=1))
    assert np.all(rms > 0.003), f"silent 100 ms windows at {np.flatnonzero(rms <= 0.003) / 10 + 1} s"
    assert max(stale_during) > 0, "the faults never reached the sensors"
    assert max(stale_after) == 0, "sensors still stale two seconds after the bus recovered"
    if rate == 1.0:
        assert all(chip.reinits >= 1 for chip in status.chips)
        assert status.all_connected
