/*
 * session.c — per-connection settings (PostgreSQL's GUCs, the subset clients read and
 * write) and the simple-query driver: split a query string into statements with
 * libpg_query and run each, stopping at the first error as PostgreSQL does.
 */
#include "query_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>

struct guc_def {
    const char *name;
    const char *dflt;
    bool report;   /* sent as ParameterStatus at startup and when changed */
    bool readonly; /* SET refused with 55P02 / 42501 as PostgreSQL does */
};

/* Order matters: ParameterStatus is sent in this order at startup. */
static const guc_def gucs[] = {
    {"application_name", "", true, false},
    {"client_encoding", "UTF8", true, false},
    {"DateStyle", "ISO, MDY", true, false},
    {"default_transaction_read_only", "off", true, false},
    {"in_hot_standby", "off", true, true},
    {"integer_datetimes", "on", true, true},
    {"IntervalStyle", "postgres", true, false},
    {"is_superuser", "on", true, true},
    {"server_encoding", "UTF8", true, true},
    {"server_version", "15.0", true, true},
    {"session_authorization", "", true, true},
    {"standard_conforming_strings", "on", true, false},
    {"TimeZone", "UTC", true, false},
    /* not reported */
    {"search_path", "\"$user\", public", false, false},
    {"extra_float_digits", "1", false, false},
    {"server_version_num", "150000", false, true},
    {"max_identifier_length", "63", false, true},
    {"transaction_isolation", "read committed", false, false},
    {"default_transaction_isolation", "read committed", false, false},
    {"transaction_read_only", "off", false, false},
    {"statement_timeout", "0", false, false},
    {"lock_timeout", "0", false, false},
    {"idle_in_transaction_session_timeout", "0", false, false},
    {"work_mem", "4MB", false, false},
    {"lc_messages", "C", false, false},
    {"lc_monetary", "C", false, false},
    {"lc_numeric", "C", false, false},
    {"lc_time", "C", false, false},
    {"lc_collate", "C", false, true},
    {"lc_ctype", "C", false, true},
    {"synchronous_commit", "on", false, false},
    {"max_connections", "100", false, true},
    {"block_size", "8192", false, true},
    {"max_index_keys", "32", false, true},
    {"max_function_args", "100", false, true},
    {"bytea_output", "hex", false, false},
    {"client_min_messages", "notice", false, false},
    {"jit", "off", false, false},
    {"row_security", "on", false, false},
    {"timezone_abbreviations", "Default", false, false},
    {"role", "none", false, false},
    {"tally.now_override", "", false, false},
    /* per-statement memory: "0" = the server's --max-statement-memory; a session may
     * only lower it (q_statement_memory) */
    {"tally.max_statement_memory", "0", false, false},
};
#define NGUCS ((int)TL_ARRAY_LEN(gucs))

static int guc_index(const char *name)
{
    for (int i = 0; i < NGUCS; i++)
        if (strcasecmp(gucs[i].name, name) == 0) return i;
    return -1;
}

tl_qsession *tl_qsession_new(tl_engine *eng, const char *user, const char *database)
{
    tl_qsession *s = tl_xcalloc(1, sizeof *s);
    s->eng = eng;
    s->user = tl_xstrdup(user);
    s->database = tl_xstrdup(database);
    s->values = tl_xcalloc(NGUCS, sizeof *s->values);
    for (int i = 0; i < NGUCS; i++) s->values[i] = tl_xstrdup(gucs[i].dflt);
    int sa = guc_index("session_authorization");
    free(s->values[sa]);
    s->values[sa] = tl_xstrdup(user);
    if (eng && tl_engine_async_commit_default(eng)) { /* tallyd --synchronous-commit off */
        int sc = guc_index("synchronous_commit");
        free(s->values[sc]);
        s->values[sc] = tl_xstrdup("off");
    }
    s->tz = tl_tz_utc();
    s->extra_float_digits = 1;
    s->tx = 'I';
    catfn_install_hooks();
    return s;
}

void q_each_setting(tl_qsession *s, void *ctx,
                    void (*emit)(void *ctx, const char *name, const char *setting, const char *vartype))
{
    for (int i = 0; i < NGUCS; i++) {
        const char *v = s->values[i];
        bool b = !strcmp(v, "on") || !strcmp(v, "off");
        emit(ctx, gucs[i].name, v, b ? "bool" : "string");
    }
}

void tl_qsession_free(tl_qsession *s)
{
    if (!s) return;
    if (s->txg) { /* a block that never committed: its writes go */
        tl_ingest_abort(s->txg);
        tl_engine_writer_end(s->eng);
        s->txg = NULL;
        q_read_unlock(s);
    }
    prepared_free(s); /* portals give back their locks first */
    if (s->temp_nsp) { /* the session's temporary tables end with it */
        tl_engine_write_lock(s->eng);
        for (int i = tl_catalog_nrels(s->eng) - 1; i >= 0; i--) {
            tl_rel *r = tl_catalog_rel_at(s->eng, i);
            tl_error e = {0};
            if (r->nsp == s->temp_nsp) tl_catalog_drop_rel(s->eng, r, true, &e);
        }
        tl_engine_unlock(s->eng);
        tl_catalog_set_temp_nsp(0);
    }
    for (int i = 0; i < s->nsavepoints; i++) {
        free(s->savepoints[i]);
        tl_ingest_sp_free(s->sp_marks[i]);
    }
    free(s->savepoints);
    free(s->sp_marks);
    for (int i = 0; i < NGUCS; i++) free(s->values[i]);
    free(s->values);
    free(s->user);
    free(s->database);
    free(s->role);
    free(s->org_override);
    free(s);
}

const char *tl_qsession_get(tl_qsession *s, const char *name)
{
    int i = guc_index(name);
    return i < 0 ? NULL : s->values[i];
}

/* Canonical forms PostgreSQL reports back: SET datestyle = 'iso' shows "ISO, MDY". */
static int normalize(tl_qsession *s, int i, const char *value, char **out, tl_error *err)
{
    const char *name = gucs[i].name;
    if (strcmp(name, "TimeZone") == 0) {
        tl_error e2;
        tl_error_clear(&e2);
        const tl_tz *tz = tl_tz_get(value, &e2);
        if (!tz) return tl_errorf(err, "22023", "invalid value for parameter \"TimeZone\": \"%s\"", value);
        s->tz = tz;
        *out = tl_xstrdup(value);
        return 0;
    }
    if (strcmp(name, "DateStyle") == 0) {
        /* Only ISO output is implemented; MDY/DMY ordering only affects input. */
        if (strcasestr(value, "iso") == NULL && strcasestr(value, "mdy") == NULL &&
            strcasestr(value, "dmy") == NULL && strcasestr(value, "ymd") == NULL)
            return tl_errorf(err, "22023", "invalid value for parameter \"DateStyle\": \"%s\"", value);
        *out = tl_xstrdup("ISO, MDY");
        return 0;
    }
    if (strcmp(name, "client_encoding") == 0) {
        if (strcasecmp(value, "UTF8") != 0 && strcasecmp(value, "UTF-8") != 0 &&
            strcasecmp(value, "unicode") != 0)
            return tl_errorf(err, "22023", "invalid value for parameter \"client_encoding\": \"%s\"", value);
        *out = tl_xstrdup("UTF8");
        return 0;
    }
    if (strcmp(name, "extra_float_digits") == 0) {
        char *end;
        long v = strtol(value, &end, 10);
        if (*end || end == value)
            return tl_errorf(err, "22023", "invalid value for parameter \"extra_float_digits\": \"%s\"", value);
        if (v < -15 || v > 3)
            return tl_errorf(err, "22023", "%ld is outside the valid range for parameter \"extra_float_digits\" (-15 .. 3)", v);
        s->extra_float_digits = (int)v;
        *out = tl_xstrdup(value);
        return 0;
    }
    if (strcmp(name, "tally.max_statement_memory") == 0) {
        if (tl_query_parse_memory(value) < 0)
            return tl_errorf(err, "22023", "invalid value for parameter \"%s\": \"%s\"", name, value);
        *out = tl_xstrdup(value);
        return 0;
    }
    if (strcmp(name, "tally.now_override") == 0) {
        if (*value) {
            tl_datum d;
            tl_arena a;
            tl_arena_init(&a);
            tl_fmt_ctx fc = {.tz = s->tz, .extra_float_digits = 1};
            int rc = tl_value_in(tl_type_make(TL_TIMESTAMPTZ), value, strlen(value), &fc, &d, &a, err);
            tl_arena_free(&a);
            if (rc < 0) return -1;
            s->fixed_now = d.v.i;
        } else {
            s->fixed_now = 0;
        }
        *out = tl_xstrdup(value);
        return 0;
    }
    *out = tl_xstrdup(value);
    return 0;
}

int tl_qsession_set(tl_qsession *s, const char *name, const char *value, tl_error *err)
{
    int i = guc_index(name);
    if (i < 0) {
        /* Custom (dotted) parameters are allowed, as PostgreSQL's placeholders; we
         * simply do not keep them yet. */
        if (strchr(name, '.')) return 0;
        return tl_errorf(err, "42704", "unrecognized configuration parameter \"%s\"", name);
    }
    if (gucs[i].readonly) {
        if (strcmp(name, "is_superuser") == 0 || strcmp(name, "session_authorization") == 0)
            return 0;
        return tl_errorf(err, "55P02", "parameter \"%s\" cannot be changed", gucs[i].name);
    }
    char *v;
    if (normalize(s, i, value, &v, err) < 0) return -1;
    free(s->values[i]);
    s->values[i] = v;
    return 0;
}

int tl_qsession_reset(tl_qsession *s, const char *name, tl_error *err);
int tl_qsession_reset(tl_qsession *s, const char *name, tl_error *err)
{
    int i = guc_index(name);
    if (i < 0) return tl_errorf(err, "42704", "unrecognized configuration parameter \"%s\"", name);
    if (gucs[i].readonly) return 0;
    return tl_qsession_set(s, gucs[i].name, gucs[i].dflt, err);
}

/* RESET ALL / DISCARD ALL: every settable parameter back to its default; fn is told of
 * each reported one whose value changed (ParameterStatus). */
int tl_qsession_reset_all(tl_qsession *s, void (*fn)(void *ctx, const char *name, const char *value),
                          void *ctx);
int tl_qsession_reset_all(tl_qsession *s, void (*fn)(void *ctx, const char *name, const char *value),
                          void *ctx)
{
    tl_error err;
    tl_error_clear(&err);
    for (int i = 0; i < NGUCS; i++) {
        if (gucs[i].readonly || strcmp(s->values[i], gucs[i].dflt) == 0) continue;
        if (tl_qsession_set(s, gucs[i].name, gucs[i].dflt, &err) < 0) return -1;
        if (gucs[i].report && fn) fn(ctx, gucs[i].name, s->values[i]);
    }
    return 0;
}

/* SHOW ALL: every parameter in name order, as pg_settings lists them. */
void tl_qsession_each(tl_qsession *s, void (*fn)(void *ctx, const char *name, const char *value), void *ctx);
void tl_qsession_each(tl_qsession *s, void (*fn)(void *ctx, const char *name, const char *value), void *ctx)
{
    int order[NGUCS];
    for (int i = 0; i < NGUCS; i++) order[i] = i;
    for (int i = 1; i < NGUCS; i++)
        for (int j = i; j > 0 && strcasecmp(gucs[order[j - 1]].name, gucs[order[j]].name) > 0; j--) {
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    for (int i = 0; i < NGUCS; i++) fn(ctx, gucs[order[i]].name, s->values[order[i]]);
}

bool tl_qsession_guc_reported(const char *name);
bool tl_qsession_guc_reported(const char *name)
{
    int i = guc_index(name);
    return i >= 0 && gucs[i].report;
}

const char *tl_qsession_guc_canonical(const char *name);
const char *tl_qsession_guc_canonical(const char *name)
{
    int i = guc_index(name);
    return i < 0 ? NULL : gucs[i].name;
}

void tl_qsession_report_params(tl_qsession *s, void (*fn)(void *ctx, const char *name, const char *value),
                               void *ctx)
{
    for (int i = 0; i < NGUCS; i++)
        if (gucs[i].report) fn(ctx, gucs[i].name, s->values[i]);
}

char tl_qsession_tx_status(const tl_qsession *s)
{
    return s->tx;
}

void tl_qsession_cancel(tl_qsession *s)
{
    __atomic_store_n(&s->cancel, 1, __ATOMIC_RELEASE);
}

void tl_query_register_durable(void)
{
    matview_register_durable();
}

bool q_synchronous_commit(qctx *q)
{
    const char *v = tl_qsession_get(q->s, "synchronous_commit");
    /* on, local, remote_write, remote_apply all wait for the local WAL sync here */
    return !(v && (strcasecmp(v, "off") == 0 || strcasecmp(v, "false") == 0 || strcasecmp(v, "no") == 0 ||
                   strcmp(v, "0") == 0));
}
static int64_t mono_us(void);
static int64_t timeout_ms(const char *v);

static size_t max_statement_memory; /* the server's limit, 0 = none */

void tl_query_set_max_statement_memory(size_t bytes)
{
    max_statement_memory = bytes;
}

/* "1GB", "256MB", "65536kB", "8192" (kB, as PostgreSQL's memory settings): bytes, or
 * -1 if not a size. */
int64_t tl_query_parse_memory(const char *v)
{
    char *end;
    double x = strtod(v, &end);
    if (end == v || x < 0) return -1;
    while (*end == ' ') end++;
    double mul = 1024;
    if (*end == 0 || strcmp(end, "kB") == 0) mul = 1024;
    else if (strcmp(end, "B") == 0) mul = 1;
    else if (strcmp(end, "MB") == 0) mul = 1024.0 * 1024;
    else if (strcmp(end, "GB") == 0) mul = 1024.0 * 1024 * 1024;
    else if (strcmp(end, "TB") == 0) mul = 1024.0 * 1024 * 1024 * 1024;
    else return -1;
    x *= mul;
    return x > 9e18 ? -1 : (int64_t)x;
}

/* The budget of this session's next statement: the server's limit, or the session's
 * own setting when it is lower (a session cannot raise what protects the others). */
static size_t statement_memory(tl_qsession *s)
{
    int64_t own = tl_query_parse_memory(tl_qsession_get(s, "tally.max_statement_memory"));
    size_t lim = max_statement_memory;
    if (own > 0 && (lim == 0 || (size_t)own < lim)) lim = (size_t)own;
    return lim;
}

void q_statement_begin(tl_qsession *s)
{
    int64_t tmo = timeout_ms(tl_qsession_get(s, "statement_timeout"));
    s->deadline_us = tmo > 0 ? mono_us() + tmo * 1000 : 0;
    tl_mem_budget_begin(statement_memory(s));
}

void q_statement_end(tl_qsession *s)
{
    s->deadline_us = 0;
    tl_mem_budget_end();
}

int q_check_cancel(qctx *q, tl_error *err)
{
    size_t over = tl_mem_budget_exceeded();
    if (over) {
        tl_errorf(err, "53200", "out of memory");
        tl_error_detail(err, "The statement needed more than %zu bytes of working memory (tally.max_statement_memory).",
                        statement_memory(q->s));
        return -1;
    }
    if (q->s->deadline_us && mono_us() > q->s->deadline_us) {
        q->s->deadline_us = 0;
        return tl_errorf(err, "57014", "canceling statement due to statement timeout");
    }
    if (__atomic_exchange_n(&q->s->cancel, 0, __ATOMIC_ACQ_REL))
        return tl_errorf(err, "57014", "canceling statement due to user request");
    return 0;
}

int64_t q_clock_now(const tl_qsession *s)
{
    if (s && s->fixed_now) return s->fixed_now;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ((int64_t)ts.tv_sec - (int64_t)TL_UNIX_EPOCH_DAYS * 86400) * 1000000 + ts.tv_nsec / 1000;
}

tl_rel *q_materialize(qctx *q, tl_rel *r, tl_error *err)
{
    /* once per statement: correlated subqueries re-plan per outer row */
    for (int i = 0; i < q->nmat; i++)
        if (q->mat_src[i] == r) return q->mat_copy[i];
    tl_type *types = tl_arena_alloc(&q->arena, sizeof *types * (size_t)(r->natts + 1));
    for (int i = 0; i < r->natts; i++) types[i] = r->atts[i].type;
    tl_table *t = tl_table_new(r->natts, types, -1);
    if (q->ntemps == q->captemps) {
        q->captemps = q->captemps ? q->captemps * 2 : 4;
        q->temps = tl_xrealloc(q->temps, sizeof *q->temps * (size_t)q->captemps);
    }
    q->temps[q->ntemps++] = t;
    /* A materialized view is read with the statement's now() and TimeZone. */
    catfn_set_session(q->s);
    tl_syscat_set_viewer(tl_catalog_find_role(q->eng, acl_current_user(q->s)), true);
    int rc = r->kind == TL_REL_MATVIEW ? matview_fill(q, r, t, err) : r->materialize(q->eng, r, t, err);
    tl_syscat_set_viewer(NULL, false);
    catfn_set_session(NULL);
    if (rc < 0) return NULL;
    tl_table_publish(t);
    /* malloc'd, not in the arena: a subquery's run plans in a scratch arena */
    tl_rel *copy = tl_xmalloc(sizeof *copy);
    *copy = *r;
    copy->data = t;
    copy->materialize = NULL;
    q->mat_src = tl_xrealloc(q->mat_src, sizeof *q->mat_src * (size_t)(q->nmat + 1));
    q->mat_copy = tl_xrealloc(q->mat_copy, sizeof *q->mat_copy * (size_t)(q->nmat + 1));
    q->mat_src[q->nmat] = r;
    q->mat_copy[q->nmat++] = copy;
    return copy;
}

void q_free_temps(qctx *q)
{
    for (int i = 0; i < q->ntemps; i++) tl_table_free(q->temps[i]);
    free(q->temps);
    q->temps = NULL;
    for (int i = 0; i < q->nmat; i++) free(q->mat_copy[i]);
    free(q->mat_src);
    free(q->mat_copy);
    q->mat_src = q->mat_copy = NULL;
    q->nmat = 0;
    q->ntemps = q->captemps = 0;
}

/* ---- the simple-query driver ------------------------------------------------------------ */

int err_at(tl_error *err, int location, const char *sqlstate, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    bool had = tl_error_set(err);
    tl_verrorf(err, sqlstate, fmt, ap);
    va_end(ap);
    if (!had && location >= 0) err->position = location + 1;
    return -1;
}

/* libpg_query reports byte offsets; PostgreSQL's P field counts characters. */
static void fix_position(const char *sql, tl_error *err)
{
    if (err->position <= 0) return;
    int chars = 0;
    for (int i = 0; i < err->position - 1 && sql[i]; i++)
        if (((unsigned char)sql[i] & 0xC0) != 0x80) chars++;
    err->position = chars + 1;
}

/* Nesting of the parse tree in protobuf messages (about two per expression level),
 * walked through protobuf-c's descriptors so every node kind is covered; stops
 * counting past the limit. */
#define MAX_TREE_DEPTH 2000
static int tree_depth(const ProtobufCMessage *m, int depth)
{
    if (!m || depth > MAX_TREE_DEPTH) return depth;
    int best = depth;
    const ProtobufCMessageDescriptor *d = m->descriptor;
    for (unsigned i = 0; i < d->n_fields && best <= MAX_TREE_DEPTH; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->type != PROTOBUF_C_TYPE_MESSAGE) continue;
        const char *base = (const char *)m;
        /* a oneof's members share one pointer: only the member named by the case counts */
        if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) && *(const uint32_t *)(base + f->quantifier_offset) != f->id)
            continue;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)(base + f->quantifier_offset);
            ProtobufCMessage *const *arr = *(ProtobufCMessage *const *const *)(base + f->offset);
            for (size_t k = 0; k < n && best <= MAX_TREE_DEPTH; k++) {
                int dd = tree_depth(arr[k], depth + 1);
                if (dd > best) best = dd;
            }
        } else {
            const ProtobufCMessage *c = *(const ProtobufCMessage *const *)(base + f->offset);
            int dd = tree_depth(c, depth + 1);
            if (dd > best) best = dd;
        }
    }
    return best;
}

/* statement_timeout in milliseconds ("0", "250", "5s", "2min"); 0 = none. */
static int64_t timeout_ms(const char *v)
{
    if (!v) return 0;
    char *end;
    double x = strtod(v, &end);
    while (*end == ' ') end++;
    if (x <= 0) return 0;
    if (strcmp(end, "s") == 0) x *= 1000;
    else if (strcmp(end, "min") == 0) x *= 60000;
    else if (strcmp(end, "h") == 0) x *= 3600000;
    else if (strcmp(end, "us") == 0) x /= 1000;
    return (int64_t)x;
}

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int query_simple_stmts(tl_qsession *s, const char *sql, tl_sink *sink, tl_error *err)
{
    tl_catalog_set_temp_nsp(s->temp_nsp);
    PgQueryProtobufParseResult pr = pg_query_parse_protobuf(sql);
    if (pr.error) {
        tl_errorf(err, "42601", "%s", pr.error->message);
        err->position = pr.error->cursorpos;
        fix_position(sql, err);
        pg_query_free_protobuf_parse_result(pr);
        return -1;
    }
    PgQuery__ParseResult *res =
        pg_query__parse_result__unpack(NULL, pr.parse_tree.len, (const uint8_t *)pr.parse_tree.data);
    pg_query_free_protobuf_parse_result(pr);
    if (!res) return tl_errorf(err, "XX000", "could not decode parse tree");
    if (tree_depth(&res->base, 0) > MAX_TREE_DEPTH) {
        pg_query__parse_result__free_unpacked(res, NULL);
        tl_errorf(err, "54001", "stack depth limit exceeded");
        snprintf(err->hint, sizeof err->hint,
                 "Nesting of the statement exceeds what tally evaluates; simplify the expression.");
        return -1;
    }
    int rc = 0;
    if (res->n_stmts == 0 && sink->empty) sink->empty(sink->ctx);
    s->pipeline = res->n_stmts > 1; /* one implicit transaction for the whole string */
    __atomic_store_n(&s->cancel, 0, __ATOMIC_RELEASE);
    tl_close_portal(s, ""); /* a simple Query drops the unnamed portal, as PostgreSQL */
    for (size_t i = 0; i < res->n_stmts && rc == 0; i++) {
        PgQuery__RawStmt *rs = res->stmts[i];
        qctx q = {0};
        q.s = s;
        q.eng = s->eng;
        q.sql = sql;
        q.fc.tz = s->tz;
        q.fc.extra_float_digits = s->extra_float_digits;
        q.now = q_clock_now(s);
        tl_arena_init(&q.arena);
        if (s->tx == 'E' && rs->stmt && rs->stmt->node_case != PG_QUERY__NODE__NODE_TRANSACTION_STMT) {
            rc = tl_errorf(err, "25P02",
                           "current transaction is aborted, commands ignored until end of transaction block");
        } else {
            char before = s->tx;
            rc = run_statement(&q, rs->stmt, rs->stmt_location, rs->stmt_len, sink, err);
            if (before != 'I' && s->tx == 'I') prepared_end_tx(s);
        }
        /* the arena holds snapshot pins on the temporary tables: release them first */
        tl_arena_free(&q.arena);
        q_free_temps(&q);
    }
    if (rc < 0) {
        fix_position(sql, err);
        if (s->tx == 'T') s->tx = 'E';
    }
    /* the implicit transaction ends with the query string */
    tl_error cerr;
    tl_error_clear(&cerr);
    if (tl_sync(s, rc < 0, &cerr) < 0 && rc == 0) {
        *err = cerr;
        rc = -1;
    }
    pg_query__parse_result__free_unpacked(res, NULL);
    return rc;
}

static int query_simple_run(tl_qsession *s, const char *sql, tl_sink *sink, tl_error *err)
{
    q_statement_begin(s);
    int rc = query_simple_stmts(s, sql, sink, err);
    q_statement_end(s);
    return rc;
}

/* Long statements may nest deeply, and parsing, unpacking and binding recurse per
 * level: they run on a helper thread whose stack is large (only touched pages cost
 * memory), so depth is checked before any small connection stack could overflow.
 * Short ones cannot nest deeply enough to matter and run here. */
#define INLINE_SQL_MAX 160
#define DEEP_STACK (256u * 1024 * 1024)

typedef struct deep_call {
    tl_qsession *s;
    const char *sql;
    tl_sink *sink;
    tl_error *err;
    int rc;
} deep_call;

static void *deep_main(void *arg)
{
    deep_call *c = arg;
    c->rc = query_simple_run(c->s, c->sql, c->sink, c->err);
    return NULL;
}

int tl_query_simple(tl_qsession *s, const char *sql, tl_sink *sink, tl_error *err)
{
    if (strlen(sql) <= INLINE_SQL_MAX) return query_simple_run(s, sql, sink, err);
    deep_call c = {s, sql, sink, err, -1};
    pthread_attr_t attr;
    pthread_t t;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, DEEP_STACK);
    int prc = pthread_create(&t, &attr, deep_main, &c);
    pthread_attr_destroy(&attr);
    if (prc != 0) return tl_errorf(err, "53200", "out of memory");
    pthread_join(t, NULL);
    return c.rc;
}
