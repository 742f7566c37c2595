"""tests/e2e/security.py TALLY_PORT PG_PORT WORKDIR — see security.sh. TAP on stdout.

Expectations come from PostgreSQL 15 (the oracle on PG_PORT, which gets the same
roles and grants) wherever PostgreSQL has the feature; the org-scoping checks compare
what a scoped role sees with what the superuser sees for that org's WHERE clause."""
import os
import socket
import struct
import subprocess
import sys
import time

import psycopg2

TALLY, PG, WORK = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
TALLY_PID = int(sys.argv[4]) if len(sys.argv) > 4 else 0
STATEMENT_MEMORY = 256 << 20  # security.sh starts tallyd with --max-statement-memory 256MB
n_checks = 0
n_failed = 0


def check(ok, name, diag=None):
    global n_checks, n_failed
    n_checks += 1
    if not ok:
        n_failed += 1
    print(("ok" if ok else "not ok") + f" {n_checks} - {name}", flush=True)
    if not ok and diag:
        for line in str(diag).splitlines():
            print("#   " + line, flush=True)


def conn(port, user="postgres", password=None, dbname="postgres", **kw):
    c = psycopg2.connect(host=kw.pop("host", "127.0.0.1"), port=port, user=user, password=password,
                         dbname=dbname, connect_timeout=10, **kw)
    c.autocommit = True
    return c


def connect_error(port, **kw):
    """(sqlstate-ish message) of a failed connection, or None if it connected."""
    try:
        c = conn(port, **kw)
        c.close()
        return None
    except psycopg2.OperationalError as e:
        return str(e)


def outcome(c, sql):
    """'ok', or the SQLSTATE of the error."""
    try:
        with c.cursor() as cur:
            if sql.startswith("COPY") and "STDOUT" in sql:
                import io
                cur.copy_expert(sql, io.StringIO())
            elif sql.startswith("COPY") and "STDIN" in sql:
                import io
                cur.copy_expert(sql, io.StringIO(""))
            else:
                cur.execute(sql)
        return "ok"
    except psycopg2.Error as e:
        return e.pgcode or "?"


def rows(c, sql):
    with c.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall() if cur.description else None


ORG_A = "aaaaaaaa-0000-0000-0000-000000000001"
ORG_B = "bbbbbbbb-0000-0000-0000-000000000002"
SETUP = [
    "CREATE TABLE orgs (org_id uuid PRIMARY KEY, name text)",
    "CREATE TABLE facts (id int PRIMARY KEY, org_id uuid, score int, note text)",
    "CREATE TABLE notes (id int PRIMARY KEY, body text)",
    f"INSERT INTO orgs VALUES ('{ORG_A}', 'alpha'), ('{ORG_B}', 'SECRET_B_ORG')",
    f"INSERT INTO facts VALUES (1, '{ORG_A}', 10, 'a1'), (2, '{ORG_A}', 20, 'a2'), "
    f"(3, '{ORG_B}', 999, 'SECRET_B_1'), (4, '{ORG_B}', 7, 'SECRET_B_2')",
    "INSERT INTO notes VALUES (1, 'shared')",
    # the seed document's reporting_user block, as written there
    "create user reporting_user with password 'secure_password'",
    "grant connect on database postgres to reporting_user",
    "grant usage on schema public to reporting_user",
    "grant select on all tables in schema public to reporting_user",
    "grant select on facts to reporting_user",
    # more roles for the matrix
    "create user plain_user with password 'plain_pw'",
    "create user writer with password 'writer_pw'",
    "grant insert, delete on facts to writer",
    "grant select on orgs to writer",
    "create user revoked with password 'revoked_pw'",
    "grant select on all tables in schema public to revoked",
    "revoke select on facts from revoked",
    "create role nologin_role password 'x'",
]


def setup_both():
    t, p = conn(TALLY), conn(PG)
    for sql in SETUP:
        for c, name in ((t, "tally"), (p, "PostgreSQL")):
            r = outcome(c, sql)
            if r != "ok":
                check(False, f"setup on {name}: {sql}", r)
    return t, p


def main():
    admin, pg = setup_both()
    check(True, "setup (seed document's reporting_user block) ran on tally and PostgreSQL")

    # ---- authentication -------------------------------------------------------------
    c = conn(TALLY, "reporting_user", "secure_password")
    check(rows(c, "select current_user") == [("reporting_user",)], "psycopg2: SCRAM-SHA-256 login")
    c.close()
    e = connect_error(TALLY, user="reporting_user", password="wrong")
    check(e and 'password authentication failed for user "reporting_user"' in e, "wrong password: 28P01 message", e)
    e = connect_error(TALLY, user="no_such_role", password="x")
    check(e and 'password authentication failed for user "no_such_role"' in e,
          "unknown role gets the same answer as a wrong password", e)
    e = connect_error(TALLY, user="reporting_user", password="secure_password", dbname="nodb")
    check(e and 'database "nodb" does not exist' in e, "unknown database: 3D000", e)
    e = connect_error(TALLY, user="nologin_role", password="x")
    check(e and "is not permitted to log in" in e, "role without LOGIN refused", e)
    e = connect_error(TALLY, user="md5user", password="x")
    check(e and "pg_hba.conf rejects connection" in e, "hostnossl reject rule", e)
    admin_verifier_ok = outcome(admin, "create user md5user password 'md5" +
                                __import__("hashlib").md5(b"md5pwmd5user").hexdigest() + "'")
    c = conn(TALLY, "md5user", "md5pw", sslmode="require")
    check(rows(c, "select 1") == [(1,)], "md5 over TLS (hostssl rule, md5 verifier)", admin_verifier_ok)
    c.close()
    e = connect_error(TALLY, user="md5user", password="bad", sslmode="require")
    check(e and 'password authentication failed for user "md5user"' in e, "md5 wrong password: 28P01", e)
    # psql: SCRAM and TLS, verify-full against the test's own certificate
    env = dict(os.environ, PGPASSWORD="secure_password", PGCONNECT_TIMEOUT="10")
    for mode in ("require", f"verify-full sslrootcert={WORK}/cert.pem"):
        host = "localhost" if "verify" in mode else "127.0.0.1"
        r = subprocess.run(["psql", "-X", f"host={host} port={TALLY} user=reporting_user dbname=postgres sslmode={mode}",
                            "-c", "\\conninfo"], capture_output=True, text=True, env=env)
        check(r.returncode == 0 and "SSL connection" in r.stdout, f"psql sslmode={mode.split()[0]}: TLS session",
              r.stdout + r.stderr)
    c = conn(TALLY, "reporting_user", "secure_password", sslmode="verify-full", sslrootcert=f"{WORK}/cert.pem",
             host="localhost")
    check(rows(c, "select count(*) from facts") == [(4,)], "psycopg2 sslmode=verify-full: queries work")
    c.close()
    r = subprocess.run(["psql", "-X", f"host=127.0.0.1 port={TALLY} user=reporting_user dbname=postgres",
                        "-c", "select 1"], capture_output=True, text=True, env=dict(env, PGPASSWORD="nope"))
    check(r.returncode != 0 and "password authentication failed" in r.stderr, "psql wrong password", r.stderr)

    # ---- privilege matrix against PostgreSQL ----------------------------------------------
    stmts = [
        "SELECT * FROM facts", "SELECT * FROM public.facts", "SELECT count(*) FROM notes",
        "SELECT o.name FROM orgs o JOIN facts f ON f.org_id = o.org_id",
        "INSERT INTO facts VALUES ({id}, NULL, 1, 'x')", "INSERT INTO notes VALUES ({id}, 'x')",
        "DELETE FROM facts WHERE id = -1", "UPDATE facts SET score = 1 WHERE id = -1", "TRUNCATE notes",
        "CREATE TABLE t_{id} (a int)", "DROP TABLE notes", "CREATE INDEX ON facts (score)",
        "ALTER TABLE facts ADD COLUMN z int", "COPY facts TO STDOUT", "COPY notes FROM STDIN",
        "CREATE ROLE r_{id}", "GRANT SELECT ON notes TO plain_user", "CREATE TYPE ty_{id} AS ENUM ('a')",
        "SET ROLE postgres",
    ]
    roles = [("reporting_user", "secure_password"), ("plain_user", "plain_pw"), ("writer", "writer_pw"),
             ("revoked", "revoked_pw")]
    nid = 100
    for role, pw in roles:
        tc, pc = conn(TALLY, role, pw), conn(PG, role)
        mism = []
        for s in stmts:
            nid += 1
            sql = s.format(id=nid)
            a, b = outcome(tc, sql), outcome(pc, sql)
            if (a == "42501") != (b == "42501"):
                mism.append(f"{sql}: tally {a}, PostgreSQL {b}")
        check(not mism, f"privilege matrix for {role}: 42501 exactly where PostgreSQL gives it", "\n".join(mism))
        probes = ["select has_table_privilege('facts', 'select')", "select has_table_privilege('facts', 'insert')",
                  "select has_table_privilege('notes', 'SELECT, INSERT')",
                  "select has_schema_privilege('public', 'usage')", "select has_schema_privilege('public', 'create')",
                  "select has_database_privilege('postgres', 'connect')",
                  "select has_any_column_privilege('orgs', 'select')",
                  f"select has_table_privilege('{role}', 'orgs', 'select')",
                  "select has_table_privilege('\"public\".\"facts\"', 'select')",
                  # information_schema shows each role only what its privileges allow
                  "select table_name from information_schema.tables where table_schema = 'public' order by 1",
                  "select table_name, count(*) from information_schema.columns where table_schema = 'public' "
                  "group by 1 order by 1",
                  "select table_name, constraint_type, count(*) from information_schema.table_constraints "
                  "where table_schema = 'public' group by 1, 2 order by 1, 2",
                  "select table_name, column_name from information_schema.key_column_usage "
                  "where table_schema = 'public' order by 1, 2"]
        diff = [f"{q}: tally {rows(tc, q)}, PostgreSQL {rows(pc, q)}" for q in probes if rows(tc, q) != rows(pc, q)]
        check(not diff, f"has_*_privilege answers for {role} match PostgreSQL", "\n".join(diff))
        tc.close()
        pc.close()
    catalogs_tell_the_truth(admin, pg)
    # the document's role: reads everything, writes nothing
    tc = conn(TALLY, "reporting_user", "secure_password")
    denied = [outcome(tc, s) for s in ("INSERT INTO orgs VALUES (gen_random_uuid(), 'x')", "DROP TABLE orgs",
                                        "CREATE TABLE z (a int)", "TRUNCATE facts", "DELETE FROM orgs")]
    check(all(d == "42501" for d in denied), "reporting_user: every write and DDL gets 42501", denied)
    tc.close()

    # ---- org scoping: the leak test ---------------------------------------------------------------
    outcome(admin, "create user acme_bi with password 'acme_pw'")
    outcome(admin, "grant select on all tables in schema public to acme_bi")
    check(outcome(admin, f"alter role acme_bi set tally.org_id = '{ORG_A}'") == "ok", "ALTER ROLE … SET tally.org_id")
    a = conn(TALLY, "acme_bi", "acme_pw")
    want = rows(admin, f"select id, score, note from facts where org_id = '{ORG_A}' order by id")
    check(rows(a, "select id, score, note from facts order by id") == want, "scoped role sees exactly its org's rows")
    leaks = []
    probes = [
        f"select * from facts where org_id = '{ORG_B}'",
        "select * from facts where note >= 'S'",
        "select count(*), sum(score), max(score) from facts",
        "select o.name, f.note from orgs o join facts f on f.org_id = o.org_id",
        "select name from orgs",
        "select note from facts union select name from orgs",
        "select * from facts f1 left join facts f2 on f2.id = f1.id + 2",
        "select note::int from facts",          # the cast error echoes a value: only own org's
        "select 1 / (score - 999) from facts",  # would divide by zero only on org B's row
        "select count(*) from facts where org_id <> '" + ORG_A + "'",
    ]
    for q in probes:
        try:
            got = str(rows(a, q))
        except psycopg2.Error as e:
            got = f"{e.pgcode}: {e.pgerror}"
        if "SECRET" in got or ORG_B in got or "999" in got or "bbbbbbbb" in got:
            leaks.append(f"{q} -> {got}")
    check(not leaks, "no query shows another org's rows, values or aggregates", "\n".join(leaks))
    check(rows(a, "select count(*) from facts where org_id <> '" + ORG_A + "'") == [(0,)],
          "other org's id in WHERE finds nothing")
    import io
    buf = io.StringIO()
    with a.cursor() as cur:
        cur.copy_expert("COPY facts TO STDOUT", buf)
        cur.copy_expert("COPY (select * from orgs) TO STDOUT", buf)
    check("SECRET" not in buf.getvalue() and ORG_B not in buf.getvalue() and "a1" in buf.getvalue(),
          "COPY TO (table and query) shows only the role's org", buf.getvalue())
    for s in ("RESET tally.org_id", f"SET tally.org_id = '{ORG_B}'", "SET ROLE postgres", "RESET ROLE",
              "SET ROLE reporting_user", "SET SESSION AUTHORIZATION postgres"):
        r = outcome(a, s)
        check(r == "42501", f"scoped role cannot change its scope: {s} -> 42501", r)
    check(rows(a, "select count(*) from facts") == [(2,)], "scope unchanged after the attempts")
    cat = rows(a, "select c.relname, c.reltuples::int8, s.n_live_tup from pg_class c "
                  "join pg_stat_user_tables s on s.relid = c.oid where c.relname in ('facts', 'orgs') order by 1")
    check(cat == [("facts", 2, 2), ("orgs", 1, 1)],
          "catalog row counts (reltuples, n_live_tup) are the scoped role's own", cat)
    full = rows(admin, "select reltuples::int8 from pg_class where relname = 'facts'")
    check(full == rows(admin, "select count(*) from facts"), "the superuser's catalog still counts every row", full)
    check(outcome(a, "INSERT INTO notes VALUES (999, 'x')") == "42501", "a scoped role is read-only")
    a.close()
    e = connect_error(TALLY, user="acme_bi", password="acme_pw", options=f"-c tally.org_id={ORG_B}")
    a = conn(TALLY, "acme_bi", "acme_pw", options=f"-c tally.org_id={ORG_B}") if e is None else None
    check(a is None or rows(a, "select count(*) from facts") == [(2,)],
          "a startup option cannot change the scope", e)

    # ---- limits --------------------------------------------------------------------------------
    total = rows(admin, "select count(*) from facts")
    sessions, refused, other = [], 0, []
    for i in range(200):
        try:
            sessions.append(conn(TALLY))
        except psycopg2.OperationalError as ex:
            if "sorry, too many clients already" in str(ex):
                refused += 1
            else:
                other.append(str(ex))
    check(len(sessions) + 1 <= 100 and refused == 200 - len(sessions) and not other,
          f"200 connections against max_connections 100: {len(sessions)} served, {refused} refused with 53300",
          "\n".join(other[:3]))
    check(rows(admin, "select count(*) from facts") == total, "an existing session keeps working at the limit")
    for s in sessions:
        s.close()
    time.sleep(0.3)
    c = conn(TALLY)
    check(rows(c, "select 1") == [(1,)], "connections are accepted again after the others leave")
    # a 2 GB (and a 1 GB + 1) message header: refused at once, nothing buffered
    for size in (0x7FFFFFFF, (1 << 30) + 5):
        s = raw_session()
        s.sendall(b"B" + struct.pack("!I", size))
        s.settimeout(10)
        data = recv_all(s)
        check(b"08P01" in data and b"invalid message length" in data,
              f"message of {size} bytes refused with 08P01 before its body is read", data[:200])
        s.close()
    s = socket.create_connection(("127.0.0.1", TALLY), timeout=10)
    s.sendall(struct.pack("!I", 0x7FFFFFF0) + b"\x00\x03\x00\x00")
    check(recv_all(s) == b"", "a 2 GB startup packet is refused before authentication")
    s.close()
    deep = "select " + "+".join(["1"] * 10000)
    check(outcome(c, deep) == "54001", "10,000-deep expression: 54001 stack depth limit exceeded")
    deep = "select " + "(" * 10000 + "1" + ")" * 10000
    r = outcome(c, deep)
    check(r in ("54001", "42601"), "10,000 nested parentheses: an error, not a crash", r)
    check(rows(admin, "select count(*) from facts") == total, "the server kept serving other sessions")
    memory_and_timeout(admin)
    # idle in transaction
    for mode in ("disable", "require"):
        idle_check(mode)
    check(rows(c, "select 2") == [(2,)], "other sessions unaffected")
    print(f"1..{n_checks}")
    return 1 if n_failed else 0


def catalogs_tell_the_truth(admin, pg):
    """pg_roles, pg_user, pg_authid, relacl/datacl/nspacl as PostgreSQL 15 shows them
    after the same statements (its predefined pg_* roles aside)."""
    for sql in ("create role grp nologin", "grant insert, delete on notes to grp",
                "grant usage on schema public to grp", "create user acme_db createdb connection limit 3",
                "create user scoped_cat password 'x'", f"alter role scoped_cat set tally.org_id = '{ORG_A}'"):
        for c, name in ((admin, "tally"), (pg, "PostgreSQL")):
            r = outcome(c, sql)
            if r != "ok":
                check(False, f"catalog setup on {name}: {sql}", r)
    queries = [
        "select rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin, rolreplication, "
        "rolconnlimit, rolpassword, rolvaliduntil, rolbypassrls, rolconfig from pg_roles "
        "where rolname not like 'pg\\_%' and rolname <> 'md5user' order by 1",
        "select usename, usecreatedb, usesuper, userepl, usebypassrls, passwd, valuntil, useconfig from pg_user "
        "where usename <> 'md5user' order by 1",
        "select rolname, rolsuper, rolinherit, rolcanlogin, rolconnlimit, rolpassword is null, "
        "left(rolpassword, 14) from pg_authid where rolname not like 'pg\\_%' and rolname <> 'md5user' order by 1",
        "select relname, relacl from pg_class where relname in ('facts', 'notes', 'orgs') order by 1",
        "select datname, datacl from pg_database where datname = 'postgres'",
        "select nspname, nspacl from pg_namespace where nspname = 'public'",
    ]
    for q in queries:
        t, p = rows(admin, q), rows(pg, q)
        check(t == p, f"catalog as PostgreSQL shows it: {q[:60]}", f"tally      {t}\nPostgreSQL {p}")
    for c, name in ((conn(TALLY, "reporting_user", "secure_password"), "tally"), (conn(PG, "reporting_user"), "PG")):
        r = outcome(c, "select rolpassword from pg_authid")
        check(r == "42501", f"pg_authid (the verifiers) is refused to a non-superuser on {name}", r)
        c.close()


def vm_hwm():
    """tallyd's peak resident memory in bytes (VmHWM), or None."""
    try:
        with open(f"/proc/{TALLY_PID}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def memory_and_timeout(admin):
    """The per-statement memory limit (53200) and statement_timeout (57014), each while
    another session keeps querying."""
    import io
    import threading
    outcome(admin, "create table wide (id int8, t text)")
    rows_ = "".join(f"{i}\t{('%04d' % i) * 2500}\n" for i in range(1000))  # 1,000 rows of 10 kB
    with admin.cursor() as cur:
        cur.copy_expert("COPY wide FROM STDIN", io.StringIO(rows_))
    check(rows(admin, "select count(*), sum(length(t)) from wide") == [(1000, 10_000_000)], "a 10 MB table to join")
    # 1,000,000 rows of 10 kB each must be held to sort them: 10 GB
    big = "select w1.t, w2.id from wide w1, wide w2 order by 2, 1"
    total = rows(admin, "select count(*) from facts")
    other = conn(TALLY)
    hog = conn(TALLY)
    got = {}

    def run_hog():
        try:
            with hog.cursor() as cur:
                cur.execute(big)
                got["r"] = ("ok", len(cur.fetchall()))
        except psycopg2.Error as e:
            got["r"] = (e.pgcode, e.pgerror)

    t = threading.Thread(target=run_hog)
    t.start()
    served = []
    while t.is_alive() or not served:
        served.append(rows(other, "select count(*) from facts") == total)
        time.sleep(0.01)
    t.join()
    r = got.get("r", ("?", ""))
    check(r[0] == "53200" and "out of memory" in (r[1] or ""),
          "a query that would hold 10 GB fails with 53200 out of memory", r)
    check(served and all(served), f"another session was served throughout ({len(served)} queries)", served)
    hwm = vm_hwm()
    check(hwm is not None and hwm < 2 * 1024 ** 3,
          "tallyd never came near 10 GB: its peak resident memory stayed under 2 GB", hwm)
    check(rows(hog, "select count(*) from wide") == [(1000,)], "the session that hit the limit goes on")
    check(outcome(hog, "set tally.max_statement_memory = '64MB'") == "ok", "a session may lower its own limit")
    try:
        rows(hog, big)
        r = "ok"
    except psycopg2.Error as e:
        r = f"{e.pgcode} {e.pgerror}"
    check(r.startswith("53200") and str(64 << 20) in r, "the lowered limit applies", r)
    outcome(hog, "set tally.max_statement_memory = '100GB'")
    try:
        rows(hog, big)
        r = "ok"
    except psycopg2.Error as e:
        r = f"{e.pgcode} {e.pgerror}"
    check(r.startswith("53200") and str(STATEMENT_MEMORY) in r, "a session cannot raise the server's limit", r)
    check(outcome(hog, "set tally.max_statement_memory = 'lots'") == "22023", "a malformed size is 22023")
    hog.close()
    # statement_timeout on a query that runs for seconds in bounded memory
    outcome(admin, "create table slow_a (x int8)")
    outcome(admin, "insert into slow_a values " + ",".join(f"({i})" for i in range(200)))
    outcome(admin, "insert into slow_a select a1.x * 200 + a2.x + 200 from slow_a a1, slow_a a2")
    outcome(admin, "create table slow_b (y int8)")
    outcome(admin, "insert into slow_b select x from slow_a where x < 1000")
    slow = "select count(*) from slow_a, slow_b where x * y + 1 > 5"  # 40 million joined rows
    c = conn(TALLY)
    outcome(c, "set statement_timeout = '300ms'")
    try:
        rows(c, slow)
        r = "ok"
    except psycopg2.Error as e:
        r = f"{e.pgcode} {e.pgerror}"
    check(r.startswith("57014") and "statement timeout" in r, "statement_timeout cancels a long join: 57014", r)
    check(rows(c, "select count(*) from slow_b") == [(1000,)] and rows(other, "select count(*) from facts") == total,
          "after the timeout this session and the others go on")
    c.close()
    other.close()


def idle_check(mode):
    # psql prints the FATAL the server sends when it ends the session (libpq reads it
    # on the next query); psycopg2 only says the connection closed
    script = "set idle_in_transaction_session_timeout = '300ms';\nbegin;\nselect 1;\n"
    p = subprocess.Popen(["psql", "-X", f"host=127.0.0.1 port={TALLY} user=postgres dbname=postgres sslmode={mode}"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    p.stdin.write(script)
    p.stdin.flush()
    time.sleep(1.0)
    out, _ = p.communicate("select 2;\n", timeout=30)
    check("terminating connection due to idle-in-transaction timeout" in out and "(1 row)" in out,
          f"idle_in_transaction_session_timeout ends the idle session with 25P03 (sslmode={mode})", out)


def raw_session():
    s = socket.create_connection(("127.0.0.1", TALLY), timeout=10)
    body = b"\x00\x03\x00\x00user\x00postgres\x00database\x00postgres\x00\x00"
    s.sendall(struct.pack("!I", len(body) + 4) + body)
    buf = b""
    while not buf.endswith(b"Z\x00\x00\x00\x05I"):
        d = s.recv(4096)
        if not d:
            break
        buf += d
    return s


def recv_all(s):
    out = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            out += d
    except OSError:
        pass
    return out


if __name__ == "__main__":
    sys.exit(main())
