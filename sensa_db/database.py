"""Where the database is, and engines that connect to it.

Used by the API, the worker, Alembic's env.py and the CLI alike, so that every
one of them resolves the same URL the same way.
"""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy import URL, Engine, create_engine, make_url

DATABASE_URL_ENV = "DATABASE_URL"

# Drivers we ship. A bare ``postgresql://`` means psycopg 3 in SQLAlchemy 2.1 but
# psycopg2 in 2.0; naming the driver makes the choice independent of the version.
_DEFAULT_DRIVER = "postgresql+psycopg"
_SUPPORTED_DRIVERS = frozenset({"postgresql+psycopg", "postgresql+psycopg2"})


class DatabaseURLError(RuntimeError):
    """The database URL is missing or names something we cannot connect with."""


def normalize_url(url: str | URL) -> URL:
    """Parse ``url`` and settle its driver: ``postgres://`` and ``postgresql://`` mean psycopg 3."""
    try:
        parsed = make_url(url)
    except Exception as exc:  # SQLAlchemy raises ArgumentError with the URL in it
        raise DatabaseURLError("the database URL cannot be parsed") from exc
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername=_DEFAULT_DRIVER)
    if parsed.drivername not in _SUPPORTED_DRIVERS:
        raise DatabaseURLError(
            f"unsupported database driver {parsed.drivername!r}: "
            f"use postgresql://, postgresql+psycopg:// or postgresql+psycopg2://"
        )
    return parsed


def resolve_database_url(explicit: str | URL | None = None) -> URL:
    """The URL given, else ``$DATABASE_URL``; an error that says so when there is neither."""
    raw = explicit if explicit is not None else os.environ.get(DATABASE_URL_ENV)
    if not raw:
        raise DatabaseURLError(
            f"no database URL: set {DATABASE_URL_ENV} "
            "(e.g. postgresql://user:password@localhost:5432/sensa) or pass -x url=..."
        )
    return normalize_url(raw)


def make_engine(url: str | URL | None = None, **kwargs: Any) -> Engine:
    """An engine for ``url`` (or ``$DATABASE_URL``) with pool pre-ping on."""
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(resolve_database_url(url), **kwargs)
