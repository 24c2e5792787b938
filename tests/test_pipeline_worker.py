"""The worker's protocol (sensa_db/functions/pipeline.sql through sensa_db.pipeline), as
the worker runs it: a ``sensa_worker`` login, documents uploaded by learners."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace

import pytest
from sqlalchemy import Connection, Engine, create_engine, delete, func, select, text
from sqlalchemy.pool import NullPool

from sensa_db.models import (
    CourseDocument,
    DocumentClaim,
    PipelineResult,
    ProcessedDocument,
    User,
)
from sensa_db.pipeline import (
    ClaimOutcome,
    claim_document,
    claim_next_document,
    complete_document_from_cache,
    record_pipeline_result,
    record_processing_failure,
)
from sensa_db.security import ADMIN_ROLE, WORKER_ROLE
from tests.database_errors import refused
from tests.pipeline_world import (
    CONCEPT_MAP_ROWS,
    PIPELINE_VERSION,
    concept_map_rows,
    pipeline_output,
    stored_results,
    upload_as_admin,
)
from tests.rls import as_login, denied_by_grant

WORKER = "worker-1"


@pytest.fixture
def worker(worker_engine: Engine) -> Iterator[Connection]:
    """The worker's connection; tests commit as the worker does."""
    with worker_engine.connect() as connection:
        yield connection


def status(connection: Connection, document_id: uuid.UUID) -> str:
    return str(
        connection.scalar(
            select(CourseDocument.processing_status).where(
                CourseDocument.document_id == document_id
            )
        )
    )


def claims(connection: Connection, document_id: uuid.UUID) -> int:
    return (
        connection.scalar(
            select(func.count())
            .select_from(DocumentClaim)
            .where(DocumentClaim.document_id == document_id)
        )
        or 0
    )


def test_a_document_is_claimed_once_processed_once_and_then_done(
    shared_engine: Engine, worker: Connection
) -> None:
    (upload,) = upload_as_admin(shared_engine, f"claimed once {uuid.uuid4()}")
    claim = claim_document(worker, upload.document_id, WORKER, PIPELINE_VERSION)
    worker.commit()
    assert claim.outcome is ClaimOutcome.CLAIMED
    assert claim.result_stored is False
    assert status(worker, upload.document_id) == "processing"

    again = claim_document(worker, upload.document_id, "worker-2", PIPELINE_VERSION)
    assert again.outcome is ClaimOutcome.ALREADY_CLAIMED
    assert again.claim_token is None
    assert again.lease_expires_at == claim.lease_expires_at

    processed_id = record_pipeline_result(worker, claim, pipeline_output("claimed once"))
    worker.commit()
    assert status(worker, upload.document_id) == "completed"
    assert concept_map_rows(worker, upload.document_id) == CONCEPT_MAP_ROWS
    assert claims(worker, upload.document_id) == 0
    assert stored_results(worker, claim.cache_key) == 1
    assert (
        worker.scalar(
            select(ProcessedDocument.cache_key).where(
                ProcessedDocument.processed_id == processed_id
            )
        )
        == claim.cache_key
    )

    done = claim_document(worker, upload.document_id, WORKER, PIPELINE_VERSION)
    assert done.outcome is ClaimOutcome.ALREADY_DONE
    assert done.claim_token is None


def test_the_same_content_is_made_from_the_stored_result_without_the_pipeline(
    shared_engine: Engine, worker: Connection
) -> None:
    first, second = upload_as_admin(shared_engine, f"stored once {uuid.uuid4()}", copies=2)
    claim = claim_document(worker, first.document_id, WORKER, PIPELINE_VERSION)
    record_pipeline_result(worker, claim, pipeline_output("stored once"))
    worker.commit()

    cached = claim_document(worker, second.document_id, WORKER, PIPELINE_VERSION)
    assert cached.result_stored is True
    assert cached.cache_key == claim.cache_key
    complete_document_from_cache(worker, cached)
    worker.commit()
    assert concept_map_rows(worker, second.document_id) == CONCEPT_MAP_ROWS
    assert stored_results(worker, claim.cache_key) == 1
    owners = dict(
        worker.execute(
            select(ProcessedDocument.document_id, ProcessedDocument.user_id).where(
                ProcessedDocument.cache_key == claim.cache_key
            )
        ).all()
    )
    assert owners == {first.document_id: first.user_id, second.document_id: second.user_id}

    # A new pipeline version is new content for the cache: processed again.
    assert claim_document(worker, second.document_id, WORKER, "1.5.0").outcome is (
        ClaimOutcome.ALREADY_DONE
    )


def test_a_failure_is_recorded_with_its_error_and_ends_the_claim(
    shared_engine: Engine, worker: Connection
) -> None:
    (upload,) = upload_as_admin(shared_engine, f"failing {uuid.uuid4()}")
    claim = claim_document(worker, upload.document_id, WORKER, PIPELINE_VERSION)
    with refused(worker, "22023", constraint="processing_error_not_blank"):
        record_processing_failure(worker, claim, "  ")
    record_processing_failure(worker, claim, "the PDF is encrypted")
    worker.commit()
    assert status(worker, upload.document_id) == "failed"
    assert claims(worker, upload.document_id) == 0
    assert claim_document(worker, upload.document_id, WORKER, PIPELINE_VERSION).outcome is (
        ClaimOutcome.ALREADY_FAILED
    )


def test_a_claim_goes_with_its_learners_account(shared_engine: Engine, worker: Connection) -> None:
    (upload,) = upload_as_admin(shared_engine, f"deleted learner {uuid.uuid4()}")
    claim_document(worker, upload.document_id, WORKER, PIPELINE_VERSION)
    worker.commit()
    assert claims(worker, upload.document_id) == 1
    with shared_engine.begin() as admin:
        admin.execute(delete(User).where(User.user_id == upload.user_id))
    assert claims(worker, upload.document_id) == 0


def test_claim_next_takes_the_oldest_waiting_document_and_none_when_nothing_waits(
    migrated_database: str, test_logins: None
) -> None:
    # Its own database: claim_next_document() sees every waiting document.
    admin = create_engine(as_login(migrated_database, ADMIN_ROLE), poolclass=NullPool)
    worker_alone = create_engine(as_login(migrated_database, WORKER_ROLE), poolclass=NullPool)
    try:
        # Two transactions: upload_date is the transaction's start.
        (older,) = upload_as_admin(admin, f"queue {uuid.uuid4()}")
        (newer,) = upload_as_admin(admin, f"queue {uuid.uuid4()}")
        with worker_alone.connect() as connection:
            first = claim_next_document(connection, WORKER, PIPELINE_VERSION)
            second = claim_next_document(connection, WORKER, PIPELINE_VERSION)
            assert first is not None
            assert second is not None
            assert [first.document_id, second.document_id] == [
                older.document_id,
                newer.document_id,
            ]
            assert claim_next_document(connection, WORKER, PIPELINE_VERSION) is None
    finally:
        admin.dispose()
        worker_alone.dispose()


@pytest.mark.parametrize(
    ("worker_id", "version", "lease", "rule"),
    [
        (WORKER, "  ", 60, "pipeline_version_not_blank"),
        (WORKER, "", 60, "pipeline_version_not_blank"),
        ("", PIPELINE_VERSION, 60, "worker_id_not_blank"),
        (WORKER, PIPELINE_VERSION, 0, "lease_seconds_positive"),
    ],
)
def test_bad_claim_arguments_are_refused_and_nothing_is_written(
    shared_engine: Engine, worker: Connection, worker_id: str, version: str, lease: int, rule: str
) -> None:
    (upload,) = upload_as_admin(shared_engine, f"bad claim {uuid.uuid4()}")
    with refused(worker, "22023", constraint=rule, message=f"rule {rule}"):
        claim_document(worker, upload.document_id, worker_id, version, lease)
    with refused(worker, "22023", constraint=rule):
        claim_next_document(worker, worker_id, version, lease)
    assert status(worker, upload.document_id) == "pending"
    assert claims(worker, upload.document_id) == 0


def test_an_unknown_document_is_refused(worker: Connection) -> None:
    with refused(worker, "P0002", constraint="document_exists"):
        claim_document(worker, uuid.uuid4(), WORKER, PIPELINE_VERSION)


def test_a_malformed_hash_makes_no_cache_key(worker: Connection) -> None:
    with refused(worker, "22023", constraint="cache_key_sha256_hex", message="rule"):
        worker.execute(text("SELECT generate_cache_key('not-a-sha', '1.4.0')"))


def test_a_result_for_a_document_the_worker_did_not_claim_is_refused(
    shared_engine: Engine, worker: Connection
) -> None:
    unclaimed, claimed = upload_as_admin(shared_engine, f"unclaimed {uuid.uuid4()}", copies=2)
    claim = claim_document(worker, claimed.document_id, WORKER, PIPELINE_VERSION)
    worker.commit()
    forged = [
        # A document nobody claimed, with another document's token.
        replace(claim, document_id=unclaimed.document_id),
        # The claimed document with a token that is not its claim's.
        replace(claim, claim_token=uuid.uuid4()),
    ]
    for bad in forged:
        with refused(worker, "55000", constraint="document_claim_required"):
            record_pipeline_result(worker, bad, pipeline_output("unclaimed"))
        with refused(worker, "55000", constraint="document_claim_required"):
            complete_document_from_cache(worker, bad)
        with refused(worker, "55000", constraint="document_claim_required"):
            record_processing_failure(worker, bad, "boom")
    assert stored_results(worker, claim.cache_key) == 0
    assert status(worker, unclaimed.document_id) == "pending"
    assert status(worker, claimed.document_id) == "processing"


def test_a_malformed_result_is_refused_naming_the_rule_and_nothing_is_written(
    shared_engine: Engine, worker: Connection
) -> None:
    (upload,) = upload_as_admin(shared_engine, f"malformed {uuid.uuid4()}")
    claim = claim_document(worker, upload.document_id, WORKER, PIPELINE_VERSION)
    good = pipeline_output("malformed")
    untitled = [{**good.chapters[0], "title": ""}]
    dangling = [
        {**good.chapters[1], "relationships": [{"source": "ATP", "target": "x", "type": "is"}]}
    ]
    for chapters, message in [
        (untitled, "chapter 1 of the result needs a title"),
        (dangling, "names a term its chapter does not have"),
    ]:
        with refused(worker, "22023", constraint="pipeline_result_shape", message=message):
            record_pipeline_result(worker, claim, replace(good, chapters=chapters))
    with refused(worker, "55000", constraint="pipeline_result_stored"):
        complete_document_from_cache(worker, claim)
    assert stored_results(worker, claim.cache_key) == 0
    assert concept_map_rows(worker, upload.document_id) == dict.fromkeys(CONCEPT_MAP_ROWS, 0)
    assert status(worker, upload.document_id) == "processing"


def test_a_status_change_the_state_machine_forbids_is_refused(shared_engine: Engine) -> None:
    """Staff, who may write a document's status directly, are held to the state machine."""
    (upload,) = upload_as_admin(shared_engine, f"forbidden {uuid.uuid4()}")
    with shared_engine.connect() as staff:
        with refused(staff, "23514", constraint="course_documents_processing_status_transition"):
            staff.execute(
                text(
                    "UPDATE course_documents SET processing_status = 'completed'"
                    " WHERE document_id = :d"
                ),
                {"d": upload.document_id},
            )
        assert status(staff, upload.document_id) == "pending"


def test_learners_cannot_run_the_protocol_or_read_what_it_stores(
    shared_engine: Engine, app_connection: Connection
) -> None:
    (upload,) = upload_as_admin(shared_engine, f"learner {uuid.uuid4()}")
    with denied_by_grant("pipeline_results"), app_connection.begin_nested():
        app_connection.execute(select(PipelineResult.cache_key))
    with denied_by_grant("document_claims"), app_connection.begin_nested():
        app_connection.execute(select(DocumentClaim.document_id))
    with refused(app_connection, "42501", message="permission denied for function claim_document"):
        app_connection.execute(
            text("SELECT * FROM public.claim_document(:d, 'w', '1.4.0')"),
            {"d": upload.document_id},
        )
