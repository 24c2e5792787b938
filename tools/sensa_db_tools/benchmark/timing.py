"""Latency samples and their percentiles."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")


@dataclass
class Samples:
    """Wall-clock milliseconds of one measured operation, as the client saw them."""

    milliseconds: list[float] = field(default_factory=list)

    def time(self, operation: Callable[[], T]) -> T:
        started = time.perf_counter()
        result = operation()
        self.milliseconds.append((time.perf_counter() - started) * 1000)
        return result

    def percentile(self, share: float) -> float:
        if not self.milliseconds:
            raise ValueError("no samples")
        return float(np.percentile(self.milliseconds, share))

    @property
    def p50(self) -> float:
        return self.percentile(50)

    @property
    def p95(self) -> float:
        return self.percentile(95)

    @property
    def p99(self) -> float:
        return self.percentile(99)

    def summary(self) -> dict[str, Any]:
        return {
            "n": len(self.milliseconds),
            "p50_ms": round(self.p50, 3),
            "p95_ms": round(self.p95, 3),
            "p99_ms": round(self.p99, 3),
            "mean_ms": round(float(np.mean(self.milliseconds)), 3),
            "max_ms": round(max(self.milliseconds), 3),
        }
