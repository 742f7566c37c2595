/*
 * gen.c — deterministic synthetic data for the reporting schema (see gen.h).
 *
 * Realism the queries and rollups should feel: org sizes are Zipf-skewed; users and
 * scenarios exist before they are used (created_at <= the attempts that name them);
 * scores follow per-user skill, tenure and scenario difficulty rather than noise;
 * attempts grow over the window, dip on weekends and holidays and cluster in EU and US
 * working hours (UTC). Attempts come out in near time order (sorted to the hour, random
 * within it), the way completed attempts reach the reporting store.
 *
 * Speed: fact rows are formatted by hand into a 1 MiB buffer (no printf per row);
 * samples come from xoshiro256** and alias tables, so a row costs a handful of PRNG
 * calls. Determinism: every table has its own PRNG stream derived from the seed, and
 * nothing reads the clock or rand().
 */
#include "gen.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tl_base.h"

/* ---- PRNG ---------------------------------------------------------------- */

typedef struct rng {
    uint64_t s[4];
} rng;

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Streams keep tables independent: writing only fact_kpi_events yields the same bytes. */
enum { STREAM_WORLD = 1, STREAM_ATTEMPTS = 2, STREAM_EVENTS = 3 };

static void rng_seed(rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (stream * 0xd1b54a32d192ed03ULL);
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static inline uint64_t rng_next(rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

static inline double rng_unit(rng *r)
{
    return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

/* Lemire's multiply-shift: unbiased enough for n far below 2^32, and no division. */
static inline uint32_t rng_below(rng *r, uint32_t n)
{
    return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

/* Irwin-Hall of four 16-bit uniforms: close to N(0,1) within +-3.46, one PRNG call.
 * Bounded tails are a feature here: no score or duration lands absurdly far out. */
static inline double rng_normal(rng *r)
{
    uint64_t x = rng_next(r);
    double s = (double)(x & 0xffff) + (double)((x >> 16) & 0xffff) + (double)((x >> 32) & 0xffff) +
               (double)(x >> 48);
    return (s * (1.0 / 65536.0) - 2.0) * 1.7320508075688772;
}

static double clampd(double x, double lo, double hi)
{
    return x < lo ? lo : x > hi ? hi : x;
}

/* ---- alias tables: O(1) weighted choice ------------------------------------ */

/* Vose's method. thresh[i] is P(keep i) scaled to 2^32; full buckets alias to themselves
 * so the (uint32)r < thresh comparison may fail at r = 2^32-1 without changing the pick. */
static void alias_build(uint32_t *thresh, uint32_t *alias, const double *w, uint32_t n)
{
    double total = 0;
    for (uint32_t i = 0; i < n; i++)
        total += w[i];
    double *p = tl_xmalloc(sizeof(double) * n);
    uint32_t *small = tl_xmalloc(sizeof(uint32_t) * n), *large = tl_xmalloc(sizeof(uint32_t) * n);
    uint32_t ns = 0, nl = 0;
    for (uint32_t i = 0; i < n; i++) {
        p[i] = total > 0 ? w[i] * n / total : 1.0;
        if (p[i] < 1.0)
            small[ns++] = i;
        else
            large[nl++] = i;
    }
    while (ns > 0 && nl > 0) {
        uint32_t s = small[--ns], l = large[--nl];
        thresh[s] = (uint32_t)(p[s] * 4294967296.0);
        alias[s] = l;
        p[l] = (p[l] + p[s]) - 1.0;
        if (p[l] < 1.0)
            small[ns++] = l;
        else
            large[nl++] = l;
    }
    while (nl > 0) {
        uint32_t l = large[--nl];
        thresh[l] = UINT32_MAX;
        alias[l] = l;
    }
    while (ns > 0) { /* rounding leftovers: treat as full */
        uint32_t s = small[--ns];
        thresh[s] = UINT32_MAX;
        alias[s] = s;
    }
    free(p);
    free(small);
    free(large);
}

static inline uint32_t alias_pick(const uint32_t *thresh, const uint32_t *alias, uint32_t n, uint64_t r)
{
    uint32_t i = (uint32_t)(((r >> 32) * (uint64_t)n) >> 32);
    return (uint32_t)r < thresh[i] ? i : alias[i];
}

/* ---- calendar ------------------------------------------------------------- */

/* Howard Hinnant's civil-date algorithms (proleptic Gregorian, days since 1970-01-01). */
int32_t gen_days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (unsigned)((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1);
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (int32_t)(era * 146097 + (int)doe - 719468);
}

static void civil_from_days(int32_t z, int *y, int *m, int *d)
{
    z += 719468;
    int era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int yy = (int)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yy + (*m <= 2);
}

static bool is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* ISO day of week, 1 = Monday; 1970-01-01 was a Thursday. */
static int iso_dow(int32_t day)
{
    int r = (int)(((int64_t)day + 3) % 7);
    if (r < 0)
        r += 7;
    return r + 1;
}

static int iso_weeks_in_year(int y)
{
    int jan1 = iso_dow(gen_days_from_civil(y, 1, 1));
    return (jan1 == 4 || (jan1 == 3 && is_leap(y))) ? 53 : 52;
}

int gen_parse_date(const char *s, int32_t *day)
{
    int y, m, d;
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return -1;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return -1;
    y = atoi(s);
    m = atoi(s + 5);
    d = atoi(s + 8);
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1971 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1] + (m == 2 && is_leap(y)))
        return -1;
    *day = gen_days_from_civil(y, m, d);
    return 0;
}

void gen_opts_default(gen_opts *o)
{
    o->attempts = 10000;
    o->seed = 1;
    o->end_day = gen_days_from_civil(2026, 11, 1);
}

/* ---- tables and columns ----------------------------------------------------- */

static const char *const table_names[GEN_TABLE_COUNT] = {
    "dim_orgs", "dim_users", "dim_scenarios", "dim_time", "fact_scenario_attempts", "fact_kpi_events",
};

static const char *const table_columns[GEN_TABLE_COUNT] = {
    "org_id,name,plan,created_at",
    "user_id,org_id,name,email,role,created_at,updated_at",
    "scenario_id,org_id,title,difficulty,category,created_at,updated_at",
    "date_key,year,quarter,month,week,day_of_week,day_of_month,day_of_year,is_weekend",
    "attempt_id,org_id,user_id,scenario_id,score,duration_seconds,talk_ms,listen_ms,started_at,"
    "ended_at,created_at",
    "id,attempt_id,org_id,user_id,scenario_id,event_type,event_value,timestamp_ms,created_at",
};

const char *gen_table_name(gen_table t)
{
    return (unsigned)t < GEN_TABLE_COUNT ? table_names[t] : NULL;
}

const char *gen_table_columns(gen_table t)
{
    return (unsigned)t < GEN_TABLE_COUNT ? table_columns[t] : NULL;
}

int gen_table_lookup(const char *name)
{
    for (int i = 0; i < GEN_TABLE_COUNT; i++)
        if (strcmp(name, table_names[i]) == 0)
            return i;
    return -1;
}

/* ---- vocabulary ---------------------------------------------------------------- */

/* Display name and the ASCII form used in e-mail addresses. Accents and apostrophes
 * are deliberate: they exercise UTF-8 and quoting on every path that carries names. */
typedef struct name_pair {
    const char *display, *ascii;
} name_pair;

static const name_pair first_names[] = {
    {"Ana", "ana"},     {"Ben", "ben"},         {"Chloé", "chloe"},   {"Dmitri", "dmitri"},
    {"Eve", "eve"},     {"Farid", "farid"},     {"Grace", "grace"},   {"Hiro", "hiro"},
    {"Inès", "ines"},   {"Jamal", "jamal"},     {"Kate", "kate"},     {"Liam", "liam"},
    {"Mei", "mei"},     {"Noor", "noor"},       {"Seán", "sean"},     {"Olga", "olga"},
    {"Pablo", "pablo"}, {"Quinn", "quinn"},     {"Rosa", "rosa"},     {"Sven", "sven"},
    {"Aisha", "aisha"}, {"Mateo", "mateo"},     {"Priya", "priya"},   {"Tomás", "tomas"},
    {"Yuki", "yuki"},   {"Zoe", "zoe"},         {"Lukas", "lukas"},   {"Fatima", "fatima"},
    {"Oliver", "oliver"}, {"Emma", "emma"},     {"Kwame", "kwame"},   {"Ingrid", "ingrid"},
};

static const name_pair last_names[] = {
    {"Ng", "ng"},           {"Okafor", "okafor"},   {"O'Brien", "obrien"},  {"Müller", "mueller"},
    {"Silva", "silva"},     {"Kowalski", "kowalski"}, {"Tanaka", "tanaka"}, {"Haddad", "haddad"},
    {"Berg", "berg"},       {"Lopez", "lopez"},     {"Smith", "smith"},     {"Johnson", "johnson"},
    {"Garcia", "garcia"},   {"Nguyen", "nguyen"},   {"Patel", "patel"},     {"Kim", "kim"},
    {"Rossi", "rossi"},     {"Dubois", "dubois"},   {"Novak", "novak"},     {"Andersson", "andersson"},
    {"Cohen", "cohen"},     {"Ivanova", "ivanova"}, {"Mensah", "mensah"},   {"Sato", "sato"},
    {"Fernández", "fernandez"}, {"Walsh", "walsh"}, {"Schmidt", "schmidt"}, {"Costa", "costa"},
};

static const name_pair org_words1[] = {
    {"Northwind", "northwind"}, {"Bluebird", "bluebird"}, {"Summit", "summit"},   {"Granite", "granite"},
    {"Harbor", "harbor"},       {"Pioneer", "pioneer"},   {"Cedar", "cedar"},     {"Atlas", "atlas"},
    {"Lumen", "lumen"},         {"Redwood", "redwood"},   {"Silverline", "silverline"}, {"Crescent", "crescent"},
    {"Meridian", "meridian"},   {"Keystone", "keystone"}, {"Evergreen", "evergreen"}, {"Orbit", "orbit"},
};

static const name_pair org_words2[] = {
    {"Logistics", "logistics"}, {"Health", "health"},   {"Software", "software"}, {"Realty", "realty"},
    {"Insurance", "insurance"}, {"Telecom", "telecom"}, {"Energy", "energy"},     {"Retail", "retail"},
    {"Capital", "capital"},     {"Robotics", "robotics"}, {"Foods", "foods"},    {"Mobility", "mobility"},
};

static const char *const org_suffixes[] = {"Inc.", "LLC", "GmbH", "Ltd", "Group", "& Co.", "S.A.", "AG"};

static const char *const plans[] = {"starter", "pro", "business", "enterprise"};

/* A scenario title is "<kind>: <persona>". One persona carries quotes and a comma, one
 * kind an en dash, so CSV quoting and UTF-8 are exercised by ordinary data. */
typedef struct scenario_kind {
    const char *title;
    uint8_t category;   /* index into categories[] */
    int8_t difficulty;  /* typical difficulty: 0 easy, 1 medium, 2 hard */
    int16_t base_dur;   /* typical length in seconds */
} scenario_kind;

static const char *const categories[] = {"sales", "support", "negotiation", "onboarding", "compliance"};
static const char *const difficulties[] = {"easy", "medium", "hard"};

static const scenario_kind kinds[] = {
    {"Cold call", 0, 0, 300},           {"Discovery call – qualification", 0, 1, 540},
    {"Demo follow-up", 0, 0, 420},      {"Price objection", 2, 1, 480},
    {"Renewal at risk", 1, 2, 600},     {"Gatekeeper navigation", 0, 1, 240},
    {"Upsell to enterprise", 0, 2, 660}, {"Angry customer: billing", 1, 2, 560},
    {"Contract negotiation", 2, 2, 780}, {"Competitor displacement", 2, 2, 700},
    {"Voicemail drill", 0, 0, 120},     {"Executive briefing", 0, 1, 480},
    {"Product onboarding call", 3, 0, 540}, {"Data privacy questions", 4, 1, 420},
};

static const char *const personas[] = {
    "SaaS CFO",          "logistics manager", "hospital buyer",   "retail owner",
    "IT director",       "procurement lead",  "startup founder",  "school principal",
    "bank VP",           "field technician",  "CFO who says \"no budget\", twice",
    "skeptical CTO",
};

/* filler_word leads, as in real transcripts; weights in per-mille. */
enum { EV_FILLER, EV_QUESTION, EV_KEYWORD, EV_INTERRUPTION, EV_OBJECTION, EV_PAUSE, EV_COUNT };
static const char *const event_types[EV_COUNT] = {
    "filler_word", "question_asked", "keyword_mentioned", "interruption", "objection_raised", "long_pause",
};
static const uint16_t event_weights[EV_COUNT] = {350, 200, 150, 120, 100, 80};

static const char *const filler_words[] = {"um", "uh", "like", "you know", "so", "basically"};
static const char *const keywords[] = {"ROI", "onboarding", "SLA", "pilot", "integration", "security", "pricing"};
static const char *const severities[] = {"low", "medium", "high"};

static const char base62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/* ---- the world ----------------------------------------------------------------- */

enum { ROLE_ADMIN = 0, ROLE_MANAGER = 1, ROLE_TRAINEE = 2, ROLE_NULL = 3 };
static const char *const roles[] = {"admin", "manager", "trainee"};

typedef struct org {
    char id[36];
    uint8_t word1, word2, suffix, plan;
    int64_t created; /* seconds since the epoch, UTC */
    uint32_t first_user, nusers;
    uint32_t first_scen, nscen;
} org;

typedef struct user {
    char id[32];      /* "user_" + 27 base62 */
    uint32_t org;
    uint32_t serial;  /* keeps e-mail addresses unique */
    uint8_t first, last, role;
    bool null_name, null_email;
    int64_t created, updated;
    float skill;      /* mean score before learning */
    float gain;       /* points gained with tenure */
    float talk;       /* share of talk time */
    float pace;       /* multiplies scenario length */
    float filler;     /* multiplies the filler_word weight */
} user;

typedef struct scenario {
    char id[36];
    uint32_t org;
    uint8_t kind, persona, difficulty, category; /* category 0xff = NULL */
    int64_t created, updated;
    float offset;   /* scenario-specific score shift */
    float base_dur;
} scenario;

struct gen_world {
    gen_opts opts;
    int32_t first_day, end_day;            /* attempt window [first_day, end_day) */
    int32_t time_first_day, time_last_day; /* dim_time */
    uint32_t norgs, nusers, nscen;
    org *orgs;
    user *users;
    scenario *scen;
    uint32_t *user_thresh, *user_alias;   /* attempt -> user, by activity */
    uint32_t *scen_thresh, *scen_alias;   /* per org slice [first_scen, +nscen): popularity */
    double *hour_cdf;                     /* cumulative share of attempts per window hour */
    uint32_t nhours;
    int32_t date_base;                    /* first day of date_str */
    uint32_t ndates;
    char (*date_str)[10];                 /* "YYYY-MM-DD" cache for timestamps */
};

static void format_uuid(char out[36], rng *r)
{
    static const char hex[] = "0123456789abcdef";
    uint8_t b[16];
    uint64_t a = rng_next(r), c = rng_next(r);
    memcpy(b, &a, 8);
    memcpy(b + 8, &c, 8);
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    char *p = out;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *p++ = '-';
        *p++ = hex[b[i] >> 4];
        *p++ = hex[b[i] & 15];
    }
}

/* A working-hours time of day in UTC (08:00-20:59), for dimension timestamps. */
static int64_t office_time(rng *r)
{
    return (int64_t)(8 + rng_below(r, 13)) * 3600 + rng_below(r, 3600);
}

static double day_weight(int32_t day, double growth)
{
    static const double dow_w[8] = {0, 1.05, 1.12, 1.10, 1.0, 0.82, 0.12, 0.07};
    static const double month_w[13] = {0, 1.08, 1.05, 1.05, 1.0, 1.0, 0.95, 0.85, 0.8, 1.05, 1.08, 1.0, 0.78};
    int y, m, d;
    civil_from_days(day, &y, &m, &d);
    double w = dow_w[iso_dow(day)] * month_w[m] * growth;
    if ((m == 12 && d >= 24) || (m == 1 && d == 1))
        w *= 0.3;
    return w;
}

/* Hours in UTC: an EU block (08-16) and a stronger US block (14-22), lunch dips, quiet nights. */
static const double hour_w[24] = {
    0.06, 0.04, 0.03, 0.02, 0.02, 0.02, 0.04, 0.25, 0.9, 1.0, 1.0, 1.0,
    0.6,  1.2,  1.9,  2.2,  2.2,  1.4,  1.9,  1.8, 1.6, 1.3, 0.9, 0.3,
};

static void build_time_cdf(gen_world *w, rng *r)
{
    uint32_t ndays = (uint32_t)(w->end_day - w->first_day);
    w->nhours = ndays * 24;
    w->hour_cdf = tl_xmalloc(sizeof(double) * w->nhours);
    double total = 0;
    for (uint32_t d = 0; d < ndays; d++) {
        double growth = 1.0 + 3.0 * (double)d / ndays; /* the product roughly quadruples */
        double noise = exp(0.15 * rng_normal(r));
        double dw = day_weight(w->first_day + (int32_t)d, growth) * noise;
        for (int h = 0; h < 24; h++) {
            total += dw * hour_w[h];
            w->hour_cdf[d * 24 + (uint32_t)h] = total;
        }
    }
    for (uint32_t i = 0; i < w->nhours; i++)
        w->hour_cdf[i] /= total;
    w->hour_cdf[w->nhours - 1] = 1.0;
}

gen_world *gen_world_create(const gen_opts *o)
{
    gen_world *w = tl_xcalloc(1, sizeof *w);
    w->opts = *o;
    rng r;
    rng_seed(&r, o->seed, STREAM_WORLD);

    int y, m, d;
    civil_from_days(o->end_day, &y, &m, &d);
    w->end_day = o->end_day;
    w->first_day = gen_days_from_civil(y - 2, m, d > 28 && m == 2 ? 28 : d);
    w->time_first_day = gen_days_from_civil(y - 3, 1, 1);
    w->time_last_day = gen_days_from_civil(y + 1, 12, 31);
    int64_t win_end = (int64_t)w->end_day * 86400;
    double win_days = (double)(w->end_day - w->first_day);

    /* ~1 org per 2,000 attempts and ~1 user per 50, at least 3 orgs of 2+ users. */
    uint64_t n = o->attempts;
    w->norgs = (uint32_t)(n / 2000 < 3 ? 3 : n / 2000);
    uint64_t target_users = n / 50 > 4ULL * w->norgs ? n / 50 : 4ULL * w->norgs;

    /* Zipf (s = 1.05) over a random ranking, so org index says nothing about size. */
    uint32_t *rank = tl_xmalloc(sizeof(uint32_t) * w->norgs);
    for (uint32_t i = 0; i < w->norgs; i++)
        rank[i] = i;
    for (uint32_t i = w->norgs - 1; i > 0; i--) {
        uint32_t j = rng_below(&r, i + 1), t = rank[i];
        rank[i] = rank[j];
        rank[j] = t;
    }
    double hsum = 0;
    for (uint32_t i = 0; i < w->norgs; i++)
        hsum += pow(i + 1.0, -1.05);
    uint64_t spare = target_users - 2ULL * w->norgs;

    w->orgs = tl_xcalloc(w->norgs, sizeof(org));
    uint64_t nusers = 0;
    for (uint32_t i = 0; i < w->norgs; i++) {
        org *g = &w->orgs[i];
        format_uuid(g->id, &r);
        g->word1 = (uint8_t)rng_below(&r, TL_ARRAY_LEN(org_words1));
        g->word2 = (uint8_t)rng_below(&r, TL_ARRAY_LEN(org_words2));
        g->suffix = (uint8_t)rng_below(&r, TL_ARRAY_LEN(org_suffixes));
        g->nusers = 2 + (uint32_t)(spare * pow(rank[i] + 1.0, -1.05) / hsum);
        g->first_user = (uint32_t)nusers;
        nusers += g->nusers;
        int plan = g->nusers >= 200 ? 3 : g->nusers >= 40 ? 2 : g->nusers >= 10 ? 1 : 0;
        if (rng_below(&r, 10) == 0) /* some buy above or below their size */
            plan = plan == 3 ? 2 : plan + 1;
        g->plan = (uint8_t)plan;
        /* The first three orgs predate the window, so some user is always eligible
         * at its start; of the rest a third predate it, the others join as it grows. */
        int64_t day;
        if (i < 3 || rng_below(&r, 3) == 0)
            day = w->first_day - 30 - (int64_t)rng_below(&r, 510);
        else
            day = w->first_day + (int64_t)(sqrt(rng_unit(&r)) * (win_days - 30));
        g->created = day * 86400 + office_time(&r);
    }
    free(rank);

    w->nusers = (uint32_t)nusers;
    w->users = tl_xcalloc(w->nusers, sizeof(user));
    double *activity = tl_xmalloc(sizeof(double) * w->nusers);
    for (uint32_t gi = 0; gi < w->norgs; gi++) {
        org *g = &w->orgs[gi];
        for (uint32_t k = 0; k < g->nusers; k++) {
            uint32_t ui = g->first_user + k;
            user *u = &w->users[ui];
            memcpy(u->id, "user_", 5);
            for (int c = 0; c < 27; c++)
                u->id[5 + c] = base62[rng_below(&r, 62)];
            u->org = gi;
            u->serial = ui;
            u->first = (uint8_t)rng_below(&r, TL_ARRAY_LEN(first_names));
            u->last = (uint8_t)rng_below(&r, TL_ARRAY_LEN(last_names));
            uint32_t rr = rng_below(&r, 1000);
            u->role = k == 0 ? ROLE_ADMIN : rr < 20 ? ROLE_ADMIN : rr < 140 ? ROLE_MANAGER : rr < 995 ? ROLE_TRAINEE : ROLE_NULL;
            u->null_name = k != 0 && rng_below(&r, 100) == 0;
            u->null_email = k != 0 && rng_below(&r, 50) == 0;
            /* The founder signs up with the org; colleagues trickle in after it. */
            int64_t joined = g->created + (k == 0 ? 0 : (int64_t)(-log(1.0 - rng_unit(&r)) * 45 * 86400));
            if (joined > win_end - 3600)
                joined = win_end - 3600;
            u->created = joined;
            u->updated = joined + (int64_t)rng_below(&r, 300) * 86400 + rng_below(&r, 86400);
            if (u->updated > win_end)
                u->updated = win_end;
            u->skill = (float)clampd(68 + 10 * rng_normal(&r), 20, 95);
            u->gain = (float)(15 * rng_unit(&r));
            u->talk = (float)clampd(0.45 + 0.08 * rng_normal(&r), 0.15, 0.8);
            u->pace = (float)exp(0.2 * rng_normal(&r));
            u->filler = (float)exp(0.5 * rng_normal(&r));
            static const double role_activity[4] = {0.15, 0.4, 1.0, 0.8};
            activity[ui] = exp(0.8 * rng_normal(&r)) * role_activity[u->role];
        }
    }
    w->user_thresh = tl_xmalloc(sizeof(uint32_t) * w->nusers);
    w->user_alias = tl_xmalloc(sizeof(uint32_t) * w->nusers);
    alias_build(w->user_thresh, w->user_alias, activity, w->nusers);
    free(activity);

    /* Scenarios: a library that grows with the org; the first exists from day one. */
    uint64_t nscen = 0;
    for (uint32_t gi = 0; gi < w->norgs; gi++) {
        org *g = &w->orgs[gi];
        g->nscen = 3 + g->nusers / 6;
        if (g->nscen > 60)
            g->nscen = 60;
        g->first_scen = (uint32_t)nscen;
        nscen += g->nscen;
    }
    w->nscen = (uint32_t)nscen;
    w->scen = tl_xcalloc(w->nscen, sizeof(scenario));
    w->scen_thresh = tl_xmalloc(sizeof(uint32_t) * w->nscen);
    w->scen_alias = tl_xmalloc(sizeof(uint32_t) * w->nscen);
    double pop[60];
    for (uint32_t gi = 0; gi < w->norgs; gi++) {
        org *g = &w->orgs[gi];
        for (uint32_t k = 0; k < g->nscen; k++) {
            scenario *s = &w->scen[g->first_scen + k];
            format_uuid(s->id, &r);
            s->org = gi;
            s->kind = (uint8_t)rng_below(&r, TL_ARRAY_LEN(kinds));
            s->persona = (uint8_t)rng_below(&r, TL_ARRAY_LEN(personas));
            int diff = kinds[s->kind].difficulty;
            uint32_t dr = rng_below(&r, 10);
            if (dr == 0 && diff > 0)
                diff--;
            else if (dr == 1 && diff < 2)
                diff++;
            s->difficulty = (uint8_t)diff;
            s->category = rng_below(&r, 50) == 0 ? 0xff : kinds[s->kind].category;
            int64_t created = g->created + (k == 0 ? 0 : (int64_t)(-log(1.0 - rng_unit(&r)) * 120 * 86400));
            if (created > win_end - 3600)
                created = win_end - 3600;
            s->created = created;
            s->updated = created + (int64_t)rng_below(&r, 120) * 86400 + rng_below(&r, 86400);
            if (s->updated > win_end)
                s->updated = win_end;
            s->offset = (float)(3 * rng_normal(&r));
            s->base_dur = (float)(kinds[s->kind].base_dur * (0.85 + 0.3 * rng_unit(&r)));
            pop[k] = 1.0 / (k + 1.0);
        }
        alias_build(w->scen_thresh + g->first_scen, w->scen_alias + g->first_scen, pop, g->nscen);
    }

    build_time_cdf(w, &r);

    /* Date strings for every day a timestamp can carry (dimension created_at included). */
    w->date_base = w->first_day - 800;
    w->ndates = (uint32_t)(w->end_day + 800 - w->date_base);
    w->date_str = tl_xmalloc(sizeof(*w->date_str) * w->ndates);
    for (uint32_t i = 0; i < w->ndates; i++) {
        civil_from_days(w->date_base + (int32_t)i, &y, &m, &d);
        char *p = w->date_str[i];
        p[0] = (char)('0' + y / 1000);
        p[1] = (char)('0' + y / 100 % 10);
        p[2] = (char)('0' + y / 10 % 10);
        p[3] = (char)('0' + y % 10);
        p[4] = '-';
        p[5] = (char)('0' + m / 10);
        p[6] = (char)('0' + m % 10);
        p[7] = '-';
        p[8] = (char)('0' + d / 10);
        p[9] = (char)('0' + d % 10);
    }
    return w;
}

void gen_world_free(gen_world *w)
{
    if (!w)
        return;
    free(w->orgs);
    free(w->users);
    free(w->scen);
    free(w->user_thresh);
    free(w->user_alias);
    free(w->scen_thresh);
    free(w->scen_alias);
    free(w->hour_cdf);
    free(w->date_str);
    free(w);
}

void gen_world_counts(const gen_world *w, gen_counts *c)
{
    c->orgs = w->norgs;
    c->users = w->nusers;
    c->scenarios = w->nscen;
    c->days = (uint64_t)(w->time_last_day - w->time_first_day + 1);
    c->window_first_day = w->first_day;
    c->window_end_day = w->end_day;
    c->time_first_day = w->time_first_day;
    c->time_last_day = w->time_last_day;
}

/* ---- buffered output ------------------------------------------------------------ */

enum { OUT_CAP = 1 << 20, ROW_MAX = 2048 };

typedef struct out {
    char *buf;
    size_t len;
    const gen_sink *sink;
    bool failed;
    gen_format fmt;
} out;

static void out_flush(out *o)
{
    if (o->len && !o->failed && o->sink->write(o->sink->ctx, o->buf, o->len) != 0)
        o->failed = true;
    o->len = 0;
}

/* Every row is shorter than ROW_MAX, so one reservation per row suffices. */
static inline char *out_row(out *o)
{
    if (OUT_CAP - o->len < ROW_MAX)
        out_flush(o);
    return o->buf + o->len;
}

static inline char *put_str(char *p, const char *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}

static inline char *put_cstr(char *p, const char *s)
{
    return put_str(p, s, strlen(s));
}

static inline char *put_sep(char *p, gen_format f)
{
    *p++ = f == GEN_FORMAT_CSV ? ',' : '\t';
    return p;
}

static inline char *put_null(char *p, gen_format f)
{
    if (f == GEN_FORMAT_TEXT) {
        *p++ = '\\';
        *p++ = 'N';
    }
    return p;
}

/* A text value escaped for the format: CSV quotes when needed (always for "", which
 * would otherwise read back as NULL); COPY text escapes backslash and control bytes. */
static char *put_text(char *p, const char *s, size_t n, gen_format f)
{
    if (f == GEN_FORMAT_CSV) {
        bool quote = n == 0;
        for (size_t i = 0; i < n && !quote; i++)
            quote = s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r' || s[i] == '\\';
        if (!quote)
            return put_str(p, s, n);
        *p++ = '"';
        for (size_t i = 0; i < n; i++) {
            if (s[i] == '"')
                *p++ = '"';
            *p++ = s[i];
        }
        *p++ = '"';
        return p;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        switch (c) {
        case '\\': *p++ = '\\'; *p++ = '\\'; break;
        case '\t': *p++ = '\\'; *p++ = 't'; break;
        case '\n': *p++ = '\\'; *p++ = 'n'; break;
        case '\r': *p++ = '\\'; *p++ = 'r'; break;
        default: *p++ = c;
        }
    }
    return p;
}

static char *put_u64(char *p, uint64_t v)
{
    char tmp[20];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    return p;
}

static char *put_i64(char *p, int64_t v)
{
    if (v < 0) {
        *p++ = '-';
        return put_u64(p, (uint64_t)0 - (uint64_t)v);
    }
    return put_u64(p, (uint64_t)v);
}

static const char digits2[201] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
                                 "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
                                 "8081828384858687888990919293949596979899";

static char *put_date(char *p, const gen_world *w, int32_t day)
{
    uint32_t i = (uint32_t)(day - w->date_base);
    if (day >= w->date_base && i < w->ndates)
        return put_str(p, w->date_str[i], 10);
    int y, m, d;
    civil_from_days(day, &y, &m, &d);
    p = put_i64(p, y); /* years before 1000 never occur here */
    *p++ = '-';
    p = put_str(p, digits2 + 2 * m, 2);
    *p++ = '-';
    return put_str(p, digits2 + 2 * d, 2);
}

/* `YYYY-MM-DD HH:MM:SS.000+00`: what PostgreSQL prints for timestamptz(3) under UTC. */
static char *put_ts(char *p, const gen_world *w, int64_t t)
{
    int64_t day = t / 86400, sec = t % 86400;
    if (sec < 0) {
        sec += 86400;
        day--;
    }
    p = put_date(p, w, (int32_t)day);
    *p++ = ' ';
    p = put_str(p, digits2 + 2 * (sec / 3600), 2);
    *p++ = ':';
    p = put_str(p, digits2 + 2 * (sec / 60 % 60), 2);
    *p++ = ':';
    p = put_str(p, digits2 + 2 * (sec % 60), 2);
    return put_str(p, ".000+00", 7);
}

static char *put_header(char *p, gen_table t, gen_format f)
{
    const char *c = table_columns[t];
    for (; *c; c++)
        *p++ = (*c == ',' && f == GEN_FORMAT_TEXT) ? '\t' : *c;
    *p++ = '\n';
    return p;
}

/* ---- dimension tables ----------------------------------------------------------- */

static int64_t write_orgs(const gen_world *w, out *o)
{
    gen_format f = o->fmt;
    for (uint32_t i = 0; i < w->norgs; i++) {
        const org *g = &w->orgs[i];
        char *p = out_row(o), name[96];
        int n = snprintf(name, sizeof name, "%s %s %s", org_words1[g->word1].display,
                         org_words2[g->word2].display, org_suffixes[g->suffix]);
        p = put_str(p, g->id, 36);
        p = put_sep(p, f);
        p = put_text(p, name, (size_t)n, f);
        p = put_sep(p, f);
        p = put_cstr(p, plans[g->plan]);
        p = put_sep(p, f);
        p = put_ts(p, w, g->created);
        *p++ = '\n';
        o->len = (size_t)(p - o->buf);
    }
    return w->norgs;
}

static int64_t write_users(const gen_world *w, out *o)
{
    gen_format f = o->fmt;
    for (uint32_t i = 0; i < w->nusers; i++) {
        const user *u = &w->users[i];
        const org *g = &w->orgs[u->org];
        const name_pair *fn = &first_names[u->first], *ln = &last_names[u->last];
        char *p = out_row(o), buf[160];
        p = put_str(p, u->id, 32);
        p = put_sep(p, f);
        p = put_str(p, g->id, 36);
        p = put_sep(p, f);
        if (u->null_name) {
            p = put_null(p, f);
        } else {
            int n = snprintf(buf, sizeof buf, "%s %s", fn->display, ln->display);
            p = put_text(p, buf, (size_t)n, f);
        }
        p = put_sep(p, f);
        if (u->null_email) {
            p = put_null(p, f);
        } else {
            int n = snprintf(buf, sizeof buf, "%s.%s%u@%s-%s-%u.example.com", fn->ascii, ln->ascii, u->serial,
                             org_words1[g->word1].ascii, org_words2[g->word2].ascii, u->org);
            p = put_text(p, buf, (size_t)n, f);
        }
        p = put_sep(p, f);
        p = u->role == ROLE_NULL ? put_null(p, f) : put_cstr(p, roles[u->role]);
        p = put_sep(p, f);
        p = put_ts(p, w, u->created);
        p = put_sep(p, f);
        p = put_ts(p, w, u->updated);
        *p++ = '\n';
        o->len = (size_t)(p - o->buf);
    }
    return w->nusers;
}

static int64_t write_scenarios(const gen_world *w, out *o)
{
    gen_format f = o->fmt;
    for (uint32_t i = 0; i < w->nscen; i++) {
        const scenario *s = &w->scen[i];
        char *p = out_row(o), title[160];
        int n = snprintf(title, sizeof title, "%s: %s", kinds[s->kind].title, personas[s->persona]);
        p = put_str(p, s->id, 36);
        p = put_sep(p, f);
        p = put_str(p, w->orgs[s->org].id, 36);
        p = put_sep(p, f);
        p = put_text(p, title, (size_t)n, f);
        p = put_sep(p, f);
        p = put_cstr(p, difficulties[s->difficulty]);
        p = put_sep(p, f);
        p = s->category == 0xff ? put_null(p, f) : put_cstr(p, categories[s->category]);
        p = put_sep(p, f);
        p = put_ts(p, w, s->created);
        p = put_sep(p, f);
        p = put_ts(p, w, s->updated);
        *p++ = '\n';
        o->len = (size_t)(p - o->buf);
    }
    return w->nscen;
}

static int64_t write_time(const gen_world *w, out *o)
{
    gen_format f = o->fmt;
    for (int32_t day = w->time_first_day; day <= w->time_last_day; day++) {
        int y, m, d;
        civil_from_days(day, &y, &m, &d);
        int dow = iso_dow(day);
        int doy = day - gen_days_from_civil(y, 1, 1) + 1;
        int week = (doy - dow + 10) / 7;
        if (week < 1)
            week = iso_weeks_in_year(y - 1);
        else if (week > iso_weeks_in_year(y))
            week = 1;
        char *p = out_row(o);
        p = put_date(p, w, day);
        p = put_sep(p, f);
        p = put_i64(p, y);
        p = put_sep(p, f);
        p = put_i64(p, (m - 1) / 3 + 1);
        p = put_sep(p, f);
        p = put_i64(p, m);
        p = put_sep(p, f);
        p = put_i64(p, week);
        p = put_sep(p, f);
        p = put_i64(p, dow);
        p = put_sep(p, f);
        p = put_i64(p, d);
        p = put_sep(p, f);
        p = put_i64(p, doy);
        p = put_sep(p, f);
        *p++ = dow >= 6 ? 't' : 'f';
        *p++ = '\n';
        o->len = (size_t)(p - o->buf);
    }
    return (int64_t)(w->time_last_day - w->time_first_day + 1);
}

/* ---- facts ------------------------------------------------------------------------ */

typedef struct attempt {
    char id[36];
    uint32_t user, scen;        /* scen = UINT32_MAX: NULL scenario_id */
    int32_t score_cents;        /* -1: NULL score */
    int32_t duration;           /* seconds */
    int32_t talk_ms, listen_ms;
    int64_t started, ended;     /* ended = -1: NULL (abandoned or still open) */
    int64_t created;
    int64_t end_or_started;     /* when the attempt finished, even if ended_at is NULL */
} attempt;

typedef struct attempt_iter {
    const gen_world *w;
    rng r;
    uint64_t i, n;
    uint32_t hour;              /* cursor into hour_cdf; quantiles only move forward */
} attempt_iter;

static void attempt_iter_init(attempt_iter *it, const gen_world *w)
{
    it->w = w;
    rng_seed(&it->r, w->opts.seed, STREAM_ATTEMPTS);
    it->i = 0;
    it->n = w->opts.attempts;
    it->hour = 0;
}

/* Stratified inverse-CDF sampling: attempt i takes quantile (i+u)/n of the time
 * distribution, so the stream comes out in hour order without a sort, and every
 * hour gets its expected share even for small n. */
static bool attempt_next(attempt_iter *it, attempt *a)
{
    if (it->i >= it->n)
        return false;
    const gen_world *w = it->w;
    rng *r = &it->r;
    double q = ((double)it->i + rng_unit(r)) / (double)it->n;
    while (it->hour + 1 < w->nhours && w->hour_cdf[it->hour] < q)
        it->hour++;
    it->i++;
    int64_t t = (int64_t)w->first_day * 86400 + (int64_t)it->hour * 3600 + rng_below(r, 3600);
    a->started = t;

    /* Users who had not yet signed up cannot practise: redraw; the founders of the
     * first orgs predate the window, so the fallback is always valid. */
    uint32_t ui = 0;
    int tries;
    for (tries = 0; tries < 32; tries++) {
        ui = alias_pick(w->user_thresh, w->user_alias, w->nusers, rng_next(r));
        if (w->users[ui].created <= t)
            break;
    }
    if (tries == 32)
        ui = w->orgs[0].first_user;
    const user *u = &w->users[ui];
    const org *g = &w->orgs[u->org];
    a->user = ui;

    uint64_t nulls = rng_next(r);
    bool null_score = (nulls & 0xffff) < 1966;          /* 3% */
    bool null_scen = ((nulls >> 16) & 0xffff) < 655;    /* 1% */
    bool null_end = ((nulls >> 32) & 0xffff) < 655;     /* 1% */

    const scenario *s = NULL;
    if (!null_scen) {
        uint32_t si = 0;
        for (tries = 0; tries < 4; tries++) {
            si = g->first_scen + alias_pick(w->scen_thresh + g->first_scen, w->scen_alias + g->first_scen,
                                            g->nscen, rng_next(r));
            if (w->scen[si].created <= t)
                break;
        }
        if (tries == 4)
            si = g->first_scen; /* created with the org, before any of its users */
        s = &w->scen[si];
        a->scen = si;
    } else {
        a->scen = UINT32_MAX;
    }

    static const double diff_shift[3] = {6, 0, -9};
    double tenure = (double)(t - u->created) / 86400.0;
    double x = u->skill + u->gain * (1.0 - exp(-tenure / 90.0)) + (s ? diff_shift[s->difficulty] + s->offset : 0) +
               8.0 * rng_normal(r);
    a->score_cents = null_score ? -1 : (int32_t)(clampd(x, 0, 100) * 100.0 + 0.5);

    double dur = (s ? s->base_dur : 480.0) * u->pace * exp(0.3 * rng_normal(r));
    a->duration = (int32_t)clampd(dur, 60, 1200);

    /* A few percent of each call is silence; the rest splits between trainee and AI. */
    uint64_t tr = rng_next(r);
    int64_t total = (int64_t)a->duration * 1000 - (int64_t)((tr & 0xffff) * (uint64_t)a->duration * 40 / 65536);
    double share = clampd(u->talk + 0.06 * ((double)((tr >> 16) & 0xffff) / 32768.0 - 1.0), 0.05, 0.95);
    a->talk_ms = (int32_t)((double)total * share);
    a->listen_ms = (int32_t)(total - a->talk_ms);

    a->end_or_started = t + a->duration;
    a->ended = null_end ? -1 : a->end_or_started;
    a->created = a->end_or_started + 2 + (int64_t)((tr >> 32) & 7);
    format_uuid(a->id, r);
    return true;
}

static char *put_attempt_keys(char *p, const gen_world *w, const attempt *a, gen_format f)
{
    const user *u = &w->users[a->user];
    p = put_str(p, w->orgs[u->org].id, 36);
    p = put_sep(p, f);
    p = put_str(p, u->id, 32);
    p = put_sep(p, f);
    p = a->scen == UINT32_MAX ? put_null(p, f) : put_str(p, w->scen[a->scen].id, 36);
    return put_sep(p, f);
}

static int64_t write_attempts(const gen_world *w, out *o)
{
    gen_format f = o->fmt;
    attempt_iter it;
    attempt a;
    attempt_iter_init(&it, w);
    int64_t rows = 0;
    while (attempt_next(&it, &a)) {
        char *p = out_row(o);
        p = put_str(p, a.id, 36);
        p = put_sep(p, f);
        p = put_attempt_keys(p, w, &a, f);
        if (a.score_cents < 0) {
            p = put_null(p, f);
        } else {
            p = put_u64(p, (uint64_t)a.score_cents / 100);
            *p++ = '.';
            p = put_str(p, digits2 + 2 * (a.score_cents % 100), 2);
        }
        p = put_sep(p, f);
        p = put_u64(p, (uint64_t)a.duration);
        p = put_sep(p, f);
        p = put_u64(p, (uint64_t)a.talk_ms);
        p = put_sep(p, f);
        p = put_u64(p, (uint64_t)a.listen_ms);
        p = put_sep(p, f);
        p = put_ts(p, w, a.started);
        p = put_sep(p, f);
        p = a.ended < 0 ? put_null(p, f) : put_ts(p, w, a.ended);
        p = put_sep(p, f);
        p = put_ts(p, w, a.created);
        *p++ = '\n';
        o->len = (size_t)(p - o->buf);
        rows++;
        if (o->failed)
            return -1;
    }
    return rows;
}

/* Poisson by inversion; lambda stays below ~20, so the loop is short. */
static int poisson(rng *r, double lambda)
{
    double l = exp(-lambda), p = rng_unit(r);
    int k = 0;
    double term = l, cdf = l;
    while (p > cdf && k < 60) {
        k++;
        term *= lambda / k;
        cdf += term;
    }
    return k;
}

/* The JSON text PostgreSQL's jsonb output would print (", " and ": " spacing), so
 * values compare equal as text after a round trip through either server. Built by
 * hand: snprintf here cost a third of the events table's time. */
static int event_json(char *buf, int type, rng *r)
{
    static const char *const str_keys[EV_COUNT] = {
        [EV_FILLER] = "{\"word\": \"", [EV_QUESTION] = "{\"kind\": \"", [EV_KEYWORD] = "{\"keyword\": \"",
        [EV_OBJECTION] = "{\"severity\": \"",
    };
    char *p = buf;
    const char *word = NULL;
    switch (type) {
    case EV_FILLER: word = filler_words[rng_below(r, TL_ARRAY_LEN(filler_words))]; break;
    case EV_QUESTION: word = rng_below(r, 5) < 2 ? "open" : "closed"; break;
    case EV_KEYWORD: word = keywords[rng_below(r, TL_ARRAY_LEN(keywords))]; break;
    case EV_OBJECTION: word = severities[rng_below(r, 3)]; break;
    case EV_INTERRUPTION:
        p = put_cstr(p, "{\"overlap_ms\": ");
        p = put_u64(p, 200 + rng_below(r, 2800));
        break;
    default:
        p = put_cstr(p, "{\"duration_ms\": ");
        p = put_u64(p, 5000 + rng_below(r, 10000));
        break;
    }
    if (word) {
        p = put_cstr(p, str_keys[type]);
        p = put_cstr(p, word);
        *p++ = '"';
    }
    *p++ = '}';
    return (int)(p - buf);
}

static int64_t write_events(const gen_world *w, out *o)
{
    gen_format f = o->fmt;
    attempt_iter it;
    attempt a;
    rng r;
    attempt_iter_init(&it, w);
    rng_seed(&r, w->opts.seed, STREAM_EVENTS);
    uint32_t cum[EV_COUNT];
    int64_t rows = 0;
    while (attempt_next(&it, &a)) {
        const user *u = &w->users[a.user];
        /* Longer calls produce more events; about 8 for a typical call, at most 20. */
        int k = poisson(&r, 2.0 + 6.0 * a.duration / 520.0);
        if (k > 20)
            k = 20;
        if (k == 0)
            continue;
        /* Filler words depend on the speaker: scale that weight per user. */
        uint32_t total = 0;
        for (int e = 0; e < EV_COUNT; e++) {
            total += e == EV_FILLER ? (uint32_t)(event_weights[e] * u->filler) : event_weights[e];
            cum[e] = total;
        }
        int32_t ts[20];
        uint32_t span = (uint32_t)a.duration * 1000;
        for (int e = 0; e < k; e++) { /* sorted offsets: events come in call order */
            int32_t v = (int32_t)rng_below(&r, span);
            int j = e;
            while (j > 0 && ts[j - 1] > v) {
                ts[j] = ts[j - 1];
                j--;
            }
            ts[j] = v;
        }
        for (int e = 0; e < k; e++) {
            char id[36], json[96];
            format_uuid(id, &r);
            uint32_t pick = rng_below(&r, total);
            int type = 0;
            while (pick >= cum[type])
                type++;
            int jn = event_json(json, type, &r);
            bool null_value = rng_below(&r, 200) == 0;
            char *p = out_row(o);
            p = put_str(p, id, 36);
            p = put_sep(p, f);
            p = put_str(p, a.id, 36);
            p = put_sep(p, f);
            p = put_attempt_keys(p, w, &a, f);
            p = put_cstr(p, event_types[type]);
            p = put_sep(p, f);
            p = null_value ? put_null(p, f) : put_text(p, json, (size_t)jn, f);
            p = put_sep(p, f);
            p = put_u64(p, (uint64_t)ts[e]);
            p = put_sep(p, f);
            p = put_ts(p, w, a.end_or_started + 1 + rng_below(&r, 20));
            *p++ = '\n';
            o->len = (size_t)(p - o->buf);
            rows++;
        }
        if (o->failed)
            return -1;
    }
    return rows;
}

int64_t gen_write_table(const gen_world *w, gen_table t, gen_format f, bool header, const gen_sink *sink)
{
    if ((unsigned)t >= GEN_TABLE_COUNT)
        return -1;
    out o = {.buf = tl_xmalloc(OUT_CAP), .len = 0, .sink = sink, .failed = false, .fmt = f};
    if (header) {
        char *p = out_row(&o);
        o.len = (size_t)(put_header(p, t, f) - o.buf);
    }
    int64_t rows;
    switch (t) {
    case GEN_DIM_ORGS: rows = write_orgs(w, &o); break;
    case GEN_DIM_USERS: rows = write_users(w, &o); break;
    case GEN_DIM_SCENARIOS: rows = write_scenarios(w, &o); break;
    case GEN_DIM_TIME: rows = write_time(w, &o); break;
    case GEN_FACT_ATTEMPTS: rows = write_attempts(w, &o); break;
    default: rows = write_events(w, &o); break;
    }
    out_flush(&o);
    free(o.buf);
    return o.failed ? -1 : rows;
}
