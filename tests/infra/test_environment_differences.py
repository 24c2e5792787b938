"""Development and Production call the same module; these are all the ways they differ."""

from __future__ import annotations

from typing import Any

import pytest

from tests.infra.configuration import (
    environment,
    platform_argument,
    platform_call,
    platform_module,
)

pytestmark = pytest.mark.infra

# Every module argument whose effective value differs between the two
# environments, with the value each one must have. A difference that is not
# in this table fails test_no_undeclared_differences.
ENVIRONMENT_DIFFERENCES: list[tuple[str, Any, Any]] = [
    # (module argument, Development, Production)
    ("environment", "development", "production"),
    ("name_prefix", "sensa-dev-${var.developer_id}", "sensa-prod"),
    ("vpc_cidr", "10.1.0.0/16", "10.0.0.0/16"),
    ("nat_gateway_count", 1, 2),
    ("db_instance_class", "db.t4g.medium", "db.r6g.large"),
    ("db_allocated_storage_gb", 50, 100),
    ("db_max_allocated_storage_gb", 100, 1000),
    ("db_max_connections", 400, 1600),
    ("db_multi_az", False, True),
    ("deletion_protection", False, True),
    ("db_backup_retention_days", 7, 30),
    ("db_final_snapshot_on_destroy", False, True),
    ("db_read_replica_count", 0, 1),
    # RDS Proxy in front of Production's writer; Development's few connections
    # need none, and a proxy would keep an Aurora writer from pausing.
    ("db_proxy_enabled", False, True),
    ("redis_node_type", "cache.t4g.micro", "cache.m7g.large"),
    ("redis_multi_az", False, True),
    ("api_task_count", {"min": 1, "max": 1}, {"min": 2, "max": 10}),
    ("worker_task_count", {"min": 1, "max": 1}, {"min": 2, "max": 10}),
    ("api_task_size", {"cpu": 512, "memory": 1024}, {"cpu": 1024, "memory": 2048}),
    ("upload_intake_reserved_concurrency", 10, 25),
    (
        "api_throttle",
        {"rate_per_second": 50, "burst": 100},
        {"rate_per_second": 500, "burst": 1000},
    ),
    ("log_retention_days", 7, 30),
    ("access_log_retention_days", 30, 365),
    ("detailed_monitoring", False, True),
    # Optional in Development; Production has no default and requires one.
    ("alert_email_addresses", [], "${var.alert_email_addresses}"),
]


# Choices a developer makes in their own copy: a Development variable passed to
# a module argument, with its default, its other values, and what Production runs.
DEVELOPMENT_OPTIONS: list[tuple[str, str, Any, list[Any], Any]] = [
    # (module argument, Development variable, default, other values, Production)
    ("db_platform", "database_platform", "rds-instance", ["aurora-serverless-v2"], "rds-instance"),
]


@pytest.mark.parametrize(
    ("argument", "variable", "default", "others", "production"),
    DEVELOPMENT_OPTIONS,
    ids=[row[0] for row in DEVELOPMENT_OPTIONS],
)
def test_development_option(
    argument: str, variable: str, default: Any, others: list[Any], production: Any
) -> None:
    assert platform_call("Development")[argument] == f"${{var.{variable}}}"
    assert environment("Development").variables[variable]["default"] == default
    assert platform_argument("Production", argument) == production
    # The module accepts each value, and the default is Production's: an
    # option is a difference only once a developer chooses it.
    accepted = platform_module().variables[argument]["validation"][0]["condition"]
    for value in (default, *others):
        assert f'"{value}"' in accepted
    assert platform_argument("Development", argument) == production


@pytest.mark.parametrize(
    ("argument", "development", "production"),
    ENVIRONMENT_DIFFERENCES,
    ids=[row[0] for row in ENVIRONMENT_DIFFERENCES],
)
def test_environment_difference(argument: str, development: Any, production: Any) -> None:
    assert development != production, f"{argument} is listed as a difference but is equal"
    assert platform_argument("Development", argument) == development
    assert platform_argument("Production", argument) == production


def test_no_undeclared_differences() -> None:
    arguments = (set(platform_call("Development")) | set(platform_call("Production"))) - {"source"}
    differing = {
        argument
        for argument in arguments
        if platform_argument("Development", argument) != platform_argument("Production", argument)
    }
    assert differing == {row[0] for row in ENVIRONMENT_DIFFERENCES}


def test_both_environments_use_the_same_module() -> None:
    assert platform_call("Development")["source"] == "../modules/platform"
    assert platform_call("Production")["source"] == "../modules/platform"


def test_production_nat_gateway_per_availability_zone() -> None:
    zones = platform_argument("Production", "availability_zones")
    assert len(zones) == 2
    assert platform_argument("Production", "nat_gateway_count") == len(zones)
    assert len(platform_argument("Development", "availability_zones")) == 2


@pytest.mark.parametrize("service", ["api_task_count", "worker_task_count"])
def test_production_autoscales_from_two_tasks_and_development_runs_one(service: str) -> None:
    production = platform_argument("Production", service)
    assert production["min"] >= 2
    assert production["max"] > production["min"]
    assert platform_argument("Development", service) == {"min": 1, "max": 1}


def test_every_module_argument_is_a_declared_variable() -> None:
    declared = set(platform_module().variables)
    for environment_name in ("Development", "Production"):
        passed = set(platform_call(environment_name)) - {"source"}
        assert passed <= declared, f"{environment_name} passes undeclared {passed - declared}"
