"""The plan PostgreSQL makes for the query inside a function.

EXPLAIN of a function call shows only "Function Scan". This reads the
function's installed body from pg_catalog, takes the query it runs
(sensa_db_tools.benchmark.plans.function_query: a SQL function's body, or one of a
PL/pgSQL function's RETURN QUERY statements, by position), prepares it with the
function's parameters as $1..$n and explains its execution: the plan of the
very text the database runs.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, text

from sensa_db_tools.benchmark.plans import FUNCTION_SOURCE, function_query, plan_nodes


def prepare_function_query(
    connection: Connection, function: str, statement: str, branch: int = 0
) -> None:
    source, names, types = connection.execute(
        text(FUNCTION_SOURCE.replace("%(name)s", ":name")), {"name": function}
    ).one()
    query = function_query(source, names, branch)
    # Through the driver without parameters, so that pg_trgm's % operators are not
    # taken for placeholders.
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    cursor.execute(f"PREPARE {statement} ({', '.join(types)}) AS {query}")


def explain(connection: Connection, statement: str, arguments: str) -> list[Any]:
    """Every node of the plan of ``EXECUTE statement(arguments)``."""
    raw = connection.exec_driver_sql(
        f"EXPLAIN (FORMAT JSON) EXECUTE {statement}({arguments})"
    ).scalar_one()
    document = raw if isinstance(raw, list) else json.loads(raw)
    return list(plan_nodes(document[0]["Plan"]))


def indexes_used(nodes: list[Any]) -> set[str]:
    return {node["Index Name"] for node in nodes if "Index Name" in node}
