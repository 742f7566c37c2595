/*
 * ddl.c — CREATE TABLE / TYPE ... AS ENUM / INDEX and DROP, bound against the catalog
 * with PostgreSQL's checks and messages. Runs under the exclusive catalog lock.
 *
 * CREATE INDEX is accepted and recorded (it shows in catalogs) but builds nothing: every
 * column is already scanned in vectors and pruned by partition; zone-map pruning is the
 * storage issue's. A UNIQUE index is refused, since it would have to be enforced.
 */
#include "query_int.h"
#include "tl_roles.h"

#include <stdlib.h>
#include <string.h>

static uint32_t rv_namespace(PgQuery__RangeVar *rv, tl_error *err)
{
    if (!rv->schemaname || !*rv->schemaname) return TL_NSP_PUBLIC;
    uint32_t nsp = tl_catalog_nsp_oid(rv->schemaname);
    if (!nsp) err_at(err, rv->location, "3F000", "schema \"%s\" does not exist", rv->schemaname);
    return nsp;
}

static int att_index(const tl_attr *atts, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(atts[i].name, name)) return i;
    return -1;
}

/* IF NOT EXISTS on an existing relation: PostgreSQL's NOTICE 42P07, then success. */
static int notice_skip(qctx *q, const char *fmt, const char *name)
{
    if (!q->sink || !q->sink->notice) return 0;
    tl_error n;
    tl_error_clear(&n);
    tl_errorf(&n, "42P07", fmt, name);
    n.severity = TL_SEV_NOTICE;
    q->sink->notice(q->sink->ctx, &n);
    return 0;
}

/* Resolve a foreign key's referenced table and columns: they must be its primary key. */
static int bind_fkey(qctx *q, const char *table, tl_attr *atts, int natts, PgQuery__Constraint *c,
                     const int *cols, int ncols, tl_fkey *fk, tl_error *err)
{
    uint32_t nsp = rv_namespace(c->pktable, err);
    if (!nsp) return -1;
    tl_rel *ref = tl_catalog_find_rel(q->eng, nsp, c->pktable->relname);
    if (!ref || ref->kind != TL_REL_TABLE)
        return err_at(err, c->pktable->location, "42P01", "relation \"%s\" does not exist", c->pktable->relname);
    fk->ncols = ncols;
    memcpy(fk->cols, cols, sizeof(int) * (size_t)ncols);
    fk->ref_oid = ref->oid;
    if (c->n_pk_attrs == 0) {
        if (ref->npk == 0)
            return err_at(err, c->location, "42830", "there is no primary key for referenced table \"%s\"", ref->name);
        if (ref->npk != ncols)
            return err_at(err, c->location, "42830", "number of referencing and referenced columns for foreign key disagree");
        memcpy(fk->ref_cols, ref->pk, sizeof(int) * (size_t)ncols);
    } else {
        if ((int)c->n_pk_attrs != ncols)
            return err_at(err, c->location, "42830", "number of referencing and referenced columns for foreign key disagree");
        for (int i = 0; i < ncols; i++) {
            const char *nm = pn_str(c->pk_attrs[i]);
            int a = -1;
            for (int k = 0; k < ref->natts; k++)
                if (!strcmp(ref->atts[k].name, nm)) a = k;
            if (a < 0)
                return err_at(err, c->location, "42703", "column \"%s\" referenced in foreign key constraint does not exist", nm);
            fk->ref_cols[i] = a;
        }
        bool is_pk = ref->npk == ncols;
        for (int i = 0; i < ncols && is_pk; i++) is_pk = ref->pk[i] == fk->ref_cols[i];
        if (!is_pk)
            return err_at(err, c->location, "42830",
                          "there is no unique constraint matching given keys for referenced table \"%s\"", ref->name);
    }
    for (int i = 0; i < ncols; i++) {
        tl_type a = atts[cols[i]].type, b = ref->atts[fk->ref_cols[i]].type;
        if (a.id != b.id && !(tl_type_is_string(a.id) && tl_type_is_string(b.id)))
            return err_at(err, c->location, "42804",
                          "foreign key constraint \"%s_%s_fkey\" cannot be implemented", table, atts[cols[i]].name);
    }
    fk->on_delete = c->fk_del_action && *c->fk_del_action ? c->fk_del_action[0] : 'a';
    char *name;
    if (c->conname && *c->conname) {
        name = c->conname;
    } else {
        tl_buf b;
        tl_buf_init(&b);
        tl_buf_puts(&b, table);
        for (int i = 0; i < ncols; i++) tl_buf_printf(&b, "_%s", atts[cols[i]].name);
        tl_buf_puts(&b, "_fkey");
        name = tl_arena_strdup(&q->arena, b.data);
        tl_buf_free(&b);
    }
    fk->name = name;
    (void)natts;
    return 0;
}

int exec_create_table(qctx *q, PgQuery__CreateStmt *st, tl_error *err)
{
    PgQuery__RangeVar *rv = st->relation;
    bool temp = rv->relpersistence && rv->relpersistence[0] == 't';
    uint32_t nsp = rv_namespace(rv, err);
    if (!nsp) return -1;
    if (temp) {
        /* CREATE TEMP TABLE: the session's own schema, dropped when it ends */
        if (rv->schemaname && *rv->schemaname && !TL_NSP_IS_TEMP(nsp))
            return err_at(err, rv->location, "42P16", "cannot create temporary relation in non-temporary schema");
        if (!q->s->temp_nsp) q->s->temp_nsp = tl_catalog_new_temp_nsp(q->eng);
        tl_catalog_set_temp_nsp(q->s->temp_nsp);
        nsp = q->s->temp_nsp;
        if (tl_catalog_find_rel(q->eng, nsp, rv->relname)) {
            if (st->if_not_exists) return notice_skip(q, "relation \"%s\" already exists, skipping", rv->relname);
            return err_at(err, rv->location, "42P07", "relation \"%s\" already exists", rv->relname);
        }
    } else if (nsp != TL_NSP_PUBLIC) return err_at(err, rv->location, "42501", "permission denied to create \"%s.%s\"", rv->schemaname, rv->relname);
    if (!temp && (tl_catalog_find_rel(q->eng, nsp, rv->relname) || tl_catalog_find_enum(q->eng, nsp, rv->relname))) {
        if (st->if_not_exists) return notice_skip(q, "relation \"%s\" already exists, skipping", rv->relname);
        return err_at(err, rv->location, "42P07", "relation \"%s\" already exists", rv->relname);
    }
    if (st->n_inh_relations || st->partspec || st->of_typename)
        return err_at(err, rv->location, "0A000", "inheritance, partitioning clauses and typed tables are not supported");
    int cap = (int)st->n_table_elts + 1, natts = 0, npk = 0, nfk = 0;
    tl_attr *atts = tl_arena_zalloc(&q->arena, sizeof *atts * (size_t)cap);
    int pk[TL_MAX_KEY_COLS];
    tl_fkey *fks = tl_arena_zalloc(&q->arena, sizeof *fks * (size_t)(cap * 2));
    pnode **defaults = tl_arena_zalloc(&q->arena, sizeof *defaults * (size_t)cap);
    /* columns first, so table constraints can name any of them */
    for (size_t e = 0; e < st->n_table_elts; e++) {
        pnode *n = st->table_elts[e];
        if (n->node_case != PG_QUERY__NODE__NODE_COLUMN_DEF) continue;
        PgQuery__ColumnDef *cd = n->column_def;
        if (att_index(atts, natts, cd->colname) >= 0)
            return err_at(err, cd->location, "42701", "column \"%s\" specified more than once", cd->colname);
        tl_attr *a = &atts[natts];
        a->name = cd->colname;
        if (type_from_typename(q, cd->type_name, &a->type, err) < 0) return -1;
        if (a->type.id == TL_VOID || a->type.id == TL_UNKNOWN)
            return err_at(err, cd->location, "42P16", "column \"%s\" has pseudo-type %s", cd->colname, tl_type_name(a->type.id));
        a->not_null = cd->is_not_null;
        if (cd->raw_default) defaults[natts] = cd->raw_default;
        natts++;
    }
    if (natts > 1600) return err_at(err, rv->location, "54011", "tables can have at most 1600 columns");
    for (size_t e = 0; e < st->n_table_elts; e++) {
        pnode *n = st->table_elts[e];
        if (n->node_case == PG_QUERY__NODE__NODE_COLUMN_DEF) {
            PgQuery__ColumnDef *cd = n->column_def;
            int ai = att_index(atts, natts, cd->colname);
            tl_attr *a = &atts[ai];
            for (size_t k = 0; k < cd->n_constraints; k++) {
                PgQuery__Constraint *c = cd->constraints[k]->constraint;
                switch (c->contype) {
                case PG_QUERY__CONSTR_TYPE__CONSTR_NOTNULL: a->not_null = true; break;
                case PG_QUERY__CONSTR_TYPE__CONSTR_NULL: break;
                case PG_QUERY__CONSTR_TYPE__CONSTR_DEFAULT:
                    if (defaults[ai] && defaults[ai] != c->raw_expr)
                        return err_at(err, c->location, "42601", "multiple default values specified for column \"%s\" of table \"%s\"",
                                      a->name, rv->relname);
                    defaults[ai] = c->raw_expr;
                    break;
                case PG_QUERY__CONSTR_TYPE__CONSTR_GENERATED: {
                    char *g = deparse_expr(q, c->raw_expr, err);
                    if (!g) return -1;
                    a->generated_sql = g;
                    break;
                }
                case PG_QUERY__CONSTR_TYPE__CONSTR_PRIMARY:
                    if (npk) return err_at(err, c->location, "42P16", "multiple primary keys for table \"%s\" are not allowed", rv->relname);
                    pk[npk++] = ai;
                    a->not_null = true;
                    break;
                case PG_QUERY__CONSTR_TYPE__CONSTR_FOREIGN:
                    if (bind_fkey(q, rv->relname, atts, natts, c, &ai, 1, &fks[nfk], err) < 0) return -1;
                    nfk++;
                    break;
                default:
                    return err_at(err, c->location, "0A000", "this column constraint is not supported yet");
                }
            }
        } else if (n->node_case == PG_QUERY__NODE__NODE_CONSTRAINT) {
            PgQuery__Constraint *c = n->constraint;
            if (c->contype == PG_QUERY__CONSTR_TYPE__CONSTR_PRIMARY) {
                if (npk) return err_at(err, c->location, "42P16", "multiple primary keys for table \"%s\" are not allowed", rv->relname);
                if (c->n_keys > TL_MAX_KEY_COLS) return err_at(err, c->location, "54011", "too many key columns");
                for (size_t k = 0; k < c->n_keys; k++) {
                    const char *nm = pn_str(c->keys[k]);
                    int ai = att_index(atts, natts, nm);
                    if (ai < 0) return err_at(err, c->location, "42703", "column \"%s\" named in key does not exist", nm);
                    pk[npk++] = ai;
                    atts[ai].not_null = true;
                }
            } else if (c->contype == PG_QUERY__CONSTR_TYPE__CONSTR_FOREIGN) {
                int cols[TL_MAX_KEY_COLS];
                if (c->n_fk_attrs > TL_MAX_KEY_COLS) return err_at(err, c->location, "54011", "too many key columns");
                for (size_t k = 0; k < c->n_fk_attrs; k++) {
                    const char *nm = pn_str(c->fk_attrs[k]);
                    cols[k] = att_index(atts, natts, nm);
                    if (cols[k] < 0)
                        return err_at(err, c->location, "42703", "column \"%s\" referenced in foreign key constraint does not exist", nm);
                }
                if (bind_fkey(q, rv->relname, atts, natts, c, cols, (int)c->n_fk_attrs, &fks[nfk], err) < 0) return -1;
                nfk++;
            } else {
                return err_at(err, c->location, "0A000", "this table constraint is not supported yet");
            }
        } else {
            return err_at(err, -1, "0A000", "LIKE and other table elements are not supported yet");
        }
    }
    /* Defaults and generation expressions must bind against the new columns. */
    tl_rel tmp;
    memset(&tmp, 0, sizeof tmp);
    tmp.name = rv->relname;
    tmp.natts = natts;
    tmp.atts = atts;
    for (int i = 0; i < natts; i++) {
        if (defaults[i]) {
            if (atts[i].generated_sql)
                return err_at(err, -1, "42601", "both default and generation expression specified for column \"%s\" of table \"%s\"",
                              atts[i].name, rv->relname);
            tl_expr *e = bind_rel_expr(q, NULL, defaults[i], err);
            if (!e) return -1;
            if (!cast_expr(q, e, atts[i].type, false, err)) return -1;
            if (!(atts[i].default_sql = deparse_expr(q, defaults[i], err))) return -1;
        }
        if (atts[i].generated_sql) {
            PgQueryProtobufParseResult pr;
            char *sql = tl_arena_printf(&q->arena, "SELECT %s", atts[i].generated_sql);
            pr = pg_query_parse_protobuf(sql);
            if (pr.error) {
                pg_query_free_protobuf_parse_result(pr);
                return err_at(err, -1, "42601", "cannot re-read generation expression of column \"%s\"", atts[i].name);
            }
            PgQuery__ParseResult *res = pg_query__parse_result__unpack(NULL, pr.parse_tree.len, (const uint8_t *)pr.parse_tree.data);
            pg_query_free_protobuf_parse_result(pr);
            tl_expr *e = bind_rel_expr(q, &tmp, res->stmts[0]->stmt->select_stmt->target_list[0]->res_target->val, err);
            bool refs_generated = false;
            for (int k = 0; e && k < natts; k++) (void)k;
            pg_query__parse_result__free_unpacked(res, NULL);
            if (!e) return -1;
            if (refs_generated) return err_at(err, -1, "42P17", "cannot use generated column in column generation expression");
            if (!cast_expr(q, e, atts[i].type, false, err)) return -1;
        }
    }
    tl_table_def def = {.name = rv->relname, .nsp = nsp, .natts = natts, .atts = atts, .npk = npk, .pk = pk,
                        .nfk = nfk, .fks = fks, .part_col = -1};
    /* Facts are partitioned by the month of their date key (DESIGN.md). */
    int dk = att_index(atts, natts, "date_key");
    if (dk >= 0 && atts[dk].type.id == TL_DATE) def.part_col = dk;
    tl_rel *made = tl_catalog_create_table(q->eng, &def, err);
    if (!made) return -1;
    if (temp) {
        /* its creator owns it: every privilege, whoever the creator is */
        tl_role *who = tl_catalog_find_role(q->eng, acl_current_user(q->s));
        if (who && !who->superuser) tl_acl_change(q->eng, who->oid, TL_OBJ_REL, made->oid, TL_ACL_ALL_REL, true);
    }
    return 0;
}

int exec_create_enum(qctx *q, PgQuery__CreateEnumStmt *st, tl_error *err)
{
    const char *name = pn_str(st->type_name[st->n_type_name - 1]);
    uint32_t nsp = TL_NSP_PUBLIC;
    if (st->n_type_name == 2) {
        nsp = tl_catalog_nsp_oid(pn_str(st->type_name[0]));
        if (!nsp) return tl_errorf(err, "3F000", "schema \"%s\" does not exist", pn_str(st->type_name[0]));
    }
    const char **labels = tl_arena_alloc(&q->arena, sizeof *labels * (st->n_vals + 1));
    for (size_t i = 0; i < st->n_vals; i++) {
        labels[i] = pn_str(st->vals[i]);
        if (strlen(labels[i]) > 63)
            return tl_errorf(err, "42602", "invalid enum label \"%s\"", labels[i]);
    }
    if (!tl_catalog_create_enum(q->eng, name, nsp, (int)st->n_vals, labels, err)) return -1;
    return 0;
}

int exec_create_index(qctx *q, PgQuery__IndexStmt *st, tl_error *err)
{
    PgQuery__RangeVar *rv = st->relation;
    uint32_t nsp = rv_namespace(rv, err);
    if (!nsp) return -1;
    tl_rel *t = tl_catalog_find_rel(q->eng, nsp, rv->relname);
    if (!t || (t->kind != TL_REL_TABLE && t->kind != TL_REL_MATVIEW))
        return err_at(err, rv->location, "42P01", "relation \"%s\" does not exist", rv->relname);
    /* Unique indexes on materialized views are what REFRESH ... CONCURRENTLY asks for; a
     * view's group keys are unique by construction. Elsewhere they are not enforced yet. */
    if (st->unique && t->kind != TL_REL_MATVIEW)
        return err_at(err, rv->location, "0A000", "unique indexes are not supported yet");
    int cols[TL_MAX_INDEX_COLS], n = 0;
    if (st->n_index_params + st->n_index_including_params > TL_MAX_INDEX_COLS)
        return err_at(err, rv->location, "54011", "cannot use more than %d columns in an index", TL_MAX_INDEX_COLS);
    tl_buf def, nm;
    tl_buf_init(&def);
    tl_buf_init(&nm);
    tl_buf_puts(&nm, t->name);
    for (size_t i = 0; i < st->n_index_params; i++) {
        PgQuery__IndexElem *ie = st->index_params[i]->index_elem;
        if (!ie->name) {
            tl_buf_free(&def);
            tl_buf_free(&nm);
            return err_at(err, rv->location, "0A000", "expression indexes are not supported yet");
        }
        int a = -1;
        for (int k = 0; k < t->natts; k++)
            if (!strcmp(t->atts[k].name, ie->name)) a = k;
        if (a < 0) {
            tl_buf_free(&def);
            tl_buf_free(&nm);
            return tl_errorf(err, "42703", "column \"%s\" does not exist", ie->name);
        }
        cols[n++] = a;
        tl_buf_printf(&def, "%s%s", i ? ", " : "", ie->name);
        tl_buf_printf(&nm, "_%s", ie->name);
    }
    tl_buf_puts(&nm, "_idx");
    const char *name = st->idxname && *st->idxname ? st->idxname : nm.data;
    if (tl_catalog_find_rel(q->eng, nsp, name) && st->if_not_exists) {
        tl_buf_free(&def);
        tl_buf_free(&nm);
        return 0;
    }
    char *full = tl_arena_printf(&q->arena, "CREATE INDEX %s ON public.%s USING btree (%s)", name, t->name,
                                 def.data ? def.data : "");
    if (st->n_index_including_params) {
        tl_buf inc;
        tl_buf_init(&inc);
        for (size_t i = 0; i < st->n_index_including_params; i++) {
            PgQuery__IndexElem *ie = st->index_including_params[i]->index_elem;
            int a = -1;
            for (int k = 0; ie->name && k < t->natts; k++)
                if (!strcmp(t->atts[k].name, ie->name)) a = k;
            if (a < 0) {
                tl_buf_free(&inc);
                tl_buf_free(&def);
                tl_buf_free(&nm);
                return ie->name ? tl_errorf(err, "42703", "column \"%s\" does not exist", ie->name)
                                : err_at(err, rv->location, "0A000", "expressions are not supported in included columns");
            }
            cols[n + (int)i] = a;
            tl_buf_printf(&inc, "%s%s", i ? ", " : "", ie->name);
        }
        full = tl_arena_printf(&q->arena, "%s INCLUDE (%s)", full, inc.data);
        tl_buf_free(&inc);
    }
    tl_rel *ix = tl_catalog_create_index(q->eng, name, t, n + (int)st->n_index_including_params, n, cols,
                                         st->unique, full, err);
    tl_buf_free(&def);
    tl_buf_free(&nm);
    return ix ? 0 : -1;
}

int exec_drop(qctx *q, PgQuery__DropStmt *st, const char **tag, tl_error *err)
{
    bool cascade = st->behavior == PG_QUERY__DROP_BEHAVIOR__DROP_CASCADE;
    const char *kind;
    switch (st->remove_type) {
    case PG_QUERY__OBJECT_TYPE__OBJECT_TABLE: *tag = "DROP TABLE"; kind = "table"; break;
    case PG_QUERY__OBJECT_TYPE__OBJECT_INDEX: *tag = "DROP INDEX"; kind = "index"; break;
    case PG_QUERY__OBJECT_TYPE__OBJECT_TYPE: *tag = "DROP TYPE"; kind = "type"; break;
    case PG_QUERY__OBJECT_TYPE__OBJECT_VIEW: *tag = "DROP VIEW"; kind = "view"; break;
    default: return tl_errorf(err, "0A000", "this DROP is not supported yet");
    }
    /* Check everything first: DROP of several objects is all or nothing. */
    int n = (int)st->n_objects;
    void **objs = tl_arena_zalloc(&q->arena, sizeof *objs * (size_t)(n + 1));
    for (int i = 0; i < n; i++) {
        pnode *o = st->objects[i];
        const char *schema = NULL, *name = NULL;
        if (o->node_case == PG_QUERY__NODE__NODE_LIST) {
            PgQuery__List *l = o->list;
            name = pn_str(l->items[l->n_items - 1]);
            if (l->n_items > 1) schema = pn_str(l->items[l->n_items - 2]);
        } else if (o->node_case == PG_QUERY__NODE__NODE_TYPE_NAME) {
            PgQuery__TypeName *tn = o->type_name;
            name = pn_str(tn->names[tn->n_names - 1]);
            if (tn->n_names > 1) schema = pn_str(tn->names[tn->n_names - 2]);
        }
        if (!name) return tl_errorf(err, "42601", "bad object name in DROP");
        uint32_t nsp = schema ? tl_catalog_nsp_oid(schema) : TL_NSP_PUBLIC;
        if (st->remove_type == PG_QUERY__OBJECT_TYPE__OBJECT_TYPE) {
            tl_enum *en = nsp ? tl_catalog_find_enum(q->eng, nsp, name) : NULL;
            if (!en && !st->missing_ok) return tl_errorf(err, "42704", "type \"%s\" does not exist", name);
            objs[i] = en;
        } else {
            tl_rel *r = nsp ? tl_catalog_find_rel(q->eng, nsp, name) : NULL;
            tl_relkind want = st->remove_type == PG_QUERY__OBJECT_TYPE__OBJECT_TABLE  ? TL_REL_TABLE
                              : st->remove_type == PG_QUERY__OBJECT_TYPE__OBJECT_VIEW ? TL_REL_VIEW
                                                                                        : TL_REL_INDEX;
            if (r && (r->kind != want || (want == TL_REL_VIEW && !matview_is_plain_view(r)))) {
                tl_errorf(err, "42809", "\"%s\" is not %s", name,
                          want == TL_REL_TABLE ? "a table" : want == TL_REL_VIEW ? "a view" : "an index");
                const char *use = r->kind == TL_REL_TABLE     ? "Use DROP TABLE to remove a table."
                                  : r->kind == TL_REL_VIEW    ? "Use DROP VIEW to remove a view."
                                  : r->kind == TL_REL_MATVIEW ? "Use DROP MATERIALIZED VIEW to remove a materialized view."
                                  : r->kind == TL_REL_INDEX   ? "Use DROP INDEX to remove an index."
                                                              : "";
                snprintf(err->hint, sizeof err->hint, "%s", use);
                return -1;
            }
            if (!r && !st->missing_ok) return tl_errorf(err, "42P01", "%s \"%s\" does not exist", kind, name);
            if (!r) {
                char msg[200];
                snprintf(msg, sizeof msg, "%s \"%s\" does not exist, skipping", kind, name);
                q_notice(q->sink, "00000", msg);
            }
            objs[i] = r;
        }
    }
    for (int i = 0; i < n; i++) {
        if (!objs[i]) continue;
        int rc = st->remove_type == PG_QUERY__OBJECT_TYPE__OBJECT_TYPE
                     ? tl_catalog_drop_enum(q->eng, objs[i], err)
                     : tl_catalog_drop_rel(q->eng, objs[i], cascade, err);
        if (rc < 0) return -1;
    }
    return 0;
}

/* COMMENT ON TABLE | VIEW | MATERIALIZED VIEW | COLUMN: the text goes to pg_description
 * (obj_description, col_description, psql's \d+ and \dt+); IS NULL removes it. */
int exec_comment(qctx *q, PgQuery__CommentStmt *st, tl_error *err)
{
    PgQuery__ObjectType t = st->objtype;
    bool column = t == PG_QUERY__OBJECT_TYPE__OBJECT_COLUMN;
    if (!column && t != PG_QUERY__OBJECT_TYPE__OBJECT_TABLE && t != PG_QUERY__OBJECT_TYPE__OBJECT_VIEW &&
        t != PG_QUERY__OBJECT_TYPE__OBJECT_MATVIEW)
        return tl_errorf(err, "0A000", "COMMENT ON this kind of object is not supported");
    if (!st->object || st->object->node_case != PG_QUERY__NODE__NODE_LIST)
        return tl_errorf(err, "42601", "syntax error in COMMENT");
    PgQuery__List *l = st->object->list;
    size_t nn = l->n_items, nrel = column ? nn - 1 : nn;
    if (nrel < 1 || nrel > 2) return tl_errorf(err, "42601", "improper relation name (too many dotted names)");
    const char *schema = nrel == 2 ? pn_str(l->items[0]) : NULL;
    const char *name = pn_str(l->items[nrel - 1]);
    uint32_t nsp = schema ? tl_catalog_nsp_oid(schema) : TL_NSP_PUBLIC;
    if (!nsp) return tl_errorf(err, "3F000", "schema \"%s\" does not exist", schema);
    tl_rel *r = name ? tl_catalog_find_rel(q->eng, nsp, name) : NULL;
    if (!r) return tl_errorf(err, "42P01", "relation \"%s\" does not exist", name ? name : "");
    static const char *const what[] = {"table", "view", "materialized view"};
    int want = t == PG_QUERY__OBJECT_TYPE__OBJECT_VIEW ? 1 : t == PG_QUERY__OBJECT_TYPE__OBJECT_MATVIEW ? 2 : 0;
    int have = r->kind == TL_REL_VIEW ? 1 : r->kind == TL_REL_MATVIEW ? 2 : r->kind == TL_REL_TABLE ? 0 : -1;
    if (!column && have != want) return tl_errorf(err, "42809", "\"%s\" is not a %s", r->name, what[want]);
    int32_t sub = 0;
    if (column) {
        const char *col = pn_str(l->items[nn - 1]);
        int a = col ? att_index(r->atts, r->natts, col) : -1;
        if (a < 0)
            return tl_errorf(err, "42703", "column \"%s\" of relation \"%s\" does not exist", col ? col : "", r->name);
        sub = a + 1;
    }
    return tl_catalog_set_description(q->eng, r->oid, 1259, sub, st->comment, err);
}

/* ---- CREATE TABLE AS --------------------------------------------------------------------------
 * The SELECT's result columns (names, types with their typmods) become the new table's, then
 * INSERT … SELECT fills it. The steps are ordinary statements that take their own locks (this
 * runs before run_statement locks anything); a fill that fails drops the new table again, so
 * the statement leaves nothing behind. */

typedef struct ctas {
    qctx *q;
    PgQuery__IntoClause *into;
    tl_buf cols;
    int ncols;
    uint64_t rows;
} ctas;

static int ctas_describe(void *ctx, int n, const tl_coldesc *c)
{
    ctas *a = ctx;
    for (int i = 0; i < n; i++) {
        const char *name = c[i].name;
        if ((size_t)i < a->into->n_col_names) name = pn_str(a->into->col_names[i]);
        /* an untyped literal column becomes text, as in PostgreSQL 10 and later */
        uint32_t oid = c[i].type_oid == TL_OID_UNKNOWN ? TL_OID_TEXT : c[i].type_oid;
        const char *type = type_name_with_typmod(a->q, oid, c[i].typmod);
        if (i) tl_buf_puts(&a->cols, ", ");
        cat_quote_ident(name ? name : "?column?", (uint32_t)strlen(name ? name : "?column?"), &a->cols);
        tl_buf_putc(&a->cols, ' ');
        tl_buf_puts(&a->cols, type ? type : "text");
    }
    a->ncols = n;
    return 0;
}

static int ctas_complete(void *ctx, const char *tag)
{
    ctas *a = ctx;
    unsigned long long oid, n;
    if (sscanf(tag, "INSERT %llu %llu", &oid, &n) == 2) a->rows = n;
    return 0;
}

int exec_create_table_as(qctx *q, PgQuery__CreateTableAsStmt *st, tl_sink *sink, const char **tag, char *tagbuf,
                         size_t tagsize, tl_error *err)
{
    PgQuery__IntoClause *into = st->into;
    PgQuery__RangeVar *rv = into->rel;
    *tag = "CREATE TABLE AS";
    if (!st->query || st->query->node_case != PG_QUERY__NODE__NODE_SELECT_STMT)
        return err_at(err, rv->location, "0A000", "CREATE TABLE AS supports only a SELECT");
    bool temp = rv->relpersistence && rv->relpersistence[0] == 't';
    if (!temp) {
        uint32_t nsp = rv->schemaname && *rv->schemaname ? tl_catalog_nsp_oid(rv->schemaname) : TL_NSP_PUBLIC;
        if (nsp && st->if_not_exists && tl_catalog_find_rel(q->eng, nsp, rv->relname)) {
            char msg[200];
            snprintf(msg, sizeof msg, "relation \"%s\" already exists, skipping", rv->relname);
            q_notice(sink, "42P07", msg);
            return 0;
        }
    }
    char *sel = deparse_select(st->query);
    if (!sel) return err_at(err, rv->location, "XX000", "could not deparse the query of CREATE TABLE AS");
    tl_buf name;
    tl_buf_init(&name);
    if (rv->schemaname && *rv->schemaname) {
        cat_quote_ident(rv->schemaname, (uint32_t)strlen(rv->schemaname), &name);
        tl_buf_putc(&name, '.');
    }
    cat_quote_ident(rv->relname, (uint32_t)strlen(rv->relname), &name);
    tl_buf_putc(&name, '\0');

    ctas a = {.q = q, .into = into};
    tl_buf_init(&a.cols);
    tl_sink s = *sink;
    sink_make_quiet(&s);
    s.ctx = &a;
    s.describe = ctas_describe;
    s.notice = NULL;
    int rc = run_sql_text(q, tl_arena_printf(&q->arena, "SELECT * FROM (%s) AS tally_ctas LIMIT 0", sel), &s, false, err);
    if (rc == 0 && into->n_col_names > (size_t)a.ncols)
        rc = err_at(err, rv->location, "42601", "too many column names were specified");
    if (rc == 0) {
        tl_buf_putc(&a.cols, '\0');
        s = *sink;
        sink_make_quiet(&s);
        rc = run_sql_text(q,
                          tl_arena_printf(&q->arena, "CREATE %sTABLE %s (%s)", temp ? "TEMP " : "", name.data,
                                          a.cols.data ? a.cols.data : ""),
                          &s, false, err);
    }
    if (rc == 0 && !into->skip_data) {
        s.ctx = &a;
        s.complete = ctas_complete;
        rc = run_sql_text(q, tl_arena_printf(&q->arena, "INSERT INTO %s %s", name.data, sel), &s, false, err);
        if (rc < 0) {
            tl_error ignored;
            tl_error_clear(&ignored);
            tl_sink quiet = *sink;
            sink_make_quiet(&quiet);
            quiet.notice = NULL;
            run_sql_text(q, tl_arena_printf(&q->arena, "DROP TABLE %s", name.data), &quiet, false, &ignored);
        } else {
            snprintf(tagbuf, tagsize, "SELECT %llu", (unsigned long long)a.rows);
            *tag = tagbuf;
        }
    }
    /* positions inside the generated statements mean nothing to the client */
    if (rc < 0) err->position = 0;
    free(sel);
    tl_buf_free(&name);
    tl_buf_free(&a.cols);
    return rc;
}
