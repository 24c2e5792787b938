"""Duplicate and concurrent delivery: several workers (threads, each on its own
``sensa_worker`` connection) given the same documents at once, and a worker that
dies holding a claim."""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Connection, Engine, create_engine, func, select
from sqlalchemy.pool import NullPool

from sensa_db.models import CourseDocument, DocumentClaim, PipelineResult, ProcessedDocument
from sensa_db.pipeline import (
    Claim,
    ClaimOutcome,
    claim_document,
    claim_next_document,
    complete_document_from_cache,
    record_pipeline_result,
)
from sensa_db.security import ADMIN_ROLE, WORKER_ROLE
from tests.database_errors import refused
from tests.pipeline_world import PIPELINE_VERSION, pipeline_output, upload_as_admin
from tests.rls import as_login

CONTENTS = 3
COPIES = 2


def process(connection: Connection, claim: Claim, content: str) -> None:
    """What a worker does with a claim it won: reuse a stored result, or run the pipeline."""
    if claim.result_stored:
        complete_document_from_cache(connection, claim)
    else:
        record_pipeline_result(connection, claim, pipeline_output(content))
    connection.commit()


def run_workers(engine: Engine, workers: int, work: Callable[[Connection, int], None]) -> None:
    """``work(connection, worker_number)`` in ``workers`` threads released together."""
    start = threading.Barrier(workers)
    errors: list[BaseException] = []

    def worker(number: int) -> None:
        try:
            with engine.connect() as connection:
                start.wait()
                work(connection, number)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


@pytest.fixture
def isolated(migrated_database: str, test_logins: None) -> Iterator[tuple[Engine, Engine]]:
    """Admin and worker engines on a database of their own: claim_next_document()
    sees only this test's documents."""
    admin = create_engine(as_login(migrated_database, ADMIN_ROLE), poolclass=NullPool)
    worker = create_engine(as_login(migrated_database, WORKER_ROLE), poolclass=NullPool)
    yield admin, worker
    admin.dispose()
    worker.dispose()


def upload_contents(admin: Engine) -> dict[uuid.UUID, str]:
    """CONTENTS PDFs, each uploaded by COPIES learners: document -> content."""
    documents = {}
    for number in range(CONTENTS):
        content = f"shared textbook {number} {uuid.uuid4()}"
        for upload in upload_as_admin(admin, content, copies=COPIES):
            documents[upload.document_id] = content
    return documents


def assert_each_processed_once(admin: Engine, documents: dict[uuid.UUID, str]) -> None:
    with admin.connect() as connection:
        statuses = Counter(
            connection.scalars(
                select(CourseDocument.processing_status).where(
                    CourseDocument.document_id.in_(documents)
                )
            )
        )
        processed = Counter(
            connection.scalars(
                select(ProcessedDocument.document_id).where(
                    ProcessedDocument.document_id.in_(documents)
                )
            )
        )
        cache_keys = connection.scalars(
            select(ProcessedDocument.cache_key).where(ProcessedDocument.document_id.in_(documents))
        ).all()
        stored = connection.scalar(
            select(func.count())
            .select_from(PipelineResult)
            .where(PipelineResult.cache_key.in_(cache_keys))
        )
        claims_left = connection.scalar(
            select(func.count())
            .select_from(DocumentClaim)
            .where(DocumentClaim.document_id.in_(documents))
        )
    assert statuses == {"completed": len(documents)}
    assert processed == dict.fromkeys(documents, 1)
    assert stored == len(set(documents.values()))
    assert claims_left == 0


@pytest.mark.parametrize("workers", [2, 8])
def test_every_worker_delivered_every_document_processes_each_once(
    isolated: tuple[Engine, Engine], workers: int
) -> None:
    admin, worker_engine = isolated
    documents = upload_contents(admin)
    outcomes: Counter[tuple[uuid.UUID, ClaimOutcome]] = Counter()
    lock = threading.Lock()

    def deliver_everything(connection: Connection, number: int) -> None:
        order = list(documents)
        random.Random(number).shuffle(order)  # noqa: S311 - a delivery order, not a secret
        for document_id in order:
            claim = claim_document(connection, document_id, f"worker-{number}", PIPELINE_VERSION)
            connection.commit()
            with lock:
                outcomes[document_id, claim.outcome] += 1
            if claim.outcome is ClaimOutcome.CLAIMED:
                process(connection, claim, documents[document_id])

    run_workers(worker_engine, workers, deliver_everything)

    assert_each_processed_once(admin, documents)
    for document_id in documents:
        assert outcomes[document_id, ClaimOutcome.CLAIMED] == 1
        assert (
            outcomes[document_id, ClaimOutcome.ALREADY_CLAIMED]
            + outcomes[document_id, ClaimOutcome.ALREADY_DONE]
            == workers - 1
        )


@pytest.mark.parametrize("workers", [2, 8])
def test_polling_workers_never_take_the_same_document(
    isolated: tuple[Engine, Engine], workers: int
) -> None:
    admin, worker_engine = isolated
    documents = upload_contents(admin)
    taken: list[uuid.UUID] = []

    def poll_until_empty(connection: Connection, number: int) -> None:
        while claim := claim_next_document(connection, f"poller-{number}", PIPELINE_VERSION):
            connection.commit()
            assert claim.outcome is ClaimOutcome.CLAIMED
            taken.append(claim.document_id)
            process(connection, claim, documents[claim.document_id])

    run_workers(worker_engine, workers, poll_until_empty)

    assert sorted(taken) == sorted(documents)
    assert_each_processed_once(admin, documents)


def test_a_dead_workers_claim_expires_and_another_worker_completes_the_document(
    isolated: tuple[Engine, Engine],
) -> None:
    admin, worker_engine = isolated
    content = f"abandoned {uuid.uuid4()}"
    (upload,) = upload_as_admin(admin, content)
    lease_seconds = 1

    with worker_engine.connect() as dying:
        abandoned = claim_document(
            dying, upload.document_id, "dying-worker", PIPELINE_VERSION, lease_seconds
        )
        dying.commit()
    # The dying worker's connection is gone; its claim stays until the lease ends.
    assert abandoned.outcome is ClaimOutcome.CLAIMED
    assert abandoned.lease_expires_at is not None

    with worker_engine.connect() as survivor:
        early = claim_document(survivor, upload.document_id, "survivor", PIPELINE_VERSION)
        survivor.commit()
        assert early.outcome is ClaimOutcome.ALREADY_CLAIMED
        assert claim_next_document(survivor, "survivor", PIPELINE_VERSION) is None
        survivor.commit()

        time.sleep(lease_seconds + 0.2)
        taken_over = claim_next_document(survivor, "survivor", PIPELINE_VERSION)
        survivor.commit()
        assert taken_over is not None
        assert taken_over.document_id == upload.document_id
        assert taken_over.outcome is ClaimOutcome.CLAIMED
        assert taken_over.claim_token != abandoned.claim_token
        assert (
            survivor.scalar(
                select(DocumentClaim.attempts).where(
                    DocumentClaim.document_id == upload.document_id
                )
            )
            == 2
        )

        # The dead worker's late answer would be refused: its claim was taken over.
        with refused(survivor, "55000", constraint="document_claim_required"):
            record_pipeline_result(survivor, abandoned, pipeline_output(content))
        process(survivor, taken_over, content)

    assert_each_processed_once(admin, {upload.document_id: content})
