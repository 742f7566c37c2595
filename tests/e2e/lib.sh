# tests/e2e/lib.sh — start and stop tallyd and a throwaway PostgreSQL 15, load data.
#
# Sourced by the end-to-end suites, tools/demo.sh and bench/skeleton.sh. Every server
# started here listens on 127.0.0.1 only, on a port picked free at start, lives in a
# temporary directory, and is stopped by its own pid from an EXIT trap (tl_cleanup):
# nothing is found or killed by name.
#
# After `tl_pg_start`:     TL_PG_PORT, TL_PG_PID, TL_PG_DIR
# After `tl_tallyd_start`: TL_TALLY_PORT, TL_TALLY_PID, TL_TALLY_DIR, TL_TALLY_LOG
# Both: `tl_psql PORT [psql args...]` runs psql as superuser postgres on that port.

TL_PGBIN=${TL_PGBIN:-/usr/lib/postgresql/15/bin}
TL_PYTHON=${TL_PYTHON:-/usr/bin/python3} # Debian's python: it has psycopg2
TL_TMP_ROOT=${TL_TMP_ROOT:-${TMPDIR:-/tmp}}
TL_TABLES=(dim_orgs dim_users dim_scenarios dim_time fact_scenario_attempts fact_kpi_events)
TL_CLEANUP_DIRS=()
TL_PSQL_TIMEOUT=${TL_PSQL_TIMEOUT:-600} # seconds: a server that stops answering fails the step

tl_log() { echo "# $*" >&2; }
tl_die() { echo "lib.sh: $*" >&2; exit 1; }

# A port nobody listens on now. Another process may take it before we bind; the
# start functions retry with a new port when their server fails to come up.
tl_free_port() {
    "$TL_PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

tl_psql() {
    local port=$1; shift
    PGCONNECT_TIMEOUT=10 timeout "$TL_PSQL_TIMEOUT" psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d postgres "$@"
}

# Wait until a server on PORT answers `select 1`, while PID lives. 0 = up.
tl_wait_ready() {
    local port=$1 pid=$2 secs=${3:-60} i
    for ((i = 0; i < secs * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || return 1
        if [ "$(PGCONNECT_TIMEOUT=2 psql -X -At -h 127.0.0.1 -p "$port" -U postgres -d postgres \
                -c 'select 1' 2>/dev/null)" = 1 ]; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

# PostgreSQL refuses to run as root: as root, the cluster's files belong to and its
# programs run as the Debian package's `postgres` user.
tl__pg_run() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

tl_pg_start() {
    [ -x "$TL_PGBIN/initdb" ] || tl_die "no PostgreSQL 15 in $TL_PGBIN (run tools/setup.sh)"
    TL_PG_DIR=$(mktemp -d "$TL_TMP_ROOT/tally-pg.XXXXXX")
    TL_CLEANUP_DIRS+=("$TL_PG_DIR")
    [ "$(id -u)" = 0 ] && chown postgres: "$TL_PG_DIR"
    tl__pg_run "$TL_PGBIN/initdb" -D "$TL_PG_DIR/data" -U postgres --auth=trust -E UTF8 \
        --locale=C.UTF-8 >"$TL_PG_DIR/initdb.log" 2>&1 ||
        { cat "$TL_PG_DIR/initdb.log" >&2; tl_die "initdb failed"; }
    local try
    for try in 1 2 3; do
        TL_PG_PORT=$(tl_free_port)
        if tl__pg_run "$TL_PGBIN/pg_ctl" -D "$TL_PG_DIR/data" -l "$TL_PG_DIR/server.log" -w -t 60 \
               -o "-p $TL_PG_PORT -k $TL_PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off \
-c synchronous_commit=off -c full_page_writes=off -c timezone=UTC -c max_wal_size=4GB \
-c shared_buffers=${TL_PG_SHARED_BUFFERS:-256MB} ${TL_PG_OPTS:-}" start >/dev/null; then
            TL_PG_PID=$(head -n 1 "$TL_PG_DIR/data/postmaster.pid")
            return 0
        fi
    done
    cat "$TL_PG_DIR/server.log" >&2
    tl_die "PostgreSQL did not start"
}

# The stop functions run from EXIT traps, also in scripts under `set -e` (bench/,
# tools/): `local -` keeps their `set +e`, so a kill of a process already gone cannot
# end the cleanup half-way and leave a server running.
tl_pg_stop() {
    local -
    set +e
    [ -n "${TL_PG_PID:-}" ] || return 0
    tl__pg_run "$TL_PGBIN/pg_ctl" -D "$TL_PG_DIR/data" -m fast -w -t 30 stop >/dev/null 2>&1 ||
        kill -KILL "$TL_PG_PID" 2>/dev/null || true
    TL_PG_PID=
}

# tl_tallyd_start TALLYD [DATA_DIR]: a fresh temporary data dir unless one is given.
tl_tallyd_start() {
    local bin=$1 try
    [ -x "$bin" ] || tl_die "no tallyd at $bin"
    TL_TALLY_DIR=${2:-}
    if [ -z "$TL_TALLY_DIR" ]; then
        TL_TALLY_DIR=$(mktemp -d "$TL_TMP_ROOT/tally-db.XXXXXX")
        TL_CLEANUP_DIRS+=("$TL_TALLY_DIR")
    fi
    TL_TALLY_LOG=${TL_TALLY_LOG:-$TL_TALLY_DIR/tallyd.log}
    for try in 1 2 3; do
        TL_TALLY_PORT=${TL_TALLY_FIXED_PORT:-$(tl_free_port)}
        # TL_TALLY_MEMORY=1: no --data-dir (no WAL, no snapshots), as benchmarks of
        # tens of millions of rows want (the WAL of such a load is tens of GB)
        local dd=(--data-dir "$TL_TALLY_DIR")
        [ "${TL_TALLY_MEMORY:-0}" = 1 ] && dd=()
        "$bin" --listen 127.0.0.1 --port "$TL_TALLY_PORT" "${dd[@]}" \
            --database postgres ${TL_TALLY_ARGS:-} >>"$TL_TALLY_LOG" 2>&1 &
        TL_TALLY_PID=$!
        if tl_wait_ready "$TL_TALLY_PORT" "$TL_TALLY_PID" "${TL_TALLY_START_SECS:-60}"; then
            return 0
        fi
        kill -TERM "$TL_TALLY_PID" 2>/dev/null && wait "$TL_TALLY_PID" 2>/dev/null
        TL_TALLY_PID=
    done
    tail -n 30 "$TL_TALLY_LOG" >&2
    tl_die "tallyd did not start (log: $TL_TALLY_LOG)"
}

# SIGTERM, up to 10 s to exit, then SIGKILL. TL_TALLY_STATUS: its exit status
# (128+signal if a signal ended it; 137 = it had to be killed).
tl_tallyd_stop() {
    local - i
    set +e
    [ -n "${TL_TALLY_PID:-}" ] || return 0
    kill -TERM "$TL_TALLY_PID" 2>/dev/null
    for ((i = 0; i < 100; i++)); do
        kill -0 "$TL_TALLY_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$TL_TALLY_PID" 2>/dev/null
    wait "$TL_TALLY_PID" 2>/dev/null
    TL_TALLY_STATUS=$?
    TL_TALLY_PID=
}

# After tl_tallyd_stop: empty if tallyd stopped cleanly on SIGTERM and its log holds no
# sanitizer report, else why not.
tl_tallyd_exit_problem() {
    case "${TL_TALLY_STATUS:-}" in
        0 | 143) ;;
        137) echo "tallyd did not exit within 10 s of SIGTERM"; return ;;
        *) echo "tallyd exited with status ${TL_TALLY_STATUS:-unknown}" ;;
    esac
    grep -m 5 -E 'ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY: ' "$TL_TALLY_LOG" 2>/dev/null
}

# tl_tap_finish N FAILED: after a Python suite printed N TAP checks (FAILED of them
# failed), add the last one — tallyd is still alive, then stops cleanly on SIGTERM
# (exit status, no sanitizer report in its log) — print the plan, and return non-zero
# if anything failed.
tl_tap_finish() {
    local n=$1 failed=$2 alive=0 problem
    kill -0 "$TL_TALLY_PID" 2>/dev/null && alive=1
    tl_tallyd_stop
    problem=$(tl_tallyd_exit_problem)
    n=$((n + 1))
    if [ "$alive" = 1 ] && [ -z "$problem" ]; then
        echo "ok $n - tallyd ran through the suite and stopped cleanly on SIGTERM"
    else
        failed=$((failed + 1))
        echo "not ok $n - tallyd ran through the suite and stopped cleanly on SIGTERM"
        [ "$alive" = 1 ] || echo "#   tallyd had died before the end of the suite"
        [ -z "$problem" ] || echo "$problem" | sed 's/^/#   /'
        tail -n 20 "$TL_TALLY_LOG" | sed 's/^/#   log: /'
    fi
    echo "1..$n"
    echo "# $((n - failed)) passed, $failed failed"
    [ "$failed" = 0 ]
}

tl_cleanup() {
    local - d
    set +e
    tl_tallyd_stop
    tl_pg_stop
    if [ "${TL_KEEP_TMP:-0}" != 1 ]; then
        for d in "${TL_CLEANUP_DIRS[@]}"; do rm -rf "$d"; done
    fi
}

# tl_load PORT SCHEMA_SQL CSV_DIR OUT: run the schema file, then psql's \copy of each
# table's CSV (columns from its header line). Appends one line per step to OUT:
#   schema ok|error SECONDS
#   TABLE ROWS SECONDS              (ROWS from psql's "COPY n" tag)
#   TABLE error SECONDS MESSAGE
# Returns non-zero if any step failed; every step runs regardless.
tl_load() {
    local port=$1 schema=$2 dir=$3 out=$4 t cols t0 t1 res rc=0 msg
    t0=$(date +%s.%N)
    if msg=$(tl_psql "$port" -f "$schema" 2>&1 >/dev/null); then
        echo "schema ok $(tl__since "$t0")" >>"$out"
    else
        echo "schema error $(tl__since "$t0") $(echo "$msg" | head -n 3 | tr '\n' ' ')" >>"$out"
        rc=1
    fi
    for t in "${TL_TABLES[@]}"; do
        [ -f "$dir/$t.csv" ] || continue
        cols=$(head -n 1 "$dir/$t.csv" | tr -d '\r')
        t0=$(date +%s.%N)
        # Without -q psql prints \copy's "COPY n" tag: the server's own row count.
        if res=$(PGCONNECT_TIMEOUT=10 timeout "$TL_PSQL_TIMEOUT" psql -X -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" \
                    -U postgres -d postgres \
                    -c "\\copy $t ($cols) from '$dir/$t.csv' with (format csv, header)" 2>&1); then
            t1=$(tl__since "$t0")
            res=$(echo "$res" | sed -n 's/^COPY \([0-9]*\)$/\1/p')
            echo "$t ${res:-?} $t1" >>"$out"
        else
            echo "$t error $(tl__since "$t0") $(echo "$res" | head -n 3 | tr '\n' ' ')" >>"$out"
            rc=1
        fi
    done
    return $rc
}

tl__since() { awk -v now="$(date +%s.%N)" -v t0="$1" 'BEGIN { printf "%.3f", now - t0 }'; }
