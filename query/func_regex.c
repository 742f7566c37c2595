/*
 * func_regex.c — the POSIX regular-expression operators ~ ~* !~ !~* over text, as psql's
 * meta-commands (`c.relname OPERATOR(pg_catalog.~) '^(dim_users)$' COLLATE
 * pg_catalog.default`) and Metabase's sync send them. PostgreSQL's patterns are AREs
 * (Henry Spencer's engine); libc's regcomp gives EREs. The differences handled here:
 * the class escapes \d \D \s \S \w \W (rewritten to bracket expressions), and \. style
 * escapes of ordinary characters, which ERE also accepts. Not handled (an ARE feature
 * that ERE lacks fails with 2201B as an invalid expression, or matches differently):
 * non-greedy quantifiers, lookahead, back-references in EREs, \m \M \y, embedded
 * options (?i). Case-insensitive matching folds as the C library's locale does.
 */
#include "query_int.h"

#include <regex.h>
#include <stdlib.h>
#include <string.h>

/* ARE -> ERE: the class escapes outside and inside brackets. */
static void translate(const char *p, size_t n, tl_buf *out)
{
    bool in_br = false;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c == '\\' && i + 1 < n) {
            char d = p[i + 1];
            const char *cls = NULL;
            bool neg = false;
            switch (d) {
            case 'd': cls = "[:digit:]"; break;
            case 'D': cls = "[:digit:]", neg = true; break;
            case 's': cls = "[:space:]"; break;
            case 'S': cls = "[:space:]", neg = true; break;
            case 'w': cls = "[:alnum:]_"; break;
            case 'W': cls = "[:alnum:]_", neg = true; break;
            default: break;
            }
            if (cls && in_br && !neg) {
                tl_buf_puts(out, cls);
                i++;
                continue;
            }
            if (cls && !in_br) {
                tl_buf_puts(out, neg ? "[^" : "[");
                tl_buf_puts(out, cls);
                tl_buf_putc(out, ']');
                i++;
                continue;
            }
            if (!in_br) {
                tl_buf_putc(out, c);
                tl_buf_putc(out, d);
                i++;
                continue;
            }
        }
        if (!in_br && c == '[') {
            in_br = true;
            tl_buf_putc(out, c);
            /* a leading ^ and ] belong to the bracket expression */
            if (i + 1 < n && p[i + 1] == '^') tl_buf_putc(out, p[++i]);
            if (i + 1 < n && p[i + 1] == ']') tl_buf_putc(out, p[++i]);
            continue;
        }
        if (in_br && c == '[' && i + 1 < n && (p[i + 1] == ':' || p[i + 1] == '.' || p[i + 1] == '=')) {
            char close = p[i + 1];
            size_t j = i + 2;
            while (j + 1 < n && !(p[j] == close && p[j + 1] == ']')) j++;
            if (j + 1 < n) {
                tl_buf_append(out, p + i, j + 2 - i);
                i = j + 1;
                continue;
            }
        }
        if (in_br && c == ']') in_br = false;
        tl_buf_putc(out, c);
    }
    tl_buf_putc(out, '\0');
}

static int compile(regex_t *re, const tl_str *pat, bool icase, tl_error *err)
{
    tl_buf b;
    tl_buf_init(&b);
    translate(pat->ptr, pat->len, &b);
    int rc = regcomp(re, b.data, REG_EXTENDED | REG_NOSUB | (icase ? REG_ICASE : 0));
    tl_buf_free(&b);
    if (rc != 0) {
        char msg[256];
        regerror(rc, re, msg, sizeof msg);
        /* PostgreSQL: "invalid regular expression: <the engine's message>" */
        for (char *m = msg; *m; m++)
            if (m == msg && *m >= 'A' && *m <= 'Z') *m = (char)(*m + 32);
        return tl_errorf(err, "2201B", "invalid regular expression: %s", msg);
    }
    return 0;
}

int k_regex(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err)
{
    (void)q;
    const char *opname = e->fn->name;
    bool neg = opname[0] == '!';
    bool icase = opname[strlen(opname) - 1] == '*';
    regex_t re;
    bool have = false;
    tl_str last = {0};
    char *sbuf = NULL;
    size_t scap = 0;
    int rc = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (out->nulls[i]) continue;
        tl_str s = args[0].d.s[i], p = args[1].d.s[i];
        if (!have || p.len != last.len || memcmp(p.ptr, last.ptr, p.len) != 0) {
            if (have) regfree(&re);
            have = false;
            if ((rc = compile(&re, &p, icase, err)) < 0) break;
            have = true;
            last = p;
        }
        if (s.len + 1 > scap) {
            scap = s.len + 64;
            free(sbuf);
            sbuf = tl_xmalloc(scap);
        }
        memcpy(sbuf, s.ptr, s.len);
        sbuf[s.len] = '\0';
        /* an embedded NUL cannot occur: PostgreSQL text excludes it and so does input */
        bool m = regexec(&re, sbuf, 0, NULL, 0) == 0;
        out->d.b[i] = neg ? !m : m;
    }
    if (have) regfree(&re);
    free(sbuf);
    return rc;
}
