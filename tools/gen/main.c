/*
 * main.c — the tally-gen command line: write the generated reporting data as CSV files,
 * stream one table to stdout for `psql -c "\copy ... from stdin"`, or (when built with
 * libpq) COPY every table straight into a running server, tally or PostgreSQL alike.
 * The data themselves come from gen.c; this file only parses options and moves bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifdef TL_HAVE_LIBPQ
#include <libpq-fe.h>
#endif

#include "gen.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: tally-gen --attempts N [--seed S] [--end YYYY-MM-DD]\n"
            "                 [--tables t1,t2] [--no-events] [--format csv|text] [--header]\n"
            "                 (--out DIR | --stream TABLE"
#ifdef TL_HAVE_LIBPQ
            " | --connect CONNSTR"
#endif
            ")\n"
            "       tally-gen --columns TABLE     print the column list of TABLE's output\n"
            "       tally-gen --list-tables       print the table names in load order\n"
            "\n"
            "  --out DIR        write DIR/<table>.csv with a header line (csv only)\n"
            "  --stream TABLE   write one table to stdout, no header unless --header\n"
#ifdef TL_HAVE_LIBPQ
            "  --connect STR    COPY the tables into a running server (libpq conninfo or URI);\n"
            "                   the schema (tools/schema/reporting*.sql) must exist there\n"
            "  --batch-rows N   with --connect: one COPY (one transaction) per N rows\n"
#endif
            "  --end DATE       attempts span the 24 months before DATE (default 2026-11-01)\n"
            "  --seed S         same seed, same bytes (default 1)\n"
            "tables: dim_orgs dim_users dim_scenarios dim_time fact_scenario_attempts fact_kpi_events\n");
}

static int fd_write(void *ctx, const char *p, size_t n)
{
    int fd = *(int *)ctx;
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

static int parse_u64(const char *s, uint64_t *v)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-')
        return -1;
    *v = x;
    return 0;
}

/* "a,b" -> selection mask over gen_table; unknown names are an error, not ignored. */
static int parse_tables(const char *s, unsigned *mask)
{
    char *copy = strdup(s), *save = NULL;
    *mask = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int t = gen_table_lookup(tok);
        if (t < 0) {
            fprintf(stderr, "tally-gen: unknown table \"%s\"\n", tok);
            free(copy);
            return -1;
        }
        *mask |= 1u << t;
    }
    free(copy);
    return *mask ? 0 : -1;
}

static double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int write_files(const gen_world *w, const char *dir, unsigned mask)
{
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "tally-gen: could not create directory \"%s\": %s\n", dir, strerror(errno));
        return -1;
    }
    for (int t = 0; t < GEN_TABLE_COUNT; t++) {
        if (!(mask & (1u << t)))
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.csv", dir, gen_table_name((gen_table)t));
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0666);
        if (fd < 0) {
            fprintf(stderr, "tally-gen: could not open \"%s\": %s\n", path, strerror(errno));
            return -1;
        }
        double t0 = now_sec();
        gen_sink sink = {fd_write, &fd};
        int64_t rows = gen_write_table(w, (gen_table)t, GEN_FORMAT_CSV, true, &sink);
        if (close(fd) != 0 || rows < 0) {
            fprintf(stderr, "tally-gen: could not write \"%s\": %s\n", path, strerror(errno));
            return -1;
        }
        fprintf(stderr, "%-24s %12lld rows  %7.2f s\n", gen_table_name((gen_table)t), (long long)rows,
                now_sec() - t0);
    }
    return 0;
}

#ifdef TL_HAVE_LIBPQ
typedef struct pq_ctx {
    PGconn *conn;
    const char *sql;    /* the COPY statement, re-issued every `batch` rows */
    uint64_t batch;     /* rows per COPY (0: one COPY for the table) */
    uint64_t in_batch;  /* rows sent in the current COPY */
} pq_ctx;

static int pq_send(pq_ctx *c, const char *p, size_t n);

/* End the current COPY and wait for its result; 0 if it committed. */
static int pq_end_copy(PGconn *conn, const char *errmsg, const char *table)
{
    int rc = PQputCopyEnd(conn, errmsg) == 1 ? 0 : -1;
    PGresult *res;
    while ((res = PQgetResult(conn)) != NULL) {
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            fprintf(stderr, "tally-gen: %s: %s", table, PQresultErrorMessage(res));
            rc = -1;
        }
        PQclear(res);
    }
    return rc;
}

static int pq_begin_copy(PGconn *conn, const char *sql, const char *table)
{
    PGresult *res = PQexec(conn, sql);
    int ok = PQresultStatus(res) == PGRES_COPY_IN;
    if (!ok) fprintf(stderr, "tally-gen: %s: %s", table, PQerrorMessage(conn));
    PQclear(res);
    return ok ? 0 : -1;
}

/* With a batch size, split the stream at row ends (the generator's rows hold no
 * newline: text escapes it, and no CSV field it writes contains one) into COPYs of
 * `batch` rows, each its own transaction. */
static int pq_write(void *ctx, const char *p, size_t n)
{
    pq_ctx *c = ctx;
    if (!c->batch) return pq_send(c, p, n);
    while (n > 0) {
        size_t i = 0;
        while (i < n && c->in_batch < c->batch) {
            const char *nl = memchr(p + i, '\n', n - i);
            if (!nl) {
                i = n;
                break;
            }
            i = (size_t)(nl - p) + 1;
            c->in_batch++;
        }
        if (pq_send(c, p, i) < 0) return -1;
        p += i;
        n -= i;
        if (c->in_batch == c->batch) {
            if (pq_end_copy(c->conn, NULL, "batch") < 0 || pq_begin_copy(c->conn, c->sql, "batch") < 0) return -1;
            c->in_batch = 0;
        }
    }
    return 0;
}

static int pq_send(pq_ctx *c, const char *p, size_t n)
{
    while (n > 0) { /* PQputCopyData takes an int length */
        int k = n > (1u << 30) ? (1 << 30) : (int)n;
        if (PQputCopyData(c->conn, p, k) != 1)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

static int load_connect(const gen_world *w, const char *conninfo, unsigned mask, gen_format fmt, uint64_t batch)
{
    PGconn *conn = PQconnectdb(conninfo);
    if (PQstatus(conn) != CONNECTION_OK) {
        fprintf(stderr, "tally-gen: connection failed: %s", PQerrorMessage(conn));
        PQfinish(conn);
        return -1;
    }
    int rc = 0;
    for (int t = 0; t < GEN_TABLE_COUNT && rc == 0; t++) {
        if (!(mask & (1u << t)))
            continue;
        char sql[512];
        snprintf(sql, sizeof sql, "COPY %s (%s) FROM STDIN%s", gen_table_name((gen_table)t),
                 gen_table_columns((gen_table)t), fmt == GEN_FORMAT_CSV ? " (FORMAT csv)" : "");
        double t0 = now_sec();
        if (pq_begin_copy(conn, sql, gen_table_name((gen_table)t)) < 0) {
            rc = -1;
            break;
        }
        pq_ctx c = {.conn = conn, .sql = sql, .batch = batch};
        gen_sink sink = {pq_write, &c};
        int64_t rows = gen_write_table(w, (gen_table)t, fmt, false, &sink);
        if (pq_end_copy(conn, rows < 0 ? "tally-gen: write failed" : NULL, gen_table_name((gen_table)t)) < 0)
            rc = -1;
        if (rc == 0)
            fprintf(stderr, "%-24s %12lld rows  %7.2f s\n", gen_table_name((gen_table)t), (long long)rows,
                    now_sec() - t0);
    }
    PQfinish(conn);
    return rc;
}
#endif

int main(int argc, char **argv)
{
    enum { OPT_ATTEMPTS = 256, OPT_SEED, OPT_OUT, OPT_STREAM, OPT_FORMAT, OPT_HEADER, OPT_TABLES,
           OPT_NO_EVENTS, OPT_END, OPT_CONNECT, OPT_COLUMNS, OPT_LIST, OPT_HELP, OPT_BATCH };
    static const struct option longopts[] = {
        {"attempts", required_argument, NULL, OPT_ATTEMPTS}, {"seed", required_argument, NULL, OPT_SEED},
        {"out", required_argument, NULL, OPT_OUT},           {"stream", required_argument, NULL, OPT_STREAM},
        {"format", required_argument, NULL, OPT_FORMAT},     {"header", no_argument, NULL, OPT_HEADER},
        {"tables", required_argument, NULL, OPT_TABLES},     {"no-events", no_argument, NULL, OPT_NO_EVENTS},
        {"end", required_argument, NULL, OPT_END},           {"connect", required_argument, NULL, OPT_CONNECT},
        {"columns", required_argument, NULL, OPT_COLUMNS},   {"list-tables", no_argument, NULL, OPT_LIST},
        {"help", no_argument, NULL, OPT_HELP},               {"batch-rows", required_argument, NULL, OPT_BATCH},
        {NULL, 0, NULL, 0},
    };
    gen_opts opts;
    gen_opts_default(&opts);
    const char *out_dir = NULL, *stream = NULL, *connect = NULL;
    uint64_t batch_rows = 0;
    gen_format fmt = GEN_FORMAT_CSV;
    bool header = false, have_attempts = false;
    unsigned mask = (1u << GEN_TABLE_COUNT) - 1;
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_ATTEMPTS:
            if (parse_u64(optarg, &opts.attempts) != 0 || opts.attempts > 4000000000ULL) {
                fprintf(stderr, "tally-gen: --attempts wants a count up to 4000000000\n");
                return 2;
            }
            have_attempts = true;
            break;
        case OPT_SEED:
            if (parse_u64(optarg, &opts.seed) != 0) {
                fprintf(stderr, "tally-gen: --seed wants an unsigned integer\n");
                return 2;
            }
            break;
        case OPT_END:
            if (gen_parse_date(optarg, &opts.end_day) != 0) {
                fprintf(stderr, "tally-gen: --end wants a date YYYY-MM-DD\n");
                return 2;
            }
            break;
        case OPT_OUT: out_dir = optarg; break;
        case OPT_STREAM: stream = optarg; break;
        case OPT_CONNECT: connect = optarg; break;
        case OPT_BATCH:
            if (parse_u64(optarg, &batch_rows) != 0) {
                fprintf(stderr, "tally-gen: --batch-rows wants a row count\n");
                return 2;
            }
            break;
        case OPT_HEADER: header = true; break;
        case OPT_NO_EVENTS: mask &= ~(1u << GEN_FACT_EVENTS); break;
        case OPT_FORMAT:
            if (strcmp(optarg, "csv") == 0)
                fmt = GEN_FORMAT_CSV;
            else if (strcmp(optarg, "text") == 0)
                fmt = GEN_FORMAT_TEXT;
            else {
                fprintf(stderr, "tally-gen: --format is csv or text\n");
                return 2;
            }
            break;
        case OPT_TABLES: {
            unsigned sel;
            if (parse_tables(optarg, &sel) != 0)
                return 2;
            mask &= sel;
            break;
        }
        case OPT_COLUMNS: {
            int t = gen_table_lookup(optarg);
            if (t < 0) {
                fprintf(stderr, "tally-gen: unknown table \"%s\"\n", optarg);
                return 2;
            }
            printf("%s\n", gen_table_columns((gen_table)t));
            return 0;
        }
        case OPT_LIST:
            for (int t = 0; t < GEN_TABLE_COUNT; t++)
                printf("%s\n", gen_table_name((gen_table)t));
            return 0;
        case OPT_HELP: usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc || !have_attempts || (!!out_dir + !!stream + !!connect) != 1) {
        usage(stderr);
        return 2;
    }
#ifndef TL_HAVE_LIBPQ
    if (connect) {
        fprintf(stderr, "tally-gen: built without libpq; use --stream with psql instead of --connect\n");
        return 2;
    }
#endif
    if (out_dir && fmt != GEN_FORMAT_CSV) {
        fprintf(stderr, "tally-gen: --out writes CSV files; use --stream for COPY text\n");
        return 2;
    }
    int stream_table = -1;
    if (stream && (stream_table = gen_table_lookup(stream)) < 0) {
        fprintf(stderr, "tally-gen: unknown table \"%s\"\n", stream);
        return 2;
    }

    gen_world *w = gen_world_create(&opts);
    int rc = 0;
    if (stream) {
        int fd = 1;
        gen_sink sink = {fd_write, &fd};
        if (gen_write_table(w, (gen_table)stream_table, fmt, header, &sink) < 0) {
            fprintf(stderr, "tally-gen: write to stdout failed: %s\n", strerror(errno));
            rc = 1;
        }
    } else if (out_dir) {
        rc = write_files(w, out_dir, mask) != 0;
    }
#ifdef TL_HAVE_LIBPQ
    else {
        rc = load_connect(w, connect, mask, fmt, batch_rows) != 0;
    }
#endif
    gen_world_free(w);
    return rc;
}
