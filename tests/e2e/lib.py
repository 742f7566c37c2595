"""tests/e2e/lib.py — TAP output, connections and result comparison for the e2e suites.

Run by Debian's /usr/bin/python3 (it has psycopg2). Every value is fetched as the text
the server sent (no client-side parsing), so the comparison also checks PostgreSQL's
text output formats; numbers are compared as decimals within 1e-9 relative, everything
else character for character. Column names and type OIDs must be equal.
"""
import decimal
import os
import re
import sys
import threading

import psycopg2
import psycopg2.extensions as ext

REL_TOL = decimal.Decimal("1e-9")
NUMERIC_OIDS = {20, 21, 23, 26, 700, 701, 1700}  # int8 int2 int4 oid float4 float8 numeric

# psycopg2 parses these OIDs into Python objects by default; we want the server's text.
_PARSED_OIDS = (16, 17, 18, 19, 20, 21, 23, 25, 26, 114, 700, 701, 790, 1042, 1043, 1082,
                1083, 1114, 1184, 1186, 1266, 1700, 2950, 3802)
_RAW = ext.new_type(_PARSED_OIDS, "TALLY_RAW_TEXT", lambda value, cur: value)


class Tap:
    """TAP producer: one `ok`/`not ok` line per check, the plan at the end.

    start(name) arms a watchdog for the check about to run: a server that never
    answers makes that check fail after TL_CHECK_TIMEOUT seconds (default 120) and
    ends the suite there (Bail out!), instead of hanging until meson's timeout."""

    def __init__(self):
        self.n = 0
        self.failed = 0
        self.timeout = float(os.environ.get("TL_CHECK_TIMEOUT", "120"))
        self._timer = None

    def start(self, name):
        self._disarm()
        self._timer = threading.Timer(self.timeout, self._expired, (name,))
        self._timer.daemon = True
        self._timer.start()

    def _disarm(self):
        if self._timer:
            self._timer.cancel()
            self._timer = None

    def _expired(self, name):
        print("not ok %d - %s" % (self.n + 1, name))
        print("#   no answer within %.0f s" % self.timeout)
        print("Bail out! a server stopped answering")
        sys.stdout.flush()
        os._exit(1)

    def check(self, name, passed, diag=None):
        self._disarm()
        self.n += 1
        if not passed:
            self.failed += 1
        print(("ok" if passed else "not ok") + " %d - %s" % (self.n, name))
        if diag and not passed:
            for line in str(diag).rstrip().splitlines()[:40]:
                print("#   " + line)
        sys.stdout.flush()
        return passed

    def note(self, text):
        for line in str(text).splitlines():
            print("# " + line)
        sys.stdout.flush()

    def finish(self):
        print("1..%d" % self.n)
        print("# %d passed, %d failed" % (self.n - self.failed, self.failed))
        return 1 if self.failed else 0


def connect(port, raw=True):
    conn = psycopg2.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres",
                            connect_timeout=10)
    conn.autocommit = True  # no BEGIN wrapped around our statements
    if raw:
        ext.register_type(_RAW, conn)
    return conn


class Result:
    def __init__(self, names, oids, rows, error=None):
        self.names, self.oids, self.rows, self.error = names, oids, rows, error


def run(conn, sql):
    """Execute SQL; a Result with the rows, or with .error = (sqlstate, message)."""
    cur = conn.cursor()
    try:
        cur.execute(sql)
        if cur.description is None:
            return Result([], [], [])
        names = [d.name for d in cur.description]
        oids = [d.type_code for d in cur.description]
        return Result(names, oids, [tuple(r) for r in cur.fetchall()])
    except psycopg2.Error as e:
        return Result(None, None, None, (e.pgcode, (e.pgerror or str(e)).strip()))
    finally:
        cur.close()


def _num(v):
    try:
        return decimal.Decimal(v)
    except decimal.InvalidOperation:
        return None


def value_equal(a, b, oid):
    if a is None or b is None:
        return a is b
    if a == b:
        return True
    if oid in NUMERIC_OIDS:
        x, y = _num(a), _num(b)
        if x is None or y is None or not x.is_finite() or not y.is_finite():
            return False
        return abs(x - y) <= REL_TOL * max(abs(x), abs(y))
    return False


def rows_equal(r1, r2, oids):
    return len(r1) == len(r2) and all(value_equal(a, b, o) for a, b, o in zip(r1, r2, oids))


def _sort_key(row, oids):
    key = []
    for v, o in zip(row, oids):
        if v is None:
            key.append((0, 0, ""))
        elif o in NUMERIC_OIDS and _num(v) is not None and _num(v).is_finite():
            key.append((1, float(_num(v)), ""))
        else:
            key.append((2, 0, v))
    return key


def _fmt(row):
    return "(" + ", ".join("NULL" if v is None else str(v) for v in row) + ")"


def compare(got, want, ordered, order_cols=None):
    """None if tally's result `got` matches the oracle's `want`, else a description.

    ordered: the query has ORDER BY. Rows are compared position by position, except
    that rows whose ORDER BY keys (output columns `order_cols`) are equal may come in
    any order among themselves, as in PostgreSQL. Unordered: sorted multisets.
    """
    if got.error:
        return "tally failed: %s %s" % got.error
    if want.error:
        return "oracle failed (harness bug?): %s %s" % want.error
    if got.names != want.names:
        return "column names: tally %s, PostgreSQL %s" % (got.names, want.names)
    if got.oids != want.oids:
        return "type OIDs: tally %s, PostgreSQL %s" % (got.oids, want.oids)
    oids = want.oids
    if len(got.rows) != len(want.rows):
        return "row count: tally %d, PostgreSQL %d\nfirst tally rows: %s\nfirst PostgreSQL rows: %s" % (
            len(got.rows), len(want.rows), " ".join(_fmt(r) for r in got.rows[:3]),
            " ".join(_fmt(r) for r in want.rows[:3]))
    if not ordered:
        groups = [(sorted(got.rows, key=lambda r: _sort_key(r, oids)),
                   sorted(want.rows, key=lambda r: _sort_key(r, oids)), 0)]
    elif not order_cols:
        groups = [(got.rows, want.rows, 0)]
    else:
        groups, start = [], 0
        keyof = lambda r: [r[i] for i in order_cols]
        for i in range(1, len(want.rows) + 1):
            if i == len(want.rows) or not rows_equal(keyof(want.rows[i]), keyof(want.rows[start]),
                                                     [oids[c] for c in order_cols]):
                g = sorted(got.rows[start:i], key=lambda r: _sort_key(r, oids))
                w = sorted(want.rows[start:i], key=lambda r: _sort_key(r, oids))
                groups.append((g, w, start))
                start = i
    for g, w, base in groups:
        for i, (a, b) in enumerate(zip(g, w)):
            if not rows_equal(a, b, oids):
                return "row %d differs:\n  tally:      %s\n  PostgreSQL: %s" % (
                    base + i + 1, _fmt(a), _fmt(b))
    return None


_LINE_RE = re.compile(r"\bline (\d+)\b")


def copy_line(diag_context, message):
    """The input line number PostgreSQL-style COPY errors name ("COPY t, line 3, ...")."""
    for text in (diag_context or "", message or ""):
        m = _LINE_RE.search(text)
        if m:
            return int(m.group(1))
    return None
