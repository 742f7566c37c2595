"""tests/e2e/durability.py TALLYD SHIM — crash recovery, fault injection and damaged
files, against a real tallyd on a throwaway data directory. TAP on stdout.

The crash rounds: writer threads stream single-row INSERTs, multi-row INSERTs and COPY
batches, each recording a batch only once the server acknowledged it, while tallyd is
SIGKILLed at a random moment (with CHECKPOINTs and automatic checkpoints mixed in).
After every restart each acknowledged batch is present exactly once and each batch in
flight at the kill is either wholly present or wholly absent — nothing else exists.
"""
import hashlib
import io
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import psycopg2

TALLYD, SHIM = sys.argv[1], sys.argv[2]
ROUNDS = int(os.environ.get("TL_CRASH_ROUNDS", "30"))
SANITIZE = os.environ.get("TL_SANITIZE") == "1"
n_checks = 0
n_failed = 0


def ok(cond, name, diag=""):
    global n_checks, n_failed
    n_checks += 1
    if cond:
        print(f"ok {n_checks} - {name}", flush=True)
    else:
        n_failed += 1
        print(f"not ok {n_checks} - {name}", flush=True)
        for line in str(diag).splitlines()[:30]:
            print(f"#   {line}", flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Server:
    def __init__(self, datadir, extra=(), env=None):
        self.datadir = datadir
        self.port = free_port()
        self.log = os.path.join(os.path.dirname(datadir), "tallyd.log")
        e = dict(os.environ)
        if env:
            e.update(env)
        with open(self.log, "a") as lf:
            lf.write(f"--- start {' '.join(extra)} {env or ''}\n")
        self.logf = open(self.log, "a")
        self.proc = subprocess.Popen([TALLYD, "--port", str(self.port), "--data-dir", datadir, *extra],
                                     stdout=self.logf, stderr=self.logf, env=e)

    def wait_ready(self, secs=60):
        end = time.time() + secs
        while time.time() < end:
            if self.proc.poll() is not None:
                return False
            try:
                c = self.connect()
                c.close()
                return True
            except psycopg2.OperationalError:
                time.sleep(0.05)
        return False

    def connect(self):
        c = psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres",
                             connect_timeout=5)
        c.autocommit = True
        return c

    def kill(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.logf.close()

    def term(self, timeout=60):
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.logf.close()
        return rc

    def log_text(self):
        with open(self.log) as f:
            return f.read()


def run_once(datadir, extra=()):
    """Start tallyd expecting it to refuse: (exit code, stderr)."""
    p = subprocess.run([TALLYD, "--port", str(free_port()), "--data-dir", datadir, *extra],
                       capture_output=True, text=True, timeout=60)
    return p.returncode, p.stderr


def dir_digest(d):
    h = hashlib.sha256()
    for name in sorted(os.listdir(d)):
        if name == "tally.lock":
            continue
        h.update(name.encode())
        with open(os.path.join(d, name), "rb") as f:
            h.update(f.read())
    return h.hexdigest()


SCHEMA = ("create type mood as enum ('calm', 'tense');"
          "create table w (id bigint primary key, writer int not null, batch int not null, "
          "note text, d date, m mood, amount numeric(12,2))")

# Three incremental views over w, shaped like the seed's (per-key counts and sums, a
# month rollup with avg and a FILTER, distinct counts under a WHERE). After every restart
# each must equal its defining query, run by tally itself.
VIEWS = {
    "v_writer": "select writer, count(*) as n, sum(amount) as total, min(id) as lo, max(id) as hi "
                "from w group by writer",
    "v_month": "select date_trunc('month', d) as month, count(*) as n, avg(amount) as avg_amount, "
               "count(note) filter (where amount >= 500) as big from w group by 1",
    "v_notes": "select note, count(*) as n, count(distinct writer) as writers from w "
               "where note is not null group by note",
}


def views_equal(cur):
    """Names of views whose rows differ from their defining query's."""
    bad = []
    for name, q in VIEWS.items():
        cur.execute(f"select * from {name} order by 1")
        got = cur.fetchall()
        cur.execute(f"{q} order by 1")
        want = cur.fetchall()
        if got != want:
            bad.append(f"{name}: {len(got)} rows vs {len(want)} from its query; first diff "
                       f"{next(((a, b) for a, b in zip(got, want) if a != b), None)}")
    return bad


def row(i, w, b):
    # values of several physical kinds: dictionary text, partitioning date, enum, numeric
    return (i, w, b, f"note {i % 97}" if i % 5 else None, f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}",
            "calm" if i % 2 else "tense", f"{i % 1000}.{i % 100:02d}")


class Writer(threading.Thread):
    """Streams batches into table w; acked[(w, b)] = ids of acknowledged batches."""

    def __init__(self, srv, wid, next_id, acked, inflight, rnd, round_no):
        super().__init__(daemon=True)
        self.srv, self.wid, self.next_id = srv, wid, next_id
        self.acked, self.inflight, self.rnd = acked, inflight, rnd
        self.batch = round_no * 100000  # batch keys unique across rounds
        self.mine = []  # this round's acknowledged batches, candidates for DELETE

    def run(self):
        try:
            conn = self.srv.connect()
            cur = conn.cursor()
            if self.rnd.random() < 0.3:
                cur.execute("set synchronous_commit = off")
                # asynchronous batches may be lost: never counted as acknowledged
                self.async_mode = True
            else:
                self.async_mode = False
        except Exception:
            return
        while True:
            if self.mine and not self.async_mode and self.rnd.random() < 0.08:
                # DELETE a whole acknowledged batch: after a crash it is wholly there or
                # wholly gone while in flight, and gone for good once acknowledged
                key = self.mine.pop(self.rnd.randrange(len(self.mine)))
                self.inflight[self.wid] = (("del", key), self.acked[key])
                try:
                    cur.execute("delete from w where writer = %s and batch = %s", key)
                except Exception:
                    return
                del self.acked[key]
                self.inflight[self.wid] = None
                continue
            self.batch += 1
            k = self.rnd.choice([1, 1, 3, 50, 400])
            ids = list(range(self.next_id, self.next_id + k))
            self.next_id += k
            key = (self.wid, self.batch)
            self.inflight[self.wid] = (key, ids)
            try:
                if k <= 3 or self.rnd.random() < 0.3:
                    vals = ",".join(cur.mogrify("(%s,%s,%s,%s,%s,%s,%s)", row(i, self.wid, self.batch)).decode()
                                    for i in ids)
                    cur.execute("insert into w values " + vals)
                else:
                    buf = io.StringIO()
                    for i in ids:
                        r = row(i, self.wid, self.batch)
                        buf.write("\t".join("\\N" if v is None else str(v) for v in r) + "\n")
                    buf.seek(0)
                    cur.copy_expert("copy w from stdin", buf)
            except Exception:
                return
            if not self.async_mode:
                self.acked[key] = ids
                self.mine.append(key)
            else:
                self.inflight.setdefault("async", []).append((key, ids))
            self.inflight[self.wid] = None


def crash_rounds(work):
    datadir = os.path.join(work, "crash")
    srv = Server(datadir, ["--checkpoint-wal-mb", "1"])
    ok(srv.wait_ready(), "crash: tallyd starts on an empty data directory", srv.log_text())
    c = srv.connect()
    c.cursor().execute(SCHEMA)
    for name, q in VIEWS.items():
        c.cursor().execute(f"create materialized view {name} as {q}")
    c.close()
    rnd = random.Random(int(os.environ.get("TL_CRASH_SEED", "7")))
    acked = {}
    next_id = 1
    bad = []
    total_checked = 0
    views_checked = 0
    for rnd_no in range(ROUNDS):
        inflight = {}
        writers = []
        for wid in range(3):
            wr = Writer(srv, wid, next_id, acked, inflight, random.Random(rnd.random()), rnd_no)
            next_id += 10_000_000 // ROUNDS // 3
            writers.append(wr)
        for wr in writers:
            wr.start()
        if rnd.random() < 0.3:
            time.sleep(rnd.uniform(0.0, 0.2))
            try:
                cc = srv.connect()
                cc.cursor().execute("checkpoint")
                cc.close()
            except Exception:
                pass
        time.sleep(rnd.uniform(0.02, 0.6 if not SANITIZE else 1.2))
        srv.kill()
        for wr in writers:
            wr.join(10)
        srv = Server(datadir, ["--checkpoint-wal-mb", "1"])
        if not srv.wait_ready():
            bad.append(f"round {rnd_no}: restart failed:\n" + srv.log_text()[-2000:])
            break
        cur = srv.connect().cursor()
        cur.execute("select id, writer, batch from w")
        rows = cur.fetchall()
        ids = [r[0] for r in rows]
        present = set(ids)
        if len(present) != len(ids):
            bad.append(f"round {rnd_no}: {len(ids) - len(present)} duplicated rows")
        by_batch = {}
        for i, w, b in rows:
            by_batch.setdefault((w, b), set()).add(i)
        for wid in range(3):  # an in-flight DELETE may have removed an acknowledged batch
            f = inflight.get(wid)
            if f and f[0][0] == "del" and not by_batch.get(f[0][1]):
                acked.pop(f[0][1], None)
        for key, bids in acked.items():
            if by_batch.get(key) != set(bids):
                bad.append(f"round {rnd_no}: acknowledged batch {key} has {len(by_batch.get(key, ()))} of {len(bids)} rows")
        allowed = set(acked)
        for wid in range(3):
            f = inflight.get(wid)
            if f and f[0][0] == "del":
                key, bids = f[0][1], f[1]
                got = by_batch.get(key, set())
                if got and got != set(bids):
                    bad.append(f"round {rnd_no}: in-flight DELETE of {key} half applied ({len(got)} of {len(bids)})")
                if not got:
                    acked.pop(key, None)  # the delete survived: the batch must stay gone
                    allowed.discard(key)
                continue
            if f:
                key, bids = f
                got = by_batch.get(key, set())
                if got and got != set(bids):
                    bad.append(f"round {rnd_no}: in-flight batch {key} half applied ({len(got)} of {len(bids)})")
                if got:
                    acked[key] = bids  # it survived: from now on it must stay
                allowed.add(key)
        for key, bids in inflight.get("async", []):
            got = by_batch.get(key, set())
            if got and got != set(bids):
                bad.append(f"round {rnd_no}: asynchronous batch {key} half applied")
            if got:
                acked[key] = bids
            allowed.add(key)
        extra = set(by_batch) - allowed
        if extra:
            bad.append(f"round {rnd_no}: rows of batches never sent: {sorted(extra)[:5]}")
        total_checked += len(ids)
        for v in views_equal(cur):
            bad.append(f"round {rnd_no}: view {v}")
        views_checked += len(VIEWS)
        cur.connection.close()
        if bad:
            break
    ok(not bad, f"crash: {ROUNDS} SIGKILL rounds with INSERT, COPY and DELETE writers, every acknowledged row "
                f"present exactly once, every acknowledged DELETE kept, nothing half-applied, every view equal to "
                f"its defining query ({len(acked)} batches, {total_checked} rows, {views_checked} view checks)",
       "\n".join(bad))
    log = srv.log_text()
    snap_starts = [ln for ln in log.splitlines() if "recovered" in ln and "snapshot at LSN 0," not in ln]
    ok(len(snap_starts) > 0, "crash: some restarts loaded a snapshot and replayed the WAL after it", log[-1500:])
    rc = srv.term()
    ok(rc == 0, "shutdown: SIGTERM exits 0", f"exit code {rc}")
    files = sorted(os.listdir(datadir))
    ok("shutdown checkpoint written" in srv.log_text() and any(f.startswith("snapshot.") for f in files),
       "shutdown: SIGTERM writes a checkpoint", f"{files}\n{srv.log_text()[-800:]}")
    srv = Server(datadir)
    ok(srv.wait_ready(), "shutdown: restart after SIGTERM", srv.log_text()[-800:])
    cur = srv.connect().cursor()
    cur.execute("select count(*) from w")
    want = sum(len(v) for v in acked.values())
    got = cur.fetchone()[0]
    ok(got == want, "shutdown: every acknowledged row is back after the clean restart", f"{got} vs {want}")
    # lock file: a second server on the same directory refuses
    rc, err = run_once(datadir)
    ok(rc == 3 and "in use by another tallyd" in err, "lock: a second tallyd on the same data directory exits 3",
       f"exit {rc}: {err}")
    cur.connection.close()
    srv.kill()


def small_db(work, name, n, extra=(), env=None):
    """A data directory holding table t with n single-row commits, then SIGKILL."""
    d = os.path.join(work, name)
    srv = Server(d, extra, env)
    assert srv.wait_ready(), srv.log_text()
    cur = srv.connect().cursor()
    cur.execute("create table t (id int primary key, s text)")
    for i in range(1, n + 1):
        cur.execute("insert into t values (%s, %s)", (i, f"row {i}" * 3))
    cur.connection.close()
    srv.kill()
    return d


def count_rows(d):
    srv = Server(d)
    if not srv.wait_ready():
        return None, srv.log_text()
    cur = srv.connect().cursor()
    cur.execute("select id from t order by id")
    ids = [r[0] for r in cur.fetchall()]
    cur.connection.close()
    srv.kill()
    return ids, srv.log_text()


def wal_file(d):
    return os.path.join(d, sorted(f for f in os.listdir(d) if f.startswith("wal."))[-1])


def corruption(work):
    # a byte flipped inside a record in the middle: start-up stops, names file and offset
    d = small_db(work, "mid", 6)
    wf = wal_file(d)
    size = os.path.getsize(wf)
    with open(wf, "r+b") as f:
        data = bytearray(f.read())
        pos = size // 2
        data[pos] ^= 0x40
        f.seek(0)
        f.write(data)
    before = dir_digest(d)
    rc, err = run_once(d)
    ok(rc == 1 and os.path.basename(wf) in err and "offset" in err,
       "corrupt: a damaged record mid-WAL stops start-up, naming file and offset", f"exit {rc}: {err}")
    ok(dir_digest(d) == before, "corrupt: the refused start-up changed nothing on disk")

    # the last record damaged: a torn tail, cut and logged; the rest is there
    d = small_db(work, "tail", 5)
    wf = wal_file(d)
    with open(wf, "r+b") as f:
        f.seek(-3, os.SEEK_END)
        b = f.read(1)
        f.seek(-3, os.SEEK_END)
        f.write(bytes([b[0] ^ 0xFF]))
    ids, log = count_rows(d)
    ok(ids == [1, 2, 3, 4] and "torn record" in log,
       "corrupt: a bad checksum in the last record is a torn tail: cut, logged, earlier rows kept", f"{ids}\n{log[-600:]}")

    # a partial last record (write cut short)
    d = small_db(work, "partial", 5)
    wf = wal_file(d)
    os.truncate(wf, os.path.getsize(wf) - 7)
    ids, log = count_rows(d)
    ok(ids == [1, 2, 3, 4] and "torn record" in log, "corrupt: a partial last record is cut at start-up",
       f"{ids}\n{log[-600:]}")
    ids2, _ = count_rows(d)
    ok(ids2 == [1, 2, 3, 4], "corrupt: after the cut the WAL is clean (second restart)", f"{ids2}")

    # a truncated snapshot: start-up stops naming the file and the offset
    d = os.path.join(work, "snap")
    srv = Server(d)
    srv.wait_ready()
    cur = srv.connect().cursor()
    cur.execute("create table t (id int primary key, s text)")
    cur.execute("insert into t values (1, 'a'), (2, 'b'), (3, 'c')")
    cur.execute("checkpoint")
    cur.execute("insert into t values (4, 'd')")
    cur.connection.close()
    srv.kill()
    snaps = [f for f in os.listdir(d) if f.startswith("snapshot.")]
    ids, _ = count_rows(d)
    ok(len(snaps) == 1 and ids == [1, 2, 3, 4], "snapshot: CHECKPOINT writes a snapshot; restart = snapshot + WAL",
       f"{snaps} {ids}")
    sp = os.path.join(d, snaps[0])
    os.truncate(sp, os.path.getsize(sp) - 20)
    before = dir_digest(d)
    rc, err = run_once(d)
    ok(rc == 1 and snaps[0] in err and "offset" in err, "snapshot: a truncated snapshot stops start-up with file and offset",
       f"exit {rc}: {err}")
    ok(dir_digest(d) == before, "snapshot: the refused start-up changed nothing on disk")


def faults(work):
    env_base = {"LD_PRELOAD": SHIM, "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0"}
    cases = [("enospc", "53100"), ("eio", "58030"), ("fsync", "58030")]
    for kind, state in cases:
        d = os.path.join(work, "fault-" + kind)
        # the table's record and 3 inserts are written before the fault arms
        srv = Server(d, ["--wal-io", "pwrite"], dict(env_base, TL_FAULT=f"{kind}:4"))
        ok(srv.wait_ready(), f"fault {kind}: starts", srv.log_text()[-500:])
        cur = srv.connect().cursor()
        cur.execute("create table t (id int primary key, s text)")
        for i in (1, 2, 3):
            cur.execute("insert into t values (%s, 'x')", (i,))
        got = None
        try:
            cur.execute("insert into t values (4, 'lost')")
        except psycopg2.Error as e:
            got = e.pgcode
        ok(got == state, f"fault {kind}: the failing commit gets {state}, not an acknowledgement", f"got {got}")
        try:
            cur.execute("select id from t order by id")
            ids = [r[0] for r in cur.fetchall()]
        except psycopg2.Error as e:
            ids = str(e)
        ok(ids == [1, 2, 3], f"fault {kind}: reads go on, without the failed row", f"{ids}")
        got = None
        try:
            cur.execute("insert into t values (5, 'later')")
        except psycopg2.Error as e:
            got = e.pgcode
        ok(got == state, f"fault {kind}: later writes are refused ({state}) until restart", f"got {got}")
        cur.connection.close()
        srv.kill()
        ids, log = count_rows(d)
        if kind == "fsync":
            # after a failed fsync nobody knows what reached the disk: the failed batch
            # may come back whole (the server cuts it from the file when it can)
            ok(ids in ([1, 2, 3], [1, 2, 3, 4]),
               f"fault {kind}: after restart every acknowledged row is there, the failed batch whole or not at all",
               f"{ids}\n{log[-500:]}")
        else:
            ok(ids == [1, 2, 3], f"fault {kind}: after restart every acknowledged row is there, the failed one is not",
               f"{ids}\n{log[-500:]}")
    d = small_db(work, "fault-short", 6, ["--wal-io", "pwrite"], dict(env_base, TL_FAULT="short:2"))
    ids, log = count_rows(d)
    ok(ids == [1, 2, 3, 4, 5, 6], "fault short: short writes are completed, nothing lost", f"{ids}\n{log[-500:]}")


def roles_restart(work):
    """Roles with SCRAM passwords, grants, default privileges, functions and cron jobs
    survive a crash (WAL replay) and a restart from a snapshot."""
    d = os.path.join(work, "roles")
    os.makedirs(d)
    hba = os.path.join(work, "hba.conf")
    with open(hba, "w") as f:
        f.write("host all postgres 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 scram-sha-256\n")
    args = ["--hba", hba]
    srv = Server(os.path.join(d, "data"), args)
    ok(srv.wait_ready(), "roles: starts with a rule file", srv.log_text()[-800:])
    cur = srv.connect().cursor()
    for sql in ["create table t (id int primary key, s text)",
                "insert into t values (1, 'one'), (2, 'two')",
                "create role reporter login password 'pw-1'",
                "create role gone login password 'x'",
                "grant select on t to reporter",
                "alter default privileges in schema public grant select on tables to reporter",
                "create table t2 (id int primary key)",
                "insert into t2 values (7)",
                "drop role gone",
                "create function refresh_reporting_views() returns void language sql as 'select 1'",
                "select cron.schedule('a', '0 3 * * *', 'select 1')",
                "select cron.schedule('b', '0 4 * * *', 'select 2')",
                "comment on table t is 'facts'",
                "comment on column t.s is 'label'",
                "comment on table t2 is 'dropped comment'",
                "comment on table t2 is null",
                "create materialized view mv_t as select s, count(*) as n from t group by s",
                "comment on materialized view mv_t is 'by label'",
                "create view v_t (label) as select s from t where id > 0",
                "create view v_v as select count(*) as n from v_t",
                "grant select on v_t, v_v to reporter"]:
        cur.execute(sql)
    cur.connection.close()
    want_comments = [("mv_t", 0, "by label"), ("t", 0, "facts"), ("t", 2, "label")]

    def check(label):
        out = []
        try:
            rc = psycopg2.connect(host="127.0.0.1", port=srv.port, user="reporter", password="pw-1",
                                  dbname="postgres", connect_timeout=5)
            rc.autocommit = True
            rcur = rc.cursor()
            rcur.execute("select s from t order by id")
            if rcur.fetchall() != [("one",), ("two",)]:
                out.append("reporter reads wrong rows of t")
            rcur.execute("select id from t2")
            if rcur.fetchall() != [(7,)]:
                out.append("default privilege on t2 lost")
            rcur.execute("select label from v_t order by 1")
            got_v = rcur.fetchall()
            rcur.execute("select n from v_v")
            got_vv = rcur.fetchall()
            if got_v != [("one",), ("two",)] or got_vv != [(2,)]:
                out.append(f"views read {got_v} and {got_vv}")
            try:
                rcur.execute("insert into t values (3, 'x')")
                out.append("reporter could INSERT without the privilege")
            except psycopg2.Error as e:
                if e.pgcode != "42501":
                    out.append(f"INSERT failed with {e.pgcode}, not 42501")
            rc.close()
        except psycopg2.Error as e:
            out.append(f"reporter: {e}")
        try:
            psycopg2.connect(host="127.0.0.1", port=srv.port, user="reporter", password="wrong",
                             dbname="postgres", connect_timeout=5).close()
            out.append("a wrong password was accepted")
        except psycopg2.OperationalError:
            pass
        try:
            psycopg2.connect(host="127.0.0.1", port=srv.port, user="gone", password="x",
                             dbname="postgres", connect_timeout=5).close()
            out.append("a dropped role came back")
        except psycopg2.OperationalError:
            pass
        c = srv.connect()
        cc = c.cursor()
        cc.execute("select refresh_reporting_views()")
        cc.execute("select cron.schedule('a', '0 5 * * *', 'select 1')")
        if cc.fetchone()[0] != 1:
            out.append("cron job 'a' lost")
        cc.execute("select c.relname, d.objsubid, d.description from pg_description d "
                   "join pg_class c on c.oid = d.objoid order by 1, 2")
        got = cc.fetchall()
        if got != want_comments:
            out.append(f"comments: {got}, want {want_comments}")
        c.close()
        ok(not out, f"roles: after {label}, SCRAM login works, grants and default privileges hold, "
                    f"the dropped role stays dropped, functions, cron jobs, views and comments are kept",
           "\n".join(out))

    srv.kill()
    srv = Server(os.path.join(d, "data"), args)
    ok(srv.wait_ready(), "roles: restart after SIGKILL (WAL replay)", srv.log_text()[-800:])
    check("SIGKILL and WAL replay")
    c = srv.connect()
    c.cursor().execute("checkpoint")
    c.close()
    srv.kill()
    srv = Server(os.path.join(d, "data"), args)
    ok(srv.wait_ready(), "roles: restart from a snapshot", srv.log_text()[-800:])
    check("a restart from a snapshot")
    c = srv.connect()
    cc = c.cursor()
    cc.execute("select cron.schedule('c', '0 6 * * *', 'select 3')")
    jid = cc.fetchone()[0]
    ok(jid == 3, "roles: cron job ids continue after restarts", f"new job id {jid}, want 3")
    c.close()
    srv.kill()


def split_batches(work):
    """A batch bigger than one WAL record is written in parts (tallyd splits at 256 MiB;
    TALLY_TEST_WAL_PART_BYTES makes that a few KiB here). Acknowledged split batches come
    back whole after SIGKILL; parts left without their last record are dropped."""
    d = os.path.join(work, "split")
    env = {"TALLY_TEST_WAL_PART_BYTES": "4096"}
    srv = Server(d, (), env)
    assert srv.wait_ready(), srv.log_text()
    cur = srv.connect().cursor()
    cur.execute("create table t (id int primary key, s text)")
    for b in range(3):
        rows = "".join(f"{b * 5000 + i}\tsplit row {b * 5000 + i} {'x' * 40}\n" for i in range(1, 5001))
        cur.copy_expert("copy t from stdin", io.StringIO(rows))
    cur.connection.close()
    srv.kill()
    ids, log = count_rows(d)
    ok(ids == list(range(1, 15001)), "split batches: three 5,000-row COPYs written in 4 KiB parts come back whole",
       log[-2000:] if ids is None else f"{len(ids)} rows")
    # Cut the log inside the last batch's parts: that batch was never acknowledged as
    # far as the file is concerned, the two before it stay.
    w = wal_file(d)
    with open(w, "rb") as f:
        data = f.read()
    last = data.rfind(b"split row 10001 ")
    ok(last > 0, "split batches: the third batch's first row is in the WAL")
    if last > 0:
        with open(w, "r+b") as f:
            f.truncate(last + 2 * 4096)
        ids, log = count_rows(d)
        ok(ids == list(range(1, 10001)), "split batches: a batch cut between its parts is dropped whole",
           log[-2000:] if ids is None else f"{len(ids)} rows, max {max(ids) if ids else None}")


def snapshot_values(work):
    """Every column type comes back from a snapshot with its values, not just its row
    count: uuid columns that are not keys are dictionary-coded, and a snapshot load
    once read them back as text (a foreign key from them then failed start-up)."""
    d = os.path.join(work, "snapvals")
    srv = Server(d)
    assert srv.wait_ready(), srv.log_text()
    cur = srv.connect().cursor()
    cur.execute("create table p (id uuid primary key)")
    cur.execute("create table c (id int primary key, pid uuid references p(id), u uuid, s text, n numeric, "
                "ts timestamptz, b boolean)")
    ids = ["%08x-0000-4000-8000-%012x" % (i, i * 7919) for i in range(1, 301)]
    cur.execute("insert into p values " + ",".join("('%s')" % x for x in ids))
    cur.execute("insert into c select g, p.id, p.id, 'row ' || g::text, g * 1.25, "
                "timestamptz '2025-01-01 00:00:00+00' + g * interval '1 hour', g % 2 = 0 "
                "from (select row_number() over (order by id) as g, id from p) p")
    want_sql = "select id, pid::text, u::text, s, n::text, ts::text, b from c order by id"
    cur.execute(want_sql)
    want = cur.fetchall()
    cur.execute("checkpoint")
    cur.connection.close()
    srv.kill()
    srv = Server(d)
    ready = srv.wait_ready()
    got = None
    if ready:
        cur = srv.connect().cursor()
        cur.execute(want_sql)
        got = cur.fetchall()
        cur.connection.close()
    srv.kill()
    ok(ready and got == want, "snapshot: uuid, text, numeric, timestamptz and boolean values and a uuid foreign "
       "key come back equal after CHECKPOINT and SIGKILL",
       srv.log_text()[-1500:] if not ready else f"{len(got or [])} rows, first differing: "
       f"{next(((a, b) for a, b in zip(got or [], want) if a != b), None)}")


def reinserted_keys(work):
    """A key deleted and inserted again is in a snapshot twice (deleted rows keep their
    positions): start-up once failed on it with a duplicate-key error. Checked across
    partitions (a fact key deleted in one month and inserted again in another), with a
    cascade child, after a shutdown checkpoint and after CHECKPOINT + SIGKILL."""
    d = os.path.join(work, "rekeys")
    srv = Server(d)
    assert srv.wait_ready(), srv.log_text()
    cur = srv.connect().cursor()
    for sql in ["create table p (id int primary key, v text)",
                "create table c (id int primary key, pid int references p(id) on delete cascade)",
                "create table f (id uuid primary key, day date, n int)",
                "insert into p select g, 'v' || g from generate_series(1, 2000) g",
                "insert into c select g, g from generate_series(1, 2000) g",
                "delete from p where id % 3 = 0",
                "insert into p select g, 'again ' || g from generate_series(1, 2000) g where g % 3 = 0",
                "delete from p where id % 9 = 0",
                "insert into p select g, 'third ' || g from generate_series(1, 2000) g where g % 9 = 0",
                "insert into c select g + 10000, g from generate_series(1, 2000) g where g % 3 = 0",
                "insert into f values ('00000000-0000-4000-8000-000000000001', '2025-01-15', 1), "
                "('00000000-0000-4000-8000-000000000002', '2025-02-15', 2)",
                "delete from f where n = 1",
                "insert into f values ('00000000-0000-4000-8000-000000000001', '2025-03-15', 3)"]:
        cur.execute(sql)
    queries = ["select id, v from p order by id", "select id, pid from c order by id",
               "select id::text, day::text, n from f order by id"]

    def contents(c):
        out = []
        for q in queries:
            c.execute(q)
            out.append(c.fetchall())
        return out

    want = contents(cur)
    cur.connection.close()
    for how in ("SIGTERM (shutdown checkpoint)", "CHECKPOINT and SIGKILL"):
        if how.startswith("SIGTERM"):
            srv.term()
        else:
            c = srv.connect()
            c.cursor().execute("checkpoint")
            c.close()
            srv.kill()
        srv = Server(d)
        ready = srv.wait_ready()
        got, dup, fresh = None, None, None
        if ready:
            c = srv.connect()
            cur = c.cursor()
            got = contents(cur)
            for sql in ["insert into p values (3, 'dup')",
                        "insert into f values ('00000000-0000-4000-8000-000000000001', '2025-04-01', 4)"]:
                try:
                    cur.execute(sql)
                    dup = (dup or []) + ["accepted: " + sql]
                except psycopg2.Error as e:
                    if e.pgcode != "23505":
                        dup = (dup or []) + [f"{e.pgcode}: {sql}"]
            cur.execute("delete from p where id = 9")
            cur.execute("select count(*) from c where pid = 9")
            fresh = cur.fetchone()[0]
            c.close()
        ok(ready and got == want and dup is None and fresh == 0,
           f"snapshot: keys deleted and inserted again load back after {how}; they stay unique "
           f"and cascade", srv.log_text()[-1500:] if not ready else
           f"equal={got == want} dup={dup} children left={fresh}")
        if ready:
            want = contents(srv.connect().cursor())
    srv.kill()


def main():
    work = tempfile.mkdtemp(prefix="tally-dur.")
    try:
        t0 = time.time()
        crash_rounds(work)
        roles_restart(work)
        corruption(work)
        faults(work)
        split_batches(work)
        snapshot_values(work)
        reinserted_keys(work)
        print(f"# durability suite took {time.time() - t0:.1f} s", flush=True)
    finally:
        print(f"1..{n_checks}", flush=True)
        if n_failed == 0:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"# kept {work} for inspection", flush=True)


main()
