/*
 * copy_decode.c — COPY FROM's text and CSV formats, read exactly as PostgreSQL 15's
 * copyfromparse.c reads them (CopyReadLineText, CopyReadAttributesText/CSV), plus the
 * matching COPY TO encoder (copyto.c's CopyAttributeOutText/CSV).
 *
 * Input arrives in arbitrary chunks. All received bytes go to one buffer; the line
 * scanner walks it with PostgreSQL's state machine and, where PostgreSQL peeks one
 * character ahead and would refill its buffer, we stop and resume at the same character
 * when the next chunk comes (the per-line scan state is snapshotted per character, so a
 * restart never applies a quote toggle twice). Hence any chunking gives the same rows.
 *
 * Raw input is checked as UTF-8 before the scanner may look at it, as PostgreSQL's
 * CopyConvertBuf does, so an invalid byte fails on the line where the scanner reaches it
 * and fields never contain NUL bytes.
 */
#include "tl_copy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* PostgreSQL's line_buf is a StringInfo, which cannot grow past MaxAllocSize (1 GiB). */
#define COPY_MAX_LINE ((size_t)0x3fffffff)

enum eol_type { EOL_UNKNOWN, EOL_NL, EOL_CR, EOL_CRNL };

/* Result of scanning for one line. */
enum scan_rc { SCAN_ERROR = -1, SCAN_NEED = 0, SCAN_LINE, SCAN_EOF };

struct tl_copy_decoder {
    tl_copy_opts o;
    char *null_str; /* owned copy of o.null_str */
    size_t null_len;
    tl_copy_row_fn fn;
    void *ctx;

    tl_buf in;       /* received bytes; [start, in.len) not yet consumed */
    size_t start;    /* first byte of the line being scanned */
    size_t pos;      /* next byte the scanner examines */
    size_t verified; /* [0, verified) is valid UTF-8; the scanner never reads beyond it */
    bool bad;        /* an invalid sequence starts at `verified` (fully received or at EOF) */
    bool eof;        /* tl_copy_decoder_finish was called */

    /* scan state of the current line (PostgreSQL keeps these as locals of one call) */
    bool line_open; /* lineno already counts the current line */
    bool in_quote, last_was_esc, first_char;
    enum eol_type eol; /* fixed by the first line end, as PostgreSQL does */
    long lineno;
    bool header_pending;

    bool done;       /* end-of-copy marker or EOF reached: ignore further input */
    bool failed;     /* a sticky error: later calls report it again */
    tl_error saved;  /* that error */

    /* the line handed to attribute parsing, valid for error context */
    const char *line;
    size_t line_len;

    /* bytes the line scanner must look at one by one; runs of any other byte change no
     * scan state (but clear last_was_esc) and are skipped in one step */
    bool special[256];

    tl_buf out; /* decoded field bytes, NUL-terminated each */
    int fcap;
    size_t *offs;
    char **fields;
    size_t *lens;
};

void tl_copy_opts_default(tl_copy_opts *o, bool csv)
{
    memset(o, 0, sizeof *o);
    o->csv = csv;
    o->header = false;
    o->delim = csv ? ',' : '\t';
    o->quote = '"';
    o->escape = '"';
    o->null_str = csv ? "" : "\\N";
}

tl_copy_decoder *tl_copy_decoder_new(const tl_copy_opts *o, tl_copy_row_fn fn, void *ctx)
{
    tl_copy_decoder *d = tl_xcalloc(1, sizeof *d);
    d->o = *o;
    if (d->o.delim == '\0')
        d->o.delim = o->csv ? ',' : '\t';
    if (d->o.quote == '\0')
        d->o.quote = '"';
    if (d->o.escape == '\0')
        d->o.escape = d->o.quote; /* PG: ESCAPE defaults to QUOTE */
    const char *ns = o->null_str ? o->null_str : (o->csv ? "" : "\\N");
    d->null_str = tl_xstrdup(ns);
    d->null_len = strlen(ns);
    d->o.null_str = d->null_str;
    d->fn = fn;
    d->ctx = ctx;
    tl_buf_init(&d->in);
    tl_buf_init(&d->out);
    d->first_char = true;
    d->eol = EOL_UNKNOWN;
    d->header_pending = o->header;
    d->special['\n'] = d->special['\r'] = d->special['\\'] = true;
    if (d->o.csv) d->special[(unsigned char)d->o.quote] = d->special[(unsigned char)d->o.escape] = true;
    return d;
}

void tl_copy_decoder_free(tl_copy_decoder *d)
{
    if (!d)
        return;
    tl_buf_free(&d->in);
    tl_buf_free(&d->out);
    free(d->offs);
    free(d->fields);
    free(d->lens);
    free(d->null_str);
    free(d);
}

long tl_copy_decoder_line(const tl_copy_decoder *d)
{
    return d->lineno;
}

const char *tl_copy_decoder_line_text(const tl_copy_decoder *d, size_t *len)
{
    if (len)
        *len = d->line ? d->line_len : 0;
    return d->line;
}

/* ---- UTF-8 verification (PostgreSQL's pg_utf8_verifychar / report_invalid_encoding) -- */

static int utf8_mblen(unsigned char c)
{
    if ((c & 0x80) == 0)
        return 1;
    if ((c & 0xe0) == 0xc0)
        return 2;
    if ((c & 0xf0) == 0xe0)
        return 3;
    if ((c & 0xf8) == 0xf0)
        return 4;
    return 1;
}

static bool utf8_islegal(const unsigned char *s, int len)
{
    unsigned char a;
    switch (len) {
    case 4:
        a = s[3];
        if (a < 0x80 || a > 0xBF)
            return false;
        /* fall through */
    case 3:
        a = s[2];
        if (a < 0x80 || a > 0xBF)
            return false;
        /* fall through */
    case 2:
        a = s[1];
        switch (*s) {
        case 0xE0:
            if (a < 0xA0 || a > 0xBF)
                return false;
            break;
        case 0xED:
            if (a < 0x80 || a > 0x9F)
                return false;
            break;
        case 0xF0:
            if (a < 0x90 || a > 0xBF)
                return false;
            break;
        case 0xF4:
            if (a < 0x80 || a > 0x8F)
                return false;
            break;
        default:
            if (a < 0x80 || a > 0xBF)
                return false;
            break;
        }
        /* fall through */
    case 1:
        a = *s;
        if (a >= 0x80 && a < 0xC2)
            return false;
        if (a > 0xF4)
            return false;
        return true;
    default:
        return false;
    }
}

/* 22021 with the bytes PostgreSQL prints: the lead byte's sequence length, cut at len. */
static int invalid_encoding(tl_error *err, const char *s, size_t len)
{
    char hex[8 * 5 + 1];
    size_t l = (size_t)utf8_mblen((unsigned char)s[0]);
    size_t lim = l < len ? l : len;
    char *p = hex;
    for (size_t j = 0; j < lim && j < 8; j++)
        p += sprintf(p, j ? " 0x%02x" : "0x%02x", (unsigned char)s[j]);
    return tl_errorf(err, "22021", "invalid byte sequence for encoding \"UTF8\": %s", hex);
}

/* Length of the valid UTF-8 prefix of s[0..len); *bad set when the byte after it is known
 * to start an invalid sequence (at_end: no more bytes will come). */
static size_t utf8_valid_prefix(const char *s, size_t len, bool at_end, bool *bad)
{
    size_t i = 0;
    *bad = false;
    while (i < len) {
        /* 8 bytes at a time while they are ASCII without NUL (the common case) */
        while (len - i >= 8) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if ((w & 0x8080808080808080ull) || ((w - 0x0101010101010101ull) & ~w & 0x8080808080808080ull))
                break;
            i += 8;
        }
        if (i >= len) break;
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80) {
            if (c == 0) {
                *bad = true;
                return i;
            }
            i++;
            continue;
        }
        size_t l = (size_t)utf8_mblen(c);
        if (len - i < l) {
            *bad = at_end;
            return i;
        }
        if (!utf8_islegal((const unsigned char *)s + i, (int)l)) {
            *bad = true;
            return i;
        }
        i += l;
    }
    return i;
}

static void verify_more(tl_copy_decoder *d)
{
    if (d->bad)
        return;
    bool bad;
    d->verified += utf8_valid_prefix(d->in.data + d->verified, d->in.len - d->verified, d->eof,
                                     &bad);
    d->bad = bad;
}

/* ---- errors ---------------------------------------------------------------- */

static int fail(tl_copy_decoder *d, tl_error *err)
{
    d->failed = true;
    d->saved = *err;
    return -1;
}

static int bad_format(tl_error *err, const char *msg, const char *hint)
{
    tl_errorf(err, "22P04", "%s", msg);
    if (hint)
        snprintf(err->hint, sizeof err->hint, "%s", hint);
    return -1;
}

static int err_cr(const tl_copy_decoder *d, tl_error *err)
{
    return d->o.csv ? bad_format(err, "unquoted carriage return found in data",
                                 "Use quoted CSV field to represent carriage return.")
                    : bad_format(err, "literal carriage return found in data",
                                 "Use \"\\r\" to represent carriage return.");
}

static int err_nl(const tl_copy_decoder *d, tl_error *err)
{
    return d->o.csv ? bad_format(err, "unquoted newline found in data",
                                 "Use quoted CSV field to represent newline.")
                    : bad_format(err, "literal newline found in data",
                                 "Use \"\\n\" to represent newline.");
}

/* ---- line scanner: PostgreSQL's CopyReadLineText ---------------------------- */

/* Scan one logical line from d->start. On SCAN_LINE, [start, *line_end) is the line,
 * *next the first byte after its terminator, *eoc whether the line ended the data
 * (end-of-copy marker or end of input). */
static int scan_line(tl_copy_decoder *d, size_t *line_end, size_t *next, bool *eoc,
                     tl_error *err)
{
    const char *buf = d->in.data;
    const bool csv = d->o.csv;
    const char quotec = d->o.quote;
    /* PG: an escape equal to the quote needs no special handling here; NUL never occurs
     * in verified input, so it disables the escape test */
    const char escapec = d->o.escape == quotec ? '\0' : d->o.escape;
    size_t pos = d->pos;

    *eoc = false;
    for (;;) {
        size_t avail = d->verified;
        size_t prev = pos;
        /* per-character snapshot: a restart must not replay state changes */
        bool s_in_quote = d->in_quote, s_last_was_esc = d->last_was_esc;
        long s_lineno = d->lineno;

        if (prev - d->start > COPY_MAX_LINE) {
            tl_errorf(err, "54000", "out of memory");
            tl_error_detail(err, "Cannot enlarge string buffer containing %zu bytes.",
                            prev - d->start);
            return SCAN_ERROR;
        }

/* PG's IF_NEED_REFILL_AND_NOT_EOF_CONTINUE: wait for the byte at `pos`, unless at EOF. */
#define NEED_BYTE()                                                                        \
    do {                                                                                   \
        if (pos >= avail) {                                                                \
            if (d->bad)                                                                    \
                return invalid_encoding(err, buf + avail, d->in.len - avail), SCAN_ERROR;  \
            if (!d->eof) {                                                                 \
                d->in_quote = s_in_quote;                                                  \
                d->last_was_esc = s_last_was_esc;                                          \
                d->lineno = s_lineno;                                                      \
                d->pos = prev;                                                             \
                return SCAN_NEED;                                                          \
            }                                                                              \
        }                                                                                  \
    } while (0)
/* At EOF PostgreSQL reads the NUL pad of its buffer. */
#define PEEK(i) ((i) < avail ? buf[i] : '\0')

        if (!d->first_char && pos < avail && !d->special[(unsigned char)buf[pos]]) {
            size_t q = pos + 1;
            while (q < avail && !d->special[(unsigned char)buf[q]]) q++;
            pos = q;
            if (csv) d->last_was_esc = false;
            continue;
        }
        if (pos >= avail) {
            NEED_BYTE();
            /* end of input: what was read so far is the last line */
            if (pos > d->start) {
                *line_end = pos;
                *next = pos;
                *eoc = true;
                return SCAN_LINE;
            }
            return SCAN_EOF;
        }
        char c = buf[pos++];

        if (csv) {
            /* peek before changing quote state, as PG does, in case c is quote or escape */
            if (c == '\\' || c == '\r')
                NEED_BYTE();
            if (d->in_quote && c == escapec)
                d->last_was_esc = !d->last_was_esc;
            if (c == quotec && !d->last_was_esc)
                d->in_quote = !d->in_quote;
            if (c != escapec)
                d->last_was_esc = false;
            /* PG counts embedded line ends only of the established style: before the first
             * unquoted line end (EOL unknown) only \r counts (oracle: a quoted \n in the
             * first CSV record does not advance "line N"). */
            if (d->in_quote && c == (d->eol == EOL_NL ? '\n' : '\r'))
                d->lineno++;
        }

        if (c == '\r' && (!csv || !d->in_quote)) {
            if (d->eol == EOL_UNKNOWN || d->eol == EOL_CRNL) {
                NEED_BYTE();
                if (PEEK(pos) == '\n') {
                    pos++;
                    d->eol = EOL_CRNL;
                } else {
                    if (d->eol == EOL_CRNL)
                        return err_cr(d, err), SCAN_ERROR;
                    d->eol = EOL_CR;
                }
            } else if (d->eol == EOL_NL) {
                return err_cr(d, err), SCAN_ERROR;
            }
            *line_end = prev;
            *next = pos;
            return SCAN_LINE;
        }
        if (c == '\n' && (!csv || !d->in_quote)) {
            if (d->eol == EOL_CR || d->eol == EOL_CRNL)
                return err_nl(d, err), SCAN_ERROR;
            d->eol = EOL_NL;
            *line_end = prev;
            *next = pos;
            return SCAN_LINE;
        }

        /* CSV recognises \. only alone at the start of a line: it is valid CSV data */
        if (c == '\\' && (!csv || d->first_char)) {
            NEED_BYTE();
            if (pos >= avail) {
                /* backslash at the very end of input: it stays in the line */
                *line_end = pos;
                *next = pos;
                *eoc = true;
                return SCAN_LINE;
            }
            char c2 = buf[pos];
            if (c2 == '.') {
                bool not_eoc = false;
                pos++;
                if (d->eol == EOL_CRNL) {
                    NEED_BYTE();
                    c2 = PEEK(pos);
                    pos++;
                    if (c2 == '\n') {
                        if (!csv)
                            return bad_format(err,
                                              "end-of-copy marker does not match previous "
                                              "newline style",
                                              NULL),
                                   SCAN_ERROR;
                        not_eoc = true;
                    } else if (c2 != '\r') {
                        if (!csv)
                            return bad_format(err, "end-of-copy marker corrupt", NULL),
                                   SCAN_ERROR;
                        not_eoc = true;
                    }
                }
                if (!not_eoc) {
                    NEED_BYTE();
                    c2 = PEEK(pos);
                    pos++;
                    if (c2 != '\r' && c2 != '\n') {
                        if (!csv)
                            return bad_format(err, "end-of-copy marker corrupt", NULL),
                                   SCAN_ERROR;
                        not_eoc = true;
                    }
                }
                if (!not_eoc) {
                    if ((d->eol == EOL_NL && c2 != '\n') || (d->eol == EOL_CRNL && c2 != '\n') ||
                        (d->eol == EOL_CR && c2 != '\r'))
                        return bad_format(err,
                                          "end-of-copy marker does not match previous newline "
                                          "style",
                                          NULL),
                               SCAN_ERROR;
                    /* only the data before the \. belongs to the line */
                    *line_end = prev;
                    *next = pos;
                    *eoc = true;
                    return SCAN_LINE;
                }
                /* CSV: "\." followed by more data is an ordinary value */
                pos = prev + 1;
            } else if (!csv) {
                /* text: the character after a backslash is never a line end or marker */
                pos++;
            }
        }
        d->first_char = false;
#undef NEED_BYTE
#undef PEEK
    }
}

/* ---- attribute parsing -------------------------------------------------------- */

static void add_field(tl_copy_decoder *d, int n)
{
    if (n < d->fcap)
        return;
    int cap = d->fcap ? d->fcap * 2 : 16;
    d->offs = tl_xrealloc(d->offs, (size_t)cap * sizeof *d->offs);
    d->fields = tl_xrealloc(d->fields, (size_t)cap * sizeof *d->fields);
    d->lens = tl_xrealloc(d->lens, (size_t)cap * sizeof *d->lens);
    d->fcap = cap;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return c - 'A' + 10;
}

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* CopyReadAttributesText. Fields go to d->out; offs[i] == SIZE_MAX marks NULL. */
#define OUTC(ch) (d->out.data[d->out.len++] = (ch))

static int parse_text(tl_copy_decoder *d, const char *p, const char *end, int *nf,
                      tl_error *err)
{
    const char delimc = d->o.delim;
    int n = 0;
    tl_buf_clear(&d->out);
    /* a line decodes to at most its own bytes plus one NUL a field: reserve once, so
     * the per-character writes below need no capacity check */
    tl_buf_reserve(&d->out, 2 * (size_t)(end - p) + 2);
    for (;;) {
        bool found_delim = false, saw_non_ascii = false;
        const char *fstart = p, *fend;
        size_t ostart = d->out.len;
        add_field(d, n);
        /* de-escape speculatively: only after the null-marker check is an error allowed */
        for (;;) {
            fend = p;
            if (p >= end)
                break;
            char c = *p++;
            if (c == delimc) {
                found_delim = true;
                break;
            }
            if (c == '\\') {
                if (p >= end)
                    break; /* a trailing backslash is dropped, as in PG */
                c = *p++;
                switch (c) {
                case '0': case '1': case '2': case '3':
                case '4': case '5': case '6': case '7': {
                    int val = c - '0';
                    if (p < end && *p >= '0' && *p <= '7') {
                        val = (val << 3) + (*p++ - '0');
                        if (p < end && *p >= '0' && *p <= '7')
                            val = (val << 3) + (*p++ - '0');
                    }
                    c = (char)(val & 0377);
                    if (c == '\0' || (unsigned char)c >= 0x80)
                        saw_non_ascii = true;
                    break;
                }
                case 'x':
                    if (p < end && is_hex(*p)) {
                        int val = hexval(*p++);
                        if (p < end && is_hex(*p))
                            val = (val << 4) + hexval(*p++);
                        c = (char)(val & 0xff);
                        if (c == '\0' || (unsigned char)c >= 0x80)
                            saw_non_ascii = true;
                    }
                    break;
                case 'b': c = '\b'; break;
                case 'f': c = '\f'; break;
                case 'n': c = '\n'; break;
                case 'r': c = '\r'; break;
                case 't': c = '\t'; break;
                case 'v': c = '\v'; break;
                default: break; /* any other character stands for itself */
                }
            }
            OUTC(c);
        }
        size_t rawlen = (size_t)(fend - fstart);
        if (rawlen == d->null_len && memcmp(fstart, d->null_str, rawlen) == 0) {
            d->offs[n] = SIZE_MAX;
            d->out.len = ostart;
        } else {
            if (saw_non_ascii) {
                const char *f = d->out.data + ostart;
                size_t flen = d->out.len - ostart;
                bool bad;
                size_t ok = utf8_valid_prefix(f, flen, true, &bad);
                if (bad)
                    return invalid_encoding(err, f + ok, flen - ok);
            }
            d->offs[n] = ostart;
        }
        d->lens[n] = d->out.len - ostart;
        OUTC('\0');
        n++;
        if (!found_delim)
            break;
    }
    *nf = n;
    return 0;
}

/* CopyReadAttributesCSV. */
static int parse_csv(tl_copy_decoder *d, const char *p, const char *end, int *nf,
                     tl_error *err)
{
    const char delimc = d->o.delim, quotec = d->o.quote, escapec = d->o.escape;
    int n = 0;
    tl_buf_clear(&d->out);
    /* a line decodes to at most its own bytes plus one NUL a field: reserve once, so
     * the per-character writes below need no capacity check */
    tl_buf_reserve(&d->out, 2 * (size_t)(end - p) + 2);
    for (;;) {
        bool found_delim = false, saw_quote = false;
        const char *fstart = p, *fend = p;
        size_t ostart = d->out.len;
        add_field(d, n);
        for (;;) {
            char c;
            /* not in quotes */
            for (;;) {
                fend = p;
                if (p >= end)
                    goto endfield;
                c = *p++;
                if (c == delimc) {
                    found_delim = true;
                    goto endfield;
                }
                if (c == quotec) {
                    saw_quote = true;
                    break;
                }
                OUTC(c);
            }
            /* in quotes */
            for (;;) {
                fend = p;
                if (p >= end)
                    return bad_format(err, "unterminated CSV quoted field", NULL);
                c = *p++;
                if (c == escapec && p < end && (*p == escapec || *p == quotec)) {
                    OUTC(*p++);
                    continue;
                }
                /* after the escape test: quote and escape are usually the same char */
                if (c == quotec)
                    break;
                OUTC(c);
            }
        }
    endfield:;
        size_t rawlen = (size_t)(fend - fstart);
        if (!saw_quote && rawlen == d->null_len && memcmp(fstart, d->null_str, rawlen) == 0) {
            d->offs[n] = SIZE_MAX;
            d->out.len = ostart;
        } else {
            d->offs[n] = ostart;
        }
        d->lens[n] = d->out.len - ostart;
        OUTC('\0');
        n++;
        if (!found_delim)
            break;
    }
    *nf = n;
    return 0;
}

#undef OUTC

static int emit_line(tl_copy_decoder *d, const char *p, size_t len, tl_error *err)
{
    int nf = 0;
    d->line = p;
    d->line_len = len;
    int rc = d->o.csv ? parse_csv(d, p, p + len, &nf, err) : parse_text(d, p, p + len, &nf, err);
    if (rc != 0)
        return -1;
    for (int i = 0; i < nf; i++) {
        if (d->offs[i] == SIZE_MAX) {
            d->fields[i] = NULL;
            d->lens[i] = 0;
        } else {
            d->fields[i] = d->out.data + d->offs[i];
        }
    }
    if (d->fn(d->ctx, nf, d->fields, d->lens, d->lineno, err) != 0) {
        if (!tl_error_set(err))
            tl_errorf(err, "XX000", "COPY row callback failed");
        return -1;
    }
    d->line = NULL;
    return 0;
}

/* Decode every complete line in the buffer. */
static int run(tl_copy_decoder *d, tl_error *err)
{
    verify_more(d);
    while (!d->done) {
        if (!d->line_open) {
            if (d->start >= d->in.len && !d->eof)
                break;
            d->line_open = true;
            d->lineno++;
            d->pos = d->start;
        }
        size_t line_end, next;
        bool eoc;
        int rc = scan_line(d, &line_end, &next, &eoc, err);
        if (rc == SCAN_ERROR)
            return -1;
        if (rc == SCAN_NEED)
            break;
        if (rc == SCAN_EOF) {
            d->done = true;
            break;
        }
        const char *line = d->in.data + d->start;
        size_t len = line_end - d->start;
        d->start = d->pos = next;
        d->line_open = false;
        d->in_quote = d->last_was_esc = false;
        d->first_char = true;
        if (d->header_pending) {
            d->header_pending = false;
        } else if (!(eoc && len == 0)) {
            if (emit_line(d, line, len, err) != 0)
                return -1;
        }
        if (eoc)
            d->done = true; /* PG discards whatever follows \. */
    }
    /* keep the buffer to about twice the unconsumed tail */
    if (d->start > 0 && d->start >= d->in.len - d->start) {
        size_t keep = d->in.len - d->start;
        memmove(d->in.data, d->in.data + d->start, keep);
        d->in.len = keep;
        d->pos -= d->start;
        d->verified -= d->start;
        d->start = 0;
    }
    return 0;
}

int tl_copy_decoder_feed(tl_copy_decoder *d, const char *data, size_t len, tl_error *err)
{
    if (d->failed) {
        if (!tl_error_set(err))
            *err = d->saved;
        return -1;
    }
    if (d->done || d->eof)
        return 0;
    tl_buf_append(&d->in, data, len);
    if (run(d, err) != 0)
        return fail(d, err);
    if (d->done) {
        /* nothing more will be read: drop what followed the marker */
        d->in.len = d->start = d->pos = d->verified = 0;
    }
    return 0;
}

int tl_copy_decoder_finish(tl_copy_decoder *d, tl_error *err)
{
    if (d->failed) {
        if (!tl_error_set(err))
            *err = d->saved;
        return -1;
    }
    if (d->done || d->eof)
        return 0;
    d->eof = true;
    if (run(d, err) != 0)
        return fail(d, err);
    return 0;
}

/* ---- encoder: CopyAttributeOutText / CopyAttributeOutCSV -------------------------- */

static void encode_text(const tl_copy_opts *o, const char *s, size_t len, tl_buf *out)
{
    const char delimc = o->delim ? o->delim : '\t';
    size_t run_start = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i], e = 0;
        if ((unsigned char)c < 0x20) {
            /* \r and \n must be escaped; the C-like forms survive newline mangling */
            switch (c) {
            case '\b': e = 'b'; break;
            case '\f': e = 'f'; break;
            case '\n': e = 'n'; break;
            case '\r': e = 'r'; break;
            case '\t': e = 't'; break;
            case '\v': e = 'v'; break;
            default:
                if (c == delimc)
                    e = c;
                break;
            }
        } else if (c == '\\' || c == delimc) {
            e = c;
        }
        if (e) {
            tl_buf_append(out, s + run_start, i - run_start);
            tl_buf_putc(out, '\\');
            tl_buf_putc(out, e);
            run_start = i + 1;
        }
    }
    tl_buf_append(out, s + run_start, len - run_start);
}

static void encode_csv(const tl_copy_opts *o, const char *s, size_t len, bool single,
                       tl_buf *out)
{
    const char delimc = o->delim ? o->delim : ',';
    const char quotec = o->quote ? o->quote : '"';
    const char escapec = o->escape ? o->escape : quotec;
    const char *ns = o->null_str ? o->null_str : "";
    size_t nlen = strlen(ns);
    /* a value equal to the null marker must be quoted to read back as a value */
    bool use_quote = len == nlen && memcmp(s, ns, len) == 0;
    if (!use_quote) {
        /* "\." alone on a line would read back as the end-of-data marker */
        if (single && len == 2 && s[0] == '\\' && s[1] == '.')
            use_quote = true;
        for (size_t i = 0; i < len && !use_quote; i++)
            if (s[i] == delimc || s[i] == quotec || s[i] == '\n' || s[i] == '\r')
                use_quote = true;
    }
    if (!use_quote) {
        tl_buf_append(out, s, len);
        return;
    }
    tl_buf_putc(out, quotec);
    for (size_t i = 0; i < len; i++) {
        if (s[i] == quotec || s[i] == escapec)
            tl_buf_putc(out, escapec);
        tl_buf_putc(out, s[i]);
    }
    tl_buf_putc(out, quotec);
}

void tl_copy_encode_row(const tl_copy_opts *o, int nfields, const char *const *values,
                        const size_t *lens, tl_buf *out)
{
    const char delimc = o->delim ? o->delim : (o->csv ? ',' : '\t');
    const char *ns = o->null_str ? o->null_str : (o->csv ? "" : "\\N");
    for (int i = 0; i < nfields; i++) {
        if (i > 0)
            tl_buf_putc(out, delimc);
        if (!values[i]) {
            tl_buf_puts(out, ns);
            continue;
        }
        size_t len = lens ? lens[i] : strlen(values[i]);
        if (o->csv)
            encode_csv(o, values[i], len, nfields == 1, out);
        else
            encode_text(o, values[i], len, out);
    }
    tl_buf_putc(out, '\n');
}
