"""A logical backup as RDS allows it: dumped as a member of sensa_backup (a test login,
not a superuser), restored into a new database as the owner, and proved table by table
against the manifest; each check fails on its control. One learner's export holds
nothing of another learner with the same PDF. The restores are slow tests,
outside the fast loop."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from sensa_db.security import ADMIN_ROLE, APP_ROLE, BACKUP_ROLE, RLS_TABLES, TABLES_WITHOUT_RLS
from sensa_db_tools import cli, local_cluster
from sensa_db_tools.backup import (
    BackupError,
    RestoreReport,
    back_up,
    export_learner,
    fingerprint,
    harmless_entries,
    prove,
    read_manifest,
    restore,
)
from sensa_db_tools.seeds import seed, seed_id
from tests.postgres import EXTENSIONS_TEMPLATE, PostgresServer, alembic_config
from tests.rls import TEST_LOGINS, primary_key_column

pytestmark = pytest.mark.usefixtures("test_logins")

# Seeded learners: bo and chen each upload a copy of the same PDF, so their concept
# maps hold the same terms, definitions and embeddings.
BO = seed_id("user", "bo")
CHEN = seed_id("user", "chen")
BOOKKEEPING_SEEDED = {"alembic_version", "migrations_log", "audit_log", "pipeline_results"}


@pytest.fixture(scope="module")
def script() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


@pytest.fixture(scope="module")
def source(pg_server: PostgresServer, head_template: str) -> Iterator[str]:
    """A seeded database at head. Its database-level privileges are not the default:
    TEMPORARY is revoked from PUBLIC (revision 0c13d19e46ac)."""
    with pg_server.database(template=head_template) as dbname:
        engine = create_engine(pg_server.url(dbname), poolclass=NullPool)
        with engine.begin() as connection:
            seed(connection, environ={})
        engine.dispose()
        yield dbname


def as_login(pg_server: PostgresServer, dbname: str, role: str) -> str:
    return pg_server.url(dbname, user=TEST_LOGINS[role])


@pytest.fixture(scope="module")
def archive(
    pg_server: PostgresServer, source: str, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    path = tmp_path_factory.mktemp("backup") / "source.dump"
    back_up(as_login(pg_server, source, BACKUP_ROLE), path)
    return path


@pytest.fixture(scope="module")
def manifest(archive: Path) -> dict[str, Any]:
    return read_manifest(archive.with_name(archive.name + ".manifest.json"))


@pytest.fixture(scope="module")
def restored(
    pg_server: PostgresServer, archive: Path, manifest: dict[str, Any], script: ScriptDirectory
) -> Iterator[RestoreReport]:
    report = restore(archive, manifest, pg_server.as_url, script, template=EXTENSIONS_TEMPLATE)
    try:
        yield report
    finally:
        local_cluster.drop_database(pg_server.as_url, report.database)


def fingerprints_as_backup(url: str) -> dict[str, dict[str, Any]]:
    """Each table's count and checksum, read here by the test login of sensa_backup."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            tables = sorted({*RLS_TABLES, *TABLES_WITHOUT_RLS})
            return {table: fingerprint(connection, f"public.{table}") for table in tables}
    finally:
        engine.dispose()


def failed(report: RestoreReport) -> dict[str, str]:
    return {name: detail for name, ok, detail in report.checks if not ok}


def test_the_backup_login_is_a_plain_member_of_the_backup_role(
    pg_server: PostgresServer, source: str
) -> None:
    engine = create_engine(as_login(pg_server, source, BACKUP_ROLE), poolclass=NullPool)
    with engine.connect() as connection:
        attributes = connection.execute(
            text(
                "SELECT rolsuper, rolbypassrls, pg_has_role(current_user, :role, 'USAGE')"
                " FROM pg_roles WHERE rolname = current_user"
            ),
            {"role": BACKUP_ROLE},
        ).one()
    engine.dispose()
    assert tuple(attributes) == (False, False, True)


@pytest.mark.slow
def test_a_dump_as_the_backup_role_restores_every_row_of_every_table(
    pg_server: PostgresServer, source: str, manifest: dict[str, Any], restored: RestoreReport
) -> None:
    assert restored.ok, failed(restored)
    source_tables = fingerprints_as_backup(as_login(pg_server, source, BACKUP_ROLE))
    restored_tables = fingerprints_as_backup(as_login(pg_server, restored.database, BACKUP_ROLE))
    for table, expected in source_tables.items():
        assert restored_tables[table] == expected, table
        assert manifest["tables"][table] == expected, table
    # Every learner table and the bookkeeping tables hold rows: nothing passed empty.
    assert all(source_tables[table]["rows"] > 0 for table in {*RLS_TABLES, *BOOKKEEPING_SEEDED})
    assert {name for name, _, _ in restored.checks} == {
        "sensa-db verify",
        "revision",
        "row counts and checksums",
        "row security",
        "policies",
        "owners",
        "privileges",
        "database privileges",
        "as at head",
        "sequences",
        "learner isolation",
    }


@pytest.mark.slow
def test_the_restore_names_what_it_leaves_out_as_harmless(restored: RestoreReport) -> None:
    assert sorted(entry.description for entry in restored.skipped) == [
        "COMMENT - EXTENSION pg_trgm",
        "COMMENT - EXTENSION postgis",
        "COMMENT - EXTENSION vector",
        "EXTENSION - pg_trgm",
        "EXTENSION - postgis",
        "EXTENSION - vector",
        "TABLE DATA public spatial_ref_sys postgres",
    ]


@pytest.mark.slow
def test_the_restore_carries_database_level_privileges(
    pg_server: PostgresServer, source: str, restored: RestoreReport
) -> None:
    """A clone of the extensions template gives PUBLIC TEMPORARY; the source does not,
    and neither does the copy."""
    temporary = "SELECT has_database_privilege(current_database(), 'TEMPORARY')"
    for database, expected in (
        (EXTENSIONS_TEMPLATE, True),
        (source, False),
        (restored.database, False),
    ):
        engine = create_engine(as_login(pg_server, database, APP_ROLE), poolclass=NullPool)
        with engine.connect() as connection:
            assert connection.scalar(text(temporary)) is expected, database
        engine.dispose()


@pytest.mark.slow
def test_control_a_dump_missing_one_tables_rows_fails_the_comparison(
    pg_server: PostgresServer,
    source: str,
    manifest: dict[str, Any],
    script: ScriptDirectory,
    tmp_path: Path,
) -> None:
    """The source cloned, one table emptied in the clone, dumped, restored, and compared
    with the source's manifest."""
    with pg_server.database(template=source) as clone:
        engine = create_engine(pg_server.url(clone), poolclass=NullPool)
        with engine.begin() as connection:
            connection.execute(text("TRUNCATE public.user_progress"))
        engine.dispose()
        truncated = tmp_path / "truncated.dump"
        back_up(as_login(pg_server, clone, BACKUP_ROLE), truncated)
    report = restore(truncated, manifest, pg_server.as_url, script, template=EXTENSIONS_TEMPLATE)
    local_cluster.drop_database(pg_server.as_url, report.database)
    problems = failed(report)
    assert list(problems) == ["row counts and checksums"]
    assert problems["row counts and checksums"].startswith(
        "user_progress: 0 rows, checksum 0 restored, 4 rows, checksum "
    )
    assert ";" not in problems["row counts and checksums"]  # that table only


def test_a_table_no_policy_opens_whole_to_the_backup_role_stops_the_dump(
    pg_server: PostgresServer, source: str, tmp_path: Path
) -> None:
    """Its dump would hold only what narrower policies show: nothing, and no error."""
    archive = tmp_path / "narrowed.dump"
    with pg_server.database(template=source) as clone:
        engine = create_engine(pg_server.url(clone), poolclass=NullPool)
        with engine.begin() as connection:
            connection.execute(text("DROP POLICY backup_keywords_read ON public.keywords"))
        engine.dispose()
        with pytest.raises(
            BackupError, match=f"no policy lets {BACKUP_ROLE} read every row of keywords:"
        ):
            back_up(as_login(pg_server, clone, BACKUP_ROLE), archive)
    assert not archive.exists()


def test_the_checksum_ignores_order_and_sees_any_change(
    pg_server: PostgresServer, source: str
) -> None:
    engine = create_engine(as_login(pg_server, source, BACKUP_ROLE), poolclass=NullPool)
    with engine.connect() as connection:
        table = fingerprint(connection, "public.keywords")
        backwards = "(SELECT * FROM public.keywords ORDER BY keyword_id DESC)"
        one_less = "(SELECT * FROM public.keywords ORDER BY keyword_id DESC OFFSET 1)"
        terms = "(SELECT keyword_id, term FROM public.keywords)"
        shouted = "(SELECT keyword_id, upper(term) FROM public.keywords)"
        assert fingerprint(connection, backwards) == table
        assert fingerprint(connection, one_less)["checksum"] != table["checksum"]
        assert fingerprint(connection, shouted)["rows"] == fingerprint(connection, terms)["rows"]
        assert (
            fingerprint(connection, shouted)["checksum"]
            != fingerprint(connection, terms)["checksum"]
        )
    engine.dispose()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("tamper", "undo", "caught_by"),
    [
        (
            "CREATE POLICY leak ON public.courses FOR SELECT TO sensa_app USING (true)",
            "DROP POLICY leak ON public.courses",
            {"learner isolation", "policies", "as at head"},
        ),
        (
            "ALTER TABLE public.keywords NO FORCE ROW LEVEL SECURITY",
            "ALTER TABLE public.keywords FORCE ROW LEVEL SECURITY",
            {"row security", "as at head"},
        ),
        (
            "GRANT TEMPORARY ON DATABASE {database} TO PUBLIC",
            "REVOKE TEMPORARY ON DATABASE {database} FROM PUBLIC",
            {"database privileges"},
        ),
        (
            "GRANT INSERT ON public.audit_log TO sensa_app",
            "REVOKE INSERT ON public.audit_log FROM sensa_app",
            {"privileges"},
        ),
        (
            "ALTER FUNCTION public.check_feedback_consensus() OWNER TO CURRENT_USER",
            "ALTER FUNCTION public.check_feedback_consensus() OWNER TO sensa_consensus",
            {"owners", "privileges"},  # the owner's own EXECUTE moves with it
        ),
        (
            "GRANT EXECUTE ON FUNCTION public._postgis_stats(regclass,text,text) TO PUBLIC",
            "REVOKE EXECUTE ON FUNCTION public._postgis_stats(regclass,text,text) FROM PUBLIC",
            {"privileges"},
        ),
    ],
    ids=["learner-policy", "force", "database-privilege", "grant", "owner", "extension"],
)
def test_control_each_catalog_check_catches_a_difference(
    pg_server: PostgresServer,
    manifest: dict[str, Any],
    script: ScriptDirectory,
    restored: RestoreReport,
    tamper: str,
    undo: str,
    caught_by: set[str],
) -> None:
    """Each change to the restored database is caught, and undone the proof passes again."""
    engine = create_engine(pg_server.url(restored.database), poolclass=NullPool)
    try:
        with engine.begin() as owner:
            owner.execute(text(tamper.format(database=restored.database)))
        try:
            report = RestoreReport(restored.database)
            prove(engine, manifest, script, report)
            assert set(failed(report)) == caught_by
        finally:
            with engine.begin() as owner:
                # Handing a function to a role needs that role's CREATE on its schema.
                owner.execute(text("GRANT CREATE ON SCHEMA public TO sensa_consensus"))
                owner.execute(text(undo.format(database=restored.database)))
                owner.execute(text("REVOKE CREATE ON SCHEMA public FROM sensa_consensus"))
        report = RestoreReport(restored.database)
        prove(engine, manifest, script, report)
        assert report.ok, failed(report)
    finally:
        engine.dispose()


@pytest.mark.slow
def test_control_any_other_restore_error_fails_loudly(
    pg_server: PostgresServer,
    head_template: str,
    archive: Path,
    manifest: dict[str, Any],
    script: ScriptDirectory,
) -> None:
    """Into a clone of a migrated database, every table exists already."""
    into = f"sensa_test_restore_{uuid.uuid4().hex[:8]}"
    try:
        with pytest.raises(BackupError, match=r"pg_restore into \S+ failed .* already exists"):
            restore(archive, manifest, pg_server.as_url, script, template=head_template, into=into)
    finally:
        local_cluster.drop_database(pg_server.as_url, into)


def test_a_restore_needing_roles_the_server_lacks_changes_nothing(
    pg_server: PostgresServer, archive: Path, manifest: dict[str, Any], script: ScriptDirectory
) -> None:
    into = f"sensa_test_restore_{uuid.uuid4().hex[:8]}"
    foreign = {**manifest, "catalog": {**manifest["catalog"]}}
    foreign["catalog"]["owners"] = [*manifest["catalog"]["owners"], ["type x", "no_such_owner"]]
    with pytest.raises(
        BackupError, match=r"roles no_such_owner own objects .* Nothing was restored"
    ):
        restore(archive, foreign, pg_server.as_url, script, into=into)
    with pg_server.connect("postgres") as admin:
        assert (
            admin.execute("SELECT FROM pg_database WHERE datname = %s", (into,)).fetchone() is None
        )


def test_only_entries_that_lose_nothing_are_left_out() -> None:
    toc = [
        "; Archive created at 2026-12-07",
        "2; 3079 16386 EXTENSION - vector ",
        "5006; 0 0 COMMENT - EXTENSION vector ",
        "9; 3079 16387 EXTENSION - pg_partman ",
        "10; 0 0 COMMENT - EXTENSION pg_partman ",
        "4990; 0 17108 TABLE DATA public spatial_ref_sys postgres",
        "4991; 0 17200 TABLE DATA public keywords sensa_owner",
    ]
    in_template = frozenset({"vector", "postgis"})
    assert [entry.description for entry in harmless_entries(toc, in_template, 0)] == [
        "EXTENSION - vector",
        "COMMENT - EXTENSION vector",
        "TABLE DATA public spatial_ref_sys postgres",
    ]
    # SRIDs added by hand are data the restore must not drop silently.
    assert [entry.description for entry in harmless_entries(toc, in_template, 2)] == [
        "EXTENSION - vector",
        "COMMENT - EXTENSION vector",
    ]


@pytest.mark.parametrize("login_role", [None, APP_ROLE, ADMIN_ROLE])
def test_only_a_member_of_the_backup_role_may_take_a_dump(
    pg_server: PostgresServer, source: str, tmp_path: Path, login_role: str | None
) -> None:
    """The owner (the RDS master user) sees no learner row, the API one learner's, staff
    every learner row but not the bookkeeping: none of them can take a whole dump."""
    url = pg_server.url(source) if login_role is None else as_login(pg_server, source, login_role)
    archive = tmp_path / "refused.dump"
    with pytest.raises(BackupError, match=f"is not a member of {BACKUP_ROLE}"):
        back_up(url, archive)
    assert not archive.exists()


def learner_rows(pg_server: PostgresServer, dbname: str, user_id: uuid.UUID) -> dict[str, set[str]]:
    """Each table's primary keys of ``user_id``'s rows, read by staff."""
    engine = create_engine(as_login(pg_server, dbname, ADMIN_ROLE), poolclass=NullPool)
    with engine.connect() as connection:
        rows = {
            table: {
                str(key)
                for key in connection.scalars(
                    text(f"SELECT {primary_key_column(table)} FROM {table} WHERE user_id = :id"),
                    {"id": user_id},
                )
            }
            for table in RLS_TABLES
        }
    engine.dispose()
    return rows


@pytest.mark.parametrize("role", [BACKUP_ROLE, ADMIN_ROLE])
def test_one_learners_export_holds_all_their_rows_and_nothing_of_another(
    pg_server: PostgresServer, source: str, role: str
) -> None:
    exported = export_learner(as_login(pg_server, source, role), BO)
    rendered = json.dumps(exported)
    bo, chen = learner_rows(pg_server, source, BO), learner_rows(pg_server, source, CHEN)
    assert exported["tables"].keys() == RLS_TABLES.keys()
    for table in RLS_TABLES:
        keys = {str(row[primary_key_column(table)]) for row in exported["tables"][table]}
        assert keys == bo[table], table
        assert {row["user_id"] for row in exported["tables"][table]} <= {str(BO)}
    # chen uploaded the same PDF: the same terms and vectors, other rows, none of them here.
    assert sum(map(len, chen.values())) > 0
    assert str(CHEN) not in rendered
    assert not [key for keys in chen.values() for key in keys if key in rendered]
    # Control: the search finds chen's rows in chen's own export.
    theirs = json.dumps(export_learner(as_login(pg_server, source, role), CHEN))
    assert all(key in theirs for keys in chen.values() for key in keys)


def test_an_export_refuses_a_role_its_policies_would_hide_rows_from(
    pg_server: PostgresServer, source: str
) -> None:
    with pytest.raises(BackupError, match=f"not a member of {BACKUP_ROLE} or {ADMIN_ROLE}"):
        export_learner(as_login(pg_server, source, APP_ROLE), BO)


def test_export_learner_on_the_command_line(
    pg_server: PostgresServer, source: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = as_login(pg_server, source, BACKUP_ROLE)
    output = tmp_path / "bo.json"
    assert (
        cli.main(["export-learner", str(BO), "--database-url", url, "--output", str(output)]) == 0
    )
    assert json.loads(output.read_text())["user_id"] == str(BO)
    assert cli.main(["export-learner", "bo", "--database-url", url]) == 2
    assert "'bo' is not a user_id" in capsys.readouterr().err
    unknown = uuid.uuid4()
    assert cli.main(["export-learner", str(unknown), "--database-url", url]) == 2
    assert f"no learner with user_id {unknown}" in capsys.readouterr().err
