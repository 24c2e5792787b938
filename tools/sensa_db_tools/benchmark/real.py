"""The benchmark's data set with real embeddings of real text (``--real``).

The corpus (``corpus``: the PostgreSQL and Python manuals) becomes the concept
maps' shape: each HTML page a course, each paragraph a processed document with
one chapter, and each paragraph's first sentence its keyword; five courses per
learner. Every 50th paragraph is held out: held-out paragraphs are the queries
of the document searches, their first sentences those of the keyword
searches, never rows of the tables, so no query finds itself.

``RealDataset`` is a ``Dataset``, so the load, the workloads and the report run
on it unchanged; only where queries come from differs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sensa_db_tools.benchmark.corpus import REAL_PARAGRAPHS, Page, read_pages, sample_pages
from sensa_db_tools.benchmark.dataset import SUBJECTS, Dataset, Indices, Vectors, make_uuids
from sensa_db_tools.benchmark.embeddings import (
    DEFAULT_CACHE,
    MAX_TOKENS,
    CorpusEmbeddings,
    corpus_texts,
    embed,
    keyword_text,
)
from sensa_db_tools.benchmark.scale import Scale

HELD_OUT_EVERY = 50
COURSES_PER_LEARNER = 5
MAX_TERM_CHARS = 255
MIN_TITLE_WORD = 3


@dataclass
class RealDataset(Dataset):
    """Rows from the corpus; queries drawn from the held-out paragraphs."""

    held_out_course: Indices = field(default_factory=lambda: np.empty(0, np.int64))
    held_out_documents: Vectors = field(default_factory=lambda: np.empty((0, 0), np.float32))
    held_out_keywords: Vectors = field(default_factory=lambda: np.empty((0, 0), np.float32))
    embedding: CorpusEmbeddings | None = None

    def _held_out_of(self, courses: Indices) -> Indices:
        """For each course, one of its held-out paragraphs (any, if it has none)."""
        picks = np.empty(len(courses), dtype=np.int64)
        for position, course in enumerate(courses.tolist()):
            own = np.flatnonzero(self.held_out_course == course)
            pool = own if len(own) else np.arange(len(self.held_out_course))
            picks[position] = pool[int(self.rng.integers(0, len(pool)))]
        return picks

    def document_like(self, courses: Indices) -> Vectors:
        vectors: Vectors = self.held_out_documents[self._held_out_of(courses)]
        return vectors

    def keyword_like(self, documents: Indices) -> Vectors:
        vectors: Vectors = self.held_out_keywords[
            self._held_out_of(self.document_course[documents])
        ]
        return vectors


def _course_name(page: Page) -> str:
    words = Path(page.name).with_suffix("").as_posix().replace("/", " ").replace("-", " ")
    manual = "PostgreSQL manual" if page.manual == "postgresql" else "Python manual"
    title = words.replace("_", " ").title()
    # The trigram search workload misspells the title's longest word by dropping an
    # inner letter, which needs a word of three letters (PostgreSQL's lo.html has none).
    if max(len(word) for word in title.split()) < MIN_TITLE_WORD:
        title += " Page"
    return f"{manual}: {title}"


def build(
    seed: int = 7, paragraphs: int = REAL_PARAGRAPHS, cache_dir: Path = DEFAULT_CACHE
) -> RealDataset:
    """The real data set: the corpus read, embedded (or taken from the cache) and laid out."""
    pages = sample_pages(read_pages(), paragraphs)
    return layout(pages, embed(pages, cache_dir), seed)


def layout(pages: list[Page], embedding: CorpusEmbeddings, seed: int = 7) -> RealDataset:
    """The data set of ``pages`` and their embeddings (in ``corpus_texts`` order)."""
    rng = np.random.default_rng(seed)

    page_of = np.repeat(np.arange(len(pages)), [len(page.paragraphs) for page in pages])
    paragraphs = corpus_texts(pages)[0]
    held_out = np.arange(len(paragraphs)) % HELD_OUT_EVERY == HELD_OUT_EVERY - 1
    kept = np.flatnonzero(~held_out)
    # A page all of whose paragraphs are held out has no documents: not a course.
    course_pages = np.unique(page_of[kept])
    course_of_page = np.full(len(pages), -1, dtype=np.int64)
    course_of_page[course_pages] = np.arange(len(course_pages))

    courses = len(course_pages)
    learners = max(1, courses // COURSES_PER_LEARNER)
    documents = len(kept)
    scale = Scale(
        name="real",
        learners=learners,
        courses=courses,
        documents=documents,
        keywords=documents,
        topics=1,
        warmup=50,
        repetitions=500,
        recall_queries=200,
        ef_search_values=(10, 20, 40, 64, 100, 200, 400),
    )
    document_course = course_of_page[page_of[kept]]
    held_out_rows = np.flatnonzero(held_out)
    held_out_course = course_of_page[page_of[held_out_rows]]
    keyword_terms = [keyword_text(paragraphs[row])[:MAX_TERM_CHARS] for row in kept.tolist()]
    return RealDataset(
        scale=scale,
        seed=seed,
        rng=rng,
        vocabulary=[],
        topic_vectors=np.empty((0, 0), np.float32),
        topic_bases=np.empty((0, 0, 0), np.float32),
        user_ids=make_uuids(rng, learners),
        course_ids=make_uuids(rng, courses),
        course_learner=np.arange(courses, dtype=np.int64) % learners,
        course_topic=np.full(courses, SUBJECTS.index("Computer Science"), dtype=np.int64),
        course_names=[_course_name(pages[page]) for page in course_pages.tolist()],
        course_vectors=np.empty((0, 0), np.float32),
        document_ids=make_uuids(rng, documents),
        processed_ids=make_uuids(rng, documents),
        document_course=document_course,
        document_vectors=embedding.paragraphs[kept],
        chapter_ids=make_uuids(rng, documents),
        chapter_document=np.arange(documents, dtype=np.int64),
        keyword_ids=make_uuids(rng, documents),
        keyword_chapter=np.arange(documents, dtype=np.int64),
        keyword_document=np.arange(documents, dtype=np.int64),
        keyword_terms=keyword_terms,
        keyword_vectors=embedding.keywords[kept],
        source=(
            f"{documents:,} paragraphs of the PostgreSQL 15 and Python 3 manuals embedded"
            f" by {embedding.model} (first {MAX_TOKENS} tokens), zero-padded to 768; keywords"
            " their first sentences"
        ),
        held_out_course=held_out_course,
        held_out_documents=embedding.paragraphs[held_out_rows],
        held_out_keywords=embedding.keywords[held_out_rows],
        embedding=embedding,
    )
