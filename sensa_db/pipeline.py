"""The worker's side of document processing, over the SQL protocol of
``sensa_db/functions/pipeline.sql`` (docs/BEHAVIOUR.md walks through it).

Each call is one statement on a Core connection of a ``sensa_worker`` login;
commit after each (the claim must be visible to other workers before the
pipeline runs, and the result or failure ends it)::

    with engine.connect() as connection:
        claim = claim_document(connection, document_id, "worker-7", "1.4.0")
        connection.commit()
        if claim.outcome is not ClaimOutcome.CLAIMED:
            return  # another worker has it, or it is done: acknowledge the message
        if claim.result_stored:
            complete_document_from_cache(connection, claim)
        else:
            record_pipeline_result(connection, claim, run_pipeline(claim.s3_bucket, claim.s3_key))
        connection.commit()

Refusals (bad input, a claim that is not the caller's) raise the driver's
error; its ``diag.constraint_name`` names the rule.

A login that is not a member of ``sensa_worker`` (the schema's owner, the
API's login) raises :class:`sensa_db.request_context.WrongLogin` at its first
call on each connection: under FORCEd row-level security it would otherwise
find no document to claim and poll forever. A database without the protocol
raises :class:`sensa_db.database.SchemaNotAtHead`.
"""

from __future__ import annotations

import enum
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, CursorResult, RowMapping, TextClause, text

from sensa_db.database import reporting_missing_schema
from sensa_db.models.enums import FeedbackType
from sensa_db.request_context import require_role
from sensa_db.security import WORKER_ROLE

# Long enough for the pipeline on a large PDF; a dead worker's document waits this long.
DEFAULT_LEASE_SECONDS = 900
CONSENSUS_THRESHOLD = 3


class ClaimOutcome(enum.StrEnum):
    CLAIMED = "claimed"
    ALREADY_CLAIMED = "already_claimed"
    ALREADY_DONE = "already_done"
    ALREADY_FAILED = "already_failed"


@dataclass(frozen=True)
class Claim:
    """claim_document()'s answer; ``claim_token`` only when the outcome is CLAIMED."""

    document_id: uuid.UUID
    outcome: ClaimOutcome
    claim_token: uuid.UUID | None
    cache_key: str
    result_stored: bool | None
    s3_bucket: str
    s3_key: str
    lease_expires_at: datetime | None

    @classmethod
    def of(cls, document_id: uuid.UUID, row: RowMapping) -> Claim:
        return cls(
            document_id=document_id,
            outcome=ClaimOutcome(row["outcome"]),
            claim_token=row["claim_token"],
            cache_key=row["cache_key"],
            result_stored=row["result_stored"],
            s3_bucket=row["s3_bucket"],
            s3_key=row["s3_key"],
            lease_expires_at=row["lease_expires_at"],
        )


@dataclass(frozen=True)
class PipelineOutput:
    """What the pipeline made of a PDF; ``chapters`` as record_pipeline_result() takes them."""

    concept_map: dict[str, Any]
    chapters: list[dict[str, Any]]
    subject: str | None = None
    embedding: Sequence[float] | None = None


@dataclass(frozen=True)
class ContentConsensus:
    cache_key: str
    feedback_type: FeedbackType
    rating: int
    learner_count: int
    first_submitted_at: datetime
    last_submitted_at: datetime


_CLAIM_COLUMNS = (
    "outcome, claim_token, cache_key, result_stored, s3_bucket, s3_key, lease_expires_at"
)


def _protocol_call(
    connection: Connection, statement: TextClause, parameters: dict[str, Any]
) -> CursorResult[Any]:
    """One call of the worker's protocol, as a login that may make it."""
    require_role(connection, WORKER_ROLE, "it can claim and record no document")
    with reporting_missing_schema(connection):
        return connection.execute(statement, parameters)


def claim_document(
    connection: Connection,
    document_id: uuid.UUID,
    worker_id: str,
    pipeline_version: str,
    lease_seconds: int = DEFAULT_LEASE_SECONDS,
) -> Claim:
    row = (
        _protocol_call(
            connection,
            text(
                f"SELECT {_CLAIM_COLUMNS} FROM public.claim_document("
                "CAST(:document_id AS uuid), :worker_id, :pipeline_version, :lease_seconds)"
            ),
            {
                "document_id": str(document_id),
                "worker_id": worker_id,
                "pipeline_version": pipeline_version,
                "lease_seconds": lease_seconds,
            },
        )
        .mappings()
        .one()
    )
    return Claim.of(document_id, row)


def claim_next_document(
    connection: Connection,
    worker_id: str,
    pipeline_version: str,
    lease_seconds: int = DEFAULT_LEASE_SECONDS,
) -> Claim | None:
    """The oldest document waiting for a worker, claimed; None when none waits."""
    row = (
        _protocol_call(
            connection,
            text(
                f"SELECT document_id, {_CLAIM_COLUMNS} FROM public.claim_next_document("
                ":worker_id, :pipeline_version, :lease_seconds)"
            ),
            {
                "worker_id": worker_id,
                "pipeline_version": pipeline_version,
                "lease_seconds": lease_seconds,
            },
        )
        .mappings()
        .one_or_none()
    )
    return None if row is None else Claim.of(row["document_id"], row)


def _token(claim: Claim) -> str | None:
    return None if claim.claim_token is None else str(claim.claim_token)


def record_pipeline_result(
    connection: Connection, claim: Claim, output: PipelineOutput
) -> uuid.UUID:
    """Stores the result (once per content and version) and completes the document."""
    processed_id: uuid.UUID = _protocol_call(
        connection,
        text(
            "SELECT public.record_pipeline_result(CAST(:document_id AS uuid),"
            " CAST(:claim_token AS uuid), CAST(:concept_map AS jsonb), CAST(:chapters AS jsonb),"
            " :subject, CAST(:embedding AS vector))"
        ),
        {
            "document_id": str(claim.document_id),
            "claim_token": _token(claim),
            "concept_map": json.dumps(output.concept_map),
            "chapters": json.dumps(output.chapters),
            "subject": output.subject,
            "embedding": None if output.embedding is None else json.dumps(list(output.embedding)),
        },
    ).scalar_one()
    return processed_id


def complete_document_from_cache(connection: Connection, claim: Claim) -> uuid.UUID:
    """Completes the document from the result stored for its content; no pipeline run."""
    processed_id: uuid.UUID = _protocol_call(
        connection,
        text(
            "SELECT public.complete_document_from_cache("
            "CAST(:document_id AS uuid), CAST(:claim_token AS uuid))"
        ),
        {"document_id": str(claim.document_id), "claim_token": _token(claim)},
    ).scalar_one()
    return processed_id


def record_processing_failure(connection: Connection, claim: Claim, error: str) -> None:
    _protocol_call(
        connection,
        text(
            "SELECT public.record_processing_failure("
            "CAST(:document_id AS uuid), CAST(:claim_token AS uuid), :error)"
        ),
        {"document_id": str(claim.document_id), "claim_token": _token(claim), "error": error},
    )


def content_consensus(
    connection: Connection, min_users: int = CONSENSUS_THRESHOLD
) -> list[ContentConsensus]:
    """What at least ``min_users`` learners agreed on about the same content (worker, staff)."""
    rows = connection.execute(
        text(
            "SELECT cache_key, feedback_type, rating, learner_count, first_submitted_at,"
            " last_submitted_at FROM public.get_content_consensus(:min_users)"
        ),
        {"min_users": min_users},
    ).mappings()
    return [
        ContentConsensus(
            cache_key=row["cache_key"],
            feedback_type=FeedbackType(row["feedback_type"]),
            rating=row["rating"],
            learner_count=row["learner_count"],
            first_submitted_at=row["first_submitted_at"],
            last_submitted_at=row["last_submitted_at"],
        )
        for row in rows
    ]
