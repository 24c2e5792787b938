"""The plan PostgreSQL makes for the query inside a function.

EXPLAIN of a function call shows only "Function Scan". This reads the
function's installed body from pg_catalog, takes the query it runs (a SQL
function's body, or one of a PL/pgSQL function's RETURN QUERY statements, by
position), prepares it with the
function's parameters as $1..$n and explains its execution: the plan of the
very text the database runs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, text


def prepare_function_query(
    connection: Connection, function: str, statement: str, branch: int = 0
) -> None:
    source, names, types = connection.execute(
        text(
            """
            SELECT p.prosrc, p.proargnames[1:p.pronargs],
                   array(SELECT format_type(t.oid, NULL)
                         FROM unnest(p.proargtypes) WITH ORDINALITY AS a(oid, n)
                         JOIN pg_type t ON t.oid = a.oid ORDER BY a.n)
            FROM pg_proc p
            WHERE p.proname = :name AND p.pronamespace = 'public'::regnamespace
            """
        ),
        {"name": function},
    ).one()
    returned = re.findall(r"RETURN QUERY\s+(.*?);", source, re.DOTALL)
    query = returned[branch] if returned else source
    for position, name in enumerate(names, start=1):
        query = re.sub(rf"\b{name}\b", f"${position}", query)
    # Through the driver without parameters, so that pg_trgm's % operators are not
    # taken for placeholders.
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    cursor.execute(f"PREPARE {statement} ({', '.join(types)}) AS {query}")


def plan_nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from plan_nodes(child)


def explain(connection: Connection, statement: str, arguments: str) -> list[dict[str, Any]]:
    """Every node of the plan of ``EXECUTE statement(arguments)``."""
    raw = connection.exec_driver_sql(
        f"EXPLAIN (FORMAT JSON) EXECUTE {statement}({arguments})"
    ).scalar_one()
    document = raw if isinstance(raw, list) else json.loads(raw)
    return list(plan_nodes(document[0]["Plan"]))


def indexes_used(nodes: list[dict[str, Any]]) -> set[str]:
    return {node["Index Name"] for node in nodes if "Index Name" in node}
