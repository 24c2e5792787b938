"""The login creation the docs give sets each login its role's LOGIN_SETTINGS: a
login created by hand on RDS gets the timeouts the local ones get."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sensa_db.security import LOGIN_SETTINGS

REPO = Path(__file__).resolve().parents[2]
GRANT = re.compile(r"GRANT (?:rds_iam, )?(\w+)\s+TO (\w+);")
SETTING = re.compile(r"ALTER ROLE (\w+) SET (\w+) = '([^']+)';")


def expected_settings(text: str) -> dict[str, dict[str, str]]:
    """LOGIN_SETTINGS for each login the text grants a role that has them."""
    return {
        login: dict(LOGIN_SETTINGS[role])
        for role, login in GRANT.findall(text)
        if role in LOGIN_SETTINGS
    }


def documented_settings(text: str) -> dict[str, dict[str, str]]:
    """Each documented login's settings, keyed by the login."""
    settings: dict[str, dict[str, str]] = {}
    for login, name, value in SETTING.findall(text):
        settings.setdefault(login, {})[name] = value
    return settings


@pytest.mark.parametrize("document", ["README.md", "docs/SECURITY.md", "infra/README.md"])
def test_every_documented_login_gets_its_roles_settings(document: str) -> None:
    text = (REPO / document).read_text()
    assert expected_settings(text), f"{document} creates no login"
    assert documented_settings(text) == expected_settings(text)


def test_control_a_missing_setting_is_caught() -> None:
    text = "GRANT sensa_app TO api_login;\nALTER ROLE api_login SET lock_timeout = '5s';\n"
    assert documented_settings(text) != expected_settings(text)
