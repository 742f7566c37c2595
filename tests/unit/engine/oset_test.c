/*
 * oset_test.c — the chunked ordered multiset behind rollup min/max, percentiles,
 * now()-relative counts and count(distinct), against a plain sorted array: random
 * inserts and deletes with many duplicates (so runs of equal keys straddle chunks),
 * ordered appends (the fresh-chunk path), and the float8 order mapping.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "oset.h"

typedef struct naive {
    int64_t *v;
    size_t n, cap;
} naive;

static void naive_add(naive *a, int64_t x)
{
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 64;
        a->v = realloc(a->v, sizeof *a->v * a->cap);
    }
    size_t i = a->n;
    while (i > 0 && a->v[i - 1] > x) {
        a->v[i] = a->v[i - 1];
        i--;
    }
    a->v[i] = x;
    a->n++;
}

static bool naive_del(naive *a, int64_t x)
{
    for (size_t i = 0; i < a->n; i++)
        if (a->v[i] == x) {
            memmove(&a->v[i], &a->v[i + 1], sizeof *a->v * (a->n - i - 1));
            a->n--;
            return true;
        }
    return false;
}

static void check(const oset *s, const naive *a, int64_t probe)
{
    cr_assert_eq(s->total, (int64_t)a->n);
    int64_t nd = 0;
    for (size_t i = 0; i < a->n; i++) nd += i == 0 || a->v[i] != a->v[i - 1];
    cr_assert_eq(s->ndistinct, nd);
    if (a->n == 0) return;
    cr_assert_eq(oset_min(s), a->v[0]);
    cr_assert_eq(oset_max(s), a->v[a->n - 1]);
    int64_t ge = 0, gt = 0;
    for (size_t i = 0; i < a->n; i++) {
        ge += a->v[i] >= probe;
        gt += a->v[i] > probe;
    }
    cr_assert_eq(oset_count_from(s, probe, false), ge, "count >= %lld", (long long)probe);
    cr_assert_eq(oset_count_from(s, probe, true), gt, "count > %lld", (long long)probe);
    size_t k = (size_t)(probe < 0 ? -probe : probe) % a->n;
    cr_assert_eq(oset_at(s, (int64_t)k), a->v[k]);
}

static void run_random(int range, int steps, unsigned seed)
{
    srand(seed);
    oset s = {0};
    naive a = {0};
    for (int i = 0; i < steps; i++) {
        int64_t x = rand() % range - range / 4;
        if (a.n > 0 && rand() % 3 == 0) {
            int64_t y = a.v[(size_t)rand() % a.n]; /* delete something held */
            cr_assert(oset_del(&s, y));
            cr_assert(naive_del(&a, y));
        } else if (rand() % 50 == 0) {
            cr_assert_eq(oset_del(&s, x), naive_del(&a, x)); /* maybe not held */
        } else {
            oset_add(&s, x);
            naive_add(&a, x);
        }
        if (i % 37 == 0 || a.n < 3) check(&s, &a, rand() % range - range / 4);
    }
    check(&s, &a, 0);
    while (a.n > 0) { /* drain: chunks emptied and removed */
        int64_t y = a.v[(size_t)rand() % a.n];
        cr_assert(oset_del(&s, y));
        naive_del(&a, y);
        if (a.n % 101 == 0) check(&s, &a, y);
    }
    cr_assert_eq(s.total, 0);
    cr_assert_eq(s.nch, 0);
    cr_assert_eq(oset_bytes(&s), 0);
    oset_free(&s);
    free(a.v);
}

Test(oset, random_few_distinct) { run_random(40, 20000, 1); }
Test(oset, random_many_distinct) { run_random(1000000, 20000, 2); }
Test(oset, random_mid) { run_random(3000, 30000, 3); }

Test(oset, ordered_appends_fill_chunks)
{
    oset s = {0};
    naive a = {0};
    for (int64_t i = 0; i < 5000; i++) {
        oset_add(&s, i * 10);
        naive_add(&a, i * 10);
    }
    check(&s, &a, 24995);
    check(&s, &a, 25000);
    /* one late key in the middle splits a full chunk */
    oset_add(&s, 12345);
    naive_add(&a, 12345);
    check(&s, &a, 12345);
    check(&s, &a, 12340);
    cr_assert_lt(oset_bytes(&s), (size_t)5001 * 8 * 3 / 2, "ordered keys stay dense");
    oset_free(&s);
    free(a.v);
}

Test(oset, double_order)
{
    double v[] = {-INFINITY, -1e300, -2.5, -0.0, 0.0, 1e-300, 3.0, 1e300, INFINITY, NAN};
    for (size_t i = 0; i + 1 < sizeof v / sizeof v[0]; i++)
        cr_assert_lt(oset_from_double(v[i]), oset_from_double(v[i + 1]), "%g < %g", v[i], v[i + 1]);
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        double r = oset_to_double(oset_from_double(v[i]));
        if (isnan(v[i])) cr_assert(isnan(r));
        else cr_assert(memcmp(&r, &v[i], sizeof r) == 0);
    }
    cr_assert_eq(oset_from_double(NAN), oset_from_double(-NAN), "every NaN is one key");
}
