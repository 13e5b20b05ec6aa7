"""Small statistics shared by the benchmarks: quantiles and a printable row."""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Sample:
    label: str
    values: list[float]

    def quantile(self, q: float) -> float:
        ordered = sorted(self.values)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    @property
    def p50_ms(self) -> float:
        return self.quantile(0.50) * 1e3

    @property
    def p99_ms(self) -> float:
        return self.quantile(0.99) * 1e3

    @property
    def mean_ms(self) -> float:
        return statistics.fmean(self.values) * 1e3


def table(title: str, samples: list[Sample], baseline: Sample) -> str:
    """p50/p99 of each sample and its ratio to *baseline* (measured in the same run)."""
    lines = [f"{title:<34}{'p50 ms':>9}{'p99 ms':>9}{'p50 ratio':>11}{'p99 ratio':>11}"]
    for s in [baseline, *samples]:
        lines.append(
            f"{s.label:<34}{s.p50_ms:>9.3f}{s.p99_ms:>9.3f}"
            f"{s.p50_ms / baseline.p50_ms:>10.2f}x{s.p99_ms / baseline.p99_ms:>10.2f}x"
        )
    return "\n".join(lines)


async def timed(label: str, call: Callable[[], Awaitable[object]], count: int) -> Sample:
    """Time *count* awaits of *call*, one after another."""
    values = []
    for _ in range(count):
        start = time.perf_counter()
        await call()
        values.append(time.perf_counter() - start)
    return Sample(label, values)
