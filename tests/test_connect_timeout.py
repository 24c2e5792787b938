"""Every engine the package makes gives up connecting after connect_timeout (10 s unless
the URL says otherwise), and alembic and sensa-db then say so in one line. The server
here is a loopback socket that accepts TCP connections and never answers: the kernel
completes the handshake for a listening socket, and nothing ever reads or replies."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import psycopg
import pytest
from sqlalchemy import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from sensa_db.database import (
    DatabaseConnectionError,
    make_async_engine,
    make_engine,
    make_replica_engine,
)
from sensa_db_tools import cli
from tests.postgres import REPO_ROOT


@pytest.fixture
def silent_port() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


# psycopg 3 waits at least 2 s, whatever the URL says (as libpq did before version 14).
def silent_url(port: int, query: str = "?connect_timeout=2") -> str:
    return f"postgresql://sensa_owner:secret-pw@127.0.0.1:{port}/sensa{query}"


def no_answer_line(port: int, seconds: int) -> str:
    return (
        f"cannot connect to database 'sensa' at 127.0.0.1:{port} as sensa_owner: no answer"
        f" within {seconds} s (connect_timeout; ?connect_timeout=N in the URL waits N s)"
    )


class StillWaitingError(Exception):
    """Raised by the alarm while the connection attempt is still waiting."""


def test_without_a_timeout_the_silent_server_holds_a_connection_forever(
    silent_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The control: what the default prevents. Bounded by an alarm, not timed."""
    monkeypatch.delenv("PGCONNECT_TIMEOUT", raising=False)

    def give_up(signum: int, frame: FrameType | None) -> None:
        raise StillWaitingError

    previous = signal.signal(signal.SIGALRM, give_up)
    signal.alarm(2)
    try:
        with pytest.raises(StillWaitingError):
            psycopg.connect(host="127.0.0.1", port=silent_port, user="sensa_owner", dbname="sensa")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize("driver", ["postgresql+psycopg", "postgresql+psycopg2"])
def test_the_timeout_in_the_url_ends_the_wait_in_one_line(silent_port: int, driver: str) -> None:
    url = make_url(silent_url(silent_port)).set(drivername=driver)
    engine = make_engine(url, name_connection_failures=True, poolclass=NullPool)
    with pytest.raises(DatabaseConnectionError) as failed:
        engine.connect()
    assert str(failed.value) == no_answer_line(silent_port, 2)


def test_the_async_engine_ends_the_wait_too(silent_port: int) -> None:
    async def connect() -> None:
        engine = make_async_engine(silent_url(silent_port), poolclass=NullPool)
        try:
            async with engine.connect():
                pass
        finally:
            await engine.dispose()

    with pytest.raises(OperationalError, match="timeout expired"):
        asyncio.run(connect())


def test_every_engine_gets_ten_seconds_unless_the_url_says_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PGCONNECT_TIMEOUT", raising=False)
    monkeypatch.setenv("SENSA_DB_REPLICA_URL", "postgresql://r:p@replica/sensa")
    replica = make_replica_engine()
    assert replica is not None
    engines = [
        make_engine("postgresql://u:p@h/sensa"),
        make_engine("postgresql+psycopg2://u:p@h/sensa"),
        make_async_engine("postgresql://u:p@h/sensa").sync_engine,
        replica,
    ]
    for engine in engines:
        _, options = engine.dialect.create_connect_args(engine.url)
        assert options["connect_timeout"] == "10", engine.url
    chosen = make_engine("postgresql://u:p@h/sensa?connect_timeout=3")
    assert chosen.dialect.create_connect_args(chosen.url)[1]["connect_timeout"] == "3"


def test_connect_args_and_pgconnect_timeout_choose_too_and_the_url_shows_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The URL names the timeout in force, for the one-line failure to say."""
    monkeypatch.setenv("PGCONNECT_TIMEOUT", "7")
    assert make_engine("postgresql://u:p@h/sensa").url.query["connect_timeout"] == "7"
    given = make_engine("postgresql://u:p@h/sensa", connect_args={"connect_timeout": 4})
    assert given.url.query["connect_timeout"] == "4"


def test_sensa_db_says_it_in_one_line(silent_port: int, capsys: pytest.CaptureFixture[str]) -> None:
    config = str(REPO_ROOT / "alembic.ini")
    code = cli.main(["verify", "-c", config, "--database-url", silent_url(silent_port)])
    assert code == 2
    assert capsys.readouterr().err.splitlines() == [f"sensa-db: {no_answer_line(silent_port, 2)}"]


def test_alembic_says_it_in_one_line(silent_port: int) -> None:
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "alembic"),
            "-x",
            f"url={silent_url(silent_port)}",
            "current",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.splitlines() == [f"alembic: {no_answer_line(silent_port, 2)}"]
