"""Running checkov, from its own virtualenv, offline, on the Terraform roots."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.infra.configuration import BOOTSTRAP, ENVIRONMENTS, INFRA, REPO_ROOT

CHECKOV_TIMEOUT_SECONDS = 300
OPTIONS = Path(__file__).resolve().parent / "options"
# Every configuration checkov scans: a root with its defaults, and a root with
# an option's variable file (an option's resources exist only when chosen).
SCANS: dict[str, tuple[Path, tuple[Path, ...]]] = {
    **{name: (INFRA / name, ()) for name in ENVIRONMENTS},
    "Development (aurora-serverless-v2)": (
        INFRA / "Development",
        (OPTIONS / "development-aurora-serverless-v2.tfvars",),
    ),
    BOOTSTRAP.name: (BOOTSTRAP, ()),
}


@dataclass(frozen=True)
class CheckovReport:
    directory: Path
    summary: dict[str, Any]
    failed: list[dict[str, Any]]
    skipped: list[dict[str, Any]]

    @property
    def skipped_ids(self) -> set[str]:
        return {check["check_id"] for check in self.skipped}


def checkov_binary() -> Path:
    configured = os.environ.get("CHECKOV_BIN")
    binary = Path(configured) if configured else REPO_ROOT / ".venv-checkov" / "bin" / "checkov"
    if not binary.is_file():
        pytest.fail(
            f"checkov is not installed at {binary}: run scripts/install-infra-tools.sh "
            "(or point CHECKOV_BIN at a checkov 3.x executable)",
            pytrace=False,
        )
    return binary


def _offline_environment() -> dict[str, str]:
    environment = {
        name: value
        for name, value in os.environ.items()
        # Either would send the scan to Prisma Cloud.
        if name not in {"BC_API_KEY", "PRISMA_API_URL"}
    }
    environment["CKV_SKIP_PACKAGE_UPDATE_CHECK"] = "true"
    environment["LOG_LEVEL"] = "ERROR"
    return environment


def scan_roots() -> dict[str, CheckovReport]:
    """One checkov scan per entry of SCANS (run side by side), keyed like it."""
    binary = checkov_binary()
    scans = {
        name: subprocess.Popen(
            [
                str(binary),
                "--directory",
                str(root),
                *[argument for var_file in var_files for argument in ("--var-file", str(var_file))],
                "--framework",
                "terraform",
                "--skip-download",
                "--output",
                "json",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_offline_environment(),
        )
        for name, (root, var_files) in SCANS.items()
    }
    reports = {}
    for name, scan in scans.items():
        stdout, stderr = scan.communicate(timeout=CHECKOV_TIMEOUT_SECONDS)
        try:
            parsed = json.loads(stdout)
        except json.JSONDecodeError:
            pytest.fail(
                f"checkov printed no JSON report for infra/{name} "
                f"(exit {scan.returncode}):\n{stderr[-3000:]}",
                pytrace=False,
            )
        # One framework gives one report; checkov lists them only for several.
        (report,) = parsed if isinstance(parsed, list) else [parsed]
        results = report.get("results", {})
        reports[name] = CheckovReport(
            directory=SCANS[name][0],
            summary=report["summary"],
            failed=results.get("failed_checks", []),
            skipped=results.get("skipped_checks", []),
        )
    return reports
