"""Data tests of the concept-map owner revisions (4b7e0c2a9f13 .. 9d2c41e07b35).

Rows written before the column existed are loaded at the revision before it,
then the database is upgraded to head: every row must carry the owner its
course chain names (the keywords' walk crossing a batch boundary), and the learner
policies must then see exactly the learner's rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.pool import NullPool

from sensa_db.request_context import set_transaction_user
from sensa_db.security import ADMIN_ROLE, APP_ROLE, OWNER_STAMPED_TABLES
from tests.factories import sha256_of
from tests.postgres import upgrade
from tests.rls import as_login

# Data tests of applied revisions, from their parents: left out of the fast loop.
pytestmark = pytest.mark.slow

BEFORE_OWNER_COLUMN = "a6f7b47487af"
BACKFILL_BATCH_ROWS = 5000

# One learner's graph, written as admin_role at a revision without user_id.
# :keywords keywords hang under the first chapter, so the backfill of keywords
# crosses a batch boundary.
LEARNER_GRAPH = """
INSERT INTO users (user_id, cognito_sub, email) VALUES (:user_id, :tag, :email);
INSERT INTO courses (course_id, user_id, name) VALUES (:course_id, :user_id, 'Genetics');
INSERT INTO course_documents (
    document_id, course_id, filename, original_filename, s3_key, s3_bucket, sha256_hash, file_size
) VALUES (
    :document_id, :course_id, 'g.pdf', 'g.pdf', :s3_key, 'sensa-uploads', :sha256, 10
);
INSERT INTO processed_documents (
    processed_id, document_id, course_id, concept_map, pipeline_version
) VALUES (:processed_id, :document_id, :course_id, '{}', '1.0.0');
INSERT INTO chapters (chapter_id, processed_id, chapter_number, title)
    VALUES (:chapter_id, :processed_id, 1, 'Heredity'),
        (gen_random_uuid(), :processed_id, 2, 'Mutation');
INSERT INTO keywords (chapter_id, term, definition)
    SELECT :chapter_id, 'term ' || n, 'definition ' || n FROM generate_series(1, :keywords) AS n;
INSERT INTO relationships (chapter_id, source_keyword_id, target_keyword_id, relationship_type)
    SELECT :chapter_id, k1.keyword_id, k2.keyword_id, 'causes'
    FROM keywords k1 JOIN keywords k2 ON k2.chapter_id = k1.chapter_id AND k2.term = 'term 2'
    WHERE k1.chapter_id = :chapter_id AND k1.term = 'term 1';
INSERT INTO chapter_complexity (chapter_id, complexity_level) VALUES (:chapter_id, 'medium');
"""

# The owner each row's chain of parents ends at, beside the one it carries.
_UP_FROM_DOCUMENT = (
    " JOIN course_documents d USING (document_id) JOIN courses c ON c.course_id = d.course_id"
)
OWNER_BY_CHAIN = {
    "course_documents": (
        "SELECT t.user_id, c.user_id FROM course_documents t JOIN courses c USING (course_id)"
    ),
    "processed_documents": (
        "SELECT t.user_id, c.user_id FROM processed_documents t" + _UP_FROM_DOCUMENT
    ),
    "chapters": (
        "SELECT t.user_id, c.user_id FROM chapters t"
        " JOIN processed_documents pd USING (processed_id)" + _UP_FROM_DOCUMENT
    ),
    **{
        table: (
            f"SELECT t.user_id, c.user_id FROM {table} t JOIN chapters ch USING (chapter_id)"
            " JOIN processed_documents pd USING (processed_id)" + _UP_FROM_DOCUMENT
        )
        for table in ("keywords", "relationships", "chapter_complexity")
    },
}


def _learner_graph(connection: Connection, keywords: int) -> dict[str, uuid.UUID]:
    ids = {
        name: uuid.uuid4()
        for name in ("user_id", "course_id", "document_id", "processed_id", "chapter_id")
    }
    tag = ids["user_id"].hex
    for statement in LEARNER_GRAPH.strip().split(";\n"):
        connection.execute(
            text(statement),
            {
                **ids,
                "tag": tag,
                "email": f"{tag}@example.com",
                "s3_key": f"uploads/{tag}.pdf",
                "sha256": sha256_of(tag),
                "keywords": keywords,
            },
        )
    return ids


@pytest.fixture
def before_owner_column(empty_database: str, test_logins: None) -> Iterator[tuple[str, Engine]]:
    upgrade(empty_database, BEFORE_OWNER_COLUMN)
    admin = create_engine(as_login(empty_database, ADMIN_ROLE), poolclass=NullPool)
    yield empty_database, admin
    admin.dispose()


def test_the_backfill_stamps_every_row_with_the_owner_its_chain_names(
    before_owner_column: tuple[str, Engine],
) -> None:
    url, admin = before_owner_column
    with admin.begin() as connection:
        _learner_graph(connection, keywords=BACKFILL_BATCH_ROWS + 7)
        second = _learner_graph(connection, keywords=3)

    upgrade(url)

    with admin.connect() as connection:
        for table, query in OWNER_BY_CHAIN.items():
            pairs = connection.execute(text(query)).all()
            assert pairs, table
            assert all(carried == chained for carried, chained in pairs), table
        assert connection.scalar(text("SELECT count(*) FROM keywords")) == BACKFILL_BATCH_ROWS + 10
        migrator_in_admin_role = connection.scalar(
            text(
                "SELECT count(*) FROM pg_auth_members m"
                " JOIN pg_roles r ON r.oid = m.roleid"
                " JOIN pg_database d ON d.datname = current_database()"
                " WHERE r.rolname = 'admin_role' AND m.member = d.datdba"
            )
        )
        assert migrator_in_admin_role == 0

    app = create_engine(as_login(url, APP_ROLE), poolclass=NullPool)
    try:
        with app.begin() as connection:
            set_transaction_user(connection, second["user_id"])
            owners = {
                table: set(connection.scalars(text(f"SELECT DISTINCT user_id FROM {table}")))
                for table in OWNER_STAMPED_TABLES
            }
            assert owners == {table: {second["user_id"]} for table in OWNER_STAMPED_TABLES}
            assert connection.scalar(text("SELECT count(*) FROM keywords")) == 3
    finally:
        app.dispose()


def test_a_processed_document_filed_under_another_course_follows_its_document(
    before_owner_column: tuple[str, Engine],
) -> None:
    url, admin = before_owner_column
    with admin.begin() as connection:
        mine = _learner_graph(connection, keywords=2)
        other = _learner_graph(connection, keywords=2)
        connection.execute(
            text("UPDATE processed_documents SET course_id = :other WHERE processed_id = :mine"),
            {"other": other["course_id"], "mine": mine["processed_id"]},
        )

    upgrade(url)

    with admin.connect() as connection:
        filed = connection.execute(
            text("SELECT course_id, user_id FROM processed_documents WHERE processed_id = :id"),
            {"id": mine["processed_id"]},
        ).one()
        assert tuple(filed) == (mine["course_id"], mine["user_id"])
        chapter_owners = set(
            connection.scalars(
                text("SELECT user_id FROM chapters WHERE processed_id = :id"),
                {"id": mine["processed_id"]},
            )
        )
        assert chapter_owners == {mine["user_id"]}
