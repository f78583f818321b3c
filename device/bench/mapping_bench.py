"""`latent bench mapping`: cost of one `Mapper.update` with a mapping file (bench layer).

The mapper runs once per sensor poll in the control thread, so its cost per poll bounds how fast
that loop may poll. Reported per scenario: a player at rest, a player moving (keys changing, both
flex sensors sweeping, one control touched) and a frame with a sensor chip gone stale.
"""

from __future__ import annotations

import argparse
import math
import random
import time
from typing import Any

NAME = "mapping"
HELP = "cost of one Mapper.update per sensor poll (default map unless --map)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--map", default=None, help="mapping file (default: the shipped default map)")
    parser.add_argument("--polls", type=int, default=20000,
                        help="sensor polls per scenario (default: %(default)s)")
    parser.add_argument("--poll-rate", type=float, default=1000.0,
                        help="simulated polls per second (default: %(default)s)")


def _frames(scenario: str, count: int, rate: float, channels: list[str], seed: int) -> list[Any]:
    from device.sensors.frame import SensorFrame

    rng = random.Random(seed)
    electrodes = [c for c in channels if c.startswith("e")]
    flexes = [c for c in channels if c.startswith("flex")]
    stale = frozenset(flexes) if scenario == "stale" else frozenset()
    frames = []
    for i in range(count):
        t = i / rate
        values = {c: rng.gauss(0.0, 0.7) for c in electrodes}
        for j, c in enumerate(flexes):
            values[c] = 13000.0 + rng.gauss(0.0, 4.0)
            if scenario == "moving":
                values[c] += 6000.0 * (0.5 + 0.5 * math.sin(2 * math.pi * (0.7 + 0.3 * j) * t))
        if scenario == "moving" and electrodes:
            key = electrodes[int(t * 4.0) % min(8, len(electrodes))]  # a new key every 250 ms
            values[key] += 40.0
            values[electrodes[-1]] += 20.0 + 20.0 * math.sin(2 * math.pi * 0.5 * t)
        frames.append(SensorFrame(t, values, stale))
    return frames


def run(args: argparse.Namespace) -> dict[str, Any]:
    from device.mapping.config import INSTRUMENT_CHANNELS
    from device.mapping.map_file import load_map
    from device.mapping.mapper import Mapper

    config = load_map(args.map)
    channels = list(INSTRUMENT_CHANNELS)
    result: dict[str, Any] = {
        "map": config.source,
        "channels_mapped": len(config.channels_used),
        "polls_per_scenario": args.polls,
        "poll_rate_hz": args.poll_rate,
        "scenarios": {},
    }
    for seed, scenario in enumerate(("rest", "moving", "stale")):
        mapper = Mapper(config)
        warm = _frames("rest", int(config.learn_s * args.poll_rate) + 10, args.poll_rate, channels, seed)
        for frame in warm:
            mapper.update(frame)
        offset = warm[-1].timestamp + 1.0 / args.poll_rate
        frames = [type(f)(f.timestamp + offset, f.values, f.stale)
                  for f in _frames(scenario, args.polls, args.poll_rate, channels, seed + 100)]
        costs = []
        clock = time.perf_counter_ns
        update = mapper.update
        for frame in frames:
            start = clock()
            update(frame)
            costs.append(clock() - start)
        costs.sort()
        n = len(costs)
        mean_us = sum(costs) / n / 1000.0
        result["scenarios"][scenario] = {
            "mean_us": round(mean_us, 2),
            "p50_us": round(costs[n // 2] / 1000.0, 2),
            "p99_us": round(costs[min(n - 1, int(n * 0.99))] / 1000.0, 2),
            "max_us": round(costs[-1] / 1000.0, 2),
            "load_at_poll_rate": round(mean_us * 1e-6 * args.poll_rate, 4),
        }
    return result
