#!/usr/bin/env bash
# The whole test suite: sets up what is missing, then lint, types and pytest
# against the real local PostgreSQL. Extra arguments go to pytest.
set -Eeuo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"

"$REPO_ROOT/scripts/setup.sh"
"$REPO_ROOT/scripts/install-infra-tools.sh"

step() { printf '\033[1m==> %s\033[0m\n' "$*"; }
step "ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
step "mypy --strict sensa_db sensa_db_tools"
.venv/bin/mypy
step "squawk over every revision's SQL"
.venv/bin/sensa-db lint-migrations
step "pytest"
.venv/bin/pytest "$@"
