/*
 * tz.c — time zones as PostgreSQL's TimeZone setting reads them: IANA zones from the
 * system's TZif files (the 64-bit v2+ section, RFC 8536), the POSIX TZ footer for
 * times after the last listed transition, POSIX strings such as "UTC+3" (west
 * positive, so -03), and bare numbers of hours ("+02", "-7.5", east positive) as
 * PostgreSQL's check_timezone takes them.
 *
 * The footer rule is expanded into explicit transitions up to year 2500 at load time,
 * so every lookup is one binary search over a sorted array. Zones are loaded once,
 * cached under a mutex and never freed: callers keep the pointer for the process.
 */
#include "value_int.h"

#include <ctype.h>
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TZ_DIR "/usr/share/zoneinfo"
#define TZ_EXPAND_TO_YEAR 2500
#define MAX_TYPES 256

typedef struct posix_rule {
    char kind; /* 'J' Julian 1..365 without Feb 29, 'N' 0..365, 'M' month.week.day */
    int day, week, month;
    int32_t time; /* local seconds after midnight the change happens */
} posix_rule;

typedef struct posix_tz {
    char std_abbr[16], dst_abbr[16];
    int32_t std_off, dst_off; /* east of UTC, already sign-flipped from POSIX */
    bool has_dst;
    posix_rule start, end;
} posix_tz;

typedef struct tz_type {
    int32_t off; /* seconds east of UTC */
    bool isdst;
    char abbr[16];
} tz_type;

struct tl_tz {
    char *name;      /* canonical spelling, as SHOW TimeZone prints it */
    int ntrans;
    int64_t *at;     /* UTC seconds of each transition, ascending */
    uint8_t *type;   /* type in effect from at[i] on */
    int ntypes;
    tz_type types[MAX_TYPES];
    bool has_rule;      /* footer with DST: computed directly past the expanded range */
    posix_tz rule;
    int rule_std, rule_dst;
    int64_t rule_from;  /* UTC seconds after which the table no longer reaches */
    struct tl_tz *next; /* cache chain */
};

/* ---- POSIX TZ strings ----------------------------------------------------------- */

static const char *posix_name(const char *p, char *out)
{
    size_t n = 0;
    if (*p == '<') {
        p++;
        while (*p && *p != '>') {
            if (n < 15)
                out[n++] = *p;
            p++;
        }
        if (*p != '>')
            return NULL;
        p++;
    } else {
        while (isalpha((unsigned char)*p)) {
            if (n < 15)
                out[n++] = *p;
            p++;
        }
    }
    out[n] = '\0';
    return n >= 3 ? p : NULL;
}

/* [+-]hh[:mm[:ss]] in seconds; `maxh` bounds the hours (POSIX 24, rule times 167). */
static const char *posix_secs(const char *p, int maxh, int32_t *out)
{
    int sign = 1;
    if (*p == '+' || *p == '-')
        sign = *p++ == '-' ? -1 : 1;
    if (!isdigit((unsigned char)*p))
        return NULL;
    int h = 0, m = 0, s = 0;
    while (isdigit((unsigned char)*p))
        h = h * 10 + (*p++ - '0');
    if (h > maxh)
        return NULL;
    if (*p == ':') {
        p++;
        if (!isdigit((unsigned char)*p))
            return NULL;
        while (isdigit((unsigned char)*p))
            m = m * 10 + (*p++ - '0');
        if (*p == ':') {
            p++;
            if (!isdigit((unsigned char)*p))
                return NULL;
            while (isdigit((unsigned char)*p))
                s = s * 10 + (*p++ - '0');
        }
    }
    if (m > 59 || s > 59)
        return NULL;
    *out = sign * (h * 3600 + m * 60 + s);
    return p;
}

static const char *posix_rule_parse(const char *p, posix_rule *r)
{
    if (*p == 'M') {
        r->kind = 'M';
        p++;
        if (sscanf(p, "%d.%d.%d", &r->month, &r->week, &r->day) != 3)
            return NULL;
        if (r->month < 1 || r->month > 12 || r->week < 1 || r->week > 5 || r->day < 0 ||
            r->day > 6)
            return NULL;
        while (isdigit((unsigned char)*p) || *p == '.')
            p++;
    } else {
        r->kind = 'N';
        if (*p == 'J') {
            r->kind = 'J';
            p++;
        }
        if (!isdigit((unsigned char)*p))
            return NULL;
        r->day = 0;
        while (isdigit((unsigned char)*p))
            r->day = r->day * 10 + (*p++ - '0');
    }
    r->time = 7200;
    if (*p == '/')
        p = posix_secs(p + 1, 167, &r->time);
    return p;
}

static bool posix_parse(const char *s, posix_tz *tz)
{
    memset(tz, 0, sizeof *tz);
    int32_t off;
    const char *p = posix_name(s, tz->std_abbr);
    if (p == NULL || (p = posix_secs(p, 24, &off)) == NULL)
        return false;
    tz->std_off = -off;
    if (*p == '\0')
        return true;
    if ((p = posix_name(p, tz->dst_abbr)) == NULL)
        return false;
    tz->has_dst = true;
    tz->dst_off = tz->std_off + 3600;
    if (*p != ',' && *p != '\0') {
        if ((p = posix_secs(p, 24, &off)) == NULL)
            return false;
        tz->dst_off = -off;
    }
    if (*p == '\0') {
        /* no rule: the US rules POSIX systems assumed (posixrules) */
        tz->start = (posix_rule){'M', 0, 2, 3, 7200};
        tz->end = (posix_rule){'M', 0, 1, 11, 7200};
        return true;
    }
    if (*p != ',' || (p = posix_rule_parse(p + 1, &tz->start)) == NULL)
        return false;
    if (*p != ',' || (p = posix_rule_parse(p + 1, &tz->end)) == NULL)
        return false;
    return *p == '\0';
}

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Local seconds since 2000-01-01 at which `r` fires in year y. */
static int64_t rule_local(const posix_rule *r, int y)
{
    int64_t jan1 = tl_ymd_to_date(y, 1, 1);
    int64_t day;
    if (r->kind == 'J')
        day = jan1 + r->day - 1 + (is_leap(y) && r->day >= 60 ? 1 : 0);
    else if (r->kind == 'N')
        day = jan1 + r->day;
    else {
        static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        int64_t first = tl_ymd_to_date(y, r->month, 1);
        int dow_first = (int)(((first + 6) % 7 + 7) % 7); /* 2000-01-01 was a Saturday */
        int d = (r->day - dow_first + 7) % 7 + 7 * (r->week - 1);
        int dim = mdays[r->month - 1] + (r->month == 2 && is_leap(y));
        while (d >= dim)
            d -= 7;
        day = first + d;
    }
    return day * 86400 + r->time;
}

/* ---- zone construction --------------------------------------------------------------- */

static int type_index(tl_tz *z, int32_t off, bool isdst, const char *abbr)
{
    for (int i = 0; i < z->ntypes; i++)
        if (z->types[i].off == off && z->types[i].isdst == isdst &&
            strcmp(z->types[i].abbr, abbr) == 0)
            return i;
    if (z->ntypes >= MAX_TYPES)
        return z->ntypes - 1;
    tz_type *t = &z->types[z->ntypes];
    t->off = off;
    t->isdst = isdst;
    snprintf(t->abbr, sizeof t->abbr, "%.*s", (int)sizeof t->abbr - 1, abbr);
    return z->ntypes++;
}

static void push_trans(tl_tz *z, int *cap, int64_t at, int type)
{
    if (z->ntrans == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        z->at = tl_xrealloc(z->at, (size_t)*cap * sizeof *z->at);
        z->type = tl_xrealloc(z->type, (size_t)*cap);
    }
    z->at[z->ntrans] = at;
    z->type[z->ntrans] = (uint8_t)type;
    z->ntrans++;
}

/* Append the footer rule's transitions after `from` (UTC seconds). */
static void expand_posix(tl_tz *z, int *cap, const posix_tz *p, int64_t from)
{
    /* without DST the last listed transition already leads into the footer's time */
    if (!p->has_dst)
        return;
    int std = type_index(z, p->std_off, false, p->std_abbr);
    int dst = type_index(z, p->dst_off, true, p->dst_abbr);
    int y0 = 1900;
    if (from > INT64_MIN / 4) {
        int m, d;
        tl_date_to_ymd((int32_t)(from / 86400 - TL_UNIX_EPOCH_DAYS), &y0, &m, &d);
    }
    for (int y = y0; y <= TZ_EXPAND_TO_YEAR; y++) {
        /* rule times are local: DST starts in standard time and ends in DST */
        int64_t s = rule_local(&p->start, y) - p->std_off + (int64_t)TL_UNIX_EPOCH_DAYS * 86400;
        int64_t e = rule_local(&p->end, y) - p->dst_off + (int64_t)TL_UNIX_EPOCH_DAYS * 86400;
        int64_t first = s < e ? s : e, second = s < e ? e : s;
        int t1 = s < e ? dst : std, t2 = s < e ? std : dst;
        if (first > from)
            push_trans(z, cap, first, t1);
        if (second > from)
            push_trans(z, cap, second, t2);
    }
    z->has_rule = true;
    z->rule = *p;
    z->rule_std = std;
    z->rule_dst = dst;
    z->rule_from = z->ntrans ? z->at[z->ntrans - 1] : from;
}

/* Past the expanded table: evaluate the footer rule for t's own year. */
static int rule_type_at(const tl_tz *z, int64_t t)
{
    int y, m, d;
    tl_date_to_ymd((int32_t)(t / 86400 - TL_UNIX_EPOCH_DAYS), &y, &m, &d);
    int64_t s = rule_local(&z->rule.start, y) - z->rule.std_off + (int64_t)TL_UNIX_EPOCH_DAYS * 86400;
    int64_t e = rule_local(&z->rule.end, y) - z->rule.dst_off + (int64_t)TL_UNIX_EPOCH_DAYS * 86400;
    bool dst = s < e ? (t >= s && t < e) : !(t >= e && t < s);
    return dst ? z->rule_dst : z->rule_std;
}

static uint64_t be(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

static tl_tz *tzif_parse(const unsigned char *buf, size_t len, const char *name)
{
    if (len < 44 || memcmp(buf, "TZif", 4) != 0)
        return NULL;
    const unsigned char *h = buf;
    uint32_t cnt[6];
    for (int i = 0; i < 6; i++)
        cnt[i] = (uint32_t)be(h + 20 + 4 * i, 4);
    /* isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt */
    int tsize = 4;
    size_t off = 44;
    if (buf[4] >= '2') {
        size_t v1 = (size_t)cnt[3] * 5 + cnt[4] * 6 + cnt[5] + cnt[2] * 8 + cnt[1] + cnt[0];
        off = 44 + v1;
        if (off + 44 > len || memcmp(buf + off, "TZif", 4) != 0)
            return NULL;
        h = buf + off;
        for (int i = 0; i < 6; i++)
            cnt[i] = (uint32_t)be(h + 20 + 4 * i, 4);
        off += 44;
        tsize = 8;
    }
    uint32_t timecnt = cnt[3], typecnt = cnt[4], charcnt = cnt[5];
    size_t need = (size_t)timecnt * (tsize + 1) + typecnt * 6 + charcnt +
                  (size_t)cnt[2] * (tsize + 4) + cnt[1] + cnt[0];
    if (typecnt == 0 || typecnt > MAX_TYPES - 2 || off + need > len)
        return NULL;
    const unsigned char *times = buf + off;
    const unsigned char *idx = times + (size_t)timecnt * tsize;
    const unsigned char *tt = idx + timecnt;
    const unsigned char *chars = tt + typecnt * 6;

    tl_tz *z = tl_xcalloc(1, sizeof *z);
    z->name = tl_xstrdup(name);
    for (uint32_t i = 0; i < typecnt; i++) {
        const unsigned char *e = tt + 6 * i;
        tz_type *t = &z->types[i];
        t->off = (int32_t)(uint32_t)be(e, 4);
        t->isdst = e[4] != 0;
        size_t ai = e[5];
        if (ai < charcnt)
            snprintf(t->abbr, sizeof t->abbr, "%.*s", (int)strnlen((const char *)chars + ai,
                                                                    charcnt - ai),
                     (const char *)chars + ai);
    }
    z->ntypes = (int)typecnt;
    int cap = 0;
    for (uint32_t i = 0; i < timecnt; i++) {
        int64_t at = tsize == 8 ? (int64_t)be(times + 8 * i, 8)
                                : (int64_t)(int32_t)(uint32_t)be(times + 4 * i, 4);
        if (idx[i] >= typecnt)
            continue;
        push_trans(z, &cap, at, idx[i]);
    }
    /* v2+ footer: "\n<POSIX TZ>\n" after the 64-bit data */
    const unsigned char *foot = buf + off + need;
    if (tsize == 8 && foot < buf + len && *foot == '\n') {
        const unsigned char *nl = memchr(foot + 1, '\n', (size_t)(buf + len - foot - 1));
        if (nl != NULL && nl > foot + 1) {
            char spec[128];
            snprintf(spec, sizeof spec, "%.*s", (int)(nl - foot - 1), (const char *)foot + 1);
            posix_tz p;
            if (posix_parse(spec, &p)) {
                int64_t last = z->ntrans ? z->at[z->ntrans - 1] : INT64_MIN / 4;
                if (z->ntrans > 0 || p.has_dst)
                    expand_posix(z, &cap, &p, last);
            }
        }
    }
    return z;
}

static tl_tz *fixed_zone(const char *name, int32_t off_east, const char *abbr)
{
    tl_tz *z = tl_xcalloc(1, sizeof *z);
    z->name = tl_xstrdup(name);
    type_index(z, off_east, false, abbr);
    return z;
}

static tl_tz *posix_zone(const char *name, const posix_tz *p)
{
    tl_tz *z = tl_xcalloc(1, sizeof *z);
    z->name = tl_xstrdup(name);
    type_index(z, p->std_off, false, p->std_abbr); /* type 0: before any rule applies */
    int cap = 0;
    if (p->has_dst)
        expand_posix(z, &cap, p, INT64_MIN / 4);
    return z;
}

/* ---- file lookup ------------------------------------------------------------------------ */

/* PostgreSQL matches zone names case-insensitively and reports the file's spelling. */
static bool resolve_path(const char *name, char *path, size_t cap, char *canon, size_t ccap)
{
    if (name[0] == '\0' || name[0] == '/' || strstr(name, "..") != NULL)
        return false;
    snprintf(path, cap, "%s", TZ_DIR);
    canon[0] = '\0';
    const char *p = name;
    while (*p) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 0 || n > 255)
            return false;
        DIR *d = opendir(path);
        if (d == NULL)
            return false;
        struct dirent *e;
        const char *hit = NULL;
        char found[256];
        while ((e = readdir(d)) != NULL) {
            if (strlen(e->d_name) == n && strncasecmp(e->d_name, p, n) == 0) {
                snprintf(found, sizeof found, "%s", e->d_name);
                hit = found;
                if (strncmp(e->d_name, p, n) == 0)
                    break; /* exact spelling wins over a case-folded one */
            }
        }
        closedir(d);
        if (hit == NULL)
            return false;
        size_t pl = strlen(path), cl = strlen(canon);
        snprintf(path + pl, cap - pl, "/%s", hit);
        snprintf(canon + cl, ccap - cl, "%s%s", cl ? "/" : "", hit);
        p += n;
        if (*p == '/')
            p++;
    }
    return true;
}

static tl_tz *load_file(const char *name)
{
    char path[1024], canon[512];
    if (!resolve_path(name, path, sizeof path, canon, sizeof canon))
        return NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    unsigned char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 8192;
            if (cap > (1u << 22))
                break;
            buf = tl_xrealloc(buf, cap);
        }
        size_t r = fread(buf + len, 1, cap - len, f);
        if (r == 0)
            break;
        len += r;
    }
    fclose(f);
    tl_tz *z = buf ? tzif_parse(buf, len, canon) : NULL;
    free(buf);
    return z;
}

/* check_timezone's first try: a plain number of hours, east of UTC. */
static tl_tz *hours_zone(const char *name)
{
    char *end;
    double h = strtod(name, &end);
    if (end == name || *end != '\0' || !(h >= -168.0 && h <= 168.0))
        return NULL;
    int32_t secs = (int32_t)(h * 3600.0 + (h < 0 ? -0.5 : 0.5));
    int32_t a = secs < 0 ? -secs : secs;
    char hm[32], nm[80];
    if (a % 3600 == 0)
        snprintf(hm, sizeof hm, "%02d", a / 3600);
    else if (a % 60 == 0)
        snprintf(hm, sizeof hm, "%02d:%02d", a / 3600, a / 60 % 60);
    else
        snprintf(hm, sizeof hm, "%02d:%02d:%02d", a / 3600, a / 60 % 60, a % 60);
    /* SHOW prints it as the POSIX string PostgreSQL builds: <+02>-02 */
    snprintf(nm, sizeof nm, "<%c%s>%c%s", secs < 0 ? '-' : '+', hm, secs < 0 ? '+' : '-', hm);
    char abbr[40];
    snprintf(abbr, sizeof abbr, "%c%s", secs < 0 ? '-' : '+', hm);
    return fixed_zone(nm, secs, abbr);
}

/* ---- cache and public API --------------------------------------------------------------- */

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static tl_tz *cache;

static tl_tz *load_any(const char *name)
{
    if (strcasecmp(name, "UTC") == 0 || strcasecmp(name, "GMT") == 0) {
        char up[4] = {(char)toupper((unsigned char)name[0]), (char)toupper((unsigned char)name[1]),
                      (char)toupper((unsigned char)name[2]), 0};
        return fixed_zone(up, 0, up);
    }
    tl_tz *z = hours_zone(name);
    if (z == NULL)
        z = load_file(name);
    if (z == NULL) {
        posix_tz p;
        if (posix_parse(name, &p))
            z = posix_zone(name, &p);
    }
    if (z == NULL && (name[0] == '+' || name[0] == '-')) {
        /* "-05:30": a POSIX offset without a name, so west-positive like "UTC+3" */
        int32_t off;
        const char *e = posix_secs(name, 24, &off);
        if (e != NULL && *e == '\0')
            z = fixed_zone(name, -off, name);
    }
    return z;
}

const tl_tz *tl_tz_get(const char *name, tl_error *err)
{
    pthread_mutex_lock(&cache_lock);
    for (tl_tz *z = cache; z != NULL; z = z->next) {
        /* an entry is found under the name it was asked by or its canonical one */
        if (strcasecmp(z->name, name) == 0) {
            pthread_mutex_unlock(&cache_lock);
            return z;
        }
    }
    tl_tz *z = load_any(name);
    if (z != NULL) {
        /* cache under the requested spelling too when it differs only by case */
        if (strcasecmp(z->name, name) != 0) {
            tl_tz *alias = tl_xcalloc(1, sizeof *alias);
            *alias = *z;
            alias->name = tl_xstrdup(name);
            alias->next = cache;
            cache = alias;
        }
        z->next = cache;
        cache = z;
    }
    pthread_mutex_unlock(&cache_lock);
    if (z == NULL)
        tl_errorf(err, "22023", "invalid value for parameter \"TimeZone\": \"%s\"", name);
    return z;
}

static const tl_tz *utc_zone;
static pthread_once_t utc_once = PTHREAD_ONCE_INIT;

static void utc_init(void)
{
    tl_error e = {0};
    utc_zone = tl_tz_get("UTC", &e);
}

const tl_tz *tl_tz_utc(void)
{
    pthread_once(&utc_once, utc_init);
    return utc_zone;
}

const char *tl_tz_name(const tl_tz *tz)
{
    return tz->name;
}

/* Index of the type in effect at UTC second t. */
static int type_at(const tl_tz *tz, int64_t t)
{
    if (tz->has_rule && t > tz->rule_from)
        return rule_type_at(tz, t);
    if (tz->ntrans == 0 || t < tz->at[0])
        return 0;
    int lo = 0, hi = tz->ntrans - 1;
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (tz->at[mid] <= t)
            lo = mid;
        else
            hi = mid - 1;
    }
    return tz->type[lo];
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

int32_t tl_tz_offset_utc(const tl_tz *tz, int64_t utc_us, const char **abbrev)
{
    int64_t t = floor_div(utc_us, 1000000) + (int64_t)TL_UNIX_EPOCH_DAYS * 86400;
    const tz_type *ty = &tz->types[type_at(tz, t)];
    if (abbrev)
        *abbrev = ty->abbr;
    return ty->off;
}

bool val__tz_next_transition(const tl_tz *tz, int64_t utc_s, int64_t *at, int32_t *before,
                             int32_t *after)
{
    int lo = 0, hi = tz->ntrans;
    while (lo < hi) { /* first transition strictly after utc_s */
        int mid = (lo + hi) / 2;
        if (tz->at[mid] <= utc_s)
            lo = mid + 1;
        else
            hi = mid;
    }
    *before = tz->types[type_at(tz, utc_s)].off;
    if (lo >= tz->ntrans)
        return false;
    *at = tz->at[lo];
    *after = tz->types[tz->type[lo]].off;
    return true;
}

/* PG DetermineTimeZoneOffset: look at the first transition after (t - 1 day); in a
 * spring-forward gap take the offset before it, in a fall-back overlap the one after. */
int32_t tl_tz_offset_local(const tl_tz *tz, int64_t local_us)
{
    int64_t t = floor_div(local_us, 1000000) + (int64_t)TL_UNIX_EPOCH_DAYS * 86400;
    int64_t prev = t - 86400, boundary;
    int32_t before, after;
    if (!val__tz_next_transition(tz, prev, &boundary, &before, &after) ||
        boundary >= t + 86400)
        return before;
    int64_t beforetime = t - before, aftertime = t - after;
    if (beforetime < boundary && aftertime < boundary)
        return before;
    if (beforetime > boundary && aftertime >= boundary)
        return after;
    return beforetime > aftertime ? before : after;
}

int64_t tl_ts_to_local(int64_t utc_us, const tl_tz *tz)
{
    if (utc_us == TL_TS_NOBEGIN || utc_us == TL_TS_NOEND)
        return utc_us;
    return utc_us + (int64_t)tl_tz_offset_utc(tz, utc_us, NULL) * 1000000;
}

int64_t tl_local_to_ts(int64_t local_us, const tl_tz *tz)
{
    if (local_us == TL_TS_NOBEGIN || local_us == TL_TS_NOEND)
        return local_us;
    return local_us - (int64_t)tl_tz_offset_local(tz, local_us) * 1000000;
}
