"""The one-savepoint comparison of functions, triggers and policies finds what
alembic_utils' per-entity comparison finds, on a database drifted every way it can drift."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from alembic.autogenerate.api import AutogenContext
from alembic.operations.ops import UpgradeOps
from alembic.runtime.migration import MigrationContext
from alembic_utils.replaceable_entity import compare_registered_entities, registry
from alembic_utils.reversible_op import ReplaceOp, ReversibleOp
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.pool import NullPool

from sensa_db.sql_entities import (
    ENTITY_TYPES,
    DeclaredEntity,
    load_declared_entities,
    parse_entity,
)
from sensa_db.sql_entity_drift import DeclaredEntityError, required_operations

DRIFT = [
    # A declared function whose rendered header changes: a replace.
    "ALTER FUNCTION public.set_current_user_id(uuid) SET work_mem = '1MB'",
    # A declared policy with another expression: a replace.
    "ALTER POLICY user_isolation_delete ON public.users USING (false)",
    # A declared trigger missing: a create.
    "DROP TRIGGER update_users_updated_at ON public.users",
    # A declared function missing, whose signature PostgreSQL renders differently
    # from the package's text (DEFAULT NULL::uuid): a create.
    "DROP FUNCTION public.search_keywords(text, uuid, integer)",
    # Entities the package does not declare: drops.
    "CREATE FUNCTION public.stray_stamp() RETURNS trigger LANGUAGE plpgsql"
    " AS $$ BEGIN RETURN NEW; END $$",
    "CREATE TRIGGER stray_users BEFORE UPDATE ON public.users"
    " FOR EACH ROW EXECUTE FUNCTION public.stray_stamp()",
    "CREATE POLICY stray_policy ON public.users USING (false)",
]

EXPECTED = [
    ("create_entity", "PGFunction: public.search_keywords"),
    ("create_entity", "PGTrigger: public.update_users_updated_at False public.users"),
    ("drop_entity", "PGFunction: public.stray_stamp()"),
    ("drop_entity", "PGPolicy: public.stray_policy public.users"),
    ("drop_entity", "PGTrigger: public.stray_users False public.users"),
    ("replace_or_revert_entity", "PGFunction: public.set_current_user_id(p_user_id uuid)"),
    ("replace_or_revert_entity", "PGPolicy: public.user_isolation_delete public.users"),
]


@pytest.fixture
def owner(shared_database: str) -> Iterator[Connection]:
    """The migrating owner in a transaction that is rolled back."""
    engine = create_engine(shared_database, poolclass=NullPool)
    with engine.connect() as connection:
        transaction = connection.begin()
        try:
            yield connection
        finally:
            transaction.rollback()
    engine.dispose()


def summary(operations: list[ReversibleOp]) -> list[tuple[str, str]]:
    """Each operation's kind and its target's identity (a function's up to its arguments)."""
    summarised = []
    for operation in operations:
        kind, identity = operation.to_diff_tuple()[:2]
        if kind == "create_entity" and identity.startswith("PGFunction"):
            identity = identity.split("(", 1)[0]
        summarised.append((kind, identity))
    return sorted(summarised)


def changes(operations: list[ReversibleOp]) -> list[tuple[Any, ...]]:
    return [op.to_diff_tuple() for op in operations if op.to_diff_tuple()[0] != "drop_entity"]


def alembic_utils_operations(
    connection: Connection, declared: list[DeclaredEntity]
) -> list[ReversibleOp]:
    """What alembic_utils' own comparator, entity by entity, makes of the same database."""
    autogen_context = AutogenContext(
        MigrationContext.configure(connection, opts={"include_schemas": False}),
        metadata=[],
    )
    upgrade_ops = UpgradeOps(ops=[])
    registry.register(
        [item.entity for item in declared], schemas=["public"], entity_types=ENTITY_TYPES
    )
    try:
        compare_registered_entities(autogen_context, upgrade_ops, [None])
    finally:
        registry.clear()
    return list(upgrade_ops.ops)


def test_a_database_at_head_needs_nothing(owner: Connection) -> None:
    assert required_operations(owner, load_declared_entities(), ["public"]) == []


def test_every_kind_of_drift_is_found(owner: Connection) -> None:
    for statement in DRIFT:
        owner.execute(text(statement))
    operations = required_operations(owner, load_declared_entities(), ["public"])
    assert summary(operations) == EXPECTED

    (replaced,) = [
        op for op in operations if isinstance(op, ReplaceOp) and "set_current" in op.target.identity
    ]
    # The downgrade reverts to the live definition.
    assert "work_mem" in replaced.target._version_to_replace.definition
    assert "work_mem" not in replaced.target.definition


def test_the_comparison_leaves_the_database_as_it_was(owner: Connection) -> None:
    def catalog() -> Any:
        return owner.execute(
            text(
                "SELECT (SELECT count(*) FROM pg_proc), (SELECT count(*) FROM pg_trigger),"
                " (SELECT count(*) FROM pg_policy),"
                " (SELECT max(oid) FROM pg_proc WHERE proname = 'current_learner_id')"
            )
        ).one()

    before = catalog()
    required_operations(owner, load_declared_entities(), ["public"])
    assert catalog() == before


@pytest.mark.slow
def test_it_finds_what_alembic_utils_finds(owner: Connection) -> None:
    """On a subset of the package, where alembic_utils' per-entity comparison is quick
    enough to run: every entity outside it is live and undeclared, so dropped by both."""
    subset = [
        item
        for item in load_declared_entities()
        if item.source
        in {"functions/request_context.sql", "functions/search.sql", "triggers/timestamps.sql"}
        or item.entity.signature.startswith("user_isolation_")
    ]
    for statement in DRIFT:
        owner.execute(text(statement))

    ours = required_operations(owner, subset, ["public"])
    theirs = alembic_utils_operations(owner, subset)

    assert set(EXPECTED) < set(summary(ours))
    assert summary(ours) == summary(theirs)
    # Creates and replaces in the same order, with the same SQL.
    assert changes(ours) == changes(theirs)


def test_a_declaration_the_database_refuses_is_named_with_its_file(owner: Connection) -> None:
    broken = DeclaredEntity(
        parse_entity(
            "CREATE FUNCTION public.count_nothing() RETURNS bigint LANGUAGE sql"
            " AS $$ SELECT count(*) FROM public.no_such_table $$"
        ),
        None,
        "functions/broken.sql",
    )
    with pytest.raises(DeclaredEntityError) as refused:
        required_operations(owner, [*load_declared_entities(), broken], ["public"])
    assert str(refused.value) == (
        "functions/broken.sql: PGFunction: public.count_nothing() cannot be created:"
        ' relation "public.no_such_table" does not exist'
    )
