"""Every fenced ``python`` block of README.md and docs/*.md runs, as the login its text names.

An HTML comment right before a block (invisible on GitHub) says how it runs:

    <!-- example: as sensa_app; given current_user -->
    <!-- example: as sensa_app with a replica; given current_user -->
    <!-- example: as sensa_worker; given document_id, run_pipeline, PipelineError -->
    <!-- example: part of a revision -->

``as <login>``: ``DATABASE_URL`` is a throwaway database at head, as a test login that
is a member of that role (tests/rls.py); ``with a replica`` adds ``SENSA_DB_REPLICA_URL``,
the same database on the hot standby. ``given``: names the block uses without defining
them, which the test provides (see ``GIVEN``): a learner who exists, a document waiting
for the worker. Everything else (imports included) the block must hold itself. A block
with a top-level ``await`` runs in an event loop. ``part of a revision``: the block is
revision code, run by alembic's ``op`` against a database at head as the migrating
login, below what the template puts above ``upgrade()`` (its imports, ``LOCK_TIMEOUT``,
``SCHEMA_OWNER``...) and the imports autogenerate writes; its ``upgrade()`` and then its
``downgrade()`` are called when it defines them. ``run by tests/<file>.py``: a step of a
longer change that the named test makes whole (it must exist and name the document).

A block without the comment fails here, naming the comment to add. Every ``sql`` block
that creates logins (``<!-- example: sql, creates logins -->``) runs as the owner in a
transaction that is rolled back, and each login it creates must be a member of one of
the package's roles (tests/security/test_logins_documented.py checks their timeouts).
"""

from __future__ import annotations

import ast
import asyncio
import dataclasses
import re
import textwrap
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from sensa_db.database import DATABASE_URL_ENV, REPLICA_HOST_ENV, REPLICA_URL_ENV
from sensa_db.request_context import WrongLogin
from sensa_db.security import ADMIN_ROLE, APP_ROLE, SCHEMA_OWNER_ROLE, WORKER_ROLE
from tests.pipeline_world import pipeline_output, upload_as_admin
from tests.postgres import REPO_ROOT, PostgresServer
from tests.rls import as_login, seed_learner

DOCUMENTS = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]

LOGINS = {
    "sensa_app": APP_ROLE,
    "sensa_worker": WORKER_ROLE,
    "admin_role": ADMIN_ROLE,
    "the migrating login": None,  # the owner of the test cluster
}
_MARKER = re.compile(r"^\s*<!--\s*example:(?P<spec>.*?)-->\s*$")
_AS = re.compile(
    r"^as (?P<login>" + "|".join(map(re.escape, LOGINS)) + r")(?P<replica> with a replica)?$"
)
_FENCE = re.compile(r"^(?P<indent>\s*)```(?P<language>\S*)\s*$")
_HEADING = re.compile(r"^#{1,6}\s+(?P<title>.+?)\s*$")

# What autogenerate adds to a revision's imports for functions, triggers, policies and
# enums, beside the template's own.
AUTOGENERATE_IMPORTS = """
from alembic_postgresql_enum import TableReference
from alembic_utils.pg_function import PGFunction
from alembic_utils.pg_policy import PGPolicy
from alembic_utils.pg_trigger import PGTrigger
from sqlalchemy import text as sql_text
"""
_RUN_BY = re.compile(r"^run by (?P<test>tests/\S+\.py)$")


def revision_header() -> str:
    """What a new revision holds above its upgrade(): alembic/script.py.mako's imports and
    constants (LOCK_TIMEOUT, SCHEMA_OWNER...), without its placeholders, and what
    autogenerate imports."""
    template = (REPO_ROOT / "alembic" / "script.py.mako").read_text()
    header = template.split('"""', 2)[2].split("\ndef upgrade", 1)[0]
    lines = [line for line in header.splitlines() if "${" not in line]
    return "\n".join(lines) + AUTOGENERATE_IMPORTS


@dataclass(frozen=True)
class Example:
    """One fenced block of a document, with what its marker comment says."""

    document: Path
    line: int
    heading: str
    language: str
    source: str
    marker: str | None
    id: str = ""

    @property
    def where(self) -> str:
        return f"{self.document.relative_to(REPO_ROOT)}:{self.line}"


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def fenced_blocks(document: Path, markdown: str | None = None) -> list[Example]:
    """The fenced blocks of ``document`` (or of ``markdown``, read as that document)."""
    lines = (markdown if markdown is not None else document.read_text()).splitlines()
    blocks: list[Example] = []
    heading, per_heading = "", dict[str, int]()
    index = 0
    while index < len(lines):
        line = lines[index]
        if match := _HEADING.match(line):
            heading = _slug(match["title"])
        fence = _FENCE.match(line)
        if fence is None:
            index += 1
            continue
        end = index + 1
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        if not fence["language"]:
            index = end + 1
            continue
        previous = next((text for text in reversed(lines[:index]) if text.strip()), "")
        marker = _MARKER.match(previous)
        per_heading[heading] = per_heading.get(heading, 0) + 1
        count = per_heading[heading]
        name = f"{document.name}#{heading}" + (f"-{count}" if count > 1 else "")
        blocks.append(
            Example(
                document=document,
                line=index + 1,
                heading=heading,
                language=fence["language"],
                source=textwrap.dedent("\n".join(lines[index + 1 : end])),
                marker=None if marker is None else marker["spec"].strip(),
                id=name,
            )
        )
        index = end + 1
    return blocks


def _examples(language: str) -> list[Example]:
    return [b for d in DOCUMENTS for b in fenced_blocks(d) if b.language == language]


def _param(example: Example) -> Any:
    return pytest.param(example, id=example.id)


@dataclass(frozen=True)
class Spec:
    """What a marker comment asks for."""

    revision: bool
    login: str | None = None
    replica: bool = False
    given: tuple[str, ...] = ()

    @classmethod
    def parse(cls, example: Example) -> Spec:
        hint = (
            f"{example.where}: say how this example runs in an HTML comment right before"
            " it, e.g. <!-- example: as sensa_app; given current_user --> or"
            " <!-- example: part of a revision --> (tests/test_docs_examples.py)"
        )
        if example.marker is None:
            raise AssertionError(hint)
        if example.marker == "part of a revision":
            return cls(revision=True, login="the migrating login")
        clauses = [clause.strip() for clause in example.marker.split(";")]
        login = _AS.match(clauses[0])
        if login is None:
            raise AssertionError(f"{hint}; not {example.marker!r}")
        given: tuple[str, ...] = ()
        for clause in clauses[1:]:
            if not clause.startswith("given "):
                raise AssertionError(f"{hint}; unknown clause {clause!r}")
            given = tuple(name.strip() for name in clause.removeprefix("given ").split(","))
        unknown = set(given) - GIVEN.keys()
        if unknown:
            raise AssertionError(f"{example.where}: the test provides no {sorted(unknown)}")
        return cls(False, login["login"], bool(login["replica"]), given)


# --- what a block may be given ---------------------------------------------------------


@dataclass(frozen=True)
class CurrentUser:
    """What an API's authentication hands a request: the signed-in learner."""

    id: uuid.UUID


class PipelineError(Exception):
    """What the worker's own pipeline raises for a PDF it cannot process."""


@dataclass(frozen=True)
class World:
    """What an example may be given: a learner who exists, documents for the worker."""

    admin: Engine
    learner_id: uuid.UUID

    def waiting_document(self) -> uuid.UUID:
        (upload,) = upload_as_admin(self.admin, f"an example's PDF {uuid.uuid4()}")
        return upload.document_id


def _run_pipeline(s3_bucket: str, s3_key: str) -> Any:
    return pipeline_output(f"{s3_bucket}/{s3_key}")


GIVEN: dict[str, Callable[[World], Any]] = {
    "user_id": lambda world: world.learner_id,
    "current_user": lambda world: CurrentUser(world.learner_id),
    "document_id": World.waiting_document,
    "run_pipeline": lambda world: _run_pipeline,
    "PipelineError": lambda world: PipelineError,
}


# --- running a block --------------------------------------------------------------------


@dataclass(frozen=True)
class ExampleDatabase:
    """The module's database at head (conftest's shared_database), on the primary."""

    server: PostgresServer
    url: str  # as the owner
    admin: Engine  # admin_role, to seed what the examples are given

    def as_login(self, role: str | None, server: PostgresServer | None = None) -> str:
        """Its URL on ``server`` (the primary by default) as a member of ``role``, or as
        the owner (None)."""
        url = (server or self.server).url(make_url(self.url).database or "")
        return url if role is None else as_login(url, role)


@pytest.fixture
def example_database(
    pg_server: PostgresServer, shared_database: str, shared_engine: Engine
) -> ExampleDatabase:
    return ExampleDatabase(pg_server, shared_database, shared_engine)


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No database source but the one each example is given."""
    for name in (
        DATABASE_URL_ENV,
        REPLICA_URL_ENV,
        REPLICA_HOST_ENV,
        "SENSA_DB_SECRET_ID",
        "SENSA_DB_IAM_AUTH",
    ):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


class _Engines:
    """The engines a block makes (make_engine hides them in its sessionmakers): disposed
    after it, so that no connection outlives the example."""

    def __init__(self) -> None:
        self.seen: dict[int, Engine] = {}

    def __enter__(self) -> _Engines:
        event.listen(Engine, "engine_connect", self._saw)
        return self

    def __exit__(self, *_: object) -> None:
        event.remove(Engine, "engine_connect", self._saw)

    def _saw(self, connection: Any) -> None:
        self.seen[id(connection.engine)] = connection.engine

    def dispose_sync(self) -> None:
        for engine in self.seen.values():
            if not engine.dialect.is_async:
                engine.dispose()

    async def dispose_async(self) -> None:
        for engine in self.seen.values():
            if engine.dialect.is_async:
                await AsyncEngine(engine).dispose()


def run_block(source: str, namespace: dict[str, Any], name: str) -> None:
    """Run ``source`` in ``namespace``; a top-level await runs it in an event loop."""
    code = compile(source, name, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    with _Engines() as engines:
        try:
            awaitable = eval(code, namespace)  # noqa: S307 - the repository's own documentation
            if awaitable is not None:

                async def in_a_loop() -> None:
                    try:
                        await awaitable
                    finally:
                        await engines.dispose_async()

                asyncio.run(in_a_loop())
        finally:
            engines.dispose_sync()


def run_example(
    example: Example, database: ExampleDatabase, environment: pytest.MonkeyPatch
) -> None:
    """Run a usage example as its marker says, against the module's database."""
    spec = Spec.parse(example)
    assert not spec.revision
    role = LOGINS[spec.login or ""]
    with Session(database.admin) as session:
        learner = seed_learner(session)
        session.commit()
    environment.setenv(DATABASE_URL_ENV, database.as_login(role))
    if spec.replica:
        standby = database.server.standby()
        environment.setenv(REPLICA_URL_ENV, database.as_login(role, standby))
        database.server.wait_for_replay(standby, make_url(database.url).database or "")
    world = World(database.admin, learner.user_id)
    namespace = {"__name__": "__example__", **{n: GIVEN[n](world) for n in spec.given}}
    run_block(example.source, namespace, example.where)


def run_revision_example(example: Example, database_url: str) -> None:
    """Run revision code through alembic's ``op`` on a database at head, as the owner."""
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection)
            with Operations.context(context), context.begin_transaction():
                namespace: dict[str, Any] = {"__name__": "__revision__"}
                exec(revision_header(), namespace)  # noqa: S102 - the repository's template
                run_block(example.source, namespace, example.where)
                for step in ("upgrade", "downgrade"):
                    if callable(namespace.get(step)):
                        namespace[step]()
    finally:
        engine.dispose()


# --- the tests ---------------------------------------------------------------------------

PYTHON_EXAMPLES = _examples("python")


def test_the_documents_hold_examples() -> None:
    """The control for the collection itself: the README's examples are found."""
    readme = [example for example in PYTHON_EXAMPLES if example.document.name == "README.md"]
    assert len(readme) >= 4
    assert all(example.id.startswith("README.md#") for example in readme)


def _usage(example: Example) -> bool:
    return example.marker != "part of a revision" and not _RUN_BY.match(example.marker or "")


@pytest.mark.parametrize("example", [_param(e) for e in PYTHON_EXAMPLES if _usage(e)])
def test_every_usage_example_runs(
    example: Example,
    example_database: ExampleDatabase,
    clean_environment: pytest.MonkeyPatch,
) -> None:
    run_example(example, example_database, clean_environment)


@pytest.mark.parametrize(
    "example", [_param(e) for e in PYTHON_EXAMPLES if e.marker == "part of a revision"]
)
def test_every_revision_example_runs(example: Example, migrated_database: str) -> None:
    run_revision_example(example, migrated_database)


@pytest.mark.parametrize(
    "example", [_param(e) for e in PYTHON_EXAMPLES if _RUN_BY.match(e.marker or "")]
)
def test_every_step_of_a_longer_change_names_the_test_that_runs_it(example: Example) -> None:
    assert not_run_by_the_test_it_names(example) is None


def not_run_by_the_test_it_names(example: Example) -> str | None:
    """Why the test a ``run by`` marker names cannot be the one that runs the block."""
    match = _RUN_BY.match(example.marker or "")
    assert match is not None
    test = REPO_ROOT / match["test"]
    if not test.is_file():
        return f"{example.where}: no {match['test']}"
    if example.document.name not in test.read_text():
        return f"{example.where}: {match['test']} does not name {example.document.name}"
    return None


def test_a_step_whose_test_does_not_name_the_document_is_caught() -> None:
    """The control: conftest.py names no such document, and no such test exists."""
    markdown = "<!-- example: run by tests/{} -->\n```python\nx = 1\n```\n"
    named = fenced_blocks(REPO_ROOT / "docs" / "NOWHERE.md", markdown.format("conftest.py"))
    assert "does not name NOWHERE.md" in (not_run_by_the_test_it_names(named[0]) or "")
    missing = fenced_blocks(REPO_ROOT / "docs" / "NOWHERE.md", markdown.format("nothing.py"))
    assert "no tests/nothing.py" in (not_run_by_the_test_it_names(missing[0]) or "")


def _readme_example(name: str) -> Example:
    (example,) = [e for e in PYTHON_EXAMPLES if e.id == f"README.md#{name}"]
    return example


def test_an_example_missing_an_import_is_caught(
    example_database: ExampleDatabase, clean_environment: pytest.MonkeyPatch
) -> None:
    """The control: the first example without its ``select`` import fails."""
    example = _readme_example("using-the-models")
    assert "from sqlalchemy import select\n" in example.source
    broken = dataclasses.replace(
        example, source=example.source.replace("from sqlalchemy import select\n", "")
    )
    with pytest.raises(NameError, match="select"):
        run_example(broken, example_database, clean_environment)


def test_an_example_run_as_the_wrong_login_is_caught(
    example_database: ExampleDatabase, clean_environment: pytest.MonkeyPatch
) -> None:
    """The control: the first example, as the owner, is refused with the grant to run."""
    example = _readme_example("using-the-models")
    assert example.marker is not None
    assert example.marker.startswith("as sensa_app;")
    as_owner = dataclasses.replace(
        example, marker=example.marker.replace("as sensa_app", "as the migrating login")
    )
    with pytest.raises(WrongLogin, match="GRANT sensa_app TO"):
        run_example(as_owner, example_database, clean_environment)


def test_a_block_that_does_not_say_how_it_runs_is_named() -> None:
    (block,) = fenced_blocks(REPO_ROOT / "README.md", "# Title\n\n```python\nx = 1\n```\n")
    with pytest.raises(AssertionError, match=r"README.md:3: say how this example runs"):
        Spec.parse(block)
    (block,) = fenced_blocks(
        REPO_ROOT / "README.md", "<!-- example: as nobody -->\n```python\nx = 1\n```\n"
    )
    with pytest.raises(AssertionError, match="not 'as nobody'"):
        Spec.parse(block)


# --- the logins' SQL ---------------------------------------------------------------------

LOGIN_SQL = [e for e in _examples("sql") if e.marker == "sql, creates logins"]
_CREATED_LOGIN = re.compile(r"CREATE ROLE (\w+) LOGIN", re.IGNORECASE)


def logins_outside_the_packages_roles(example: Example, owner_connection: Connection) -> list[str]:
    """Run the block as the owner (the caller rolls back); each login it creates that is
    not a member of exactly one of the package's roles."""
    if "rds_iam" in example.source:
        # RDS's role for IAM authentication; a local cluster has none.
        owner_connection.execute(
            text(
                "DO $$ BEGIN CREATE ROLE rds_iam NOLOGIN;"
                " EXCEPTION WHEN duplicate_object THEN NULL; END $$"
            )
        )
    owner_connection.exec_driver_sql(example.source)
    roles = {APP_ROLE, WORKER_ROLE, ADMIN_ROLE, SCHEMA_OWNER_ROLE}
    outside = []
    for login in _CREATED_LOGIN.findall(example.source):
        member_of = owner_connection.scalars(
            text(
                "SELECT r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid"
                " WHERE m.member = CAST(:login AS regrole)"
            ),
            {"login": login},
        )
        if len(roles.intersection(member_of)) != 1:
            outside.append(login)
    return outside


@pytest.fixture
def owner(owner_connection: Connection) -> Connection:
    """The owner's own rights, in conftest's rolled-back transaction."""
    owner_connection.execute(text("RESET ROLE"))
    return owner_connection


def test_the_readme_creates_logins() -> None:
    assert len(LOGIN_SQL) >= 2


@pytest.mark.parametrize("example", [_param(e) for e in LOGIN_SQL])
def test_every_login_is_a_member_of_one_of_the_packages_roles(
    example: Example, owner: Connection
) -> None:
    assert logins_outside_the_packages_roles(example, owner) == []


def test_a_login_granted_no_role_of_the_package_is_caught(owner: Connection) -> None:
    """The control: the README's first login granted a role of PostgreSQL's instead."""
    example = LOGIN_SQL[0]
    assert "GRANT sensa_app TO api_login;" in example.source
    wrong = dataclasses.replace(
        example, source=example.source.replace("GRANT sensa_app TO", "GRANT pg_monitor TO")
    )
    assert logins_outside_the_packages_roles(wrong, owner) == ["api_login"]
