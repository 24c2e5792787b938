#!/usr/bin/env bash
# The main job: a local PostgreSQL 15 (pgvector, PostGIS, pg_trgm) with the
# Sensa Learn schema migrated to head and the development data loaded. Safe to
# run again at any time.
set -Eeuo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"

"$REPO_ROOT/scripts/setup.sh"

export DATABASE_URL="${DATABASE_URL:-postgresql://${SENSA_PGUSER:-sensa_owner}:${SENSA_PGPASSWORD:-sensa_local_only}@localhost:${SENSA_PGPORT:-5432}/${SENSA_PGDATABASE:-sensa}}"
printf '\033[1m==> %s\033[0m\n' "alembic upgrade head"
"$REPO_ROOT/.venv/bin/alembic" upgrade head
printf '\033[1m==> %s\033[0m\n' "sensa-db seed (development data; a second run adds nothing)"
"$REPO_ROOT/.venv/bin/sensa-db" seed
printf '\033[1m==> %s\033[0m\n' "done: the database is at $("$REPO_ROOT/.venv/bin/alembic" current 2>/dev/null | tail -n 1)"
printf '    export DATABASE_URL=%s\n' "$DATABASE_URL"
