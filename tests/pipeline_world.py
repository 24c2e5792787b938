"""Documents for the worker to process, and what the pipeline makes of them, for the
tests of the worker protocol (sensa_db/pipeline.py) and of the whole flow."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.orm import Session

from sensa_db.models import (
    Chapter,
    ChapterComplexity,
    Keyword,
    KeywordRelationship,
    PipelineResult,
    ProcessedDocument,
)
from sensa_db.models.processed_document import EMBEDDING_DIMENSIONS
from sensa_db.pipeline import PipelineOutput
from tests.factories import make_course, make_document, make_user

PIPELINE_VERSION = "1.4.0"
# Per processed document, in every learner's copy of pipeline_output().
CONCEPT_MAP_ROWS = {Chapter: 2, Keyword: 4, KeywordRelationship: 3, ChapterComplexity: 2}


def unit_vector(seed: int) -> list[float]:
    """A deterministic embedding: documents of different seeds point different ways."""
    raw = [
        math.sin(seed * 7.0 + i * 0.37) + (1.5 if i % 97 == seed % 97 else 0.0)
        for i in range(EMBEDDING_DIMENSIONS)
    ]
    norm = math.sqrt(sum(x * x for x in raw))
    return [x / norm for x in raw]


def pipeline_output(content: str, seed: int = 1) -> PipelineOutput:
    """Two chapters, two keywords each, relationships within and across chapters."""

    def keyword(term: str, offset: int) -> dict[str, object]:
        return {
            "term": term,
            "definition": f"{term} in {content}",
            "is_primary": offset == 0,
            "embedding": unit_vector(seed * 10 + offset),
        }

    return PipelineOutput(
        concept_map={"concepts": [{"name": content}]},
        subject="biology",
        embedding=unit_vector(seed),
        chapters=[
            {
                "chapter_number": 1,
                "title": f"{content}: the cell",
                "complexity_level": "medium",
                "complexity_score": 40,
                "keywords": [keyword("cell", 0), keyword("membrane", 1)],
                "relationships": [
                    {"source": "cell", "target": "membrane", "type": "has", "strength": 0.9},
                    {"source": "cell", "target": "ATP", "type": "produces", "target_chapter": 2},
                ],
            },
            {
                "chapter_number": 2,
                "title": f"{content}: energy",
                "complexity_level": "high",
                "complexity_score": 80,
                "keywords": [keyword("mitochondria", 2), keyword("ATP", 3)],
                "relationships": [{"source": "mitochondria", "target": "ATP", "type": "makes"}],
            },
        ],
    )


@dataclass(frozen=True)
class Upload:
    user_id: uuid.UUID
    course_id: uuid.UUID
    document_id: uuid.UUID


def upload_as_admin(admin_engine: Engine, content: str, copies: int = 1) -> list[Upload]:
    """``copies`` learners, each uploading a PDF of ``content`` to a course of their own."""
    uploads = []
    with Session(admin_engine) as session:
        for _ in range(copies):
            course = make_course(session, make_user(session))
            document = make_document(session, course, content)
            uploads.append(Upload(course.user_id, course.course_id, document.document_id))
        session.commit()
    return uploads


def stored_results(connection: Connection, cache_key: str) -> int:
    return (
        connection.scalar(
            select(func.count())
            .select_from(PipelineResult)
            .where(PipelineResult.cache_key == cache_key)
        )
        or 0
    )


def concept_map_rows(connection: Connection, document_id: uuid.UUID) -> dict[type, int]:
    """How many rows of each concept-map table the document's processed document has."""
    processed = select(ProcessedDocument.processed_id).where(
        ProcessedDocument.document_id == document_id
    )
    chapters = select(Chapter.chapter_id).where(Chapter.processed_id.in_(processed))
    counts = {}
    for model in CONCEPT_MAP_ROWS:
        column = Chapter.processed_id if model is Chapter else model.chapter_id  # type: ignore[attr-defined]
        source = processed if model is Chapter else chapters
        counts[model] = (
            connection.scalar(select(func.count()).select_from(model).where(column.in_(source)))
            or 0
        )
    return counts
