#!/usr/bin/env bash
# Installs the offline tools the infrastructure tests (tests/infra) need beyond
# the project's own virtualenv: checkov, in a virtualenv of its own, because its
# vendored HCL parser pins a python-hcl2 fork that clashes with the python-hcl2
# release the tests parse Terraform with. Idempotent: a second run only checks.
#
# Works as root (CI) and as a normal user; needs python3 with venv and a
# reachable PyPI. Settings (environment):
#   SENSA_CHECKOV_VENV  virtualenv path  (default <repo>/.venv-checkov)
set -Eeuo pipefail

# A range, not a pin: checkov ships near-daily releases with new checks, and
# the tests would rather learn about a new failing check than miss it; the
# upper bound keeps a major release, with its changed output, out.
CHECKOV_SPEC="checkov>=3.3,<4"

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${SENSA_CHECKOV_VENV:-$REPO_ROOT/.venv-checkov}"

step() { printf '\033[1m==> %s\033[0m\n' "$*"; }
note() { printf '    %s\n' "$*"; }
die() { printf '\033[31minstall-infra-tools failed: %s\033[0m\n' "$*" >&2; exit 1; }
trap 'die "command \"${BASH_COMMAND}\" exited with status $? (line ${LINENO})"' ERR

step "checkov (${CHECKOV_SPEC}) in ${VENV}"
if [ ! -x "$VENV/bin/python" ]; then
  note "creating the virtualenv"
  python3 -m venv "$VENV" || die "cannot create a virtualenv at ${VENV} (is python3-venv installed?)"
fi

# The stamp records the spec it was made for, so that changing CHECKOV_SPEC
# reinstalls, and an interrupted install (no stamp) is retried.
stamp="$VENV/.sensa-db-installed"
if [ -x "$VENV/bin/checkov" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$CHECKOV_SPEC" ]; then
  note "up to date: checkov $("$VENV/bin/checkov" --version)"
else
  note "pip install ${CHECKOV_SPEC} (a few minutes on a fresh machine)"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip \
    || die "pip could not upgrade itself in ${VENV}: is PyPI reachable?"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check "$CHECKOV_SPEC" \
    || die "pip could not install ${CHECKOV_SPEC} into ${VENV}: is PyPI reachable? (see pip's message above)"
  [ -x "$VENV/bin/checkov" ] || die "pip finished but ${VENV}/bin/checkov is missing"
  printf '%s\n' "$CHECKOV_SPEC" >"$stamp"
  note "installed: checkov $("$VENV/bin/checkov" --version)"
fi

step "ready"
note "CHECKOV_BIN=${VENV}/bin/checkov"
