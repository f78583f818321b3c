"""What a playing output did between two snapshots of its counters, in the benches' key names (bench layer).

`latent bench audio` and `latent bench xruns` report the same stream figures; this is where their
names, units and rounding are decided once.
"""

from __future__ import annotations

from typing import Any


def stream_figures(before: Any, after: Any) -> dict[str, Any]:
    """Blocks, timing and CPU of an output from `before` to `after` (both its `stats` snapshots)."""
    seconds = after.elapsed_s - before.elapsed_s
    return {
        "seconds": round(seconds, 3),
        "render_ahead_frames": after.render_ahead_frames,
        "ring_frames": after.ring_frames,
        "output_latency_ms": round(after.output_latency_s * 1e3, 3),
        "blocks": after.blocks - before.blocks,
        "blocks_due": round(after.blocks_due - before.blocks_due, 1),
        "errors": after.errors - before.errors,
        "render_max_ms": round(after.max_render_s * 1e3, 3),
        "interval_p99_ms": round(after.interval_p99_s * 1e3, 3),
        "interval_p999_ms": round(after.interval_p999_s * 1e3, 3),
        "interval_max_ms": round(after.max_interval_s * 1e3, 3),
        "render_cpu_percent": round(100.0 * (after.render_cpu_s - before.render_cpu_s) / seconds, 2)
        if seconds > 0 else 0.0,
    }
