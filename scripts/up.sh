#!/usr/bin/env bash
# The main job: a local PostgreSQL 15 (pgvector, PostGIS, pg_trgm) with the
# Sensa Learn schema migrated to head and the development data loaded. Safe to
# run again at any time.
set -Eeuo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"

"$REPO_ROOT/scripts/setup.sh"

# The local cluster's defaults live in sensa_db_tools.local_cluster (and, for
# setup.sh, which runs before any package exists, in setup.sh alone).
DATABASE_URL="${DATABASE_URL:-$("$REPO_ROOT/.venv/bin/python" -m sensa_db_tools.local_cluster)}"
export DATABASE_URL
printf '\033[1m==> %s\033[0m\n' "alembic upgrade head"
"$REPO_ROOT/.venv/bin/alembic" upgrade head
printf '\033[1m==> %s\033[0m\n' "sensa-db seed (development data; a second run adds nothing)"
"$REPO_ROOT/.venv/bin/sensa-db" seed
printf '\033[1m==> %s\033[0m\n' "done: the database is at $("$REPO_ROOT/.venv/bin/alembic" current 2>/dev/null | tail -n 1)"
printf '    export DATABASE_URL=%s\n' "$DATABASE_URL"
