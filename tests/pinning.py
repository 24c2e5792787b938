"""What an application session sends, recorded off the wire, and which of it would pin
the session to one database connection behind RDS Proxy.

:class:`StatementRecorder` turns on libpq's own protocol trace (``PQtrace``, through
psycopg's ``pgconn.trace``) for every connection an engine opens, from before
SQLAlchemy's first statement, so that it sees each message the client sends:
simple queries (``Query``), extended-protocol statements (``Parse``, with their
name: a non-empty one is a protocol-level prepared statement), whatever sent
them (the package, SQLAlchemy's dialect and pool, psycopg). That is what a
pooler between the client and the server sees.

:func:`pinning_reasons` reads one statement with PostgreSQL's own parser (pglast)
and names each thing in it that makes RDS Proxy pin the session, per AWS's list
(docs/OPERATIONS.md, "Connection poolers"): a session-level ``SET``/``RESET`` or
``set_config(..., false)``; SQL ``PREPARE``/``EXECUTE``/``DEALLOCATE``;
``DISCARD``; temporary tables, views and sequences; ``LISTEN``; cursors
(``DECLARE``); ``LOAD``; session-level advisory locks; statement text over
16 KB. A function the statement calls is not looked into, as the proxy does
not: what ``set_current_user_id`` does inside is the server's business.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pglast import ast, parse_sql
from pglast.parser import ParseError
from pglast.visitors import Visitor
from psycopg import pq
from sqlalchemy import Engine, event

# RDS Proxy pins a session whose statement text is larger than this.
LARGEST_UNPINNED_STATEMENT_BYTES = 16 * 1024

_SESSION_ADVISORY_LOCKS = frozenset(
    {
        "pg_advisory_lock",
        "pg_advisory_lock_shared",
        "pg_try_advisory_lock",
        "pg_try_advisory_lock_shared",
        "pg_advisory_unlock",
        "pg_advisory_unlock_shared",
        "pg_advisory_unlock_all",
    }
)
# SET forms that last only until the transaction ends.
_TRANSACTION_SCOPED_SETS = frozenset({"TRANSACTION", "transaction_isolation"})


def _is_true(node: Any) -> bool:
    return isinstance(node, ast.A_Const) and isinstance(node.val, ast.Boolean) and node.val.boolval


def _is_temporary(relation: Any) -> bool:
    return relation is not None and relation.relpersistence == "t"


# Statements that pin whatever they hold.
_PINNING_STATEMENTS = {
    ast.PrepareStmt: "SQL PREPARE",
    ast.ExecuteStmt: "SQL EXECUTE",
    ast.DeallocateStmt: "SQL DEALLOCATE",
    ast.DiscardStmt: "DISCARD",
    ast.ListenStmt: "LISTEN",
    ast.LoadStmt: "LOAD",
    ast.DeclareCursorStmt: "DECLARE (a cursor)",
}

# Statements that pin when what they create is temporary: the node's relation
# attribute, and what it is.
_CREATING = {
    ast.CreateStmt: ("relation", "table"),
    ast.IntoClause: ("rel", "table"),  # CREATE TABLE AS, SELECT INTO
    ast.ViewStmt: ("view", "view"),
    ast.CreateSeqStmt: ("sequence", "sequence"),
}


def _pinning_reason(node: Any) -> str | None:
    """Why one node of a parsed statement pins the session, if it does."""
    if type(node) in _PINNING_STATEMENTS:
        return _PINNING_STATEMENTS[type(node)]
    if isinstance(node, ast.VariableSetStmt):
        if not node.is_local and node.name not in _TRANSACTION_SCOPED_SETS:
            return f"session-level SET/RESET ({node.name or 'ALL'})"
    elif isinstance(node, ast.FuncCall):
        name = node.funcname[-1].sval
        if name == "set_config" and not (len(node.args or ()) == 3 and _is_true(node.args[2])):
            return "set_config() not local to the transaction"
        if name in _SESSION_ADVISORY_LOCKS:
            return f"session-level advisory lock ({name})"
    elif type(node) in _CREATING:
        relation, what = _CREATING[type(node)]
        if _is_temporary(getattr(node, relation)):
            return f"temporary {what}"
    return None


class _Pins(Visitor):  # type: ignore[misc]  # pglast ships no type hints
    """Collects the pinning reason of every node of a statement."""

    def __init__(self) -> None:
        super().__init__()
        self.reasons: list[str] = []

    def visit(self, ancestors: Any, node: Any) -> None:
        if reason := _pinning_reason(node):
            self.reasons.append(reason)


def pinning_reasons(statement: str) -> list[str]:
    """What in ``statement`` pins an RDS Proxy session; empty when nothing does."""
    reasons = []
    if len(statement.encode()) > LARGEST_UNPINNED_STATEMENT_BYTES:
        reasons.append(f"statement text over {LARGEST_UNPINNED_STATEMENT_BYTES // 1024} KB")
    try:
        tree = parse_sql(statement)
    except ParseError as error:
        # Not SQL the proxy could read either: report it rather than pass it.
        return [*reasons, f"unparseable statement ({error})"]
    pins = _Pins()
    pins(tree)
    return reasons + pins.reasons


@dataclass(frozen=True)
class SentStatement:
    """One statement a client sent: by the simple protocol, or parsed by the extended one
    under ``prepared_as`` (empty: the unnamed statement, which lives until the next)."""

    text: str
    protocol: str
    prepared_as: str = ""


# libpq's trace: one message per record, "F" for what the client sent, then its
# length (NN where regress mode hides one, as for an error). Strings are printed
# raw (a statement keeps its newlines), so records are split where the next one
# starts rather than at every line end.
_RECORD_START = re.compile(r"^(?=[FB]\t(?:\d+|NN)\t)", re.M)
_QUERY = re.compile(r'^F\t\d+\tQuery\t "(?P<text>.*)"\n?$', re.S)
_PARSE = re.compile(r'^F\t\d+\tParse\t "(?P<name>[^"]*)" "(?P<text>.*)" \d+(?: \S+)*\n?$', re.S)


def parse_trace(trace: str) -> Iterator[SentStatement]:
    """The statements in a libpq trace (REGRESS_MODE, no timestamps)."""
    for record in _RECORD_START.split(trace):
        if match := _QUERY.match(record):
            yield SentStatement(match["text"], "simple")
        elif match := _PARSE.match(record):
            yield SentStatement(match["text"], "extended", match["name"])


@dataclass
class StatementRecorder:
    """Records every statement sent on the connections of the engines it is attached to."""

    directory: Path
    _traces: list[Path] = field(default_factory=list)
    # Traced connections still open, by their pool entry.
    _open: dict[int, Any] = field(default_factory=dict)

    def attach(self, engine: Engine) -> None:
        """Trace each new connection of ``engine`` (an AsyncEngine's ``sync_engine`` too)."""

        # Inserted first, so that it runs before the dialect's own first statements.
        @event.listens_for(engine, "connect", insert=True)
        def _trace(dbapi_connection: Any, connection_record: Any) -> None:
            pgconn = connection_record.driver_connection.pgconn
            path = self.directory / f"connection-{len(self._traces)}.trace"
            with path.open("wb") as handle:
                # libpq writes through a FILE of its own on this descriptor.
                pgconn.trace(os.dup(handle.fileno()))
            pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
            self._traces.append(path)
            self._open[id(connection_record)] = pgconn

        @event.listens_for(engine, "close", insert=True)
        def _flush(dbapi_connection: Any, connection_record: Any) -> None:
            if pgconn := self._open.pop(id(connection_record), None):
                pgconn.untrace()  # flushes libpq's buffer before the connection goes

    def statements(self) -> list[SentStatement]:
        """Everything sent on every traced connection; ends the recording."""
        for pgconn in self._open.values():
            pgconn.untrace()
        self._open.clear()
        return [
            sent
            for path in self._traces
            for sent in parse_trace(path.read_text(encoding="utf-8", errors="replace"))
        ]

    @property
    def connections(self) -> int:
        return len(self._traces)


def pinning(statements: list[SentStatement]) -> dict[str, list[str]]:
    """Each statement that would pin, with its reasons."""
    return {sent.text: reasons for sent in statements if (reasons := pinning_reasons(sent.text))}
