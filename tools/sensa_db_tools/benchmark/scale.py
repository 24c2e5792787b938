"""The size of the generated data set and of each measurement."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Scale:
    """Row counts of the data set and repetitions of each measurement.

    The default data set: 1,000 learners with 5 courses each,
    100,000 processed documents (20 per course) and 300,000 keywords. Chapters,
    relationships, progress, annotations and analogy feedback follow from
    these in the proportions of ``dataset``.
    """

    name: str
    learners: int
    courses: int
    documents: int
    keywords: int
    # Embeddings are drawn around topic centres; several courses share a topic.
    topics: int
    warmup: int
    repetitions: int
    # Queries whose recall is measured, per ef_search value.
    recall_queries: int
    ef_search_values: tuple[int, ...]

    @classmethod
    def default(cls, factor: float = 1.0) -> Scale:
        """The default data set, every count multiplied by ``factor``."""
        if factor <= 0:
            raise ValueError(f"the scale factor must be positive, not {factor}")

        def scaled(count: int, floor: int) -> int:
            return max(floor, round(count * factor))

        return cls(
            name="default" if factor == 1 else f"scale {factor:g}",
            learners=scaled(1_000, 4),
            courses=scaled(5_000, 8),
            documents=scaled(100_000, 100),
            keywords=scaled(300_000, 300),
            topics=scaled(300, 6),
            warmup=50,
            repetitions=500,
            recall_queries=200,
            ef_search_values=(10, 20, 40, 64, 100, 200, 400),
        )

    @classmethod
    def quick(cls) -> Scale:
        """A smoke test for CI: every step runs, on a data set small enough for seconds."""
        return cls(
            name="quick",
            learners=10,
            courses=40,
            documents=800,
            keywords=2_400,
            topics=8,
            warmup=3,
            repetitions=20,
            recall_queries=20,
            ef_search_values=(10, 40, 100),
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
