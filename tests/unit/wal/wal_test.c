/*
 * wal_test.c — WAL record framing (encode/decode, checksum, LSN check), replay's split
 * between a torn tail (cut) and damage in the middle (refused, file untouched), the
 * writer's group commit round trip, and the vector codec used by records and snapshots.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tl_vecio.h"
#include "tl_wal.h"

Test(wal, frame_decode_roundtrip_and_checks)
{
    tl_buf b;
    tl_buf_init(&b);
    tl_wal_frame(&b, 7, 1000, "hello", 5);
    tl_wal_frame(&b, 8, 1000 + TL_WAL_HDR + 5, "", 0);
    tl_wal_rec r;
    cr_assert_eq(tl_wal_decode(b.data, b.len, 1000, &r), TL_WAL_REC);
    cr_assert_eq(r.type, 7);
    cr_assert_eq(r.len, 5u);
    cr_assert(memcmp(r.payload, "hello", 5) == 0);
    cr_assert_eq(r.total, (size_t)TL_WAL_HDR + 5);
    cr_assert_eq(tl_wal_decode(b.data + r.total, b.len - r.total, 1000 + r.total, &r), TL_WAL_REC);
    cr_assert_eq(r.len, 0u);
    /* wrong position: a record elsewhere in the log is not this one */
    cr_assert_eq(tl_wal_decode(b.data, b.len, 999, &r), TL_WAL_BAD);
    /* every single flipped bit of the first record is caught */
    for (size_t i = 0; i < TL_WAL_HDR + 5; i++)
        for (int bit = 0; bit < 8; bit++) {
            b.data[i] ^= (char)(1 << bit);
            tl_wal_status s = tl_wal_decode(b.data, b.len, 1000, &r);
            cr_assert(s == TL_WAL_BAD || s == TL_WAL_PARTIAL, "byte %zu bit %d not detected", i, bit);
            b.data[i] ^= (char)(1 << bit);
        }
    /* cut anywhere inside: partial (the tail of a torn write), never a record */
    for (size_t n = 1; n < TL_WAL_HDR + 5; n++)
        cr_assert_eq(tl_wal_decode(b.data, n, 1000, &r), TL_WAL_PARTIAL, "cut at %zu", n);
    cr_assert_eq(tl_wal_decode(b.data, 0, 1000, &r), TL_WAL_EOF);
    tl_buf_free(&b);
}

typedef struct seen {
    int n;
    char last[64];
} seen;

static int count_rec(void *arg, const tl_wal_rec *r, tl_error *err)
{
    seen *s = arg;
    s->n++;
    snprintf(s->last, sizeof s->last, "%.*s", (int)r->len, r->payload);
    return 0;
}

static char *make_dir(void)
{
    char *d = strdup("/tmp/tally-waltest.XXXXXX");
    cr_assert_not_null(mkdtemp(d));
    return d;
}

static void write_log(const char *dir, int nrec, size_t *sizes)
{
    tl_error err;
    tl_error_clear(&err);
    tl_wal_opts o = {.dir = dir, .seg_start = 0, .end_lsn = 0};
    tl_wal *w = tl_wal_open(&o, &err);
    cr_assert_not_null(w, "%s", err.message);
    uint64_t end = 0;
    for (int i = 0; i < nrec; i++) {
        char p[32];
        int n = snprintf(p, sizeof p, "record %d", i);
        cr_assert_eq(tl_wal_append(w, 1, p, (size_t)n, &end, &err), 0);
        if (sizes) sizes[i] = end;
    }
    cr_assert_eq(tl_wal_wait(w, end, &err), 0, "%s", err.message);
    tl_wal_close(w);
}

static void rm_dir(char *d)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
    cr_assert_eq(system(cmd), 0);
    free(d);
}

Test(wal, writer_replay_and_torn_tail)
{
    char *d = make_dir();
    size_t ends[10];
    write_log(d, 10, ends);
    char path[4096];
    tl_wal_segment_path(path, sizeof path, d, 0);
    seen s = {0};
    tl_wal_replay_result res;
    tl_error err;
    tl_error_clear(&err);
    cr_assert_eq(tl_wal_replay(d, 0, count_rec, &s, &res, &err), 0, "%s", err.message);
    cr_assert_eq(s.n, 10);
    cr_assert_str_eq(s.last, "record 9");
    cr_assert_eq(res.end_lsn, ends[9]);
    cr_assert(!res.torn);
    /* torn: the last record cut short */
    cr_assert_eq(truncate(path, (off_t)ends[9] - 3), 0);
    memset(&s, 0, sizeof s);
    cr_assert_eq(tl_wal_replay(d, 0, count_rec, &s, &res, &err), 0, "%s", err.message);
    cr_assert_eq(s.n, 9);
    cr_assert(res.torn);
    cr_assert_eq(res.torn_at, ends[8]);
    struct stat st;
    stat(path, &st);
    cr_assert_eq((size_t)st.st_size, ends[8], "the torn tail is cut from the file");
    rm_dir(d);
}

Test(wal, damage_in_the_middle_is_refused)
{
    char *d = make_dir();
    size_t ends[10];
    write_log(d, 10, ends);
    char path[4096];
    tl_wal_segment_path(path, sizeof path, d, 0);
    FILE *f = fopen(path, "r+b");
    fseek(f, (long)ends[3] + TL_WAL_HDR + 2, SEEK_SET); /* inside record 4's payload */
    fputc('X', f);
    fclose(f);
    seen s = {0};
    tl_wal_replay_result res;
    tl_error err;
    tl_error_clear(&err);
    cr_assert_eq(tl_wal_replay(d, 0, count_rec, &s, &res, &err), -1);
    cr_assert_str_eq(err.sqlstate, "XX001");
    char want[64];
    snprintf(want, sizeof want, "at offset %zu", ends[3]);
    cr_assert(strstr(err.message, want) && strstr(err.message, "wal.0000000000000000"), "%s", err.message);
    struct stat st;
    stat(path, &st);
    cr_assert_eq((size_t)st.st_size, ends[9], "nothing cut");
    rm_dir(d);
}

Test(wal, rotation_continues_the_log)
{
    char *d = make_dir();
    tl_error err;
    tl_error_clear(&err);
    tl_wal_opts o = {.dir = d};
    tl_wal *w = tl_wal_open(&o, &err);
    uint64_t end;
    cr_assert_eq(tl_wal_append(w, 1, "a", 1, &end, &err), 0);
    uint64_t cut = tl_wal_rotate(w);
    cr_assert_eq(cut, end);
    cr_assert_eq(tl_wal_append(w, 1, "b", 1, &end, &err), 0);
    cr_assert_eq(tl_wal_wait(w, end, &err), 0);
    tl_wal_close(w);
    seen s = {0};
    tl_wal_replay_result res;
    cr_assert_eq(tl_wal_replay(d, 0, count_rec, &s, &res, &err), 0, "%s", err.message);
    cr_assert_eq(s.n, 2);
    cr_assert_eq(res.seg_start, cut);
    cr_assert_eq(tl_wal_remove_before(d, cut, &err), 0);
    memset(&s, 0, sizeof s);
    cr_assert_eq(tl_wal_replay(d, cut, count_rec, &s, &res, &err), 0, "%s", err.message);
    cr_assert_eq(s.n, 1);
    cr_assert_str_eq(s.last, "b");
    /* replaying from before the removed segment must fail, not silently skip */
    cr_assert_eq(tl_wal_replay(d, 0, count_rec, &s, &res, &err), -1);
    rm_dir(d);
}

Test(vecio, roundtrip_every_class_with_nulls)
{
    tl_arena a;
    tl_arena_init(&a);
    tl_type_id ids[] = {TL_INT4, TL_INT8, TL_DATE, TL_TIMESTAMPTZ, TL_BOOL, TL_FLOAT8, TL_NUMERIC,
                        TL_UUID, TL_INTERVAL, TL_TEXT};
    for (size_t t = 0; t < TL_ARRAY_LEN(ids); t++) {
        uint32_t n = 300;
        tl_vec v;
        tl_vec_alloc(&v, tl_type_make(ids[t]), n, &a);
        v.n = n;
        char *strs = tl_arena_alloc(&a, 16 * n);
        for (uint32_t i = 0; i < n; i++) {
            v.nulls[i] = i % 7 == 3;
            int64_t x = (int64_t)i * 1000003 - 5000;
            switch (ids[t]) {
            case TL_BOOL: v.d.b[i] = i & 1; break;
            case TL_FLOAT8: v.d.f[i] = (double)x / 3; break;
            case TL_NUMERIC: v.d.n[i] = (tl_numeric){.mant = (tl_i128)x * 1000000007, .scale = 3}; break;
            case TL_UUID: memset(v.d.u[i].b, (int)i, 16); break;
            case TL_INTERVAL: v.d.iv[i] = (tl_interval){x, (int32_t)i, -(int32_t)i}; break;
            case TL_TEXT:
                snprintf(strs + 16 * i, 16, "s%u", i * 31);
                v.d.s[i] = (tl_str){strs + 16 * i, (uint32_t)strlen(strs + 16 * i)};
                break;
            default: v.d.i[i] = ids[t] == TL_INT4 ? (int64_t)(int32_t)x : x; break;
            }
        }
        tl_buf b;
        tl_buf_init(&b);
        tl_vec_encode(&v, n, &b);
        const char *p = b.data;
        tl_vec o;
        cr_assert_eq(tl_vec_decode(&p, b.data + b.len, v.type, n, &o, &a), 0);
        cr_assert_eq(p, b.data + b.len);
        for (uint32_t i = 0; i < n; i++) {
            cr_assert_eq(tl_vec_isnull(&o, i), v.nulls[i] != 0);
            if (v.nulls[i]) continue;
            tl_datum x, y;
            tl_vec_get(&v, i, &x);
            tl_vec_get(&o, i, &y);
            if (ids[t] == TL_FLOAT8) cr_assert_eq(x.v.f, y.v.f);
            else if (ids[t] == TL_BOOL) cr_assert_eq(x.v.b, y.v.b);
            else cr_assert_eq(tl_datum_cmp(ids[t], &x, &y), 0, "type %d row %u", (int)ids[t], i);
        }
        /* every truncation of the bytes is refused, never read past */
        for (size_t cut = 0; cut < b.len; cut += 1 + b.len / 50) {
            const char *q = b.data;
            cr_assert_eq(tl_vec_decode(&q, b.data + cut, v.type, n, &o, &a), -1, "cut %zu", cut);
        }
        tl_buf_free(&b);
    }
    tl_arena_free(&a);
}
