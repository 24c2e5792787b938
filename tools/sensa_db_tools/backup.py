"""Logical backups RDS allows, restores proved against their source, one learner's export.

Nobody is a superuser on RDS and row-level security is FORCEd, so the owner (the
RDS master user) sees no learner row: a logical dump is taken as a member of
``sensa_backup``, whose policies read every row and whose grants read every
table (sensa_db/security.py, docs/OPERATIONS.md).

:func:`back_up` opens a read-only repeatable-read transaction, exports its
snapshot, and runs ``pg_dump --enable-row-security --format=custom`` on that very
snapshot. From the same snapshot it writes the manifest beside the archive
(``<archive>.manifest.json``): every table's row count and order-independent
checksum, and the catalog a restore must reproduce (row-level-security flags,
policies, owners, privileges, the database's own privileges, the revision).

:func:`restore` creates a new database from the extensions template as the
owner, restores the archive into it, carries the database-level privileges
(neither ``CREATE DATABASE ... TEMPLATE`` nor a ``pg_restore`` without
``--create`` does), and :func:`prove` compares the result with the manifest.

:func:`export_learner` reads one learner's rows of the twelve learner tables as
JSON (the right of access).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import psycopg
from alembic.script import ScriptDirectory
from sqlalchemy import URL, Connection, Engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from sensa_db.database import make_engine, resolve_database_url
from sensa_db.migration_history import verify
from sensa_db.security import ADMIN_ROLE, APP_ROLE, BACKUP_ROLE, RLS_TABLES, TABLES_WITHOUT_RLS
from sensa_db.sql_entities import PGPolicy, load_entities
from sensa_db_tools import local_cluster
from sensa_db_tools.seeds import acting_as

MANIFEST_SUFFIX = ".manifest.json"
MANIFEST_FORMAT = 1
# Learners whose isolation a restore proves: those with the most rows.
LEARNERS_CHECKED = 3

Catalog = dict[str, Any]


class BackupError(RuntimeError):
    """A backup, restore or export that could not run or did not finish; the message says why."""


def manifest_path(archive: Path) -> Path:
    return archive.with_name(archive.name + MANIFEST_SUFFIX)


# The text form of a row is what the checksums hash: the same settings on both
# sides make it the same text for the same values. A pinned search_path makes
# policy expressions and function signatures print schema-qualified.
# A dump's transaction reads every table and waits while pg_dump runs: lifted for
# it alone, as pg_dump lifts them in its own session.
_LONG_TRANSACTION = (
    "SET LOCAL statement_timeout = 0",
    "SET LOCAL idle_in_transaction_session_timeout = 0",
)
_STABLE_TEXT = (
    "SET LOCAL search_path = pg_catalog",
    "SET LOCAL TimeZone = 'UTC'",
    "SET LOCAL DateStyle = 'ISO, YMD'",
    "SET LOCAL IntervalStyle = 'postgres'",
    "SET LOCAL extra_float_digits = 1",
    "SET LOCAL bytea_output = 'hex'",
)

_OWN = """
    c.relnamespace = 'public'::regnamespace
    AND NOT EXISTS (
        SELECT FROM pg_depend d
        WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
    )
"""
_OWN_FUNCTION = """
    p.pronamespace = 'public'::regnamespace
    AND NOT EXISTS (
        SELECT FROM pg_depend d
        WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
    )
"""
_GRANTEE = "coalesce(pg_get_userbyid(NULLIF(acl.grantee, 0)), 'PUBLIC')"

_OWN_TABLES = f"SELECT c.relname FROM pg_class c WHERE c.relkind IN ('r', 'p') AND {_OWN}"
_ROW_SECURITY = f"""
    SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity
    FROM pg_class c WHERE c.relkind IN ('r', 'p') AND {_OWN}
"""
_POLICIES = """
    SELECT tablename, policyname, permissive, array_to_string(roles, ','), cmd, qual, with_check
    FROM pg_policies WHERE schemaname = 'public'
"""
_OWNERS = f"""
    SELECT 'relation ' || c.relname, pg_get_userbyid(c.relowner)
    FROM pg_class c WHERE c.relkind IN ('r', 'p', 'S', 'v', 'm') AND {_OWN}
    UNION ALL
    SELECT 'function ' || p.oid::regprocedure::text, pg_get_userbyid(p.proowner)
    FROM pg_proc p WHERE {_OWN_FUNCTION}
    UNION ALL
    SELECT 'type ' || t.typname, pg_get_userbyid(t.typowner)
    FROM pg_type t WHERE t.typnamespace = 'public'::regnamespace AND t.typtype IN ('e', 'd')
"""
_PRIVILEGES = f"""
    SELECT 'relation ' || c.relname, {_GRANTEE}, acl.privilege_type
    FROM pg_class c,
         aclexplode(coalesce(c.relacl, acldefault(
             CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END::"char", c.relowner))) acl
    WHERE c.relkind IN ('r', 'p', 'S', 'v', 'm') AND {_OWN}
    UNION ALL
    SELECT 'column ' || c.relname || '.' || a.attname, {_GRANTEE}, acl.privilege_type
    FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attacl IS NOT NULL,
         aclexplode(a.attacl) acl
    WHERE {_OWN}
    UNION ALL
    SELECT 'function ' || p.oid::regprocedure::text, {_GRANTEE}, acl.privilege_type
    FROM pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) acl
    WHERE {_OWN_FUNCTION}
    UNION ALL
    SELECT 'schema public', {_GRANTEE}, acl.privilege_type
    FROM pg_namespace n, aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) acl
    WHERE n.nspname = 'public'
    UNION ALL
    -- An extension's functions taken from PUBLIC (PostGIS's statistics): restored by
    -- a REVOKE that only warns when the restoring login does not own them.
    SELECT 'extension function ' || p.oid::regprocedure::text, 'PUBLIC', 'no EXECUTE'
    FROM pg_proc p
    WHERE p.pronamespace = 'public'::regnamespace AND NOT ({_OWN_FUNCTION})
        AND NOT has_function_privilege('public', p.oid, 'EXECUTE')
"""
# Each sequence that numbers a column, with that column.
_OWNED_SEQUENCES = f"""
    SELECT c.relname, t.relname, a.attname
    FROM pg_class c
    JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid
        AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
    JOIN pg_class t ON t.oid = d.refobjid
    JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
    WHERE c.relkind = 'S' AND {_OWN}
"""


def _rows(connection: Connection, query: str) -> list[list[Any]]:
    return sorted([list(row) for row in connection.execute(text(query))], key=json.dumps)


def _stable_text(connection: Connection) -> None:
    for statement in _STABLE_TEXT:
        connection.execute(text(statement))


def own_tables(connection: Connection) -> list[str]:
    return sorted(connection.scalars(text(_OWN_TABLES)))


def fingerprint(connection: Connection, relation: str) -> dict[str, Any]:
    """The row count of ``relation`` (a table, or a parenthesised query) and an
    order-independent checksum of its rows.

    The checksum sums the first 64 bits of each row's md5, as a numeric: any
    order gives the same sum, a missing, added, duplicated or changed row a
    different one. Read under the caller's role and policies.
    """
    rows, checksum = connection.execute(
        text(
            "SELECT count(*), coalesce(sum(('x' || left(md5(t::text), 16))::bit(64)"
            f"::bigint::numeric), 0)::text FROM {relation} AS t"
        )
    ).one()
    return {"rows": rows, "checksum": checksum}


def table_fingerprints(connection: Connection) -> dict[str, dict[str, Any]]:
    """:func:`fingerprint` of every table of ours."""
    return {
        table: fingerprint(connection, f"public.{_quoted(table)}")
        for table in own_tables(connection)
    }


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def catalog(connection: Connection) -> Catalog:
    """What a restore must reproduce: row-level security, policies, owners, privileges."""
    return {
        "row_security": {
            name: [enabled, forced]
            for name, enabled, forced in connection.execute(text(_ROW_SECURITY))
        },
        "policies": _rows(connection, _POLICIES),
        "owners": _rows(connection, _OWNERS),
        "privileges": _rows(connection, _PRIVILEGES),
        "database_privileges": local_cluster.database_grants(
            # The same query the clones' privileges are copied with, on this session.
            cast("psycopg.Connection[Any]", connection.connection.driver_connection),
            connection.scalar(text("SELECT current_database()")),
        ),
    }


def _revision(connection: Connection) -> str | None:
    revision: str | None = connection.scalar(
        text("SELECT string_agg(version_num, ',') FROM public.alembic_version")
    )
    return revision


def _require_member(connection: Connection, roles: Sequence[str], purpose: str) -> None:
    if not any(
        connection.scalar(text("SELECT pg_has_role(current_user, :role, 'USAGE')"), {"role": r})
        for r in roles
    ):
        who = connection.scalar(text("SELECT current_user"))
        raise BackupError(
            f"{who} is not a member of {' or '.join(roles)}: {purpose}; connect as a login"
            " that is (docs/OPERATIONS.md, 'Logical backups')"
        )


@contextmanager
def _snapshot_transaction(engine: Engine) -> Iterator[Connection]:
    """A read-only repeatable-read transaction: every statement sees one snapshot."""
    with engine.connect() as connection:
        connection.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        try:
            yield connection
        finally:
            connection.rollback()


# Tables under row-level security that no policy opens whole to sensa_backup: its
# dump of them would hold only what some narrower policy shows, without an error.
_NARROWED_TABLES = f"""
    SELECT c.relname FROM pg_class c
    WHERE c.relkind IN ('r', 'p') AND c.relrowsecurity AND {_OWN}
        AND NOT EXISTS (
            SELECT FROM pg_policies p
            WHERE p.schemaname = 'public' AND p.tablename = c.relname
                AND p.permissive = 'PERMISSIVE' AND p.cmd IN ('SELECT', 'ALL')
                AND p.qual = 'true' AND p.roles && ARRAY['{BACKUP_ROLE}', 'public']::name[]
        )
"""


def _require_whole_reads(connection: Connection) -> None:
    narrowed = sorted(connection.scalars(text(_NARROWED_TABLES)))
    if narrowed:
        raise BackupError(
            f"no policy lets {BACKUP_ROLE} read every row of {', '.join(narrowed)}: a dump"
            " would silently miss rows (a revision must add one, as sensa_db/policies/backup.sql"
            " does for every learner table)"
        )


def libpq_environment(url: URL) -> dict[str, str]:
    """The environment that points pg_dump/pg_restore at ``url``, never its password on a
    command line. A URL without a password (RDS IAM) leaves libpq its own sources
    (PGPASSWORD, ~/.pgpass)."""
    variables = {
        "PGHOST": url.host,
        "PGPORT": str(url.port) if url.port else None,
        "PGUSER": url.username,
        "PGDATABASE": url.database,
        "PGPASSWORD": url.password,
        "PGSSLMODE": url.query.get("sslmode"),
        "PGSSLROOTCERT": url.query.get("sslrootcert"),
        "PGAPPNAME": "sensa-db backup",
    }
    environment = dict(os.environ)
    environment.update({name: str(value) for name, value in variables.items() if value})
    return environment


def _client(
    program: str, *arguments: str, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a PostgreSQL client program, its output captured; the caller reads its status."""
    found = shutil.which(program)
    if found is None:
        raise BackupError(f"{program} is not on PATH: install postgresql-client-15 (or later)")
    return subprocess.run(  # noqa: S603 - our own arguments, no shell
        [found, *arguments], env=env, capture_output=True, text=True, check=False
    )


@dataclass(frozen=True)
class BackupReport:
    archive: Path
    manifest: Path
    tables: Mapping[str, Mapping[str, Any]]


def back_up(database_url: str | URL | None, archive: Path) -> BackupReport:
    """Dump the database as a member of sensa_backup into ``archive``, with its manifest."""
    resolved = resolve_database_url(database_url)
    engine = make_engine(resolved, poolclass=NullPool, name_connection_failures=True)
    try:
        with _snapshot_transaction(engine) as connection:
            _require_member(
                connection, (BACKUP_ROLE,), "a dump reads every row through its policies"
            )
            _require_whole_reads(connection)
            for statement in _LONG_TRANSACTION:
                connection.execute(text(statement))
            snapshot = connection.scalar(text("SELECT pg_export_snapshot()"))
            # pg_dump imports the snapshot while this transaction holds it open.
            dumped = _client(
                "pg_dump",
                "--format=custom",
                "--enable-row-security",
                f"--snapshot={snapshot}",
                "--no-password",
                f"--file={archive}",
                env=libpq_environment(resolved),
            )
            if dumped.returncode != 0:
                raise BackupError(f"pg_dump failed: {dumped.stderr.strip()}")
            _stable_text(connection)
            manifest = {
                "format": MANIFEST_FORMAT,
                "database": resolved.database,
                "taken_at": datetime.now(UTC).isoformat(),
                "server_version": connection.scalar(text("SHOW server_version")),
                "revision": _revision(connection),
                "tables": table_fingerprints(connection),
                "catalog": catalog(connection),
            }
    finally:
        engine.dispose()
    written = manifest_path(archive)
    written.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return BackupReport(archive, written, manifest["tables"])


def read_manifest(path: Path) -> dict[str, Any]:
    try:
        manifest: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError:
        raise BackupError(
            f"no manifest at {path}: restore an archive `sensa-db backup` wrote, or pass"
            " --manifest PATH"
        ) from None
    if manifest.get("format") != MANIFEST_FORMAT:
        raise BackupError(f"{path}: manifest format {manifest.get('format')!r}, expected 1")
    return manifest


@dataclass(frozen=True)
class SkippedEntry:
    """An archive entry left out of a restore, and why doing so loses nothing."""

    entry: str
    reason: str

    @property
    def description(self) -> str:
        """The entry as its kind and name, without the archive's ids."""
        return " ".join(self.entry.split()[3:])


def _toc(archive: Path) -> list[str]:
    listed = _client("pg_restore", "--list", str(archive))
    if listed.returncode != 0:
        raise BackupError(f"{archive} is not a pg_dump archive: {listed.stderr.strip()}")
    return listed.stdout.splitlines()


def archived_rows(archive: Path, table: str) -> int:
    """How many rows of ``public.table`` the archive holds."""
    listed = _client(
        "pg_restore", "--data-only", "--schema=public", f"--table={table}", "--file=-", str(archive)
    )
    if listed.returncode != 0:
        raise BackupError(f"cannot read {table} in {archive}: {listed.stderr.strip()}")
    lines = listed.stdout.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith(f"COPY public.{table} ")]
    return sum(lines.index("\\.", start) - start - 1 for start in starts)


def harmless_entries(
    toc: Sequence[str], extensions: frozenset[str], spatial_ref_sys_rows: int
) -> list[SkippedEntry]:
    """The archive entries that fail, and harmlessly, in a database cloned from the
    extensions template, restoring as its (non-superuser) owner.

    - ``EXTENSION x``: x is in the database already (the template's); the
      archive would only repeat ``CREATE EXTENSION IF NOT EXISTS``.
    - ``COMMENT EXTENSION x``: only x's owner (the template's installer) may
      comment on it, and x carries its own comment.
    - ``TABLE DATA spatial_ref_sys`` holding no row: PostGIS dumps only the
      SRIDs added by hand to its own table, which the owner may not write.
      Holding some, the entry stays, and the restore fails on it: those rows
      must be added by their table's owner.
    """
    skipped = []
    for line in toc:
        words = line.split()
        if line.startswith(";") or len(words) < 6:
            continue
        kind = " ".join(words[3:5])
        if kind == "EXTENSION -" and words[5] in extensions:
            reason = f"extension {words[5]} already exists (the template's)"
        elif kind == "COMMENT -" and words[5:6] == ["EXTENSION"] and words[6] in extensions:
            reason = f"extension {words[6]} keeps its own comment; only its owner may change it"
        elif kind == "TABLE DATA" and words[5:7] == ["public", "spatial_ref_sys"]:
            if spatial_ref_sys_rows:
                continue
            reason = "no SRID was added to PostGIS's spatial_ref_sys; the extension fills it"
        else:
            continue
        skipped.append(SkippedEntry(line, reason))
    return skipped


def _require_roles(server: URL, roles: Sequence[str]) -> None:
    """Roles are the server's, not the archive's: those owning objects must exist first."""
    engine = make_engine(server, poolclass=NullPool, name_connection_failures=True)
    try:
        with engine.connect() as connection:
            existing = set(
                connection.scalars(
                    text("SELECT rolname FROM pg_roles WHERE rolname = ANY(:roles)"),
                    {"roles": list(roles)},
                )
            )
    finally:
        engine.dispose()
    missing = sorted(set(roles) - existing)
    if missing:
        raise BackupError(
            f"roles {', '.join(missing)} own objects in the archive and do not exist on this"
            " server: `alembic upgrade head` on a scratch database there creates them and"
            " makes the migrating login a member; restore as that login. Nothing was restored"
        )


@contextmanager
def _schema_create_for(
    owner: Connection, roles: Sequence[str], *, keep: set[str]
) -> Iterator[None]:
    """CREATE on schema public for ``roles`` while the block runs.

    ``ALTER ... OWNER TO r`` needs r to hold CREATE on the object's schema, as
    the revisions that hand functions to the definer roles do: granted for the
    restore only, and revoked even if it fails, but for the roles in ``keep``
    (those holding it in the source, which the archive grants it again).
    """
    lacking = [
        role
        for role in roles
        if not owner.scalar(
            text("SELECT has_schema_privilege(:role, 'public', 'CREATE')"), {"role": role}
        )
    ]
    for role in lacking:
        owner.execute(text(f"GRANT CREATE ON SCHEMA public TO {_quoted(role)}"))
    try:
        yield
    finally:
        for role in sorted(set(lacking) - keep):
            owner.execute(text(f"REVOKE CREATE ON SCHEMA public FROM {_quoted(role)}"))


@dataclass
class RestoreReport:
    database: str
    skipped: list[SkippedEntry] = field(default_factory=list)
    checks: list[tuple[str, bool, str]] = field(default_factory=list)

    def check(self, name: str, problems: Sequence[str], ok_detail: str) -> None:
        self.checks.append((name, not problems, "; ".join(problems) or ok_detail))

    @property
    def ok(self) -> bool:
        return all(ok for _, ok, _ in self.checks)


def restore(
    archive: Path,
    manifest: Mapping[str, Any],
    server: URL,
    script: ScriptDirectory,
    *,
    template: str = local_cluster.EXTENSIONS_TEMPLATE,
    into: str | None = None,
    jobs: int = 1,
) -> RestoreReport:
    """Restore ``archive`` into a new database on ``server`` (as its owner) and prove it.

    Raises :class:`BackupError` when pg_restore fails: every entry but the
    harmless ones runs with --exit-on-error. The new database is kept either
    way, named in the report or the error.
    """
    toc = _toc(archive)
    owners = sorted({name for _, name in manifest["catalog"]["owners"]})
    _require_roles(server, owners)
    dbname = into or f"sensa_restore_{uuid.uuid4().hex[:12]}"
    # CREATE DATABASE ... TEMPLATE and a pg_restore without --create carry no
    # GRANT ... ON DATABASE: the source's are granted from the manifest.
    local_cluster.create_database(
        server, template, name=dbname, privileges=manifest["catalog"]["database_privileges"]
    )
    target = server.set(database=dbname)
    report = RestoreReport(dbname)
    engine = make_engine(target, poolclass=NullPool, name_connection_failures=True)
    try:
        with engine.connect() as owner:
            owner.execution_options(isolation_level="AUTOCOMMIT")
            extensions = frozenset(owner.scalars(text("SELECT extname FROM pg_extension")))
            report.skipped = harmless_entries(
                toc, extensions, archived_rows(archive, "spatial_ref_sys")
            )
            holding_create = {
                grantee
                for target, grantee, privilege in manifest["catalog"]["privileges"]
                if target == "schema public" and privilege == "CREATE"
            }
            with (
                _schema_create_for(owner, owners, keep=holding_create),
                tempfile.TemporaryDirectory() as scratch,
            ):
                listing = Path(scratch) / "restore.list"
                left_out = {entry.entry for entry in report.skipped}
                listing.write_text("\n".join(line for line in toc if line not in left_out) + "\n")
                restored = _client(
                    "pg_restore",
                    "--exit-on-error",
                    "--no-password",
                    f"--jobs={jobs}",
                    f"--use-list={listing}",
                    f"--dbname={dbname}",
                    str(archive),
                    env=libpq_environment(target),
                )
            if restored.returncode != 0:
                raise BackupError(
                    f"pg_restore into {dbname} failed (the database is kept for inspection;"
                    f" drop it when done): {restored.stderr.strip()}"
                )
        try:
            prove(engine, manifest, script, report)
        except DBAPIError as exc:
            raise BackupError(
                f"could not read {dbname} to prove it (kept for inspection): {exc.orig}"
            ) from None
    finally:
        engine.dispose()
    return report


def prove(
    engine: Engine, manifest: Mapping[str, Any], script: ScriptDirectory, report: RestoreReport
) -> None:
    """Compare the restored database with the manifest; add each check to ``report``.

    Reads as the owner, acting as sensa_backup and as sensa_app through memberships
    granted inside one transaction, which is rolled back.
    """
    with engine.connect() as owner:
        history = verify(script, owner)
        owner.rollback()
        report.check(
            "sensa-db verify",
            [str(problem) for problem in history.problems],
            f"{len(history.checked)} applied revision(s) match their files",
        )
        transaction = owner.begin()
        try:
            _stable_text(owner)
            revision = _revision(owner)
            restored_catalog = catalog(owner)
            with acting_as(owner, BACKUP_ROLE):
                fingerprints = table_fingerprints(owner)
                sequences = _sequences_behind(owner)
                per_learner = _rows_per_learner(owner)
            isolation = _learner_isolation(owner, per_learner)
        finally:
            transaction.rollback()
    report.check(
        "revision",
        [] if revision == manifest["revision"] else [f"{revision} != {manifest['revision']}"],
        f"{revision}",
    )
    _compare_tables(report, manifest["tables"], fingerprints)
    for part in ("row_security", "policies", "owners", "privileges", "database_privileges"):
        _compare_catalog(report, part, manifest["catalog"][part], restored_catalog[part])
    _compare_with_head(report, script, revision, restored_catalog)
    report.check("sequences", sequences, "each sequence is past its column's largest value")
    report.check("learner isolation", isolation[0], isolation[1])


def _compare_tables(
    report: RestoreReport, source: Mapping[str, Any], restored: Mapping[str, Any]
) -> None:
    def described(entry: Mapping[str, Any] | None) -> str:
        return (
            "no table" if entry is None else f"{entry['rows']} rows, checksum {entry['checksum']}"
        )

    problems = [
        f"{table}: {described(restored.get(table))} restored, {described(source.get(table))}"
        " in the source"
        for table in sorted(source.keys() | restored.keys())
        if source.get(table) != restored.get(table)
    ]
    rows = sum(entry["rows"] for entry in source.values())
    report.check(
        "row counts and checksums",
        problems,
        f"{len(source)} tables, {rows} rows, every count and checksum equal",
    )


def _compare_catalog(report: RestoreReport, part: str, source: Any, restored: Any) -> None:
    if isinstance(source, dict):
        problems = [
            f"{key}: {restored.get(key)} restored, {source.get(key)} in the source"
            for key in sorted(source.keys() | restored.keys())
            if source.get(key) != restored.get(key)
        ]
        size = len(source)
    else:
        # Compared as multisets of JSON rows: the manifest has been through JSON.
        have = Counter(json.dumps(row) for row in restored)
        want = Counter(json.dumps(row) for row in source)
        problems = [f"missing {row}" for row in sorted(want - have)] + [
            f"extra {row}" for row in sorted(have - want)
        ]
        size = len(source)
    report.check(part.replace("_", " "), problems, f"{size} equal to the source's")


def _compare_with_head(
    report: RestoreReport, script: ScriptDirectory, revision: str | None, restored: Catalog
) -> None:
    """At the code's head, the row-level security and policy names the package declares."""
    head = script.get_current_head()
    if revision != head:
        report.check("as at head", [], f"restored at {revision}, not the code's head {head}")
        return
    declared_security = {table: [True, True] for table in RLS_TABLES} | {
        table: [False, False] for table in TABLES_WITHOUT_RLS
    }
    declared_policies = {
        (entity.on_entity.removeprefix("public."), entity.signature)
        for entity in load_entities()
        if isinstance(entity, PGPolicy)
    }
    restored_policies = {(row[0], row[1]) for row in restored["policies"]}
    problems = [
        f"{table} row security {restored['row_security'].get(table)},"
        f" declared {declared_security.get(table)}"
        for table in sorted(declared_security.keys() | restored["row_security"].keys())
        if declared_security.get(table) != restored["row_security"].get(table)
    ]
    problems += [
        f"policy {p} declared, not restored" for p in declared_policies - restored_policies
    ]
    problems += [
        f"policy {p} restored, not declared" for p in restored_policies - declared_policies
    ]
    report.check(
        "as at head",
        problems,
        f"{len(declared_security)} tables' row security and {len(declared_policies)} policies"
        " as sensa_db declares them",
    )


def _sequences_behind(connection: Connection) -> list[str]:
    """Sequences that would hand out a number their column already holds."""
    problems = []
    for sequence, table, column in connection.execute(text(_OWNED_SEQUENCES)).all():
        last, largest = connection.execute(
            text(
                f"SELECT (SELECT last_value FROM public.{_quoted(sequence)}),"
                f" (SELECT max({_quoted(column)}) FROM public.{_quoted(table)})"
            )
        ).one()
        if largest is not None and last < largest:
            problems.append(f"{sequence} at {last}, {table}.{column} holds {largest}")
    return problems


def _rows_per_learner(connection: Connection) -> dict[uuid.UUID, dict[str, int]]:
    counts: dict[uuid.UUID, dict[str, int]] = {}
    for table in RLS_TABLES:
        for user_id, rows in connection.execute(
            text(f"SELECT user_id, count(*) FROM public.{table} GROUP BY user_id")
        ):
            counts.setdefault(user_id, dict.fromkeys(RLS_TABLES, 0))[table] = rows
    return counts


def _learner_isolation(
    owner: Connection, per_learner: Mapping[uuid.UUID, Mapping[str, int]]
) -> tuple[list[str], str]:
    """As the API (sensa_app): no context sees no row; each of the learners with the most
    rows sees exactly their own rows of every learner table, none of another's."""
    chosen = sorted(per_learner, key=lambda uid: (-sum(per_learner[uid].values()), str(uid)))
    chosen = chosen[:LEARNERS_CHECKED]
    problems = []
    with acting_as(owner, APP_ROLE):
        for table in RLS_TABLES:
            seen = owner.scalar(text(f"SELECT count(*) FROM public.{table}"))
            if seen:
                problems.append(f"{table}: {seen} rows visible without a learner")
        for user_id in chosen:
            owner.execute(text("SELECT public.set_current_user_id(:id)"), {"id": user_id})
            for table in RLS_TABLES:
                own, others = owner.execute(
                    text(
                        "SELECT count(*), count(*) FILTER (WHERE user_id IS DISTINCT FROM :id)"
                        f" FROM public.{table}"
                    ),
                    {"id": user_id},
                ).one()
                if (own, others) != (per_learner[user_id][table], 0):
                    problems.append(
                        f"{table}: learner {user_id} sees {own} rows, {others} of them not"
                        f" theirs; they own {per_learner[user_id][table]}"
                    )
    return problems, (
        f"no rows without a learner; {len(chosen)} learner(s) see exactly their own rows"
        f" in all {len(RLS_TABLES)} tables"
    )


def export_learner(database_url: str | URL | None, user_id: uuid.UUID) -> dict[str, Any]:
    """Every row of one learner in the twelve learner tables, as JSON-ready data, read in
    one snapshot.

    Run as a member of sensa_backup or of admin_role (staff): their policies
    read every row, so the ``WHERE user_id = ...`` is what narrows it to the
    learner. Anyone else would get an empty export, so anyone else is refused.
    """
    engine = make_engine(database_url, poolclass=NullPool, name_connection_failures=True)
    try:
        with _snapshot_transaction(engine) as connection:
            return _learner_rows(connection, user_id)
    finally:
        engine.dispose()


def _learner_rows(connection: Connection, user_id: uuid.UUID) -> dict[str, Any]:
    _require_member(
        connection, (BACKUP_ROLE, ADMIN_ROLE), "an export reads a learner's rows as staff do"
    )
    _stable_text(connection)
    found = connection.scalar(
        text("SELECT count(*) FROM public.users WHERE user_id = :id"), {"id": user_id}
    )
    if found != 1:
        raise BackupError(f"no learner with user_id {user_id}")
    tables = {
        table: connection.scalars(
            text(
                f"SELECT to_jsonb(t) FROM public.{table} AS t WHERE t.user_id = :id"
                " ORDER BY t::text"
            ),
            {"id": user_id},
        ).all()
        for table in RLS_TABLES
    }
    exported_at: datetime = connection.scalar(text("SELECT now()"))
    return {"user_id": str(user_id), "exported_at": exported_at.isoformat(), "tables": tables}
