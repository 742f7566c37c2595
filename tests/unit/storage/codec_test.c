/*
 * codec_test.c — round-trip properties of every column encoding and of sealed segments:
 * each codec that accepts a data shape must give back exactly the values (full scans,
 * scans at odd offsets, single fetches) and filter exactly as a plain comparison does;
 * corrupt or truncated buffers must fail with XX001 without reading outside them (the
 * ASan build checks the "without"). Tables: seal, read back, delete, roll back, and the
 * predicate path against a row-by-row evaluation, with dictionaries of 1 and 2^20 entries.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seg_int.h"

static uint64_t rng = 88172645463325252ull;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

enum { SHAPE_RANDOM, SHAPE_SORTED, SHAPE_CONST, SHAPE_RUNS, SHAPE_SMALL_NEG, SHAPE_LIMITS, SHAPE_MAXW,
       SHAPE_SECONDS, SHAPE_SCALED_NEG, SHAPE_SCALED_LIMITS, NSHAPES };

static void fill(int shape, int64_t *v, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        switch (shape) {
        case SHAPE_RANDOM: v[i] = (int64_t)(next_rand() % 1000003) - 500000; break;
        case SHAPE_SORTED: v[i] = 1700000000000000 + (int64_t)i * 977; break;
        case SHAPE_CONST: v[i] = -42; break;
        case SHAPE_RUNS: v[i] = (int64_t)(i / 97) * 3; break;
        case SHAPE_SMALL_NEG: v[i] = -(int64_t)(next_rand() % 100); break;
        case SHAPE_LIMITS: v[i] = (next_rand() & 1) ? INT64_MAX : INT64_MIN; break;
        case SHAPE_MAXW: v[i] = (int64_t)next_rand(); break;
        /* timestamps of whole seconds in microseconds: the scaled frame's case */
        case SHAPE_SECONDS: v[i] = 1700000000000000 + (int64_t)(next_rand() % 100000) * 1000000; break;
        case SHAPE_SCALED_NEG: v[i] = -(int64_t)(next_rand() % 5000) * 7; break;
        /* the largest scale factor over the whole int64 range */
        case SHAPE_SCALED_LIMITS:
            v[i] = (int64_t)((uint64_t)INT64_MIN + (next_rand() & 0xffffffffu) * (uint64_t)UINT32_MAX);
            break;
        }
    }
}

static const enc_codec *all[] = {&enc_const_codec, &enc_for_codec, &enc_rle_codec, &enc_plain_codec,
                                 &enc_fork_codec};

/* Encode with codec c into an exactly-sized heap buffer (so ASan sees any overread). */
static uint8_t *encode(const enc_codec *c, const int64_t *v, uint32_t n, size_t *len)
{
    enc_stats st;
    enc_stats_of(v, n, &st);
    tl_buf b;
    tl_buf_init(&b);
    c->compress(v, &st, &b);
    while (b.len & 7) tl_buf_putc(&b, 0);
    uint8_t *p = malloc(b.len);
    memcpy(p, b.data, b.len);
    *len = b.len;
    tl_buf_free(&b);
    return p;
}

static void check_roundtrip(const int64_t *v, uint32_t n, const char *what)
{
    enc_stats st;
    enc_stats_of(v, n, &st);
    int64_t *out = malloc(sizeof *out * (n + 1));
    uint8_t *keep = malloc(n + 1);
    for (size_t ci = 0; ci < TL_ARRAY_LEN(all); ci++) {
        const enc_codec *c = all[ci];
        if (c->analyze(&st) == SIZE_MAX) continue;
        size_t len;
        uint8_t *buf = encode(c, v, n, &len);
        cr_assert(len <= c->analyze(&st) + 8, "%s/%s: analyze underestimates (%zu > %zu)", what, c->name, len,
                  c->analyze(&st));
        enc_view ev;
        tl_error err = {0};
        cr_assert_eq(enc_open(buf, len, n, &ev, &err), 0, "%s/%s: %s", what, c->name, err.message);
        c->scan(&ev, 0, n, out);
        for (uint32_t i = 0; i < n; i++) cr_assert_eq(out[i], v[i], "%s/%s: row %u", what, c->name, i);
        for (int t = 0; t < 20; t++) {
            uint32_t s = (uint32_t)(next_rand() % n), cnt = (uint32_t)(next_rand() % (n - s)) + 1;
            c->scan(&ev, s, cnt, out);
            for (uint32_t i = 0; i < cnt; i++) cr_assert_eq(out[i], v[s + i], "%s/%s: scan at %u", what, c->name, s);
            cr_assert_eq(c->fetch(&ev, s), v[s], "%s/%s: fetch %u", what, c->name, s);
            int64_t lo = v[next_rand() % n], hi = v[next_rand() % n];
            if (lo > hi) {
                int64_t x = lo;
                lo = hi;
                hi = x;
            }
            if (t == 0) lo = INT64_MIN;
            if (t == 1) hi = INT64_MAX;
            memset(keep, 1, cnt);
            c->filter(&ev, s, cnt, lo, hi, keep);
            for (uint32_t i = 0; i < cnt; i++)
                cr_assert_eq(keep[i], v[s + i] >= lo && v[s + i] <= hi, "%s/%s: filter row %u in [%lld,%lld]", what,
                             c->name, s + i, (long long)lo, (long long)hi);
        }
        free(buf);
    }
    free(out);
    free(keep);
}

Test(codec, roundtrip_every_shape)
{
    uint32_t sizes[] = {1, 2, 63, 64, 65, 2048, 65536};
    int64_t *v = malloc(sizeof *v * 65536);
    for (int shape = 0; shape < NSHAPES; shape++)
        for (size_t k = 0; k < TL_ARRAY_LEN(sizes); k++) {
            fill(shape, v, sizes[k]);
            char what[64];
            snprintf(what, sizeof what, "shape %d n %u", shape, sizes[k]);
            check_roundtrip(v, sizes[k], what);
        }
    free(v);
}

Test(codec, every_bit_width)
{
    int64_t v[300];
    for (unsigned w = 0; w <= 64; w++) {
        for (int i = 0; i < 300; i++) {
            uint64_t x = w == 64 ? next_rand() : (w ? next_rand() & ((UINT64_C(1) << w) - 1) : 0);
            v[i] = (int64_t)(x + 12345);
        }
        v[7] = 12345;
        enc_stats st;
        enc_stats_of(v, 300, &st);
        size_t len;
        uint8_t *buf = encode(&enc_for_codec, v, 300, &len);
        cr_assert(buf[1] <= w + 1, "width %u packed as %u", w, buf[1]);
        char what[32];
        snprintf(what, sizeof what, "width %u", w);
        free(buf);
        check_roundtrip(v, 300, what);
    }
}

Test(codec, chosen_codec_is_cheapest_shape)
{
    int64_t v[4096];
    tl_buf b;
    tl_buf_init(&b);
    fill(SHAPE_CONST, v, 4096);
    cr_assert_eq(enc_compress_best(v, 4096, &b)->id, ENC_CONST);
    fill(SHAPE_RUNS, v, 4096);
    tl_buf_clear(&b);
    cr_assert_eq(enc_compress_best(v, 4096, &b)->id, ENC_RLE);
    fill(SHAPE_RANDOM, v, 4096);
    tl_buf_clear(&b);
    cr_assert_eq(enc_compress_best(v, 4096, &b)->id, ENC_FOR);
    cr_assert(b.len < 4096 * 3, "20-bit values take about 2.5 bytes each, got %zu", b.len);
    fill(SHAPE_MAXW, v, 4096);
    tl_buf_clear(&b);
    cr_assert_eq(enc_compress_best(v, 4096, &b)->id, ENC_PLAIN);
    fill(SHAPE_SECONDS, v, 4096);
    tl_buf_clear(&b);
    cr_assert_eq(enc_compress_best(v, 4096, &b)->id, ENC_FORK);
    cr_assert(b.len < 4096 * 3, "17-bit second offsets take about 2.1 bytes each, got %zu", b.len);
    tl_buf_free(&b);
}

/* Build a segment, return its bytes in an exact-size buffer. */
static uint8_t *segment_bytes(uint32_t n, const uint8_t *nulls, int64_t *v, size_t *len)
{
    int64_t *st[1] = {v};
    seg_col *s = seg_build(SK_INT, n, nulls, st, 1);
    uint8_t *p = malloc(s->len);
    memcpy(p, s->buf, s->len);
    *len = s->len;
    seg_free(s);
    return p;
}

Test(segment, nulls_zone_map_and_all_null)
{
    enum { N = 5000 };
    int64_t v[N], orig[N], out[N];
    uint8_t nulls[N], nout[N];
    for (int i = 0; i < N; i++) {
        orig[i] = v[i] = (int64_t)(next_rand() % 1000);
        nulls[i] = next_rand() % 5 == 0;
    }
    int64_t *st[1] = {v};
    seg_col *s = seg_build(SK_INT, N, nulls, st, 1);
    cr_assert(s->zone_valid);
    int64_t mn = INT64_MAX, mx = INT64_MIN;
    uint32_t nn = 0;
    for (int i = 0; i < N; i++) {
        if (nulls[i]) {
            nn++;
            continue;
        }
        if (orig[i] < mn) mn = orig[i];
        if (orig[i] > mx) mx = orig[i];
    }
    cr_assert_eq(s->zmin, mn);
    cr_assert_eq(s->zmax, mx);
    cr_assert_eq(s->nnull, nn);
    cr_assert(s->ndistinct > 800 && s->ndistinct <= 1000, "distinct estimate %u for 1000 values", s->ndistinct);
    seg_scan(s, 0, 0, N, out);
    seg_nulls(s, 0, N, nout);
    for (int i = 0; i < N; i++) {
        cr_assert_eq(nout[i], nulls[i]);
        if (!nulls[i]) cr_assert_eq(out[i], orig[i]);
    }
    seg_free(s);

    memset(nulls, 1, N);
    s = seg_build(SK_INT, N, nulls, st, 1);
    cr_assert_eq(s->nstreams, 0);
    cr_assert_str_eq(seg_encoding_name(s), "all-null");
    cr_assert(seg_isnull(s, 17));
    cr_assert(s->len <= SEG_HDR);
    seg_free(s);
}

Test(segment, corrupt_buffers_fail_with_xx001)
{
    enum { N = 3000 };
    int64_t v[N];
    uint8_t nulls[N];
    for (int shape = 0; shape < NSHAPES; shape++) {
        fill(shape, v, N);
        for (int i = 0; i < N; i++) nulls[i] = i % 7 == 3;
        size_t len;
        uint8_t *good = segment_bytes(N, nulls, v, &len);
        seg_col s;
        tl_error err = {0};
        /* Every truncation is caught. */
        for (size_t cut = 0; cut < len; cut += (cut < 128 ? 1 : 61)) {
            uint8_t *p = malloc(cut ? cut : 1);
            memcpy(p, good, cut);
            memset(&err, 0, sizeof err);
            cr_assert_eq(seg_open(p, cut, N, &s, &err), -1, "shape %d: truncated to %zu accepted", shape, cut);
            cr_assert_str_eq(err.sqlstate, "XX001");
            free(p);
        }
        /* Random damage: either rejected with XX001, or every read stays inside the buffer. */
        int64_t *out = malloc(sizeof *out * N);
        for (int t = 0; t < 400; t++) {
            uint8_t *p = malloc(len);
            memcpy(p, good, len);
            int flips = 1 + (int)(next_rand() % 4);
            for (int f = 0; f < flips; f++) {
                size_t at = t < 200 ? next_rand() % (len < 96 ? len : 96) : next_rand() % len;
                p[at] ^= (uint8_t)(1u << (next_rand() % 8));
            }
            memset(&err, 0, sizeof err);
            if (seg_open(p, len, N, &s, &err) == 0) {
                for (int k = 0; k < s.nstreams; k++) seg_scan(&s, k, 0, N, out);
                seg_nulls(&s, 0, N, (uint8_t *)out);
            } else {
                cr_assert_str_eq(err.sqlstate, "XX001");
            }
            free(p);
        }
        free(out);
        free(good);
    }
}

/* ---- tables -------------------------------------------------------------------------- */

static tl_vec make_vec(tl_type_id id, uint32_t n, tl_arena *a)
{
    tl_vec v;
    tl_vec_alloc(&v, tl_type_make(id), n, a);
    v.n = n;
    memset(v.nulls, 0, n);
    return v;
}

/* A table of (date, int8, text, numeric, uuid, float8, bool, interval) rows over two
 * months, sealed, read back column by column and row by row. */
Test(table, seal_roundtrip_all_types)
{
    tl_type types[8] = {tl_type_make(TL_DATE), tl_type_make(TL_INT8), tl_type_make(TL_TEXT),
                        tl_type_make(TL_NUMERIC), tl_type_make(TL_UUID), tl_type_make(TL_FLOAT8),
                        tl_type_make(TL_BOOL), tl_type_make(TL_INTERVAL)};
    enum { N = 3 * 65536 + 100 };
    tl_arena a;
    tl_arena_init(&a);
    tl_vec cols[8];
    for (int c = 0; c < 8; c++) cols[c] = make_vec(types[c].id, N, &a);
    char (*strs)[16] = tl_arena_alloc(&a, (size_t)N * 16);
    for (uint32_t i = 0; i < N; i++) {
        cols[0].d.i[i] = tl_ymd_to_date(2025, 1 + (int)(i % 2), 1 + (int)(i % 28));
        cols[1].d.i[i] = i % 3 == 0 ? INT64_MIN + (int64_t)i : (int64_t)next_rand();
        snprintf(strs[i], 16, "s%u", (unsigned)(i % 1000));
        cols[2].d.s[i] = (tl_str){strs[i], (uint32_t)strlen(strs[i])};
        /* mixed scales and one wide mantissa: display scale must survive */
        cols[3].d.n[i] = (tl_numeric){.mant = (tl_i128)(i % 10000), .scale = (int16_t)(i % 3)};
        if (i == 77) cols[3].d.n[i].mant = (tl_i128)INT64_MAX * 1000;
        if (i == 78) cols[3].d.n[i].nan = 1, cols[3].d.n[i].mant = 0, cols[3].d.n[i].scale = 0;
        for (int b = 0; b < 16; b++) cols[4].d.u[i].b[b] = (uint8_t)(b == 0 ? (int)(i % 50) : b);
        cols[5].d.f[i] = (double)i / 7.0;
        cols[6].d.b[i] = i % 5 == 0;
        cols[7].d.iv[i] = (tl_interval){.us = (int64_t)i * 1000, .days = (int32_t)(i % 3), .months = 1};
        for (int c = 1; c < 8; c++) cols[c].nulls[i] = (i * (uint32_t)c) % 11 == 5;
    }
    tl_table *t = tl_table_new(8, types, 0);
    tl_error err = {0};
    for (uint32_t off = 0; off < N; off += 4096) {
        uint32_t m = N - off < 4096 ? N - off : 4096;
        tl_vec sl[8];
        for (int c = 0; c < 8; c++) {
            sl[c] = cols[c];
            sl[c].nulls += off;
            sl[c].d.raw = (char *)sl[c].d.raw + tl_vec_elem_size(types[c].id) * off;
            sl[c].n = m;
        }
        cr_assert_eq(tl_table_append(t, sl, m, NULL, &err), 0);
        tl_table_publish(t);
        tl_table_seal(t);
    }
    tl_table_snap snap;
    tl_table_snapshot(t, &snap, &a);
    cr_assert_eq(tl_table_snap_total(&snap), N);
    size_t sealed_bytes = tl_table_bytes(t);
    cr_assert(sealed_bytes < (size_t)N * 60, "sealed table takes %zu bytes for %u rows", sealed_bytes, N);
    /* Rows of partition p are the input rows with that month, in order. */
    for (uint32_t p = 0; p < snap.nparts; p++) {
        uint32_t *idx = malloc(sizeof *idx * N), m = 0;
        int month = tl_table_part_month(t, p) - 25 * 12 + 1;
        for (uint32_t i = 0; i < N; i++)
            if ((int)(i % 2) + 1 == month) idx[m++] = i;
        cr_assert_eq(snap.rows[p], m);
        for (uint64_t r = 0; r < m; r += 2048) {
            uint32_t cnt = m - r < 2048 ? (uint32_t)(m - r) : 2048;
            for (int c = 0; c < 8; c++) {
                tl_vec out;
                tl_table_read(t, p, c, r, cnt, &out, &a);
                for (uint32_t j = 0; j < cnt; j++) {
                    tl_datum want, got;
                    tl_vec_get(&cols[c], idx[r + j], &want);
                    tl_vec_get(&out, j, &got);
                    cr_assert_eq(got.isnull, want.isnull, "col %d row %u null", c, idx[r + j]);
                    if (want.isnull) continue;
                    if (types[c].id == TL_NUMERIC) {
                        cr_assert(got.v.n.mant == want.v.n.mant && got.v.n.scale == want.v.n.scale &&
                                      got.v.n.nan == want.v.n.nan,
                                  "numeric row %u", idx[r + j]);
                    } else {
                        cr_assert_eq(tl_datum_cmp(types[c].id, &got, &want), 0, "col %d row %u", c, idx[r + j]);
                    }
                    if ((r + j) % 997 == 0) {
                        tl_table_get(t, p, c, r + j, &got);
                        cr_assert_eq(got.isnull, want.isnull);
                        if (!want.isnull && types[c].id != TL_NUMERIC)
                            cr_assert_eq(tl_datum_cmp(types[c].id, &got, &want), 0, "get col %d", c);
                    }
                }
            }
        }
        free(idx);
    }
    tl_arena_free(&a);
    tl_table_free(t);
}

static int cnt_cb_rows;
static void count_cb(void *arg, const tl_storage_stat *st)
{
    (void)arg;
    cnt_cb_rows += (int)st->rows;
}

/* Deletes are invisible until published, dropped by rollback, and selected out. */
Test(table, delete_publish_rollback_and_predicates)
{
    tl_type types[3] = {tl_type_make(TL_DATE), tl_type_make(TL_INT4), tl_type_make(TL_TEXT)};
    enum { N = 70000 };
    tl_arena a;
    tl_arena_init(&a);
    tl_vec cols[3];
    for (int c = 0; c < 3; c++) cols[c] = make_vec(types[c].id, N, &a);
    const char *names[] = {"alpha", "beta", "gamma"};
    for (uint32_t i = 0; i < N; i++) {
        cols[0].d.i[i] = tl_ymd_to_date(2024, 1 + (int)(i / 20000), 1 + (int)(i % 28));
        cols[1].d.i[i] = (int64_t)(i % 1000) - 500;
        cols[1].nulls[i] = i % 13 == 0;
        cols[2].d.s[i] = (tl_str){names[i % 3], (uint32_t)strlen(names[i % 3])};
    }
    tl_table *t = tl_table_new(3, types, 0);
    tl_error err = {0};
    cr_assert_eq(tl_table_append(t, cols, N, NULL, &err), 0);
    tl_table_publish(t);
    tl_table_seal(t);

    tl_table_snap before;
    tl_table_snapshot(t, &before, &a);
    uint32_t p0 = 0;
    for (uint32_t p = 0; p < before.nparts; p++)
        if (tl_table_part_month(t, p) == 24 * 12) p0 = p;
    cr_assert(tl_table_delete(t, p0, 5));
    cr_assert(!tl_table_delete(t, p0, 5), "second delete of a row reports it");
    cr_assert(tl_table_delete(t, p0, 6));
    tl_table_mark m;
    tl_table_mark_take(t, &m);
    tl_table_rollback(t, &m);
    tl_table_mark_release(&m);
    cr_assert(!tl_table_is_deleted(t, p0, 5), "rollback drops pending deletes");
    cr_assert(tl_table_delete(t, p0, 5));
    tl_table_snap mid;
    tl_table_snapshot(t, &mid, &a);
    cr_assert_eq(tl_table_snap_total(&mid), N, "unpublished delete is invisible");
    tl_table_publish(t);
    tl_table_snap after;
    tl_table_snapshot(t, &after, &a);
    cr_assert_eq(tl_table_snap_total(&after), N - 1);
    cr_assert_eq(tl_table_snap_total(&before), N, "an older snapshot keeps its epoch");

    /* Predicates: int range, code equality, month pruning; check against row-by-row. */
    int64_t beta = tl_table_lookup_code(t, 2, "beta", 4);
    cr_assert(beta >= 0);
    cr_assert_eq(tl_table_lookup_code(t, 2, "delta", 5), -1);
    tl_scan_pred preds[3] = {
        {.col = 1, .kind = TL_PRED_RANGE, .lo = -10, .hi = 100},
        {.col = 2, .kind = TL_PRED_RANGE, .lo = beta, .hi = beta},
        {.col = 0, .kind = TL_PRED_RANGE, .lo = tl_ymd_to_date(2024, 2, 1), .hi = tl_ymd_to_date(2024, 2, 29)},
    };
    uint64_t got = 0, want = 0;
    uint32_t sel[TL_VEC_SIZE];
    for (uint32_t p = 0; p < after.nparts; p++) {
        uint64_t r = tl_table_skip(t, &after, p, 0, preds, 3);
        if (tl_table_part_month(t, p) != 24 * 12 + 1) cr_assert_eq(r, after.rows[p], "other months pruned");
        while (r < after.rows[p]) {
            uint32_t n = after.rows[p] - r < TL_VEC_SIZE ? (uint32_t)(after.rows[p] - r) : TL_VEC_SIZE;
            got += tl_table_select(t, &after, p, r, n, preds, 3, sel);
            r += n;
        }
    }
    for (uint32_t i = 0; i < N; i++) {
        int64_t v = cols[1].d.i[i];
        want += !cols[1].nulls[i] && v >= -10 && v <= 100 && i % 3 == 1 && i / 20000 == 1;
    }
    cr_assert_eq(got, want);
    cnt_cb_rows = 0;
    tl_table_storage_stats(t, count_cb, NULL);
    cr_assert_eq(cnt_cb_rows, 3 * N);
    tl_arena_free(&a);
    tl_table_free(t);
}

/* A dictionary of one entry and one of 2^20 entries, sealed and read back. */
Test(table, dictionary_one_and_2_pow_20)
{
    tl_type types[1] = {tl_type_make(TL_TEXT)};
    for (int big = 0; big < 2; big++) {
        uint32_t n = 1u << 20;
        tl_table *t = tl_table_new(1, types, -1);
        tl_arena a;
        tl_arena_init(&a);
        tl_vec v = make_vec(TL_TEXT, 4096, &a);
        char (*s)[12] = tl_arena_alloc(&a, 4096 * 12);
        tl_error err = {0};
        for (uint32_t off = 0; off < n; off += 4096) {
            for (uint32_t i = 0; i < 4096; i++) {
                snprintf(s[i], 12, "k%u", big ? off + i : 0);
                v.d.s[i] = (tl_str){s[i], (uint32_t)strlen(s[i])};
            }
            cr_assert_eq(tl_table_append(t, &v, 4096, NULL, &err), 0);
        }
        tl_table_publish(t);
        tl_table_seal(t);
        cr_assert_eq(tl_dict_size(tl_table_dict(t, 0)), big ? n : 1);
        for (uint32_t r = 0; r < n; r += 40961) {
            tl_datum d;
            tl_table_get(t, 0, 0, r, &d);
            char want[12];
            snprintf(want, 12, "k%u", big ? r : 0);
            cr_assert_eq(d.v.s.len, strlen(want));
            cr_assert(memcmp(d.v.s.ptr, want, d.v.s.len) == 0);
        }
        tl_arena_free(&a);
        tl_table_free(t);
    }
}

/* Compaction: chunks with at least half their rows deleted are rewritten (not while a
 * reader is pinned), live rows read back unchanged (values, NULLs, predicates), the key
 * column keeps deleted rows' values, and the table shrinks. */
Test(table, compaction_rewrites_deleted_chunks)
{
    tl_type types[5] = {tl_type_make(TL_DATE), tl_type_make(TL_INT8), tl_type_make(TL_INT4), tl_type_make(TL_TEXT),
                        tl_type_make(TL_TIMESTAMPTZ)};
    enum { N = 3 * TL_CHUNK_ROWS, NC = 5 };
    tl_arena a;
    tl_arena_init(&a);
    tl_vec cols[NC];
    for (int c = 0; c < NC; c++) cols[c] = make_vec(types[c].id, N, &a);
    const char *names[] = {"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta"};
    for (uint32_t i = 0; i < N; i++) {
        cols[0].d.i[i] = tl_ymd_to_date(2024, 3, 1 + (int)(i % 28));
        cols[1].d.i[i] = (int64_t)i * 7919;
        cols[2].d.i[i] = (int64_t)(next_rand() % 100000) - 50000;
        cols[2].nulls[i] = i % 17 == 3;
        cols[3].d.s[i] = (tl_str){names[i % 7], (uint32_t)strlen(names[i % 7])};
        cols[4].d.i[i] = 1700000000000000 + (int64_t)(next_rand() % 1000000) * 1000000;
        cols[4].nulls[i] = i % 29 == 1;
    }
    tl_table *t = tl_table_new(NC, types, 0);
    tl_table_hint_key(t, 1);
    tl_error err = {0};
    cr_assert_eq(tl_table_append(t, cols, N, NULL, &err), 0);
    tl_table_publish(t);
    tl_table_seal(t);
    /* chunk 0 deleted whole, chunk 1 at 60%, chunk 2 at 10% */
    bool *del = calloc(N, 1);
    for (uint32_t i = 0; i < N; i++) {
        uint32_t k = i / TL_CHUNK_ROWS;
        del[i] = k == 0 || (k == 1 && i % 5 < 3) || (k == 2 && i % 10 == 0);
    }
    tl_arena ra;
    tl_arena_init(&ra);
    tl_table_snap old;
    tl_table_snapshot(t, &old, &ra); /* a reader from before the deletes, still pinned */
    for (uint32_t i = 0; i < N; i++)
        if (del[i]) cr_assert(tl_table_delete(t, 0, i));
    tl_table_publish(t);
    size_t before = tl_table_bytes(t);
    tl_table_compact(t);
    cr_assert_eq(tl_table_compactions(t), 0, "rewritten while a reader from before the deletes was pinned");
    tl_vec v;
    tl_table_read(t, 0, 2, 5, 1, &v, &ra);
    cr_assert(v.nulls ? !v.nulls[0] : true);
    cr_assert_eq(v.d.i[0], cols[2].d.i[5], "the pinned reader sees row 5 as it was");
    tl_arena_free(&ra);
    tl_table_compact(t);
    cr_assert_eq(tl_table_compactions(t), 2, "chunks at 100%% and 60%% deleted are rewritten, 10%% is not");
    size_t after = tl_table_bytes(t);
    cr_assert(after < before - 40000, "compaction saved %zd bytes", (ssize_t)before - (ssize_t)after);

    tl_arena b; /* reads and snapshots (a holds the input) */
    tl_arena_init(&b);
    tl_table_snap snap;
    tl_table_snapshot(t, &snap, &b);
    uint32_t live = 0;
    for (uint32_t i = 0; i < N; i++) live += !del[i];
    cr_assert_eq(tl_table_snap_total(&snap), live);
    /* live rows as they were; a range predicate selects what a plain comparison does */
    tl_scan_pred pr = {.col = 2, .kind = TL_PRED_RANGE, .lo = -1000, .hi = 20000};
    for (uint64_t r = 0; r < N; r += TL_VEC_SIZE) {
        uint32_t sel[TL_VEC_SIZE];
        uint32_t ns = tl_table_select(t, &snap, 0, r, TL_VEC_SIZE, NULL, 0, sel), j = 0;
        for (uint32_t i = 0; i < TL_VEC_SIZE; i++) {
            if (del[r + i]) continue;
            cr_assert(j < ns && sel[j] == i, "live row %u selected", (unsigned)(r + i));
            j++;
        }
        cr_assert_eq(j, ns);
        for (int c = 0; c < NC; c++) {
            tl_table_read(t, 0, c, r, TL_VEC_SIZE, &v, &b);
            for (uint32_t i = 0; i < TL_VEC_SIZE; i++) {
                uint32_t row = (uint32_t)r + i;
                if (del[row] && c != 1) continue;
                tl_datum want, got;
                tl_vec_get(&cols[c], row, &want);
                tl_vec_get(&v, i, &got);
                cr_assert_eq(got.isnull, want.isnull, "col %d row %u null", c, row);
                if (!want.isnull) cr_assert_eq(tl_datum_cmp(types[c].id, &got, &want), 0, "col %d row %u", c, row);
            }
        }
        ns = tl_table_select(t, &snap, 0, r, TL_VEC_SIZE, &pr, 1, sel);
        j = 0;
        for (uint32_t i = 0; i < TL_VEC_SIZE; i++) {
            uint32_t row = (uint32_t)r + i;
            bool want = !del[row] && !cols[2].nulls[row] && cols[2].d.i[row] >= -1000 && cols[2].d.i[row] <= 20000;
            if (!want) continue;
            cr_assert(j < ns && sel[j] == i, "predicate row %u", row);
            j++;
        }
        cr_assert_eq(j, ns, "predicate selected extra rows at %u", (unsigned)r);
        tl_arena_reset(&b);
        tl_table_snapshot(t, &snap, &b);
    }
    /* chunk 2 crosses half: rewritten at the next pass */
    for (uint32_t i = 2 * TL_CHUNK_ROWS; i < N; i++)
        if (!del[i] && i % 2 == 0) {
            cr_assert(tl_table_delete(t, 0, i));
            del[i] = true;
        }
    tl_table_publish(t);
    tl_arena_reset(&b); /* drop the snapshot's pin */
    tl_table_compact(t);
    cr_assert_eq(tl_table_compactions(t), 3);
    tl_table_read(t, 0, 3, 2 * TL_CHUNK_ROWS + 1, 1, &v, &b);
    cr_assert_eq(v.d.s[0].len, strlen(names[(2 * TL_CHUNK_ROWS + 1) % 7]), "a live row of the rewritten chunk");
    free(del);
    tl_arena_free(&b);
    tl_arena_free(&a);
    tl_table_free(t);
}
