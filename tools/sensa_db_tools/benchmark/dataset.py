"""The generated data set: learners, their courses, documents, concept maps and embeddings.

Everything is drawn from one seeded generator, so a run is reproducible, and
every id is made here, so parents and children are linked without a round trip
to the database. The rows follow the shape the pipeline writes:

* each learner has ``courses / learners`` courses; each course has a subject
  and one of ``topics`` topics, shared with other learners' courses;
* documents are spread over courses (at least one each, Poisson-like around
  the mean), each with 1 to 3 chapters; keywords are spread over chapters (at
  least one each); each keyword but a document's first is related to an
  earlier keyword of the same document (a concept map is a connected tree);
* learners have progress on a fifth of their chapters, annotate their courses
  and rate analogies on their chapters; a few documents stay pending or fail.

Embeddings are 768-dimension float32, L2-normalised and hierarchical, and
shaped after real sentence embeddings (all-MiniLM-L6-v2 over the PostgreSQL and
Python manuals, measured with numpy; ``--real`` puts both side by side):

* anisotropic: every vector shares one direction (the mean of real unit
  vectors has length 0.30, not 0), and variance falls off as a power of the
  component's rank (eigenvalue ~ rank^-0.9), drawn on fixed axes;
* loose courses: a document lies near its course within its topic's low-rank
  subspace (24 directions: a local intrinsic dimension of 7 to 8, as measured),
  but its course explains only a third of its variance (real: a quarter), so
  that most of a query's ten nearest documents belong to other courses;
* repeated text: a few documents repeat another of their course verbatim
  (boilerplate: 4% of the manuals' paragraphs have an exact twin).

A tight, isotropic mixture (the first generator) made searches too easy at a
low ``hnsw.ef_search`` and left whole clusters unreachable at a high one.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from sensa_db.models.enums import ComplexityLevel, FeedbackType, LearningStyle
from sensa_db.models.processed_document import EMBEDDING_DIMENSIONS
from sensa_db_tools.benchmark.scale import Scale

Vectors = npt.NDArray[np.float32]
Indices = npt.NDArray[np.int64]

SUBSPACE_RANK = 24
# Real embeddings' variance falls off as rank^-SPECTRUM_DECAY (measured from the 5th
# to the 200th component), and their unit vectors' mean has length 0.30: a shared
# direction of this weight reproduces it.
SPECTRUM_DECAY = 0.9
COMMON_WEIGHT = 0.8
# The share of documents (and of keywords) copied from the one before them in their
# course: about twice as many rows then have an exact twin, as 4.3% of the real ones do.

DUPLICATE_SHARE = 0.025
PIPELINE_VERSION = "1.4.0"
S3_BUCKET = "sensa-bench-documents"
# The share of extra documents that stay pending, and that failed, beside the processed ones.
PENDING_SHARE = 0.02
FAILED_SHARE = 0.01
PROGRESS_SHARE = 0.2
ANNOTATIONS_PER_LEARNER = 5
ANALOGY_FEEDBACK_PER_LEARNER = 10
COMPLEXITY_SHARE = 0.2
# How far each level lies from its parent: (topic subspace, full-rank) weights.
COURSE_SPREAD = (0.5, 0.0)
DOCUMENT_SPREAD = (1.7, 0.5)
KEYWORD_SPREAD = (0.6, 0.25)
EMBEDDING_CHUNK = 50_000
MAX_CHAPTERS = 3

SUBJECTS = (
    "Biology",
    "Chemistry",
    "Physics",
    "Mathematics",
    "History",
    "Economics",
    "Psychology",
    "Computer Science",
    "Literature",
    "Philosophy",
    "Geography",
    "Sociology",
    "Statistics",
    "Law",
    "Medicine",
    "Engineering",
    "Art History",
    "Linguistics",
    "Astronomy",
    "Music Theory",
)
RELATIONSHIP_TYPES = ("is_a", "part_of", "causes", "contrasts_with", "example_of", "requires")
BADGES = ("first_chapter", "first_week", "night_owl", "perfect_score", "streak_7")
INTERESTS = (
    "football",
    "cooking",
    "music",
    "gaming",
    "hiking",
    "films",
    "chess",
    "gardening",
    "travel",
    "photography",
)
_ONSETS = [
    "b",
    "c",
    "d",
    "f",
    "g",
    "h",
    "k",
    "l",
    "m",
    "n",
    "p",
    "r",
    "s",
    "t",
    "v",
    "z",
    "br",
    "ch",
    "cl",
    "cr",
    "dr",
    "fl",
    "gl",
    "gr",
    "ph",
    "pl",
    "pr",
    "sc",
    "sp",
    "st",
    "str",
    "th",
    "tr",
]
_VOWELS = ["a", "e", "i", "o", "u", "ae", "io", "ou", "y", "ea"]
_CODAS = ["", "", "", "n", "r", "s", "l", "x", "m", "t", "ct", "nd", "st"]
_SUFFIXES = ["", "", "ism", "ase", "ide", "ation", "ology", "ics", "ine", "al", "ic", "ium"]


def unit_rows(matrix: Vectors) -> Vectors:
    """Each row scaled to length 1 (cosine distance is then 1 - dot product)."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    unit: Vectors = (matrix / np.maximum(norms, 1e-12)).astype(np.float32)
    return unit


def axis_scales(dimensions: int) -> Vectors:
    """Standard deviations per axis whose variances fall off as rank^-SPECTRUM_DECAY and sum
    to 1: a draw scaled by them has about unit length and real embeddings' spectrum."""
    scales = np.arange(1, dimensions + 1, dtype=np.float64) ** (-SPECTRUM_DECAY / 2)
    normalised: Vectors = (scales / np.sqrt(np.sum(scales**2))).astype(np.float32)
    return normalised


def anisotropic(rng: np.random.Generator, count: int, dimensions: int) -> Vectors:
    """``count`` Gaussian draws of real embeddings' spectrum (``axis_scales``)."""
    draws: Vectors = rng.standard_normal((count, dimensions), dtype=np.float32)
    return draws * axis_scales(dimensions)


def make_uuids(rng: np.random.Generator, count: int) -> list[uuid.UUID]:
    """``count`` version-4 UUIDs from ``rng`` (reproducible, unlike uuid.uuid4)."""
    raw = rng.integers(0, 256, size=(count, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    data = raw.tobytes()
    return [uuid.UUID(bytes=data[i * 16 : i * 16 + 16]) for i in range(count)]


def spread(rng: np.random.Generator, parents: Sequence[int], total: int) -> Indices:
    """The parent of each of ``total`` children: every parent gets one, the rest at
    random; children of a parent are contiguous (sorted by parent)."""
    if total < len(parents):
        raise ValueError(f"{total} children cannot give each of {len(parents)} parents one")
    extra = rng.integers(0, len(parents), size=total - len(parents))
    owners = np.concatenate([np.arange(len(parents)), extra])
    owners.sort()
    chosen: Indices = np.asarray(parents, dtype=np.int64)[owners]
    return chosen


def starts_of(owners: Indices, parent_count: int) -> Indices:
    """For children sorted by parent, the index of each parent's first child (and the end)."""
    return np.searchsorted(owners, np.arange(parent_count + 1)).astype(np.int64)


def make_vocabulary(rng: np.random.Generator, size: int) -> list[str]:
    """``size`` distinct pseudo-words of 2 to 4 syllables, like technical terms."""
    words: set[str] = set()
    while len(words) < size:
        syllables = int(rng.integers(2, 5))
        word = "".join(
            str(rng.choice(_ONSETS)) + str(rng.choice(_VOWELS)) + str(rng.choice(_CODAS))
            for _ in range(syllables)
        ) + str(rng.choice(_SUFFIXES))
        if 5 <= len(word) <= 18:
            words.add(word)
    return sorted(words)


def course_number(rng: np.random.Generator) -> int:
    """A course code like 101 or 342."""
    return int(rng.integers(1, 5)) * 100 + int(rng.integers(1, 20))


def typo(word: str, rng: np.random.Generator) -> str:
    """``word`` with one inner letter dropped: the commonest typing slip."""
    position = int(rng.integers(1, len(word) - 1))
    return word[:position] + word[position + 1 :]


@dataclass
class Dataset:
    """The generated rows, their ids and embeddings, and the indices linking them."""

    scale: Scale
    seed: int
    rng: np.random.Generator
    vocabulary: list[str]
    topic_vectors: Vectors
    topic_bases: Vectors
    user_ids: list[uuid.UUID]
    course_ids: list[uuid.UUID]
    course_learner: Indices
    course_topic: Indices
    course_names: list[str]
    course_vectors: Vectors
    document_ids: list[uuid.UUID]
    processed_ids: list[uuid.UUID]
    document_course: Indices
    document_vectors: Vectors
    chapter_ids: list[uuid.UUID]
    chapter_document: Indices
    keyword_ids: list[uuid.UUID]
    keyword_chapter: Indices
    keyword_document: Indices
    keyword_terms: list[str]
    keyword_vectors: Vectors
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    # Where the embeddings come from, as the report names it.
    source: str = "synthetic (dataset.generate)"

    @property
    def learner_courses(self) -> list[list[int]]:
        courses: list[list[int]] = [[] for _ in self.user_ids]
        for course, learner in enumerate(self.course_learner.tolist()):
            courses[learner].append(course)
        return courses

    def course_keywords(self, course: int) -> Indices:
        """Indices of the keywords of ``course``'s processed documents."""
        return np.flatnonzero(self.document_course[self.keyword_document] == course)

    def document_like(self, courses: Indices) -> Vectors:
        """Fresh embeddings drawn as a new document of each of ``courses`` would be."""
        return self._near(self.course_vectors[courses], self.course_topic[courses], DOCUMENT_SPREAD)

    def keyword_like(self, documents: Indices) -> Vectors:
        """Fresh embeddings drawn as a new keyword of each of ``documents`` would be."""
        topics = self.course_topic[self.document_course[documents]]
        return self._near(self.document_vectors[documents], topics, KEYWORD_SPREAD)

    def _near(self, parents: Vectors, topics: Indices, weights: tuple[float, float]) -> Vectors:
        return draw_near(self.rng, parents, topics, self.topic_bases, weights)


def draw_near(
    rng: np.random.Generator,
    parents: Vectors,
    topics: Indices,
    bases: Vectors,
    weights: tuple[float, float],
) -> Vectors:
    """Unit vectors near ``parents``: a component in each topic's subspace plus full-rank
    noise, both of real embeddings' spectrum; drawn ``EMBEDDING_CHUNK`` rows at a time,
    so that memory stays flat however many rows are asked for."""
    low_rank_weight, noise_weight = weights
    dimensions = parents.shape[1]
    chunks = []
    for start in range(0, len(parents), EMBEDDING_CHUNK):
        near = parents[start : start + EMBEDDING_CHUNK]
        near_topics = topics[start : start + EMBEDDING_CHUNK]
        coefficients = rng.standard_normal((len(near), SUBSPACE_RANK), dtype=np.float32)
        coefficients /= np.sqrt(SUBSPACE_RANK)
        low_rank = np.empty_like(near)
        for topic in np.unique(near_topics):
            rows = np.flatnonzero(near_topics == topic)
            low_rank[rows] = coefficients[rows] @ bases[topic]
        noise = anisotropic(rng, len(near), dimensions)
        chunks.append(unit_rows(near + low_rank_weight * low_rank + noise_weight * noise))
    return np.concatenate(chunks) if chunks else np.empty((0, dimensions), np.float32)


def repeat_earlier(rng: np.random.Generator, vectors: Vectors, owners: Indices) -> None:
    """Make ``DUPLICATE_SHARE`` of the rows copies of the row before them where both have
    the same owner (rows sorted by owner), as repeated boilerplate text embeds alike."""
    picked = np.flatnonzero(rng.random(len(vectors) - 1) < DUPLICATE_SHARE) + 1
    same_owner = picked[owners[picked] == owners[picked - 1]]
    vectors[same_owner] = vectors[same_owner - 1]


def generate(scale: Scale, seed: int = 7) -> Dataset:
    """Draw the ids, names, links and embeddings of the whole data set."""
    rng = np.random.default_rng(seed)
    dimensions = EMBEDDING_DIMENSIONS

    common = unit_rows(rng.standard_normal((1, dimensions), dtype=np.float32))
    topic_vectors = unit_rows(COMMON_WEIGHT * common + anisotropic(rng, scale.topics, dimensions))
    topic_bases = anisotropic(rng, scale.topics * SUBSPACE_RANK, dimensions).reshape(
        scale.topics, SUBSPACE_RANK, dimensions
    )

    learners = scale.learners
    course_learner = spread(rng, range(learners), scale.courses)
    course_topic = rng.integers(0, scale.topics, size=scale.courses)
    course_vectors = draw_near(
        rng, topic_vectors[course_topic], course_topic, topic_bases, COURSE_SPREAD
    )

    # Each topic has its own words, drawn Zipf-like: a course's terms repeat.
    vocabulary = make_vocabulary(rng, max(2_000, 40 * scale.topics))
    words_per_topic = len(vocabulary) // scale.topics
    topic_words = rng.permutation(len(vocabulary))[: words_per_topic * scale.topics].reshape(
        scale.topics, words_per_topic
    )
    course_names = [
        f"{SUBJECTS[topic % len(SUBJECTS)]} {course_number(rng)}:"
        f" {vocabulary[topic_words[topic, int(rng.zipf(1.6)) % words_per_topic]].title()}"
        for topic in course_topic.tolist()
    ]

    document_course = spread(rng, range(scale.courses), scale.documents)
    document_vectors = draw_near(
        rng,
        course_vectors[document_course],
        course_topic[document_course],
        topic_bases,
        DOCUMENT_SPREAD,
    )
    repeat_earlier(rng, document_vectors, document_course)
    # Up to three chapters a document, as long as every chapter can have a keyword:
    # with one keyword per document (the real corpus's layout) each has one chapter.
    most_chapters = min(MAX_CHAPTERS, scale.keywords // scale.documents)
    if most_chapters < 1:
        raise ValueError("the data set needs at least one keyword per document")
    chapters_per_document = rng.integers(1, most_chapters + 1, size=scale.documents)
    chapter_count = int(chapters_per_document.sum())
    chapter_document = np.repeat(np.arange(scale.documents), chapters_per_document)
    keyword_chapter = spread(rng, range(chapter_count), scale.keywords)
    keyword_document = chapter_document[keyword_chapter]
    keyword_vectors = draw_near(
        rng,
        document_vectors[keyword_document],
        course_topic[document_course[keyword_document]],
        topic_bases,
        KEYWORD_SPREAD,
    )
    repeat_earlier(rng, keyword_vectors, document_course[keyword_document])
    keyword_topics = course_topic[document_course[keyword_document]]
    word_ranks = rng.zipf(1.3, size=(scale.keywords, 3)) % words_per_topic
    lengths = rng.integers(1, 4, size=scale.keywords)
    keyword_terms = [
        " ".join(vocabulary[topic_words[topic, rank]] for rank in ranks[:length]).title()
        for topic, ranks, length in zip(
            keyword_topics.tolist(), word_ranks.tolist(), lengths.tolist(), strict=True
        )
    ]

    return Dataset(
        scale=scale,
        seed=seed,
        rng=rng,
        vocabulary=vocabulary,
        topic_vectors=topic_vectors,
        topic_bases=topic_bases,
        user_ids=make_uuids(rng, learners),
        course_ids=make_uuids(rng, scale.courses),
        course_learner=course_learner,
        course_topic=course_topic,
        course_names=course_names,
        course_vectors=course_vectors,
        document_ids=make_uuids(rng, scale.documents),
        processed_ids=make_uuids(rng, scale.documents),
        document_course=document_course,
        document_vectors=document_vectors,
        chapter_ids=make_uuids(rng, chapter_count),
        chapter_document=chapter_document,
        keyword_ids=make_uuids(rng, scale.keywords),
        keyword_chapter=keyword_chapter,
        keyword_document=keyword_document,
        keyword_terms=keyword_terms,
        keyword_vectors=keyword_vectors,
    )


def _sha256(*parts: object) -> str:
    return hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()


@dataclass(frozen=True)
class TableRows:
    """Rows for one table, in load order: columns, count, and a way to make them."""

    table: str
    columns: tuple[str, ...]
    count: int
    rows: Callable[[], Iterator[tuple[Any, ...]]]


def table_rows(data: Dataset) -> list[TableRows]:
    """Every table's rows, parents before children.

    Documents are inserted pending, as uploads are; ``loading`` moves the
    processed ones through processing to completed around their concept maps,
    as the worker does (the status trigger allows nothing else).
    """
    rng = np.random.default_rng(data.seed + 1)
    scale = data.scale
    now = data.now
    learner_courses = data.learner_courses
    course_documents = starts_of(data.document_course, scale.courses)
    document_chapters = starts_of(data.chapter_document, scale.documents)
    chapter_course = data.document_course[data.chapter_document]
    extra_documents = round(scale.documents * (PENDING_SHARE + FAILED_SHARE))
    extra_document_course = rng.integers(0, scale.courses, size=extra_documents)

    def days_ago(days: float) -> datetime:
        return now - timedelta(days=float(days))

    def users() -> Iterator[tuple[Any, ...]]:
        for learner, user_id in enumerate(data.user_ids):
            yield (user_id, f"bench|{user_id}", f"learner{learner}@bench.sensa.test", True, True)

    def profiles() -> Iterator[tuple[Any, ...]]:
        styles = [style.value for style in LearningStyle]
        for user_id in data.user_ids:
            picks = rng.choice(len(INTERESTS), size=int(rng.integers(1, 5)), replace=False)
            yield (
                user_id,
                str(rng.choice(["18-24", "25-34", "35-44"])),
                [INTERESTS[i] for i in sorted(picks.tolist())],
                styles[int(rng.integers(0, len(styles)))],
            )

    def courses() -> Iterator[tuple[Any, ...]]:
        for course, course_id in enumerate(data.course_ids):
            topic = int(data.course_topic[course])
            yield (
                course_id,
                data.user_ids[int(data.course_learner[course])],
                data.course_names[course],
                f"Lecture notes and readings for {data.course_names[course]}.",
                SUBJECTS[topic % len(SUBJECTS)],
                bool(rng.random() < 0.1),
                days_ago(rng.uniform(0, 365)),
            )

    def documents() -> Iterator[tuple[Any, ...]]:
        courses_of = [*data.document_course.tolist(), *extra_document_course.tolist()]
        extra_ids = make_uuids(rng, extra_documents)
        for document, course in enumerate(courses_of):
            document_id = (
                data.document_ids[document]
                if document < scale.documents
                else extra_ids[document - scale.documents]
            )
            yield (
                document_id,
                data.course_ids[course],
                f"{document_id}.pdf",
                f"lecture-{document % 40 + 1}.pdf",
                f"courses/{data.course_ids[course]}/{document_id}.pdf",
                S3_BUCKET,
                _sha256(data.seed, document_id),
                int(rng.integers(50_000, 20_000_000)),
                "application/pdf",
                int(rng.integers(4, 300)),
                days_ago(rng.uniform(0, 300)),
            )

    def processed() -> Iterator[tuple[Any, ...]]:
        for document, processed_id in enumerate(data.processed_ids):
            course = int(data.document_course[document])
            first, last = document_chapters[document], document_chapters[document + 1]
            concepts = [data.keyword_terms[k] for k in _keywords_of_chapters(data, first, last)[:8]]
            digest = _sha256(data.seed, data.document_ids[document])
            yield (
                processed_id,
                data.document_ids[document],
                data.course_ids[course],
                {"concepts": concepts, "chapters": int(last - first)},
                PIPELINE_VERSION,
                SUBJECTS[int(data.course_topic[course]) % len(SUBJECTS)],
                data.document_vectors[document],
                f"{digest}:{PIPELINE_VERSION}",
            )

    def chapters() -> Iterator[tuple[Any, ...]]:
        levels = [level.value for level in ComplexityLevel]
        for chapter, chapter_id in enumerate(data.chapter_ids):
            document = int(data.chapter_document[chapter])
            score = int(rng.integers(0, 101))
            yield (
                chapter_id,
                data.processed_ids[document],
                int(chapter - document_chapters[document] + 1),
                f"Chapter {chapter - document_chapters[document] + 1}",
                "A summary of the chapter's main ideas.",
                int(rng.integers(0, 101)),
                score,
                levels[min(score * len(levels) // 101, len(levels) - 1)],
                int(rng.integers(5, 90)),
            )

    def keywords() -> Iterator[tuple[Any, ...]]:
        for keyword, keyword_id in enumerate(data.keyword_ids):
            term = data.keyword_terms[keyword]
            yield (
                keyword_id,
                data.chapter_ids[int(data.keyword_chapter[keyword])],
                term,
                f"{term}: a concept of this chapter, defined in the lecture.",
                bool(rng.random() < 0.3),
                bool(rng.random() < 0.4),
                data.keyword_vectors[keyword],
            )

    document_keywords = starts_of(data.keyword_document, scale.documents)
    relationship_count = scale.keywords - scale.documents

    def relationships() -> Iterator[tuple[Any, ...]]:
        for document in range(scale.documents):
            first, last = int(document_keywords[document]), int(document_keywords[document + 1])
            for keyword in range(first + 1, last):
                source = int(rng.integers(first, keyword))
                source_chapter = int(data.keyword_chapter[source])
                yield (
                    data.chapter_ids[source_chapter],
                    data.keyword_ids[source],
                    data.keyword_ids[keyword],
                    RELATIONSHIP_TYPES[int(rng.integers(0, len(RELATIONSHIP_TYPES)))],
                    source_chapter != int(data.keyword_chapter[keyword]),
                    round(float(rng.uniform(0.1, 1.0)), 2),
                )

    complexity_chapters = np.flatnonzero(rng.random(len(data.chapter_ids)) < COMPLEXITY_SHARE)

    def complexity() -> Iterator[tuple[Any, ...]]:
        levels = [level.value for level in ComplexityLevel]
        for chapter in complexity_chapters.tolist():
            score = int(rng.integers(0, 101))
            yield (
                data.chapter_ids[chapter],
                levels[min(score * len(levels) // 101, len(levels) - 1)],
                score,
            )

    course_chapters = [
        np.arange(
            document_chapters[course_documents[course]],
            document_chapters[course_documents[course + 1]],
        )
        for course in range(scale.courses)
    ]
    learners = scale.learners
    progress_picks = [
        [
            chapter
            for course in learner_courses[learner]
            for chapter in course_chapters[course].tolist()
            if rng.random() < PROGRESS_SHARE
        ]
        for learner in range(scale.learners)
    ]

    def progress() -> Iterator[tuple[Any, ...]]:
        for learner, picked in enumerate(progress_picks):
            for chapter in picked:
                completed = bool(rng.random() < 0.5)
                badges = [BADGES[int(rng.integers(0, len(BADGES)))]] if completed else []
                yield (
                    data.user_ids[learner],
                    data.course_ids[int(chapter_course[chapter])],
                    data.chapter_ids[chapter],
                    completed,
                    int(rng.integers(60, 7_200)),
                    badges,
                )

    def annotations() -> Iterator[tuple[Any, ...]]:
        types = [feedback_type.value for feedback_type in FeedbackType]
        for learner in range(learners):
            for _ in range(ANNOTATIONS_PER_LEARNER):
                course = int(rng.choice(learner_courses[learner]))
                rating = int(rng.integers(1, 6)) if rng.random() < 0.8 else None
                yield (
                    data.user_ids[learner],
                    data.course_ids[course],
                    types[int(rng.integers(0, len(types)))],
                    rating,
                    "Clear and useful." if rating and rating > 3 else "Could be clearer.",
                    days_ago(rng.uniform(0, 60)),
                    bool(rng.random() < 0.3),
                )

    def analogy_feedback() -> Iterator[tuple[Any, ...]]:
        for learner in range(learners):
            chapters_of = np.concatenate([course_chapters[c] for c in learner_courses[learner]])
            for _ in range(ANALOGY_FEEDBACK_PER_LEARNER):
                yield (
                    data.user_ids[learner],
                    data.chapter_ids[int(rng.choice(chapters_of))],
                    uuid.UUID(int=int(rng.integers(0, 2**62)), version=4),
                    bool(rng.random() < 0.7),
                    days_ago(rng.uniform(0, 60)),
                )

    return [
        TableRows(
            "users",
            ("user_id", "cognito_sub", "email", "email_verified", "is_active"),
            learners,
            users,
        ),
        TableRows(
            "user_profiles",
            ("user_id", "age_range", "interests", "learning_style"),
            learners,
            profiles,
        ),
        TableRows(
            "courses",
            ("course_id", "user_id", "name", "description", "subject", "is_archived", "created_at"),
            scale.courses,
            courses,
        ),
        TableRows(
            "course_documents",
            (
                "document_id",
                "course_id",
                "filename",
                "original_filename",
                "s3_key",
                "s3_bucket",
                "sha256_hash",
                "file_size",
                "mime_type",
                "page_count",
                "upload_date",
            ),
            scale.documents + extra_documents,
            documents,
        ),
        TableRows(
            "processed_documents",
            (
                "processed_id",
                "document_id",
                "course_id",
                "concept_map",
                "pipeline_version",
                "subject",
                "embedding",
                "cache_key",
            ),
            scale.documents,
            processed,
        ),
        TableRows(
            "chapters",
            (
                "chapter_id",
                "processed_id",
                "chapter_number",
                "title",
                "summary",
                "exam_relevance_score",
                "complexity_score",
                "complexity_level",
                "estimated_time_minutes",
            ),
            len(data.chapter_ids),
            chapters,
        ),
        TableRows(
            "keywords",
            (
                "keyword_id",
                "chapter_id",
                "term",
                "definition",
                "is_primary",
                "exam_relevant",
                "embedding",
            ),
            scale.keywords,
            keywords,
        ),
        TableRows(
            "relationships",
            (
                "chapter_id",
                "source_keyword_id",
                "target_keyword_id",
                "relationship_type",
                "is_cross_chapter",
                "strength",
            ),
            relationship_count,
            relationships,
        ),
        TableRows(
            "chapter_complexity",
            ("chapter_id", "complexity_level", "complexity_score"),
            len(complexity_chapters),
            complexity,
        ),
        TableRows(
            "user_progress",
            ("user_id", "course_id", "chapter_id", "completed", "time_spent_seconds", "badges"),
            sum(len(picked) for picked in progress_picks),
            progress,
        ),
        TableRows(
            "user_annotations",
            (
                "user_id",
                "course_id",
                "feedback_type",
                "rating",
                "comment",
                "submitted_at",
                "processed",
            ),
            learners * ANNOTATIONS_PER_LEARNER,
            annotations,
        ),
        TableRows(
            "analogy_feedback",
            ("user_id", "chapter_id", "analogy_id", "helpful", "submitted_at"),
            learners * ANALOGY_FEEDBACK_PER_LEARNER,
            analogy_feedback,
        ),
    ]


def _keywords_of_chapters(data: Dataset, first: int, last: int) -> list[int]:
    """Indices of the keywords of chapters ``first`` to ``last`` (exclusive)."""
    low = int(np.searchsorted(data.keyword_chapter, first))
    high = int(np.searchsorted(data.keyword_chapter, last))
    return list(range(low, high))


def extra_document_statuses(data: Dataset) -> tuple[int, int]:
    """How many of the extra documents stay pending, and how many fail."""
    pending = round(data.scale.documents * PENDING_SHARE)
    failed = round(data.scale.documents * (PENDING_SHARE + FAILED_SHARE)) - pending
    return pending, failed
