"""A leak detector for the request context under concurrency, shared by the sync and
async tests through PgBouncer (tests/test_pooler.py).

Many clients run short transactions at random: through the package's learner
sessions (ORM reads, the SQL functions, a transaction that fails midway),
anonymous sessions and autocommit statements. Every id a transaction returns
is looked up in ``owners`` (known from the admin that seeded the data): it
must belong to the learner that transaction named, and a transaction that
named no one must return nothing. Anything else is a leak.
"""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import Enum

from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from sensa_db.models import Course, Keyword
from tests.factories import EMBEDDING
from tests.rls import SeededLearner, seed_learner

LEARNERS = 40
CLIENTS = 32
TRANSACTIONS = 10_240  # 320 per client

# The learner's visible courses and documents through two SQL functions; the
# argument names a random learner, which row-level security must overrule.
SEARCH_COURSES = text("SELECT course_id FROM search_courses(CAST(:other AS uuid), 'Cell')")
SIMILAR_DOCUMENTS = text(
    "SELECT document_id FROM find_similar_documents(CAST(:embedding AS vector), 10, 0.5)"
)
ANONYMOUS_READ = text("SELECT course_id FROM courses UNION ALL SELECT keyword_id FROM keywords")
EMBEDDING_LITERAL = str(EMBEDDING)


class Kind(Enum):
    """What one transaction does."""

    ORM_READ = "learner session: courses and keywords through the ORM"
    FUNCTIONS = "learner session: search_courses and find_similar_documents"
    FAILS_MIDWAY = "learner session: a statement fails, rolled back, then read again"
    ANONYMOUS = "session without a learner"
    AUTOCOMMIT = "autocommit statement without a learner"
    SESSION_SET = "control: SET app.current_user_id at session level, then read"


PACKAGE_KINDS = (Kind.ORM_READ, Kind.FUNCTIONS, Kind.FAILS_MIDWAY, Kind.ANONYMOUS, Kind.AUTOCOMMIT)
CONTROL_KINDS = (Kind.SESSION_SET, Kind.ANONYMOUS, Kind.AUTOCOMMIT)


@dataclass(frozen=True)
class Seeded:
    learners: tuple[SeededLearner, ...]
    owners: dict[uuid.UUID, uuid.UUID]  # course, document and keyword id -> learner


def seed(admin_engine: Engine, count: int = LEARNERS) -> Seeded:
    with Session(admin_engine) as session:
        learners = tuple(seed_learner(session) for _ in range(count))
        session.commit()
    owners: dict[uuid.UUID, uuid.UUID] = {}
    for learner in learners:
        for row_id in (learner.course_id, learner.document_id, *learner.keyword_ids):
            owners[row_id] = learner.user_id
    return Seeded(learners, owners)


@dataclass
class Detector:
    """Counts transactions and the leaks among them; thread-safe."""

    owners: dict[uuid.UUID, uuid.UUID]
    transactions: int = 0
    rows: int = 0
    leaks: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def check(self, kind: Kind, named: uuid.UUID | None, returned: Iterable[uuid.UUID]) -> None:
        """``returned`` came from one transaction that named ``named`` (None: no one)."""
        found = list(returned)
        wrong = [row for row in found if named is None or self.owners.get(row) != named]
        with self._lock:
            self.transactions += 1
            self.rows += len(found)
            if wrong:
                owner = self.owners.get(wrong[0])
                self.leaks.append(f"{kind.name}: named {named}, got a row of {owner}")


@dataclass(frozen=True)
class Workload:
    """What every client runs: ``per_client`` transactions of ``kinds``, checked by ``detector``."""

    seeded: Seeded
    detector: Detector
    kinds: tuple[Kind, ...]
    per_client: int

    def transactions(self, client: int) -> Iterator[tuple[Kind, SeededLearner, SeededLearner]]:
        """Client ``client``'s reproducible draw: the kind, the learner it names, and
        another learner to pass where an argument names one."""
        rng = random.Random(client)  # noqa: S311 - a workload, not a secret
        for _ in range(self.per_client):
            learners = self.seeded.learners
            yield rng.choice(self.kinds), rng.choice(learners), rng.choice(learners)


def orm_read(session: Session) -> list[uuid.UUID]:
    return [
        *session.scalars(select(Course.course_id)),
        *session.scalars(select(Keyword.keyword_id)),
    ]


def functions_read(session: Session, other: uuid.UUID) -> list[uuid.UUID]:
    return [
        *session.scalars(SEARCH_COURSES, {"other": str(other)}),
        *session.scalars(SIMILAR_DOCUMENTS, {"embedding": EMBEDDING_LITERAL}),
    ]
