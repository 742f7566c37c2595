#!/usr/bin/python3
"""bench/queries_report.py: the markdown table of bench/queries.sh (best of RUNS)."""
import sys

qfile, tfile, pfile, dfile, rfile, runs, attempts = sys.argv[1:8]
runs = int(runs)
names = [l.split("\t", 1)[0] for l in open(qfile) if l.strip()]


def best(path):
    vals = [float(x) for x in open(path).read().split()]
    return [min(vals[i * runs:(i + 1) * runs]) if len(vals) >= (i + 1) * runs else None for i in range(len(names))]


t, p = best(tfile), best(pfile)
duck = {}
for l in open(dfile):
    f = l.rstrip("\n").split("\t")
    if len(f) >= 3:
        duck[f[0]] = (float(f[1]), f[2])
rows = {}
for l in open(rfile):
    f = l.rstrip("\n").split("\t")
    if len(f) >= 3:
        rows[f[0]] = (f[1], f[2])


def ms(v):
    return "—" if v is None else ("%.1f" % v if v < 100 else "%.0f" % v)


def ratio(a, b):
    return "—" if a is None or b is None or a == 0 else "%.2f×" % (b / a)


print("\n%s attempts, best of %d runs (ms)\n" % (attempts, runs))
print("| query | rows (tally / PG) | tally | PostgreSQL 15 | DuckDB | PG ÷ tally | DuckDB ÷ tally |")
print("|---|---|---|---|---|---|---|")
for i, n in enumerate(names):
    d = duck.get(n, (None, ""))[0]
    r = rows.get(n, ("?", "?"))
    print("| %s | %s / %s | %s | %s | %s | %s | %s |" % (n, r[0], r[1], ms(t[i]), ms(p[i]), ms(d), ratio(t[i], p[i]),
                                                        ratio(t[i], d)))
print("\nratios > 1× mean tally is faster. tally and PostgreSQL: psql's \\timing (server + wire + psql); "
      "DuckDB: in-process through @duckdb/node-api (no wire).")
