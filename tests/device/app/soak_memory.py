"""The memory check of the half-hour soaks: traced memory every 5 virtual minutes, and what the
instrument's own code (device/) holds between minutes 5 and 25, must not grow."""

from __future__ import annotations

import gc
import tracemalloc
from types import TracebackType

SAMPLE_EVERY_S = 300  # from minute 5 on: the first visit fills every cache there is
COMPARED = (300, 1500)


class SoakMemory:
    """Traces allocations while in a `with` block; `sample(second)` from the soak's per-block hook."""

    def __init__(self) -> None:
        self.traced: dict[int, int] = {}
        self.snapshots: dict[int, tracemalloc.Snapshot] = {}

    def __enter__(self) -> SoakMemory:
        tracemalloc.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        tracemalloc.stop()

    def sample(self, second: int) -> None:
        if second % SAMPLE_EVERY_S == 0 and second not in self.traced and second >= SAMPLE_EVERY_S:
            gc.collect()
            self.traced[second] = tracemalloc.get_traced_memory()[0]
            if second in COMPARED:
                self.snapshots[second] = tracemalloc.take_snapshot().filter_traces(
                    [tracemalloc.Filter(True, "*/device/*"), tracemalloc.Filter(False, "*/tests/*")])

    def assert_nothing_grows(self) -> None:
        """In all, and in what the instrument's code holds (the test's lists of figures aside)."""
        traced = self.traced
        assert sorted(traced) == [300, 600, 900, 1200, 1500]
        growth = max(traced.values()) - traced[300]
        assert growth < 32 * 1024, traced
        held = self.snapshots[COMPARED[1]].compare_to(self.snapshots[COMPARED[0]], "filename")
        assert sum(d.size_diff for d in held) < 1024, [str(d) for d in held[:5]]
