"""bench/refresh_report.py RESULTS.tsv OUT.svg — the markdown table and log-log plot of
bench/refresh.sh's measurements (scale, key, value per line). No plotting library: the
SVG is written by hand so the benchmark needs nothing beyond Debian's python3."""
import math
import sys

rows = {}
for line in open(sys.argv[1]):
    n, k, v = line.rstrip("\n").split("\t")
    try:
        rows.setdefault(int(n), {})[k] = float(v)
    except ValueError:
        rows.setdefault(int(n), {})[k] = float("nan")
scales = sorted(rows)


def fmt_ms(ms):
    return "%.3g ms" % ms if ms < 1000 else "%.3g s" % (ms / 1000)


NAN = float("nan")


def g(r, k):
    return r.get(k, NAN)


def f_ms(v):
    return "–" if v != v else fmt_ms(v)


def f_num(fmt, *vals):
    return "–" if any(v != v for v in vals) else fmt % vals


print("| attempts | PG `refresh_reporting_views()` | PG 1-row INSERT → visible | tally 1-row append → visible, fsync excluded: p50 / p99 / max (wall) | … max when not switched out / CPU p99 / CPU max | tally append → visible, fsync included: p50 / p99 / max | ratio PG visible / tally p99 (fsync excluded / included) | PG build views | tally build views (view maintenance rate, per CPU second) | tally 1,000-row batch | tally COPY ingest views off / on (per CPU second) | view state | leaderboard org+month with rank(): PG / tally p50 |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for n in scales:
    r = rows[n]
    print("| %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
        n, f_ms(g(r, "pg_refresh_reporting_views_ms")), f_ms(g(r, "pg_insert_visible_ms")),
        f_num("%.1f / %.1f / %.0f µs", g(r, "tally_append_p50_us"), g(r, "tally_append_p99_us"), g(r, "tally_append_max_us")),
        f_num("%.0f / %.1f / %.0f µs", g(r, "tally_append_max_unswitched_us"), g(r, "tally_append_cpu_p99_us"), g(r, "tally_append_cpu_max_us")),
        f_num("%.0f / %.0f / %.0f µs", g(r, "tally_append_sync_p50_us"), g(r, "tally_append_sync_p99_us"), g(r, "tally_append_sync_max_us")),
        f_num("%.0f× / %.0f×", g(r, "pg_insert_visible_ms") / (g(r, "tally_append_p99_us") / 1000),
              g(r, "pg_insert_visible_ms") / (g(r, "tally_append_sync_p99_us") / 1000)),
        f_num("%.3g s", g(r, "pg_build_views_s")),
        f_num("%.3g s (%.0fk rows/s)", g(r, "tally_build_views_s"), g(r, "tally_view_maintenance_rows_per_cpu_s") / 1e3),
        f_num("%.2f ms (%d rows)", g(r, "tally_batch1000_ms"), g(r, "tally_batch_rows")),
        f_num("%.0fk / %.0fk rows/s", g(r, "tally_ingest_views_off_rows_per_cpu_s") / 1e3, g(r, "tally_ingest_views_on_rows_per_cpu_s") / 1e3),
        f_num("%.1f MB", g(r, "tally_view_state_bytes") / 1e6),
        "%s / %s" % (f_ms(g(r, "pg_point_query_ms")), f_ms(g(r, "tally_point_query_p50_ms")))))
for n in scales:
    if g(rows[n], "pg_kpi_events") == 0:
        print()
        print("At %d attempts PostgreSQL was loaded without fact_kpi_events (PG_KPI_MAX): no view reads them." % n)
print()
print("| attempts | view | PG REFRESH | PG REFRESH CONCURRENTLY |")
print("|---|---|---|---|")
for n in scales:
    for v in ("mv_leaderboard_month", "mv_org_overview", "mv_scenario_insights"):
        r = rows[n]
        print("| %d | %s | %s | %s |" % (n, v, f_ms(g(r, "pg_refresh_%s_ms" % v)), f_ms(g(r, "pg_refresh_concurrently_%s_ms" % v))))

# log-log plot: time to make one new attempt visible in every view, vs scale
series = [("PostgreSQL 15: INSERT + refresh_reporting_views()", "#c0392b",
           [(n, rows[n]["pg_insert_visible_ms"]) for n in scales if "pg_insert_visible_ms" in rows[n]]),
          ("PostgreSQL 15: refresh_reporting_views()", "#e59866",
           [(n, rows[n]["pg_refresh_reporting_views_ms"]) for n in scales if "pg_refresh_reporting_views_ms" in rows[n]]),
          ("tally: append → visible, p99", "#2471a3",
           [(n, rows[n]["tally_append_p99_us"] / 1000) for n in scales if "tally_append_p99_us" in rows[n]])]
W, H, L, B, T, R = 640, 400, 70, 50, 30, 20
ys = [v for _, _, s in series for _, v in s if v > 0] or [1.0]
xs = scales
x0, x1 = math.floor(math.log10(min(xs))) , math.ceil(math.log10(max(xs)) + 1e-9)
if x1 == x0:
    x1 += 1
y0, y1 = math.floor(math.log10(min(ys))), math.ceil(math.log10(max(ys)))
if y1 == y0:
    y1 += 1
px = lambda x: L + (math.log10(x) - x0) / (x1 - x0) * (W - L - R)
py = lambda y: H - B - (math.log10(y) - y0) / (y1 - y0) * (H - B - T)
out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">' % (W, H),
       '<rect width="100%" height="100%" fill="white"/>',
       '<text x="%d" y="18" font-size="14">Time until a new attempt is visible in all three views (log-log)</text>' % L]
for e in range(x0, x1 + 1):
    out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/>' % (px(10 ** e), T, px(10 ** e), H - B))
    out.append('<text x="%.1f" y="%d" text-anchor="middle">1e%d</text>' % (px(10 ** e), H - B + 16, e))
for e in range(y0, y1 + 1):
    out.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>' % (L, py(10 ** e), W - R, py(10 ** e)))
    out.append('<text x="%d" y="%.1f" text-anchor="end">%s</text>' % (L - 6, py(10 ** e) + 4, fmt_ms(10 ** e)))
out.append('<text x="%d" y="%d" text-anchor="middle">attempts in fact_scenario_attempts</text>' % ((L + W - R) / 2, H - 12))
for i, (name, color, pts) in enumerate(series):
    if not pts:
        continue
    out.append('<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>' % (
        color, " ".join("%.1f,%.1f" % (px(x), py(y)) for x, y in pts)))
    for x, y in pts:
        out.append('<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>' % (px(x), py(y), color))
    out.append('<text x="%d" y="%d" fill="%s">%s</text>' % (L + 10, T + 16 + 16 * i, color, name))
out.append("</svg>")
open(sys.argv[2], "w").write("\n".join(out) + "\n")
print()
print("plot: %s" % sys.argv[2])
