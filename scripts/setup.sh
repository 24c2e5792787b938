#!/usr/bin/env bash
# Prepares this machine for sensa-db, idempotently: PostgreSQL 15 with PostGIS,
# pg_trgm and pgvector; a running cluster owned by the `postgres` OS user; the
# local owner role and databases; the Python virtualenv. A second run only checks.
#
# Works as root (CI) and as a normal user with sudo. Settings (environment):
#   SENSA_PGPORT      cluster port                  (default 5432)
#   SENSA_PGUSER      owner/migration login role    (default sensa_owner)
#   SENSA_PGPASSWORD  its password, local use only  (default sensa_local_only)
#   SENSA_PGDATABASE  the development database      (default sensa)
#   SENSA_PGBOUNCER_PORT  PgBouncer, transaction mode, on 127.0.0.1 (default 6432)
#   SENSA_STANDBY_PORT    hot standby cluster 15/standby, streaming (default 5433)
#   SENSA_VENV        virtualenv path               (default .venv)
# These defaults and the template's name are also in
# tools/sensa_db_tools/local_cluster.py, their home for Python (tests, seeds,
# benchmark, up.sh): this script runs before Python's packages exist, and
# tests/test_local_cluster.py fails when the two copies disagree.
set -Eeuo pipefail

PG_MAJOR=15
PGVECTOR_MIN=0.8.2
DEBIAN_POOL=http://deb.debian.org/debian/pool/main/p/pgvector
PGVECTOR_PINNED_DSC=pgvector_0.8.6-1.dsc
PGVECTOR_PINNED_SHA256=d08de2aa48b7cb70319cc896aa3d95514690d1009f96579dbe6b23c59634f4e6
PGVECTOR_PINNED_FILES=(pgvector_0.8.6.orig.tar.gz pgvector_0.8.6-1.debian.tar.xz)
PGPORT="${SENSA_PGPORT:-5432}"
PGUSER_NAME="${SENSA_PGUSER:-sensa_owner}"
PGPASSWORD_VALUE="${SENSA_PGPASSWORD:-sensa_local_only}"
PGDATABASE_NAME="${SENSA_PGDATABASE:-sensa}"
PGBOUNCER_PORT="${SENSA_PGBOUNCER_PORT:-6432}"
STANDBY_PORT="${SENSA_STANDBY_PORT:-5433}"
# Every database this project creates (dev, tests, benchmark) is cloned from
# this template, which already holds the extensions: creating `vector` and
# `postgis` needs a superuser, and the owner role deliberately is not one (as
# on RDS, where rds_superuser creates them).
TEMPLATE_DB="sensa_template"
# The template plus plpgsql_check (tests/test_plpgsql_check.py): the checker is
# not a trusted extension, so only a superuser can create it, here.
CHECKS_TEMPLATE_DB="sensa_template_plpgsql_check"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${SENSA_VENV:-$REPO_ROOT/.venv}"

step() { printf '\033[1m==> %s\033[0m\n' "$*"; }
note() { printf '    %s\n' "$*"; }
die() { printf '\033[31msetup failed: %s\033[0m\n' "$*" >&2; exit 1; }
trap 'die "command \"${BASH_COMMAND}\" exited with status $? (line ${LINENO})"' ERR

if [ "$(id -u)" -eq 0 ]; then
  as_root() { "$@"; }
  as_postgres() { runuser -u postgres -- "$@"; }
elif command -v sudo >/dev/null 2>&1; then
  as_root() { sudo "$@"; }
  as_postgres() { sudo -u postgres "$@"; }
else
  die "run as root, or install sudo: packages and the cluster need administrator rights"
fi

. /etc/os-release 2>/dev/null || die "cannot read /etc/os-release: only Debian and Ubuntu are supported"
case "${ID:-} ${ID_LIKE:-}" in
  *debian*|*ubuntu*) ;;
  *) die "unsupported OS '${PRETTY_NAME:-unknown}': only Debian and Ubuntu are supported" ;;
esac

apt_updated=0
apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$apt_updated" -eq 0 ]; then
    note "apt-get update"
    as_root apt-get update -qq >/dev/null || die "apt-get update failed: is the Debian mirror reachable?"
    apt_updated=1
  fi
  note "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || die "apt-get could not install: ${missing[*]}"
}

step "PostgreSQL ${PG_MAJOR}, PostGIS, pg_trgm, plpgsql_check, pgTAP, PgBouncer and build tools"
apt_install "postgresql-${PG_MAJOR}" "postgresql-${PG_MAJOR}-postgis-3" "postgresql-server-dev-${PG_MAJOR}" \
  postgresql-common build-essential dpkg-dev curl python3-venv \
  pgbouncer "postgresql-${PG_MAJOR}-plpgsql-check" "postgresql-${PG_MAJOR}-pgtap"
PG_SHARE="/usr/share/postgresql/${PG_MAJOR}/extension"
[ -f "$PG_SHARE/pg_trgm.control" ] || die "pg_trgm is missing from $PG_SHARE (postgresql-${PG_MAJOR} is incomplete)"
[ -f "$PG_SHARE/postgis.control" ] || die "postgis is missing from $PG_SHARE"

step "pgvector >= ${PGVECTOR_MIN}"
# pgvector releases before 0.8.2 can build a corrupt HNSW index in parallel
# (CVE-2026-3172) and corrupt one under concurrent inserts and VACUUM.
# bookworm does not package pgvector; Debian unstable's source package is a
# current 0.8.x and builds cleanly against postgresql-server-dev-15.
pgvector_version() { sed -n "s/^default_version = '\(.*\)'/\1/p" "$PG_SHARE/vector.control" 2>/dev/null; }
version_at_least() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n 1)" = "$2" ]; }
if [ -f "$PG_SHARE/vector.control" ] && version_at_least "$(pgvector_version)" "$PGVECTOR_MIN"; then
  note "present: $(pgvector_version)"
else
  [ -f "$PG_SHARE/vector.control" ] && note "replacing pgvector $(pgvector_version): below ${PGVECTOR_MIN}"
  src_list=/etc/apt/sources.list.d/sensa-db-sid-src.sources
  if [ ! -f "$src_list" ]; then
    note "adding a deb-src entry for Debian unstable (sources only, no binaries)"
    printf 'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: sid\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
      | as_root tee "$src_list" >/dev/null
    as_root apt-get update -qq >/dev/null || die "apt-get update failed after adding the unstable deb-src entry"
  fi
  build_dir="$(mktemp -d)"
  (
    cd "$build_dir"
    # The newest version apt's (signed) index names; a mirror may not serve it
    # yet, so fall back to a release pinned by the SHA-256 of its .dsc, whose
    # own checksums dpkg-source then verifies on the tarballs.
    if apt-get source --download-only pgvector >/dev/null 2>&1; then
      dpkg-source -x --no-check ./pgvector_*.dsc pgvector >/dev/null
    else
      rm -f ./pgvector_*
      note "the mirror does not serve the newest pgvector source; taking pinned ${PGVECTOR_PINNED_DSC}"
      for file in "$PGVECTOR_PINNED_DSC" "${PGVECTOR_PINNED_FILES[@]}"; do
        curl -fsSLO "${DEBIAN_POOL}/${file}" || die "cannot download ${DEBIAN_POOL}/${file}"
      done
      echo "${PGVECTOR_PINNED_SHA256}  ${PGVECTOR_PINNED_DSC}" | sha256sum --quiet -c - \
        || die "${PGVECTOR_PINNED_DSC} does not match its pinned SHA-256: refusing it"
      dpkg-source -x --require-strong-checksums --no-check "./${PGVECTOR_PINNED_DSC}" pgvector >/dev/null \
        || die "the pgvector tarballs do not match their .dsc's checksums"
    fi
    cd pgvector
    # OPTFLAGS="" : no -march=native, so the build runs on any CPU of the fleet.
    # It costs the schema's searches nothing: pgvector picks its F16C/AVX/FMA
    # halfvec distance kernels at run time (and FMA clones of the vector ones),
    # so the HNSW scans ran as fast as with -march=x86-64-v3 (docs/BENCHMARKS.md).
    # Only the vector-to-halfvec cast is software here (about 2x slower), which
    # no function applies per row.
    note "building $(basename "$(ls "$build_dir"/pgvector_*.dsc)" .dsc)"
    make -s OPTFLAGS="" PG_CONFIG="/usr/lib/postgresql/${PG_MAJOR}/bin/pg_config" >/dev/null 2>&1 || die "pgvector failed to build"
    as_root make -s install PG_CONFIG="/usr/lib/postgresql/${PG_MAJOR}/bin/pg_config" >/dev/null || die "pgvector failed to install"
  )
  rm -rf "$build_dir"
  version_at_least "$(pgvector_version)" "$PGVECTOR_MIN" \
    || die "Debian's source package gave pgvector '$(pgvector_version)', below ${PGVECTOR_MIN} (CVE-2026-3172, HNSW corruption): refusing it"
  note "installed: $(pgvector_version)"
fi

step "cluster ${PG_MAJOR}/main on port ${PGPORT}"
if ! pg_lsclusters -h 2>/dev/null | awk '{print $1"/"$2}' | grep -qx "${PG_MAJOR}/main"; then
  note "creating the cluster (owned by the postgres OS user)"
  as_root pg_createcluster "${PG_MAJOR}" main --port "$PGPORT" >/dev/null
fi
conf_d="/etc/postgresql/${PG_MAJOR}/main/conf.d"
# Settings the project needs, rewritten whenever they change. pgvector >= 0.8.2
# builds HNSW indexes in parallel safely, so PostgreSQL's defaults stand
# (earlier set-ups wrote max_parallel_maintenance_workers = 0 here).
# max_connections: the benchmark's 64 direct pgbench clients run while PgBouncer
# still holds its pools (20 server connections per database and login), beside
# the standby's walsender and the tests' own; PostgreSQL's 100 is not enough. A
# hot standby needs at least the primary's value (below).
MAX_CONNECTIONS=200
cluster_conf="$(printf '%s\n' "# Written by sensa-db scripts/setup.sh; edits are overwritten." \
  "listen_addresses = 'localhost'" "max_connections = ${MAX_CONNECTIONS}")"
if [ "$(cat "$conf_d/sensa-db.conf" 2>/dev/null)" != "$cluster_conf" ]; then
  note "writing $conf_d/sensa-db.conf"
  printf '%s\n' "$cluster_conf" | as_root tee "$conf_d/sensa-db.conf" >/dev/null
  as_root pg_ctlcluster "${PG_MAJOR}" main restart 2>/dev/null || true
fi
status="$(pg_lsclusters -h | awk -v v="${PG_MAJOR}" '$1==v && $2=="main" {print $4}')"
if [ "$status" != "online" ]; then
  note "starting"
  as_root pg_ctlcluster "${PG_MAJOR}" main start || die "the cluster did not start: see /var/log/postgresql/postgresql-${PG_MAJOR}-main.log"
fi
actual_port="$(pg_lsclusters -h | awk -v v="${PG_MAJOR}" '$1==v && $2=="main" {print $3}')"
[ "$actual_port" = "$PGPORT" ] || die "cluster ${PG_MAJOR}/main listens on ${actual_port}, not ${PGPORT}: set SENSA_PGPORT=${actual_port}"

psql_super() { as_postgres psql -X -q -v ON_ERROR_STOP=1 -p "$PGPORT" "$@"; }

step "role ${PGUSER_NAME} and databases ${PGDATABASE_NAME}, ${TEMPLATE_DB}, ${CHECKS_TEMPLATE_DB}"
# The owner role is what migrations run as: it owns the databases and may
# create roles, but is not a superuser and cannot bypass RLS, exactly like the
# master user of an RDS instance.
psql_super -d postgres -v role="$PGUSER_NAME" -v pw="$PGPASSWORD_VALUE" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN', :'role')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('ALTER ROLE %I LOGIN NOSUPERUSER CREATEDB CREATEROLE NOBYPASSRLS PASSWORD %L', :'role', :'pw') \gexec
SQL
if ! psql_super -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '${TEMPLATE_DB}'" | grep -q 1; then
  psql_super -d postgres -c "CREATE DATABASE ${TEMPLATE_DB} OWNER \"${PGUSER_NAME}\""
fi
psql_super -d "$TEMPLATE_DB" <<'SQL'
CREATE EXTENSION IF NOT EXISTS vector;
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS postgis;
-- A template made before pgvector's upgrade still holds the old extension version.
ALTER EXTENSION vector UPDATE;
SQL
psql_super -d postgres -c "ALTER DATABASE ${TEMPLATE_DB} WITH IS_TEMPLATE true"
if ! psql_super -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '${CHECKS_TEMPLATE_DB}'" | grep -q 1; then
  psql_super -d postgres -c "CREATE DATABASE ${CHECKS_TEMPLATE_DB} OWNER \"${PGUSER_NAME}\" TEMPLATE ${TEMPLATE_DB}"
fi
# In a schema of its own, out of public: the schema comparisons never see it.
psql_super -d "$CHECKS_TEMPLATE_DB" -v role="$PGUSER_NAME" <<'SQL'
ALTER EXTENSION vector UPDATE;
CREATE SCHEMA IF NOT EXISTS plpgsql_check;
CREATE EXTENSION IF NOT EXISTS plpgsql_check SCHEMA plpgsql_check;
GRANT USAGE ON SCHEMA plpgsql_check TO :"role";
SQL
psql_super -d postgres -c "ALTER DATABASE ${CHECKS_TEMPLATE_DB} WITH IS_TEMPLATE true"
if ! psql_super -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '${PGDATABASE_NAME}'" | grep -q 1; then
  psql_super -d postgres -c "CREATE DATABASE \"${PGDATABASE_NAME}\" OWNER \"${PGUSER_NAME}\" TEMPLATE ${TEMPLATE_DB}"
fi
# On RDS the migrating login creates the extensions (the initial revision) and
# owns their functions; here the superuser creates them in the template. The
# login takes PostGIS's statistics functions over, as on RDS, so that the
# revision that takes them away from PUBLIC does here what it does there.
for db in "$TEMPLATE_DB" "$CHECKS_TEMPLATE_DB" "$PGDATABASE_NAME"; do
  psql_super -d "$db" -v role="$PGUSER_NAME" <<'SQL'
SELECT format('ALTER FUNCTION %s OWNER TO %I', p.oid::regprocedure, :'role')
FROM pg_proc p
JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'postgis'
WHERE p.proname IN ('_postgis_stats', '_postgis_selectivity', '_postgis_join_selectivity',
                    '_postgis_index_extent', 'st_estimatedextent')
  AND p.proowner <> :'role'::regrole \gexec
SQL
done

step "hot standby ${PG_MAJOR}/standby on port ${STANDBY_PORT}, streaming from ${PG_MAJOR}/main"
# A second cluster made with pg_basebackup, like an RDS read replica: tests
# run the read-only work there. It replicates as the postgres OS user over the
# local socket (Debian's pg_hba allows `local replication all peer`), so the
# primary needs no replication role or pg_hba entry of ours.
STANDBY_DATA="/var/lib/postgresql/${PG_MAJOR}/standby"
STANDBY_SLOT=sensa_db_standby
cluster_status() { pg_lsclusters -h 2>/dev/null | awk -v v="${PG_MAJOR}" -v c="$1" '$1==v && $2==c {print $4}'; }
standby_streaming() {
  [ "$(as_postgres psql -X -tAq -p "$STANDBY_PORT" -d postgres \
    -c "SELECT pg_is_in_recovery() AND EXISTS (SELECT FROM pg_stat_wal_receiver WHERE status = 'streaming')" 2>/dev/null)" = t ]
}
wait_for_streaming() {
  for _ in $(seq 1 60); do standby_streaming && return 0; sleep 0.5; done
  return 1
}
standby_conf="$(printf '%s\n' "# Written by sensa-db scripts/setup.sh; edits are overwritten." \
  "listen_addresses = 'localhost'" "hot_standby = on" "max_connections = ${MAX_CONNECTIONS}" \
  "# Queries on the standby hold back the primary's vacuum instead of being cancelled." \
  "hot_standby_feedback = on")"
standby_conf_file="/etc/postgresql/${PG_MAJOR}/standby/conf.d/sensa-db.conf"
if [ -d "$(dirname "$standby_conf_file")" ] && [ "$(cat "$standby_conf_file" 2>/dev/null)" != "$standby_conf" ]; then
  # A standby whose settings fall below the primary's pauses its replay until
  # it restarts with them.
  note "writing $standby_conf_file"
  printf '%s\n' "$standby_conf" | as_root tee "$standby_conf_file" >/dev/null
  if [[ "$(cluster_status standby)" == online* ]]; then
    as_root pg_ctlcluster "${PG_MAJOR}" standby restart
  fi
fi
if [[ "$(cluster_status standby)" == down* ]]; then
  # Stopped with the machine's processes: its slot kept the WAL it needs.
  note "starting"
  as_root pg_ctlcluster "${PG_MAJOR}" standby start 2>/dev/null || true
fi
if [[ "$(cluster_status standby)" == online* ]] && wait_for_streaming; then
  note "streaming"
else
  # Made afresh whenever it does not stream: a standby stopped for long may
  # have fallen behind the WAL the primary keeps, and its data is all replay.
  if pg_lsclusters -h 2>/dev/null | awk '{print $1"/"$2}' | grep -qx "${PG_MAJOR}/standby"; then
    note "not streaming: dropping and recreating it"
    as_root pg_dropcluster --stop "${PG_MAJOR}" standby
  fi
  # A replication slot keeps the primary's WAL until the standby has it: the
  # tests create databases fast enough to recycle a segment before a standby
  # without one reads it. max_slot_wal_keep_size bounds what a stopped standby
  # can hold back (it is then made afresh here).
  replication_conf="$(printf '%s\n' "# Written by sensa-db scripts/setup.sh; edits are overwritten." \
    "max_slot_wal_keep_size = '4GB'")"
  if [ "$(cat "$conf_d/sensa-db-replication.conf" 2>/dev/null)" != "$replication_conf" ]; then
    printf '%s\n' "$replication_conf" | as_root tee "$conf_d/sensa-db-replication.conf" >/dev/null
    as_root pg_ctlcluster "${PG_MAJOR}" main reload
  fi
  psql_super -d postgres -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
    WHERE slot_name = '${STANDBY_SLOT}' AND NOT active" >/dev/null
  note "pg_basebackup of ${PG_MAJOR}/main"
  as_root pg_createcluster "${PG_MAJOR}" standby --port "$STANDBY_PORT" >/dev/null
  printf '%s\n' "$standby_conf" | as_root tee "$standby_conf_file" >/dev/null
  as_postgres rm -rf "$STANDBY_DATA"
  as_postgres pg_basebackup -h /var/run/postgresql -p "$PGPORT" -D "$STANDBY_DATA" \
    --write-recovery-conf --wal-method=stream --checkpoint=fast --create-slot --slot="$STANDBY_SLOT" \
    || die "pg_basebackup from ${PG_MAJOR}/main failed"
  as_root pg_ctlcluster "${PG_MAJOR}" standby start \
    || die "the standby did not start: see /var/log/postgresql/postgresql-${PG_MAJOR}-standby.log"
  wait_for_streaming || die "the standby started but does not stream from ${PG_MAJOR}/main"
  note "streaming"
fi

step "PgBouncer on 127.0.0.1:${PGBOUNCER_PORT}, transaction pooling, in front of ${PG_MAJOR}/main"
# Our own instance, configured and run from a directory this script owns: the
# Debian package's default service (same port, empty [databases]) is stopped.
PGBOUNCER_DIR=/var/lib/postgresql/sensa-db-pgbouncer
PGBOUNCER_PID="$PGBOUNCER_DIR/pgbouncer.pid"
# Pid files are read as postgres: our directory is private to it (userlist.txt).
pid_in() { as_postgres cat "$1" 2>/dev/null; }
pgbouncer_running() { local pid; pid="$(pid_in "$PGBOUNCER_PID")" && [ -n "$pid" ] && as_postgres kill -0 "$pid" 2>/dev/null; }
port_listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet pgbouncer 2>/dev/null; then
  note "stopping and disabling Debian's default pgbouncer service"
  as_root systemctl disable --now pgbouncer >/dev/null 2>&1
fi
debian_pid="$(pid_in /var/run/postgresql/pgbouncer.pid || true)"
if [ -n "$debian_pid" ] && as_postgres kill -0 "$debian_pid" 2>/dev/null; then
  note "stopping Debian's default pgbouncer (pid $debian_pid)"
  as_postgres kill "$debian_pid"
  for _ in $(seq 1 20); do port_listening "$PGBOUNCER_PORT" || break; sleep 0.25; done
fi
as_root install -d -o postgres -g postgres -m 0700 "$PGBOUNCER_DIR"
# Every login tests, seeds and the benchmark use on the local cluster shares
# the owner's local-only password (tools/sensa_db_tools/local_cluster.py).
PGBOUNCER_LOGINS=("$PGUSER_NAME" sensa_test_app sensa_test_worker sensa_test_admin sensa_bench_app sensa_bench_admin)
userlist="$(for login in "${PGBOUNCER_LOGINS[@]}"; do printf '"%s" "%s"\n' "$login" "$PGPASSWORD_VALUE"; done)"
pgbouncer_ini="$(cat <<INI
; Written by sensa-db scripts/setup.sh; edits are overwritten.
[databases]
; Any database name, test databases included, goes to the primary.
* = host=127.0.0.1 port=${PGPORT}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = ${PGBOUNCER_PORT}
unix_socket_dir =
pool_mode = transaction
auth_type = scram-sha-256
auth_file = ${PGBOUNCER_DIR}/userlist.txt
max_client_conn = 500
default_pool_size = 20
; Not run in transaction mode (server_reset_query_always = 0): the learner
; context is per transaction and ignored outside the transaction that set it.
server_reset_query = DISCARD ALL
ignore_startup_parameters = extra_float_digits
admin_users = ${PGUSER_NAME}
logfile = ${PGBOUNCER_DIR}/pgbouncer.log
pidfile = ${PGBOUNCER_PID}
INI
)"
config_changed=0
if [ "$(as_postgres cat "$PGBOUNCER_DIR/pgbouncer.ini" 2>/dev/null)" != "$pgbouncer_ini" ] \
   || [ "$(as_postgres cat "$PGBOUNCER_DIR/userlist.txt" 2>/dev/null)" != "$userlist" ]; then
  note "writing $PGBOUNCER_DIR/pgbouncer.ini and userlist.txt"
  printf '%s\n' "$pgbouncer_ini" | as_postgres tee "$PGBOUNCER_DIR/pgbouncer.ini" >/dev/null
  ( umask 077; printf '%s\n' "$userlist" | as_postgres tee "$PGBOUNCER_DIR/userlist.txt" >/dev/null )
  config_changed=1
fi
if pgbouncer_running && [ "$config_changed" -eq 1 ]; then
  note "restarting with the new configuration"
  as_postgres kill "$(pid_in "$PGBOUNCER_PID")"
  for _ in $(seq 1 40); do pgbouncer_running || break; sleep 0.25; done
fi
if pgbouncer_running; then
  note "running (pid $(pid_in "$PGBOUNCER_PID"))"
else
  port_listening "$PGBOUNCER_PORT" && die "port ${PGBOUNCER_PORT} is taken by another process: set SENSA_PGBOUNCER_PORT"
  as_postgres pgbouncer -d -q "$PGBOUNCER_DIR/pgbouncer.ini" \
    || die "PgBouncer did not start: see $PGBOUNCER_DIR/pgbouncer.log"
  for _ in $(seq 1 40); do port_listening "$PGBOUNCER_PORT" && break; sleep 0.25; done
  port_listening "$PGBOUNCER_PORT" || die "PgBouncer does not listen on ${PGBOUNCER_PORT}: see $PGBOUNCER_DIR/pgbouncer.log"
  note "started (pid $(pid_in "$PGBOUNCER_PID"))"
fi

step "Python virtualenv ${VENV}"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV" || die "cannot create a virtualenv (python3-venv missing?)"
fi
stamp="$VENV/.sensa-db-installed"
if [ ! -f "$stamp" ] || [ "$REPO_ROOT/pyproject.toml" -nt "$stamp" ] || [ "$REPO_ROOT/tools/pyproject.toml" -nt "$stamp" ]; then
  # The runtime (what the API installs) and, beside it, the tooling: the
  # sensa-db command, seeds, docs generator, migration lint and benchmark.
  note "pip install -e .[test,dev] -e ./tools[bench]"
  "$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null
  "$VENV/bin/python" -m pip install -q -e "$REPO_ROOT[test,dev]" -e "$REPO_ROOT/tools[bench]" \
    || die "pip could not install the project's dependencies"
  touch "$stamp"
else
  note "up to date"
fi

step "ready"
note "DATABASE_URL=postgresql://${PGUSER_NAME}:${PGPASSWORD_VALUE}@localhost:${PGPORT}/${PGDATABASE_NAME}"
note "through PgBouncer: port ${PGBOUNCER_PORT}; hot standby (read-only): port ${STANDBY_PORT}"
