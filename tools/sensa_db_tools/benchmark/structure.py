"""The structure of a set of embeddings that decides how hard an HNSW search over it is.

``--real`` measures these on the real embeddings and on the synthetic ones side
by side, so a gap between their recall curves can be traced to a difference in
structure:

* anisotropy: the length of the mean unit vector (0 for directions spread
  evenly; real sentence embeddings share a direction);
* spectrum: how many principal components hold half, and nine tenths, of the
  variance;
* how loose a parent (course) is: the share of the variance left within
  parents, and the share of a row's ten nearest rows with the same parent;
* the queries' neighbourhoods: the distance to the 1st, 10th and 100th
  nearest row, and the local intrinsic dimension (the maximum-likelihood
  estimate of Levina and Bickel over the 20 nearest), which sets how many
  candidates a greedy graph search must visit;
* repeated rows: the share of rows with an exact twin (ties the index may
  order otherwise than an exact scan).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sensa_db_tools.benchmark.dataset import Indices, Vectors

SAMPLE_ROWS = 2_000
NEIGHBOURS = 100
LID_NEIGHBOURS = 20
TWIN_DISTANCE = 1e-4
COLUMNS = (
    ("mean_length", "mean vector length", "{:.3f}"),
    ("components_50", "components for 50% of variance", "{:d}"),
    ("components_90", "components for 90%", "{:d}"),
    ("within_parent_variance", "variance within courses", "{:.3f}"),
    ("same_parent_neighbours", "10 nearest in the same course", "{:.3f}"),
    ("query_d1", "query: distance to 1st nearest (median)", "{:.3f}"),
    ("query_d10", "to 10th", "{:.3f}"),
    ("query_d100", "to 100th", "{:.3f}"),
    ("query_lid", "local intrinsic dimension (median)", "{:.1f}"),
    ("twin_share", "rows with an exact twin", "{:.3f}"),
)


def _components(sample: Vectors) -> tuple[int, int]:
    centred = sample - sample.mean(axis=0)
    variances = np.linalg.svd(centred, compute_uv=False) ** 2
    cumulative = np.cumsum(variances) / variances.sum()
    return int(np.searchsorted(cumulative, 0.5)) + 1, int(np.searchsorted(cumulative, 0.9)) + 1


def _within_parent_variance(vectors: Vectors, parents: Indices) -> float:
    sums = np.zeros((int(parents.max()) + 1, vectors.shape[1]))
    np.add.at(sums, parents, vectors)
    centres = sums / np.maximum(np.bincount(parents), 1)[:, None]
    within = float(np.mean(np.sum((vectors - centres[parents]) ** 2, axis=1)))
    total = float(np.mean(np.sum((vectors - vectors.mean(axis=0)) ** 2, axis=1)))
    return within / total


def measure(vectors: Vectors, queries: Vectors, parents: Indices, seed: int = 0) -> dict[str, Any]:
    """The structure of ``vectors`` (unit rows, each with its parent) and of ``queries``."""
    rng = np.random.default_rng(seed)
    sample = rng.choice(len(vectors), size=min(SAMPLE_ROWS, len(vectors)), replace=False)
    similarity = vectors[sample] @ vectors.T
    similarity[np.arange(len(sample)), sample] = -np.inf
    nearest = np.argsort(-similarity, axis=1)[:, :10]
    twin = 1 - similarity.max(axis=1) < TWIN_DISTANCE
    distances = 1 - np.sort(queries @ vectors.T, axis=1)[:, ::-1][:, :NEIGHBOURS]
    closest = np.maximum(distances[:, :LID_NEIGHBOURS], 1e-9)
    lid = -1 / np.mean(np.log(closest[:, :-1] / closest[:, -1:]), axis=1)
    components_50, components_90 = _components(vectors[sample])
    return {
        "mean_length": float(np.linalg.norm(vectors.mean(axis=0))),
        "components_50": components_50,
        "components_90": components_90,
        "within_parent_variance": _within_parent_variance(vectors, parents),
        "same_parent_neighbours": float(np.mean(parents[nearest] == parents[sample][:, None])),
        "query_d1": float(np.median(distances[:, 0])),
        "query_d10": float(np.median(distances[:, 9])),
        "query_d100": float(np.median(distances[:, -1])),
        "query_lid": float(np.median(lid)),
        "twin_share": float(np.mean(twin)),
    }


def render(rows: dict[str, dict[str, Any]]) -> list[str]:
    """A markdown table: one row per named measurement, one column per structure."""
    lines = [
        "| " + " | ".join(["set", *(label for _, label, _ in COLUMNS)]) + " |",
        "|" + "---|" * (len(COLUMNS) + 1),
    ]
    for name, values in rows.items():
        cells = [form.format(values[key]) for key, _, form in COLUMNS]
        lines.append("| " + " | ".join([name, *cells]) + " |")
    return lines
