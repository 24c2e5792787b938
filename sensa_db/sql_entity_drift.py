"""How the database's functions, triggers and policies differ from the package's, in one pass.

``alembic revision --autogenerate`` and ``alembic check`` ask, for every
function, trigger and policy the package declares (sensa_db.sql_entities),
whether the database holds it as declared, and, for every one the database
holds, whether the package still declares it. What counts is the definition as
PostgreSQL renders it (``pg_get_functiondef``, ``pg_get_triggerdef``,
``pg_policies``), so a declared entity has to be created to be compared.

alembic_utils does that entity by entity: for each, several nested savepoints
in which the entity is dropped with CASCADE and created again, and after each
step every entity of the schema read back and parsed. For 140 entities that
is some 1,500 savepoint rollbacks and 700 catalog reads. Here it is one
savepoint: read the live entities once; drop those the declared ones would
collide with; create the declared ones in load order (the order a revision
creates them in, so each finds what it uses); read them back; roll back. The
verdicts are alembic_utils' own: a declared entity as rendered against the
live one of the same identity, compared by whitespace-normalised definition
(a replace when they differ, a create when there is none), and a drop for each
live entity that no declared one renders to (tests/test_sql_entity_drift.py
compares the two on a drifted database).

alembic_utils' own comparator stays registered, and compares nothing: env.py
registers no entity and no schema with it.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, cast

from alembic.autogenerate import comparators
from alembic.autogenerate.api import AutogenContext
from alembic.operations.ops import UpgradeOps
from alembic_utils.replaceable_entity import include_entity
from alembic_utils.reversible_op import CreateOp, DropOp, ReplaceOp, ReversibleOp
from alembic_utils.statement import normalize_whitespace
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from sensa_db.sql_entities import DeclaredEntity, PGFunction, PGPolicy, PGTrigger, SQLEntity

# The context.configure option env.py passes the declared entities in, in load order.
DECLARED_ENTITIES_OPTION = "sensa_declared_entities"

# The functions alembic_utils' PGFunction.from_database reads: the schema's
# plain functions that no extension owns.
_SCHEMA_FUNCTIONS = """
    FROM pg_catalog.pg_proc p
    WHERE p.pronamespace = pg_catalog.to_regnamespace(:schema)
      AND p.prokind = 'f'
      AND NOT EXISTS (
          SELECT FROM pg_catalog.pg_depend d
          WHERE d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
      )
"""
_FUNCTIONS_NAMED = text(
    "SELECT format('%s.%I(%s)', p.pronamespace::regnamespace, p.proname,"
    " pg_catalog.pg_get_function_identity_arguments(p.oid))"
    + _SCHEMA_FUNCTIONS
    + " AND lower(p.proname) = ANY(CAST(:names AS text[]))"
)
_FUNCTION_OIDS = text("SELECT p.oid::bigint" + _SCHEMA_FUNCTIONS)
_FUNCTIONS_NOT_SEEN = text(
    "SELECT p.oid::bigint, pg_catalog.pg_get_functiondef(p.oid)"
    + _SCHEMA_FUNCTIONS
    + " AND NOT (p.oid::bigint = ANY(CAST(:seen AS bigint[])))"
)


class DeclaredEntityError(RuntimeError):
    """A declared function, trigger or policy that PostgreSQL refuses to create."""


def _key(entity: SQLEntity) -> str:
    # PostgreSQL folds unquoted names; alembic_utils drops the quotes.
    return str(entity.identity).lower()


def _function_name(entity: PGFunction) -> str:
    return str(entity.signature).split("(", 1)[0].strip().lower()


def _untyped(entity: SQLEntity) -> Any:
    """The entity, for alembic_utils' methods that carry no annotations."""
    return entity


def _read(
    connection: Connection, schemas: Sequence[str], entity_types: Sequence[type[SQLEntity]]
) -> list[SQLEntity]:
    """alembic_utils' reading of the database's entities of ``entity_types``."""
    return [
        entity
        for entity_type in entity_types
        for schema in schemas
        for entity in cast(Any, entity_type).from_database(connection, schema)
    ]


def _make_way(
    connection: Connection, live: Sequence[SQLEntity], declared: Sequence[DeclaredEntity]
) -> None:
    """Drop each live entity a declared one would collide with: the same trigger or
    policy, every function of a declared function's name.

    Policies and triggers first: nothing depends on them. Then each schema's
    functions in one statement, so that one depending on another (a
    SQL-standard body) is no obstacle. CASCADE also takes, until the savepoint
    rolls back, what else depends on such a function (an undeclared trigger or
    policy, an index expression, a default). The other live entities stay, as
    they do when alembic_utils creates an entity.
    """
    keys = {_key(item.entity) for item in declared}
    for entity in live:
        if not isinstance(entity, PGFunction) and _key(entity) in keys:
            connection.execute(_untyped(entity).to_sql_statement_drop())
    names: dict[str, set[str]] = defaultdict(set)
    for item in declared:
        if isinstance(item.entity, PGFunction):
            names[item.entity.schema].add(_function_name(item.entity))
    for schema, schema_names in names.items():
        targets = connection.scalars(
            _FUNCTIONS_NAMED, {"schema": schema, "names": sorted(schema_names)}
        ).all()
        if targets:
            connection.execute(text(f"DROP FUNCTION {', '.join(targets)} CASCADE"))


def _render(
    connection: Connection, declared: Sequence[DeclaredEntity], schemas: Sequence[str]
) -> list[SQLEntity]:
    """Each declared entity as the database renders it, created in load order.

    A function is read back as the one new in its schema just after its
    CREATE: its rendered signature may read differently from the declared one
    (``DEFAULT NULL::uuid`` for ``DEFAULT NULL``). Triggers and policies are
    read back once, after all, by name and table.
    """
    seen = {
        schema: list(connection.scalars(_FUNCTION_OIDS, {"schema": schema})) for schema in schemas
    }
    functions: dict[int, SQLEntity] = {}
    for index, item in enumerate(declared):
        entity = item.entity
        try:
            connection.execute(_untyped(entity).to_sql_statement_create())
        except DBAPIError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise DeclaredEntityError(
                f"{item.source}: {entity.identity} cannot be created: {reason}"
            ) from None
        if isinstance(entity, PGFunction):
            ((oid, definition),) = connection.execute(
                _FUNCTIONS_NOT_SEEN, {"schema": entity.schema, "seen": seen[entity.schema]}
            ).all()
            seen[entity.schema].append(oid)
            functions[index] = cast(SQLEntity, PGFunction.from_sql(definition))
    others = {_key(entity): entity for entity in _read(connection, schemas, (PGTrigger, PGPolicy))}
    return [
        functions[index] if index in functions else others[_key(item.entity)]
        for index, item in enumerate(declared)
    ]


def required_operations(
    connection: Connection,
    declared: Sequence[DeclaredEntity],
    schemas: Sequence[str],
    autogen_context: AutogenContext | None = None,
) -> list[ReversibleOp]:
    """The create, replace and drop operations that bring the database to ``declared``.

    ``declared`` in load order; ``schemas``: where to look for live entities to
    drop (besides the declared ones' schemas). With ``autogen_context``, its
    include_object and include_name filters apply, as in alembic_utils. The
    database is left as it was.
    """

    def included(entity: SQLEntity, reflected: bool) -> bool:
        if autogen_context is None:
            return True
        return bool(include_entity(entity, autogen_context, reflected=reflected))

    observed = sorted({*schemas, *(item.entity.schema for item in declared)})
    savepoint = connection.begin_nested()
    try:
        live = _read(connection, observed, (PGFunction, PGTrigger, PGPolicy))
        _make_way(connection, live, declared)
        rendered = _render(connection, declared, observed)
    finally:
        savepoint.rollback()

    live_by_identity = {entity.identity: entity for entity in live}
    wanted = [
        (item.entity, as_rendered)
        for item, as_rendered in zip(declared, rendered, strict=True)
        if included(item.entity, reflected=False)
    ]
    operations: list[ReversibleOp] = []
    for entity, as_rendered in wanted:
        current = live_by_identity.get(as_rendered.identity)
        if current is None:
            operations.append(CreateOp(entity))
        elif normalize_whitespace(current.definition) != normalize_whitespace(
            as_rendered.definition
        ):
            replacement = copy.copy(entity)
            # alembic_utils renders the downgrade's revert from the live definition.
            replacement._version_to_replace = current  # type: ignore[assignment]
            operations.append(ReplaceOp(replacement))
    wanted_identities = {as_rendered.identity for _, as_rendered in wanted}
    operations += [
        DropOp(entity)
        for entity in live
        if entity.identity not in wanted_identities and included(entity, reflected=True)
    ]
    return operations


@comparators.dispatch_for("schema")
def compare_declared_entities(
    autogen_context: AutogenContext, upgrade_ops: UpgradeOps, schemas: Any
) -> None:
    """Autogenerate's comparison of the entities env.py passes as DECLARED_ENTITIES_OPTION."""
    declared = autogen_context.opts.get(DECLARED_ENTITIES_OPTION)
    connection = autogen_context.connection
    if declared is None or connection is None:
        return
    default_schema = connection.dialect.default_schema_name
    observed = [name for name in (schema or default_schema for schema in schemas) if name]
    upgrade_ops.ops.extend(required_operations(connection, declared, observed, autogen_context))
