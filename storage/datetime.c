/*
 * datetime.c — date, timestamp, timestamptz and interval: text forms, calendar math,
 * date_trunc/extract and timestamp + interval, following PostgreSQL 15's datetime.c,
 * timestamp.c and date.c (DateStyle ISO, MDY; IntervalStyle postgres). Dates are days
 * and timestamps microseconds since 2000-01-01, with PostgreSQL's infinities (the
 * extreme int32/int64 values), so values and casts match PostgreSQL's storage.
 *
 * Input accepts the forms clients actually send (ISO 8601 with ' ' or 'T', offsets
 * +HH[:MM[:SS]]/Z, a trailing zone name, US MDY with '/', compact YYYYMMDD, BC/AD, the
 * special words) rather than all of PostgreSQL's free-form date grammar.
 */
#include "value_int.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define USECS_PER_SEC INT64_C(1000000)
#define USECS_PER_MINUTE INT64_C(60000000)
#define USECS_PER_HOUR INT64_C(3600000000)
#define POSTGRES_EPOCH_JDATE 2451545
#define DATE_END_JULIAN 2147483494     /* 5874898-01-01, first date out of range */
#define TS_END_JULIAN 109203528        /* 294277-01-01 */

/* ---- calendar ------------------------------------------------------------------- */

/* PG date2j/j2date: Julian day numbers, valid from 4714-11-24 BC on. */
static int64_t date2j(int64_t y, int64_t m, int64_t d)
{
    if (m > 2) {
        m += 1;
        y += 4800;
    } else {
        m += 13;
        y += 4799;
    }
    int64_t century = y / 100;
    int64_t julian = y * 365 - 32167;
    julian += y / 4 - century + century / 4;
    julian += 7834 * m / 256 + d;
    return julian;
}

static void j2date(int64_t jd, int *year, int *month, int *day)
{
    uint64_t julian = (uint64_t)jd + 32044;
    uint64_t quad = julian / 146097;
    uint64_t extra = (julian - quad * 146097) * 4 + 3;
    julian += 60 + quad * 3 + extra / 146097;
    quad = julian / 1461;
    julian -= quad * 1461;
    int64_t y = (int64_t)(julian * 4 / 1461);
    julian = ((y != 0) ? ((julian + 305) % 365) : ((julian + 306) % 366)) + 123;
    y += (int64_t)quad * 4;
    *year = (int)(y - 4800);
    quad = julian * 2141 / 65536;
    *day = (int)(julian - 7834 * quad / 256);
    *month = (int)((quad + 10) % 12 + 1);
}

static int days_in_month(int y, int m)
{
    static const int md[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return md[m - 1] + (m == 2 && leap);
}

void tl_date_to_ymd(int32_t days, int *y, int *m, int *d)
{
    j2date((int64_t)days + POSTGRES_EPOCH_JDATE, y, m, d);
}

int32_t tl_ymd_to_date(int y, int m, int d)
{
    return (int32_t)(date2j(y, m, d) - POSTGRES_EPOCH_JDATE);
}

bool tl_ymd_valid(int y, int m, int d)
{
    return m >= 1 && m <= 12 && d >= 1 && d <= days_in_month(y, m);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Broken-down wall-clock time; year is astronomical (0 = 1 BC). */
typedef struct tm_fields {
    int year, mon, mday, hour, min, sec;
    int64_t usec;
} tm_fields;

static void local_to_tm(int64_t local_us, tm_fields *tm)
{
    int64_t days = floor_div(local_us, TL_USECS_PER_DAY);
    int64_t t = local_us - days * TL_USECS_PER_DAY;
    j2date(days + POSTGRES_EPOCH_JDATE, &tm->year, &tm->mon, &tm->mday);
    tm->hour = (int)(t / USECS_PER_HOUR);
    t -= tm->hour * USECS_PER_HOUR;
    tm->min = (int)(t / USECS_PER_MINUTE);
    t -= tm->min * USECS_PER_MINUTE;
    tm->sec = (int)(t / USECS_PER_SEC);
    tm->usec = t - tm->sec * USECS_PER_SEC;
}

static int64_t tm_to_local(const tm_fields *tm)
{
    int64_t days = date2j(tm->year, tm->mon, tm->mday) - POSTGRES_EPOCH_JDATE;
    return days * TL_USECS_PER_DAY + tm->hour * USECS_PER_HOUR + tm->min * USECS_PER_MINUTE +
           tm->sec * USECS_PER_SEC + tm->usec;
}

static bool ts_julian_ok(int64_t jd)
{
    return jd >= 0 && jd < TS_END_JULIAN;
}

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ((int64_t)ts.tv_sec - (int64_t)TL_UNIX_EPOCH_DAYS * 86400) * USECS_PER_SEC +
           ts.tv_nsec / 1000;
}

static const tl_tz *ctx_tz(const tl_fmt_ctx *fc)
{
    return fc != NULL && fc->tz != NULL ? fc->tz : tl_tz_utc();
}

/* ---- units (PostgreSQL's deltatktbl, looked up by the first 10 characters) ---------- */

typedef enum unit {
    U_NONE, U_MICROSEC, U_MILLISEC, U_SECOND, U_MINUTE, U_HOUR, U_DAY, U_WEEK, U_MONTH,
    U_QUARTER, U_YEAR, U_DECADE, U_CENTURY, U_MILLENNIUM, U_TZ, U_TZ_HOUR, U_TZ_MINUTE,
    U_DOW, U_ISODOW, U_DOY, U_ISOYEAR, U_EPOCH, U_JULIAN, U_AGO
} unit;

static const struct {
    const char *name;
    unit u;
} unit_tbl[] = {
    {"ago", U_AGO}, {"c", U_CENTURY}, {"cent", U_CENTURY}, {"centuries", U_CENTURY},
    {"century", U_CENTURY}, {"d", U_DAY}, {"day", U_DAY}, {"days", U_DAY}, {"dec", U_DECADE},
    {"decade", U_DECADE}, {"decades", U_DECADE}, {"decs", U_DECADE}, {"h", U_HOUR},
    {"hour", U_HOUR}, {"hours", U_HOUR}, {"hr", U_HOUR}, {"hrs", U_HOUR}, {"m", U_MINUTE},
    {"microsecon", U_MICROSEC}, {"mil", U_MILLENNIUM}, {"millennia", U_MILLENNIUM},
    {"millennium", U_MILLENNIUM}, {"millisecon", U_MILLISEC}, {"mils", U_MILLENNIUM},
    {"min", U_MINUTE}, {"mins", U_MINUTE}, {"minute", U_MINUTE}, {"minutes", U_MINUTE},
    {"mon", U_MONTH}, {"mons", U_MONTH}, {"month", U_MONTH}, {"months", U_MONTH},
    {"ms", U_MILLISEC}, {"msec", U_MILLISEC}, {"millisecond", U_MILLISEC},
    {"mseconds", U_MILLISEC}, {"msecs", U_MILLISEC}, {"qtr", U_QUARTER},
    {"quarter", U_QUARTER}, {"s", U_SECOND}, {"sec", U_SECOND}, {"second", U_SECOND},
    {"seconds", U_SECOND}, {"secs", U_SECOND}, {"timezone", U_TZ},
    {"timezone_h", U_TZ_HOUR}, {"timezone_m", U_TZ_MINUTE}, {"us", U_MICROSEC},
    {"usec", U_MICROSEC}, {"microsecond", U_MICROSEC}, {"useconds", U_MICROSEC},
    {"usecs", U_MICROSEC}, {"w", U_WEEK}, {"week", U_WEEK}, {"weeks", U_WEEK},
    {"y", U_YEAR}, {"year", U_YEAR}, {"years", U_YEAR}, {"yr", U_YEAR}, {"yrs", U_YEAR},
    /* DecodeSpecial's entries that extract() also accepts */
    {"dow", U_DOW}, {"isodow", U_ISODOW}, {"doy", U_DOY}, {"isoyear", U_ISOYEAR},
    {"epoch", U_EPOCH}, {"j", U_JULIAN}, {"jd", U_JULIAN}, {"julian", U_JULIAN},
};

static unit unit_lookup(const char *s, size_t len)
{
    /* date_trunc over a vector asks for the same unit once a row: remember the last one */
    static _Thread_local char last[11];
    static _Thread_local size_t last_n = SIZE_MAX;
    static _Thread_local unit last_u;
    char low[11];
    size_t n = len < 10 ? len : 10; /* PostgreSQL's TOKMAXLEN */
    for (size_t i = 0; i < n; i++)
        low[i] = (char)tolower((unsigned char)s[i]);
    low[n] = '\0';
    if (n == last_n && memcmp(low, last, n) == 0)
        return last_u;
    unit u = U_NONE;
    for (size_t i = 0; i < TL_ARRAY_LEN(unit_tbl) && u == U_NONE; i++) {
        const char *nm = unit_tbl[i].name;
        if (strlen(nm) > 10 ? strncmp(nm, low, 10) == 0 && n == 10 : strcmp(nm, low) == 0)
            u = unit_tbl[i].u;
    }
    memcpy(last, low, n + 1);
    last_n = n;
    last_u = u;
    return u;
}

/* ---- date/timestamp input -------------------------------------------------------- */

typedef enum dt_special { SP_NONE, SP_INF, SP_NINF, SP_EPOCH, SP_NOW, SP_TODAY, SP_TOMORROW,
                          SP_YESTERDAY } dt_special;

typedef struct dt_fields {
    dt_special special;
    int year, mon, mday;
    bool bc, year2; /* year2: two-digit year to widen (MDY input) */
    int hour, min, sec;
    int64_t usec;
    int tzkind; /* 0 none, 1 numeric offset, 2 named zone */
    int32_t tzoff;
    const tl_tz *zone;
} dt_fields;

enum { DT_OK = 0, DT_BAD_FORMAT, DT_FIELD_OVERFLOW, DT_MD_OVERFLOW, DT_TZDISP_OVERFLOW, DT_BAD_ZONE };

typedef struct cursor {
    const char *p, *end;
} cursor;

static bool at_end(const cursor *c)
{
    return c->p >= c->end;
}

static int peek(const cursor *c)
{
    return c->p < c->end ? (unsigned char)*c->p : -1;
}

static void skip_space(cursor *c)
{
    while (c->p < c->end && isspace((unsigned char)*c->p))
        c->p++;
}

/* Digits as a number; *nd gets how many (0 = none). Caps absurd lengths. */
static int64_t read_num(cursor *c, int *nd)
{
    int64_t v = 0;
    int n = 0;
    while (c->p < c->end && isdigit((unsigned char)*c->p)) {
        if (n < 18)
            v = v * 10 + (*c->p - '0');
        n++;
        c->p++;
    }
    *nd = n;
    return v;
}

/* ".ffffff..." to microseconds, rounding the seventh digit as PG's rint() does. */
static int64_t read_frac(cursor *c)
{
    int64_t us = 0;
    int n = 0;
    int round_digit = 0;
    while (c->p < c->end && isdigit((unsigned char)*c->p)) {
        if (n < 6)
            us = us * 10 + (*c->p - '0');
        else if (n == 6)
            round_digit = *c->p - '0';
        n++;
        c->p++;
    }
    for (int i = n; i < 6; i++)
        us *= 10;
    return us + (round_digit >= 5);
}

static const struct {
    const char *abbr;
    int32_t off;
} tz_abbrevs[] = {
    /* a few of PostgreSQL's Default abbreviations; any IANA name works too */
    {"utc", 0}, {"gmt", 0}, {"ut", 0}, {"z", 0}, {"zulu", 0}, {"est", -18000},
    {"edt", -14400}, {"cst", -21600}, {"cdt", -18000}, {"mst", -25200}, {"mdt", -21600},
    {"pst", -28800}, {"pdt", -25200}, {"cet", 3600}, {"cest", 7200}, {"eet", 7200},
    {"eest", 10800}, {"wet", 0}, {"west", 3600}, {"bst", 3600}, {"jst", 32400},
};

static int parse_tz_word(const char *w, size_t n, dt_fields *f)
{
    char buf[128];
    if (n >= sizeof buf)
        return DT_BAD_FORMAT;
    for (size_t i = 0; i < TL_ARRAY_LEN(tz_abbrevs); i++) {
        if (strlen(tz_abbrevs[i].abbr) == n && strncasecmp(tz_abbrevs[i].abbr, w, n) == 0) {
            f->tzkind = 1;
            f->tzoff = tz_abbrevs[i].off;
            return DT_OK;
        }
    }
    memcpy(buf, w, n);
    buf[n] = '\0';
    tl_error e = {0};
    const tl_tz *z = tl_tz_get(buf, &e);
    if (z == NULL)
        return memchr(w, '/', n) != NULL ? DT_BAD_ZONE : DT_BAD_FORMAT;
    f->tzkind = 2;
    f->zone = z;
    return DT_OK;
}

/* +HH, +HHMM, +HH:MM, +HH:MM:SS (east positive, ISO 8601). */
static int parse_tz_offset(cursor *c, dt_fields *f)
{
    int sign = *c->p == '-' ? -1 : 1;
    c->p++;
    int nd;
    int64_t h = read_num(c, &nd), m = 0, s = 0;
    if (nd == 0)
        return DT_BAD_FORMAT;
    if (nd == 4) {
        m = h % 100;
        h /= 100;
    } else if (nd == 6) {
        s = h % 100;
        m = h / 100 % 100;
        h /= 10000;
    } else if (nd > 2) {
        return DT_BAD_FORMAT;
    } else if (peek(c) == ':') {
        c->p++;
        m = read_num(c, &nd);
        if (nd == 0)
            return DT_BAD_FORMAT;
        if (peek(c) == ':') {
            c->p++;
            s = read_num(c, &nd);
            if (nd == 0)
                return DT_BAD_FORMAT;
        }
    }
    if (h > 15)
        return DT_TZDISP_OVERFLOW;
    if (m > 59 || s > 59)
        return DT_FIELD_OVERFLOW;
    f->tzkind = 1;
    f->tzoff = (int32_t)(sign * (h * 3600 + m * 60 + s));
    return DT_OK;
}

static bool word_is(const char *w, size_t n, const char *lit)
{
    return strlen(lit) == n && strncasecmp(w, lit, n) == 0;
}

static int parse_datetime(const char *s, size_t len, dt_fields *f)
{
    memset(f, 0, sizeof *f);
    cursor c = {s, s + len};
    skip_space(&c);
    while (c.end > c.p && isspace((unsigned char)c.end[-1]))
        c.end--;
    size_t n = (size_t)(c.end - c.p);
    static const struct {
        const char *w;
        dt_special sp;
    } specials[] = {{"infinity", SP_INF}, {"+infinity", SP_INF}, {"-infinity", SP_NINF},
                    {"epoch", SP_EPOCH}, {"now", SP_NOW}, {"today", SP_TODAY},
                    {"tomorrow", SP_TOMORROW}, {"yesterday", SP_YESTERDAY}};
    for (size_t i = 0; i < TL_ARRAY_LEN(specials); i++)
        if (word_is(c.p, n, specials[i].w)) {
            f->special = specials[i].sp;
            return DT_OK;
        }

    /* date */
    int nd1, nd2, nd3;
    int64_t a = read_num(&c, &nd1);
    if (nd1 == 0)
        return DT_BAD_FORMAT;
    int sep = peek(&c);
    if (sep == '-' || sep == '/' || sep == '.') {
        c.p++;
        int64_t b = read_num(&c, &nd2);
        if (nd2 == 0 || peek(&c) != sep)
            return DT_BAD_FORMAT;
        c.p++;
        int64_t d = read_num(&c, &nd3);
        if (nd3 == 0)
            return DT_BAD_FORMAT;
        if (nd1 >= 3) { /* ISO year-month-day */
            if (nd2 > 2 || nd3 > 2)
                return DT_BAD_FORMAT;
            f->year = (int)a, f->mon = (int)b, f->mday = (int)d;
        } else { /* DateStyle MDY */
            if (nd2 > 2 || nd3 > 9)
                return DT_BAD_FORMAT;
            f->mon = (int)a, f->mday = (int)b, f->year = (int)d;
            f->year2 = nd3 <= 2;
        }
    } else if (nd1 == 8) {
        f->year = (int)(a / 10000), f->mon = (int)(a / 100 % 100), f->mday = (int)(a % 100);
    } else {
        return DT_BAD_FORMAT;
    }

    /* time */
    int ch = peek(&c);
    if (ch == 'T' || ch == 't' || (ch != -1 && isspace(ch))) {
        cursor save = c;
        c.p++;
        skip_space(&c);
        if (isdigit(peek(&c))) {
            int64_t h = read_num(&c, &nd1);
            if (nd1 > 2 || peek(&c) != ':')
                return DT_BAD_FORMAT;
            c.p++;
            int64_t mi = read_num(&c, &nd2);
            if (nd2 != 2)
                return DT_BAD_FORMAT;
            f->hour = (int)h;
            f->min = (int)mi;
            if (peek(&c) == ':') {
                c.p++;
                int64_t sec = read_num(&c, &nd3);
                if (nd3 != 2)
                    return DT_BAD_FORMAT;
                f->sec = (int)sec;
                if (peek(&c) == '.') {
                    c.p++;
                    f->usec = read_frac(&c);
                }
            }
        } else {
            c = save;
        }
    }

    /* zone and era */
    for (;;) {
        skip_space(&c);
        if (at_end(&c))
            break;
        ch = peek(&c);
        if (ch == '+' || ch == '-') {
            if (f->tzkind)
                return DT_BAD_FORMAT;
            int rc = parse_tz_offset(&c, f);
            if (rc != DT_OK)
                return rc;
            continue;
        }
        if (!isalpha(ch))
            return DT_BAD_FORMAT;
        /* a word runs to the next space; without a '/' it is an abbreviation, which
         * may be followed directly by an offset ("UTC+3" is not taken apart here) */
        const char *w = c.p;
        bool path = false;
        while (c.p < c.end && !isspace((unsigned char)*c.p)) {
            if (*c.p == '/')
                path = true;
            if (!path && (*c.p == '+' || *c.p == '-'))
                break;
            c.p++;
        }
        size_t wn = (size_t)(c.p - w);
        if (word_is(w, wn, "bc")) {
            f->bc = true;
        } else if (word_is(w, wn, "ad")) {
            f->bc = false;
        } else {
            if (f->tzkind)
                return DT_BAD_FORMAT;
            int rc = parse_tz_word(w, wn, f);
            if (rc != DT_OK)
                return rc;
        }
    }

    /* validate as PG's ValidateDate and time checks */
    if (f->year2)
        f->year += f->year < 70 ? 2000 : 1900;
    if (f->year <= 0)
        return DT_FIELD_OVERFLOW;
    if (f->bc)
        f->year = -(f->year - 1);
    if (f->mon < 1 || f->mon > 12)
        return DT_MD_OVERFLOW;
    if (f->mday < 1 || f->mday > days_in_month(f->year, f->mon))
        return DT_FIELD_OVERFLOW;
    if (f->hour < 0 || f->hour > 24 || f->min > 59 || f->sec > 60 ||
        (f->hour == 24 && (f->min || f->sec || f->usec)))
        return DT_FIELD_OVERFLOW;
    return DT_OK;
}

static int dt_error(int rc, const char *tname, const char *s, size_t len, tl_error *err)
{
    switch (rc) {
    case DT_FIELD_OVERFLOW:
        return tl_errorf(err, "22008", "date/time field value out of range: \"%.*s\"", (int)len,
                         s);
    case DT_MD_OVERFLOW:
        tl_errorf(err, "22008", "date/time field value out of range: \"%.*s\"", (int)len, s);
        snprintf(err->hint, sizeof err->hint, "Perhaps you need a different \"datestyle\" setting.");
        return -1;
    case DT_TZDISP_OVERFLOW:
        return tl_errorf(err, "22009", "time zone displacement out of range: \"%.*s\"", (int)len,
                         s);
    case DT_BAD_ZONE: {
        /* PG names the zone, lower-cased, after the last space of the input */
        const char *z = s + len;
        while (z > s && isspace((unsigned char)z[-1]))
            z--;
        const char *ze = z;
        while (z > s && !isspace((unsigned char)z[-1]))
            z--;
        char low[128];
        size_t n = (size_t)(ze - z) < sizeof low - 1 ? (size_t)(ze - z) : sizeof low - 1;
        for (size_t i = 0; i < n; i++)
            low[i] = (char)tolower((unsigned char)z[i]);
        low[n] = '\0';
        return tl_errorf(err, "22023", "time zone \"%s\" not recognized", low);
    }
    default:
        return val__syntax_error(err, "22007", tname, s, len);
    }
}

/* Midnight (local) of the session's today plus `days`. */
static int64_t local_today(const tl_fmt_ctx *fc, int days)
{
    int64_t local = tl_ts_to_local(now_us(), ctx_tz(fc));
    return (floor_div(local, TL_USECS_PER_DAY) + days) * TL_USECS_PER_DAY;
}

int val__date_in(const char *s, size_t len, const tl_fmt_ctx *fc, int64_t *out, tl_error *err)
{
    dt_fields f;
    int rc = parse_datetime(s, len, &f);
    if (rc != DT_OK)
        return dt_error(rc, "date", s, len, err);
    switch (f.special) {
    case SP_INF: *out = TL_DATE_NOEND; return 0;
    case SP_NINF: *out = TL_DATE_NOBEGIN; return 0;
    case SP_EPOCH: *out = -TL_UNIX_EPOCH_DAYS; return 0;
    case SP_NOW: case SP_TODAY: *out = local_today(fc, 0) / TL_USECS_PER_DAY; return 0;
    case SP_TOMORROW: *out = local_today(fc, 1) / TL_USECS_PER_DAY; return 0;
    case SP_YESTERDAY: *out = local_today(fc, -1) / TL_USECS_PER_DAY; return 0;
    case SP_NONE: break;
    }
    int64_t jd = date2j(f.year, f.mon, f.mday);
    if (jd < 0 || jd >= DATE_END_JULIAN)
        return tl_errorf(err, "22008", "date out of range: \"%.*s\"", (int)len, s);
    *out = jd - POSTGRES_EPOCH_JDATE;
    return 0;
}

int val__ts_in(const char *s, size_t len, bool with_tz, const tl_fmt_ctx *fc, int64_t *out,
               tl_error *err)
{
    const char *tname = with_tz ? "timestamp with time zone" : "timestamp";
    dt_fields f;
    int rc = parse_datetime(s, len, &f);
    if (rc != DT_OK)
        return dt_error(rc, tname, s, len, err);
    const tl_tz *tz = ctx_tz(fc);
    int64_t local;
    switch (f.special) {
    case SP_INF: *out = TL_TS_NOEND; return 0;
    case SP_NINF: *out = TL_TS_NOBEGIN; return 0;
    case SP_EPOCH: *out = -(int64_t)TL_UNIX_EPOCH_DAYS * TL_USECS_PER_DAY; return 0;
    case SP_NOW: *out = with_tz ? now_us() : tl_ts_to_local(now_us(), tz); return 0;
    case SP_TODAY: local = local_today(fc, 0); goto special_local;
    case SP_TOMORROW: local = local_today(fc, 1); goto special_local;
    case SP_YESTERDAY: local = local_today(fc, -1); goto special_local;
    case SP_NONE: break;
    }
    int64_t jd = date2j(f.year, f.mon, f.mday);
    if (!ts_julian_ok(jd))
        return tl_errorf(err, "22008", "timestamp out of range: \"%.*s\"", (int)len, s);
    tm_fields tm = {f.year, f.mon, f.mday, f.hour, f.min, f.sec, f.usec};
    local = tm_to_local(&tm);
    if (!with_tz) {
        *out = local;
    } else if (f.tzkind == 1) {
        *out = local - (int64_t)f.tzoff * USECS_PER_SEC;
    } else {
        *out = tl_local_to_ts(local, f.tzkind == 2 ? f.zone : tz);
    }
    /* PG's IS_VALID_TIMESTAMP: the UTC value must stay inside the Julian range */
    if (!ts_julian_ok(floor_div(*out, TL_USECS_PER_DAY) + POSTGRES_EPOCH_JDATE))
        return tl_errorf(err, "22008", "timestamp out of range: \"%.*s\"", (int)len, s);
    return 0;
special_local:
    *out = with_tz ? tl_local_to_ts(local, tz) : local;
    return 0;
}

/* ---- date/timestamp output ---------------------------------------------------------- */

static void put_date(tl_buf *out, int y, int m, int d)
{
    tl_buf_printf(out, "%04d-%02d-%02d", y > 0 ? y : -(y - 1), m, d);
}

/* Seconds plus a fraction with trailing zeros dropped (PG AppendSeconds). */
static void put_seconds(tl_buf *out, int sec, int64_t usec)
{
    tl_buf_printf(out, "%02d", sec);
    if (usec != 0) {
        char frac[8];
        snprintf(frac, sizeof frac, "%06lld", (long long)usec);
        int n = 6;
        while (n > 0 && frac[n - 1] == '0')
            n--;
        tl_buf_putc(out, '.');
        tl_buf_append(out, frac, (size_t)n);
    }
}

/* PG EncodeTimezone: +HH, +HH:MM or +HH:MM:SS. */
static void put_offset(tl_buf *out, int32_t off)
{
    int32_t a = off < 0 ? -off : off;
    tl_buf_printf(out, "%c%02d", off < 0 ? '-' : '+', a / 3600);
    if (a % 3600 != 0) {
        tl_buf_printf(out, ":%02d", a / 60 % 60);
        if (a % 60 != 0)
            tl_buf_printf(out, ":%02d", a % 60);
    }
}

void val__date_out(int64_t d, tl_buf *out)
{
    if (d == TL_DATE_NOEND) {
        tl_buf_puts(out, "infinity");
        return;
    }
    if (d == TL_DATE_NOBEGIN) {
        tl_buf_puts(out, "-infinity");
        return;
    }
    int y, m, dd;
    j2date(d + POSTGRES_EPOCH_JDATE, &y, &m, &dd);
    put_date(out, y, m, dd);
    if (y <= 0)
        tl_buf_puts(out, " BC");
}

void val__ts_out(int64_t ts, bool with_tz, const tl_fmt_ctx *fc, tl_buf *out)
{
    if (ts == TL_TS_NOEND) {
        tl_buf_puts(out, "infinity");
        return;
    }
    if (ts == TL_TS_NOBEGIN) {
        tl_buf_puts(out, "-infinity");
        return;
    }
    int32_t off = 0;
    if (with_tz)
        off = tl_tz_offset_utc(ctx_tz(fc), ts, NULL);
    tm_fields tm;
    local_to_tm(ts + (int64_t)off * USECS_PER_SEC, &tm);
    put_date(out, tm.year, tm.mon, tm.mday);
    tl_buf_printf(out, " %02d:%02d:", tm.hour, tm.min);
    put_seconds(out, tm.sec, tm.usec);
    if (with_tz)
        put_offset(out, off);
    if (tm.year <= 0)
        tl_buf_puts(out, " BC");
}

/* ---- interval ------------------------------------------------------------------------ */

typedef struct itm_in {
    int64_t usec;
    int64_t mday;
    int64_t mon;
    int64_t year;
} itm_in;

/* PG AdjustFractMicroseconds: frac (|frac| < 1) of `scale` microseconds, rounded. */
static void adj_frac_us(double frac, int64_t scale, itm_in *it)
{
    if (frac == 0)
        return;
    frac *= (double)scale;
    int64_t us = (int64_t)frac;
    frac -= (double)us;
    us += (int64_t)rint(frac);
    it->usec += us;
}

static void adj_frac_days(double frac, int scale, itm_in *it)
{
    if (frac == 0)
        return;
    frac *= scale;
    int extra = (int)frac;
    it->mday += extra;
    frac -= extra;
    adj_frac_us(frac, TL_USECS_PER_DAY, it);
}

static int apply_unit(unit u, int64_t val, double fval, itm_in *it)
{
    switch (u) {
    case U_MICROSEC: it->usec += val; adj_frac_us(fval, 1, it); break;
    case U_MILLISEC: it->usec += val * 1000; adj_frac_us(fval, 1000, it); break;
    case U_SECOND: it->usec += val * USECS_PER_SEC; adj_frac_us(fval, USECS_PER_SEC, it); break;
    case U_MINUTE:
        it->usec += val * USECS_PER_MINUTE;
        adj_frac_us(fval, USECS_PER_MINUTE, it);
        break;
    case U_HOUR:
        it->usec += val * USECS_PER_HOUR;
        adj_frac_us(fval, USECS_PER_HOUR, it);
        break;
    case U_DAY: it->mday += val; adj_frac_us(fval, TL_USECS_PER_DAY, it); break;
    case U_WEEK: it->mday += val * 7; adj_frac_days(fval, 7, it); break;
    case U_MONTH: it->mon += val; adj_frac_days(fval, 30, it); break;
    case U_YEAR: it->year += val; it->mon += (int64_t)rint(fval * 12); break;
    case U_DECADE: it->year += val * 10; it->mon += (int64_t)rint(fval * 120); break;
    case U_CENTURY: it->year += val * 100; it->mon += (int64_t)rint(fval * 1200); break;
    case U_MILLENNIUM: it->year += val * 1000; it->mon += (int64_t)rint(fval * 12000); break;
    default: return -1;
    }
    return 0;
}

/* A signed decimal number: integer part and same-signed fraction. */
static bool read_signed_decimal(cursor *c, int64_t *val, double *fval)
{
    int sign = 1;
    if (peek(c) == '+' || peek(c) == '-')
        sign = *c->p++ == '-' ? -1 : 1;
    int nd;
    const char *start = c->p;
    int64_t v = read_num(c, &nd);
    if (nd > 18)
        return false;
    double f = 0;
    if (peek(c) == '.') {
        const char *fs = c->p;
        c->p++;
        int nf;
        read_num(c, &nf);
        f = strtod(fs, NULL);
        nd += nf;
    }
    if (nd == 0 || c->p == start)
        return false;
    *val = sign * v;
    *fval = sign * f;
    return true;
}

/* ISO 8601 "format with designators": P1Y2M3DT4H5M6S, fractions allowed. */
static int interval_iso(cursor *c, itm_in *it)
{
    bool in_time = false;
    c->p++; /* 'P' */
    if (at_end(c))
        return -1;
    while (!at_end(c)) {
        if (peek(c) == 'T') {
            in_time = true;
            c->p++;
            continue;
        }
        int64_t v;
        double fv;
        if (!read_signed_decimal(c, &v, &fv) || at_end(c))
            return -1;
        unit u;
        switch (*c->p++) {
        case 'Y': u = U_YEAR; break;
        case 'M': u = in_time ? U_MINUTE : U_MONTH; break;
        case 'W': u = U_WEEK; break;
        case 'D': u = U_DAY; break;
        case 'H': u = U_HOUR; break;
        case 'S': u = U_SECOND; break;
        default: return -1;
        }
        if (apply_unit(u, v, fv, it) != 0)
            return -1;
    }
    return 0;
}

int val__interval_in(const char *s, size_t len, tl_interval *out, tl_error *err)
{
    cursor c = {s, s + len};
    itm_in it = {0};
    skip_space(&c);
    while (c.end > c.p && isspace((unsigned char)c.end[-1]))
        c.end--;
    uint32_t seen = 0; /* units already given: PostgreSQL rejects repeats */
    bool any = false, ago = false;
    if (peek(&c) == 'P') {
        if (interval_iso(&c, &it) != 0)
            goto bad;
        any = true;
    }
    if (peek(&c) == '@') {
        c.p++;
        skip_space(&c);
    }
    while (!at_end(&c)) {
        int ch = peek(&c);
        if (isalpha(ch)) {
            const char *w = c.p;
            while (c.p < c.end && isalpha((unsigned char)*c.p))
                c.p++;
            if (unit_lookup(w, (size_t)(c.p - w)) != U_AGO || ago)
                goto bad;
            ago = true;
            skip_space(&c);
            continue;
        }
        if (ago)
            goto bad;
        /* a time field: [+-]H:MM[:SS[.f]] */
        const char *q = c.p;
        if (*q == '+' || *q == '-')
            q++;
        while (q < c.end && isdigit((unsigned char)*q))
            q++;
        if (q < c.end && *q == ':') {
            int sign = 1;
            if (peek(&c) == '+' || peek(&c) == '-')
                sign = *c.p++ == '-' ? -1 : 1;
            int nd;
            int64_t h = read_num(&c, &nd), m = 0, sec = 0, us = 0;
            c.p++; /* ':' */
            m = read_num(&c, &nd);
            if (nd == 0 || m > 59)
                goto bad;
            if (peek(&c) == ':') {
                c.p++;
                sec = read_num(&c, &nd);
                if (nd == 0 || sec > 59)
                    goto bad;
            }
            if (peek(&c) == '.') {
                c.p++;
                us = read_frac(&c);
            }
            if (seen & (1u << U_HOUR))
                goto bad;
            seen |= 1u << U_HOUR | 1u << U_MINUTE | 1u << U_SECOND;
            it.usec += sign * (h * USECS_PER_HOUR + m * USECS_PER_MINUTE + sec * USECS_PER_SEC +
                               us);
            any = true;
            skip_space(&c);
            continue;
        }
        int64_t v;
        double fv;
        if (!read_signed_decimal(&c, &v, &fv))
            goto bad;
        skip_space(&c);
        unit u = U_SECOND; /* a bare number counts seconds, as in PostgreSQL */
        if (!at_end(&c) && isalpha(peek(&c))) {
            const char *w = c.p;
            while (c.p < c.end && isalpha((unsigned char)*c.p))
                c.p++;
            u = unit_lookup(w, (size_t)(c.p - w));
            if (u == U_AGO) {
                c.p = w; /* "10 ago": seconds, then ago */
                u = U_SECOND;
            }
        }
        if (seen & (1u << u))
            goto bad;
        seen |= 1u << u;
        if (apply_unit(u, v, fv, &it) != 0)
            goto bad;
        any = true;
        skip_space(&c);
    }
    if (!any)
        goto bad;
    int64_t months = it.year * 12 + it.mon;
    if (months > INT32_MAX || months < INT32_MIN || it.mday > INT32_MAX || it.mday < INT32_MIN)
        return tl_errorf(err, "22015", "interval field value out of range: \"%.*s\"", (int)len, s);
    out->months = (int32_t)months;
    out->days = (int32_t)it.mday;
    out->us = it.usec;
    if (ago) {
        out->months = -out->months;
        out->days = -out->days;
        out->us = -out->us;
    }
    return 0;
bad:
    return val__syntax_error(err, "22007", "interval", s, len);
}

/* IntervalStyle postgres (PG EncodeInterval, INTSTYLE_POSTGRES). */
static void put_int_part(tl_buf *out, int64_t v, const char *unitname, bool *is_zero,
                         bool *is_before)
{
    if (v == 0)
        return;
    tl_buf_printf(out, "%s%s%lld %s%s", *is_zero ? "" : " ", (*is_before && v > 0) ? "+" : "",
                  (long long)v, unitname, v != 1 ? "s" : "");
    *is_before = v < 0;
    *is_zero = false;
}

void val__interval_out(const tl_interval *iv, tl_buf *out)
{
    bool is_zero = true, is_before = false;
    put_int_part(out, iv->months / 12, "year", &is_zero, &is_before);
    put_int_part(out, iv->months % 12, "mon", &is_zero, &is_before);
    put_int_part(out, iv->days, "day", &is_zero, &is_before);
    int64_t t = iv->us;
    if (t != 0 || is_zero) {
        bool minus = t < 0;
        /* |INT64_MIN| does not fit: split before taking the magnitude */
        uint64_t a = minus ? (uint64_t)0 - (uint64_t)t : (uint64_t)t;
        uint64_t h = a / (uint64_t)USECS_PER_HOUR;
        a -= h * (uint64_t)USECS_PER_HOUR;
        int mi = (int)(a / (uint64_t)USECS_PER_MINUTE);
        a -= (uint64_t)mi * (uint64_t)USECS_PER_MINUTE;
        int sec = (int)(a / (uint64_t)USECS_PER_SEC);
        int64_t us = (int64_t)(a - (uint64_t)sec * (uint64_t)USECS_PER_SEC);
        tl_buf_printf(out, "%s%s%02llu:%02d:", is_zero ? "" : " ",
                      minus ? "-" : (is_before ? "+" : ""), (unsigned long long)h, mi);
        put_seconds(out, sec, us);
    }
}

/* PG interval_cmp_value: months count 30 days and days 24 hours. */
tl_i128 val__interval_key(const tl_interval *iv)
{
    tl_i128 days = (tl_i128)iv->months * 30 + iv->days;
    return days * TL_USECS_PER_DAY + iv->us;
}

int tl_interval_cmp(const tl_interval *a, const tl_interval *b)
{
    tl_i128 ka = val__interval_key(a), kb = val__interval_key(b);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/* ---- date_trunc / extract --------------------------------------------------------------- */

static int unit_error(const char *u, bool known, tl_error *err)
{
    if (known)
        return tl_errorf(err, "0A000", "unit \"%s\" not supported for type %s", u,
                         "timestamp with time zone");
    return tl_errorf(err, "22023", "unit \"%s\" not recognized for type %s", u,
                     "timestamp with time zone");
}

static void lower_unit(const char *unit_s, char *low, size_t cap)
{
    size_t i = 0;
    for (; unit_s[i] && i + 1 < cap; i++)
        low[i] = (char)tolower((unsigned char)unit_s[i]);
    low[i] = '\0';
}

static int isodow_of(int64_t jd)
{
    int dow = (int)((jd + 1) % 7); /* 0 = Sunday */
    return dow == 0 ? 7 : dow;
}

/* ISO week and ISO year of a Julian day: the week's Thursday decides the year. */
static void iso_week(int64_t jd, int *week, int *isoyear)
{
    int64_t thu = jd - isodow_of(jd) + 4;
    int y, m, d;
    j2date(thu, &y, &m, &d);
    *isoyear = y;
    *week = (int)((thu - date2j(y, 1, 1)) / 7 + 1);
}

int tl_trunc_local(const char *unit_s, int64_t local_us, int64_t *out, tl_error *err)
{
    char low[64];
    lower_unit(unit_s, low, sizeof low);
    unit u = unit_lookup(low, strlen(low));
    if (local_us == TL_TS_NOBEGIN || local_us == TL_TS_NOEND) {
        if (u == U_NONE)
            return unit_error(low, false, err);
        *out = local_us;
        return 0;
    }
    tm_fields tm;
    local_to_tm(local_us, &tm);
    switch (u) {
    case U_WEEK: {
        int64_t jd = date2j(tm.year, tm.mon, tm.mday);
        jd -= isodow_of(jd) - 1; /* back to Monday */
        j2date(jd, &tm.year, &tm.mon, &tm.mday);
        tm.hour = tm.min = tm.sec = 0;
        tm.usec = 0;
        break;
    }
    case U_MILLENNIUM:
        /* PG: the first millennium is years 1..1000, so 2001 starts the third */
        tm.year = tm.year > 0 ? ((tm.year + 999) / 1000) * 1000 - 999
                              : -((999 - (tm.year - 1)) / 1000) * 1000 + 1;
        goto year;
    case U_CENTURY:
        tm.year = tm.year > 0 ? ((tm.year + 99) / 100) * 100 - 99
                              : -((99 - (tm.year - 1)) / 100) * 100 + 1;
        goto year;
    case U_DECADE:
        tm.year = tm.year > 0 ? (tm.year / 10) * 10 : -((8 - (tm.year - 1)) / 10) * 10;
        goto year;
    case U_YEAR:
    year:
        tm.mon = 1;
        /* fall through */
    case U_QUARTER:
        tm.mon = 3 * ((tm.mon - 1) / 3) + 1;
        /* fall through */
    case U_MONTH:
        tm.mday = 1;
        /* fall through */
    case U_DAY:
        tm.hour = 0;
        /* fall through */
    case U_HOUR:
        tm.min = 0;
        /* fall through */
    case U_MINUTE:
        tm.sec = 0;
        /* fall through */
    case U_SECOND:
        tm.usec = 0;
        break;
    case U_MILLISEC:
        tm.usec = (tm.usec / 1000) * 1000;
        break;
    case U_MICROSEC:
        break;
    case U_NONE:
    case U_DOW: case U_ISODOW: case U_DOY: case U_ISOYEAR: case U_EPOCH: case U_JULIAN:
        /* date_trunc consults only the units table, not DecodeSpecial's words */
        return unit_error(low, false, err);
    default:
        return unit_error(low, true, err);
    }
    *out = tm_to_local(&tm);
    return 0;
}

/* PG timestamptz_trunc_internal re-resolves the zone offset only for day and coarser
 * units; finer units keep the instant's own offset, which matters in a fall-back hour. */
int tl_trunc_ts(const char *unit_s, int64_t ts, const tl_tz *tz, int64_t *out, tl_error *err)
{
    if (tz == NULL)
        tz = tl_tz_utc();
    int64_t local = tl_ts_to_local(ts, tz), t;
    if (tl_trunc_local(unit_s, local, &t, err) != 0)
        return -1;
    if (ts == TL_TS_NOBEGIN || ts == TL_TS_NOEND) {
        *out = ts;
        return 0;
    }
    char low[64];
    lower_unit(unit_s, low, sizeof low);
    switch (unit_lookup(low, strlen(low))) {
    case U_HOUR: case U_MINUTE: case U_SECOND: case U_MILLISEC: case U_MICROSEC:
        *out = ts - (local - t);
        break;
    default:
        *out = tl_local_to_ts(t, tz);
        break;
    }
    return 0;
}

static void num_set(tl_numeric *n, int64_t v, int scale)
{
    n->mant = v;
    n->scale = (int16_t)scale;
    n->nan = 0;
}

int tl_extract_local(const char *unit_s, int64_t local_us, tl_numeric *out, tl_error *err)
{
    char low[64];
    lower_unit(unit_s, low, sizeof low);
    unit u = unit_lookup(low, strlen(low));
    tm_fields tm;
    local_to_tm(local_us, &tm);
    int64_t jd = date2j(tm.year, tm.mon, tm.mday);
    int week, isoyear;
    switch (u) {
    case U_MICROSEC: num_set(out, tm.sec * USECS_PER_SEC + tm.usec, 0); break;
    case U_MILLISEC: num_set(out, tm.sec * USECS_PER_SEC + tm.usec, 3); break;
    case U_SECOND: num_set(out, tm.sec * USECS_PER_SEC + tm.usec, 6); break;
    case U_MINUTE: num_set(out, tm.min, 0); break;
    case U_HOUR: num_set(out, tm.hour, 0); break;
    case U_DAY: num_set(out, tm.mday, 0); break;
    case U_MONTH: num_set(out, tm.mon, 0); break;
    case U_QUARTER: num_set(out, (tm.mon - 1) / 3 + 1, 0); break;
    case U_WEEK:
        iso_week(jd, &week, &isoyear);
        num_set(out, week, 0);
        break;
    case U_YEAR: num_set(out, tm.year > 0 ? tm.year : tm.year - 1, 0); break;
    case U_DECADE:
        num_set(out, tm.year >= 0 ? tm.year / 10 : -((8 - (tm.year - 1)) / 10), 0);
        break;
    case U_CENTURY:
        num_set(out, tm.year > 0 ? (tm.year + 99) / 100 : -((99 - (tm.year - 1)) / 100), 0);
        break;
    case U_MILLENNIUM:
        num_set(out, tm.year > 0 ? (tm.year + 999) / 1000 : -((999 - (tm.year - 1)) / 1000), 0);
        break;
    case U_DOW: num_set(out, (jd + 1) % 7, 0); break;
    case U_ISODOW: num_set(out, isodow_of(jd), 0); break;
    case U_DOY: num_set(out, jd - date2j(tm.year, 1, 1) + 1, 0); break;
    case U_ISOYEAR:
        iso_week(jd, &week, &isoyear);
        num_set(out, isoyear > 0 ? isoyear : isoyear - 1, 0);
        break;
    case U_NONE:
        return unit_error(low, false, err);
    default:
        return unit_error(low, true, err);
    }
    return 0;
}

/* ---- timestamp + interval ---------------------------------------------------------------- */

/* PG timestamptz_pl_interval: months on the local calendar with end-of-month clamping,
 * then days on the local calendar (so a day across DST is 23 or 25 hours), then time. */
int tl_ts_add_interval(int64_t ts, const tl_interval *iv, const tl_tz *tz, int64_t *out,
                       tl_error *err)
{
    if (ts == TL_TS_NOBEGIN || ts == TL_TS_NOEND) {
        *out = ts;
        return 0;
    }
    if (tz == NULL)
        tz = tl_tz_utc();
    if (iv->months != 0) {
        tm_fields tm;
        local_to_tm(tl_ts_to_local(ts, tz), &tm);
        int64_t m = (int64_t)tm.year * 12 + (tm.mon - 1) + iv->months;
        tm.year = (int)floor_div(m, 12);
        tm.mon = (int)(m - (int64_t)tm.year * 12) + 1;
        int dim = days_in_month(tm.year, tm.mon);
        if (tm.mday > dim)
            tm.mday = dim;
        if (!ts_julian_ok(date2j(tm.year, tm.mon, tm.mday)))
            return tl_errorf(err, "22008", "timestamp out of range");
        ts = tl_local_to_ts(tm_to_local(&tm), tz);
    }
    if (iv->days != 0) {
        int64_t local = tl_ts_to_local(ts, tz) + (int64_t)iv->days * TL_USECS_PER_DAY;
        if (!ts_julian_ok(floor_div(local, TL_USECS_PER_DAY) + POSTGRES_EPOCH_JDATE))
            return tl_errorf(err, "22008", "timestamp out of range");
        ts = tl_local_to_ts(local, tz);
    }
    if (__builtin_add_overflow(ts, iv->us, &ts) ||
        !ts_julian_ok(floor_div(ts, TL_USECS_PER_DAY) + POSTGRES_EPOCH_JDATE))
        return tl_errorf(err, "22008", "timestamp out of range");
    *out = ts;
    return 0;
}
