"""Credentials from AWS Secrets Manager (moto's server on loopback) and RDS IAM tokens."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from moto.server import ThreadedMotoServer
from sqlalchemy import Engine, event, make_url, text
from sqlalchemy.exc import OperationalError

from sensa_db.database import (
    DatabaseCredentialsError,
    DatabaseURLError,
    make_async_engine,
    make_engine,
    make_replica_engine,
    resolve_database_url,
)
from tests.postgres import PostgresServer

SOURCE_VARIABLES = (
    "DATABASE_URL",
    "SENSA_DB_SECRET_ID",
    "SENSA_DB_IAM_AUTH",
    "SENSA_DB_HOST",
    "SENSA_DB_PORT",
    "SENSA_DB_NAME",
    "SENSA_DB_USER",
    "SENSA_DB_SSLMODE",
    "SENSA_DB_SSLROOTCERT",
)
PASSWORD = "pw-that-must-never-be-logged-7f3a"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def aws(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A Secrets Manager client on moto's server, with the environment pointing at it."""
    for name in SOURCE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    return boto3.client("secretsmanager")


def store_secret(client: Any, name: str, value: str) -> str:
    arn: str = client.create_secret(Name=name, SecretString=value)["ARN"]
    return arn


def test_an_rds_managed_secret_with_the_instance_from_the_environment(
    aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # RDS-managed master secrets hold only the user name and password.
    arn = store_secret(
        aws, "rds!db-managed", json.dumps({"username": "sensa_owner", "password": PASSWORD})
    )
    monkeypatch.setenv("SENSA_DB_SECRET_ID", arn)
    monkeypatch.setenv("SENSA_DB_HOST", "sensa-dev.abc.eu-west-1.rds.amazonaws.com")
    monkeypatch.setenv("SENSA_DB_NAME", "sensa")
    url = resolve_database_url()
    assert (url.drivername, url.username, url.password, url.host, url.port, url.database) == (
        "postgresql+psycopg",
        "sensa_owner",
        PASSWORD,
        "sensa-dev.abc.eu-west-1.rds.amazonaws.com",
        5432,
        "sensa",
    )
    assert dict(url.query) == {"sslmode": "require"}


def test_a_full_rds_secret_names_its_instance(aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = {
        "engine": "postgres",
        "username": "app",
        "password": PASSWORD,
        "host": "db.internal",
        "port": 6432,
        "dbname": "sensa_prod",
    }
    store_secret(aws, "sensa/full", json.dumps(secret))
    monkeypatch.setenv("SENSA_DB_SECRET_ID", "sensa/full")
    url = resolve_database_url()
    assert (url.host, url.port, url.database, url.query["sslmode"]) == (
        "db.internal",
        6432,
        "sensa_prod",
        "require",
    )
    monkeypatch.setenv("SENSA_DB_SSLMODE", "verify-full")
    monkeypatch.setenv("SENSA_DB_SSLROOTCERT", "/etc/ssl/rds-global-bundle.pem")
    assert dict(resolve_database_url().query) == {
        "sslmode": "verify-full",
        "sslrootcert": "/etc/ssl/rds-global-bundle.pem",
    }


@pytest.mark.parametrize("weak", ["disable", "allow", "prefer"])
def test_a_secret_never_connects_without_tls(
    aws: Any, monkeypatch: pytest.MonkeyPatch, weak: str
) -> None:
    store_secret(aws, f"sensa/{weak}", json.dumps({"username": "u", "password": PASSWORD}))
    monkeypatch.setenv("SENSA_DB_SECRET_ID", f"sensa/{weak}")
    monkeypatch.setenv("SENSA_DB_HOST", "h")
    monkeypatch.setenv("SENSA_DB_NAME", "d")
    monkeypatch.setenv("SENSA_DB_SSLMODE", weak)
    with pytest.raises(DatabaseURLError, match=f"sslmode={weak} refused"):
        resolve_database_url()


def test_an_rds_host_in_database_url_gets_tls_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@x.eu-west-1.rds.amazonaws.com/sensa")
    assert resolve_database_url().query["sslmode"] == "require"
    monkeypatch.setenv(
        "DATABASE_URL", "postgresql://u:p@x.eu-west-1.rds.amazonaws.com/sensa?sslmode=disable"
    )
    with pytest.raises(DatabaseURLError, match="sslmode=disable refused for an RDS host"):
        resolve_database_url()
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@localhost/sensa")
    assert "sslmode" not in resolve_database_url().query


def test_the_secret_reaches_the_server_with_tls_required_and_is_never_logged(
    aws: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    pg_server: PostgresServer,
) -> None:
    store_secret(aws, "sensa/local", json.dumps({"username": "nobody", "password": PASSWORD}))
    monkeypatch.setenv("SENSA_DB_SECRET_ID", "sensa/local")
    monkeypatch.setenv("SENSA_DB_HOST", pg_server.host)
    monkeypatch.setenv("SENSA_DB_PORT", str(pg_server.port))
    monkeypatch.setenv("SENSA_DB_NAME", "sensa_template")
    caplog.set_level(logging.DEBUG)
    engine = make_engine()
    try:
        # The local cluster has no TLS: a refusal to go on without it proves
        # sslmode=require reached the driver.
        with pytest.raises(OperationalError) as refused, engine.connect():
            pytest.fail("connected without TLS")
    finally:
        engine.dispose()
    assert "SSL" in str(refused.value)
    assert "database credentials from Secrets Manager secret sensa/local" in caplog.text
    assert PASSWORD not in caplog.text
    assert PASSWORD not in str(refused.value)
    assert PASSWORD not in repr(engine.url)


def test_a_missing_secret_is_named_with_the_reason(
    aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SENSA_DB_SECRET_ID", "sensa/absent")
    with pytest.raises(DatabaseCredentialsError) as caught:
        resolve_database_url()
    assert str(caught.value) == (
        "cannot read Secrets Manager secret 'sensa/absent': ResourceNotFoundException"
    )


def test_a_malformed_secret_is_refused_without_echoing_it(
    aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_secret(aws, "sensa/garbled", f'{{"username": "u", "pass": "{PASSWORD}"')
    monkeypatch.setenv("SENSA_DB_SECRET_ID", "sensa/garbled")
    with pytest.raises(DatabaseCredentialsError, match="not RDS credentials JSON") as caught:
        resolve_database_url()
    assert PASSWORD not in str(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_a_secret_without_a_host_asks_for_one(aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    store_secret(aws, "sensa/nohost", json.dumps({"username": "u", "password": PASSWORD}))
    monkeypatch.setenv("SENSA_DB_SECRET_ID", "sensa/nohost")
    with pytest.raises(DatabaseCredentialsError, match=r"set SENSA_DB_HOST$"):
        resolve_database_url()


def test_two_sources_at_once_are_refused(aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@h/d")
    monkeypatch.setenv("SENSA_DB_SECRET_ID", "sensa/any")
    with pytest.raises(DatabaseURLError, match="DATABASE_URL and SENSA_DB_SECRET_ID are all set"):
        resolve_database_url()
    assert resolve_database_url("postgresql://u:p@h/explicit").database == "explicit"


@pytest.fixture
def iam_environment(aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SENSA_DB_IAM_AUTH", "1")
    monkeypatch.setenv("SENSA_DB_HOST", "sensa.abc.eu-west-1.rds.amazonaws.com")
    monkeypatch.setenv("SENSA_DB_NAME", "sensa")
    monkeypatch.setenv("SENSA_DB_USER", "sensa_migrator")


def test_iam_authentication_keeps_the_token_out_of_the_url(iam_environment: None) -> None:
    url = resolve_database_url()
    assert (url.username, url.password, url.host, url.database, dict(url.query)) == (
        "sensa_migrator",
        None,
        "sensa.abc.eu-west-1.rds.amazonaws.com",
        "sensa",
        {"sslmode": "require"},
    )


class _CapturedError(Exception):
    """Stops a connection attempt once its parameters are seen."""


def _connection_parameters(engine: Engine, connect: Callable[[], object]) -> list[dict[str, Any]]:
    """The parameters of two new connections of ``engine``, stopped before connecting."""
    seen: list[dict[str, Any]] = []

    @event.listens_for(engine, "do_connect")
    def capture(dialect: Any, record: Any, cargs: Any, cparams: dict[str, Any]) -> None:
        seen.append(dict(cparams))
        raise _CapturedError

    for _ in range(2):
        with pytest.raises(_CapturedError):
            connect()
    return seen


def _assert_fresh_tokens_for(host: str, seen: list[dict[str, Any]]) -> None:
    assert len(seen) == 2
    for cparams in seen:
        token = urlsplit("//" + cparams["password"])
        query = parse_qs(token.query)
        assert (token.hostname, token.port) == (host, 5432)
        assert (query["Action"], query["DBUser"]) == (["connect"], ["sensa_migrator"])
        assert query["X-Amz-Expires"] == ["900"]
        assert cparams["sslmode"] == "require"


def test_iam_authentication_signs_a_token_for_every_new_connection(
    iam_environment: None,
) -> None:
    engine = make_engine()
    try:
        seen = _connection_parameters(engine, lambda: engine.connect().close())
    finally:
        engine.dispose()
    _assert_fresh_tokens_for("sensa.abc.eu-west-1.rds.amazonaws.com", seen)


def test_the_async_engine_signs_a_token_for_every_new_connection(
    iam_environment: None,
) -> None:
    engine = make_async_engine()

    async def connect() -> None:
        async with engine.connect():
            pytest.fail("the capture listener stops every connection")

    try:
        seen = _connection_parameters(engine.sync_engine, lambda: asyncio.run(connect()))
    finally:
        asyncio.run(engine.dispose())
    assert engine.url.drivername == "postgresql+psycopg_async"
    _assert_fresh_tokens_for("sensa.abc.eu-west-1.rds.amazonaws.com", seen)


@pytest.mark.parametrize(
    "host",
    [
        # Development's Aurora Serverless v2 writer (infra/, database_platform).
        "sensa-dev-jd-postgres-cluster.cluster-abc.eu-west-1.rds.amazonaws.com",
        # Production's RDS Proxy in front of the writer.
        "sensa-prod-postgres.proxy-abc.eu-west-1.rds.amazonaws.com",
    ],
    ids=["aurora-cluster-endpoint", "rds-proxy-endpoint"],
)
def test_aurora_and_proxy_endpoints_get_tls_and_tokens_signed_for_them(
    iam_environment: None, monkeypatch: pytest.MonkeyPatch, host: str
) -> None:
    monkeypatch.setenv("SENSA_DB_HOST", host)
    engine = make_engine()
    try:
        seen = _connection_parameters(engine, lambda: engine.connect().close())
    finally:
        engine.dispose()
    _assert_fresh_tokens_for(host, seen)


def test_a_replica_endpoint_uses_the_same_iam_user_with_its_own_tokens(
    iam_environment: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    replica_host = "sensa-replica.abc.eu-west-1.rds.amazonaws.com"
    monkeypatch.setenv("SENSA_DB_REPLICA_HOST", replica_host)
    engine = make_replica_engine()
    assert engine is not None
    try:
        seen = _connection_parameters(engine, lambda: engine.connect().close())
    finally:
        engine.dispose()
    assert (engine.url.host, engine.url.username) == (replica_host, "sensa_migrator")
    _assert_fresh_tokens_for(replica_host, seen)


def test_iam_authentication_needs_the_instance(aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SENSA_DB_IAM_AUTH", "1")
    with pytest.raises(DatabaseCredentialsError, match=r"set SENSA_DB_HOST$"):
        resolve_database_url()


def test_an_explicit_url_still_connects_locally(shared_database: str) -> None:
    engine = make_engine(make_url(shared_database))
    try:
        with engine.connect() as connection:
            assert (
                connection.scalar(text("SELECT current_user")) == make_url(shared_database).username
            )
    finally:
        engine.dispose()
