"""`latent play --bundle X.bundle` with an rnn bundle, live on the real pyaudio path (JACK dummy
server): the model thread runs ahead of the render thread, the stream plays and reports, and the
synth seldom has to hold a frame (counted, not asserted against zero: the machine is shared)."""

from __future__ import annotations

from pathlib import Path

import pytest

from device.app.play import PlaySettings, play_live
from device.bench.jack_server import DUMMY_DEVICE, JackServer
from tests.device import rnn_models

pytestmark = [pytest.mark.jack, pytest.mark.slow]

RATE = 48000
FRAMES = 64


def test_an_rnn_bundle_plays_live(jack_server: JackServer, tmp_path: Path) -> None:
    bundle = rnn_models.write(tmp_path / "rnn.bundle", name="live-rnn")
    messages: list[str] = []
    stats = play_live(PlaySettings(bundle=bundle, device=DUMMY_DEVICE, block_frames=FRAMES, sample_rate=RATE),
                      3.0, messages.append)
    assert 0.5 * stats["blocks_due"] < stats["blocks"] <= 1.05 * stats["blocks_due"] + 4
    assert stats["errors"] == 0 and stats["control_errors"] == 0
    assert stats["nonfinite_samples"] == 0
    assert any(m.startswith("playing rnn.bundle on") for m in messages), messages
    # 3 s are 750 frames of 4 ms; the model thread made them ahead of the audio.
    assert stats["rnn_frames_made"] >= 0.5 * 750 and stats["rnn_model_faults"] == 0
    print(f"frames held (model thread late): {stats['rnn_frames_held']} of {stats['rnn_frames_made']}")
