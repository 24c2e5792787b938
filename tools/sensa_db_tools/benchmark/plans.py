"""The plan PostgreSQL makes for the query inside a function, in a few words.

EXPLAIN of a function call shows only "Function Scan". ``function_query``
takes the query a function runs from its installed body (a SQL function's
body, or one of a PL/pgSQL function's RETURN QUERY statements, by position)
with its parameters as $1..$n; prepared with the function's argument types
and explained under the settings the function applies, it is the plan of the
very text the database runs. The benchmark prints ``summary`` beside each
latency (tests/function_plans.py uses the same extraction).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

# What find_similar_documents() and find_similar_keywords() set for their queries
# (sensa_db/functions/vectors.sql): the HNSW scans' settings, the plan reused for
# the session, generic (its LIMIT unknown), no sequential scan where an index
# serves, and no JIT compilation. Their query is explained under them.
FUNCTION_SETTINGS = {
    "hnsw.iterative_scan": "relaxed_order",
    "hnsw.ef_search": "64",
    "plan_cache_mode": "force_generic_plan",
    "enable_seqscan": "off",
    "jit": "off",
}

FUNCTION_SOURCE = """
SELECT p.prosrc, p.proargnames[1:p.pronargs],
       array(SELECT format_type(t.oid, NULL)
             FROM unnest(p.proargtypes) WITH ORDINALITY AS a(oid, n)
             JOIN pg_type t ON t.oid = a.oid ORDER BY a.n)
FROM pg_proc p
WHERE p.proname = %(name)s AND p.pronamespace = 'public'::regnamespace
"""


def function_query(source: str, names: Sequence[str], branch: int = 0) -> str:
    """The query of a function body: its ``branch``-th RETURN QUERY (negative: from the
    last), or the whole SQL body, with each named argument replaced by its $n placeholder."""
    returned = re.findall(r"RETURN QUERY\s+(.*?);", source, re.DOTALL)
    query: str = returned[branch] if returned else source
    for position, name in enumerate(names, start=1):
        query = re.sub(rf"\b{name}\b", f"${position}", query)
    return query


def plan_nodes(plan: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from plan_nodes(child)


def summary(nodes: Sequence[Mapping[str, Any]]) -> str:
    """'HNSW idx_x' when an HNSW index orders the rows, else the scans and the sort used."""
    ordered_by = [node["Index Name"] for node in nodes if node.get("Order By")]
    if ordered_by:
        return "HNSW " + ", ".join(ordered_by)
    scans = [
        f"{node['Node Type']} {node.get('Index Name', '')}".strip()
        for node in nodes
        if node["Node Type"].endswith("Scan")
        and node["Node Type"] not in {"Subquery Scan", "Function Scan", "CTE Scan"}
    ]
    sorted_all = any(node["Node Type"] == "Sort" for node in nodes)
    return "exact: " + " + ".join(dict.fromkeys(scans)) + (" + sort" if sorted_all else "")


def explain_function(
    connection: psycopg.Connection[Any],
    function: str,
    arguments: Sequence[Any],
    *,
    settings: Mapping[str, str],
    branch: int = 0,
) -> list[Mapping[str, Any]]:
    """The plan nodes of ``function``'s query for ``arguments``, under ``settings`` (the
    function's own), in the connection's role and request context; rolled back."""
    row = connection.execute(FUNCTION_SOURCE, {"name": function}).fetchone()
    if row is None:
        raise LookupError(f"no function public.{function}")
    source, names, types = row
    statement = sql.Identifier(f"plan_{uuid.uuid4().hex[:12]}")
    try:
        for setting, value in settings.items():
            connection.execute(
                sql.SQL("SELECT set_config({}, {}, true)").format(
                    sql.Literal(setting), sql.Literal(value)
                )
            )
        connection.execute(
            sql.SQL("PREPARE {} ({}) AS {}").format(
                statement,
                sql.SQL(", ").join(sql.SQL(type_name) for type_name in types),
                sql.SQL(function_query(source, names, branch)),
            )
        )
        with connection.cursor(row_factory=psycopg.rows.tuple_row) as cursor:
            placeholders = sql.SQL(", ").join(sql.Literal(value) for value in arguments)
            cursor.execute(
                sql.SQL("EXPLAIN (FORMAT JSON) EXECUTE {} ({})").format(statement, placeholders)
            )
            (document,) = cursor.fetchone() or (None,)
        connection.execute(sql.SQL("DEALLOCATE {}").format(statement))
    finally:
        connection.rollback()
    return list(plan_nodes(document[0]["Plan"]))


@dataclass(frozen=True)
class FunctionPlan:
    """Which query of which function a workload runs, and how its arguments map to it."""

    function: str
    arguments: Callable[[tuple[Any, ...]], tuple[Any, ...]]
    branch: int = 0
    # The RETURN QUERY a learner's call runs, where the function has one of its own.
    # Counted from the last where it is the last, so that the plan is read at a
    # revision before the branch existed as well (sensa-db benchmark --revisions).
    learner_branch: int | None = None
    settings: Mapping[str, str] = field(default_factory=lambda: FUNCTION_SETTINGS)

    def describe(
        self,
        connection: psycopg.Connection[Any],
        params: tuple[Any, ...],
        learner: uuid.UUID | None = None,
    ) -> str:
        """The plan's summary for ``params``, as a learner when one is named."""
        branch = self.branch
        if learner is not None:
            connection.execute("SELECT public.set_current_user_id(%s)", (learner,))
            branch = self.branch if self.learner_branch is None else self.learner_branch
        nodes = explain_function(
            connection,
            self.function,
            self.arguments(params),
            settings=self.settings,
            branch=branch,
        )
        return summary(nodes)
