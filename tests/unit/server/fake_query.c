/*
 * fake_query.c — a test double for tl_query.h and the server's part of tl_engine.h, so
 * the pgwire code can be driven before (and independently of) the real query layer.
 * It understands a handful of fixed statements, each exercising one sink callback:
 *   select 1 | select null | select many N | notice | set application_name = X
 *   copy in (echoes the data back as a NOTICE, tag COPY <lines>) | copy in partial
 *   copy out | sleep (until cancelled, 57014) | begin | commit | bad... (42601)
 * Statements are split on ';'. Databases: postgres, tally. Roles: postgres, alice.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "tl_engine.h"
#include "tl_query.h"

struct tl_qsession {
    char user[64];
    char tz[64];
    char appname[128];
    char tx;
    atomic_bool cancel;
};

bool tl_engine_database_exists(tl_engine *e, const char *name)
{
    (void)e;
    return strcmp(name, "postgres") == 0 || strcmp(name, "tally") == 0;
}

bool tl_engine_role_exists(tl_engine *e, const char *name)
{
    (void)e;
    return strcmp(name, "postgres") == 0 || strcmp(name, "alice") == 0;
}

void tl_engine_login_info(tl_engine *e, const char *user, tl_login_info *out)
{
    out->exists = tl_engine_role_exists(e, user);
    out->login = out->may_connect = true;
    out->verifier = NULL; /* the fake has no passwords: its clients come over trust */
}

tl_qsession *tl_qsession_new(tl_engine *eng, const char *user, const char *database)
{
    (void)eng;
    (void)database;
    tl_qsession *s = tl_xcalloc(1, sizeof *s);
    snprintf(s->user, sizeof s->user, "%s", user);
    strcpy(s->tz, "UTC");
    s->tx = 'I';
    atomic_init(&s->cancel, false);
    return s;
}

void tl_qsession_free(tl_qsession *s)
{
    free(s);
}

int tl_qsession_set(tl_qsession *s, const char *name, const char *value, tl_error *err)
{
    if (strcasecmp(name, "application_name") == 0) {
        snprintf(s->appname, sizeof s->appname, "%s", value);
    } else if (strcasecmp(name, "TimeZone") == 0) {
        snprintf(s->tz, sizeof s->tz, "%s", value);
    } else if (strcasecmp(name, "client_encoding") == 0) {
        if (strcasecmp(value, "UTF8") != 0 && strcasecmp(value, "UNICODE") != 0)
            return tl_errorf(err, "22023", "invalid value for parameter \"client_encoding\": \"%s\"",
                             value);
    } else if (strcasecmp(name, "DateStyle") != 0 && strcasecmp(name, "extra_float_digits") != 0 &&
               strcasecmp(name, "search_path") != 0) {
        return tl_errorf(err, "42704", "unrecognized configuration parameter \"%s\"", name);
    }
    return 0;
}

const char *tl_qsession_get(tl_qsession *s, const char *name)
{
    if (strcasecmp(name, "application_name") == 0)
        return s->appname;
    if (strcasecmp(name, "TimeZone") == 0)
        return s->tz;
    return NULL;
}

void tl_qsession_report_params(tl_qsession *s,
                               void (*fn)(void *ctx, const char *name, const char *value),
                               void *ctx)
{
    fn(ctx, "application_name", s->appname);
    fn(ctx, "client_encoding", "UTF8");
    fn(ctx, "DateStyle", "ISO, MDY");
    fn(ctx, "integer_datetimes", "on");
    fn(ctx, "IntervalStyle", "postgres");
    fn(ctx, "is_superuser", "on");
    fn(ctx, "server_encoding", "UTF8");
    fn(ctx, "server_version", "15.0 (tally fake)");
    fn(ctx, "session_authorization", s->user);
    fn(ctx, "standard_conforming_strings", "on");
    fn(ctx, "TimeZone", s->tz);
}

char tl_qsession_tx_status(const tl_qsession *s)
{
    return s->tx;
}

void tl_qsession_cancel(tl_qsession *s)
{
    atomic_store(&s->cancel, true);
}

static int lost(tl_error *err)
{
    return tl_errorf(err, "08006", "connection lost");
}

static int one_row(tl_sink *k, const char *col, const char *val, tl_error *err)
{
    tl_coldesc cd = {.name = col, .type_oid = 23, .typlen = 4, .typmod = -1};
    tl_cell cell = {.ptr = val, .len = val ? strlen(val) : 0};
    if (k->describe(k->ctx, 1, &cd) || k->row(k->ctx, 1, &cell) || k->complete(k->ctx, "SELECT 1"))
        return lost(err);
    return 0;
}

static int run_stmt(tl_qsession *s, const char *st, int pos, tl_sink *k, tl_error *err)
{
    if (strcmp(st, "select 1") == 0)
        return one_row(k, "?column?", "1", err);
    if (strcmp(st, "select null") == 0)
        return one_row(k, "n", NULL, err);
    if (strncmp(st, "select many ", 12) == 0) {
        long n = atol(st + 12);
        tl_coldesc cd = {.name = "n", .type_oid = 23, .typlen = 4, .typmod = -1};
        if (k->describe(k->ctx, 1, &cd))
            return lost(err);
        for (long i = 0; i < n; i++) {
            char b[32];
            tl_cell cell = {.ptr = b, .len = (size_t)snprintf(b, sizeof b, "%ld", i)};
            if (k->row(k->ctx, 1, &cell))
                return lost(err);
        }
        char tag[48];
        snprintf(tag, sizeof tag, "SELECT %ld", n);
        return k->complete(k->ctx, tag) ? lost(err) : 0;
    }
    if (strcmp(st, "notice") == 0) {
        tl_error n;
        tl_error_clear(&n);
        tl_errorf(&n, "00000", "hello from notice");
        n.severity = TL_SEV_NOTICE;
        if (k->notice(k->ctx, &n) || k->complete(k->ctx, "DO"))
            return lost(err);
        return 0;
    }
    if (strncmp(st, "set application_name = ", 23) == 0) {
        snprintf(s->appname, sizeof s->appname, "%s", st + 23);
        if (k->param_status(k->ctx, "application_name", s->appname) || k->complete(k->ctx, "SET"))
            return lost(err);
        return 0;
    }
    if (strcmp(st, "copy in") == 0 || strcmp(st, "copy in partial") == 0) {
        bool partial = st[7] != '\0';
        if (k->copy_in_begin(k->ctx, 2, false))
            return lost(err);
        tl_buf data;
        tl_buf_init(&data);
        char buf[5]; /* tiny, so CopyData is delivered in pieces */
        long n;
        while ((n = k->copy_in_read(k->ctx, buf, partial ? 3 : sizeof buf, err)) > 0) {
            tl_buf_append(&data, buf, (size_t)n);
            if (partial)
                break;
        }
        if (n < 0) {
            tl_buf_free(&data);
            return -1;
        }
        long lines = 0;
        for (size_t i = 0; i < data.len; i++)
            lines += data.data[i] == '\n';
        tl_error echo;
        tl_error_clear(&echo);
        tl_errorf(&echo, "00000", "%.*s", (int)(data.len < 500 ? data.len : 500), data.data);
        echo.severity = TL_SEV_NOTICE;
        char tag[48];
        snprintf(tag, sizeof tag, "COPY %ld", partial ? 0 : lines);
        int rc = k->notice(k->ctx, &echo) || k->complete(k->ctx, tag);
        tl_buf_free(&data);
        return rc ? lost(err) : 0;
    }
    if (strcmp(st, "copy out") == 0) {
        if (k->copy_out_begin(k->ctx, 1, false) || k->copy_out_data(k->ctx, "a\n", 2) ||
            k->copy_out_data(k->ctx, "b\n", 2) || k->copy_out_end(k->ctx) ||
            k->complete(k->ctx, "COPY 2"))
            return lost(err);
        return 0;
    }
    if (strcmp(st, "sleep") == 0) {
        for (int i = 0; i < 500; i++) {
            if (atomic_exchange(&s->cancel, false))
                return tl_errorf(err, "57014", "canceling statement due to user request");
            nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
        }
        return k->complete(k->ctx, "SELECT 0") ? lost(err) : 0;
    }
    if (strcmp(st, "begin") == 0) {
        s->tx = 'T';
        return k->complete(k->ctx, "BEGIN") ? lost(err) : 0;
    }
    if (strcmp(st, "commit") == 0) {
        s->tx = 'I';
        return k->complete(k->ctx, "COMMIT") ? lost(err) : 0;
    }
    size_t w = strcspn(st, " ");
    tl_errorf(err, "42601", "syntax error at or near \"%.*s\"", (int)w, st);
    err->position = pos + 1;
    return -1;
}

int tl_query_simple(tl_qsession *s, const char *sql, tl_sink *sink, tl_error *err)
{
    atomic_store(&s->cancel, false);
    if (sql[strspn(sql, " \t\n;")] == '\0')
        return sink->empty(sink->ctx) ? lost(err) : 0;
    const char *p = sql;
    while (*p) {
        size_t n = strcspn(p, ";");
        const char *a = p, *b = p + n;
        while (a < b && (*a == ' ' || *a == '\n' || *a == '\t'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\n' || b[-1] == '\t'))
            b--;
        if (b > a) {
            char st[256];
            snprintf(st, sizeof st, "%.*s", (int)(b - a), a);
            if (run_stmt(s, st, (int)(a - sql), sink, err) != 0)
                return -1;
        }
        p += n;
        if (*p == ';')
            p++;
    }
    return 0;
}
