#!/usr/bin/python3
"""tests/e2e/protocol.py --tally-port P --pg-port Q

Drives the extended query protocol message by message (a small raw pgwire client, so
every byte sent is under the test's control) against tallyd and a throwaway PostgreSQL
15, and checks that both answer with the same messages: row-limited Execute across
several 2048-row batches, binary results and binary parameters of every type at its
limits and NULL, an error inside an extended batch followed by Sync, a pipeline of
statements without Sync, Describe of statements and portals, named statements reused,
transaction-block portals, session statements; then tally-only behaviours PostgreSQL
cannot be compared on by bytes: cancel of a long query, a client leaving mid-query.
Transaction blocks (writes grouped into one commit, savepoints, read-only blocks, the
failed state) are compared the same way, with a second session on each server showing
what others see while a block is open. One TAP line per check."""
import argparse
import os
import select
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

ap = argparse.ArgumentParser()
ap.add_argument("--tally-port", type=int, required=True)
ap.add_argument("--pg-port", type=int, required=True)
args = ap.parse_args()

n_checks = 0
n_failed = 0


def tap(ok, name, detail=None):
    global n_checks, n_failed
    n_checks += 1
    if not ok:
        n_failed += 1
    print(("ok" if ok else "not ok") + " %d - %s" % (n_checks, name))
    if not ok and detail:
        for line in str(detail).splitlines()[:40]:
            print("#   " + line)
    sys.stdout.flush()


class Conn:
    def __init__(self, port, user="postgres", db="postgres"):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=60)
        body = struct.pack("!I", 196608)
        for k, v in (("user", user), ("database", db), ("client_encoding", "UTF8")):
            body += k.encode() + b"\0" + v.encode() + b"\0"
        body += b"\0"
        self.s.sendall(struct.pack("!I", len(body) + 4) + body)
        self.buf = b""
        self.key = None
        for t, b in self.until_ready():
            if t == "K":
                self.key = struct.unpack("!ii", b)
            if t == "E":
                raise RuntimeError("startup failed: %r" % b)

    def recv_msg(self):
        while len(self.buf) < 5:
            d = self.s.recv(65536)
            if not d:
                return None, None
            self.buf += d
        t = chr(self.buf[0])
        n = struct.unpack("!I", self.buf[1:5])[0]
        while len(self.buf) < 1 + n:
            d = self.s.recv(65536)
            if not d:
                return None, None
            self.buf += d
        body = self.buf[5:1 + n]
        self.buf = self.buf[1 + n:]
        return t, body

    def until_ready(self):
        out = []
        while True:
            t, b = self.recv_msg()
            if t is None:
                out.append(("EOF", b""))
                return out
            out.append((t, b))
            if t == "Z":
                return out

    def send(self, t, body=b""):
        self.s.sendall(t.encode() + struct.pack("!I", len(body) + 4) + body)

    def parse(self, name, sql, oids=()):
        self.send("P", name.encode() + b"\0" + sql.encode() + b"\0" +
                  struct.pack("!h", len(oids)) + b"".join(struct.pack("!I", o) for o in oids))

    def bind(self, portal, stmt, values=(), pfmts=(), rfmts=()):
        b = portal.encode() + b"\0" + stmt.encode() + b"\0"
        b += struct.pack("!h", len(pfmts)) + b"".join(struct.pack("!h", f) for f in pfmts)
        b += struct.pack("!h", len(values))
        for v in values:
            if v is None:
                b += struct.pack("!i", -1)
            else:
                if isinstance(v, str):
                    v = v.encode()
                b += struct.pack("!i", len(v)) + v
        b += struct.pack("!h", len(rfmts)) + b"".join(struct.pack("!h", f) for f in rfmts)
        self.send("B", b)

    def describe(self, kind, name):
        self.send("D", kind.encode() + name.encode() + b"\0")

    def execute(self, portal, max_rows=0):
        self.send("E", portal.encode() + b"\0" + struct.pack("!i", max_rows))

    def close_obj(self, kind, name):
        self.send("C", kind.encode() + name.encode() + b"\0")

    def sync(self):
        self.send("S")

    def query(self, sql):
        self.send("Q", sql.encode() + b"\0")
        return self.until_ready()

    def copy_in(self, sql, data):
        """COPY ... FROM STDIN with `data` as one CopyData; the replies up to ReadyForQuery."""
        self.send("Q", sql.encode() + b"\0")
        out = []
        while True:
            t, b = self.recv_msg()
            if t is None:
                return out + [("EOF", b"")]
            out.append((t, b))
            if t == "G":
                self.send("d", data)
                self.send("c")
                return out + self.until_ready()
            if t == "Z":
                return out

    def close(self):
        try:
            self.send("X")
        except OSError:
            pass
        self.s.close()


def fields(b):
    out = {}
    for part in b.split(b"\0"):
        if part:
            out[chr(part[0])] = part[1:].decode("utf-8", "replace")
    return out


def render(msgs):
    """Messages as comparable text: ParameterStatus/Notice noise kept, positions kept."""
    out = []
    for t, b in msgs:
        if t == "T":
            n = struct.unpack("!h", b[:2])[0]
            p = 2
            cols = []
            for _ in range(n):
                z = b.index(b"\0", p)
                name = b[p:z].decode()
                p = z + 1
                _tab, _att, typ, tlen, tmod, fmt = struct.unpack("!IhIhih", b[p:p + 18])
                p += 18
                cols.append("%s:%d:%d:%d:%d" % (name, typ, tlen, tmod, fmt))
            out.append("T(" + ",".join(cols) + ")")
        elif t == "D":
            n = struct.unpack("!h", b[:2])[0]
            p = 2
            vals = []
            for _ in range(n):
                ln = struct.unpack("!i", b[p:p + 4])[0]
                p += 4
                if ln < 0:
                    vals.append("NULL")
                else:
                    vals.append(b[p:p + ln].hex())
                    p += ln
            out.append("D(" + ",".join(vals) + ")")
        elif t in ("E", "N"):
            f = fields(b)
            out.append("%s(%s %s %s)" % (t, f.get("S"), f.get("C"), f.get("M")))
        elif t == "t":
            n = struct.unpack("!h", b[:2])[0]
            out.append("t(" + ",".join(str(x) for x in struct.unpack("!%dI" % n, b[2:2 + 4 * n])) + ")")
        elif t in ("C", "S"):
            out.append("%s(%s)" % (t, b.rstrip(b"\0").decode().replace("\0", "=")))
        elif t == "Z":
            out.append("Z(%s)" % b.decode())
        else:
            out.append(t)
    return out


tally = Conn(args.tally_port)
pg = Conn(args.pg_port)
both = (tally, pg)


def same(name, script):
    """Run script(conn) on both servers; the rendered replies must be equal."""
    got = []
    for c in both:
        try:
            got.append(render(script(c)))
        except Exception as e:  # a dropped connection or a protocol desync
            got.append(["exception %r" % (e,)])
    ok = got[0] == got[1]
    detail = None
    if not ok:
        detail = "tally: %s\npg:    %s" % (" ".join(got[0])[:3000], " ".join(got[1])[:3000])
    tap(ok, name, detail)
    return got[0]


def setup(c):
    out = c.query(
        "CREATE TABLE proto_types (k int4, b bool, i2 int2, i4 int4, i8 int8, f4 float4, f8 float8,"
        " n numeric, t text, v varchar(20), u uuid, d date, ts timestamp, tz timestamptz,"
        " iv interval, j jsonb)")
    out += c.query(
        "INSERT INTO proto_types VALUES"
        " (1, true, -32768, -2147483648, -9223372036854775808, '-3.4028235e38', '-1.7976931348623157e308',"
        "  -99999999999999999999.999999999999, '', '', '00000000-0000-0000-0000-000000000000',"
        "  '4713-01-01 BC', '4713-01-01 00:00:00 BC', '4713-01-01 00:00:00+00 BC', '-178000000 years', '{}'),"
        " (2, false, 32767, 2147483647, 9223372036854775807, '3.4028235e38', '1.7976931348623157e308',"
        "  99999999999999999999.999999999999, 'héllo wörld ✓', 'x', 'ffffffff-ffff-ffff-ffff-ffffffffffff',"
        "  '5874897-12-31', '294276-12-31 23:59:59.999999', '294276-12-31 23:59:59.999999+00',"
        "  '178000000 years', '{\"a\": [1, 2.5, null, true], \"b\": {\"c\": \"d\"}}'),"
        " (3, true, 0, 0, 0, 0, 0, 0, 'plain', 'v', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',"
        "  '2000-01-01', '2000-01-01 00:00:00', '2025-06-01 12:34:56.789+02', '1 mon 2 days 03:04:05.678901', '[1, \"x\"]'),"
        " (4, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),"
        " (5, false, 1, 1, 1, 1.5, 0.1, 0.0001, 'a', 'b', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12',"
        "  'infinity', '-infinity', 'infinity', '-1 days -00:00:01', 'null'),"
        " (6, true, -1, -1, -1, 'NaN', '-Infinity', 'NaN', 'z', 'z', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a13',"
        "  '1999-12-31', '1999-12-31 23:59:59.000001', '1970-01-01 00:00:00+00', '0', '\"s\"')")
    out += c.query("CREATE TABLE proto_rows (k int4, g int4, s text)")
    vals = ",".join("(%d, %d, 'row %d')" % (i, i % 7, i) for i in range(5000))
    out += c.query("INSERT INTO proto_rows VALUES " + vals)
    return out


same("schema and data load the same way", setup)

COLS = ["b", "i2", "i4", "i8", "f4", "f8", "n", "t", "v", "u", "d", "ts", "tz", "iv", "j"]
OIDS = {"b": 16, "i2": 21, "i4": 23, "i8": 20, "f4": 700, "f8": 701, "n": 1700, "t": 25,
        "v": 1043, "u": 2950, "d": 1082, "ts": 1114, "tz": 1184, "iv": 1186, "j": 3802}


def select_formats(fmt):
    def run(c):
        c.parse("", "SELECT k, %s FROM proto_types ORDER BY k" % ", ".join(COLS))
        c.bind("", "", rfmts=(fmt,))
        c.describe("P", "")
        c.execute("", 0)
        c.sync()
        return c.until_ready()
    return run


same("text results of every type at its limits and NULL", select_formats(0))
binary_rows = same("binary results of every type at its limits and NULL", select_formats(1))


# Arrays in binary (array_send: dimensions, NULL flag, element oid, elements in their own
# binary form), as pgjdbc asks for _int4 / _text results once a statement is prepared.
def select_arrays(fmt):
    def run(c):
        c.parse("", "SELECT k, array[i2, i2], array[i4, NULL], array[i8], array[f4], array[f8], array[n],"
                    " array[t, v], array[u], array[d], array[ts], array[tz], array[iv], array[b], array[j],"
                    " array[]::int4[], array[NULL::text] FROM proto_types ORDER BY k")
        c.bind("", "", rfmts=(fmt,))
        c.describe("P", "")
        c.execute("", 0)
        c.sync()
        return c.until_ready()
    return run


same("text results of ARRAY[...] of every type", select_arrays(0))
same("binary results of ARRAY[...] of every type", select_arrays(1))

# Binary parameters: the binary values PostgreSQL sent come back as parameters, are
# stored, and read back in text: a full round trip through recv and send.
def binary_values_from(rows):
    out = []
    for r in rows:
        if r.startswith("D("):
            out.append([None if v == "NULL" else bytes.fromhex(v) for v in r[2:-1].split(",")])
    return out


pg.query("SELECT 1")
rows_bin = binary_values_from(binary_rows)
for col_i, col in enumerate(COLS, start=1):
    def rt(c, col=col, col_i=col_i):
        out = []
        c.parse("ins_" + col, "SELECT $1::%s IS NULL AS isnull, $1 AS v" % ("varchar(20)" if col == "v" else {
            "b": "bool", "i2": "int2", "i4": "int4", "i8": "int8", "f4": "float4", "f8": "float8",
            "n": "numeric", "t": "text", "u": "uuid", "d": "date", "ts": "timestamp",
            "tz": "timestamptz", "iv": "interval", "j": "jsonb"}[col]), (OIDS[col],))
        for r in rows_bin:
            c.bind("", "ins_" + col, values=(r[col_i],), pfmts=(1,), rfmts=(0, 1))
            c.execute("", 0)
            c.bind("", "ins_" + col, values=(r[col_i],), pfmts=(1,), rfmts=(0, 0))
            c.execute("", 0)
        c.close_obj("S", "ins_" + col)
        c.sync()
        out += c.until_ready()
        return out
    same("binary parameter round trip: %s (oid %d)" % (col, OIDS[col]), rt)


def bad_binary(c):
    out = []
    c.parse("", "SELECT $1::int4", (23,))
    c.bind("", "", values=(b"\0\0\1",), pfmts=(1,))
    c.execute("", 0)
    c.sync()
    out += c.until_ready()
    c.parse("", "SELECT $1::int8", (20,))
    c.bind("", "", values=(b"\0\0\0\0\0\0\0\0\0",), pfmts=(1,))
    c.execute("", 0)
    c.sync()
    out += c.until_ready()
    c.parse("", "SELECT $1::text", (25,))
    c.bind("", "", values=(b"\xff\xfe",), pfmts=(1,))
    c.execute("", 0)
    c.sync()
    out += c.until_ready()
    return out


same("malformed binary parameters: short, long, bad UTF-8", bad_binary)


def row_limits(c):
    c.parse("rl", "SELECT k, g, s FROM proto_rows ORDER BY k")
    c.bind("c1", "rl", rfmts=(1, 0, 0))
    for _ in range(6):
        c.execute("c1", 1000)
    c.execute("c1", 1000)
    c.sync()
    return c.query("BEGIN") + [("-", b"")] + c.until_ready() if False else c.until_ready()


same("Execute with row limits across several batches, then the end", row_limits)


def row_limit_exact(c):
    c.parse("", "SELECT k FROM proto_rows ORDER BY k LIMIT 10")
    c.bind("", "")
    c.execute("", 10)
    c.execute("", 10)
    c.sync()
    return c.until_ready()


same("max_rows equal to the rows left: PortalSuspended, then SELECT 0", row_limit_exact)


def cursor_in_tx(c):
    out = c.query("BEGIN")
    c.parse("", "SELECT k FROM proto_rows WHERE g = $1 ORDER BY k")
    c.bind("C_1", "", values=("3",))
    c.execute("C_1", 300)
    c.sync()
    out += c.until_ready()
    c.execute("C_1", 300)
    c.sync()
    out += c.until_ready()
    c.execute("C_1", 300)
    c.close_obj("P", "C_1")
    c.sync()
    out += c.until_ready()
    out += c.query("COMMIT")
    c.execute("C_1", 300)
    c.sync()
    out += c.until_ready()
    return out


same("a named portal survives Sync inside a transaction block, not after COMMIT", cursor_in_tx)


def error_then_sync(c):
    out = []
    c.parse("", "SELECT k FROM proto_rows WHERE k < 3 ORDER BY k")
    c.bind("", "")
    c.execute("", 0)
    c.parse("", "SELECT nope FROM proto_rows")
    c.bind("", "")
    c.describe("P", "")
    c.execute("", 0)
    c.parse("", "SELECT 1")
    c.bind("", "")
    c.execute("", 0)
    c.sync()
    out += c.until_ready()
    c.parse("", "SELECT 1/(k - $1) FROM proto_rows WHERE k < 3 ORDER BY k", (23,))
    c.bind("", "", values=("1",))
    c.execute("", 0)
    c.execute("", 0)
    c.sync()
    out += c.until_ready()
    c.parse("", "SELECT k FROM proto_rows WHERE k = $1", (23,))
    c.bind("", "", values=("abc",))
    c.execute("", 0)
    c.sync()
    out += c.until_ready()
    out += c.query("SELECT 2")
    return out


same("an error inside an extended batch: reported once, skipped to Sync", error_then_sync)


def error_in_tx(c):
    out = c.query("BEGIN")
    c.parse("", "SELECT nope")
    c.sync()
    out += c.until_ready()
    c.parse("", "SELECT 1")
    c.bind("", "")
    c.execute("", 0)
    c.sync()
    out += c.until_ready()
    c.parse("", "ROLLBACK")
    c.bind("", "")
    c.execute("", 0)
    c.sync()
    out += c.until_ready()
    return out


same("an error in a transaction block: 25P02 until ROLLBACK, ReadyForQuery E then I", error_in_tx)


def pipeline(c):
    c.parse("p_a", "SELECT count(*) FROM proto_rows WHERE g = $1")
    c.parse("p_b", "SET application_name = 'pipe'")
    c.parse("p_c", "SHOW application_name")
    c.parse("p_d", "")
    c.describe("S", "p_a")
    c.describe("S", "p_b")
    c.describe("S", "p_c")
    for v in ("1", "2"):
        c.bind("", "p_a", values=(v,))
        c.execute("", 0)
    c.bind("", "p_b")
    c.describe("P", "")
    c.execute("", 0)
    c.bind("x", "p_c")
    c.describe("P", "x")
    c.execute("x", 0)
    c.bind("", "p_d")
    c.describe("P", "")
    c.execute("", 0)
    c.close_obj("S", "p_a")
    c.close_obj("S", "no_such")
    c.close_obj("P", "x")
    c.sync()
    return c.until_ready()


same("a pipeline of statements without Sync between them", pipeline)


def inference(c):
    out = []
    for sql in ("SELECT k FROM proto_rows WHERE k = $1",
                "SELECT k FROM proto_rows WHERE s = $1 AND g > $2",
                "SELECT $1",
                "SELECT k FROM proto_rows ORDER BY k LIMIT $1 OFFSET $2",
                "SELECT count(*) FROM proto_types WHERE tz >= $1 AND u <> $2 AND n < $3",
                "INSERT INTO proto_rows (k, s) VALUES ($1, $2)"):
        c.parse("", sql)
        c.describe("S", "")
        c.sync()
        out += c.until_ready()
    c.parse("", "SELECT k FROM proto_rows WHERE k = $1", (20,))
    c.describe("S", "")
    c.sync()
    out += c.until_ready()
    return out


same("parameter types inferred from context; declared ones kept", inference)


def insert_params(c):
    out = []
    c.parse("ins", "INSERT INTO proto_rows (k, g, s) VALUES ($1, $2, $3)", (23, 0, 0))
    for i in range(3):
        c.bind("", "ins", values=(struct.pack("!i", 9000 + i), str(i), None), pfmts=(1, 0, 0))
        c.execute("", 0)
    c.sync()
    out += c.until_ready()
    out += c.query("SELECT k, g, s FROM proto_rows WHERE k >= 9000 ORDER BY k")
    return out


same("INSERT with text and binary parameters", insert_params)


def named_reuse(c):
    out = []
    c.parse("S_1", "SELECT k, s FROM proto_rows WHERE k = $1", (23,))
    c.sync()
    out += c.until_ready()
    for i in range(7):
        c.bind("", "S_1", values=(struct.pack("!i", i * 100),), pfmts=(1,), rfmts=(1, 0))
        c.execute("", 0)
        c.sync()
        out += c.until_ready()
    c.parse("S_1", "SELECT 1")
    c.sync()
    out += c.until_ready()
    out += c.query("DEALLOCATE S_1")
    out += c.query("DEALLOCATE S_1")
    return out


same("a named statement bound repeatedly; duplicate name; DEALLOCATE", named_reuse)


def session_stmts(c):
    out = []
    for sql in ("SHOW TRANSACTION ISOLATION LEVEL",
                "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ UNCOMMITTED",
                "SHOW default_transaction_isolation",
                "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED",
                "SET SESSION TIMEZONE TO 'America/New_York'", "SHOW timezone",
                "SET extra_float_digits = 3", "SHOW extra_float_digits",
                "SET application_name = 'Metabase v0.56.9'",
                "RESET ALL", "SHOW timezone", "SHOW application_name",
                "START TRANSACTION READ ONLY", "SHOW transaction_read_only",
                "INSERT INTO proto_rows VALUES (1, 1, 'x')", "ROLLBACK",
                "BEGIN", "SET TRANSACTION READ ONLY", "SHOW transaction_read_only", "COMMIT",
                "SAVEPOINT a", "BEGIN", "SAVEPOINT a", "SELECT nope", "ROLLBACK TO a", "SELECT 1",
                "RELEASE a", "RELEASE a", "COMMIT", "COMMIT",
                "SET ROLE postgres", "RESET ROLE", "UNLISTEN *", "DISCARD ALL", "DEALLOCATE ALL"):
            out += c.query(sql)
    return out


same("session statements (simple protocol)", session_stmts)


def session_ext(c):
    out = []
    for sql in ("SET extra_float_digits = 3", "SET application_name = 'x y'",
                "SHOW TRANSACTION ISOLATION LEVEL", "show timezone", "BEGIN", "SELECT 1", "COMMIT"):
        c.parse("", sql)
        c.bind("", "")
        c.describe("P", "")
        c.execute("", 1)
        c.sync()
        out += c.until_ready()
    return out


same("session statements through Parse/Bind/Describe/Execute", session_ext)


def sql_cursors(c):
    """psycopg2's named cursors: DECLARE ... WITHOUT HOLD, FETCH FORWARD n, MOVE, CLOSE."""
    out = []
    for sql in ("DECLARE x CURSOR FOR SELECT 1",
                "BEGIN",
                'DECLARE "c" CURSOR WITHOUT HOLD FOR SELECT k, s FROM proto_rows WHERE k < 40 ORDER BY k',
                'FETCH FORWARD 3 FROM "c"', "MOVE 10 IN c", "FETCH 2 FROM c", "FETCH NEXT FROM c",
                "FETCH ALL FROM c", "FETCH 5 FROM c", "CLOSE c", "FETCH 1 FROM c", "ROLLBACK",
                "BEGIN", "DECLARE d CURSOR FOR SELECT k FROM proto_rows ORDER BY k", "CLOSE ALL",
                "DECLARE d CURSOR FOR SELECT k FROM proto_rows ORDER BY k", "FETCH 1 FROM d", "COMMIT",
                "FETCH 1 FROM d"):
        out += c.query(sql)
    return out


same("SQL cursors: DECLARE, FETCH FORWARD n / ALL, MOVE, CLOSE, end of transaction", sql_cursors)


def temp_tables(c):
    out = []
    for sql in ("CREATE TEMP TABLE proto_tmp (a int, b text, c date)",
                "INSERT INTO proto_tmp VALUES (1, 'x', '2025-01-01'), (2, NULL, NULL)",
                "SELECT a, b, c FROM proto_tmp ORDER BY a",
                "CREATE TEMP TABLE proto_tmp (a int)",
                "CREATE TEMP TABLE IF NOT EXISTS proto_tmp (a int)",
                "SELECT count(*) FROM pg_temp.proto_tmp"):
        out += c.query(sql)
    other = Conn(args.tally_port if c is tally else args.pg_port)
    out += other.query("SELECT a FROM proto_tmp")  # another session does not see it
    other.close()
    return out


same("temporary tables: visible to their session only", temp_tables)


def comments(c):
    out = []
    for sql in ("COMMENT ON TABLE proto_rows IS 'rows for the protocol tests'",
                "COMMENT ON COLUMN proto_rows.s IS 'a label'",
                "SELECT obj_description('proto_rows'::regclass, 'pg_class'),"
                " col_description('proto_rows'::regclass, 3), col_description('proto_rows'::regclass, 2)",
                "SELECT d.objsubid, d.description FROM pg_description d"
                " WHERE d.objoid = 'proto_rows'::regclass ORDER BY 1",
                "COMMENT ON COLUMN proto_rows.s IS NULL",
                "SELECT col_description('proto_rows'::regclass, 3)",
                "COMMENT ON COLUMN proto_rows.nope IS 'x'", "COMMENT ON VIEW proto_rows IS 'x'"):
        out += c.query(sql)
    return out


same("COMMENT ON table / column, obj_description, col_description, pg_description", comments)


def time_zones(c):
    out = []
    for sql in ("SET TIME ZONE 'UTC'",
                "SELECT '2025-03-09 06:30:00+00'::timestamptz AT TIME ZONE 'America/New_York',"
                " '2025-03-09 12:00:00'::timestamp AT TIME ZONE 'Europe/Berlin',"
                " timezone('UTC', '2025-01-01 00:00:00+05'::timestamptz),"
                " ('2025-06-30 23:30:00+00'::timestamptz AT TIME ZONE 'Asia/Tokyo')::date",
                "SELECT now() AT TIME ZONE 'Nowhere/Else'",
                "SELECT '{\"word\": \"um\"}'::jsonb ? 'word', '[\"a\", 1]'::jsonb ? 'a',"
                " '[\"a\", 1]'::jsonb ? '1', '\"s\"'::jsonb ? 's', '{\"a\": 1}'::jsonb ? 'b'"):
        out += c.query(sql)
    return out


same("AT TIME ZONE both ways, timezone(), a bad zone; jsonb ? key", time_zones)



# ---- transaction blocks ----------------------------------------------------------------
# A second session on each server: what other sessions see while a block is open.
tally2 = Conn(args.tally_port)
pg2 = Conn(args.pg_port)
other = {tally: tally2, pg: pg2}


def tx_setup(c):
    out = c.query("CREATE TABLE tx_p (id int4 PRIMARY KEY, v text)")
    out += c.query("CREATE TABLE tx_c (id int4 PRIMARY KEY, pid int4 REFERENCES tx_p (id) ON DELETE CASCADE)")
    out += c.query("INSERT INTO tx_p VALUES (1, 'one'), (2, 'two')")
    return out


same("transaction tables", tx_setup)


def tx_commit(c):
    o = other[c]
    out = c.query("BEGIN")
    out += c.query("INSERT INTO tx_p VALUES (3, 'three'), (4, 'four')")
    out += c.copy_in("COPY tx_p FROM STDIN", b"5\tfive\n6\tsix\n")
    out += c.query("INSERT INTO tx_c VALUES (30, 3), (60, 6)")
    out += c.query("SELECT count(*) FROM tx_p")
    out += c.query("SELECT p.id, p.v, c.id FROM tx_p p LEFT JOIN tx_c c ON c.pid = p.id ORDER BY p.id")
    out += o.query("SELECT count(*) FROM tx_p")
    out += o.query("SELECT count(*) FROM tx_c")
    out += c.query("DELETE FROM tx_p WHERE id IN (1, 6)")
    out += c.query("INSERT INTO tx_p VALUES (1, 'one again')")
    out += c.query("SELECT * FROM tx_p ORDER BY id")
    out += c.query("SELECT * FROM tx_c ORDER BY id")
    out += o.query("SELECT * FROM tx_p ORDER BY id")
    out += c.query("COMMIT")
    out += o.query("SELECT * FROM tx_p ORDER BY id")
    out += o.query("SELECT * FROM tx_c ORDER BY id")
    return out


same("a block's INSERT, COPY and DELETE are its own until COMMIT, then everyone's", tx_commit)


def tx_rollback(c):
    o = other[c]
    out = c.query("BEGIN")
    out += c.query("INSERT INTO tx_p VALUES (7, 'seven')")
    out += c.query("DELETE FROM tx_p WHERE id <= 3")
    out += c.query("SELECT count(*) FROM tx_p")
    out += c.query("SELECT count(*) FROM tx_c")
    out += c.query("ROLLBACK")
    out += o.query("SELECT * FROM tx_p ORDER BY id")
    out += o.query("SELECT * FROM tx_c ORDER BY id")
    out += c.query("SELECT count(*) FROM tx_p")
    return out


same("ROLLBACK discards the block's writes, cascades included", tx_rollback)


def tx_constraints(c):
    o = other[c]
    out = c.query("BEGIN")
    out += c.query("INSERT INTO tx_p VALUES (10, 'ten')")
    out += c.query("INSERT INTO tx_p VALUES (10, 'ten twice')")
    out += c.query("SELECT 1")
    out += c.query("COMMIT")
    out += o.query("SELECT count(*) FROM tx_p WHERE id = 10")
    out += c.query("BEGIN")
    out += c.query("INSERT INTO tx_p VALUES (11, 'eleven')")
    out += c.query("INSERT INTO tx_c VALUES (110, 11)")
    out += c.query("INSERT INTO tx_c VALUES (120, 12)")
    out += c.query("ROLLBACK")
    out += c.query("BEGIN")
    out += c.query("INSERT INTO tx_p VALUES (11, 'eleven')")
    out += c.query("INSERT INTO tx_c VALUES (110, 11)")
    out += c.query("DELETE FROM tx_p WHERE id = 11")
    out += c.query("SELECT count(*) FROM tx_c WHERE id = 110")
    out += c.query("INSERT INTO tx_p VALUES (11, 'eleven b'), (12, 'twelve')")
    out += c.query("INSERT INTO tx_c VALUES (111, 11), (120, 12)")
    out += c.query("COMMIT")
    out += o.query("SELECT * FROM tx_p WHERE id >= 10 ORDER BY id")
    out += o.query("SELECT * FROM tx_c WHERE id >= 100 ORDER BY id")
    return out


same("keys and foreign keys hold across the rows of one block; an error fails it (25P02, COMMIT is ROLLBACK)",
     tx_constraints)


def tx_savepoints(c):
    o = other[c]
    out = c.query("BEGIN")
    out += c.query("SAVEPOINT before_any")
    out += c.query("INSERT INTO tx_p VALUES (40, 'forty')")
    out += c.query("SAVEPOINT a")
    out += c.query("INSERT INTO tx_p VALUES (41, 'forty-one')")
    out += c.query("DELETE FROM tx_p WHERE id IN (1, 40)")
    out += c.query("SAVEPOINT b")
    out += c.query("INSERT INTO tx_p VALUES (42, 'forty-two')")
    out += c.query("SELECT id FROM tx_p WHERE id >= 40 OR id = 1 ORDER BY id")
    out += c.query("ROLLBACK TO SAVEPOINT b")
    out += c.query("SELECT id FROM tx_p WHERE id >= 40 OR id = 1 ORDER BY id")
    out += c.query("ROLLBACK TO a")
    out += c.query("SELECT id FROM tx_p WHERE id >= 40 OR id = 1 ORDER BY id")
    out += c.query("INSERT INTO tx_p VALUES (40, 'forty again')")
    out += c.query("INSERT INTO tx_p VALUES (43, 'forty-three')")
    out += c.query("SAVEPOINT c")
    out += c.query("INSERT INTO tx_p VALUES (44, 'x'), (43, 'dup')")
    out += c.query("SAVEPOINT d")
    out += c.query("RELEASE c")
    out += c.query("ROLLBACK TO SAVEPOINT c")
    out += c.query("SELECT id, v FROM tx_p WHERE id >= 40 ORDER BY id")
    out += c.query("RELEASE SAVEPOINT c")
    out += c.query("ROLLBACK TO nosuch")
    out += c.query("ROLLBACK TO a")
    out += c.query("RELEASE a")
    out += c.query("INSERT INTO tx_p VALUES (45, 'forty-five')")
    out += o.query("SELECT count(*) FROM tx_p WHERE id >= 40")
    out += c.query("COMMIT")
    out += o.query("SELECT id, v FROM tx_p WHERE id >= 40 OR id = 1 ORDER BY id")
    out += c.query("BEGIN")
    out += c.query("INSERT INTO tx_p VALUES (46, 'x')")
    out += c.query("ROLLBACK TO before_any")
    out += c.query("SAVEPOINT s")
    out += c.query("INSERT INTO tx_p VALUES (46, 'x')")
    out += c.query("ROLLBACK TO s")
    out += c.query("COMMIT")
    out += o.query("SELECT count(*) FROM tx_p WHERE id = 46")
    return out


same("SAVEPOINT, ROLLBACK TO and RELEASE undo exactly the writes after the savepoint", tx_savepoints)


def tx_read_only(c):
    out = c.query("BEGIN READ ONLY")
    out += c.query("SELECT count(*) FROM tx_p")
    out += c.query("INSERT INTO tx_p VALUES (50, 'x')")
    out += c.query("ROLLBACK")
    out += c.query("BEGIN")
    out += c.query("SET TRANSACTION READ ONLY")
    out += c.query("SHOW transaction_read_only")
    out += c.query("DELETE FROM tx_p WHERE id = 1")
    out += c.query("ROLLBACK")
    out += c.query("START TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
    out += c.copy_in("COPY tx_p FROM STDIN", b"51\tx\n")
    out += c.query("COMMIT")
    out += c.query("SET TRANSACTION READ ONLY")
    out += c.query("SHOW transaction_read_only")
    out += c.query("SELECT count(*) FROM tx_p WHERE id >= 50")
    return out


same("BEGIN READ ONLY / SET TRANSACTION READ ONLY refuse INSERT, DELETE and COPY with 25006", tx_read_only)


def tx_extended(c):
    o = other[c]
    out = []
    c.parse("tx_b", "BEGIN")
    c.parse("tx_i", "INSERT INTO tx_p VALUES ($1, $2)", (23, 25))
    c.parse("tx_n", "SELECT count(*) FROM tx_p WHERE id >= $1", (23,))
    c.parse("tx_e", "COMMIT")
    c.sync()
    out += c.until_ready()
    c.bind("", "tx_b")
    c.execute("")
    for k in (60, 61, 62):
        c.bind("", "tx_i", values=(str(k), "v%d" % k))
        c.execute("")
    c.bind("", "tx_n", values=("60",))
    c.execute("")
    c.sync()
    out += c.until_ready()
    out += o.query("SELECT count(*) FROM tx_p WHERE id >= 60")
    c.bind("", "tx_i", values=("63", "v63"))
    c.execute("")
    c.bind("", "tx_i", values=("60", "dup"))
    c.execute("")
    c.bind("", "tx_n", values=("60",))
    c.execute("")
    c.sync()
    out += c.until_ready()
    c.bind("", "tx_n", values=("60",))
    c.execute("")
    c.sync()
    out += c.until_ready()
    c.bind("", "tx_e")
    c.execute("")
    c.sync()
    out += c.until_ready()
    out += o.query("SELECT count(*) FROM tx_p WHERE id >= 60")
    for n in ("tx_b", "tx_i", "tx_n", "tx_e"):
        c.close_obj("S", n)
    c.sync()
    out += c.until_ready()
    return out


same("extended protocol in a block: ReadyForQuery T, an error makes it E and 25P02, COMMIT answers ROLLBACK",
     tx_extended)


def tx_implicit(c):
    """Without BEGIN, the statements up to Sync (or of one Query string) are one implicit
    transaction: an error drops the writes before it too."""
    o = other[c]
    out = []
    c.parse("ti", "INSERT INTO tx_p VALUES ($1, $2)", (23, 25))
    for k, v in ((80, "a"), (81, "b"), (80, "dup"), (82, "c")):
        c.bind("", "ti", values=(str(k), v))
        c.execute("")
    c.sync()
    out += c.until_ready()
    out += o.query("SELECT count(*) FROM tx_p WHERE id >= 80 AND id < 90")
    for k, v in ((80, "a"), (81, "b")):
        c.bind("", "ti", values=(str(k), v))
        c.execute("")
    c.parse("", "SELECT count(*) FROM tx_p WHERE id >= 80 AND id < 90")
    c.bind("", "")
    c.execute("")
    c.sync()
    out += c.until_ready()
    out += o.query("SELECT count(*) FROM tx_p WHERE id >= 80 AND id < 90")
    out += c.query("INSERT INTO tx_p VALUES (83, 'd'); INSERT INTO tx_p VALUES (81, 'dup')")
    out += c.query("INSERT INTO tx_p VALUES (84, 'e'); SELECT count(*) FROM tx_p WHERE id >= 80 AND id < 90;"
                   " DELETE FROM tx_p WHERE id = 80")
    out += c.query("INSERT INTO tx_p VALUES (85, 'f'); BEGIN; INSERT INTO tx_p VALUES (86, 'g')")
    out += o.query("SELECT id FROM tx_p WHERE id >= 80 AND id < 90 ORDER BY id")
    out += c.query("ROLLBACK")
    out += c.query("INSERT INTO tx_p VALUES (87, 'h'); COMMIT")
    c.bind("", "ti", values=("88", "i"))
    c.execute("")
    c.parse("", "CREATE TABLE tx_later (a int4)")
    c.bind("", "")
    c.execute("")
    c.sync()
    out += c.until_ready()
    out += o.query("SELECT id FROM tx_p WHERE id >= 80 AND id < 90 ORDER BY id")
    c.close_obj("S", "ti")
    c.sync()
    out += c.until_ready()
    return out


same("implicit transactions: a pipeline up to Sync and a multi-statement Query commit or fail whole", tx_implicit)


def tx_disconnect(c):
    port = args.tally_port if c is tally else args.pg_port
    d = Conn(port)
    d.query("BEGIN")
    d.query("INSERT INTO tx_p SELECT 1000 + k, s FROM proto_rows WHERE k < 100")
    d.s.close()
    time.sleep(0.3)
    out = c.query("SELECT count(*) FROM tx_p WHERE id >= 1000")
    out += c.query("INSERT INTO tx_p VALUES (1000, 'after')")
    out += c.query("SELECT count(*) FROM tx_p WHERE id >= 1000")
    out += c.query("DELETE FROM tx_p WHERE id >= 1000")
    return out


same("a client leaving inside a block with writes: nothing of it stays, others write on", tx_disconnect)


ARRAYS = [("'{1,2,NULL,-2147483648}'::int4[]", 1007), ("'{a,\"b c\",NULL,\"\",é}'::text[]", 1009),
          ("'{1,-32768}'::int2[]", 1005), ("'{9223372036854775807,-1}'::int8[]", 1016),
          ("'{26,1009,4294967295}'::oid[]", 1028), ("'{}'::int4[]", 1007), ("NULL::text[]", 1009),
          ("'1 0 -2'::int2vector", 22)]


def binary_arrays(c):
    """Arrays out in binary (array_send), then the same bytes back as binary parameters
    (array_recv) and out again in text and binary."""
    out = []
    c.parse("", "SELECT " + ", ".join(e for e, _ in ARRAYS) + ", i.indkey FROM pg_index i"
            " WHERE i.indrelid = 'tx_p'::regclass")
    c.bind("", "", rfmts=(1,))
    c.describe("P", "")
    c.execute("", 0)
    c.sync()
    got = c.until_ready()
    out += got
    row = [b for t, b in got if t == "D"]
    vals = binary_values_from(render([("D", row[0])]))[0] if row else []
    for (expr, oid), v in zip(ARRAYS, vals):
        c.parse("", "SELECT $1::%s" % expr.split("::")[1], (oid,))
        c.bind("", "", values=(v,), pfmts=(1,), rfmts=(0,))
        c.execute("", 0)
        c.bind("", "", values=(v,), pfmts=(1,), rfmts=(1,))
        c.execute("", 0)
        c.sync()
        out += c.until_ready()
    c.parse("", "SELECT $1::int4[]", (1007,))
    for bad in (struct.pack("!iiI", 1, 0, 25) + struct.pack("!ii", 1, 1) + struct.pack("!i", 1) + b"x",
                struct.pack("!iiI", 1, 0, 23) + struct.pack("!ii", 2, 1) + struct.pack("!ii", 4, 7),
                struct.pack("!iiI", 1, 0, 23)):
        c.bind("", "", values=(bad,), pfmts=(1,))
        c.execute("", 0)
        c.sync()
        out += c.until_ready()
    return out


same("binary arrays (int4[], text[], int2[], int8[], oid[], empty, NULL, int2vector) out and back in", binary_arrays)

# ---- pgjdbc: server-prepared statements ---------------------------------------------------
# Prepared.java runs each statement ten times per prepareThreshold; pgjdbc switches to a
# named statement with binary results (arrays included) at the threshold's execution.
def java_prepared():
    javac, java = shutil.which("javac"), shutil.which("java")
    jar = "/usr/share/java/postgresql.jar"
    if not javac or not java or not os.path.exists(jar):
        return None, "javac/java or pgjdbc missing (tools/setup.sh: default-jdk-headless, libpostgresql-jdbc-java)"
    out = tempfile.mkdtemp(prefix="tally-jdbc-")
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "clients", "Prepared.java")
    r = subprocess.run([javac, "-d", out, "-cp", jar, src], capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        return None, "javac failed: " + r.stderr
    return (java, out + ":" + jar, out), None


jc, why = java_prepared()
if not jc:
    tap(False, "pgjdbc prepared statements", why)
else:
    for thr in ("0", "5", "-1"):
        outs = []
        for port in (args.tally_port, args.pg_port):
            r = subprocess.run([jc[0], "-cp", jc[1], "Prepared", str(port), thr], capture_output=True, text=True,
                               timeout=300)
            outs.append(r.stdout.splitlines() + (["exit %d: %s" % (r.returncode, r.stderr[-2000:])]
                                                 if r.returncode else []))
        diff = [(a, b) for a, b in zip(outs[0], outs[1]) if a != b][:10]
        tap(outs[0] == outs[1] and len(outs[0]) > 50,
            "pgjdbc prepareThreshold=%s: every execution's rows and the transaction as PostgreSQL's" % thr,
            "\n".join("tally: %s\npg:    %s" % d for d in diff) or "tally %d lines, pg %d" % tuple(map(len, outs)))
        runs = {}
        for line in outs[0]:
            parts = line.split("|", 2)
            if len(parts) == 3 and parts[0].startswith("q"):
                runs.setdefault((parts[0], parts[1]), []).append(parts[2])
        bad = [k for k in runs if runs[k] != runs[(k[0], "1")]]
        tap(runs and not bad, "pgjdbc prepareThreshold=%s: ten executions of a statement give the same rows" % thr,
            "differ: %s" % bad[:5])
    shutil.rmtree(jc[2], ignore_errors=True)

# ---- tally only: cancel and disconnect ------------------------------------------------
pg.close()
pg2.close()

# A view changes with its facts at COMMIT, never before: from another session it equals
# its defining query at every step (the rollup oracle, as tests/e2e/rollup.sh).
Q_VIEW = "SELECT v, n FROM tx_mv ORDER BY v"
Q_DEF = "SELECT v, count(*) AS n FROM tx_p GROUP BY v ORDER BY v"
r = render(tally.query("CREATE MATERIALIZED VIEW tx_mv AS SELECT v, count(*) AS n FROM tx_p GROUP BY v"))
tap(r[-1] == "Z(I)" and not any(m.startswith(("E(", "N(")) for m in r),
    "a view over tx_p kept incrementally (no NOTICE)", " ".join(r))
before = render(tally2.query(Q_VIEW))
steps = []
tally.query("BEGIN")
tally.query("INSERT INTO tx_p VALUES (70, 'seventy'), (71, 'seventy'), (72, 'one')")
tally.query("DELETE FROM tx_p WHERE id = 2")
steps.append(("open block", render(tally2.query(Q_VIEW)), render(tally2.query(Q_DEF))))
tally.query("SAVEPOINT s")
tally.query("INSERT INTO tx_p VALUES (73, 'seventy')")
tally.query("ROLLBACK TO s")
tally.query("COMMIT")
steps.append(("after COMMIT", render(tally2.query(Q_VIEW)), render(tally2.query(Q_DEF))))
tap(all(v == d for _, v, d in steps) and steps[0][1] == before and steps[1][1] != before,
    "a view equals its defining query for others before and after COMMIT, and changes at COMMIT",
    "\n".join("%s: view %s / query %s" % (n, " ".join(v), " ".join(d)) for n, v, d in steps))

# DDL: before the block's first write it runs at once (and stays after ROLLBACK); after
# it, 25001 (README: transaction blocks).
r = render(tally.query("BEGIN")) + render(tally.query("CREATE TABLE tx_ddl (a int4)"))
r += render(tally.query("INSERT INTO tx_ddl VALUES (1)"))
r += render(tally.query("CREATE INDEX tx_ddl_a ON tx_ddl (a)"))
r += render(tally.query("ROLLBACK"))
r += render(tally.query("SELECT count(*) FROM tx_ddl"))
tap(r == ["C(BEGIN)", "Z(T)", "C(CREATE TABLE)", "Z(T)", "C(INSERT 0 1)", "Z(T)",
          "E(ERROR 25001 a catalog change cannot run inside a transaction block that has written rows)", "Z(E)",
          "C(ROLLBACK)", "Z(I)", "T(count:20:8:-1:0)", "D(30)", "C(SELECT 1)", "Z(I)"],
    "DDL in a block: at once before its first write, 25001 after it", " ".join(r))
tally2.close()


def long_query(c, ways=2):
    """A join whose output is 5000^ways/7^(ways-1) rows, counted: a two-way join is about a
    second of work for tally, a three-way one minutes (what a cancel must stop)."""
    c.parse("", "SELECT count(*) FROM proto_rows a JOIN proto_rows b ON a.g = b.g" +
            (" JOIN proto_rows c ON b.g = c.g" if ways == 3 else ""))
    c.bind("", "")
    c.execute("", 0)
    c.sync()


def cancel(c):
    k = socket.create_connection(("127.0.0.1", args.tally_port), timeout=10)
    k.sendall(struct.pack("!IIii", 16, 80877102, c.key[0], c.key[1]))
    k.recv(1)
    k.close()


long_query(tally, 3)
time.sleep(0.3)
t0 = time.monotonic()
cancel(tally)
msgs = tally.until_ready()
dt = time.monotonic() - t0
r = render(msgs)
tap(any(m.startswith("E(ERROR 57014 canceling statement due to user request") for m in r) and r[-1] == "Z(I)",
    "cancel during a long join stops it with 57014 (took %.0f ms)" % (dt * 1000), " ".join(r))
# the bound; sanitizer builds run several times slower, so they get ten times it
limit = 1.0 if os.environ.get("TL_SANITIZED") else 0.1
tap(dt < limit, "57014 arrives within %d ms of the CancelRequest (%.1f ms)" % (limit * 1000, dt * 1000))
print("# cancel latency: %.1f ms" % (dt * 1000))
r = render(tally.query("SELECT count(*) FROM proto_rows"))
tap("D(35303033)" in r, "the session is usable after cancel", " ".join(r))

# a client that leaves in the middle of a long query and of a large result
for what in ("long join", "large result"):
    c = Conn(args.tally_port)
    if what == "long join":
        long_query(c)
    else:
        c.parse("", "SELECT a.s, b.s FROM proto_rows a JOIN proto_rows b ON a.g = b.g")
        c.bind("", "")
        c.execute("", 0)
        c.sync()
    time.sleep(0.2)
    c.s.close()
    r = render(tally.query("SELECT 1"))
    tap(r == ["T(?column?:23:4:-1:0)", "D(31)", "C(SELECT 1)", "Z(I)"],
        "server answers after a client left mid-query (%s)" % what, " ".join(r))

tally.close()
state = os.environ.get("TL_TAP_STATE")
if state:
    with open(state, "w") as f:
        f.write("%d %d\n" % (n_checks, n_failed))
