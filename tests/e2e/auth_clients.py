"""tests/e2e/auth_clients.py TALLY_PORT PG_PORT WORKDIR CLIENTS_DIR BUILD_DIR — see
auth_clients.sh. TAP on stdout. Every expectation is PostgreSQL 15's answer to the same
connection attempt (same rule file, users, passwords and certificate)."""
import hashlib
import json
import os
import shutil
import subprocess
import sys

import psycopg2

TALLY, PG, WORK, CLIENTS, BUILD = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
n_checks = n_failed = 0


def check(ok, name, diag=None):
    global n_checks, n_failed
    n_checks += 1
    n_failed += 0 if ok else 1
    print(("ok" if ok else "not ok") + f" {n_checks} - {name}", flush=True)
    if not ok and diag:
        for line in str(diag).splitlines():
            print("#   " + line, flush=True)


USERS = [
    "create user trust_user",
    "create user scram_user password 'scram pw'",
    "create user md5_user password 'md5" + hashlib.md5(b"md5 pwmd5_user").hexdigest() + "'",
    "create user pw_user password 'plain pw'",
    "create user tls_user password 'tls pw'",
    "create role nologin_user password 'nologin pw'",
]

CERT = None  # set in main
SCENARIOS = [
    # name, user, password, db, ssl, host
    ("trust", "trust_user", None, "postgres", None, None),
    ("scram-sha-256", "scram_user", "scram pw", "postgres", None, None),
    ("scram-sha-256 wrong password", "scram_user", "nope", "postgres", None, None),
    ("md5", "md5_user", "md5 pw", "postgres", None, None),
    ("md5 wrong password", "md5_user", "nope", "postgres", None, None),
    ("password", "pw_user", "plain pw", "postgres", None, None),
    ("password wrong password", "pw_user", "nope", "postgres", None, None),
    ("unknown role", "no_such_user", "x", "postgres", None, None),
    ("unknown database", "scram_user", "scram pw", "no_such_db", None, None),
    ("role without LOGIN", "nologin_user", "nologin pw", "postgres", None, None),
    ("hostnossl reject", "tls_user", "tls pw", "postgres", None, None),
    ("TLS sslmode=require", "tls_user", "tls pw", "postgres", "require", None),
    ("TLS verify-full", "tls_user", "tls pw", "postgres", "verify-full", "localhost"),
    ("TLS wrong password", "tls_user", "nope", "postgres", "require", None),
]


def setup(port):
    c = psycopg2.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres", connect_timeout=10)
    c.autocommit = True
    with c.cursor() as cur:
        for sql in USERS:
            cur.execute(sql)
    c.close()


def node_client():
    """node with the pg package, installed once per build dir by npm."""
    node = shutil.which("node") or shutil.which("nodejs")
    npm = shutil.which("npm")
    if not node or not npm:
        return None, "node or npm missing (tools/setup.sh installs nodejs and npm)"
    prefix = os.path.join(BUILD, "e2e-node")
    if not os.path.isdir(os.path.join(prefix, "node_modules", "pg")):
        os.makedirs(prefix, exist_ok=True)
        r = subprocess.run([npm, "install", "--prefix", prefix, "--no-audit", "--no-fund", "--prefer-offline",
                            "--silent", "pg@8.16.3"], capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            return None, "npm install pg failed: " + r.stderr[-2000:]
    return (node, prefix), None


def run_node(client, port):
    node, prefix = client
    spec = os.path.join(WORK, "scenarios.json")
    with open(spec, "w") as f:
        json.dump([{"name": n, "user": u, **({"password": p} if p is not None else {}), "db": d,
                    **({"ssl": s, "ca": CERT} if s else {}), **({"host": h} if h else {})}
                   for n, u, p, d, s, h in SCENARIOS], f)
    env = dict(os.environ, NODE_PATH=os.path.join(prefix, "node_modules"))
    r = subprocess.run([node, os.path.join(CLIENTS, "auth.js"), str(port), spec], capture_output=True,
                       text=True, env=env, timeout=300)
    out = {}
    for line in r.stdout.splitlines():
        d = json.loads(line)
        out[d["name"]] = (d["result"], d["ssl"])
    return out, r.stderr


def java_client():
    javac, java = shutil.which("javac"), shutil.which("java")
    jar = "/usr/share/java/postgresql.jar"
    if not javac or not java or not os.path.exists(jar):
        return None, "javac/java or pgjdbc missing (tools/setup.sh: default-jdk-headless, libpostgresql-jdbc-java)"
    out = os.path.join(BUILD, "e2e-java")
    os.makedirs(out, exist_ok=True)
    src = os.path.join(CLIENTS, "Auth.java")
    cls = os.path.join(out, "Auth.class")
    if not os.path.exists(cls) or os.path.getmtime(cls) < os.path.getmtime(src):
        r = subprocess.run([javac, "-d", out, "-cp", jar, src], capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            return None, "javac failed: " + r.stderr
    return (java, out + ":" + jar), None


def run_java(client, port):
    java, cp = client
    spec = os.path.join(WORK, "scenarios.txt")
    with open(spec, "w") as f:
        for n, u, p, d, s, h in SCENARIOS:
            f.write("|".join([n, u, p if p is not None else "-", d, s or "-", CERT if s == "verify-full" else "-",
                              h or "-"]) + "\n")
    r = subprocess.run([java, "-cp", cp, "Auth", str(port), spec], capture_output=True, text=True, timeout=300)
    out = {}
    for line in r.stdout.splitlines():
        name, result = line.split("|", 1)
        out[name] = (result, None)
    return out, r.stderr


def compare(client_name, runner, client):
    t, terr = runner(client, TALLY)
    p, perr = runner(client, PG)
    for n, u, pw, d, s, h in SCENARIOS:
        got, want = t.get(n), p.get(n)
        ok = got is not None and want is not None and got[0] == want[0]
        if ok and client_name == "node-postgres" and s and got[0] == "ok":
            ok = got[1] is True  # the session really ran over TLS
        check(ok, f"{client_name}: {n}: tally {got and got[0]}, PostgreSQL {want and want[0]}",
              f"tally stderr: {terr[-1500:]}\nPostgreSQL stderr: {perr[-1500:]}")
    # the answers must not all be one thing: successes and each failure kind are there
    results = {v[0] for v in p.values()}
    check({"ok", "28P01", "3D000", "28000"} <= results,
          f"{client_name}: PostgreSQL's answers cover success, 28P01, 3D000 and 28000", sorted(results))


def main():
    global CERT
    CERT = os.path.join(WORK, "cert.pem")
    setup(TALLY)
    setup(PG)
    nc, why = node_client()
    check(nc is not None, "node-postgres (pg 8.16.3) is available", why)
    if nc:
        compare("node-postgres", run_node, nc)
    jc, why = java_client()
    check(jc is not None, "pgjdbc and a JDK are available", why)
    if jc:
        compare("pgjdbc", run_java, jc)
    print(f"1..{n_checks}")
    return 1 if n_failed else 0


if __name__ == "__main__":
    sys.exit(main())
