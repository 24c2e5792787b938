"""Alembic environment for sensa-db.

The database comes from ``-x url=...`` or ``$DATABASE_URL`` (never from
alembic.ini). ``alembic upgrade head --sql`` needs neither: it renders for
PostgreSQL without connecting.
"""

from __future__ import annotations

from logging.config import fileConfig
from typing import Any

from alembic import context
from alembic_utils.replaceable_entity import register_entities
from geoalchemy2 import alembic_helpers
from sqlalchemy import Connection, Engine, pool

from sensa_db.database import DatabaseURLError, make_engine, resolve_database_url
from sensa_db.models import metadata
from sensa_db.sql_entities import ENTITY_TYPES, load_entities

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = metadata

# Functions, triggers and policies declared in sensa_db are compared like
# tables. Limited to those types and our schema: left unlimited, alembic_utils
# would propose dropping PostGIS's views and the extensions themselves.
register_entities(load_entities(), schemas=["public"], entity_types=ENTITY_TYPES)


def include_object(
    obj: Any, name: str | None, obj_type: str, reflected: bool, compare_to: Any
) -> bool:
    """Leave PostGIS's own tables (spatial_ref_sys) out of comparisons."""
    return bool(alembic_helpers.include_object(obj, name, obj_type, reflected, compare_to))


COMPARISON_OPTIONS: dict[str, Any] = {
    "target_metadata": target_metadata,
    "compare_type": True,
    "compare_server_default": True,
    # Everything lives in public; alembic_utils reads this option unconditionally.
    "include_schemas": False,
    "include_object": include_object,
    "process_revision_directives": alembic_helpers.writer,
    "render_item": alembic_helpers.render_item,
    # Each revision commits on its own: a failure leaves the database at the
    # last revision that succeeded, never half-way through one.
    "transaction_per_migration": True,
}


def _url_from_command_line() -> str | None:
    url: str | None = context.get_x_argument(as_dictionary=True).get("url")
    return url


def run_migrations_offline() -> None:
    context.configure(
        url=None,
        dialect_name="postgresql",
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        **COMPARISON_OPTIONS,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_with_connection(connection: Connection) -> None:
    context.configure(connection=connection, **COMPARISON_OPTIONS)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    # Tests, pytest-alembic and the CLI may hand over an engine or a connection.
    provided: Engine | Connection | None = config.attributes.get("connection")
    if isinstance(provided, Connection):
        _run_with_connection(provided)
        return
    if provided is None:
        try:
            url = resolve_database_url(_url_from_command_line())
        except DatabaseURLError as exc:
            raise SystemExit(f"alembic: {exc}") from None
        engine = make_engine(url, poolclass=pool.NullPool)
    else:
        engine = provided
    try:
        with engine.connect() as connection:
            _run_with_connection(connection)
    finally:
        if provided is None:
            engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
