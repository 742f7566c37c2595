"""tests/e2e/bad_input.py — bad input gets PostgreSQL's error, and leaves nothing behind.

bad_input.sh has started tallyd and a throwaway PostgreSQL 15 and loaded the reporting
schema into both. Each case below is one TAP check. It sends the same input to both
servers; PostgreSQL's answer is the expectation:
  * statements: the SQLSTATE and the error position must equal PostgreSQL's, and the
    session must still answer afterwards (a failed statement never closes it);
  * COPY: the SQLSTATE and the input line number the error names must equal
    PostgreSQL's, and the table's count(*) must be what it was before (a failed COPY
    leaves no row behind);
  * INSERT: SQLSTATE, and count(*) / the primary key afterwards as on PostgreSQL;
  * raw protocol (a message with a garbage length, an unknown message type): the
    connection must end as PostgreSQL's does (with the same ErrorResponse where
    PostgreSQL sends one), and the server must go on serving an already open
    connection and a new one.
"""
import argparse
import io
import os
import random
import socket
import struct
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402
import psycopg2  # noqa: E402

FACT = "fact_scenario_attempts"
FACT_COLS = ("attempt_id,org_id,user_id,scenario_id,score,duration_seconds,talk_ms,listen_ms,"
             "started_at,ended_at,created_at")
RNG = random.Random(4242)
ORG = str(uuid.UUID(int=RNG.getrandbits(128), version=4))


def new_uuid():
    return str(uuid.UUID(int=RNG.getrandbits(128), version=4))


def good_row(**over):
    """One valid CSV row of fact_scenario_attempts; keyword arguments replace fields."""
    d = RNG.randint(60, 1200)
    talk = RNG.randint(1000, d * 1000 - 1000)
    day = RNG.randint(1, 28)
    f = dict(attempt_id=new_uuid(), org_id=ORG, user_id="user_bad_input_%d" % RNG.randint(1, 9),
             scenario_id=new_uuid(), score="%.2f" % RNG.uniform(0, 100),
             duration_seconds=str(d), talk_ms=str(talk), listen_ms=str(d * 1000 - talk),
             started_at="2025-03-%02d 10:00:00+00" % day,
             ended_at="2025-03-%02d 10:30:00+00" % day,
             created_at="2025-03-%02d 10:31:00+00" % day)
    f.update(over)
    return ",".join(f[c] for c in FACT_COLS.split(","))


class Both:
    """The same statements on tally and on the oracle."""

    def __init__(self, tally_port, pg_port):
        self.tally_port, self.pg_port = tally_port, pg_port
        self.t = lib.connect(tally_port)
        self.p = lib.connect(pg_port)

    def count(self, conn, table=FACT, where=""):
        r = lib.run(conn, "select count(*) from %s %s" % (table, where))
        return r.error if r.error else int(r.rows[0][0])


def err_of(conn, sql):
    """(sqlstate, position, message) of running sql, or None if it succeeded."""
    cur = conn.cursor()
    try:
        cur.execute(sql)
        return None
    except psycopg2.Error as e:
        return (e.pgcode, e.diag.statement_position, (e.pgerror or str(e)).strip())
    finally:
        cur.close()


def copy_err(conn, table, cols, data, options="format csv, header"):
    """(sqlstate, line, message) of a COPY FROM STDIN of `data`, or None if it succeeded."""
    cur = conn.cursor()
    try:
        sql = "copy %s (%s) from stdin with (%s)" % (table, cols, options) if cols else \
              "copy %s from stdin with (%s)" % (table, options)
        cur.copy_expert(sql, io.StringIO(data))
        return None
    except psycopg2.Error as e:
        msg = (e.pgerror or str(e)).strip()
        return (e.pgcode, lib.copy_line(e.diag.context, msg), msg)
    finally:
        cur.close()


def session_alive(conn):
    r = lib.run(conn, "select 1")
    return r.error is None and r.rows == [("1",)]


def check_error(tap, both, title, run, second=None, table=None, verify=None, sql=None):
    """Run the same bad input on both servers; one TAP check.

    run(conn) -> None if accepted, else (sqlstate, second_field, message). The SQLSTATE
    must equal PostgreSQL's, and so must the second field when `second` names it
    ("position", "line"). table: its count(*) must be unchanged on tally and equal to
    PostgreSQL's afterwards. verify: a query with equal results on both afterwards.
    Always: tally's session still answers `select 1`."""
    tap.start(title)
    before = both.count(both.t, table) if table else None
    want, got = run(both.p), run(both.t)
    problems = []
    if want is None:
        problems.append("harness: PostgreSQL accepted it")
    elif got is None:
        problems.append("tally accepted it; PostgreSQL: %s %s" % (want[0], want[2]))
    else:
        if got[0] != want[0]:
            problems.append("SQLSTATE: tally %s, PostgreSQL %s" % (got[0], want[0]))
        if second and got[1] != want[1]:
            problems.append("%s: tally %s, PostgreSQL %s" % (second, got[1], want[1]))
    if table:
        after = (both.count(both.t, table), both.count(both.p, table))
        if after[0] != before:
            problems.append("tally's count(*) of %s went from %s to %s: the failed statement "
                            "left rows behind" % (table, before, after[0]))
        if after[0] != after[1]:
            problems.append("count(*) of %s: tally %s, PostgreSQL %s" % ((table,) + after))
    if verify:
        diff = lib.compare(lib.run(both.t, verify), lib.run(both.p, verify), False)
        if diff:
            problems.append("%s: %s" % (verify, diff))
    if not session_alive(both.t):
        problems.append("tally's session did not answer `select 1` after the error")
    title += " -> %s" % (want[0] if want else "?")
    if second == "line":
        title += " line %s" % (want[1] if want else "?")
    tap.check(title, not problems,
              "\n".join(problems + (["sql: " + sql] if sql else []) +
                        ["tally said: %s" % (got[2] if got else None),
                         "PostgreSQL said: %s" % (want[2] if want else None)]))


def check_statement(tap, both, name, sql):
    """SQLSTATE and position as PostgreSQL."""
    check_error(tap, both, name, lambda c: err_of(c, sql), "position", sql=sql)


def check_copy(tap, both, name, data, table=FACT, cols=FACT_COLS, options="format csv, header"):
    """SQLSTATE and line number as PostgreSQL; count(*) unchanged."""
    check_error(tap, both, "COPY " + name, lambda c: copy_err(c, table, cols, data, options),
                "line", table=table)


def check_insert(tap, both, name, sql, verify=None):
    """SQLSTATE as PostgreSQL; count(*) unchanged, `verify` equal."""
    check_error(tap, both, name, lambda c: err_of(c, sql), table=FACT, verify=verify, sql=sql)


# ---- raw pgwire -----------------------------------------------------------------------

def _recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def read_messages(s, until_type=None, timeout=10.0):
    """Messages [(type, body)] until one of type `until_type` or EOF; closed = saw EOF.

    Returns (msgs, closed, timed_out)."""
    msgs, deadline = [], time.monotonic() + timeout
    while True:
        s.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            head = _recv_exact(s, 5)
            t, n = head[:1], struct.unpack("!i", head[1:])[0]
            body = _recv_exact(s, n - 4) if n >= 4 else b""
            msgs.append((t, body))
            if until_type and t == until_type:
                return msgs, False, False
        except (EOFError, ConnectionResetError, BrokenPipeError):
            return msgs, True, False
        except socket.timeout:
            return msgs, False, True


def error_fields(body):
    fields = {}
    for part in body.split(b"\0"):
        if part:
            fields[part[:1].decode()] = part[1:].decode(errors="replace")
    return fields


def startup_packet():
    params = b"user\0postgres\0database\0postgres\0application_name\0tally-bad-input\0\0"
    return struct.pack("!ii", 8 + len(params), 196608) + params


def raw_session(port, payload, do_startup=True):
    """Open a connection, optionally complete startup, send payload; see what happens.

    Returns dict(ready=bool, closed=bool, timed_out=bool, errors=[fields], other=[types])."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    out = dict(ready=not do_startup, closed=False, timed_out=False, errors=[], other=[])
    try:
        if do_startup:
            s.sendall(startup_packet())
            msgs, closed, _ = read_messages(s, until_type=b"Z")
            out["ready"] = bool(msgs) and msgs[-1][0] == b"Z"
            if not out["ready"]:
                return out
        try:
            s.sendall(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass
        msgs, out["closed"], out["timed_out"] = read_messages(s)
        for t, body in msgs:
            if t == b"E":
                out["errors"].append(error_fields(body))
            else:
                out["other"].append(t.decode(errors="replace"))
        return out
    finally:
        s.close()


def check_protocol(tap, both, name, payload, do_startup=True):
    """The connection ends as on PostgreSQL; the server keeps serving others."""
    tap.start(name)
    bystander = lib.connect(both.tally_port)  # opened before, must survive
    want = raw_session(both.pg_port, payload, do_startup)
    got = raw_session(both.tally_port, payload, do_startup)
    problems = []
    if not want["ready"] or not want["closed"]:
        problems.append("harness: PostgreSQL did not close the connection: %s" % want)
    if not got["ready"]:
        problems.append("tally's startup did not reach ReadyForQuery")
    elif got["timed_out"]:
        problems.append("tally kept the connection open 10 s after the bad message")
    elif not got["closed"]:
        problems.append("tally did not close the connection")
    if got["other"]:
        problems.append("tally answered with messages other than ErrorResponse: %s" % got["other"])
    want_codes = [e.get("C") for e in want["errors"]]
    got_codes = [e.get("C") for e in got["errors"]]
    if want_codes and got_codes != want_codes:
        problems.append("ErrorResponse SQLSTATEs: tally %s, PostgreSQL %s" % (got_codes, want_codes))
    if not want_codes:
        # PostgreSQL only logs these (COMMERROR) and hangs up; an error sent first is fine
        # if it is what the connection's end means: FATAL, class 08 (connection exception).
        for e in got["errors"]:
            if e.get("V", e.get("S")) != "FATAL" or not e.get("C", "").startswith("08"):
                problems.append("tally sent an ErrorResponse that is not a FATAL 08xxx: %s" % e)
    if not session_alive(bystander):
        problems.append("an already open tally connection stopped answering")
    bystander.close()
    try:
        fresh = lib.connect(both.tally_port)
        if not session_alive(fresh):
            problems.append("a new tally connection does not answer `select 1`")
        fresh.close()
    except psycopg2.Error as e:
        problems.append("a new tally connection fails: %s" % e)
    tap.check("protocol: %s -> connection closed%s, server still serving" %
              (name, " with " + ",".join(want_codes) if want_codes else ""), not problems,
              "\n".join(problems + ["tally: %s" % got, "PostgreSQL: %s" % want]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tally-port", type=int, required=True)
    ap.add_argument("--pg-port", type=int, required=True)
    a = ap.parse_args()
    tap = lib.Tap()
    tap.start("connect to tally and PostgreSQL")
    try:
        both = Both(a.tally_port, a.pg_port)
    except psycopg2.Error as e:
        tap.check("connect to tally and PostgreSQL", False, e)
        return tap

    # -- statements ------------------------------------------------------------------
    check_statement(tap, both, "malformed query (misspelt keyword)",
                    "selec count(*) from fact_scenario_attempts")
    check_statement(tap, both, "malformed query (error mid-text)",
                    "select count(*) fromm fact_scenario_attempts where score > 1")
    check_statement(tap, both, "malformed query (unexpected end of input)",
                    "select user_id from fact_scenario_attempts where score >")
    check_statement(tap, both, "unknown table", "select count(*) from no_such_table")
    check_statement(tap, both, "unknown column in the select list",
                    "select no_such_column from fact_scenario_attempts")
    check_statement(tap, both, "unknown column in WHERE",
                    "select count(*) from fact_scenario_attempts where scoree > 50")
    check_statement(tap, both, "unknown column in GROUP BY",
                    "select count(*) from fact_scenario_attempts group by no_such_column")
    check_statement(tap, both, "second of three statements fails",
                    "select 1; select * from no_such_table; select 2")

    # -- a valid COPY first, so that "nothing left behind" is measured on a non-empty table
    tap.start("COPY of 5 valid rows is accepted (setup for the cases below)")
    rows = [good_row() for _ in range(5)]
    data = FACT_COLS + "\n" + "\n".join(rows) + "\n"
    t_err, p_err = copy_err(both.t, FACT, FACT_COLS, data), copy_err(both.p, FACT, FACT_COLS, data)
    tap.check("COPY of 5 valid rows is accepted (setup for the cases below)",
              t_err is None and p_err is None and both.count(both.t) == both.count(both.p) == 5,
              "tally: %s; PostgreSQL: %s" % (t_err, p_err))
    existing = rows[0].split(",")[0]

    def csv_with(bad_line, good_before=2, good_after=2):
        lines = [good_row() for _ in range(good_before)] + [bad_line] + \
                [good_row() for _ in range(good_after)]
        return FACT_COLS + "\n" + "\n".join(lines) + "\n"

    # -- COPY ------------------------------------------------------------------------
    short = ",".join(good_row().split(",")[:-2])
    check_copy(tap, both, "row with too few columns", csv_with(short))
    check_copy(tap, both, "row with an extra column", csv_with(good_row() + ",42"))
    check_copy(tap, both, "bad uuid", csv_with(good_row(attempt_id="not-a-uuid")))
    check_copy(tap, both, "bad uuid in a nullable column",
               csv_with(good_row(scenario_id="1234-zz"), good_before=3))
    check_copy(tap, both, "bad timestamp",
               csv_with(good_row(started_at="2025-13-45 25:61:00+00"), good_before=1))
    check_copy(tap, both, "timestamp that is not a timestamp",
               csv_with(good_row(ended_at="yesterday-ish")))
    check_copy(tap, both, "bad numeric", csv_with(good_row(score="12.3.4")))
    check_copy(tap, both, "bad integer", csv_with(good_row(duration_seconds="12.5")))
    check_copy(tap, both, "integer out of range",
               csv_with(good_row(talk_ms="99999999999"), good_before=4))
    check_copy(tap, both, "NULL in a NOT NULL column", csv_with(good_row(org_id="")))
    dup = new_uuid()
    check_copy(tap, both, "duplicate attempt_id within the COPY",
               csv_with(good_row(attempt_id=dup), good_after=0).rstrip("\n") + "\n" +
               good_row() + "\n" + good_row(attempt_id=dup) + "\n")
    check_copy(tap, both, "attempt_id that already exists", csv_with(good_row(attempt_id=existing)))
    check_copy(tap, both, "unterminated quoted field",
               csv_with(good_row(user_id='"user_unterminated'), good_after=0))
    check_copy(tap, both, "bad row after 5000 good ones (crosses batch boundaries)",
               csv_with(good_row(score="NaN-ish"), good_before=5000, good_after=10))
    check_copy(tap, both, "text format: bad date",
               "2025-02-30\t2025\t1\t2\t9\t7\t30\t61\tf\n", table="dim_time", cols=None,
               options="format text")
    dim_time = ("date_key,year,quarter,month,week,day_of_week,day_of_month,day_of_year,"
                "is_weekend")
    check_copy(tap, both, "bad boolean",
               dim_time + "\n2025-01-01,2025,1,1,1,3,1,1,f\n2025-01-02,2025,1,1,1,4,2,2,maybe\n",
               table="dim_time", cols=dim_time)

    # -- INSERT ----------------------------------------------------------------------
    a1, a2 = new_uuid(), new_uuid()
    ins = "insert into fact_scenario_attempts (attempt_id, org_id, user_id, score) values "
    check_insert(tap, both, "INSERT NULL into NOT NULL org_id",
                 ins + "('%s', NULL, 'user_x', 50)" % a1)
    check_insert(tap, both, "INSERT omitting NOT NULL user_id",
                 "insert into fact_scenario_attempts (attempt_id, org_id) values ('%s', '%s')"
                 % (a1, ORG))
    check_insert(tap, both, "INSERT with a NULL in the second of two rows",
                 ins + "('%s', '%s', 'user_x', 1), ('%s', '%s', NULL, 2)" % (a1, ORG, a2, ORG))
    check_insert(tap, both, "INSERT duplicate attempt_id within one statement",
                 ins + "('%s', '%s', 'user_x', 1), ('%s', '%s', 'user_y', 2)" % (a1, ORG, a1, ORG),
                 "select count(*) from fact_scenario_attempts where attempt_id = '%s'" % a1)
    # Across statements: the first insert succeeds on both, the second must not.
    tap.start("INSERT of a new attempt_id is accepted (setup for the next case)")
    first = ins + "('%s', '%s', 'user_x', 10)" % (a2, ORG)
    e1, e2 = err_of(both.p, first), err_of(both.t, first)
    tap.check("INSERT of a new attempt_id is accepted (setup for the next case)",
              e1 is None and e2 is None, "tally: %s; PostgreSQL: %s" % (e2, e1))
    check_insert(tap, both, "INSERT duplicate attempt_id across statements",
                 ins + "('%s', '%s', 'user_z', 99)" % (a2, ORG),
                 "select attempt_id, user_id, score from fact_scenario_attempts "
                 "where attempt_id = '%s'" % a2)
    check_insert(tap, both, "INSERT of one new and one existing attempt_id",
                 ins + "('%s', '%s', 'user_x', 1), ('%s', '%s', 'user_y', 2)"
                 % (new_uuid(), ORG, existing, ORG))
    check_insert(tap, both, "INSERT of a bad uuid literal", ins + "('zzz', '%s', 'u', 1)" % ORG)
    check_insert(tap, both, "INSERT of a KPI event whose attempt does not exist",
                 "insert into fact_kpi_events (attempt_id, org_id, user_id, event_type) "
                 "values ('%s', '%s', 'user_x', 'filler_word')" % (new_uuid(), ORG))
    # A failed INSERT during which the primary-key index grew (past 716 of its first 1,024
    # slots, then again): the rollback must remove exactly its own keys, wherever the
    # growth moved them, and no committed one. pk_grow fails long after its last growth,
    # pk_grow2 a few rows after one (entries still moving from the previous table).
    for table, last, keys in (("pk_grow", 5000, (700, 4999, 5)), ("pk_grow2", 1440, (1435, 1440, 600))):
        for c in (both.t, both.p):
            lib.run(c, "create table %s (k int primary key, v int)" % table)
            lib.run(c, "insert into %s select g, g from generate_series(1, 600) g" % table)
        check_error(tap, both, "INSERT of rows 601..%d into %s, growing its primary-key index, then a duplicate"
                    % (last, table),
                    lambda c: err_of(c, "insert into %s select g, g from generate_series(601, %d) g "
                                        "union all select 1, 1" % (table, last)),
                    table=table, verify="select count(*), min(k), max(k) from %s" % table)
        for k, what in zip(keys, ("a rolled-back key", "another rolled-back key", "a committed key")):
            title = "after it, INSERT of %s into %s as on PostgreSQL" % (what, table)
            tap.start(title)
            sql = "insert into %s values (%d, 0)" % (table, k)
            e1, e2 = err_of(both.p, sql), err_of(both.t, sql)
            tap.check(title, (e1 and e1[0]) == (e2 and e2[0]), "tally: %s; PostgreSQL: %s" % (e2, e1))
        title = "%s after the rollback and the inserts" % table
        tap.start(title)
        verify = "select count(*), count(distinct k), sum(k) from %s" % table
        diff = lib.compare(lib.run(both.t, verify), lib.run(both.p, verify), False)
        tap.check(title, not diff, diff)

    # -- raw protocol ----------------------------------------------------------------
    q = b"select 1\0"
    check_protocol(tap, both, "Query with length 0x7fffffff",
                   b"Q" + struct.pack("!I", 0x7FFFFFFF) + q)
    check_protocol(tap, both, "Query with a negative length", b"Q" + struct.pack("!i", -5) + q)
    check_protocol(tap, both, "Query with length 2 (< 4)", b"Q" + struct.pack("!i", 2) + q)
    check_protocol(tap, both, "unknown message type", b"y" + struct.pack("!i", 4 + len(q)) + q)
    check_protocol(tap, both, "startup packet with length 0x7fffffff",
                   struct.pack("!Ii", 0x7FFFFFFF, 196608) + b"user\0postgres\0\0",
                   do_startup=False)
    return tap


if __name__ == "__main__":
    t = main()
    with open(os.environ["TL_TAP_STATE"], "w") as f:
        f.write("%d %d\n" % (t.n, t.failed))
