"""The render thread never sees half of a control change, however the threads interleave.

The control thread applies whole states while the render thread renders; the engine publishes
each change as one vector, so every block is rendered from a state that some single setter
call produced. Here a setter thread moves the latent point along the diagonal (both axes always
equal) and changes the pitch with it, as fast as it can, with the GIL handed over as often as
CPython allows; the render thread checks the vector the kernel reads before every block.
"""

from __future__ import annotations

import sys
import threading

import numpy as np

from device.app.engines import close_engine, load_engine
from device.app.play import SHIPPED_BUNDLE
from device.engine.state import C_GENERATION, C_PITCH_INDEX, C_POINT


def test_every_block_is_rendered_from_one_whole_state() -> None:
    engine = load_engine(SHIPPED_BUNDLE, sample_rate=48000)
    ctrl = engine._state.ctrl
    pitches = engine._pitches
    stop = threading.Event()
    sets = [0]

    def control() -> None:
        i = 0
        while not stop.is_set():
            x = (i % 1000) / 999.0
            pitch = float(pitches[0] if i % 2 else pitches[-1])
            engine.set_point((x, x))
            engine.set_pitch(pitch)
            i += 1
        sets[0] = i

    torn: list[tuple[float, float]] = []
    block = np.zeros(64, dtype=np.float32)
    saved = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    setter = threading.Thread(target=control)
    try:
        setter.start()
        for _ in range(20000):
            a, b = ctrl[C_POINT], ctrl[C_POINT + 1]
            if a != b:
                torn.append((a, b))
            assert 0 <= ctrl[C_PITCH_INDEX] < len(pitches)
            engine.render_into(block)
    finally:
        stop.set()
        setter.join()
        sys.setswitchinterval(saved)
        close_engine(engine)
    assert sets[0] > 1000, "the setter thread hardly ran: the test proves nothing"
    assert ctrl[C_GENERATION] > 1000
    assert torn == []
