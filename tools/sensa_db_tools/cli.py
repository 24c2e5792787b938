"""``sensa-db``: the database chores that are not Alembic's.

Alembic keeps its own commands (``alembic upgrade head``, ``alembic check``,
``alembic history``); this tool adds the rest, each with ``--help``. A new
chore is a function ``add_<name>(subparsers)`` registering its parser with a
``handler``, listed in ``SUBCOMMANDS``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import URL, pool

from sensa_db.database import DatabaseURLError, make_engine, resolve_database_url
from sensa_db.migration_history import verify
from sensa_db_tools import local_cluster
from sensa_db_tools.migration_lint import LintSetupError, lint
from sensa_db_tools.schema_docs import render_schema_docs
from sensa_db_tools.seeds import LIVE_USER_THRESHOLD, ProductionGuardError, seed

if TYPE_CHECKING:
    from sensa_db_tools.benchmark.scale import Scale

Handler = Callable[[argparse.Namespace], int]
SubParsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"

# Where the package sits in a checkout of the repository (an editable
# install); an installed wheel has no scripts/ or alembic/ beside it.
CHECKOUT_ROOT = Path(__file__).resolve().parents[2]


class UsageError(RuntimeError):
    """The command cannot run as asked; the message says what to do instead."""


def alembic_config_path(path: str | None) -> Path:
    """``path``, else ``$ALEMBIC_CONFIG``, else ./alembic.ini: the way alembic itself chooses."""
    chosen = Path(path or os.environ.get("ALEMBIC_CONFIG") or "alembic.ini")
    if not chosen.is_file():
        raise UsageError(
            f"no Alembic configuration at {chosen}: run from the repository's root or pass -c PATH"
        )
    return chosen


def alembic_config(path: str | None) -> Config:
    config = Config(str(alembic_config_path(path)))
    config.attributes["configure_logger"] = False
    return config


def _add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-c",
        "--config",
        metavar="PATH",
        help="alembic.ini to use (default: $ALEMBIC_CONFIG, else ./alembic.ini)",
    )


def _add_url_option(parser: argparse.ArgumentParser) -> None:
    # One spelling for every subcommand (tests/test_cli.py holds them to it);
    # alembic itself keeps its own -x url=.
    parser.add_argument(
        "--database-url",
        help="database URL (default: $DATABASE_URL, a Secrets Manager secret or an RDS IAM"
        " token, as sensa_db.database resolves them)",
    )


def _verify(args: argparse.Namespace) -> int:
    config = alembic_config(args.config)
    script = ScriptDirectory.from_config(config)
    engine = make_engine(args.database_url, poolclass=pool.NullPool, name_connection_failures=True)
    try:
        with engine.connect() as connection:
            report = verify(script, connection)
    finally:
        engine.dispose()
    for problem in report.problems:
        print(f"FAIL {problem}", file=sys.stderr)
    if not report.ok:
        print(
            f"sensa-db verify: {len(report.problems)} problem(s); see"
            " docs/MIGRATION_GUIDELINES.md ('Never edit an applied revision')",
            file=sys.stderr,
        )
        return 1
    print(f"ok: {len(report.checked)} applied revision(s) match their files and migrations_log")
    return 0


def add_verify(subparsers: SubParsers) -> None:
    parser = subparsers.add_parser(
        "verify",
        help="check the database's migration history against the revision files",
        description=(
            "Flyway's validate for Alembic: fails, naming the revision, when an applied"
            " revision's file was edited, renamed or is missing, when the database is at a"
            " revision this code does not have, or when migrations_log and alembic_version"
            " disagree. Run it before `alembic upgrade head` in a deploy."
        ),
    )
    _add_config_option(parser)
    _add_url_option(parser)
    parser.set_defaults(handler=_verify)


def _lint_migrations(args: argparse.Namespace) -> int:
    try:
        return lint(
            alembic_config_path(args.config),
            squawk_config=Path(args.squawk_config) if args.squawk_config else None,
            progress=lambda line: print(line, file=sys.stderr, flush=True),
        )
    except LintSetupError as exc:
        raise UsageError(str(exc)) from None


def add_lint_migrations(subparsers: SubParsers) -> None:
    parser = subparsers.add_parser(
        "lint-migrations",
        help="run squawk over the SQL of every revision",
        description=(
            "Renders each revision on its own (alembic upgrade <previous>:<revision> --sql)"
            " and lints it with squawk under .squawk.toml, whose every excluded rule says why."
            " Fails on, among others, a NOT NULL column added without a default and an index"
            " built without CONCURRENTLY on an existing table. Needs no database."
        ),
    )
    _add_config_option(parser)
    parser.add_argument(
        "--squawk-config",
        metavar="PATH",
        help="squawk configuration (default: .squawk.toml beside alembic.ini)",
    )
    parser.set_defaults(handler=_lint_migrations)


def _docs(args: argparse.Namespace) -> int:
    output = Path(args.output)
    rendered = render_schema_docs()
    if args.check:
        if not output.is_file() or output.read_text() != rendered:
            print(
                f"sensa-db docs: {output} is out of date: run `sensa-db docs` and commit it",
                file=sys.stderr,
            )
            return 1
        print(f"ok: {output} is up to date")
        return 0
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(rendered)
    print(f"wrote {output}")
    return 0


def add_docs(subparsers: SubParsers) -> None:
    parser = subparsers.add_parser(
        "docs",
        help="generate the schema reference (docs/SCHEMA.md)",
        description=(
            "Writes the reference of every table, column, constraint, index, enum, function,"
            " trigger and policy, from the models and the package's SQL. Needs no database."
        ),
    )
    parser.add_argument(
        "--output", default="docs/SCHEMA.md", metavar="PATH", help="default: docs/SCHEMA.md"
    )
    parser.add_argument(
        "--check", action="store_true", help="write nothing; fail when the file is out of date"
    )
    parser.set_defaults(handler=_docs)


def _up(args: argparse.Namespace) -> int:
    up_script = CHECKOUT_ROOT / "scripts" / "up.sh"
    if not up_script.is_file():
        raise UsageError(
            "`sensa-db up` prepares a local PostgreSQL from a checkout of the repository"
            " (scripts/up.sh), and this installation has none: clone the repository and run"
            " it there, or point DATABASE_URL at a database and run `alembic upgrade head`"
        )
    return subprocess.run([str(up_script)], cwd=CHECKOUT_ROOT, check=False).returncode  # noqa: S603


def add_up(subparsers: SubParsers) -> None:
    parser = subparsers.add_parser(
        "up",
        help="local PostgreSQL 15 with the extensions, migrated to head and seeded",
        description=(
            "Runs the checkout's scripts/up.sh: installs and starts PostgreSQL 15 with"
            " pgvector, PostGIS and pg_trgm if needed, creates the owner role and databases,"
            " then `alembic upgrade head` and `sensa-db seed`. Idempotent. Settings:"
            " SENSA_PGPORT, SENSA_PGUSER, SENSA_PGPASSWORD, SENSA_PGDATABASE (see"
            " scripts/setup.sh)."
        ),
    )
    parser.set_defaults(handler=_up)


def _seed(args: argparse.Namespace) -> int:
    engine = make_engine(args.database_url, poolclass=pool.NullPool, name_connection_failures=True)
    try:
        with engine.begin() as connection:
            report = seed(connection, progress=lambda step: print(f"seeding {step}", flush=True))
    except ProductionGuardError as exc:
        raise UsageError(str(exc)) from None
    finally:
        engine.dispose()
    if report.total == 0:
        print("ok: the development data was already there; nothing added")
    else:
        added = ", ".join(f"{table} {count}" for table, count in report.inserted.items() if count)
        print(f"ok: added {report.total} rows ({added})")
    return 0


def add_seed(subparsers: SubParsers) -> None:
    parser = subparsers.add_parser(
        "seed",
        help="load the development data (idempotent; refuses production)",
        description=(
            "Loads a small world that exercises the whole schema: learners of every learning"
            " style and role, courses (one empty, one archived), documents in every processing"
            " status, concept maps with embeddings, feedback that reaches consensus, progress"
            " with a streak and badges. A second run adds nothing. Refuses when SENSA_ENV,"
            " ENVIRONMENT or APP_ENV says production, when the host is an RDS endpoint, when"
            " the database is named like production, or when it holds more than"
            f" {LIVE_USER_THRESHOLD} users of its own."
        ),
    )
    _add_url_option(parser)
    parser.set_defaults(handler=_seed)


def _benchmark_server(explicit: str | None) -> URL:
    """The given or configured database's server, else (on a fresh clone, with no
    database configured) the local cluster scripts/setup.sh prepares."""
    try:
        server = resolve_database_url(explicit)
    except DatabaseURLError:
        if explicit is not None:
            raise
        server = local_cluster.server_from_environment()
    # A refused login is one line here, not a traceback from deep in a run.
    engine = make_engine(server, poolclass=pool.NullPool, name_connection_failures=True)
    try:
        with engine.connect():
            pass
    finally:
        engine.dispose()
    return server


def _add_data_set_options(
    parser: argparse.ArgumentParser, *, quick_help: str, default_scale: float
) -> None:
    """The options of the commands that load the benchmark's data set into a throwaway
    database of their own: its size, the server, the template, keep, seed, progress."""
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help=quick_help)
    size.add_argument(
        "--scale",
        type=float,
        default=default_scale,
        metavar="FACTOR",
        help=f"multiply every row count of the default data set (default: {default_scale:g})",
    )
    parser.add_argument(
        "--database-url",
        help="the server to create the throwaway database on, as its owner (default:"
        " $DATABASE_URL, else the local cluster of scripts/setup.sh); its own database is"
        " never written to",
    )
    parser.add_argument(
        "--template",
        default=local_cluster.EXTENSIONS_TEMPLATE,
        help="the database to clone, holding the extensions (default: sensa_template)",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the throwaway database instead of dropping it"
    )
    parser.add_argument("--seed", type=int, default=7, help="the data set's random seed")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    _add_config_option(parser)


def _scale(args: argparse.Namespace) -> Scale:
    from sensa_db_tools.benchmark.scale import Scale

    try:
        return Scale.quick() if args.quick else Scale.default(args.scale)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _benchmark(args: argparse.Namespace) -> int:
    try:
        from sensa_db_tools.benchmark import report
        from sensa_db_tools.benchmark.replica import StandbyNeedsReadOnlyMixError
        from sensa_db_tools.benchmark.runner import Options, run
        from sensa_db_tools.benchmark.workloads import WrongAnswerError
    except ImportError as exc:
        raise UsageError(
            f"the benchmark needs the bench extra ({exc.name} is missing):"
            " pip install -e './tools[bench]'"
        ) from None
    scale = _scale(args)
    if (args.real or args.scale_curve) and args.quick:
        raise UsageError("--real and --scale-curve choose their own sizes: drop --quick")
    server = _benchmark_server(args.database_url)
    options = Options(
        scale=scale,
        server=server,
        alembic_ini=alembic_config_path(args.config),
        output=Path(args.output),
        template=args.template,
        keep=args.keep,
        seed=args.seed,
        progress=not args.no_progress,
        concurrency_targets=_concurrency_targets(args, server),
        concurrency_seconds=args.concurrency_seconds,
        concurrency_repetitions=args.concurrency_repetitions,
        concurrency_clients=_client_counts(args.concurrency_clients),
        concurrency_read_only=args.read_only,
        halfvec=args.halfvec,
    )
    if args.scale_curve:
        from sensa_db_tools.benchmark import scale_curve

        sizes = scale_curve.sizes_between(args.scale_curve_min, args.scale_curve_max)
        if not sizes:
            raise UsageError("--scale-curve-min is above --scale-curve-max: no size is left")
        try:
            scale_curve.run_curve(options, sizes)
        except WrongAnswerError as exc:
            print(f"sensa-db benchmark: wrong result: {exc}", file=sys.stderr)
            return 1
        print((options.output / scale_curve.MARKDOWN_NAME).read_text())
        return 0
    if args.revisions:
        from sensa_db_tools.benchmark import revision_ab

        before, after = args.revisions
        try:
            revision_ab.run_ab(
                options,
                before,
                after,
                repetitions=args.revisions_repetitions,
                pgbench_clients=args.revisions_pgbench_clients,
                real_paragraphs=args.real_paragraphs if args.real else None,
            )
        except WrongAnswerError as exc:
            print(f"sensa-db benchmark: wrong result: {exc}", file=sys.stderr)
            return 1
        print((options.output / revision_ab.MARKDOWN_NAME).read_text())
        return 0
    if args.real:
        from sensa_db_tools.benchmark.comparison import MARKDOWN_NAME, run_real

        try:
            run_real(options, args.real_paragraphs)
        except WrongAnswerError as exc:
            print(f"sensa-db benchmark: wrong result: {exc}", file=sys.stderr)
            return 1
        print((options.output / MARKDOWN_NAME).read_text())
        return 0
    try:
        results = run(options)
    except StandbyNeedsReadOnlyMixError as exc:
        raise UsageError(str(exc)) from None
    except WrongAnswerError as exc:
        print(f"sensa-db benchmark: wrong result: {exc}", file=sys.stderr)
        return 1
    print(report.render_markdown(results))
    for kind, path in results["files"].items():
        print(f"wrote {kind}: {path}", file=sys.stderr)
    return 0


def _concurrency_targets(args: argparse.Namespace, server: URL) -> tuple[Any, ...]:
    """``--concurrency``'s targets: the server itself, then each ``--target NAME=HOST:PORT``."""
    if not args.concurrency:
        return ()
    from sensa_db_tools.benchmark.concurrency import Target
    from sensa_db_tools.benchmark.runner import direct_target

    targets = [direct_target(server)]
    for spec in args.target:
        name, _, address = spec.partition("=")
        host, _, port = address.rpartition(":")
        if not (name and host and port.isdigit()):
            raise UsageError(
                f"--target {spec!r}: expected NAME=HOST:PORT, e.g. pgbouncer=127.0.0.1:6432"
            )
        targets.append(Target(name, host, int(port)))
    return tuple(targets)


def _client_counts(spec: str) -> tuple[int, ...]:
    counts = tuple(int(part) for part in spec.split(",") if part.strip().isdigit())
    if not counts or len(counts) != len(spec.split(",")) or min(counts) < 1:
        raise UsageError(
            f"--concurrency-clients {spec!r}: expected positive counts, e.g. 1,4,16,64"
        )
    return counts


def add_benchmark(subparsers: SubParsers) -> None:
    parser = subparsers.add_parser(
        "benchmark",
        help="load a realistic data set into a throwaway database and measure the schema",
        description=(
            "Creates its own database from the extensions template, runs `alembic upgrade"
            " head` there (timed, beside its offline SQL applied with psql), loads 1,000"
            " learners, 5,000 courses, 100,000 processed documents and 300,000 keywords with"
            " clustered 768-dimension embeddings, builds the HNSW indexes, then measures"
            " query latency (p50/p95/p99) as the application and without row-level"
            " security, recall@10 of the vector searches over hnsw.ef_search, and inserts."
            " Writes benchmark.json, benchmark.md and recall_vs_latency.png and prints the"
            " table. Exits 1 if a query returns a wrong answer. Needs the bench extra"
            " (numpy, matplotlib) and psql."
        ),
    )
    _add_data_set_options(
        parser,
        quick_help="a smoke-test size (seconds): every step, checked, with few repetitions",
        default_scale=1.0,
    )
    parser.add_argument(
        "--real",
        action="store_true",
        help="real embeddings: the PostgreSQL and Python manuals (apt-get install"
        " postgresql-doc-15 python3-doc) embedded by all-MiniLM-L6-v2 (the bench-real extra;"
        " cached in ~/.cache/sensa-db), beside a synthetic set of as many documents",
    )
    parser.add_argument(
        "--halfvec",
        action="store_true",
        help="also measure a vector(768) HNSW index beside each shipped halfvec(768) one"
        " (--real does)",
    )
    parser.add_argument(
        "--scale-curve",
        action="store_true",
        help="the whole benchmark at 10,000 and 100,000 documents (and 1,000,000, with"
        " 1,000,000 keywords, with --scale-curve-max 1000000: hours), tabled and plotted",
    )
    parser.add_argument(
        "--scale-curve-max",
        type=int,
        default=100_000,
        metavar="DOCUMENTS",
        help="the largest size of --scale-curve: 100000 (default) or 1000000",
    )
    parser.add_argument(
        "--scale-curve-min",
        type=int,
        default=10_000,
        metavar="DOCUMENTS",
        help="the smallest size of --scale-curve: 10000 (default), 100000 or 1000000, e.g."
        " the 1,000,000 point alone with --scale-curve-max 1000000 --scale-curve-min 1000000",
    )
    parser.add_argument(
        "--concurrency",
        action="store_true",
        help="also drive the API's query mix with pgbench at 1, 4, 16 and 64 clients, as the"
        " app and without row-level security, alternating (needs pgbench)",
    )
    parser.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="NAME=HOST:PORT",
        help="another address for --concurrency, e.g. pgbouncer=127.0.0.1:6432 (repeatable)",
    )
    parser.add_argument(
        "--read-only",
        action="store_true",
        help="--concurrency without the mix's write (progress heartbeat), so that a hot"
        " standby can take it, e.g. --read-only --target standby=127.0.0.1:5433; the"
        " standby's replication lag is sampled meanwhile",
    )
    parser.add_argument(
        "--concurrency-clients",
        default="1,4,16,64",
        metavar="N,N,...",
        help="pgbench client counts for --concurrency (default: 1,4,16,64)",
    )
    parser.add_argument(
        "--concurrency-seconds", type=int, default=10, help="seconds per pgbench run (default: 10)"
    )
    parser.add_argument(
        "--concurrency-repetitions",
        type=int,
        default=3,
        help="alternating repetitions per role, target and client count (default: 3)",
    )
    parser.add_argument(
        "--revisions",
        nargs=2,
        metavar=("BEFORE", "AFTER"),
        help="the queries at two revisions on the same data: one populated database cloned"
        " twice, each clone downgraded to its revision, measured alternating; p50 per query"
        " with a 95%% CI of the difference (revision_ab.md)",
    )
    parser.add_argument(
        "--revisions-repetitions",
        type=int,
        default=5,
        metavar="N",
        help="--revisions: alternating repetitions (default: 5)",
    )
    parser.add_argument(
        "--revisions-pgbench-clients",
        type=int,
        metavar="N",
        help="--revisions: also the pgbench API mix's TPS at N clients"
        " (--concurrency-seconds each)",
    )
    parser.add_argument(
        "--real-paragraphs",
        type=int,
        default=30_500,
        metavar="N",
        help="--real: whole pages of the manuals up to N paragraphs (default: 30500)",
    )
    parser.add_argument(
        "--output",
        default="benchmarks/results",
        metavar="DIR",
        help="where to write the results (default: benchmarks/results)",
    )
    parser.set_defaults(handler=_benchmark)


# The revision before the concept-map owner revisions: the range the lock-budget
# report in docs/OPERATIONS.md covers.
LOCK_BUDGET_FROM = "a6f7b47487af"


def _lock_budget(args: argparse.Namespace) -> int:
    try:
        from sensa_db_tools.benchmark.lock_budget import (
            MeasureOptions,
            render_markdown,
            run_lock_budget,
        )
    except ImportError as exc:
        raise UsageError(
            f"the lock budget needs the bench extra ({exc.name} is missing):"
            " pip install -e './tools[bench]'"
        ) from None
    scale = _scale(args)
    if args.clients < 1 or args.interval_ms <= 0 or args.budget_seconds <= 0:
        raise UsageError("--clients must be at least 1; --interval-ms and --budget-seconds > 0")
    report = run_lock_budget(
        _benchmark_server(args.database_url),
        alembic_config_path(args.config),
        scale,
        start=args.start,
        stop=args.stop,
        template=args.template,
        keep=args.keep,
        seed=args.seed,
        progress=not args.no_progress,
        options=MeasureOptions(
            clients=args.clients,
            interval_seconds=args.interval_ms / 1000,
            default_budget_seconds=args.budget_seconds,
        ),
    )
    print(render_markdown(report))
    return 0 if report.ok else 1


def add_lock_budget(subparsers: SubParsers) -> None:
    parser = subparsers.add_parser(
        "lock-budget",
        help="apply revisions to a populated throwaway database under application traffic",
        description=(
            "Creates its own database from the extensions template, migrates it to head, loads"
            " the benchmark's data set at the chosen scale, downgrades to --from, then applies"
            " each revision up to --to with `alembic upgrade <revision>` while clients of the"
            " app role read concept maps, send progress heartbeats and insert keywords, and"
            " pg_locks is sampled. Prints per revision its duration, the longest blocking lock"
            " per table, the workload's p99/max before and during, its errors and the lock"
            " retries. Exits 1 when a revision exceeds its budget (1 s per table with rows,"
            " unless the revision declares LOCK_BUDGET_EXCEPTIONS), fails, or the workload"
            " meets a deadlock, a serialization failure or any other error."
        ),
    )
    _add_data_set_options(parser, quick_help="the CI size (seconds to load)", default_scale=0.1)
    parser.add_argument(
        "--from",
        dest="start",
        default=LOCK_BUDGET_FROM,
        metavar="REVISION",
        help=f"the revision the data waits at (default: {LOCK_BUDGET_FROM}, before the"
        " concept-map owner revisions)",
    )
    parser.add_argument(
        "--to", dest="stop", default="head", metavar="REVISION", help="default: head"
    )
    parser.add_argument("--clients", type=int, default=4, help="workload clients (default: 4)")
    parser.add_argument(
        "--interval-ms", type=float, default=25, help="pg_locks sampling period (default: 25)"
    )
    parser.add_argument(
        "--budget-seconds",
        type=float,
        default=1.0,
        help="the default budget per table with rows (default: 1)",
    )
    parser.set_defaults(handler=_lock_budget)


def _kill_sweep(args: argparse.Namespace) -> int:
    from sensa_db_tools.benchmark.kill_sweep import WAYS, render_markdown
    from sensa_db_tools.benchmark.kill_sweep import sweep as run_sweep

    if args.every < 1:
        raise UsageError("--every must be at least 1")
    outcomes = run_sweep(
        _benchmark_server(args.database_url),
        alembic_config_path(args.config),
        every=args.every,
        ways=args.ways or WAYS,
        template=args.template,
        numbers=args.points,
    )
    print(render_markdown(outcomes))
    return 0 if all(outcome.ok for outcome in outcomes) else 1


def _point_range(value: str) -> range:
    first, _, last = value.partition("-")
    if not (first.isdigit() and last.isdigit() and 1 <= int(first) <= int(last)):
        raise argparse.ArgumentTypeError(f"{value!r} is not FIRST-LAST, as 1-40")
    return range(int(first), int(last) + 1)


def add_kill_sweep(subparsers: SubParsers) -> None:
    parser = subparsers.add_parser(
        "kill-sweep",
        help="kill `alembic upgrade head` at every statement boundary, then run it again",
        description=(
            "Builds a clean database at every revision boundary, from empty to head. For each"
            " SQL statement of those clean runs, clones the database at the revision's parent,"
            " upgrades it to the revision and kills the runner just before that statement"
            " (SIGKILL of the process, and pg_terminate_backend of its connection), checks that"
            " no session or lock is left and migrations_log agrees with alembic_version, runs"
            " the upgrade again and compares the normalised `pg_dump --schema-only` with the"
            " clean run's at that revision. Exits 1 if any kill point fails. About 5 s per kill"
            " on a busy 2-core machine; the two ways can run as two processes (--way)."
        ),
    )
    parser.add_argument(
        "--every",
        type=int,
        default=1,
        metavar="N",
        help="kill at every N-th statement (and at the first backfill, validation and"
        " concurrent build) instead of at every statement",
    )
    parser.add_argument(
        "--points",
        type=_point_range,
        metavar="FIRST-LAST",
        help="only the kill points numbered FIRST to LAST (as the progress lines number"
        " them), to share a sweep between processes",
    )
    parser.add_argument(
        "--way", dest="ways", action="append", choices=("sigkill", "terminate"),
        help="how to kill (repeatable; default: both)",
    )  # fmt: skip
    parser.add_argument(
        "--database-url",
        help="the server to create the throwaway databases on, as its owner (default:"
        " $DATABASE_URL, else the local cluster of scripts/setup.sh)",
    )
    parser.add_argument(
        "--template",
        default=local_cluster.EXTENSIONS_TEMPLATE,
        help="the database to clone, holding the extensions (default: sensa_template)",
    )
    _add_config_option(parser)
    parser.set_defaults(handler=_kill_sweep)


def _backup(args: argparse.Namespace) -> int:
    from sensa_db_tools.backup import BackupError, back_up

    try:
        report = back_up(args.database_url, Path(args.output))
    except BackupError as exc:
        raise UsageError(str(exc)) from None
    rows = sum(entry["rows"] for entry in report.tables.values())
    print(
        f"ok: {report.archive} ({len(report.tables)} tables, {rows} rows);"
        f" manifest {report.manifest}"
    )
    return 0


def add_backup(subparsers: SubParsers) -> None:
    parser = subparsers.add_parser(
        "backup",
        help="a logical dump as a member of sensa_backup, with a manifest to prove a restore",
        description=(
            "Connects as a member of sensa_backup (never the owner: row-level security is"
            " FORCEd on it) and runs pg_dump --enable-row-security --format=custom on one"
            " exported snapshot, from which it also writes OUTPUT.manifest.json: every"
            " table's row count and order-independent checksum, the row-level-security"
            " flags, policies, owners and privileges, and the revision. Needs pg_dump 15 or"
            " later on PATH."
        ),
    )
    parser.add_argument("output", metavar="OUTPUT", help="the archive to write, e.g. sensa.dump")
    _add_url_option(parser)
    parser.set_defaults(handler=_backup)


def _restore(args: argparse.Namespace) -> int:
    from sensa_db_tools.backup import BackupError, manifest_path, read_manifest, restore

    archive = Path(args.archive)
    script = ScriptDirectory.from_config(alembic_config(args.config))
    try:
        manifest = read_manifest(Path(args.manifest) if args.manifest else manifest_path(archive))
        report = restore(
            archive,
            manifest,
            resolve_database_url(args.database_url),
            script,
            template=args.template,
            into=args.into,
            jobs=args.jobs,
        )
    except BackupError as exc:
        print(f"sensa-db restore: {exc}", file=sys.stderr)
        return 1
    print(f"restored into {report.database}")
    for skipped in report.skipped:
        print(f"left out (harmless): {skipped.description}: {skipped.reason}")
    for name, ok, detail in report.checks:
        print(f"{'ok  ' if ok else 'FAIL'} {name}: {detail}", file=sys.stdout if ok else sys.stderr)
    if not report.ok:
        print(
            f"sensa-db restore: {report.database} differs from the backup's source (kept for"
            " inspection; drop it when done)",
            file=sys.stderr,
        )
        return 1
    return 0


def add_restore(subparsers: SubParsers) -> None:
    parser = subparsers.add_parser(
        "restore",
        help="restore a backup into a new database and prove it against the manifest",
        description=(
            "As the owner: creates a new database from the extensions template, restores the"
            " archive with pg_restore --exit-on-error (leaving out, and naming, the entries"
            " that fail harmlessly there: the template's extensions, their comments,"
            " PostGIS's spatial_ref_sys rows), carries the database-level privileges, then"
            " proves the restore: every table's row count and checksum equal the manifest's,"
            " `sensa-db verify` passes, row-level-security flags, policies, owners and"
            " privileges equal the source's (and, at the code's head, what sensa_db declares),"
            " sequences are past their columns' values, and a learner session sees exactly"
            " its learner's rows. Exits 1, keeping the database, on any error or difference."
        ),
    )
    parser.add_argument("archive", metavar="ARCHIVE", help="an archive `sensa-db backup` wrote")
    parser.add_argument(
        "--manifest", metavar="PATH", help="the backup's manifest (default: ARCHIVE.manifest.json)"
    )
    parser.add_argument(
        "--into", metavar="NAME", help="the new database's name (default: sensa_restore_<random>)"
    )
    parser.add_argument(
        "--template",
        default=local_cluster.EXTENSIONS_TEMPLATE,
        help="the database to clone, holding the extensions (default: sensa_template)",
    )
    parser.add_argument(
        "--jobs", type=int, default=1, metavar="N", help="pg_restore's parallel jobs (default: 1)"
    )
    _add_url_option(parser)
    _add_config_option(parser)
    parser.set_defaults(handler=_restore)


def _export_learner(args: argparse.Namespace) -> int:
    from sensa_db_tools.backup import BackupError, export_learner

    try:
        user_id = uuid.UUID(args.user_id)
    except ValueError:
        raise UsageError(f"{args.user_id!r} is not a user_id (a UUID)") from None
    try:
        exported = export_learner(args.database_url, user_id)
    except BackupError as exc:
        raise UsageError(str(exc)) from None
    rendered = json.dumps(exported, indent=2, sort_keys=True) + "\n"
    if args.output:
        Path(args.output).write_text(rendered)
        rows = sum(len(rows) for rows in exported["tables"].values())
        print(f"ok: {rows} rows of learner {user_id} in {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(rendered)
    return 0


def add_export_learner(subparsers: SubParsers) -> None:
    parser = subparsers.add_parser(
        "export-learner",
        help="one learner's rows of the twelve learner tables, as JSON (the right of access)",
        description=(
            "As a member of sensa_backup or admin_role, in one snapshot: every row whose"
            " user_id is USER_ID in users, user_profiles, courses, course_documents,"
            " processed_documents, chapters, keywords, relationships, chapter_complexity,"
            " user_annotations, user_progress and analogy_feedback, as JSON objects by table."
            " Refuses any other role (its policies would hide the rows) and an unknown learner."
        ),
    )
    parser.add_argument("user_id", metavar="USER_ID", help="the learner's users.user_id")
    parser.add_argument("--output", metavar="PATH", help="write the JSON here (default: stdout)")
    _add_url_option(parser)
    parser.set_defaults(handler=_export_learner)


SUBCOMMANDS: tuple[Callable[[SubParsers], None], ...] = (
    add_up,
    add_verify,
    add_lint_migrations,
    add_docs,
    add_seed,
    add_backup,
    add_restore,
    add_export_learner,
    add_benchmark,
    add_lock_budget,
    add_kill_sweep,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sensa-db",
        description="Sensa Learn database chores that are not Alembic's own commands.",
    )
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    for add in SUBCOMMANDS:
        add(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except (UsageError, DatabaseURLError) as exc:
        print(f"sensa-db: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
