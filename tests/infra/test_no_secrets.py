"""No secret value is written in the configuration, its examples, or its outputs."""

from __future__ import annotations

import re
from pathlib import Path

import hcl2
import pytest

from tests.infra.configuration import (
    ENVIRONMENTS,
    INFRA,
    environment,
    is_expression,
    iter_attributes,
    iter_strings,
    load,
    platform_module,
    terraform_directories,
)

pytestmark = pytest.mark.infra

SOURCE_FILES = sorted([*INFRA.rglob("*.tf"), *INFRA.rglob("*.tfvars.example")])
SOURCE_IDS = [str(path.relative_to(INFRA)) for path in SOURCE_FILES]

# Attributes and variables whose value is a credential when it is a literal.
SECRET_NAME = re.compile(
    r"(^|_)(password|passwd|passphrase|secret|secret_string|token|api_key|access_key|"
    r"secret_key|private_key|credentials?)$",
    re.IGNORECASE,
)
# Shapes of credentials whatever they are assigned to.
SECRET_SHAPES = {
    "AWS access key ID": re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "URL with a password": re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@", re.IGNORECASE),
}
# Expressions an output must not carry: the values behind the secrets.
SECRET_VALUE_REFERENCES = re.compile(
    r"random_password\.|\.secret_string\b|\.auth_token\b|\.password\b|"
    r"aws_secretsmanager_secret_version\.|\.master_user_secret\[0\]\.(?!secret_arn)"
)


def _parsed(path: Path) -> dict:
    with path.open(encoding="utf-8") as handle:
        return hcl2.load(handle)


@pytest.mark.parametrize("path", SOURCE_FILES, ids=SOURCE_IDS)
def test_no_credential_shaped_text(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    found = [name for name, shape in SECRET_SHAPES.items() if shape.search(text)]
    assert found == []


@pytest.mark.parametrize("path", SOURCE_FILES, ids=SOURCE_IDS)
def test_secret_attributes_are_never_literals(path: Path) -> None:
    literals = [
        f"{where}.{key}"
        for where, key, value in iter_attributes(_parsed(path))
        if SECRET_NAME.search(key) and isinstance(value, str) and not is_expression(value)
    ]
    assert literals == []


@pytest.mark.parametrize("directory", terraform_directories(), ids=lambda p: p.name)
def test_no_variable_carries_a_secret(directory: Path) -> None:
    assert [name for name in load(directory).variables if SECRET_NAME.search(name)] == []


@pytest.mark.parametrize("directory", terraform_directories(), ids=lambda p: p.name)
def test_outputs_give_secret_arns_never_secret_values(directory: Path) -> None:
    exposing = {
        name: expression
        for name, output in load(directory).outputs.items()
        for expression in iter_strings(output["value"])
        if SECRET_VALUE_REFERENCES.search(expression)
    }
    assert exposing == {}


@pytest.mark.parametrize("environment_name", ENVIRONMENTS)
def test_secret_arns_are_published_for_the_application(environment_name: str) -> None:
    outputs = environment(environment_name).outputs
    assert outputs["rds_master_secret_arn"]["value"] == "${module.platform.db_master_secret_arn}"
    assert platform_module().outputs["db_master_secret_arn"]["value"] == (
        "${local.db_writer.secret_arn}"
    )
    writer = platform_module().locals["db_writer"]
    assert "aws_rds_cluster.aurora[0].master_user_secret[0].secret_arn" in writer
    assert "aws_db_instance.primary[0].master_user_secret[0].secret_arn" in writer
    assert outputs["redis_auth_secret_arn"]["value"] == "${module.platform.redis_auth_secret_arn}"


def test_the_scan_recognises_a_literal_secret(tmp_path: Path) -> None:
    planted = tmp_path / "planted.tf"
    planted.write_text(
        'resource "aws_db_instance" "x" {\n  password = "hunter2hunter2"\n}\n', encoding="utf-8"
    )
    flagged = [
        key
        for _, key, value in iter_attributes(_parsed(planted))
        if SECRET_NAME.search(key) and isinstance(value, str) and not is_expression(value)
    ]
    assert flagged == ["password"]
    assert SECRET_VALUE_REFERENCES.search("${random_password.redis_auth_token.result}")
    assert not SECRET_VALUE_REFERENCES.search(
        "${aws_db_instance.primary.master_user_secret[0].secret_arn}"
    )
