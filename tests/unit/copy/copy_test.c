/*
 * copy_test.c — the COPY text/CSV decoder against PostgreSQL 15's behaviour.
 *
 * Every case goes through check(), which decodes the input whole, split at every byte
 * position, byte by byte, and in pseudo-random chunk sizes, and requires the same rows
 * (or the same error at the same line) each time: chunk boundaries must never matter.
 * Cases marked "oracle" were run through a throwaway PostgreSQL 15.18 (COPY t FROM STDIN
 * into text columns via libpq's PQputCopyData) and the expectation is what it returned.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tl_copy.h"

/* ---- harness ------------------------------------------------------------------ */

typedef struct result {
    tl_buf text; /* rows and the final error, rendered */
    int rows;
    int stop_after; /* > 0: the row callback fails on that row */
    tl_copy_decoder *dec;
} result;

static void render(tl_buf *b, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n')
            tl_buf_puts(b, "\\n");
        else if (c == '\r')
            tl_buf_puts(b, "\\r");
        else if (c == '\t')
            tl_buf_puts(b, "\\t");
        else if (c < 32 || c > 126)
            tl_buf_printf(b, "\\x%02x", c);
        else
            tl_buf_putc(b, (char)c);
    }
}

static int on_row(void *ctx, int nfields, char **fields, const size_t *lens, long lineno,
                  tl_error *err)
{
    result *r = ctx;
    cr_assert_eq(lineno, tl_copy_decoder_line(r->dec));
    size_t tl;
    cr_assert_not_null(tl_copy_decoder_line_text(r->dec, &tl));
    tl_buf_printf(&r->text, "%ld:", lineno);
    for (int i = 0; i < nfields; i++) {
        if (!fields[i]) {
            tl_buf_puts(&r->text, " N");
            continue;
        }
        cr_assert_eq(strlen(fields[i]), lens[i], "field must be NUL-terminated at its length");
        tl_buf_puts(&r->text, " [");
        render(&r->text, fields[i], lens[i]);
        tl_buf_putc(&r->text, ']');
    }
    tl_buf_puts(&r->text, "\n");
    r->rows++;
    if (r->stop_after && r->rows == r->stop_after)
        return tl_errorf(err, "22P04", "extra data after last expected column");
    return 0;
}

/* Decode `in` fed in chunks of the sizes produced by next_chunk. */
static char *decode_chunks(const tl_copy_opts *o, const char *in, size_t len,
                           size_t (*next_chunk)(void *st, size_t left), void *st, int stop_after)
{
    result r = {.stop_after = stop_after};
    tl_buf_init(&r.text);
    r.dec = tl_copy_decoder_new(o, on_row, &r);
    tl_error err;
    tl_error_clear(&err);
    size_t off = 0;
    int rc = 0;
    while (off < len && rc == 0) {
        size_t n = next_chunk(st, len - off);
        if (n > len - off)
            n = len - off;
        rc = tl_copy_decoder_feed(r.dec, in + off, n, &err);
        off += n;
    }
    if (rc == 0)
        rc = tl_copy_decoder_finish(r.dec, &err);
    if (rc != 0) {
        cr_assert(tl_error_set(&err));
        tl_buf_printf(&r.text, "ERR %s %s", err.sqlstate, err.message);
        if (err.hint[0])
            tl_buf_printf(&r.text, " HINT %s", err.hint);
        tl_buf_printf(&r.text, " @%ld", tl_copy_decoder_line(r.dec));
        size_t ll;
        if (tl_copy_decoder_line_text(r.dec, &ll))
            tl_buf_puts(&r.text, " +line");
        /* a failed decoder stays failed */
        tl_error e2;
        tl_error_clear(&e2);
        cr_assert_eq(tl_copy_decoder_feed(r.dec, "x\n", 2, &e2), -1);
        cr_assert_str_eq(e2.sqlstate, err.sqlstate);
    }
    tl_copy_decoder_free(r.dec);
    tl_buf_putc(&r.text, '\0');
    return r.text.data;
}

static size_t chunk_all(void *st, size_t left)
{
    (void)st;
    return left;
}

static size_t chunk_one(void *st, size_t left)
{
    (void)st;
    (void)left;
    return 1;
}

/* first chunk `*split` bytes, then the rest */
static size_t chunk_split(void *st, size_t left)
{
    size_t *split = st;
    size_t n = *split ? *split : left;
    *split = 0;
    return n;
}

static size_t chunk_random(void *st, size_t left)
{
    unsigned *seed = st;
    *seed = *seed * 1103515245u + 12345u;
    size_t n = 1 + (*seed >> 16) % 7;
    return n < left ? n : left;
}

static void check_opts_stop(const tl_copy_opts *o, const char *in, size_t len,
                            const char *expected, int stop_after)
{
    char *whole = decode_chunks(o, in, len, chunk_all, NULL, stop_after);
    cr_assert_str_eq(whole, expected, "input %s\n got: %s\nwant: %s", in, whole, expected);
    char *ones = decode_chunks(o, in, len, chunk_one, NULL, stop_after);
    cr_assert_str_eq(ones, expected, "byte by byte");
    free(ones);
    for (size_t s = 1; s < len; s++) {
        size_t split = s;
        char *got = decode_chunks(o, in, len, chunk_split, &split, stop_after);
        cr_assert_str_eq(got, expected, "split at %zu", s);
        free(got);
    }
    for (unsigned seed = 1; seed < 20; seed++) {
        unsigned st = seed;
        char *got = decode_chunks(o, in, len, chunk_random, &st, stop_after);
        cr_assert_str_eq(got, expected, "random chunks, seed %u", seed);
        free(got);
    }
    free(whole);
}

static void check_opts(const tl_copy_opts *o, const char *in, const char *expected)
{
    check_opts_stop(o, in, strlen(in), expected, 0);
}

static void check_text(const char *in, const char *expected)
{
    tl_copy_opts o;
    tl_copy_opts_default(&o, false);
    check_opts(&o, in, expected);
}

static void check_csv(const char *in, const char *expected)
{
    tl_copy_opts o;
    tl_copy_opts_default(&o, true);
    check_opts(&o, in, expected);
}

/* ---- text format ------------------------------------------------------------------ */

Test(copy_text, plain_rows)
{
    check_text("a\tb\nc\td\n", "1: [a] [b]\n2: [c] [d]\n");
    check_text("", "");
    check_text("only\n", "1: [only]\n");
    /* last line without newline is still a row */
    check_text("a\tb\nc", "1: [a] [b]\n2: [c]\n");
}

Test(copy_text, every_escape)
{
    check_text("\\t\\n\\r\\\\\\b\\f\\v\n", "1: [\\t\\n\\r\\\\x08\\x0c\\x0b]\n");
    /* octal: 1 to 3 digits; hex: 1 or 2 digits */
    check_text("\\101\\60x\\7a\n", "1: [A0x\\x07a]\n");
    check_text("\\x41\\x4g\\xz\n", "1: [A\\x04gxz]\n");
    /* any other escaped char stands for itself, the delimiter included */
    check_text("\\q\\\t\\N\\,\n", "1: [q\\tN,]\n");
    /* oracle: "\\0\t\\x" → 22021 invalid byte sequence ... 0x00 on line 1 */
    check_text("\\0\t\\x\n", "ERR 22021 invalid byte sequence for encoding \"UTF8\": 0x00 @1 +line");
    /* oracle: "a\t\\xff" → 0xff */
    check_text("a\t\\xff\n", "ERR 22021 invalid byte sequence for encoding \"UTF8\": 0xff @1 +line");
    /* escaped multibyte UTF-8 is fine */
    check_text("\\xc3\\xa9\n", "1: [\\xc3\\xa9]\n");
    /* oracle: escaped backslash-newline is a newline inside the field */
    check_text("a\tb\\\nc\n", "1: [a] [b\\nc]\n");
    /* oracle: a trailing backslash at end of input is dropped */
    check_text("a\tb\\", "1: [a] [b]\n");
}

Test(copy_text, nulls)
{
    check_text("\\N\t\t\\\\N\n", "1: N [] [\\N]\n");
    /* the null marker is matched on the raw text, before de-escaping */
    tl_copy_opts o;
    tl_copy_opts_default(&o, false);
    o.delim = '|';
    o.null_str = "";
    /* oracle: "a\\|b|" / "\\N|c" with delimiter '|', null '' */
    check_opts(&o, "a\\|b|\n\\N|c\n", "1: [a|b] N\n2: [N] [c]\n");
    o.null_str = "NULL";
    check_opts(&o, "NULL|\\NULL|\n", "1: N [NULL] []\n");
}

Test(copy_text, line_ends)
{
    check_text("a\r\nb\r\n", "1: [a]\n2: [b]\n");
    /* oracle: bare \r line ends are accepted when the first line uses them */
    check_text("a\tb\rc\td\r", "1: [a] [b]\n2: [c] [d]\n");
    /* oracle: mixing styles */
    check_text("a\tb\r\nc\td\n",
               "1: [a] [b]\nERR 22P04 literal newline found in data HINT Use \"\\n\" to "
               "represent newline. @2");
    check_text("a\tb\r\nc\td\r",
               "1: [a] [b]\nERR 22P04 literal carriage return found in data HINT Use \"\\r\" "
               "to represent carriage return. @2");
    check_text("a\nb\rc\n", "1: [a]\nERR 22P04 literal carriage return found in data HINT Use "
                            "\"\\r\" to represent carriage return. @2");
    /* escaped \r and \n are data, not line ends */
    check_text("a\\\rb\n", "1: [a\\rb]\n");
}

Test(copy_text, end_of_copy_marker)
{
    check_text("a\n\\.\nignored\tgarbage\xff\n", "1: [a]\n");
    check_text("\\.\n", "");
    /* oracle: "\\.\r\nfoo" → 0 rows */
    check_text("\\.\r\nfoo\n", "");
    check_text("a\r\n\\.\r\nx\n", "1: [a]\n");
    /* oracle: data before \. on the same line is the last row */
    check_text("a\tb\nc\\.\n", "1: [a] [b]\n2: [c]\n");
    check_text("a\tb\nc\td\\.\nx\ty\n", "1: [a] [b]\n2: [c] [d]\n");
    /* oracle: \. at end of input without a newline is corrupt */
    check_text("a\tb\n\\.", "1: [a] [b]\nERR 22P04 end-of-copy marker corrupt @2");
    check_text("a\tb\n\\.x\n", "1: [a] [b]\nERR 22P04 end-of-copy marker corrupt @2");
    /* oracle: marker with a different newline than the data */
    check_text("a\tb\r\n\\.\n",
               "1: [a] [b]\nERR 22P04 end-of-copy marker does not match previous newline style @2");
    check_text("a\tb\n\\.\r\n",
               "1: [a] [b]\nERR 22P04 end-of-copy marker does not match previous newline style @2");
    /* an escaped backslash before the dot is data */
    check_text("\\\\.\n", "1: [\\.]\n");
}

Test(copy_text, header_and_lines)
{
    tl_copy_opts o;
    tl_copy_opts_default(&o, false);
    o.header = true;
    /* oracle: HEADER works in text format in PG 15; data starts at line 2 */
    check_opts(&o, "h1\th2\na\t\n", "2: [a] []\n");
    check_opts(&o, "h1\th2", "");
    check_opts(&o, "", "");
}

Test(copy_text, empty_lines)
{
    /* oracle: an empty line is one empty-string field in text format */
    check_text("\n\n", "1: []\n2: []\n");
}

Test(copy_text, encoding)
{
    check_text("caf\xc3\xa9\t\xe2\x82\xac\n", "1: [caf\\xc3\\xa9] [\\xe2\\x82\\xac]\n");
    /* oracle: 22021 lists the bytes of the bad sequence, past the line end if needed */
    check_text("a\xc3\tb\n", "ERR 22021 invalid byte sequence for encoding \"UTF8\": 0xc3 0x09 @1");
    check_text("a\xe2\n\tb\n",
               "ERR 22021 invalid byte sequence for encoding \"UTF8\": 0xe2 0x0a 0x09 @1");
    check_text("a\x80" "b\tc\n", "ERR 22021 invalid byte sequence for encoding \"UTF8\": 0x80 @1");
    /* oracle: a truncated sequence at end of input */
    check_text("a\tb\n\xe2\x82",
               "1: [a] [b]\nERR 22021 invalid byte sequence for encoding \"UTF8\": 0xe2 0x82 @2");
    tl_copy_opts o;
    tl_copy_opts_default(&o, false);
    check_opts_stop(&o, "ok\nnul\0here\n", 12, "1: [ok]\nERR 22021 invalid byte sequence for "
                                               "encoding \"UTF8\": 0x00 @2", 0);
}

Test(copy_text, callback_error_stops)
{
    tl_copy_opts o;
    tl_copy_opts_default(&o, false);
    check_opts_stop(&o, "a\nb\nc\n", 6,
                    "1: [a]\n2: [b]\nERR 22P04 extra data after last expected column @2 +line", 2);
}

/* ---- CSV ---------------------------------------------------------------------------- */

Test(copy_csv, quoting)
{
    check_csv("a,b\n", "1: [a] [b]\n");
    /* oracle: quoted parts may be anywhere in a field and are concatenated */
    check_csv("\"ab\"cd,e\"f\"\n", "1: [abcd] [ef]\n");
    check_csv("\"x\"\"y\",\"a,b\",\"\"\"\"\n", "1: [x\"y] [a,b] [\"]\n");
    /* oracle: unquoted empty = NULL, quoted empty = empty string */
    check_csv("a,\"\"\n,\"x\"\"y\"\n", "1: [a] []\n2: N [x\"y]\n");
    check_csv(",\n", "1: N N\n");
    /* oracle: an empty line is one NULL field */
    check_csv("\n", "1: N\n");
    /* spaces are kept */
    check_csv(" a , \"b\" \n", "1: [ a ] [ b ]\n");
}

Test(copy_csv, newlines_in_quotes_and_line_numbers)
{
    /* oracle: PG counts physical lines inside quotes only once the line-end style is known:
     * a quoted \n in the first record does not count, later ones do. "h,i,j" was reported
     * at line 5 for each of these three inputs. */
    check_csv("a,\"b\nc\"\nd,\"e\nf\ng\"\nh,i,j\n", "1: [a] [b\\nc]\n4: [d] [e\\nf\\ng]\n5: [h] [i] [j]\n");
    check_csv("a,b\nd,\"e\nf\ng\"\nh,i,j\n", "1: [a] [b]\n4: [d] [e\\nf\\ng]\n5: [h] [i] [j]\n");
    check_csv("a,\"b\r\nc\"\r\nd,\"e\r\nf\"\r\nh,i,j\r\n",
              "2: [a] [b\\r\\nc]\n4: [d] [e\\r\\nf]\n5: [h] [i] [j]\n");
    /* oracle: \r line ends, "f,g,h" at line 4 */
    check_csv("a,b\rc,\"d\re\"\rf,g,h\r", "1: [a] [b]\n3: [c] [d\\re]\n4: [f] [g] [h]\n");
    /* oracle: unterminated quote at end of input; line counts the quoted newline */
    check_csv("a,b\n\"x\n", "1: [a] [b]\nERR 22P04 unterminated CSV quoted field @3 +line");
    check_csv("a,\"b\nc\n", "ERR 22P04 unterminated CSV quoted field @1 +line");
}

Test(copy_csv, line_end_errors)
{
    check_csv("a\nb\r\n", "1: [a]\nERR 22P04 unquoted carriage return found in data HINT Use "
                          "quoted CSV field to represent carriage return. @2");
    check_csv("a\r\nb\n", "1: [a]\nERR 22P04 unquoted newline found in data HINT Use quoted CSV "
                          "field to represent newline. @2");
}

Test(copy_csv, end_of_copy_marker)
{
    /* oracle */
    check_csv("a,b\n\\.\nx,y\n", "1: [a] [b]\n");
    check_csv("a,b\n\\.", "1: [a] [b]\n2: [\\.]\n");
    check_csv("a,b\n\"\\.\",x\n", "1: [a] [b]\n2: [\\.] [x]\n");
    check_csv("a,b\n\\.x,y\n", "1: [a] [b]\n2: [\\.x] [y]\n");
    /* oracle: "a,b\r\n\\.\n" is a newline-style error, not data */
    check_csv("a,b\r\n\\.\n", "1: [a] [b]\nERR 22P04 unquoted newline found in data HINT Use "
                              "quoted CSV field to represent newline. @2");
    /* \. inside a quoted multi-line value is data */
    check_csv("\"a\n\\.\n\",b\n", "1: [a\\n\\.\\n] [b]\n");
}

Test(copy_csv, header)
{
    tl_copy_opts o;
    tl_copy_opts_default(&o, true);
    o.header = true;
    /* oracle */
    check_opts(&o, "h1,h2\na,\"\"\n,\"x\"\"y\"\n", "2: [a] []\n3: N [x\"y]\n");
    check_opts(&o, "h1\r\n", "");
    /* a quoted newline in the header is still one logical line */
    check_opts(&o, "\"h\n1\",h2\nv,w\n", "2: [v] [w]\n");
}

Test(copy_csv, custom_options)
{
    tl_copy_opts o;
    tl_copy_opts_default(&o, true);
    o.null_str = "NULL";
    /* oracle: a quoted null marker is a value; unquoted empty is '' when null is not "" */
    check_opts(&o, "NULL,\"NULL\"\n,\"\"\n", "1: N [NULL]\n2: [] []\n");

    tl_copy_opts_default(&o, true);
    o.delim = ';';
    o.quote = '\'';
    o.escape = '\''; /* the caller applies PG's "ESCAPE defaults to QUOTE" */
    check_opts(&o, "'a;b';'it''s'\n", "1: [a;b] [it's]\n");

    tl_copy_opts_default(&o, true);
    o.escape = '\\';
    /* escape only escapes a quote or itself, and only inside quotes */
    check_opts(&o, "\"a\\\"b\",\"c\\\\d\",\"e\\f\",g\\h\n", "1: [a\"b] [c\\d] [e\\f] [g\\h]\n");
    /* a doubled quote with a distinct escape ends and reopens the quote */
    check_opts(&o, "\"a\"\"b\"\n", "1: [ab]\n");

    tl_copy_opts_default(&o, true);
    o.delim = '\t';
    check_opts(&o, "a\t\"b\tc\"\n", "1: [a] [b\\tc]\n");
}

/* ---- robustness ----------------------------------------------------------------------- */

static void random_input(unsigned seed, char *buf, size_t len)
{
    static const char alphabet[] = "ab,\t\"\\.\r\n\n\x00\xc3\xa9\xff\x80N'|01x";
    for (size_t i = 0; i < len; i++) {
        seed = seed * 1103515245u + 12345u;
        if ((seed >> 8) % 5 == 0)
            buf[i] = (char)(seed >> 16);
        else
            buf[i] = alphabet[(seed >> 16) % (sizeof alphabet - 1)];
    }
}

Test(copy_robust, garbage_never_crashes_and_chunking_is_irrelevant)
{
    char buf[200];
    for (unsigned seed = 1; seed <= 300; seed++) {
        size_t len = 1 + seed % sizeof buf;
        random_input(seed, buf, len);
        tl_copy_opts o;
        tl_copy_opts_default(&o, seed % 2 == 0);
        o.header = seed % 3 == 0;
        if (seed % 5 == 0)
            o.escape = '\\';
        if (seed % 7 == 0)
            o.null_str = "N";
        char *whole = decode_chunks(&o, buf, len, chunk_all, NULL, 0);
        char *ones = decode_chunks(&o, buf, len, chunk_one, NULL, 0);
        cr_assert_str_eq(ones, whole, "seed %u", seed);
        unsigned st = seed;
        char *rnd = decode_chunks(&o, buf, len, chunk_random, &st, 0);
        cr_assert_str_eq(rnd, whole, "seed %u", seed);
        free(whole);
        free(ones);
        free(rnd);
    }
}

Test(copy_robust, long_line_across_many_chunks)
{
    size_t n = 300000;
    char *in = malloc(n + 1);
    memset(in, 'x', n - 1);
    in[n - 1] = '\n';
    tl_copy_opts o;
    tl_copy_opts_default(&o, false);
    unsigned st = 7;
    char *got = decode_chunks(&o, in, n, chunk_random, &st, 0);
    cr_assert_eq(strlen(got), strlen("1: []\n") + n - 1);
    free(got);
    free(in);
}

/* ---- encoder ----------------------------------------------------------------------------- */

static char *encode(const tl_copy_opts *o, int n, const char *const *vals)
{
    tl_buf b;
    tl_buf_init(&b);
    tl_copy_encode_row(o, n, vals, NULL, &b);
    tl_buf_putc(&b, '\0');
    return b.data;
}

static int collect_one(void *ctx, int nfields, char **fields, const size_t *lens, long lineno,
                       tl_error *err)
{
    tl_buf *b = ctx;
    for (int i = 0; i < nfields; i++) {
        if (fields[i]) {
            tl_buf_putc(b, 'v');
            tl_buf_append(b, fields[i], lens[i]);
        } else {
            tl_buf_putc(b, 'N');
        }
        tl_buf_putc(b, '\0');
    }
    return 0;
}

Test(copy_encode, text_and_csv_match_postgres)
{
    tl_copy_opts t, c;
    tl_copy_opts_default(&t, false);
    tl_copy_opts_default(&c, true);
    const char *v1[] = {"a\tb\n\\c\r\x01", NULL, ""};
    char *s = encode(&t, 3, v1);
    cr_assert_str_eq(s, "a\\tb\\n\\\\c\\r\x01\t\\N\t\n");
    free(s);
    s = encode(&c, 3, v1);
    cr_assert_str_eq(s, "\"a\tb\n\\c\r\x01\",,\"\"\n");
    free(s);
    const char *v2[] = {"x\"y", "p,q", "plain"};
    s = encode(&c, 3, v2);
    cr_assert_str_eq(s, "\"x\"\"y\",\"p,q\",plain\n");
    free(s);
    /* a lone \. value is quoted so it cannot end the data */
    const char *v3[] = {"\\."};
    s = encode(&c, 1, v3);
    cr_assert_str_eq(s, "\"\\.\"\n");
    free(s);
}

Test(copy_encode, round_trip)
{
    const char *vals[] = {"plain", "tab\there", "nl\nx", "cr\rx", "back\\slash", "\"q\"",
                          ",", "", "\\N", "\\.", NULL, "caf\xc3\xa9"};
    int n = (int)TL_ARRAY_LEN(vals);
    for (int csv = 0; csv < 2; csv++) {
        tl_copy_opts o;
        tl_copy_opts_default(&o, csv);
        tl_buf enc, got, want;
        tl_buf_init(&enc);
        tl_buf_init(&got);
        tl_buf_init(&want);
        tl_copy_encode_row(&o, n, vals, NULL, &enc);
        tl_copy_encode_row(&o, 1, vals + 9, NULL, &enc); /* "\." alone on a line */
        for (int i = 0; i < n; i++) {
            tl_buf_putc(&want, vals[i] ? 'v' : 'N');
            if (vals[i])
                tl_buf_puts(&want, vals[i]);
            tl_buf_putc(&want, '\0');
        }
        tl_buf_append(&want, "v\\.", 4);
        tl_copy_decoder *d = tl_copy_decoder_new(&o, collect_one, &got);
        tl_error err;
        tl_error_clear(&err);
        cr_assert_eq(tl_copy_decoder_feed(d, enc.data, enc.len, &err), 0, "%s", err.message);
        cr_assert_eq(tl_copy_decoder_finish(d, &err), 0, "%s", err.message);
        cr_assert_eq(got.len, want.len, "csv=%d", csv);
        cr_assert(memcmp(got.data, want.data, got.len) == 0, "csv=%d", csv);
        tl_copy_decoder_free(d);
        tl_buf_free(&enc);
        tl_buf_free(&got);
        tl_buf_free(&want);
    }
}
