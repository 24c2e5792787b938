"""Where the database is, and engines that connect to it.

Used by the API, the worker, Alembic's env.py and the CLI alike, so that every
one of them resolves the database the same way. In order:

1. a URL given explicitly (alembic's ``-x url=...``, sensa-db's ``--database-url``);
2. exactly one of these environment sources:
   - ``DATABASE_URL``;
   - ``SENSA_DB_SECRET_ID``: an AWS Secrets Manager secret holding the JSON
     RDS keeps there (``username``, ``password`` and, except in the secrets RDS
     manages itself, ``host``, ``port``, ``dbname``); ``SENSA_DB_HOST``,
     ``SENSA_DB_PORT`` and ``SENSA_DB_NAME`` supply or override those;
   - ``SENSA_DB_IAM_AUTH=1``: RDS IAM authentication as ``SENSA_DB_USER`` at
     ``SENSA_DB_HOST``/``SENSA_DB_PORT``/``SENSA_DB_NAME``, with a token (valid
     15 minutes) generated for every new connection, never stored in the URL.

A read replica (optional) comes from ``SENSA_DB_REPLICA_URL``, else from
``SENSA_DB_REPLICA_HOST`` (and ``SENSA_DB_REPLICA_PORT``): the primary's source
above with the replica's endpoint, the same secret or IAM user
(:func:`resolve_replica` and ``sensa_db.replicas``).

Every engine made here gives up connecting after ``connect_timeout`` seconds,
10 unless the URL (``?connect_timeout=3``), ``connect_args`` or libpq's
``PGCONNECT_TIMEOUT`` says otherwise: a server that accepts the connection and
never answers would otherwise hold the caller forever.

:func:`check_schema` (and :func:`async_check_schema`) tell an application at
start-up, in one line, that its database is unmigrated, behind or ahead of
this package's schema, and what to run.

Against RDS (a secret, IAM, or an ``*.rds.amazonaws.com`` host) the connection
always requires TLS: ``sslmode=require`` unless ``SENSA_DB_SSLMODE`` asks for
``verify-ca`` or ``verify-full`` (with ``SENSA_DB_SSLROOTCERT``, the RDS CA
bundle); anything weaker is refused. AWS credentials and region come from
boto3's usual chain (role, ``AWS_REGION``, ``AWS_ENDPOINT_URL``...). No
password, secret or token is ever logged or put in an error message.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import URL, Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

log = logging.getLogger(__name__)

DATABASE_URL_ENV = "DATABASE_URL"
SECRET_ID_ENV = "SENSA_DB_SECRET_ID"  # noqa: S105 - the variable's name, not a secret
IAM_AUTH_ENV = "SENSA_DB_IAM_AUTH"
HOST_ENV = "SENSA_DB_HOST"
PORT_ENV = "SENSA_DB_PORT"
NAME_ENV = "SENSA_DB_NAME"
USER_ENV = "SENSA_DB_USER"
SSLMODE_ENV = "SENSA_DB_SSLMODE"
SSLROOTCERT_ENV = "SENSA_DB_SSLROOTCERT"
REPLICA_URL_ENV = "SENSA_DB_REPLICA_URL"
REPLICA_HOST_ENV = "SENSA_DB_REPLICA_HOST"
REPLICA_PORT_ENV = "SENSA_DB_REPLICA_PORT"

# Drivers we ship. A bare ``postgresql://`` means psycopg 3 in SQLAlchemy 2.1 but
# psycopg2 in 2.0; naming the driver makes the choice independent of the version.
_DEFAULT_DRIVER = "postgresql+psycopg"
_ASYNC_DRIVER = "postgresql+psycopg_async"
_SUPPORTED_DRIVERS = frozenset({_DEFAULT_DRIVER, _ASYNC_DRIVER, "postgresql+psycopg2"})
_TLS_SSLMODES = ("require", "verify-ca", "verify-full")
_RDS_HOST_SUFFIX = ".rds.amazonaws.com"

# libpq's connect_timeout, in seconds, unless the URL or the caller sets its own.
CONNECT_TIMEOUT = "connect_timeout"
DEFAULT_CONNECT_TIMEOUT_SECONDS = 10

# The newest revision of this package's schema: ``alembic heads`` of the
# revisions it was released with (tests/test_schema_check.py keeps them equal).
# The runtime's wheel ships no revisions, so check_schema compares with this.
HEAD_REVISION = "b2a65691336a"


class DatabaseURLError(RuntimeError):
    """The database URL is missing or names something we cannot connect with."""


class DatabaseCredentialsError(DatabaseURLError):
    """Credentials could not be obtained from AWS, or are unusable; the message holds no secret."""


class DatabaseConnectionError(DatabaseURLError):
    """The server could not be reached or refused the login; the message holds no password."""


class SchemaNotAtHead(RuntimeError):  # noqa: N818 - the name says what is wrong
    """The database's schema is not the one this package was released with; the one-line
    message says whether it is unmigrated, behind or ahead, and what to run."""


_UPGRADE = "run `alembic upgrade head`"


def schema_not_at_head(
    database: str | None, state: str, detail: str, fix: str = _UPGRADE
) -> SchemaNotAtHead:
    """The error in the form every check uses: ``database 'x' is <state> (<detail>): <fix>``."""
    return SchemaNotAtHead(f"database {database!r} is {state} ({detail}): {fix}")


def unmigrated(database: str | None) -> SchemaNotAtHead:
    """For a database where no revision is applied."""
    return schema_not_at_head(database, "unmigrated", "no revision applied")


def lacking_schema(database: str | None, reason: str) -> SchemaNotAtHead:
    """For a first use that found something the package needs absent: ``reason`` says what."""
    return schema_not_at_head(database, "unmigrated or behind this package", reason)


UNDEFINED_FUNCTION = "42883"


def sqlstate(error: DBAPIError) -> str | None:
    """The SQLSTATE of a psycopg 3 or psycopg2 error."""
    code = getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)
    return code if isinstance(code, str) else None


@contextmanager
def reporting_missing_schema(connection: Connection) -> Iterator[None]:
    """Turn a call of a function the database lacks into :class:`SchemaNotAtHead`'s one line.

    The package's own calls name functions of its schema: one that does not
    exist means the database is unmigrated or older than the package.
    """
    try:
        yield
    except DBAPIError as exc:
        if sqlstate(exc) != UNDEFINED_FUNCTION:
            raise
        reason = getattr(getattr(exc.orig, "diag", None), "message_primary", None)
        raise lacking_schema(connection.engine.url.database, reason or str(exc.orig)) from None


# Existence only, which any login may ask: the tables themselves are out of its reach.
_SCHEMA_PROBE = text(
    "SELECT pg_catalog.to_regclass('public.alembic_version') IS NOT NULL AS migrated,"
    " pg_catalog.to_regprocedure('public.schema_revision(text)') IS NOT NULL AS reports_revision"
)
_SCHEMA_REVISION = text(
    "SELECT current_revision, revision_applied FROM public.schema_revision(:revision)"
)


def _check_schema(connection: Connection) -> None:
    database = connection.engine.url.database
    probe = connection.execute(_SCHEMA_PROBE).one()
    if not probe.migrated:
        raise unmigrated(database)
    if not probe.reports_revision:
        raise schema_not_at_head(
            database,
            "behind this package",
            f"at a revision before public.schema_revision(); the package needs {HEAD_REVISION}",
        )
    current, head_applied = connection.execute(_SCHEMA_REVISION, {"revision": HEAD_REVISION}).one()
    if current == HEAD_REVISION:
        return
    if head_applied:
        raise schema_not_at_head(
            database,
            "ahead of this package",
            f"at revision {current}, past the package's {HEAD_REVISION}",
            "deploy the newer package; do not downgrade the database",
        )
    raise schema_not_at_head(
        database,
        "behind this package",
        f"at revision {current or 'none'}; the package needs {HEAD_REVISION}",
    )


def check_schema(engine: Engine) -> None:
    """Raise :class:`SchemaNotAtHead` unless ``engine``'s database is at :data:`HEAD_REVISION`.

    For an application's start-up or health check, as any login (the API's,
    the worker's): two short statements on a connection of its own.
    """
    with engine.connect() as connection:
        _check_schema(connection)


async def async_check_schema(engine: AsyncEngine) -> None:
    """:func:`check_schema` for SQLAlchemy's asyncio extension."""
    async with engine.connect() as connection:
        await connection.run_sync(_check_schema)


def describe_connection_failure(url: URL, error: BaseException) -> str:
    """One line naming the database, host, port, user and the server's reason, never the password.

    libpq's own message spans lines (one per address tried) and, through
    SQLAlchemy, comes with the whole traceback; the reason is what follows the
    server's ``FATAL:``, else the last attempt's ``failed:``.
    """
    text = " ".join(str(error).split())
    for marker in ("FATAL:", "failed: "):
        if marker in text:
            text = text.rsplit(marker, 1)[1].strip()
            break
    if text.endswith("timeout expired"):  # libpq's words, and psycopg 3's
        text = (
            f"no answer within {url.query.get(CONNECT_TIMEOUT, '?')} s ({CONNECT_TIMEOUT};"
            f" ?{CONNECT_TIMEOUT}=N in the URL waits N s)"
        )
    # libpq does not echo the password; this is for a driver that would. A
    # password of a few characters would blank ordinary words instead.
    password = str(url.password or "")
    if len(password) >= 4:
        text = text.replace(password, "***")
    return (
        f"cannot connect to database {url.database!r} at {url.host or 'localhost'}:"
        f"{url.port or 5432} as {url.username}: {text}"
    )


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
            f"use postgresql://, postgresql+psycopg://, postgresql+psycopg_async://"
            " or postgresql+psycopg2://"
        )
    return parsed


@dataclass(frozen=True)
class IAMAuth:
    """RDS IAM authentication: a signed token, generated locally, stands for the password."""

    host: str
    port: int
    user: str
    region: str | None

    def token(self) -> str:
        client = _boto3().client("rds", region_name=self.region)
        token: str = client.generate_db_auth_token(
            DBHostname=self.host, Port=self.port, DBUsername=self.user, Region=self.region
        )
        return token


def _boto3() -> Any:
    try:
        import boto3  # optional (the aws extra): only deployments on AWS need it
    except ImportError:
        raise DatabaseCredentialsError(
            f"{SECRET_ID_ENV} and {IAM_AUTH_ENV} need boto3: pip install 'sensa-db[aws]'"
        ) from None
    return boto3


def _require_tls(url: URL, source: str) -> URL:
    sslmode = url.query.get("sslmode") or os.environ.get(SSLMODE_ENV) or "require"
    if sslmode not in _TLS_SSLMODES:
        raise DatabaseURLError(
            f"sslmode={sslmode} refused for {source}: RDS connections must use TLS"
            f" ({', '.join(_TLS_SSLMODES)})"
        )
    query = {"sslmode": sslmode}
    if root_cert := os.environ.get(SSLROOTCERT_ENV):
        query["sslrootcert"] = root_cert
    return url.update_query_dict(query)


def _required_env(name: str, purpose: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise DatabaseCredentialsError(f"{purpose}: set {name}")
    return value


def _port(raw: str | int) -> int:
    try:
        return int(raw)
    except ValueError:
        raise DatabaseCredentialsError(f"the database port {raw!r} is not a number") from None


class _DropSecretValues(logging.Filter):
    """botocore logs every response body at DEBUG, a secret's value included: drop those."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "SecretString" not in record.getMessage()


_SECRET_FILTER = _DropSecretValues()


def _url_from_secret(secret_id: str) -> URL:
    boto3 = _boto3()
    from botocore.exceptions import BotoCoreError, ClientError

    body_logger = logging.getLogger("botocore.parsers")
    if _SECRET_FILTER not in body_logger.filters:
        body_logger.addFilter(_SECRET_FILTER)

    try:
        response = boto3.client("secretsmanager").get_secret_value(SecretId=secret_id)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "error")
        raise DatabaseCredentialsError(
            f"cannot read Secrets Manager secret {secret_id!r}: {code}"
        ) from None
    except BotoCoreError as exc:
        raise DatabaseCredentialsError(
            f"cannot read Secrets Manager secret {secret_id!r}: {type(exc).__name__}"
        ) from None
    try:
        secret = json.loads(response.get("SecretString") or "")
        username, password = secret["username"], secret["password"]
    except (ValueError, TypeError, KeyError):
        raise DatabaseCredentialsError(
            f"Secrets Manager secret {secret_id!r} is not RDS credentials JSON"
            " with username and password"
        ) from None
    purpose = f"secret {secret_id!r} names no database host, port or name"
    host = os.environ.get(HOST_ENV) or secret.get("host") or _required_env(HOST_ENV, purpose)
    port = _port(os.environ.get(PORT_ENV) or secret.get("port") or 5432)
    dbname = os.environ.get(NAME_ENV) or secret.get("dbname") or _required_env(NAME_ENV, purpose)
    log.info(
        "database credentials from Secrets Manager secret %s for %s@%s:%s/%s",
        secret_id,
        username,
        host,
        port,
        dbname,
    )
    url = URL.create(
        _DEFAULT_DRIVER,
        username=username,
        password=password,
        host=host,
        port=port,
        database=dbname,
    )
    return _require_tls(url, "a Secrets Manager secret")


def _iam_auth() -> tuple[URL, IAMAuth]:
    purpose = f"{IAM_AUTH_ENV}=1 needs the instance and the database user"
    host, user = _required_env(HOST_ENV, purpose), _required_env(USER_ENV, purpose)
    port = _port(os.environ.get(PORT_ENV) or 5432)
    dbname = _required_env(NAME_ENV, purpose)
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    log.info("database credentials: RDS IAM tokens for %s@%s:%s/%s", user, host, port, dbname)
    url = URL.create(_DEFAULT_DRIVER, username=user, host=host, port=port, database=dbname)
    return _require_tls(url, "RDS IAM authentication"), IAMAuth(host, port, user, region)


def _configured_sources() -> list[str]:
    sources = [name for name in (DATABASE_URL_ENV, SECRET_ID_ENV) if os.environ.get(name)]
    if os.environ.get(IAM_AUTH_ENV, "").lower() in ("1", "true", "yes"):
        sources.append(IAM_AUTH_ENV)
    return sources


def _resolve(explicit: str | URL | None) -> tuple[URL, IAMAuth | None]:
    if explicit is not None:
        url = normalize_url(explicit)
    else:
        sources = _configured_sources()
        if not sources:
            raise DatabaseURLError(
                f"no database URL: set {DATABASE_URL_ENV} "
                "(e.g. postgresql://user:password@localhost:5432/sensa;"
                f" on AWS {SECRET_ID_ENV} or {IAM_AUTH_ENV}=1)"
                " or pass one (alembic -x url=..., sensa-db --database-url ...)"
            )
        if len(sources) > 1:
            raise DatabaseURLError(
                f"{' and '.join(sources)} are all set: set exactly one database source"
            )
        if sources == [SECRET_ID_ENV]:
            return _url_from_secret(os.environ[SECRET_ID_ENV]), None
        if sources == [IAM_AUTH_ENV]:
            return _iam_auth()
        url = normalize_url(os.environ[DATABASE_URL_ENV])
    if url.host and url.host.endswith(_RDS_HOST_SUFFIX):
        url = _require_tls(url, "an RDS host")
    return url, None


def resolve_database_url(explicit: str | URL | None = None) -> URL:
    """The URL given, else the one environment source configured; an error that says so if none.

    With IAM authentication the URL carries no password: use :func:`make_engine`,
    which supplies a fresh token to every connection.
    """
    return _resolve(explicit)[0]


def _resolve_replica() -> tuple[URL, IAMAuth | None] | None:
    if url := os.environ.get(REPLICA_URL_ENV):
        if os.environ.get(REPLICA_HOST_ENV):
            raise DatabaseURLError(
                f"{REPLICA_URL_ENV} and {REPLICA_HOST_ENV} are both set: set one replica source"
            )
        return _resolve(url)
    host = os.environ.get(REPLICA_HOST_ENV)
    if not host:
        return None
    primary, iam = _resolve(None)
    port = _port(os.environ.get(REPLICA_PORT_ENV) or primary.port or 5432)
    replica = primary.set(host=host, port=port)
    if host.endswith(_RDS_HOST_SUFFIX):
        replica = _require_tls(replica, "an RDS host")
    if iam is not None:
        # An IAM token is signed for one endpoint: the replica's, not the primary's.
        iam = IAMAuth(host, port, iam.user, iam.region)
    log.info("read replica at %s:%s", host, port)
    return replica, iam


def resolve_replica_url() -> URL | None:
    """The read replica's URL from the environment, or None when no replica is configured."""
    resolved = _resolve_replica()
    return None if resolved is None else resolved[0]


def _with_connect_timeout(url: URL, kwargs: dict[str, Any]) -> URL:
    """``url`` naming the timeout the driver will use, so that a failure can say it:
    connect_args (which win over the URL), the URL, libpq's PGCONNECT_TIMEOUT, else 10 s."""
    chosen = (
        (kwargs.get("connect_args") or {}).get(CONNECT_TIMEOUT)
        or url.query.get(CONNECT_TIMEOUT)
        or os.environ.get("PGCONNECT_TIMEOUT")
        or DEFAULT_CONNECT_TIMEOUT_SECONDS
    )
    return url.update_query_dict({CONNECT_TIMEOUT: str(chosen)})


def _engine_options(url: URL, kwargs: dict[str, Any]) -> dict[str, Any]:
    kwargs.setdefault("pool_pre_ping", True)
    if url.drivername in (_DEFAULT_DRIVER, _ASYNC_DRIVER):
        # psycopg 3 prepares a statement server-side after five executions.
        # Behind PgBouncer in transaction mode (or RDS Proxy) the next
        # execution may reach another server connection: "does not exist",
        # "already exists", or another client's statement run with this one's
        # parameters. Off by default; pass connect_args={"prepare_threshold":
        # 5} only on a direct connection.
        connect_args = dict(kwargs.get("connect_args") or {})
        connect_args.setdefault("prepare_threshold", None)
        kwargs["connect_args"] = connect_args
    return kwargs


def _fresh_iam_token(engine: Engine, iam: IAMAuth) -> None:
    # A token lives 15 minutes and pooled connections outlive it, so each new
    # connection gets its own, never one baked into the URL.
    @event.listens_for(engine, "do_connect")
    def _fresh_token(
        dialect: Any, connection_record: Any, cargs: Any, cparams: dict[str, Any]
    ) -> None:
        cparams["password"] = iam.token()


def _name_connection_failures(engine: Engine, url: URL) -> None:
    @event.listens_for(engine, "handle_error")
    def _name_the_failure(context: ExceptionContext) -> None:
        # Only a connection that never opened: a statement timeout or a server
        # lost later keeps SQLAlchemy's own error.
        if context.connection is None and not context.is_pre_ping:
            raise DatabaseConnectionError(
                describe_connection_failure(url, context.original_exception)
            ) from None


def _sync_engine(
    resolved: URL,
    iam: IAMAuth | None,
    kwargs: dict[str, Any],
    *,
    name_connection_failures: bool = False,
) -> Engine:
    if resolved.drivername == _ASYNC_DRIVER:
        resolved = resolved.set(drivername=_DEFAULT_DRIVER)
    resolved = _with_connect_timeout(resolved, kwargs)
    engine = create_engine(resolved, **_engine_options(resolved, kwargs))
    if iam is not None:
        _fresh_iam_token(engine, iam)
    if name_connection_failures:
        _name_connection_failures(engine, resolved)
    return engine


def _async_engine(resolved: URL, iam: IAMAuth | None, kwargs: dict[str, Any]) -> AsyncEngine:
    if resolved.drivername == _DEFAULT_DRIVER:
        resolved = resolved.set(drivername=_ASYNC_DRIVER)
    if resolved.drivername != _ASYNC_DRIVER:
        raise DatabaseURLError(
            f"{resolved.drivername} has no asyncio driver: use postgresql:// (psycopg 3)"
        )
    resolved = _with_connect_timeout(resolved, kwargs)
    engine = create_async_engine(resolved, **_engine_options(resolved, kwargs))
    if iam is not None:
        _fresh_iam_token(engine.sync_engine, iam)
    return engine


def make_engine(
    url: str | URL | None = None, *, name_connection_failures: bool = False, **kwargs: Any
) -> Engine:
    """An engine for ``url`` (or the environment's source): pool pre-ping on, and with
    psycopg 3 no server-side prepared statements, so that it is safe behind a pooler.

    With ``name_connection_failures``, a failure to connect raises
    :class:`DatabaseConnectionError` with :func:`describe_connection_failure`'s
    one line instead of SQLAlchemy's OperationalError: for commands (alembic,
    sensa-db) whose user needs the reason, not a traceback. The API keeps
    SQLAlchemy's error, which its own handlers expect.
    """
    return _sync_engine(*_resolve(url), kwargs, name_connection_failures=name_connection_failures)


def make_async_engine(url: str | URL | None = None, **kwargs: Any) -> AsyncEngine:
    """:func:`make_engine` for SQLAlchemy's asyncio extension (psycopg 3's async driver).

    The same URL, Secrets Manager and IAM resolution; ``postgresql://`` and
    ``postgresql+psycopg://`` URLs are taken as ``postgresql+psycopg_async://``.
    """
    return _async_engine(*_resolve(url), kwargs)


def make_replica_engine(**kwargs: Any) -> Engine | None:
    """An engine for the configured read replica, or None when there is none."""
    resolved = _resolve_replica()
    return None if resolved is None else _sync_engine(*resolved, kwargs)


def make_async_replica_engine(**kwargs: Any) -> AsyncEngine | None:
    """:func:`make_replica_engine` for the asyncio extension."""
    resolved = _resolve_replica()
    return None if resolved is None else _async_engine(*resolved, kwargs)
