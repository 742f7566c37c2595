/*
 * fake_query.c — a test double for tl_query.h and the server's part of tl_engine.h, so
 * the pgwire code can be driven before (and independently of) the real query layer.
 * It understands a handful of fixed statements, each exercising one sink callback:
 *   select 1 | select null | select many N | notice | set application_name = X
 *   copy in (echoes the data back as a NOTICE, tag COPY <lines>) | copy in partial
 *   copy out | sleep (until cancelled, 57014) | begin | commit | bad... (42601)
 * Statements are split on ';'. Databases: postgres, tally. Roles: postgres, alice.
 */
#include <pthread.h>
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

/* ---- extended protocol: named statements and portals over the same fixed statements.
 * "select many N" portals remember their position, so row-limited Execute can be checked
 * across several calls; anything else runs through run_stmt at Execute. */

#define FAKE_MAX 8

typedef struct fake_obj {
    char name[64];
    char sql[256];
    int nparams;
    long pos, total;
    bool used;
} fake_obj;

static fake_obj fake_stmts[FAKE_MAX], fake_portals[FAKE_MAX];
static pthread_mutex_t fake_mu = PTHREAD_MUTEX_INITIALIZER; /* tests run sessions in parallel */

static fake_obj *fake_find(fake_obj *set, const char *name)
{
    for (int i = 0; i < FAKE_MAX; i++)
        if (set[i].used && strcmp(set[i].name, name) == 0)
            return &set[i];
    return NULL;
}

static fake_obj *fake_new(fake_obj *set, const char *name)
{
    fake_obj *o = fake_find(set, name);
    if (!o)
        for (int i = 0; i < FAKE_MAX && !o; i++)
            if (!set[i].used)
                o = &set[i];
    if (o) {
        memset(o, 0, sizeof *o);
        o->used = true;
        snprintf(o->name, sizeof o->name, "%s", name);
    }
    return o;
}

int tl_prepare(tl_qsession *s, const char *name, const char *sql, int nparams,
               const uint32_t *param_oids, tl_error *err)
{
    (void)s;
    (void)param_oids;
    if (strncmp(sql, "bad", 3) == 0)
        return tl_errorf(err, "42601", "syntax error at or near \"bad\"");
    pthread_mutex_lock(&fake_mu);
    if (name[0] && fake_find(fake_stmts, name)) {
        pthread_mutex_unlock(&fake_mu);
        return tl_errorf(err, "42P05", "prepared statement \"%s\" already exists", name);
    }
    fake_obj *o = fake_new(fake_stmts, name);
    if (o) {
        snprintf(o->sql, sizeof o->sql, "%s", sql);
        o->nparams = nparams;
    }
    pthread_mutex_unlock(&fake_mu);
    return o ? 0 : tl_errorf(err, "53000", "too many statements");
}

static const tl_coldesc fake_col = {.name = "n", .type_oid = 23, .typlen = 4, .typmod = -1};

int tl_prepared_describe(tl_qsession *s, const char *name, int *nparams, const uint32_t **oids,
                         int *ncols, const tl_coldesc **cols, tl_error *err)
{
    (void)s;
    static const uint32_t int4s[8] = {23, 23, 23, 23, 23, 23, 23, 23};
    pthread_mutex_lock(&fake_mu);
    fake_obj *o = fake_find(fake_stmts, name);
    if (o) {
        *nparams = o->nparams;
        *oids = int4s;
        *ncols = strncmp(o->sql, "select many ", 12) == 0 ? 1 : -1;
        *cols = &fake_col;
    }
    pthread_mutex_unlock(&fake_mu);
    return o ? 0 : tl_errorf(err, "26000", "prepared statement \"%s\" does not exist", name);
}

int tl_bind(tl_qsession *s, const char *portal, const char *stmt, int nformats,
            const int16_t *formats, int nvalues, const tl_cell *values, int nrformats,
            const int16_t *rformats, tl_error *err)
{
    (void)s;
    (void)nformats;
    (void)formats;
    (void)values;
    (void)nrformats;
    (void)rformats;
    pthread_mutex_lock(&fake_mu);
    fake_obj *st = fake_find(fake_stmts, stmt);
    int rc = 0;
    if (!st) {
        rc = tl_errorf(err, "26000", "prepared statement \"%s\" does not exist", stmt);
    } else if (nvalues != st->nparams) {
        rc = tl_errorf(err, "08P01", "bind message supplies %d parameters, but prepared statement \"%s\" requires %d",
                       nvalues, stmt, st->nparams);
    } else {
        fake_obj *p = fake_new(fake_portals, portal);
        if (p) {
            snprintf(p->sql, sizeof p->sql, "%s", st->sql);
            if (strncmp(p->sql, "select many ", 12) == 0)
                p->total = atol(p->sql + 12);
        } else {
            rc = tl_errorf(err, "53000", "too many portals");
        }
    }
    pthread_mutex_unlock(&fake_mu);
    return rc;
}

int tl_portal_describe(tl_qsession *s, const char *name, int *ncols, const tl_coldesc **cols,
                       tl_error *err)
{
    (void)s;
    pthread_mutex_lock(&fake_mu);
    fake_obj *o = fake_find(fake_portals, name);
    if (o) {
        *ncols = strncmp(o->sql, "select many ", 12) == 0 ? 1 : -1;
        *cols = &fake_col;
    }
    pthread_mutex_unlock(&fake_mu);
    return o ? 0 : tl_errorf(err, "34000", "portal \"%s\" does not exist", name);
}

static int no_describe(void *ctx, int ncols, const tl_coldesc *cols)
{
    (void)ctx;
    (void)ncols;
    (void)cols;
    return 0;
}

int tl_execute(tl_qsession *s, const char *name, int64_t max_rows, tl_sink *sink,
               bool *suspended, tl_error *err)
{
    *suspended = false;
    pthread_mutex_lock(&fake_mu);
    fake_obj *o = fake_find(fake_portals, name);
    fake_obj copy;
    if (o)
        copy = *o;
    pthread_mutex_unlock(&fake_mu);
    if (!o)
        return tl_errorf(err, "34000", "portal \"%s\" does not exist", name);
    if (copy.total > 0 || strncmp(copy.sql, "select many ", 12) == 0) {
        long sent = 0;
        while (copy.pos < copy.total && (max_rows <= 0 || sent < max_rows)) {
            char b[32];
            tl_cell cell = {.ptr = b, .len = (size_t)snprintf(b, sizeof b, "%ld", copy.pos)};
            if (sink->row(sink->ctx, 1, &cell))
                return lost(err);
            copy.pos++;
            sent++;
        }
        pthread_mutex_lock(&fake_mu);
        o->pos = copy.pos;
        pthread_mutex_unlock(&fake_mu);
        if (max_rows > 0 && sent == max_rows) {
            *suspended = true;
            return 0;
        }
        char tag[48];
        snprintf(tag, sizeof tag, "SELECT %ld", sent);
        return sink->complete(sink->ctx, tag) ? lost(err) : 0;
    }
    if (copy.sql[0] == '\0')
        return sink->empty(sink->ctx) ? lost(err) : 0;
    tl_sink k = *sink;
    k.describe = no_describe;
    atomic_store(&s->cancel, false);
    return run_stmt(s, copy.sql, 0, &k, err);
}

int tl_close_statement(tl_qsession *s, const char *name)
{
    (void)s;
    pthread_mutex_lock(&fake_mu);
    fake_obj *o = fake_find(fake_stmts, name);
    if (o)
        o->used = false;
    pthread_mutex_unlock(&fake_mu);
    return 0;
}

int tl_close_portal(tl_qsession *s, const char *name)
{
    (void)s;
    pthread_mutex_lock(&fake_mu);
    fake_obj *o = fake_find(fake_portals, name);
    if (o)
        o->used = false;
    pthread_mutex_unlock(&fake_mu);
    return 0;
}

int tl_sync(tl_qsession *s, bool failed, tl_error *err)
{
    (void)failed;
    (void)err;
    if (s->tx != 'I')
        return 0;
    pthread_mutex_lock(&fake_mu);
    for (int i = 0; i < FAKE_MAX; i++)
        fake_portals[i].used = false;
    pthread_mutex_unlock(&fake_mu);
    return 0;
}
