/*
 * output.c — text output of result values in the session's settings: enum labels come
 * from the catalog, everything else from the storage layer's PostgreSQL-exact output
 * functions. Also PostgreSQL's display names of types for error messages.
 */
#include "query_int.h"

#include <string.h>

void q_format_value(qctx *q, tl_type t, const tl_datum *d, tl_buf *out)
{
    if (t.id == TL_ENUM) {
        tl_enum *en = tl_catalog_enum_by_oid(q->eng, t.oid);
        if (en && d->v.i >= 0 && d->v.i < en->nlabels) tl_buf_puts(out, en->labels[d->v.i]);
        return;
    }
    if (t.id == TL_UNKNOWN) {
        tl_buf_append(out, d->v.s.ptr, d->v.s.len);
        return;
    }
    if (t.id == TL_VOID) return;
    if (cat_format_value(q, t, d, out)) return;
    tl_value_out(t, d, &q->fc, out);
}

const char *q_type_display_name(qctx *q, tl_type t)
{
    if (t.id == TL_ENUM) {
        tl_enum *en = tl_catalog_enum_by_oid(q->eng, t.oid);
        return en ? en->name : "enum";
    }
    if (t.id == TL_UNKNOWN) return "unknown";
    if (t.oid && t.oid != tl_type_oid(tl_type_make(t.id))) {
        /* reg* and array variants: their own names */
        char buf[160];
        const char *nm = tl_syscat_type_name(q->eng, t.oid, buf, sizeof buf);
        if (nm) return tl_arena_strndup(&q->arena, nm, strlen(nm));
    }
    return tl_type_name(t.id);
}
