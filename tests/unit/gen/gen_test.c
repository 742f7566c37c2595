/*
 * gen_test.c — properties of tally-gen's output that loaders and the differential
 * tests rely on: same seed gives the same bytes (whatever tables are written, in any
 * order); row counts; NULL fractions; field shapes PostgreSQL's COPY accepts; every
 * fact's org/user/scenario exists in the dimensions and agrees with them; talk/listen
 * add up to the call. Output is parsed back as CSV, as a server would read it.
 */
#include <criterion/criterion.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"

/* ---- capture a table into memory ------------------------------------------------ */

typedef struct mem {
    char *p;
    size_t len, cap;
} mem;

static int mem_write(void *ctx, const char *p, size_t n)
{
    mem *m = ctx;
    if (m->len + n + 1 > m->cap) {
        m->cap = (m->len + n + 1) * 2;
        m->p = realloc(m->p, m->cap);
    }
    memcpy(m->p + m->len, p, n);
    m->len += n;
    m->p[m->len] = '\0';
    return 0;
}

static mem capture(const gen_world *w, gen_table t, gen_format f, bool header)
{
    mem m = {0};
    gen_sink s = {mem_write, &m};
    cr_assert_geq(gen_write_table(w, t, f, header, &s), 0);
    if (!m.p)
        m.p = calloc(1, 1);
    return m;
}

static gen_world *world(uint64_t attempts, uint64_t seed)
{
    gen_opts o;
    gen_opts_default(&o);
    o.attempts = attempts;
    o.seed = seed;
    return gen_world_create(&o);
}

/* ---- a small CSV reader (PostgreSQL's dialect: "" escapes a quote; unquoted empty = NULL) */

enum { MAX_COLS = 16 };

typedef struct row {
    int n;
    char *f[MAX_COLS];  /* NULL pointer = SQL NULL */
} row;

typedef struct table {
    row *rows;
    size_t n;
} table;

static table parse_csv(const char *s, bool skip_header)
{
    table t = {0};
    size_t cap = 0;
    bool first = true;
    while (*s) {
        row r = {0};
        for (;;) {
            size_t flen = 0; /* an upper bound of the field's length */
            if (*s == '"') {
                const char *q = s + 1;
                while (*q && !(q[0] == '"' && q[1] != '"'))
                    q += (q[0] == '"') ? 2 : 1;
                flen = (size_t)(q - s);
            } else {
                flen = strcspn(s, ",\n");
            }
            char *buf = malloc(flen + 1);
            size_t k = 0;
            bool quoted = false;
            if (*s == '"') {
                quoted = true;
                s++;
                for (;;) {
                    cr_assert(*s, "unterminated quoted field");
                    if (*s == '"' && s[1] == '"') {
                        buf[k++] = '"';
                        s += 2;
                    } else if (*s == '"') {
                        s++;
                        break;
                    } else {
                        buf[k++] = *s++;
                    }
                }
            } else {
                while (*s && *s != ',' && *s != '\n')
                    buf[k++] = *s++;
            }
            buf[k] = '\0';
            cr_assert_lt(r.n, MAX_COLS);
            if (k == 0 && !quoted) {
                free(buf);
                r.f[r.n++] = NULL;
            } else {
                r.f[r.n++] = buf;
            }
            if (*s == ',') {
                s++;
                continue;
            }
            cr_assert_eq(*s, '\n', "row does not end in a newline");
            s++;
            break;
        }
        if (first && skip_header) {
            first = false;
            for (int i = 0; i < r.n; i++)
                free(r.f[i]);
            continue;
        }
        first = false;
        if (t.n == cap) {
            cap = cap ? cap * 2 : 1024;
            t.rows = realloc(t.rows, cap * sizeof(row));
        }
        t.rows[t.n++] = r;
    }
    return t;
}

static void table_free(table *t)
{
    for (size_t i = 0; i < t->n; i++)
        for (int j = 0; j < t->rows[i].n; j++)
            free(t->rows[i].f[j]);
    free(t->rows);
}

static table load(const gen_world *w, gen_table t)
{
    mem m = capture(w, t, GEN_FORMAT_CSV, true);
    const char *nl = strchr(m.p, '\n');
    cr_assert(nl);
    cr_assert_eq((size_t)(nl - m.p), strlen(gen_table_columns(t)));
    cr_assert(strncmp(m.p, gen_table_columns(t), (size_t)(nl - m.p)) == 0, "header is the column list");
    table tb = parse_csv(m.p, true);
    free(m.p);
    int ncols = 1;
    for (const char *c = gen_table_columns(t); *c; c++)
        ncols += *c == ',';
    for (size_t i = 0; i < tb.n; i++)
        cr_assert_eq(tb.rows[i].n, ncols, "%s row %zu has %d fields", gen_table_name(t), i, tb.rows[i].n);
    return tb;
}

/* Sorted keys for membership checks: key -> row index in its table. */
typedef struct key {
    const char *k;
    size_t row;
} key;

static int key_cmp(const void *a, const void *b)
{
    return strcmp(((const key *)a)->k, ((const key *)b)->k);
}

static key *index_by(const table *t, int col)
{
    key *ks = malloc(sizeof(key) * (t->n ? t->n : 1));
    for (size_t i = 0; i < t->n; i++)
        ks[i] = (key){t->rows[i].f[col], i};
    qsort(ks, t->n, sizeof(key), key_cmp);
    for (size_t i = 1; i < t->n; i++)
        cr_assert_neq(strcmp(ks[i - 1].k, ks[i].k), 0, "duplicate primary key %s", ks[i].k);
    return ks;
}

static const row *lookup(const table *t, const key *ks, const char *k)
{
    if (!k)
        return NULL;
    key probe = {k, 0};
    const key *hit = bsearch(&probe, ks, t->n, sizeof(key), key_cmp);
    return hit ? &t->rows[hit->row] : NULL;
}

/* Compiled patterns are cached by address: the tests pass string literals. */
static bool matches(const char *pattern, const char *s)
{
    static const char *pats[16];
    static regex_t res[16];
    static int n;
    int i;
    for (i = 0; i < n && pats[i] != pattern; i++)
        ;
    if (i == n) {
        cr_assert_lt(n, 16);
        cr_assert_eq(regcomp(&res[n], pattern, REG_EXTENDED | REG_NOSUB), 0);
        pats[n++] = pattern;
    }
    return regexec(&res[i], s, 0, NULL, 0) == 0;
}

#define UUID_RE "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
#define TS_RE "^20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01]) ([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]\\.000\\+00$"
#define USER_RE "^user_[0-9A-Za-z]{27}$"

/* ---- tests ------------------------------------------------------------------------ */

Test(gen, same_seed_same_bytes)
{
    gen_world *a = world(3000, 42), *b = world(3000, 42), *c = world(3000, 43);
    for (int t = 0; t < GEN_TABLE_COUNT; t++) {
        mem x = capture(a, (gen_table)t, GEN_FORMAT_CSV, true);
        mem y = capture(b, (gen_table)t, GEN_FORMAT_CSV, true);
        cr_assert_eq(x.len, y.len, "%s differs in length", gen_table_name((gen_table)t));
        cr_assert(memcmp(x.p, y.p, x.len) == 0, "%s differs", gen_table_name((gen_table)t));
        if (t != GEN_DIM_TIME) { /* the calendar depends on the window only */
            mem z = capture(c, (gen_table)t, GEN_FORMAT_CSV, true);
            cr_assert(z.len != x.len || memcmp(x.p, z.p, x.len) != 0, "%s ignores the seed",
                      gen_table_name((gen_table)t));
            free(z.p);
        }
        free(x.p);
        free(y.p);
    }
    gen_world_free(a);
    gen_world_free(b);
    gen_world_free(c);
}

Test(gen, tables_do_not_depend_on_write_order)
{
    gen_world *a = world(2000, 7), *b = world(2000, 7);
    mem events_first = capture(a, GEN_FACT_EVENTS, GEN_FORMAT_CSV, false);
    mem attempts_b = capture(b, GEN_FACT_ATTEMPTS, GEN_FORMAT_CSV, false);
    mem events_after = capture(b, GEN_FACT_EVENTS, GEN_FORMAT_CSV, false);
    mem attempts_a = capture(a, GEN_FACT_ATTEMPTS, GEN_FORMAT_CSV, false);
    cr_assert_eq(events_first.len, events_after.len);
    cr_assert(memcmp(events_first.p, events_after.p, events_first.len) == 0);
    cr_assert_eq(attempts_a.len, attempts_b.len);
    cr_assert(memcmp(attempts_a.p, attempts_b.p, attempts_a.len) == 0);
    free(events_first.p);
    free(events_after.p);
    free(attempts_a.p);
    free(attempts_b.p);
    gen_world_free(a);
    gen_world_free(b);
}

Test(gen, row_counts)
{
    gen_world *w = world(10000, 1);
    gen_counts c;
    gen_world_counts(w, &c);
    cr_assert_eq(c.orgs, 5); /* one per 2,000 attempts */
    cr_assert(c.users >= 150 && c.users <= 250, "about one user per 50 attempts: %llu",
              (unsigned long long)c.users);
    table orgs = load(w, GEN_DIM_ORGS), users = load(w, GEN_DIM_USERS), scen = load(w, GEN_DIM_SCENARIOS),
          days = load(w, GEN_DIM_TIME), att = load(w, GEN_FACT_ATTEMPTS), ev = load(w, GEN_FACT_EVENTS);
    cr_assert_eq(orgs.n, c.orgs);
    cr_assert_eq(users.n, c.users);
    cr_assert_eq(scen.n, c.scenarios);
    cr_assert_eq(days.n, c.days);
    cr_assert_geq(days.n, 5 * 365);
    cr_assert_eq(att.n, 10000);
    /* About 8 events per attempt, never more than 20 for one attempt. */
    cr_assert(ev.n > 6 * att.n && ev.n < 10 * att.n, "%zu events for %zu attempts", ev.n, att.n);
    table_free(&orgs);
    table_free(&users);
    table_free(&scen);
    table_free(&days);
    table_free(&att);
    table_free(&ev);
    gen_world_free(w);

    gen_world *tiny = world(1, 1);
    gen_world_counts(tiny, &c);
    cr_assert_eq(c.orgs, 3, "at least three orgs");
    table one = load(tiny, GEN_FACT_ATTEMPTS);
    cr_assert_eq(one.n, 1);
    table_free(&one);
    gen_world_free(tiny);

    gen_world *none = world(0, 1);
    table zero = load(none, GEN_FACT_ATTEMPTS), zev = load(none, GEN_FACT_EVENTS);
    cr_assert_eq(zero.n, 0);
    cr_assert_eq(zev.n, 0);
    table_free(&zero);
    table_free(&zev);
    gen_world_free(none);
}

Test(gen, null_fractions)
{
    gen_world *w = world(40000, 3);
    table att = load(w, GEN_FACT_ATTEMPTS);
    size_t null_score = 0, null_scen = 0, null_end = 0;
    for (size_t i = 0; i < att.n; i++) {
        const row *r = &att.rows[i];
        null_scen += r->f[3] == NULL;
        null_score += r->f[4] == NULL;
        null_end += r->f[9] == NULL;
        for (int c = 0; c < r->n; c++) /* only these three columns may be NULL */
            cr_assert(r->f[c] || c == 3 || c == 4 || c == 9, "row %zu column %d is NULL", i, c);
    }
    double n = (double)att.n;
    cr_assert(null_score / n > 0.02 && null_score / n < 0.04, "score NULL %.4f", null_score / n);
    cr_assert(null_scen / n > 0.005 && null_scen / n < 0.015, "scenario NULL %.4f", null_scen / n);
    cr_assert(null_end / n > 0.005 && null_end / n < 0.015, "ended_at NULL %.4f", null_end / n);
    table_free(&att);
    gen_world_free(w);
}

Test(gen, field_shapes)
{
    gen_world *w = world(5000, 11);
    gen_counts c;
    gen_world_counts(w, &c);
    table att = load(w, GEN_FACT_ATTEMPTS), ev = load(w, GEN_FACT_EVENTS), users = load(w, GEN_DIM_USERS),
          days = load(w, GEN_DIM_TIME);
    for (size_t i = 0; i < att.n; i++) {
        const row *r = &att.rows[i];
        cr_assert(matches(UUID_RE, r->f[0]), "attempt_id %s", r->f[0]);
        cr_assert(matches(UUID_RE, r->f[1]), "org_id %s", r->f[1]);
        cr_assert(matches(USER_RE, r->f[2]), "user_id %s", r->f[2]);
        cr_assert(!r->f[3] || matches(UUID_RE, r->f[3]));
        if (r->f[4]) {
            cr_assert(matches("^[0-9]{1,3}\\.[0-9]{2}$", r->f[4]), "score %s", r->f[4]);
            double s = atof(r->f[4]);
            cr_assert(s >= 0 && s <= 100);
        }
        int dur = atoi(r->f[5]);
        cr_assert(dur >= 60 && dur <= 1200, "duration %d", dur);
        cr_assert(matches(TS_RE, r->f[8]), "started_at %s", r->f[8]);
        cr_assert(!r->f[9] || matches(TS_RE, r->f[9]));
        cr_assert(matches(TS_RE, r->f[10]));
        /* Text timestamps of one shape compare like times. */
        if (r->f[9])
            cr_assert(strcmp(r->f[8], r->f[9]) < 0 && strcmp(r->f[9], r->f[10]) < 0);
    }
    static const char *const types[] = {"filler_word", "interruption", "question_asked",
                                        "objection_raised", "keyword_mentioned", "long_pause"};
    size_t type_count[6] = {0};
    for (size_t i = 0; i < ev.n; i++) {
        const row *r = &ev.rows[i];
        cr_assert(matches(UUID_RE, r->f[0]));
        cr_assert(matches(TS_RE, r->f[8]));
        int k;
        for (k = 0; k < 6 && strcmp(types[k], r->f[5]) != 0; k++)
            ;
        cr_assert_lt(k, 6, "event_type %s", r->f[5]);
        type_count[k]++;
        cr_assert(!r->f[6] || matches("^\\{\"[a-z_]+\": (\"[a-zA-Z ]+\"|[0-9]+)\\}$", r->f[6]), "event_value %s",
                  r->f[6]);
    }
    for (int k = 1; k < 6; k++)
        cr_assert_gt(type_count[0], type_count[k], "filler_word is the most common event");
    size_t roles[3] = {0};
    for (size_t i = 0; i < users.n; i++) {
        const char *role = users.rows[i].f[4];
        cr_assert(!role || !strcmp(role, "admin") || !strcmp(role, "manager") || !strcmp(role, "trainee"));
        if (role)
            roles[role[0] == 'a' ? 0 : role[0] == 'm' ? 1 : 2]++;
    }
    cr_assert(roles[2] > roles[1] && roles[1] > 0 && roles[0] > 0, "mostly trainees, some managers and admins");
    /* dim_time agrees with itself: consecutive days, ISO weekday cycling, weekends flagged. */
    for (size_t i = 0; i < days.n; i++) {
        const row *r = &days.rows[i];
        int32_t day;
        cr_assert_eq(gen_parse_date(r->f[0], &day), 0);
        cr_assert_eq(day, c.time_first_day + (int32_t)i);
        int dow = atoi(r->f[5]);
        cr_assert_eq(dow, (int)((day + 3) % 7) + 1);
        cr_assert_str_eq(r->f[8], dow >= 6 ? "t" : "f");
        cr_assert_eq(atoi(r->f[1]), atoi(r->f[0]));
        cr_assert_eq(atoi(r->f[3]), atoi(r->f[0] + 5));
        cr_assert_eq(atoi(r->f[6]), atoi(r->f[0] + 8));
        int week = atoi(r->f[4]);
        cr_assert(week >= 1 && week <= 53);
    }
    /* Known ISO weeks: 2024-12-30 is in week 1 of 2025, 2027-01-01 in week 53 of 2026. */
    for (size_t i = 0; i < days.n; i++) {
        if (!strcmp(days.rows[i].f[0], "2024-12-30"))
            cr_assert_str_eq(days.rows[i].f[4], "1");
        if (!strcmp(days.rows[i].f[0], "2027-01-01"))
            cr_assert_str_eq(days.rows[i].f[4], "53");
        if (!strcmp(days.rows[i].f[0], "2024-02-29"))
            cr_assert_str_eq(days.rows[i].f[7], "60");
    }
    table_free(&att);
    table_free(&ev);
    table_free(&users);
    table_free(&days);
    gen_world_free(w);
}

Test(gen, referential_integrity)
{
    gen_world *w = world(8000, 5);
    gen_counts c;
    gen_world_counts(w, &c);
    table orgs = load(w, GEN_DIM_ORGS), users = load(w, GEN_DIM_USERS), scen = load(w, GEN_DIM_SCENARIOS),
          days = load(w, GEN_DIM_TIME), att = load(w, GEN_FACT_ATTEMPTS), ev = load(w, GEN_FACT_EVENTS);
    key *ko = index_by(&orgs, 0), *ku = index_by(&users, 0), *ks = index_by(&scen, 0), *kd = index_by(&days, 0),
        *ka = index_by(&att, 0);
    free(index_by(&ev, 0)); /* event ids are unique too */
    for (size_t i = 0; i < users.n; i++)
        cr_assert(lookup(&orgs, ko, users.rows[i].f[1]), "user's org exists");
    for (size_t i = 0; i < scen.n; i++)
        cr_assert(lookup(&orgs, ko, scen.rows[i].f[1]), "scenario's org exists");
    for (size_t i = 0; i < att.n; i++) {
        const row *r = &att.rows[i];
        const row *u = lookup(&users, ku, r->f[2]);
        cr_assert(u, "attempt %s: user %s missing", r->f[0], r->f[2]);
        cr_assert_str_eq(u->f[1], r->f[1], "attempt's org is its user's org");
        cr_assert(strcmp(u->f[5], r->f[8]) <= 0, "user created before the attempt");
        if (r->f[3]) {
            const row *s = lookup(&scen, ks, r->f[3]);
            cr_assert(s, "scenario %s missing", r->f[3]);
            cr_assert_str_eq(s->f[1], r->f[1], "scenario from the user's org");
            cr_assert(strcmp(s->f[5], r->f[8]) <= 0, "scenario created before the attempt");
        }
        char date[11];
        memcpy(date, r->f[8], 10);
        date[10] = '\0';
        cr_assert(lookup(&days, kd, date), "date_key %s in dim_time", date);
    }
    for (size_t i = 0; i < ev.n; i++) {
        const row *e = &ev.rows[i];
        const row *a = lookup(&att, ka, e->f[1]);
        cr_assert(a, "event's attempt %s missing", e->f[1]);
        cr_assert_str_eq(e->f[2], a->f[1]);
        cr_assert_str_eq(e->f[3], a->f[2]);
        cr_assert((e->f[4] == NULL) == (a->f[3] == NULL));
        if (e->f[4])
            cr_assert_str_eq(e->f[4], a->f[3]);
        int ts = atoi(e->f[7]);
        cr_assert(ts >= 0 && ts < atoi(a->f[5]) * 1000, "timestamp_ms within the call");
        cr_assert(strcmp(e->f[8], a->f[8]) > 0, "event recorded after the attempt started");
    }
    free(ko);
    free(ku);
    free(ks);
    free(kd);
    free(ka);
    table_free(&orgs);
    table_free(&users);
    table_free(&scen);
    table_free(&days);
    table_free(&att);
    table_free(&ev);
    gen_world_free(w);
}

Test(gen, talk_listen_add_up)
{
    gen_world *w = world(20000, 9);
    table att = load(w, GEN_FACT_ATTEMPTS);
    for (size_t i = 0; i < att.n; i++) {
        const row *r = &att.rows[i];
        long dur_ms = atol(r->f[5]) * 1000, talk = atol(r->f[6]), listen = atol(r->f[7]);
        cr_assert(talk > 0 && listen > 0, "row %zu: talk %ld listen %ld", i, talk, listen);
        cr_assert(talk + listen <= dur_ms && talk + listen >= dur_ms * 95 / 100, "row %zu: %ld+%ld vs %ld", i, talk,
                  listen, dur_ms);
    }
    table_free(&att);
    gen_world_free(w);
}

Test(gen, skew_and_seasonality)
{
    gen_world *w = world(20000, 2);
    gen_counts c;
    gen_world_counts(w, &c);
    table att = load(w, GEN_FACT_ATTEMPTS), users = load(w, GEN_DIM_USERS);
    /* Org sizes are skewed: the biggest org has several times the users of the smallest. */
    size_t per_org[64] = {0};
    char orgs[64][37];
    size_t norgs = 0;
    for (size_t i = 0; i < users.n; i++) {
        size_t k;
        for (k = 0; k < norgs && strcmp(orgs[k], users.rows[i].f[1]) != 0; k++)
            ;
        if (k == norgs) {
            cr_assert_lt(norgs, 64);
            strcpy(orgs[norgs++], users.rows[i].f[1]);
        }
        per_org[k]++;
    }
    size_t lo = SIZE_MAX, hi = 0;
    for (size_t k = 0; k < norgs; k++) {
        lo = per_org[k] < lo ? per_org[k] : lo;
        hi = per_org[k] > hi ? per_org[k] : hi;
    }
    cr_assert_geq(hi, 4 * lo, "org sizes %zu..%zu", lo, hi);
    /* Weekdays are busier than weekends; the last year busier than the first; the
     * stream is in time order to the hour. */
    size_t weekend = 0, first_year = 0;
    int32_t mid = c.window_first_day + (c.window_end_day - c.window_first_day) / 2;
    for (size_t i = 0; i < att.n; i++) {
        int32_t day;
        char date[11];
        memcpy(date, att.rows[i].f[8], 10);
        date[10] = '\0';
        cr_assert_eq(gen_parse_date(date, &day), 0);
        cr_assert(day >= c.window_first_day && day < c.window_end_day);
        weekend += (day + 3) % 7 >= 5;
        first_year += day < mid;
        if (i > 0)
            cr_assert(strncmp(att.rows[i - 1].f[8], att.rows[i].f[8], 13) <= 0, "hour order at row %zu", i);
    }
    cr_assert_lt(weekend, att.n / 10, "weekend share %zu/%zu", weekend, att.n);
    cr_assert_lt(first_year * 10, att.n * 4, "growth: %zu of %zu in the first year", first_year, att.n);
    table_free(&att);
    table_free(&users);
    gen_world_free(w);
}

Test(gen, copy_text_format)
{
    gen_world *w = world(500, 4);
    mem csv = capture(w, GEN_FACT_ATTEMPTS, GEN_FORMAT_CSV, false);
    mem txt = capture(w, GEN_FACT_ATTEMPTS, GEN_FORMAT_TEXT, false);
    /* Same rows: tabs for commas, \N for empty (no attempt column holds text needing quotes). */
    mem want = {0};
    gen_sink s = {mem_write, &want};
    for (const char *p = csv.p; *p; p++) {
        bool empty = *p == ',' ? (p[1] == ',' || p[1] == '\n') : false;
        char ch = *p == ',' ? '\t' : *p;
        s.write(s.ctx, &ch, 1);
        if (empty)
            s.write(s.ctx, "\\N", 2);
    }
    cr_assert_str_eq(txt.p, want.p);
    free(want.p);
    /* A title with quotes and a comma: COPY text carries it raw, CSV quotes and doubles. */
    gen_world *big = world(20000, 4);
    mem ts = capture(big, GEN_DIM_SCENARIOS, GEN_FORMAT_TEXT, true);
    mem cs = capture(big, GEN_DIM_SCENARIOS, GEN_FORMAT_CSV, true);
    cr_assert(strncmp(ts.p, "scenario_id\torg_id\ttitle\t", 25) == 0);
    cr_assert_not_null(strstr(ts.p, "CFO who says \"no budget\", twice\t"));
    cr_assert_not_null(strstr(cs.p, ",\"Price objection: CFO who says \"\"no budget\"\", twice\",") ||
                       strstr(cs.p, ": CFO who says \"\"no budget\"\", twice\","));
    free(cs.p);
    gen_world_free(big);
    free(csv.p);
    free(txt.p);
    free(ts.p);
    gen_world_free(w);
}

Test(gen, parse_date)
{
    int32_t d;
    cr_assert_eq(gen_parse_date("2026-11-01", &d), 0);
    cr_assert_eq(d, 20758);
    cr_assert_eq(gen_parse_date("1970-01-02", &d), -1); /* before the supported range */
    cr_assert_eq(gen_parse_date("2025-02-29", &d), -1);
    cr_assert_eq(gen_parse_date("2024-02-29", &d), 0);
    cr_assert_eq(gen_parse_date("2024-2-29", &d), -1);
    cr_assert_eq(gen_parse_date("2024-13-01", &d), -1);
}
