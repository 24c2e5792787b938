"""State lives where bootstrap puts it, one state per environment and developer."""

from __future__ import annotations

import re

import pytest

from tests.infra.configuration import BOOTSTRAP, ENVIRONMENTS, INFRA, environment, load

pytestmark = pytest.mark.infra

README = INFRA / "README.md"


def bootstrap_default(name: str) -> str:
    return load(BOOTSTRAP).variable_default(name)


@pytest.mark.parametrize("environment_name", ENVIRONMENTS)
def test_backend_is_the_bootstrapped_encrypted_and_locked_bucket(environment_name: str) -> None:
    kind, settings = environment(environment_name).backend
    assert kind == "s3"
    assert settings["bucket"] == bootstrap_default("state_bucket_name")
    assert settings["dynamodb_table"] == bootstrap_default("lock_table_name")
    assert settings["kms_key_id"] == bootstrap_default("state_key_alias")
    assert settings["region"] == bootstrap_default("aws_region")
    assert settings["encrypt"] is True


def test_state_keys_are_distinct_per_environment_and_developer() -> None:
    _, production = environment("Production").backend
    assert production["key"] == "production/terraform.tfstate"
    _, development = environment("Development").backend
    # Each developer gives their own key at init; a fixed one would be shared.
    assert "key" not in development
    readme = README.read_text(encoding="utf-8")
    assert (
        'terraform init -backend-config="key=development/<developer_id>/terraform.tfstate"'
        in readme
    )


def test_developer_id_names_every_development_resource() -> None:
    call = environment("Development").module_calls["platform"]
    assert call["name_prefix"] == "sensa-dev-${var.developer_id}"
    assert "default" not in environment("Development").variables["developer_id"]


def test_bootstrap_protects_what_it_creates() -> None:
    bootstrap = load(BOOTSTRAP)
    for resource in [
        ("aws_s3_bucket", "state"),
        ("aws_s3_bucket", "access_logs"),
        ("aws_dynamodb_table", "locks"),
        ("aws_kms_key", "state"),
    ]:
        (lifecycle,) = bootstrap.resource(*resource)["lifecycle"]
        assert lifecycle["prevent_destroy"] is True, resource
    table = bootstrap.resource("aws_dynamodb_table", "locks")
    assert table["hash_key"] == "LockID"
    (recovery,) = table["point_in_time_recovery"]
    assert recovery["enabled"] is True
    encryption = bootstrap.resource("aws_s3_bucket_server_side_encryption_configuration", "state")
    assert "aws:kms" in str(encryption)
    # bootstrap itself keeps local state: it cannot live in the bucket it creates.
    assert "backend" not in bootstrap.terraform_settings


@pytest.mark.parametrize(
    "topic",
    [
        r"## 1\. Bootstrap the state",
        r"## 2\. Development",
        r"## 3\. Production",
        r"terraform plan -out=",
        r"alembic upgrade head",
        r"DATABASE_URL",
        r"SENSA_DB_SECRET_ID",
        r"generate-db-auth-token",
        r"## Cost estimate",
        r"\*\*≈ \$[^*]+\*\*",
        r"## Teardown",
        r"terraform destroy",
        r"pgvector 0\.8\.2",
        r"SELECT extversion FROM pg_extension WHERE extname = 'vector'",
        r"ALTER EXTENSION vector UPDATE",
        r"## RDS Proxy \(Production\)",
        r"\*\*Readers are reached directly\.\*\*",
        r"\*\*Development has no proxy\.\*\*",
        r"## Development's database: RDS instance or Aurora Serverless v2",
        r"\*\*Resuming takes about 15 seconds\*\*",
        r"\*\*What keeps it awake\*\*",
        r"\| Database \| db\.t4g\.medium \+ 50 GiB ≈ \$53; or Aurora Serverless v2",
    ],
)
def test_readme_covers(topic: str) -> None:
    assert re.search(topic, README.read_text(encoding="utf-8"))
