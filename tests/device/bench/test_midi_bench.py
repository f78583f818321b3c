"""`latent bench midi` on the session's JACK dummy server: every note arrives, the report adds up."""

from __future__ import annotations

import pytest

from device.bench import midi_bench
from device.bench.jack_server import JackServer


@pytest.mark.jack
def test_every_note_reaches_the_engine_and_the_figures_are_ordered(jack_server: JackServer) -> None:
    result = midi_bench.measure_midi(notes=8)
    assert result["connected"] and result["missed_notes"] == 0
    apply, render, total = (result[k] for k in ("to_apply_ms", "to_render_ms", "midi_to_sound_ms"))
    # Rendered, then out through the buffers (the note is applied before its block renders, but the
    # bench notices it by polling, so the two are not compared).
    assert apply["p50"] > 0.0 and 0.0 < render["p50"] < total["p50"] <= total["p99"] <= total["max"]
    buffered_ms = (result["render_ahead_frames"] - result["block_frames"] + result["device_period_frames"]) \
        / result["sample_rate"] * 1000
    assert total["p50"] >= buffered_ms
