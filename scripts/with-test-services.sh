#!/usr/bin/env bash
# Bring up what the tests need from the system, run the given command, tear it down again.
#
#  - Chromium (Debian's `chromium`) for the report tests in a real browser;
#  - a throw-away PostgreSQL cluster for the register tests (WORKBENCH_TEST_PG_URL).
#
# Each is installed when missing and possible (root with apt-get). When it cannot be had, the tests that need
# it skip with the reason; under CI=true tests/conftest.py turns such a skip into a failure.
set -uo pipefail

log() { printf '[test-services] %s\n' "$*" >&2; }

apt_install() {
    if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
        log "cannot install $* (need root and apt-get); the tests that need it will skip"
        return 1
    fi
    if [[ -z ${_APT_UPDATED:-} ]]; then
        apt-get update -qq >/dev/null 2>&1 || log "apt-get update failed"
        _APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1
}

# --- Chromium -----------------------------------------------------------------------------------------
if [[ ! -x /usr/bin/chromium ]]; then
    log "installing Debian's chromium"
    apt_install chromium || true
fi
[[ -x /usr/bin/chromium ]] && log "chromium: $(/usr/bin/chromium --version 2>/dev/null | head -1)"

# --- PostgreSQL -----------------------------------------------------------------------------------------
pg_cleanup=""
if [[ -z ${WORKBENCH_TEST_PG_URL:-} ]]; then
    if ! command -v pg_createcluster >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
        log "installing Debian's postgresql"
        apt_install postgresql || true
    fi
    if command -v pg_createcluster >/dev/null 2>&1 && ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
        pg_version=$(ls /usr/lib/postgresql | sort -V | tail -1)
        pg_name="wbtest$$"
        pg_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
        if pg_createcluster "$pg_version" "$pg_name" -p "$pg_port" -- --auth=trust >/dev/null 2>&1 \
            && pg_ctlcluster "$pg_version" "$pg_name" start >/dev/null 2>&1; then
            export WORKBENCH_TEST_PG_URL="postgresql+psycopg://postgres@127.0.0.1:${pg_port}/postgres"
            log "postgresql $pg_version cluster $pg_name on port $pg_port"
            pg_cleanup="pg_ctlcluster $pg_version $pg_name stop >/dev/null 2>&1; pg_dropcluster $pg_version $pg_name >/dev/null 2>&1"
        else
            log "could not start a PostgreSQL cluster; the PostgreSQL tests will skip"
            pg_dropcluster --stop "$pg_version" "$pg_name" >/dev/null 2>&1 || true
        fi
    fi
fi

cleanup() { [[ -n $pg_cleanup ]] && eval "$pg_cleanup"; }
trap cleanup EXIT

"$@"
status=$?
exit $status
