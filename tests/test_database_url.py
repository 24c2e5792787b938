"""How sensa_db.database resolves the URL that the API, worker and Alembic share."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from sensa_db.database import DatabaseURLError, make_engine, normalize_url, resolve_database_url


@pytest.mark.parametrize(
    ("given", "driver"),
    [
        ("postgresql://u:p@h/db", "postgresql+psycopg"),
        ("postgres://u:p@h/db", "postgresql+psycopg"),
        ("postgresql+psycopg://u:p@h/db", "postgresql+psycopg"),
        ("postgresql+psycopg2://u:p@h/db", "postgresql+psycopg2"),
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
