/*
 * engine_test.c — the write path's guarantees: month partitions, dictionary codes,
 * snapshots that do not see unpublished rows, and ingest that is all or nothing
 * (NOT NULL, primary key within and across batches, foreign keys), with the key index
 * still right after a rolled-back batch.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "tl_catalog.h"

static tl_vec vec_i64(tl_type t, const int64_t *v, uint32_t n, tl_arena *a)
{
    tl_vec x;
    tl_vec_alloc(&x, t, n, a);
    x.n = n;
    for (uint32_t i = 0; i < n; i++) {
        x.d.i[i] = v[i];
        x.nulls[i] = 0;
    }
    return x;
}

static tl_vec vec_str(const char **v, uint32_t n, tl_arena *a)
{
    tl_vec x;
    tl_vec_alloc(&x, tl_type_make(TL_TEXT), n, a);
    x.n = n;
    for (uint32_t i = 0; i < n; i++) {
        x.nulls[i] = v[i] == NULL;
        x.d.s[i].ptr = v[i] ? v[i] : "";
        x.d.s[i].len = v[i] ? (uint32_t)strlen(v[i]) : 0;
    }
    return x;
}

Test(dict, codes_are_dense_and_stable)
{
    tl_dict *d = tl_dict_new();
    char buf[32];
    for (int i = 0; i < 100000; i++) {
        snprintf(buf, sizeof buf, "user_%d", i);
        cr_assert_eq(tl_dict_intern(d, buf, (uint32_t)strlen(buf)), (uint32_t)i);
    }
    cr_assert_eq(tl_dict_intern(d, "user_42", 7), 42u);
    cr_assert_eq(tl_dict_find(d, "user_99999", 10), 99999);
    cr_assert_eq(tl_dict_find(d, "nope", 4), -1);
    tl_str s = tl_dict_get(d, 12345);
    cr_assert_eq(s.len, 10u);
    cr_assert(memcmp(s.ptr, "user_12345", 10) == 0);
    cr_assert_eq(tl_dict_size(d), 100000u);
    tl_dict_free(d);
}

Test(table, month_partitions_and_visibility)
{
    tl_arena a;
    tl_arena_init(&a);
    tl_type types[2] = {tl_type_make(TL_DATE), tl_type_make(TL_TEXT)};
    tl_table *t = tl_table_new(2, types, 0);
    int64_t days[4] = {tl_ymd_to_date(2025, 1, 31), tl_ymd_to_date(2025, 2, 1), tl_ymd_to_date(2025, 1, 1),
                       tl_ymd_to_date(2024, 12, 31)};
    const char *names[4] = {"a", "b", NULL, "a"};
    tl_vec cols[2] = {vec_i64(types[0], days, 4, &a), vec_str(names, 4, &a)};
    tl_error err;
    tl_error_clear(&err);
    cr_assert_eq(tl_table_append(t, cols, 4, NULL, &err), 0);
    tl_table_snap snap;
    tl_table_snapshot(t, &snap, &a);
    cr_assert_eq(tl_table_snap_total(&snap), 0, "appended rows are invisible before publish");
    tl_table_publish(t);
    tl_table_snapshot(t, &snap, &a);
    cr_assert_eq(snap.nparts, 3u, "three months: 2025-01, 2025-02, 2024-12");
    cr_assert_eq(tl_table_snap_total(&snap), 4u);
    uint64_t jan = 0;
    for (uint32_t p = 0; p < snap.nparts; p++)
        if (tl_table_part_month(t, p) == 25 * 12) jan = snap.rows[p];
    cr_assert_eq(jan, 2u, "both January rows share a partition");
    tl_vec out;
    tl_table_read(t, 0, 1, 0, 2, &out, &a);
    cr_assert_eq(out.d.s[0].len, 1u);
    cr_assert(out.nulls && out.nulls[1], "NULL survives the round trip");
    cr_assert_eq(tl_dict_size(tl_table_dict(t, 1)), 2u, "NULL is not interned, 'a' once");
    /* a rolled back append leaves the published state alone */
    tl_table_mark m;
    tl_table_mark_take(t, &m);
    cr_assert_eq(tl_table_append(t, cols, 4, NULL, &err), 0);
    tl_table_rollback(t, &m);
    tl_table_mark_release(&m);
    tl_table_publish(t);
    tl_table_snapshot(t, &snap, &a);
    cr_assert_eq(tl_table_snap_total(&snap), 4u);
    tl_arena_free(&a); /* snapshots pin the table until their arena goes: free it first */
    tl_table_free(t);
}

/* ---- ingest through the catalog ---------------------------------------------------- */

static tl_engine *eng;
static tl_rel *parent, *child;

static void setup(void)
{
    tl_error err;
    tl_error_clear(&err);
    eng = tl_engine_open(NULL, &err);
    tl_attr pa[2] = {{.name = "id", .type = tl_type_make(TL_INT8)}, {.name = "name", .type = tl_type_make(TL_TEXT)}};
    int pk = 0;
    tl_table_def pd = {.name = "parent", .nsp = TL_NSP_PUBLIC, .natts = 2, .atts = pa, .npk = 1, .pk = &pk, .part_col = -1};
    parent = tl_catalog_create_table(eng, &pd, &err);
    cr_assert_not_null(parent);
    tl_attr ca[2] = {{.name = "cid", .type = tl_type_make(TL_INT8)},
                     {.name = "parent_id", .type = tl_type_make(TL_INT8), .not_null = true}};
    tl_fkey fk = {.name = "child_parent_id_fkey", .ncols = 1, .cols = {1}, .ref_oid = parent->oid, .ref_cols = {0},
                  .on_delete = 'c'};
    tl_table_def cd = {.name = "child", .nsp = TL_NSP_PUBLIC, .natts = 2, .atts = ca, .npk = 1, .pk = &pk,
                       .nfk = 1, .fks = &fk, .part_col = -1};
    child = tl_catalog_create_table(eng, &cd, &err);
    cr_assert_not_null(child);
}

static void teardown(void)
{
    tl_engine_close(eng);
}

static int ingest(tl_rel *r, tl_vec *cols, uint32_t n, tl_error *err)
{
    tl_engine_writer_begin(eng);
    tl_ingest *g = tl_ingest_begin(eng);
    if (tl_ingest_append(g, r, cols, n, err) < 0) {
        tl_ingest_abort(g);
        tl_engine_writer_end(eng);
        return -1;
    }
    uint64_t rows;
    return tl_ingest_commit(g, &rows, err); /* releases the writer mutex */
}

static uint64_t visible(tl_rel *r)
{
    tl_arena a;
    tl_arena_init(&a);
    tl_table_snap s;
    tl_engine_snapshot(eng, &r, 1, &s, &a);
    uint64_t n = tl_table_snap_total(&s);
    tl_arena_free(&a);
    return n;
}

Test(ingest, primary_key_all_or_nothing, .init = setup, .fini = teardown)
{
    tl_arena a;
    tl_arena_init(&a);
    tl_error err;
    tl_error_clear(&err);
    int64_t ids[3] = {1, 2, 3};
    const char *nm[3] = {"x", "y", "z"};
    tl_vec cols[2] = {vec_i64(tl_type_make(TL_INT8), ids, 3, &a), vec_str(nm, 3, &a)};
    cr_assert_eq(ingest(parent, cols, 3, &err), 0);
    /* 4 is new, 2 exists: the whole batch fails and 4 is not left behind */
    int64_t ids2[2] = {4, 2};
    tl_vec c2[2] = {vec_i64(tl_type_make(TL_INT8), ids2, 2, &a), vec_str(nm, 2, &a)};
    cr_assert_eq(ingest(parent, c2, 2, &err), -1);
    cr_assert_str_eq(err.sqlstate, "23505");
    cr_assert_str_eq(err.detail, "Key (id)=(2) already exists.");
    cr_assert_eq(visible(parent), 3u);
    /* the key index forgot 4: inserting it now works, twice in one batch does not */
    tl_error_clear(&err);
    int64_t ids3[1] = {4};
    tl_vec c3[2] = {vec_i64(tl_type_make(TL_INT8), ids3, 1, &a), vec_str(nm, 1, &a)};
    cr_assert_eq(ingest(parent, c3, 1, &err), 0, "%s", err.message);
    int64_t ids4[2] = {9, 9};
    tl_vec c4[2] = {vec_i64(tl_type_make(TL_INT8), ids4, 2, &a), vec_str(nm, 2, &a)};
    cr_assert_eq(ingest(parent, c4, 2, &err), -1);
    cr_assert_str_eq(err.sqlstate, "23505");
    cr_assert_eq(visible(parent), 4u);
    tl_arena_free(&a);
}

Test(ingest, many_keys_survive_index_growth, .init = setup, .fini = teardown)
{
    tl_arena a;
    tl_arena_init(&a);
    tl_error err;
    tl_error_clear(&err);
    enum { N = 2048 };
    for (int round = 0; round < 50; round++) {
        int64_t ids[N];
        const char *nm[N];
        for (int i = 0; i < N; i++) {
            ids[i] = (int64_t)round * N + i;
            nm[i] = "n";
        }
        tl_vec cols[2] = {vec_i64(tl_type_make(TL_INT8), ids, N, &a), vec_str(nm, N, &a)};
        cr_assert_eq(ingest(parent, cols, N, &err), 0, "%s", err.message);
    }
    int64_t dup[1] = {77777};
    const char *nm1[1] = {"n"};
    tl_vec c[2] = {vec_i64(tl_type_make(TL_INT8), dup, 1, &a), vec_str(nm1, 1, &a)};
    cr_assert_eq(ingest(parent, c, 1, &err), -1, "key 77777 from round 37 is still found");
    cr_assert_eq(visible(parent), 50u * N);
    tl_arena_free(&a);
}

Test(ingest, foreign_key_and_not_null, .init = setup, .fini = teardown)
{
    tl_arena a;
    tl_arena_init(&a);
    tl_error err;
    tl_error_clear(&err);
    int64_t ids[1] = {10};
    const char *nm[1] = {"p"};
    tl_vec pc[2] = {vec_i64(tl_type_make(TL_INT8), ids, 1, &a), vec_str(nm, 1, &a)};
    cr_assert_eq(ingest(parent, pc, 1, &err), 0);
    int64_t cid[2] = {1, 2}, pid[2] = {10, 11};
    tl_vec cc[2] = {vec_i64(tl_type_make(TL_INT8), cid, 2, &a), vec_i64(tl_type_make(TL_INT8), pid, 2, &a)};
    cr_assert_eq(ingest(child, cc, 2, &err), -1);
    cr_assert_str_eq(err.sqlstate, "23503");
    cr_assert_str_eq(err.detail, "Key (parent_id)=(11) is not present in table \"parent\".");
    cr_assert_eq(visible(child), 0u);
    tl_error_clear(&err);
    cc[1].nulls[1] = 1;
    cr_assert_eq(ingest(child, cc, 2, &err), -1);
    cr_assert_str_eq(err.sqlstate, "23502");
    cr_assert_eq(visible(child), 0u);
    tl_error_clear(&err);
    pid[1] = 10;
    cc[1] = vec_i64(tl_type_make(TL_INT8), pid, 2, &a);
    cr_assert_eq(ingest(child, cc, 2, &err), 0, "%s", err.message);
    cr_assert_eq(visible(child), 2u);
    tl_error_clear(&err);
    cr_assert_eq(tl_catalog_drop_rel(eng, parent, false, &err), -1, "a referenced table is not dropped");
    cr_assert_str_eq(err.sqlstate, "2BP01");
    tl_arena_free(&a);
}

/* Rows of r the ingest's own writer sees (its pending rows and deletes included). */
static uint64_t own(tl_ingest *g, tl_rel *r)
{
    tl_arena a;
    tl_arena_init(&a);
    tl_table_snap s;
    tl_engine_snapshot_own(eng, g, &r, 1, &s, &a);
    uint64_t n = tl_table_snap_total(&s);
    tl_arena_free(&a);
    return n;
}

/* A transaction block's ingest: savepoints undo appends, key entries and deletes made
 * after them (deletes before them stay), nothing is visible to others before commit. */
Test(ingest, savepoints_undo_exactly_what_follows, .init = setup, .fini = teardown)
{
    tl_arena a;
    tl_arena_init(&a);
    tl_error err;
    tl_error_clear(&err);
    const char *nm[3] = {"x", "y", "z"};
    int64_t base[3] = {1, 2, 3};
    tl_vec b[2] = {vec_i64(tl_type_make(TL_INT8), base, 3, &a), vec_str(nm, 3, &a)};
    cr_assert_eq(ingest(parent, b, 3, &err), 0);

    tl_engine_writer_begin(eng);
    tl_ingest *g = tl_ingest_begin(eng);
    int64_t k4[1] = {4};
    tl_vec c4[2] = {vec_i64(tl_type_make(TL_INT8), k4, 1, &a), vec_str(nm, 1, &a)};
    cr_assert_eq(tl_ingest_append(g, parent, c4, 1, &err), 0);
    uint64_t row0 = 0;
    cr_assert_eq(tl_ingest_delete_rows(g, parent, 0, &row0, 1, &err), 0); /* key 1 */
    cr_assert_eq(tl_ingest_delete_finish(g, &err), 0);
    tl_ingest_statement_end(g);
    tl_ingest_sp *sp = tl_ingest_savepoint(g);
    int64_t k5[2] = {5, 6};
    tl_vec c5[2] = {vec_i64(tl_type_make(TL_INT8), k5, 2, &a), vec_str(nm, 2, &a)};
    cr_assert_eq(tl_ingest_append(g, parent, c5, 2, &err), 0);
    uint64_t row1 = 1;
    cr_assert_eq(tl_ingest_delete_rows(g, parent, 0, &row1, 1, &err), 0); /* key 2 */
    cr_assert_eq(own(g, parent), 4u); /* 2, 3, 4 gone 1, + 5, 6 gone 2 */
    cr_assert_eq(visible(parent), 3u, "nothing is published before commit");
    tl_ingest_rollback_to(g, sp);
    cr_assert_eq(own(g, parent), 3u, "3 rows: 2, 3, 4 (1 stays deleted, 2 is back)");
    /* key 5 was forgotten, key 4 and the deleted key 1 are as before the savepoint */
    int64_t k51[3] = {5, 1, 2};
    tl_vec c51[2] = {vec_i64(tl_type_make(TL_INT8), k51, 1, &a), vec_str(nm, 1, &a)};
    cr_assert_eq(tl_ingest_append(g, parent, c51, 1, &err), 0, "%s", err.message);
    c51[0] = vec_i64(tl_type_make(TL_INT8), k51 + 1, 1, &a);
    cr_assert_eq(tl_ingest_append(g, parent, c51, 1, &err), 0, "key 1 was deleted before the savepoint");
    c51[0] = vec_i64(tl_type_make(TL_INT8), k51 + 2, 1, &a);
    cr_assert_eq(tl_ingest_append(g, parent, c51, 1, &err), -1, "key 2 is live again");
    cr_assert_str_eq(err.sqlstate, "23505");
    tl_ingest_rollback_to(g, NULL);
    cr_assert_eq(own(g, parent), 3u);
    tl_error_clear(&err);
    cr_assert_eq(tl_ingest_append(g, parent, c4, 1, &err), 0, "%s", err.message);
    tl_ingest_sp_free(sp);
    uint64_t rows;
    cr_assert_eq(tl_ingest_commit(g, &rows, &err), 0);
    cr_assert_eq(visible(parent), 4u);
    tl_arena_free(&a);
}
