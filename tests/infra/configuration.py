"""Reading the Terraform under infra/ as data, for the tests in this package.

Every ``.tf`` file of a directory is parsed with python-hcl2 and the blocks of
all files are merged, as Terraform does. String values keep Terraform's own
spelling of expressions (``"${var.name}"``), so a literal and a reference are
told apart by the ``${`` prefix.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import hcl2
from hcl2.utils import SerializationOptions

REPO_ROOT = Path(__file__).resolve().parents[2]
INFRA = REPO_ROOT / "infra"
MODULE = INFRA / "modules" / "platform"
BOOTSTRAP = INFRA / "bootstrap"
ENVIRONMENTS = ("Development", "Production")

_OPTIONS = SerializationOptions(
    with_comments=False, explicit_blocks=False, strip_string_quotes=True
)
_WHOLE_VARIABLE_REFERENCE = re.compile(r"^\$\{var\.([a-z0-9_]+)\}$")


@dataclass(frozen=True)
class TerraformDirectory:
    """The merged top-level blocks of one directory's ``.tf`` files."""

    path: Path
    blocks: dict[str, list[Any]]

    def _labelled(self, kind: str) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for block in self.blocks.get(kind, []):
            merged.update(block)
        return merged

    @property
    def variables(self) -> dict[str, dict[str, Any]]:
        return self._labelled("variable")

    @property
    def outputs(self) -> dict[str, dict[str, Any]]:
        return self._labelled("output")

    @property
    def module_calls(self) -> dict[str, dict[str, Any]]:
        return self._labelled("module")

    @property
    def locals(self) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for block in self.blocks.get("locals", []):
            merged.update(block)
        return merged

    def _typed(self, kind: str) -> dict[tuple[str, str], dict[str, Any]]:
        found: dict[tuple[str, str], dict[str, Any]] = {}
        for block in self.blocks.get(kind, []):
            for type_name, by_name in block.items():
                for name, body in by_name.items():
                    found[(type_name, name)] = body
        return found

    @property
    def resources(self) -> dict[tuple[str, str], dict[str, Any]]:
        return self._typed("resource")

    @property
    def data_sources(self) -> dict[tuple[str, str], dict[str, Any]]:
        return self._typed("data")

    def resource(self, type_name: str, name: str) -> dict[str, Any]:
        return self.resources[(type_name, name)]

    @property
    def terraform_settings(self) -> dict[str, Any]:
        (settings,) = self.blocks["terraform"]
        return settings

    @property
    def backend(self) -> tuple[str, dict[str, Any]]:
        (backend,) = self.terraform_settings["backend"]
        ((kind, settings),) = backend.items()
        return kind, settings

    @property
    def providers(self) -> dict[str, dict[str, Any]]:
        merged: dict[str, dict[str, Any]] = {}
        for block in self.blocks.get("provider", []):
            merged.update(block)
        return merged

    @property
    def required_providers(self) -> dict[str, dict[str, Any]]:
        (providers,) = self.terraform_settings["required_providers"]
        return providers

    def variable_default(self, name: str) -> Any:
        """The default of a variable; a variable without one is set per deployment."""
        variable = self.variables[name]
        if "default" not in variable:
            raise LookupError(f"var.{name} of {self.path.name} has no default")
        return variable["default"]


@cache
def load(path: Path) -> TerraformDirectory:
    blocks: dict[str, list[Any]] = {}
    for tf_file in sorted(path.glob("*.tf")):
        with tf_file.open(encoding="utf-8") as handle:
            parsed = hcl2.load(handle, serialization_options=_OPTIONS)
        for kind, kind_blocks in parsed.items():
            blocks.setdefault(kind, []).extend(kind_blocks)
    return TerraformDirectory(path=path, blocks=blocks)


def environment(name: str) -> TerraformDirectory:
    return load(INFRA / name)


def platform_module() -> TerraformDirectory:
    return load(MODULE)


def platform_call(environment_name: str) -> dict[str, Any]:
    """The arguments an environment passes to the shared platform module."""
    return environment(environment_name).module_calls["platform"]


def platform_argument(environment_name: str, name: str) -> Any:
    """What an environment effectively gives the module for ``name``.

    An argument that is a plain ``var.x`` resolves to that variable's default in
    the environment, and stays the expression when the variable has no default
    (each deployment sets it); an argument the environment leaves out resolves
    to the module's default.
    """
    call = platform_call(environment_name)
    if name not in call:
        return platform_module().variable_default(name)
    value = call[name]
    if isinstance(value, str) and (match := _WHOLE_VARIABLE_REFERENCE.match(value)):
        variable = environment(environment_name).variables[match.group(1)]
        return variable.get("default", value)
    return value


def iter_strings(value: Any) -> Iterator[str]:
    """Every string found anywhere in a parsed value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from iter_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from iter_strings(item)


def iter_attributes(value: Any, path: str = "") -> Iterator[tuple[str, str, Any]]:
    """(path, key, value) of every attribute at any depth of a parsed value."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield path, key, item
            yield from iter_attributes(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from iter_attributes(item, f"{path}[{index}]")


def is_expression(value: Any) -> bool:
    return isinstance(value, str) and "${" in value


def terraform_directories() -> tuple[Path, ...]:
    """Every directory of infra/ that holds Terraform configuration."""
    return tuple(sorted({tf_file.parent for tf_file in INFRA.rglob("*.tf")}))
