"""How sensa_db.database resolves the URL that the API, worker and Alembic share."""

from __future__ import annotations

import pytest
from sqlalchemy import make_url, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.pool import NullPool

from sensa_db.database import (
    DatabaseConnectionError,
    DatabaseURLError,
    describe_connection_failure,
    make_async_engine,
    make_engine,
    normalize_url,
    resolve_database_url,
    resolve_replica_url,
)


@pytest.mark.parametrize(
    ("given", "driver"),
    [
        ("postgresql://u:p@h/db", "postgresql+psycopg"),
        ("postgres://u:p@h/db", "postgresql+psycopg"),
        ("postgresql+psycopg://u:p@h/db", "postgresql+psycopg"),
        ("postgresql+psycopg2://u:p@h/db", "postgresql+psycopg2"),
        ("postgresql+psycopg_async://u:p@h/db", "postgresql+psycopg_async"),
    ],
)
def test_postgres_urls_settle_on_a_shipped_driver(given: str, driver: str) -> None:
    url = normalize_url(given)
    assert (url.drivername, url.username, url.password, url.host, url.database) == (
        driver,
        "u",
        "p",
        "h",
        "db",
    )


@pytest.mark.parametrize(
    "given", ["mysql://u:p@h/db", "sqlite:///x.db", "postgresql+asyncpg://u@h/db"]
)
def test_other_drivers_are_refused_by_name(given: str) -> None:
    with pytest.raises(DatabaseURLError, match="unsupported database driver"):
        normalize_url(given)


def test_an_unparsable_url_is_refused_without_echoing_it() -> None:
    with pytest.raises(DatabaseURLError) as caught:
        normalize_url("::not a url with secret-password::")
    assert "secret-password" not in str(caught.value)


def test_explicit_url_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://env@h/env")
    assert resolve_database_url("postgresql://arg@h/arg").database == "arg"
    assert resolve_database_url().database == "env"


def test_a_missing_url_says_how_to_give_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with pytest.raises(DatabaseURLError, match="set DATABASE_URL"):
        resolve_database_url()


@pytest.mark.parametrize("driver", ["postgresql", "postgresql+psycopg2"])
def test_make_engine_connects_with_either_driver(shared_database: str, driver: str) -> None:
    url = shared_database.replace("postgresql+psycopg://", f"{driver}://")
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT count(*) FROM users")) == 0
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "given", ["postgresql://u:p@h/db", "postgresql+psycopg://u:p@h/db", "postgres://u:p@h/db"]
)
def test_the_async_engine_takes_the_same_urls(given: str) -> None:
    engine = make_async_engine(given)
    assert engine.url.drivername == "postgresql+psycopg_async"


def test_the_async_engine_refuses_psycopg2_by_name() -> None:
    with pytest.raises(DatabaseURLError, match="no asyncio driver"):
        make_async_engine("postgresql+psycopg2://u:p@h/db")


def test_no_replica_configured_means_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SENSA_DB_REPLICA_URL", raising=False)
    monkeypatch.delenv("SENSA_DB_REPLICA_HOST", raising=False)
    assert resolve_replica_url() is None


def test_a_replica_url_is_taken_as_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SENSA_DB_REPLICA_URL", "postgresql://r:p@replica:5433/sensa")
    replica = resolve_replica_url()
    assert replica is not None
    assert (replica.drivername, replica.host, replica.port) == (
        "postgresql+psycopg",
        "replica",
        5433,
    )


def test_a_replica_endpoint_reuses_the_primarys_credentials(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://app:secret@primary:5432/sensa")
    monkeypatch.setenv("SENSA_DB_REPLICA_HOST", "replica")
    monkeypatch.setenv("SENSA_DB_REPLICA_PORT", "5433")
    replica = resolve_replica_url()
    assert replica is not None
    assert (replica.username, replica.password, replica.host, replica.port, replica.database) == (
        "app",
        "secret",
        "replica",
        5433,
        "sensa",
    )


def test_two_replica_sources_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SENSA_DB_REPLICA_URL", "postgresql://r:p@replica/sensa")
    monkeypatch.setenv("SENSA_DB_REPLICA_HOST", "replica")
    with pytest.raises(DatabaseURLError, match="set one replica source"):
        resolve_replica_url()


WRONG_PASSWORD = "not-the-password-i16"


def with_wrong_password(url: str) -> str:
    return make_url(url).set(password=WRONG_PASSWORD).render_as_string(hide_password=False)


@pytest.mark.parametrize("driver", ["postgresql+psycopg", "postgresql+psycopg2"])
def test_a_refused_login_is_named_in_one_line_without_the_password(
    shared_database: str, driver: str
) -> None:
    url = make_url(with_wrong_password(shared_database)).set(drivername=driver)
    engine = make_engine(url, name_connection_failures=True, poolclass=NullPool)
    with pytest.raises(DatabaseConnectionError) as refused:
        engine.connect()
    assert str(refused.value) == (
        f"cannot connect to database {url.database!r} at {url.host}:{url.port} as"
        f' {url.username}: password authentication failed for user "{url.username}"'
    )


def test_without_the_option_sqlalchemy_error_is_left_alone(shared_database: str) -> None:
    engine = make_engine(with_wrong_password(shared_database), poolclass=NullPool)
    with pytest.raises(OperationalError):
        engine.connect()


def test_a_failure_after_connecting_is_not_called_a_connection_failure(
    shared_database: str,
) -> None:
    engine = make_engine(shared_database, name_connection_failures=True, poolclass=NullPool)
    with engine.connect() as connection, pytest.raises(DBAPIError) as failed:
        connection.execute(text("SELECT 1 / 0"))
    assert "division by zero" in str(failed.value)


def test_a_password_in_a_driver_message_is_never_repeated() -> None:
    url = make_url("postgresql://learner:s3cret-pw@db.internal:6432/sensa")
    error = RuntimeError('connection to server failed: FATAL:  bad login "s3cret-pw"\n')
    assert describe_connection_failure(url, error) == (
        "cannot connect to database 'sensa' at db.internal:6432 as learner: bad login \"***\""
    )
