"""The benchmark from start to end, in a database of its own.

The database is created from the extensions template on the server the URL
names, migrated with ``alembic upgrade head`` (timed), loaded, measured and
dropped (unless kept). Its HNSW indexes are dropped before the load and rebuilt
after it: acceptable only because the database is the benchmark's own; no
database the benchmark did not create is ever written to.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from pgvector.psycopg import register_vector
from sqlalchemy.engine import URL

from sensa_db.security import ADMIN_ROLE, APP_ROLE
from sensa_db_tools import local_cluster
from sensa_db_tools.benchmark import concurrency, halfvec, replica, report
from sensa_db_tools.benchmark.dataset import Dataset, generate
from sensa_db_tools.benchmark.loading import (
    BENCH_LOGINS,
    MAINTENANCE_WORK_MEM,
    TableLoad,
    benchmark_database,
    build_hnsw_indexes,
    drop_hnsw_indexes,
    load,
    relation_sizes,
    vacuum_analyze,
)
from sensa_db_tools.benchmark.scale import Scale
from sensa_db_tools.benchmark.timing import Samples
from sensa_db_tools.benchmark.workloads import (
    Measured,
    SweepPoint,
    VectorQuality,
    measure_insert,
    measure_learner_workloads,
    measure_vector_quality,
)
from sensa_db_tools.local_cluster import EXTENSIONS_TEMPLATE, conninfo, ensure_login_members

RLS_OVERHEAD_TARGET = 0.05


@dataclass(frozen=True)
class Options:
    scale: Scale
    server: URL
    alembic_ini: Path
    output: Path
    template: str = EXTENSIONS_TEMPLATE
    keep: bool = False
    seed: int = 7
    progress: bool = True
    # --concurrency: where to send the pgbench mix (none: not measured).
    concurrency_targets: tuple[concurrency.Target, ...] = ()
    concurrency_seconds: int = concurrency.SECONDS
    concurrency_repetitions: int = concurrency.REPETITIONS
    concurrency_clients: tuple[int, ...] = concurrency.CLIENT_COUNTS
    # --read-only: the mix without its write, so that a hot standby can take it.
    concurrency_read_only: bool = False
    # --halfvec: measure a vector(768) HNSW index beside each shipped halfvec(768) one.
    halfvec: bool = False
    # Time a serial HNSW build before the parallel one that is kept.
    serial_builds: bool = True


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@contextmanager
def app_and_admin(
    server: URL, dbname: str
) -> Iterator[tuple[psycopg.Connection[Any], psycopg.Connection[Any]]]:
    """The two logins the workloads compare: the app (row-level security) and the
    baseline (admin_role), each on its own connection to ``dbname``."""
    with (
        psycopg.connect(conninfo(server, dbname, BENCH_LOGINS[APP_ROLE])) as app,
        psycopg.connect(conninfo(server, dbname, BENCH_LOGINS[ADMIN_ROLE])) as admin,
    ):
        register_vector(app)
        register_vector(admin)
        yield app, admin


def direct_target(server: URL, name: str = "direct") -> concurrency.Target:
    """The server itself as a pgbench target."""
    return concurrency.Target(name, server.host or "localhost", server.port or local_cluster.PORT)


def _alembic(alembic_ini: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603  # our own interpreter and arguments
        [sys.executable, "-m", "alembic", "-c", str(alembic_ini), *args],
        capture_output=True,
        text=True,
        check=True,
    )


def measure_migrations(options: Options, dbname: str) -> dict[str, Any]:
    """``alembic upgrade head`` on ``dbname`` (empty), and its offline SQL applied with psql
    on a second empty database; both as a user runs them, process start-up included."""
    url = conninfo(options.server, dbname)
    started = time.perf_counter()
    _alembic(options.alembic_ini, "-x", f"url={url}", "upgrade", "head")
    alembic_seconds = time.perf_counter() - started

    started = time.perf_counter()
    offline = _alembic(options.alembic_ini, "upgrade", "head", "--sql").stdout
    render_seconds = time.perf_counter() - started
    psql = shutil.which("psql")
    if psql is None:
        raise RuntimeError("psql is not on PATH: install postgresql-client")
    with benchmark_database(options.server, options.template, keep=False) as offline_db:
        with tempfile.NamedTemporaryFile("w", suffix=".sql") as script:
            script.write(offline)
            script.flush()
            environment = {**os.environ, "PGPASSWORD": options.server.password or ""}
            command = [
                psql, "-X", "-q", "-v", "ON_ERROR_STOP=1",
                "-h", options.server.host or "localhost",
                "-p", str(options.server.port or local_cluster.PORT),
                "-U", options.server.username or "",
                "-d", offline_db, "-f", script.name,
            ]  # fmt: skip
            started = time.perf_counter()
            subprocess.run(  # noqa: S603
                command, env=environment, check=True, capture_output=True, text=True
            )
            psql_seconds = time.perf_counter() - started
        versions = []
        for name in (dbname, offline_db):
            with psycopg.connect(conninfo(options.server, name)) as conn:
                versions.append(conn.execute("SELECT version_num FROM alembic_version").fetchall())
    if versions[0] != versions[1]:
        raise RuntimeError(f"online and offline migrations disagree: {versions}")
    return {
        "alembic_upgrade_s": alembic_seconds,
        "offline_render_s": render_seconds,
        "psql_apply_s": psql_seconds,
        "ratio": alembic_seconds / psql_seconds,
    }


def _memory_gib() -> float | None:
    try:
        with open("/proc/meminfo") as meminfo:
            kib = int(meminfo.readline().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return round(kib / 1024 / 1024, 1)


def machine(owner: psycopg.Connection[Any]) -> dict[str, Any]:
    def value(query: str) -> Any:
        row = owner.execute(query).fetchone()
        return row[0] if row else None

    facts = {
        "cpu_count": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "platform": platform.platform(terse=True),
        "postgresql": value("SHOW server_version"),
        "pgvector": value("SELECT extversion FROM pg_extension WHERE extname = 'vector'"),
        "shared_buffers": value("SHOW shared_buffers"),
        "work_mem": value("SHOW work_mem"),
    }
    owner.commit()
    return facts


def _targets(
    latency: list[Measured], vector: VectorQuality, insert: Samples
) -> list[dict[str, Any]]:
    by_name = {measured.workload.name: measured for measured in latency}

    def p95(name: str, limit: float) -> dict[str, Any]:
        value = by_name[name].app.p95
        return {
            "what": f"{name} p95 (as the app)",
            "target": f"<= {limit:g} ms",
            "measured": f"{value:.2f} ms",
            "met": value <= limit,
        }

    def overhead(name: str) -> dict[str, Any]:
        value = by_name[name].rls_ratio - 1
        return {
            "what": f"RLS overhead at p50, {name}",
            "target": f"<= {RLS_OVERHEAD_TARGET:.0%}",
            "measured": f"{value:+.1%}",
            "met": value <= RLS_OVERHEAD_TARGET,
        }

    function_p95 = vector.function_latency.p95
    return [
        {
            "what": "find_similar_documents recall@10 over all documents",
            "target": ">= 0.95",
            "measured": f"{vector.function_recall:.4f}",
            "met": vector.function_recall >= 0.95,
        },
        {
            "what": "find_similar_documents p95 over all documents",
            "target": "<= 15 ms",
            "measured": f"{function_p95:.2f} ms",
            "met": function_p95 <= 15,
        },
        {
            "what": "find_similar_keywords in one course: queries with 10 rows",
            "target": "100%",
            "measured": f"{vector.course_keyword_full_share:.1%}",
            "met": vector.course_keyword_full_share == 1,
        },
        {
            "what": "find_similar_keywords in one course: recall@10",
            "target": ">= 0.9",
            "measured": f"{vector.course_keyword_recall:.4f}",
            "met": vector.course_keyword_recall >= 0.9,
        },
        p95("course_lookup", 1),
        p95("search_keywords_typo", 5),
        p95("course_stats", 10),
        p95("progress_summary", 5),
        overhead("course_lookup"),
        overhead("find_similar_keywords_in_course"),
        overhead("find_similar_documents"),
    ]


@dataclass(frozen=True)
class Populated:
    data: Dataset
    loads: list[TableLoad]
    generate_seconds: float
    load_seconds: float
    index_seconds: dict[str, dict[str, float]]
    sizes: dict[str, Any]


def populate(
    server: URL,
    dbname: str,
    owner: psycopg.Connection[Any],
    scale: Scale,
    *,
    seed: int,
    progress: bool,
    data: Dataset | None = None,
    serial_builds: bool = True,
) -> Populated:
    """Load ``data`` (else the data set generated at ``scale``) into ``dbname`` (at head,
    owned by ``owner``'s login), with its HNSW indexes rebuilt and its statistics fresh."""
    ensure_login_members(owner, BENCH_LOGINS, server.password or "")
    drop_hnsw_indexes(owner)

    generating = time.perf_counter()
    if data is None:
        _say(f"generating the {scale.name} data set")
        data = generate(scale, seed=seed)
    generate_seconds = time.perf_counter() - generating

    _say("loading (staging COPY, then INSERT ... SELECT as admin_role)")
    with psycopg.connect(conninfo(server, dbname, BENCH_LOGINS[ADMIN_ROLE])) as admin:
        register_vector(admin)
        loading = time.perf_counter()
        loads = load(admin, data, progress=progress)
        load_seconds = time.perf_counter() - loading
    modes = "serial, then parallel" if serial_builds else "parallel"
    _say(f"building the HNSW indexes ({modes}; maintenance_work_mem {MAINTENANCE_WORK_MEM})")
    index_seconds = build_hnsw_indexes(owner, compare_serial=serial_builds)
    sizes = relation_sizes(owner)
    vacuum_analyze(owner)
    return Populated(data, loads, generate_seconds, load_seconds, index_seconds, sizes)


def _standbys(options: Options) -> tuple[concurrency.Target, ...]:
    """The hot standbys among the targets, refused before anything is created unless
    the mix is read-only."""
    return replica.standbys(
        options.concurrency_targets,
        options.server.username or "",
        options.server.password or "",
        read_only=options.concurrency_read_only,
    )


def _measure_concurrency(
    options: Options,
    dbname: str,
    admin: psycopg.Connection[Any],
    data: Dataset,
    standbys: tuple[concurrency.Target, ...],
) -> dict[str, Any] | None:
    """The pgbench mix at each client count and target, when asked for; with a standby
    among the targets, its replication lag while each target ran."""
    if not options.concurrency_targets:
        return None
    _say("throughput under concurrency: pgbench, the app and the baseline alternating")
    owner_login, password = options.server.username or "", options.server.password or ""
    with psycopg.connect(conninfo(options.server, dbname)) as owner:
        register_vector(owner)
        concurrency.make_picks(owner, admin, data)

    def measure() -> list[concurrency.Run]:
        return concurrency.measure(
            options.concurrency_targets,
            dbname,
            BENCH_LOGINS,
            password,
            clients=options.concurrency_clients,
            repetitions=options.concurrency_repetitions,
            seconds=options.concurrency_seconds,
            read_only=options.concurrency_read_only,
        )

    throughput: dict[str, Any] = {
        "seconds": options.concurrency_seconds,
        "repetitions": options.concurrency_repetitions,
        "read_only": options.concurrency_read_only,
        "targets": {
            target.name: f"{target.host}:{target.port}" for target in options.concurrency_targets
        },
    }
    if not standbys:
        runs = measure()
        throughput["rows"] = concurrency.summarise(runs)
        throughput["request_costs"] = concurrency.rls_cost_per_request(runs)
        return throughput
    standby = standbys[0]
    with (
        replica.connect(direct_target(options.server), dbname, owner_login, password) as on_primary,
        replica.wait_for_database(
            standby, dbname, owner_login, password, timeout=replica.REPLAY_TIMEOUT_SECONDS
        ) as on_standby,
    ):
        _say(f"waiting for {standby.name} to replay the benchmark's database")
        replica.replay_delay(on_primary, on_standby)
        with replica.LagSampler(on_primary, on_standby).running() as sampler:
            runs = measure()
    throughput["rows"] = concurrency.summarise(runs)
    throughput["request_costs"] = concurrency.rls_cost_per_request(runs)
    throughput["standby"] = standby.name
    throughput["replication_lag"] = replica.lag_per_run_group(sampler.samples, runs)
    return throughput


def _sweep_rows(sweep: list[SweepPoint]) -> list[dict[str, Any]]:
    return [
        {"ef_search": point.ef_search, "recall": point.recall, "latency": point.latency.summary()}
        for point in sweep
    ]


def run(options: Options, data: Dataset | None = None) -> dict[str, Any]:
    """Run the whole benchmark on ``data`` (else the generated set of ``options.scale``);
    the results (also written under ``options.output``)."""
    scale = data.scale if data is not None else options.scale
    started_at = datetime.now(UTC)
    started = time.perf_counter()
    standbys = _standbys(options)
    with benchmark_database(options.server, options.template, keep=options.keep) as dbname:
        _say(f"database {dbname}: alembic upgrade head, and its offline SQL with psql")
        migrations = measure_migrations(options, dbname)
        with psycopg.connect(conninfo(options.server, dbname)) as owner:
            facts = machine(owner)
            populated = populate(
                options.server,
                dbname,
                owner,
                scale,
                seed=options.seed,
                progress=options.progress,
                data=data,
                serial_builds=options.serial_builds,
            )
            data, loads = populated.data, populated.loads

        with app_and_admin(options.server, dbname) as (app, admin):
            _say("measuring the queries as the app and as the baseline, side by side")
            latency = measure_learner_workloads(
                app,
                admin,
                data,
                warmup=scale.warmup,
                repetitions=scale.repetitions,
                seed=options.seed,
            )
            _say("measuring recall@10 against exact scans")
            vector = measure_vector_quality(
                admin,
                data,
                queries=scale.recall_queries,
                ef_search_values=scale.ef_search_values,
                seed=options.seed,
            )
            _say("measuring inserts of a document with its chapters and keywords")
            insert = measure_insert(
                admin,
                data,
                warmup=min(scale.warmup, 10),
                repetitions=min(scale.repetitions, 200),
                seed=options.seed,
            )
            throughput = _measure_concurrency(options, dbname, admin, data, standbys)
            half = None
            if options.halfvec:
                _say("measuring a vector(768) HNSW index beside each shipped halfvec one")
                with psycopg.connect(conninfo(options.server, dbname)) as owner:
                    register_vector(owner)
                    half = halfvec.measure(
                        owner,
                        admin,
                        data,
                        queries=scale.recall_queries,
                        seed=options.seed,
                        build_seconds=populated.index_seconds,
                    )

    total_rows = sum(entry.rows for entry in loads if entry.table in _TABLES)
    results: dict[str, Any] = {
        "started_at": started_at.isoformat(timespec="seconds"),
        "duration_s": time.perf_counter() - started,
        "machine": facts,
        "scale": scale.as_dict(),
        "data": data.source,
        "seed": options.seed,
        "database": {"name": dbname, "kept": options.keep},
        "baseline": (
            "the same SQL as a login in admin_role, whose policies are USING (true):"
            " row-level security not applied; alternating with the app on one database"
        ),
        "load": {
            "generate_seconds": populated.generate_seconds,
            "seconds": populated.load_seconds,
            "total_rows": total_rows,
            "rows_per_second": total_rows / populated.load_seconds,
            "tables": [
                {
                    "table": entry.table,
                    "rows": entry.rows,
                    "seconds": entry.seconds,
                    "rows_per_second": entry.rows_per_second,
                }
                for entry in loads
            ],
        },
        "indexes": populated.index_seconds,
        "sizes": populated.sizes,
        "migrations": migrations,
        "latency": [
            {
                "name": measured.workload.name,
                "description": measured.workload.description,
                "design_ms": measured.workload.target.design_ms,
                "target_ms": measured.workload.target.target_ms,
                "same_rows": measured.workload.same_rows,
                "rows_mean": sum(measured.rows_returned) / max(len(measured.rows_returned), 1),
                "app": measured.app.summary(),
                "baseline": measured.admin.summary(),
                "rls_ratio_p50": measured.rls_ratio,
                "plans": {"app": measured.app_plan, "baseline": measured.admin_plan},
            }
            for measured in latency
        ],
        "other_latency": [
            {
                "name": "find_similar_documents over all documents (baseline)",
                "design_ms": 50,
                "target_ms": 15,
                "samples": vector.function_latency.summary(),
                "plan": vector.function_plan,
            },
            {
                "name": "insert a document, 2 chapters, 3 keywords (one transaction)",
                "design_ms": None,
                "target_ms": None,
                "samples": insert.summary(),
            },
        ],
        "vector": {
            "sweep": _sweep_rows(vector.sweep),
            "keyword_sweep": _sweep_rows(vector.keyword_sweep),
            "function_plan": vector.function_plan,
            "function_recall": vector.function_recall,
            "function_latency": vector.function_latency.summary(),
            "course_keyword_recall": vector.course_keyword_recall,
            "course_keyword_full_share": vector.course_keyword_full_share,
            "course_keyword_latency": vector.course_keyword_latency.summary(),
        },
        "targets": _targets(latency, vector, insert),
    }
    if half is not None:
        results["halfvec"] = half
    if throughput is not None:
        results["concurrency"] = throughput
    results["files"] = {k: str(v) for k, v in report.write(results, options.output).items()}
    return results


_TABLES = {
    "users",
    "user_profiles",
    "courses",
    "course_documents",
    "processed_documents",
    "chapters",
    "keywords",
    "relationships",
    "chapter_complexity",
    "user_progress",
    "user_annotations",
    "analogy_feedback",
}
