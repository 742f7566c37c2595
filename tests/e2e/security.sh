#!/usr/bin/env bash
# tests/e2e/security.sh TALLYD SRCDIR
#
# Authentication (SCRAM, md5, trust, failures), TLS with a certificate made here by the
# openssl CLI, the privilege matrix against PostgreSQL 15 doing the same grants, the
# org-scoping leak test and the limits (connections, message size, nesting, idle in
# transaction) — security.py speaks TAP. tallyd runs with a rule file: postgres is
# trusted on loopback, md5user needs md5 over TLS, everyone else SCRAM.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
trap tl_cleanup EXIT

tallyd=$1
work=$(mktemp -d "$TL_TMP_ROOT/tally-sec.XXXXXX")
TL_CLEANUP_DIRS+=("$work")

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/key.pem" -out "$work/cert.pem" -days 2 \
    -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" >"$work/openssl.log" 2>&1 ||
    { echo "Bail out! openssl could not make a test certificate: $(cat "$work/openssl.log")"; exit 1; }
chmod 600 "$work/key.pem"
cat >"$work/hba.conf" <<'HBA'
# TYPE    DATABASE USER     ADDRESS       METHOD
host      all      postgres 127.0.0.1/32  trust
hostssl   all      md5user  127.0.0.1/32  md5
hostnossl all      md5user  127.0.0.1/32  reject
host      all      all      127.0.0.1/32  scram-sha-256
HBA

tl_pg_start
TL_TALLY_ARGS="--hba $work/hba.conf --ssl-cert $work/cert.pem --ssl-key $work/key.pem --max-connections 100 --max-statement-memory 256MB"
tl_tallyd_start "$tallyd"
tl_log "PostgreSQL on $TL_PG_PORT, tallyd on $TL_TALLY_PORT"
"$TL_PYTHON" "$here/security.py" "$TL_TALLY_PORT" "$TL_PG_PORT" "$work" "$TL_TALLY_PID"
rc=$?
tl_tallyd_stop
exit $rc
