"""Loading the data set: its scratch database, staging with COPY, inserts under every rule.

``COPY FROM`` refuses a table under row-level security (PostgreSQL: "COPY FROM
not supported with row-level security") unless the role bypasses it, and the
owner is FORCEd and no role here has BYPASSRLS. So each chunk of rows is
copied (binary COPY) into a temporary staging table, which has no policies,
and moved with ``INSERT INTO table SELECT ... FROM stage`` as a member of
``admin_role``: every row passes the policies, the constraints, the foreign
keys and every trigger (timestamps, audit, streaks, consensus, the document
state machine), as it would in production. Nothing is disabled.

Documents are inserted pending, moved to processing, given their concept maps
and moved to completed, as the worker does; a few fail on the way. The HNSW
indexes are dropped before the load and built after it, timed serially and in
parallel (building them row by row during 400,000 inserts is several times
slower).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy import (
    JSON,
    URL,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Enum,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    Uuid,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateIndex, Index, Table

from sensa_db.models import metadata
from sensa_db.models.processed_document import HNSW_OPTIONS
from sensa_db.security import ADMIN_ROLE, APP_ROLE
from sensa_db_tools.benchmark.dataset import Dataset, TableRows, extra_document_statuses, table_rows
from sensa_db_tools.local_cluster import own_database

# Login members of the group roles, made by the benchmark as a deployment
# would (GRANT sensa_app TO api_login); cluster-wide, created once and kept.
BENCH_LOGINS = {ADMIN_ROLE: "sensa_bench_admin", APP_ROLE: "sensa_bench_app"}
CHUNK_ROWS = 20_000
DIALECT = postgresql.dialect()  # type: ignore[no-untyped-call]
# An HNSW build is fastest when the whole graph fits in memory: about 2 KB per
# halfvec(768) row, so 2 GB for the scale curve's 1,000,000 documents.
MAINTENANCE_WORK_MEM = "4GB"
# Workers besides the leader for the parallel build: one per further core of a
# 2-core machine. pgvector >= 0.8.2 builds correctly in parallel (CVE-2026-3172).
PARALLEL_BUILD_WORKERS = 1


def benchmark_database(
    server: URL, template: str, *, keep: bool = False
) -> AbstractContextManager[str]:
    """A scratch database for one run, named ``sensa_bench_...``; dropped with the
    sessions a pooler still holds for the benchmark's logins."""
    return own_database(
        server, template, keep=keep, prefix="sensa_bench", logins=tuple(BENCH_LOGINS.values())
    )


class Progress:
    """A progress bar on stderr, and the throughput once done."""

    def __init__(self, label: str, total: int, *, enabled: bool = True) -> None:
        self.label = label
        self.total = max(total, 1)
        self.done = 0
        self.enabled = enabled
        self.started = time.perf_counter()
        self._drawn = 0.0

    def advance(self, rows: int) -> None:
        self.done += rows
        now = time.perf_counter()
        if self.enabled and (now - self._drawn > 0.2 or self.done >= self.total):
            self._drawn = now
            share = min(self.done / self.total, 1.0)
            bar = "#" * round(share * 30)
            print(
                f"\r  {self.label:<20} [{bar:<30}] {share:6.1%} {self.done:>9,} rows"
                f" {self.rate:>9,.0f} rows/s",
                end="",
                file=sys.stderr,
                flush=True,
            )

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    @property
    def rate(self) -> float:
        return self.done / max(self.elapsed, 1e-9)

    def finish(self) -> None:
        if self.enabled:
            print(file=sys.stderr, flush=True)


def _stage_type(table: Table, column: str) -> tuple[str, str]:
    """(staging column type, psycopg's name for binary COPY) for a model column."""
    column_type = table.c[column].type
    if isinstance(column_type, Enum | String | Text):
        return "text", "text"
    if isinstance(column_type, BigInteger):
        return "bigint", "int8"
    if isinstance(column_type, Integer):
        return "integer", "int4"
    if isinstance(column_type, Boolean):
        return "boolean", "bool"
    if isinstance(column_type, Uuid):
        return "uuid", "uuid"
    if isinstance(column_type, JSON):
        return "jsonb", "jsonb"
    if isinstance(column_type, Numeric):
        return "double precision", "float8"
    if isinstance(column_type, DateTime):
        return "timestamptz", "timestamptz"
    if isinstance(column_type, Date):
        return "date", "date"
    if column_type.__class__.__name__ == "VECTOR":
        return "vector", "vector"
    raise TypeError(f"no staging type for {table.name}.{column} ({column_type!r})")


def _compiled_type(table: Table, column: str) -> str:
    return str(table.c[column].type.compile(dialect=DIALECT))


def _chunks(rows: Iterator[tuple[Any, ...]], size: int) -> Iterator[list[tuple[Any, ...]]]:
    chunk: list[tuple[Any, ...]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


@dataclass(frozen=True)
class TableLoad:
    table: str
    rows: int
    seconds: float

    @property
    def rows_per_second(self) -> float:
        return self.rows / max(self.seconds, 1e-9)


def load_table(
    admin: psycopg.Connection[Any], spec: TableRows, *, progress: bool = True
) -> TableLoad:
    """Stage ``spec``'s rows with binary COPY and insert them, one transaction per chunk."""
    table = metadata.tables[spec.table]
    stage = f"stage_{spec.table}"
    types = [_stage_type(table, column) for column in spec.columns]
    columns = sql.SQL(", ").join(map(sql.Identifier, spec.columns))
    admin.execute(
        sql.SQL("CREATE TEMPORARY TABLE IF NOT EXISTS {} ({}) ON COMMIT DELETE ROWS").format(
            sql.Identifier(stage),
            sql.SQL(", ").join(
                sql.SQL("{} {}").format(sql.Identifier(column), sql.SQL(stage_type))
                for column, (stage_type, _) in zip(spec.columns, types, strict=True)
            ),
        )
    )
    admin.commit()
    copy = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(sql.Identifier(stage), columns)
    move = sql.SQL("INSERT INTO public.{} ({}) SELECT {} FROM {}").format(
        sql.Identifier(spec.table),
        columns,
        sql.SQL(", ").join(
            sql.SQL("CAST({} AS {})").format(
                sql.Identifier(column), sql.SQL(_compiled_type(table, column))
            )
            for column in spec.columns
        ),
        sql.Identifier(stage),
    )
    bar = Progress(spec.table, spec.count, enabled=progress)
    loaded = 0
    for chunk in _chunks(spec.rows(), CHUNK_ROWS):
        with admin.cursor() as cursor:
            with cursor.copy(copy) as writer:
                writer.set_types([copy_type for _, copy_type in types])
                for row in chunk:
                    writer.write_row(row)
            cursor.execute(move)
            if cursor.rowcount != len(chunk):
                raise RuntimeError(f"{spec.table}: inserted {cursor.rowcount} of {len(chunk)} rows")
        admin.commit()
        loaded += len(chunk)
        bar.advance(len(chunk))
    bar.finish()
    if loaded != spec.count:
        raise RuntimeError(f"{spec.table}: generated {loaded} rows, expected {spec.count}")
    return TableLoad(spec.table, loaded, bar.elapsed)


def _set_status(
    admin: psycopg.Connection[Any], status: str, where: sql.Composable, params: Sequence[Any]
) -> int:
    with admin.cursor() as cursor:
        cursor.execute(
            sql.SQL(
                "UPDATE public.course_documents SET processing_status = {}, error_message = {}"
                " WHERE {}"
            ).format(
                sql.Literal(status),
                sql.Literal("the PDF could not be parsed" if status == "failed" else None),
                where,
            ),
            params,
        )
        return cursor.rowcount


def load(
    admin: psycopg.Connection[Any], data: Dataset, *, progress: bool = True
) -> list[TableLoad]:
    """Load every table in order; documents go pending -> processing -> completed | failed."""
    loads: list[TableLoad] = []
    processed_ids = [str(document_id) for document_id in data.document_ids]
    pending, failed = extra_document_statuses(data)
    by_processed = sql.SQL("document_id = ANY(%s::uuid[])")
    for spec in table_rows(data):
        if spec.table == "processed_documents":
            # The worker picks the documents up before it writes their results.
            started = time.perf_counter()
            moved = _set_status(admin, "processing", by_processed, [processed_ids])
            admin.commit()
            loads.append(TableLoad("documents processing", moved, time.perf_counter() - started))
        loads.append(load_table(admin, spec, progress=progress))
        if spec.table == "relationships":
            started = time.perf_counter()
            moved = _set_status(admin, "completed", by_processed, [processed_ids])
            failing = sql.SQL(
                "document_id IN (SELECT document_id FROM public.course_documents"
                " WHERE processing_status = 'pending' ORDER BY document_id LIMIT %s)"
            )
            _set_status(admin, "processing", failing, [failed])
            moved += _set_status(admin, "failed", sql.SQL("processing_status = 'processing'"), [])
            admin.commit()
            loads.append(TableLoad("documents completed", moved, time.perf_counter() - started))
    counts = admin.execute(
        "SELECT processing_status::text, count(*) FROM public.course_documents GROUP BY 1"
    ).fetchall()
    admin.commit()
    expected = {"completed": data.scale.documents, "pending": pending, "failed": failed}
    if dict(counts) != {status: n for status, n in expected.items() if n}:
        raise RuntimeError(f"document statuses after the load: {dict(counts)}, expected {expected}")
    return loads


def hnsw_indexes() -> list[Index]:
    """The model's HNSW indexes, in the order they are built."""
    return [
        index
        for table in metadata.sorted_tables
        for index in sorted(table.indexes, key=lambda index: str(index.name))
        if index.dialect_options["postgresql"]["using"] == "hnsw"
    ]


def full_precision_hnsw_index(table: str, name: str) -> Index:
    """The design's HNSW index over ``table``'s full-precision embedding, named ``name``;
    on a copy of the table, so that the model's metadata keeps only its own indexes."""
    copy = metadata.tables[table].to_metadata(MetaData())
    return Index(name, copy.c.embedding, **HNSW_OPTIONS)


def drop_hnsw_indexes(owner: psycopg.Connection[Any]) -> None:
    for index in hnsw_indexes():
        owner.execute(sql.SQL("DROP INDEX public.{}").format(sql.Identifier(str(index.name))))
    owner.commit()


def build_index(owner: psycopg.Connection[Any], index: Index, workers: int) -> float:
    owner.execute(
        sql.SQL("SET maintenance_work_mem = {}").format(sql.Literal(MAINTENANCE_WORK_MEM))
    )
    owner.execute(sql.SQL("SET max_parallel_maintenance_workers = {}").format(sql.Literal(workers)))
    ddl = str(CreateIndex(index).compile(dialect=DIALECT))
    started = time.perf_counter()
    owner.execute(ddl)
    owner.commit()
    seconds = time.perf_counter() - started
    owner.execute("RESET maintenance_work_mem")
    owner.execute("RESET max_parallel_maintenance_workers")
    owner.commit()
    return seconds


def build_hnsw_indexes(
    owner: psycopg.Connection[Any], *, compare_serial: bool = True
) -> dict[str, dict[str, float]]:
    """Build each HNSW index as its model declares it: serially (timed, then dropped) when
    ``compare_serial``, then in parallel (kept); seconds per index and mode."""
    seconds: dict[str, dict[str, float]] = {}
    for index in hnsw_indexes():
        timings: dict[str, float] = {}
        if compare_serial:
            timings["serial_s"] = build_index(owner, index, 0)
            owner.execute(sql.SQL("DROP INDEX public.{}").format(sql.Identifier(str(index.name))))
            owner.commit()
        timings["parallel_s"] = build_index(owner, index, PARALLEL_BUILD_WORKERS)
        seconds[str(index.name)] = timings
    return seconds


def vacuum_analyze(owner: psycopg.Connection[Any]) -> float:
    """VACUUM ANALYZE the model's tables (statistics for the planner, visibility for
    index-only scans), as autovacuum would after a bulk load."""
    started = time.perf_counter()
    previous = owner.autocommit
    owner.autocommit = True
    try:
        for table in metadata.sorted_tables:
            owner.execute(sql.SQL("VACUUM (ANALYZE) public.{}").format(sql.Identifier(table.name)))
    finally:
        owner.autocommit = previous
    return time.perf_counter() - started


def relation_sizes(owner: psycopg.Connection[Any]) -> dict[str, int]:
    """Bytes of the embedding tables (heap, TOAST) and of their HNSW indexes."""
    sizes: dict[str, int] = {}
    for table in ("processed_documents", "keywords"):
        row = owner.execute(
            "SELECT pg_relation_size(c.oid), coalesce(pg_relation_size(c.reltoastrelid), 0)"
            " FROM pg_class c WHERE c.oid = %s::regclass",
            (f"public.{table}",),
        ).fetchone()
        heap, toast = row if row else (0, 0)
        sizes[f"{table} heap"] = heap
        sizes[f"{table} TOAST"] = toast
    for index in hnsw_indexes():
        row = owner.execute(
            "SELECT pg_relation_size(%s::regclass)", (f"public.{index.name}",)
        ).fetchone()
        sizes[str(index.name)] = row[0] if row else 0
    owner.commit()
    return sizes
