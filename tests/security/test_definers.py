"""Temporary objects planted by the API's, the worker's or staff's login never run
inside a SECURITY DEFINER function with the definer's identity.

PostgreSQL searches pg_temp first for relation and type names unless the
search path lists it, and an empty path does not list it. So a login that
could create a temporary domain ``uuid`` whose CHECK calls its own function
had that function run as the owner of record_audit() (then the migrating
login, which can create roles) on its next audited write. Every definer now
lists pg_temp last (docs/SECURITY.md, *Definers*), and TEMPORARY is revoked
from PUBLIC. These tests grant TEMPORARY back to the attacking login, as a
database whose privileges were lost would, so that the path rule alone is
tested; the control is a definer written the old way, which the same attack
turns into the attacker's code running as its owner.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import psycopg
import pytest
from sqlalchemy import make_url

from sensa_db.security import (
    ADMIN_ROLE,
    APP_ROLE,
    DATABASE_TEMPORARY,
    DEFINERS,
    LOGIN_ROLES,
    WORKER_ROLE,
)
from tests.pipeline_world import PIPELINE_VERSION, pipeline_output
from tests.rls import INSUFFICIENT_PRIVILEGE, TEST_LOGINS
from tests.security.attacker import Attacker, attacker
from tests.security.conftest import TemporaryGrant, World, owner_conninfo


def _name_learner(attack: Attacker, world: World) -> None:
    attack.execute("SELECT public.set_current_user_id(%s)", (world.mine.user_id,))


def _claim(attack: Attacker, document: object) -> tuple[object, ...]:
    (claim,) = attack.execute(
        "SELECT outcome, claim_token, result_stored"
        " FROM public.claim_document(%s, 'attacker', %s, 60)",
        (document, PIPELINE_VERSION),
    )
    assert claim[0] == "claimed"
    return claim


def _record(attack: Attacker, document: object, token: object) -> None:
    output = pipeline_output("one pdf")
    attack.execute(
        "SELECT public.record_pipeline_result(%s, %s, %s::jsonb, %s::jsonb, %s, %s::vector)",
        (
            document,
            token,
            json.dumps(output.concept_map),
            json.dumps(output.chapters),
            output.subject,
            json.dumps(list(output.embedding or [])),
        ),
    )


def audited_write_as_learner(attack: Attacker, world: World) -> None:
    _name_learner(attack, world)
    attack.execute(
        "UPDATE public.courses SET description = 'planted' WHERE course_id = %s",
        (world.mine.course_id,),
    )


def audited_write_as_staff(attack: Attacker, world: World) -> None:
    attack.execute(
        "UPDATE public.courses SET description = 'planted' WHERE course_id = %s",
        (world.theirs.course_id,),
    )


def consensus_recount(attack: Attacker, world: World) -> None:
    _name_learner(attack, world)
    attack.execute(
        "UPDATE public.user_annotations SET rating = 5 WHERE annotation_id = %s",
        (world.mine.annotation_id,),
    )


def content_consensus(attack: Attacker, world: World) -> None:
    attack.execute("SELECT * FROM public.get_content_consensus(1)")


def claim(attack: Attacker, world: World) -> None:
    _claim(attack, world.pending[0])


def claim_next(attack: Attacker, world: World) -> None:
    (row,) = attack.execute(
        "SELECT outcome FROM public.claim_next_document('attacker', %s, 60)", (PIPELINE_VERSION,)
    )
    assert row == ("claimed",)


def record_result(attack: Attacker, world: World) -> None:
    _, token, _ = _claim(attack, world.pending[0])
    _record(attack, world.pending[0], token)


def complete_from_cache(attack: Attacker, world: World) -> None:
    record_result(attack, world)
    _, token, stored = _claim(attack, world.pending[1])
    assert stored is True
    attack.execute("SELECT public.complete_document_from_cache(%s, %s)", (world.pending[1], token))


def record_failure(attack: Attacker, world: World) -> None:
    _, token, _ = _claim(attack, world.pending[2])
    attack.execute(
        "SELECT public.record_processing_failure(%s, %s, 'planted')", (world.pending[2], token)
    )


def schema_revision(attack: Attacker, world: World) -> None:
    attack.execute("SELECT * FROM public.schema_revision('0')")


@dataclass(frozen=True)
class Path:
    definer: str
    role: str
    take: Callable[[Attacker, World], None]


# Every way a login reaches a definer.
PATHS = [
    Path("record_audit()", APP_ROLE, audited_write_as_learner),
    Path("record_audit()", ADMIN_ROLE, audited_write_as_staff),
    Path("check_feedback_consensus()", APP_ROLE, consensus_recount),
    Path("get_content_consensus(integer)", WORKER_ROLE, content_consensus),
    Path("get_content_consensus(integer)", ADMIN_ROLE, content_consensus),
    Path("claim_document(uuid,text,text,integer)", WORKER_ROLE, claim),
    Path("claim_next_document(text,text,integer)", WORKER_ROLE, claim_next),
    Path("record_pipeline_result(uuid,uuid,jsonb,jsonb,text,vector)", WORKER_ROLE, record_result),
    Path("complete_document_from_cache(uuid,uuid)", WORKER_ROLE, complete_from_cache),
    Path("record_processing_failure(uuid,uuid,text)", WORKER_ROLE, record_failure),
    *(Path("schema_revision(text)", role, schema_revision) for role in LOGIN_ROLES),
]


def test_every_definer_has_a_path() -> None:
    assert {path.definer for path in PATHS} == set(DEFINERS)


@pytest.mark.parametrize("path", PATHS, ids=lambda p: f"{p.definer.partition('(')[0]}-{p.role}")
def test_planted_code_never_runs_as_a_definer(
    shared_database: str,
    test_logins: None,
    world: World,
    temporary_granted: TemporaryGrant,
    path: Path,
) -> None:
    login = TEST_LOGINS[path.role]
    with temporary_granted(login), attacker(shared_database, login) as attack:
        attack.plant_shadows()
        path.take(attack, world)
        assert attack.escalated() == set()
        assert not attack.owns_the_schema()
        # The spy is live: the attacker's own casts (the package's CAST(... AS
        # uuid) resolves in the caller's path) run it, as the attacker.
        attack.execute("SELECT CAST(%s AS text)", ("x",))
        assert attack.identities_the_spy_ran_as() == {login}


@pytest.fixture
def vulnerable_definer(shared_database: str) -> str:
    """A definer written as record_audit() was: search_path empty, a type named bare,
    owned by the migrating login (which can create roles)."""
    with psycopg.connect(owner_conninfo(shared_database), autocommit=True) as owner:
        owner.execute(
            """
            CREATE SCHEMA IF NOT EXISTS attack_control;
            CREATE OR REPLACE FUNCTION attack_control.lookup(p text) RETURNS text
            LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
            BEGIN
                RETURN CAST(CAST(p AS uuid) AS pg_catalog.text);
            END
            $$;
            GRANT USAGE ON SCHEMA attack_control TO sensa_app, sensa_worker, admin_role;
            GRANT EXECUTE ON FUNCTION attack_control.lookup(text)
                TO sensa_app, sensa_worker, admin_role;
            """
        )
        owner_login = make_url(shared_database).username
    assert owner_login is not None
    return owner_login


@pytest.mark.parametrize("role", [APP_ROLE, WORKER_ROLE, ADMIN_ROLE])
def test_control_a_definer_with_an_empty_path_runs_the_planted_code_as_its_owner(
    shared_database: str,
    test_logins: None,
    temporary_granted: TemporaryGrant,
    vulnerable_definer: str,
    role: str,
) -> None:
    login = TEST_LOGINS[role]
    with temporary_granted(login), attacker(shared_database, login) as attack:
        attack.plant_shadows()
        attack.execute("SELECT attack_control.lookup('00000000-0000-0000-0000-000000000001')")
        assert attack.escalated() == {vulnerable_definer}
        assert attack.owns_the_schema()  # rolled back with the attacker's transaction


@pytest.mark.parametrize("role", sorted({APP_ROLE, WORKER_ROLE} - DATABASE_TEMPORARY))
def test_the_application_logins_may_not_create_temporary_objects(
    shared_database: str, test_logins: None, temporary_granted: TemporaryGrant, role: str
) -> None:
    login = TEST_LOGINS[role]
    with attacker(shared_database, login) as attack:
        with pytest.raises(psycopg.errors.InsufficientPrivilege) as refused:
            attack.execute("CREATE DOMAIN pg_temp.uuid AS pg_catalog.uuid")
        assert refused.value.sqlstate == INSUFFICIENT_PRIVILEGE
    # Control: with TEMPORARY back, the same statement succeeds.
    with temporary_granted(login), attacker(shared_database, login) as attack:
        attack.execute("CREATE DOMAIN pg_temp.uuid AS pg_catalog.uuid")
