"""What the shared module guarantees to every environment, read from its code."""

from __future__ import annotations

import re

import pytest

from tests.infra.configuration import (
    ENVIRONMENTS,
    environment,
    platform_argument,
    platform_module,
)

pytestmark = pytest.mark.infra


def parameters(kind: str, name: str) -> dict[str, str]:
    group = platform_module().resource(kind, name)
    return {parameter["name"]: parameter["value"] for parameter in group["parameter"]}


def parameter_group() -> dict[str, str]:
    assert platform_module().resource("aws_db_parameter_group", "postgres15")["family"] == (
        "postgres15"
    )
    return parameters("aws_db_parameter_group", "postgres15")


SERIAL_BUILDS_UNLESS_SAFE = '${local.pgvector_parallel_builds_safe ? "2" : "0"}'


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("log_min_duration_statement", "1000"),
        ("log_statement", "ddl"),
        ("rds.force_ssl", "1"),
        ("shared_preload_libraries", "pg_stat_statements"),
        ("max_parallel_maintenance_workers", SERIAL_BUILDS_UNLESS_SAFE),
        ("max_connections", "${tostring(var.db_max_connections)}"),
    ],
)
def test_parameter_group_setting(name: str, value: str) -> None:
    assert parameter_group()[name] == value


def test_aurora_runs_the_instances_engine_settings() -> None:
    """The Aurora cluster's parameter group and the RDS instance's are the same settings;
    max_connections, an instance setting in Aurora, is in the Aurora instances' group."""
    cluster = parameters("aws_rds_cluster_parameter_group", "aurora_postgres15")
    instances = parameters("aws_db_parameter_group", "aurora_postgres15")
    assert cluster == {k: v for k, v in parameter_group().items() if k != "max_connections"}
    assert instances == {"max_connections": parameter_group()["max_connections"]}


def test_database_instance_security_and_observability() -> None:
    primary = platform_module().resource("aws_db_instance", "primary")
    assert primary["engine"] == "postgres"
    assert platform_module().variable_default("db_engine_version") == "15"
    assert primary["storage_type"] == "gp3"
    assert primary["storage_encrypted"] is True
    assert primary["kms_key_id"] == "${local.kms_key_arn}"
    assert primary["manage_master_user_password"] is True
    assert "password" not in primary
    assert primary["iam_database_authentication_enabled"] is True
    assert primary["performance_insights_enabled"] is True
    assert primary["monitoring_interval"] == "${local.db_monitoring_interval_seconds}"
    assert platform_module().locals["db_monitoring_interval_seconds"] > 0
    assert "postgresql" in platform_module().locals["db_log_exports"]
    assert primary["publicly_accessible"] is False
    assert primary["parameter_group_name"] == "${aws_db_parameter_group.postgres15[0].name}"
    assert primary["count"] == "${local.aurora ? 0 : 1}"
    assert primary["multi_az"] == "${var.db_multi_az}"
    assert primary["backup_retention_period"] == "${var.db_backup_retention_days}"
    assert primary["deletion_protection"] == "${var.deletion_protection}"
    assert primary["skip_final_snapshot"] == "${!var.db_final_snapshot_on_destroy}"


def test_database_lives_in_private_subnets_only() -> None:
    subnet_group = platform_module().resource("aws_db_subnet_group", "main")
    assert subnet_group["subnet_ids"] == "${aws_subnet.private[*].id}"
    public = platform_module().resource("aws_subnet", "public")
    assert public["map_public_ip_on_launch"] is False


def test_development_database_storage() -> None:
    assert platform_argument("Development", "db_allocated_storage_gb") == 50


def test_read_replica_matches_the_primary() -> None:
    replica = platform_module().resource("aws_db_instance", "replica")
    assert replica["count"] == "${local.db_replica_count}"
    assert platform_module().locals["db_replica_count"] == (
        "${local.aurora ? 0 : var.db_read_replica_count}"
    )
    assert replica["replicate_source_db"] == "${aws_db_instance.primary[0].identifier}"
    assert replica["instance_class"] == "${var.db_instance_class}"
    assert replica["storage_encrypted"] is True


def test_redis_is_encrypted_and_authenticated_from_secrets_manager() -> None:
    module = platform_module()
    redis = module.resource("aws_elasticache_replication_group", "main")
    assert redis["at_rest_encryption_enabled"] is True
    assert redis["transit_encryption_enabled"] is True
    assert redis["auth_token"] == "${random_password.redis_auth_token.result}"
    stored = module.resource("aws_secretsmanager_secret_version", "redis_auth_token")
    assert stored["secret_string"] == "${random_password.redis_auth_token.result}"
    assert redis["automatic_failover_enabled"] == "${var.redis_multi_az}"
    assert redis["multi_az_enabled"] == "${var.redis_multi_az}"
    assert module.locals["redis_node_count"] == "${var.redis_multi_az ? length(local.azs) : 1}"


def test_nat_gateways_follow_the_requested_count() -> None:
    module = platform_module()
    assert module.resource("aws_nat_gateway", "main")["count"] == "${var.nat_gateway_count}"
    assert module.resource("aws_flow_log", "vpc")["traffic_type"] == "ALL"


def test_log_groups_use_the_environment_retention() -> None:
    log_groups = platform_module().resource("aws_cloudwatch_log_group", "this")
    assert log_groups["retention_in_days"] == "${var.log_retention_days}"
    assert log_groups["kms_key_id"] == "${local.kms_key_arn}"


@pytest.mark.parametrize(
    ("bucket_resource", "policy_resource"),
    [("data", "data"), ("logs", "logs")],
)
def test_buckets_refuse_requests_without_tls(bucket_resource: str, policy_resource: str) -> None:
    module = platform_module()
    assert ("aws_s3_bucket", bucket_resource) in module.resources
    policy = module.resource("aws_s3_bucket_policy", policy_resource)["policy"]
    assert '"aws:SecureTransport" = "false"' in policy
    assert 'Effect = "Deny"' in policy


def test_data_buckets_use_the_environment_key() -> None:
    encryption = platform_module().resource(
        "aws_s3_bucket_server_side_encryption_configuration", "data"
    )
    (rule,) = encryption["rule"]
    (default,) = rule["apply_server_side_encryption_by_default"]
    assert default == {"sse_algorithm": "aws:kms", "kms_master_key_id": "${local.kms_key_arn}"}
    assert set(platform_module().locals["data_buckets"]) == {"uploads", "artifacts"}


def test_load_balancer_serves_tls_12_or_newer_and_redirects_http() -> None:
    module = platform_module()
    https = module.resource("aws_lb_listener", "https")
    assert https["protocol"] == "HTTPS"
    assert https["ssl_policy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    http = module.resource("aws_lb_listener", "http_redirect")
    (action,) = http["default_action"]
    (redirect,) = action["redirect"]
    assert (http["protocol"], action["type"]) == ("HTTP", "redirect")
    assert redirect == {"port": "443", "protocol": "HTTPS", "status_code": "HTTP_301"}


def test_upload_intake_lambda_has_a_dead_letter_queue_and_runs_in_the_vpc() -> None:
    function = platform_module().resource("aws_lambda_function", "upload_intake")
    (dead_letter,) = function["dead_letter_config"]
    assert dead_letter["target_arn"] == '${aws_sqs_queue.this["upload-intake-dlq"].arn}'
    (vpc,) = function["vpc_config"]
    assert vpc["subnet_ids"] == "${aws_subnet.private[*].id}"


def test_every_queue_is_encrypted_and_work_has_a_dead_letter_queue() -> None:
    module = platform_module()
    queue = module.resource("aws_sqs_queue", "this")
    assert queue["kms_master_key_id"] == "${local.kms_key_arn}"
    assert set(module.locals["queues"]) == {"processing", "processing-dlq", "upload-intake-dlq"}
    redrive = module.resource("aws_sqs_queue_redrive_policy", "processing")["redrive_policy"]
    assert 'aws_sqs_queue.this["processing-dlq"].arn' in redrive


def test_api_task_role_reads_uploads_and_connects_as_its_login_and_nothing_else() -> None:
    document = platform_module().data_sources[("aws_iam_policy_document", "api_task")]
    granted = {
        (action, resource)
        for statement in document["statement"]
        for action in statement["actions"]
        # A list of ARNs, or one expression that is the list.
        for resource in (
            [statement["resources"]]
            if isinstance(statement["resources"], str)
            else statement["resources"]
        )
    }
    uploads = '${aws_s3_bucket.data["uploads"].arn}'
    assert granted == {
        ("s3:GetObject", f"{uploads}/*"),
        ("s3:ListBucket", uploads),
        ("rds-db:connect", '${local.db_connect_arns["api"]}'),
        # Only as a consequence of those reads: the condition below says so.
        ("kms:Decrypt", "${local.kms_key_arn}"),
    }
    (decrypt,) = [s for s in document["statement"] if s["actions"] == ["kms:Decrypt"]]
    (condition,) = decrypt["condition"]
    assert condition["variable"] == "kms:ViaService"
    assert sorted(condition["values"]) == ["s3.${var.aws_region}.amazonaws.com"]


def test_services_have_separate_execution_and_task_roles() -> None:
    definition = platform_module().resource("aws_ecs_task_definition", "this")
    assert definition["execution_role_arn"] == "${aws_iam_role.ecs_execution[each.key].arn}"
    assert definition["task_role_arn"] == "${aws_iam_role.ecs_task[each.key].arn}"


def test_no_iam_statement_grants_wildcard_actions() -> None:
    module = platform_module()
    documents = [
        body for (kind, _), body in module.data_sources.items() if kind == "aws_iam_policy_document"
    ]
    assert documents
    for document in documents:
        for statement in document["statement"]:
            assert not any(action.endswith("*") for action in statement["actions"]), statement


@pytest.mark.parametrize("environment_name", ENVIRONMENTS)
def test_default_tags(environment_name: str) -> None:
    (default_tags,) = environment(environment_name).providers["aws"]["default_tags"]
    tags = default_tags["tags"]
    assert tags["Project"] == "sensa-learn"
    assert tags["Environment"] == environment_name.lower()
    expected_developer = "${var.developer_id}" if environment_name == "Development" else "shared"
    assert tags["Developer"] == expected_developer


_ALARM_ENTRY = re.compile(
    r'namespace = "(?P<namespace>[^"]+)", metric = "(?P<metric>[^"]+)", '
    r"dimensions = \{[^}]*\}, statistic = \"[^\"]+\", "
    r'comparison = "(?P<comparison>[^"]+)", threshold = (?P<threshold>[^}]+)\}'
)


def test_every_environment_alarms_on_the_required_metrics() -> None:
    module = platform_module()
    alarms = {
        (entry["namespace"], entry["metric"]): (entry["comparison"], entry["threshold"])
        for entry in _ALARM_ENTRY.finditer(module.locals["resource_alarms"])
    }
    assert alarms == {
        ("AWS/RDS", "CPUUtilization"): ("GreaterThanThreshold", "80"),
        ("AWS/RDS", "DatabaseConnections"): (
            "GreaterThanThreshold",
            "floor(var.db_max_connections * 0.8)",
        ),
        ("AWS/RDS", "FreeStorageSpace"): (
            "LessThanThreshold",
            "var.db_allocated_storage_gb * local.gib * 0.2",
        ),
        ("AWS/RDS", "ReplicaLag"): ("GreaterThanThreshold", "30"),
        ("AWS/ElastiCache", "EngineCPUUtilization"): ("GreaterThanThreshold", "80"),
        ("AWS/ElastiCache", "DatabaseMemoryUsagePercentage"): ("GreaterThanThreshold", "80"),
        ("AWS/ECS", "CPUUtilization"): ("GreaterThanThreshold", "80"),
        ("AWS/ECS", "MemoryUtilization"): ("GreaterThanThreshold", "80"),
        ("ECS/ContainerInsights", "RunningTaskCount"): ("LessThanThreshold", "settings.count.min"),
        ("AWS/RDS", "DatabaseConnectionsCurrentlySessionPinned"): ("GreaterThanThreshold", "0"),
        ("AWS/RDS", "DatabaseConnectionsBorrowLatency"): ("GreaterThanThreshold", "100000"),
    }
    assert module.locals["gib"] == "${1024 * 1024 * 1024}"


def test_alarms_notify_an_encrypted_topic_and_a_dashboard_exists() -> None:
    module = platform_module()
    alarm = module.resource("aws_cloudwatch_metric_alarm", "this")
    assert alarm["alarm_actions"] == ["${aws_sns_topic.alerts.arn}"]
    topic = module.resource("aws_sns_topic", "alerts")
    assert topic["kms_master_key_id"] == "${local.kms_key_arn}"
    assert ("aws_cloudwatch_dashboard", "main") in module.resources
