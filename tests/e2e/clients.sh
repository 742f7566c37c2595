#!/usr/bin/env bash
# tests/e2e/clients.sh TALLYD SRCDIR [WORKDIR]
#
# The real-clients harness (../shared/clients: pgjdbc replaying Metabase, psql, node-postgres,
# psycopg2, pgbench) against tallyd, with its results compared to PostgreSQL 15's recorded
# goldens. tallyd runs with a throwaway TLS certificate (the sslmode=require steps) and an hba
# file that asks reporting_user for SCRAM (the wrong-password step); the superuser loads the
# harness's schema, data and views with its load_any.sh. Each harness line becomes one TAP
# check, so the suite is green only when the whole harness passes.
#
# TALLY_CLIENTS_DIR overrides where the harness is (default SRCDIR/../shared/clients).
# WORKDIR keeps compiled MetabaseSim classes and node_modules between runs (the build dir).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
trap tl_cleanup EXIT

tallyd=$1
src=$2
clients=${TALLY_CLIENTS_DIR:-$src/../shared/clients}
[ -x "$clients/run.sh" ] || [ -f "$clients/run.sh" ] || { echo "Bail out! no clients harness at $clients"; exit 1; }
work=$(mktemp -d "$TL_TMP_ROOT/tally-clients.XXXXXX")
# TALLY_CLIENTS_KEEP=1 keeps the results, run.log and tallyd's log for debugging
if [ -n "${TALLY_CLIENTS_KEEP:-}" ]; then tl_log "keeping $work"; else TL_CLEANUP_DIRS+=("$work"); fi
cache=${3:-$work/cache}
mkdir -p "$cache"

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/key.pem" -out "$work/cert.pem" -days 2 \
    -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" >"$work/openssl.log" 2>&1 ||
    { echo "Bail out! openssl could not make a test certificate: $(cat "$work/openssl.log")"; exit 1; }
chmod 600 "$work/key.pem"
cat >"$work/hba.conf" <<'HBA'
# TYPE  DATABASE USER     ADDRESS       METHOD
host    all      postgres 127.0.0.1/32  trust
host    all      all      127.0.0.1/32  scram-sha-256
HBA

TL_TALLY_ARGS="--hba $work/hba.conf --ssl-cert $work/cert.pem --ssl-key $work/key.pem"
tl_tallyd_start "$tallyd"
tl_log "tallyd on $TL_TALLY_PORT, harness $clients"

if ! bash "$clients/setup/load_any.sh" 127.0.0.1 "$TL_TALLY_PORT" postgres postgres >"$work/load.log" 2>&1; then
    echo "1..1"
    echo "not ok 1 - load_any.sh: $(tail -c 400 "$work/load.log" | tr '\n' ' ')"
    tl_tallyd_stop
    exit 1
fi

# The harness's own verdict, line by line. CLIENTS_DATA stays the harness's (read-only) data.
CLIENTS_WORK=$cache RESULTS_DIR=$work/results \
    bash "$clients/run.sh" 127.0.0.1 "$TL_TALLY_PORT" reporting_user secure_password postgres \
    >"$work/run.log" 2>&1
rc=$?
n=0
failed=0
while IFS= read -r line; do
    case "$line" in
    "PASS "*) n=$((n + 1)); echo "ok $n - ${line#PASS }" ;;
    "FAIL "*) n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - ${line#FAIL }" ;;
    esac
done <"$work/run.log"
summary=$(tail -n 1 "$work/run.log")
n=$((n + 1))
# the harness's exit status and summary line must agree with the lines counted above
if [ "$rc" = 0 ] && [ "$failed" = 0 ] && [[ "$summary" =~ ^[0-9]+\ passed,\ 0\ failed$ ]]; then
    echo "ok $n - run.sh: $summary"
else
    failed=$((failed + 1))
    echo "not ok $n - run.sh exit $rc: $summary"
fi

tl_tallyd_stop
problem=$(tl_tallyd_exit_problem)
n=$((n + 1))
if [ -z "$problem" ]; then echo "ok $n - tallyd stopped cleanly"; else
    failed=$((failed + 1)); echo "not ok $n - tallyd: $problem"; fi
echo "1..$n"
[ "$failed" = 0 ]
