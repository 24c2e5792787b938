"""`alembic upgrade head` builds the design's schema: compared catalog to catalog
with the design's own DDL applied to another database.

Our schema may be stricter or larger than the design, never different, and
says where on the models (sensa_db/models/base.py's helpers), never here:
- a column may be NOT NULL where the design allows NULL (``info=stricter(...)``);
- a table or column the design lacks is marked ``info=beyond_design(...)``, an
  index ``info=serves(...)``, an enum value is in enums.VALUES_BEYOND_DESIGN;
- an index changed from the design, or a table dropping a design constraint, is
  marked ``info=departs_from_design(...)`` (``dropping=`` names the constraints).
Every mark must be a real difference, and every difference marked.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, Enum, PrimaryKeyConstraint, UniqueConstraint, create_engine, text
from sqlalchemy.pool import NullPool

from sensa_db.models import metadata
from sensa_db.models.base import (
    BEYOND_DESIGN_INFO_KEY,
    DEPARTURE_INFO_KEY,
    DROPPED_CONSTRAINTS_INFO_KEY,
    OWNER_IN_JOIN_INDEX,
    SERVES_INFO_KEY,
    STRICTER_INFO_KEY,
)
from sensa_db.models.enums import VALUES_BEYOND_DESIGN
from sensa_db.models.keyword import OWNER_KEYED_IN_KEYWORD_INDEX
from tests.catalog import CatalogSnapshot, snapshot
from tests.postgres import EXTENSIONS_TEMPLATE, REPO_ROOT, PostgresServer

DESIGN_DDL = REPO_ROOT / "tests" / "fixtures" / "design_ddl.sql"

CONSTRAINTS_DROPPED_FROM_DESIGN = {
    (table.name, name)
    for table in metadata.tables.values()
    for name in table.info.get(DROPPED_CONSTRAINTS_INFO_KEY, ())
}
INDEXES_CHANGED_FROM_DESIGN = {
    (table.name, str(index.name))
    for table in metadata.tables.values()
    for index in table.indexes
    if DEPARTURE_INFO_KEY in index.info
}
# Join indexes that also carry user_id, or have it as a further key (each reason says why).
OWNER_JOIN_INDEXES = {
    reason: {
        (table.name, str(index.name))
        for table in metadata.tables.values()
        for index in table.indexes
        if index.info.get(DEPARTURE_INFO_KEY) == reason
    }
    for reason in (OWNER_IN_JOIN_INDEX, OWNER_KEYED_IN_KEYWORD_INDEX)
}
TABLES_BEYOND_DESIGN = {
    table.name for table in metadata.tables.values() if BEYOND_DESIGN_INFO_KEY in table.info
}
COLUMNS_BEYOND_DESIGN = {
    (table.name, column.name)
    for table in metadata.tables.values()
    for column in table.columns
    if BEYOND_DESIGN_INFO_KEY in column.info
}


def _snapshot_of(url: str) -> CatalogSnapshot:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return snapshot(connection, exclude_tables=frozenset({"alembic_version"}))
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def design(pg_server: PostgresServer) -> Iterator[CatalogSnapshot]:
    with pg_server.database(template=EXTENSIONS_TEMPLATE) as dbname:
        engine = create_engine(pg_server.url(dbname), poolclass=NullPool)
        with engine.begin() as connection:
            connection.exec_driver_sql(DESIGN_DDL.read_text())
        engine.dispose()
        yield _snapshot_of(pg_server.url(dbname))


@pytest.fixture(scope="module")
def ours(shared_database: str) -> CatalogSnapshot:
    return _snapshot_of(shared_database)


def _stricter_columns() -> set[tuple[str, str]]:
    return {
        (table.name, column.name)
        for table in metadata.tables.values()
        for column in table.columns
        if STRICTER_INFO_KEY in column.info
    }


def test_design_ddl_fixture_is_complete(design: CatalogSnapshot) -> None:
    assert len(design.tables) == 13
    assert len(design.enums) == 5
    assert len([name for (_, name) in design.indexes if name.startswith("idx_")]) == 29


def test_same_tables_and_the_listed_ones_beyond(
    design: CatalogSnapshot, ours: CatalogSnapshot
) -> None:
    assert ours.tables == design.tables | TABLES_BEYOND_DESIGN


def _enum_values_beyond_design() -> set[tuple[str, str]]:
    """(type, value) for each member in enums.VALUES_BEYOND_DESIGN."""
    type_names = {
        column.type.enum_class: column.type.name
        for table in metadata.tables.values()
        for column in table.columns
        if isinstance(column.type, Enum)
    }
    return {(str(type_names[type(member)]), member.value) for member in VALUES_BEYOND_DESIGN}


def test_same_enums_with_the_same_labels_in_order_and_the_listed_ones_beyond(
    design: CatalogSnapshot, ours: CatalogSnapshot
) -> None:
    beyond = _enum_values_beyond_design()
    design_order = {
        name: tuple(label for label in labels if (name, label) not in beyond)
        for name, labels in ours.enums.items()
    }
    assert design_order == design.enums
    added = {
        (name, label)
        for name, labels in ours.enums.items()
        for label in labels
        if label not in design.enums.get(name, ())
    }
    assert added == beyond


def test_every_design_column_has_its_type_and_default(
    design: CatalogSnapshot, ours: CatalogSnapshot
) -> None:
    mismatches = {
        key: (expected, ours.columns.get(key))
        for key, expected in design.columns.items()
        if (ours_column := ours.columns.get(key)) is None
        or (ours_column.type, ours_column.default) != (expected.type, expected.default)
    }
    assert mismatches == {}


def test_columns_beyond_the_design_are_the_listed_ones(
    design: CatalogSnapshot, ours: CatalogSnapshot
) -> None:
    beyond = set(ours.columns) - set(design.columns)
    assert {key for key in beyond if key[0] not in TABLES_BEYOND_DESIGN} == COLUMNS_BEYOND_DESIGN


def test_nullability_differs_exactly_where_a_model_documents_it(
    design: CatalogSnapshot, ours: CatalogSnapshot
) -> None:
    tightened = {
        key
        for key, expected in design.columns.items()
        if key in ours.columns and ours.columns[key].not_null != expected.not_null
    }
    loosened = {key for key in tightened if not ours.columns[key].not_null}
    assert loosened == set(), "a column the design declares NOT NULL became nullable"
    assert tightened == _stricter_columns()


def test_every_design_constraint_exists_with_its_name_and_definition(
    design: CatalogSnapshot, ours: CatalogSnapshot
) -> None:
    missing = {
        key: definition
        for key, definition in design.constraints.items()
        if ours.constraints.get(key) != definition
    }
    assert missing.keys() == CONSTRAINTS_DROPPED_FROM_DESIGN


def test_every_design_index_exists_with_its_name_and_definition(
    design: CatalogSnapshot, ours: CatalogSnapshot
) -> None:
    missing = {
        key: definition
        for key, definition in design.indexes.items()
        if ours.indexes.get(key) != definition
    }
    # A UNIQUE constraint's index goes with it.
    assert missing.keys() == CONSTRAINTS_DROPPED_FROM_DESIGN | INDEXES_CHANGED_FROM_DESIGN


def test_hnsw_indexes_use_halfvec_cosine_ops_with_the_design_parameters(
    design: CatalogSnapshot, ours: CatalogSnapshot
) -> None:
    for key in INDEXES_CHANGED_FROM_DESIGN.difference(*OWNER_JOIN_INDEXES.values()):
        assert design.indexes[key].endswith(
            "USING hnsw (embedding vector_cosine_ops) WITH (m='16', ef_construction='64')"
        )
        assert ours.indexes[key].endswith(
            "USING hnsw (((embedding)::halfvec(768)) halfvec_cosine_ops)"
            " WITH (m='16', ef_construction='64')"
        )


def test_join_indexes_keep_the_designs_key_and_carry_the_owner(
    design: CatalogSnapshot, ours: CatalogSnapshot
) -> None:
    assert {
        ("course_documents", "idx_documents_course_id"),
        ("chapters", "idx_chapters_processed_id"),
    } == OWNER_JOIN_INDEXES[OWNER_IN_JOIN_INDEX]
    for key in OWNER_JOIN_INDEXES[OWNER_IN_JOIN_INDEX]:
        assert ours.indexes[key].startswith(design.indexes[key] + " INCLUDE (")
        assert ours.indexes[key].endswith("user_id)")
    keyed = ("keywords", "idx_keywords_chapter_id")
    assert {keyed} == OWNER_JOIN_INDEXES[OWNER_KEYED_IN_KEYWORD_INDEX]
    assert ours.indexes[keyed] == design.indexes[keyed].removesuffix(")") + ", user_id)"


def test_every_foreign_key_column_leads_an_index(shared_engine: Engine) -> None:
    """A foreign key without an index makes each cascading delete scan the child table."""
    with shared_engine.connect() as connection:
        unindexed = connection.execute(
            text(
                """
                SELECT con.conrelid::regclass::text, a.attname
                FROM pg_constraint con
                JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = con.conkey[1]
                WHERE con.contype = 'f' AND con.connamespace = 'public'::regnamespace
                  AND NOT EXISTS (
                      SELECT FROM pg_index i
                      WHERE i.indrelid = con.conrelid AND i.indkey[0] = con.conkey[1]
                  )
                """
            )
        ).all()
    assert unindexed == []


def test_every_index_beyond_the_design_names_the_query_it_serves(
    design: CatalogSnapshot, ours: CatalogSnapshot
) -> None:
    # A new table's primary key and unique constraints serve their constraint.
    constraint_indexes = {
        (table, constraint.name)
        for table in TABLES_BEYOND_DESIGN
        for constraint in metadata.tables[table].constraints
        if isinstance(constraint, PrimaryKeyConstraint | UniqueConstraint)
    }
    added = {
        name
        for (table, name) in set(ours.indexes) - set(design.indexes)
        if (table, name) not in constraint_indexes
    }
    declared = {
        index.name: index.info.get(SERVES_INFO_KEY)
        for table in metadata.tables.values()
        for index in table.indexes
    }
    assert {name for name in added if not declared.get(name)} == set()
    assert len(ours.indexes) >= 60
