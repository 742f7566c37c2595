#!/usr/bin/env bash
# tests/e2e/auth_clients.sh TALLYD SRCDIR BUILDDIR
#
# Each authentication method (trust, scram-sha-256, md5, password) and each failure,
# and TLS (sslmode=require, verify-full), driven by node-postgres and pgjdbc — psql and
# psycopg2 are covered by security.sh. The same rule file, users and certificate are
# given to a throwaway PostgreSQL 15: whatever it answers (success or SQLSTATE) is what
# tally must answer. auth_clients.py speaks TAP. node's `pg` is installed by npm into
# BUILDDIR/e2e-node on first use; Auth.java is compiled into BUILDDIR/e2e-java.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
trap tl_cleanup EXIT

tallyd=$1 build=$3
work=$(mktemp -d "$TL_TMP_ROOT/tally-auth.XXXXXX")
TL_CLEANUP_DIRS+=("$work")
chmod 755 "$work"

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/key.pem" -out "$work/cert.pem" -days 2 \
    -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" >"$work/openssl.log" 2>&1 ||
    { echo "Bail out! openssl could not make a test certificate: $(cat "$work/openssl.log")"; exit 1; }
chmod 600 "$work/key.pem"
cat >"$work/hba.conf" <<'HBA'
# TYPE    DATABASE USER         ADDRESS       METHOD
host      all      postgres     127.0.0.1/32  trust
host      all      trust_user   127.0.0.1/32  trust
host      all      md5_user     127.0.0.1/32  md5
host      all      pw_user      127.0.0.1/32  password
hostssl   all      tls_user     127.0.0.1/32  scram-sha-256
hostnossl all      tls_user     127.0.0.1/32  reject
host      all      all          127.0.0.1/32  scram-sha-256
HBA

tl_pg_start
# the oracle gets the same rules and certificate (its files belong to its own user)
cp "$work/hba.conf" "$TL_PG_DIR/data/pg_hba.conf"
cp "$work/cert.pem" "$work/key.pem" "$TL_PG_DIR/"
[ "$(id -u)" = 0 ] && chown postgres: "$TL_PG_DIR/data/pg_hba.conf" "$TL_PG_DIR/cert.pem" "$TL_PG_DIR/key.pem"
tl_psql "$TL_PG_PORT" -c "alter system set ssl = on" -c "alter system set ssl_cert_file = '$TL_PG_DIR/cert.pem'" \
    -c "alter system set ssl_key_file = '$TL_PG_DIR/key.pem'" -c "select pg_reload_conf()" >/dev/null ||
    { echo "Bail out! could not configure the PostgreSQL oracle"; exit 1; }
sleep 0.5
TL_TALLY_ARGS="--hba $work/hba.conf --ssl-cert $work/cert.pem --ssl-key $work/key.pem"
tl_tallyd_start "$tallyd"
tl_log "PostgreSQL on $TL_PG_PORT, tallyd on $TL_TALLY_PORT"
"$TL_PYTHON" "$here/auth_clients.py" "$TL_TALLY_PORT" "$TL_PG_PORT" "$work" "$here/clients" "$build"
rc=$?
kill -0 "$TL_TALLY_PID" 2>/dev/null || { echo "# tallyd died"; rc=1; }
tl_tallyd_stop
problem=$(tl_tallyd_exit_problem)
[ -z "$problem" ] || { echo "# $problem"; rc=1; }
exit $rc
