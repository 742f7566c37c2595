/*
 * pgwire.c — one client connection speaking the PostgreSQL v3 frontend/backend protocol
 * (PostgreSQL docs, "Frontend/Backend Protocol": Message Flow and Message Formats).
 *
 * Start-up: SSLRequest/GSSENCRequest are refused with 'N' (TLS is its own issue),
 * CancelRequest is forwarded to the target session, a 3.0 StartupMessage opens a query
 * session with trust authentication. Then simple Query and COPY in/out, and the extended
 * query protocol (Parse/Bind/Describe/Execute/Close/Flush/Sync: the objects live in the
 * query layer, prepared.c); after an error in an extended-protocol message everything up
 * to Sync is skipped and the error is reported once, as PostgreSQL does.
 *
 * Every length word is checked before anything is allocated for it (postgres.c's
 * SocketBackend: garbage as a length must not run us out of memory), bodies grow as
 * bytes arrive. Replies are built in one buffer and written at ReadyForQuery or when it
 * passes 64 KiB, never per row. A broken socket ends the session, never the server.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server_int.h"
#include "tl_engine.h"

#define IN_BUF_SIZE 8192
#define FLUSH_AT (64 * 1024)
#define STARTUP_MAX 10000              /* PG's MAX_STARTUP_PACKET_LENGTH */
#define SMALL_MSG_MAX 10000            /* PG's PQ_SMALL_MESSAGE_LIMIT */
#define LARGE_MSG_MAX (1024u * 1024 * 1024) /* PG's PQ_LARGE_MESSAGE_LIMIT, 1 GiB */

#define PROTO_SSL 80877103
#define PROTO_GSS 80877104
#define PROTO_CANCEL 80877102

/* ---- output ------------------------------------------------------------------ */

static int flush_out(pgw_conn *c)
{
    size_t off = 0;
    while (off < c->out.len && !c->broken) {
        ssize_t n = srv__io_send(c, c->out.data + off, c->out.len - off); /* tls.c */
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            c->broken = true;
        else
            off += (size_t)n;
    }
    tl_buf_clear(&c->out);
    return c->broken ? -1 : 0;
}

static void put_i32(pgw_conn *c, int32_t v)
{
    uint32_t u = (uint32_t)v;
    char b[4] = {(char)(u >> 24), (char)(u >> 16), (char)(u >> 8), (char)u};
    tl_buf_append(&c->out, b, 4);
}

static void put_i16(pgw_conn *c, int16_t v)
{
    uint16_t u = (uint16_t)v;
    char b[2] = {(char)(u >> 8), (char)u};
    tl_buf_append(&c->out, b, 2);
}

static void put_str(pgw_conn *c, const char *s)
{
    tl_buf_append(&c->out, s, strlen(s) + 1);
}

static void msg_begin(pgw_conn *c, char type)
{
    tl_buf_putc(&c->out, type);
    c->msg_start = c->out.len;
    put_i32(c, 0); /* length, patched by msg_end */
}

static int msg_end(pgw_conn *c)
{
    uint32_t len = (uint32_t)(c->out.len - c->msg_start);
    unsigned char *p = (unsigned char *)c->out.data + c->msg_start;
    p[0] = (unsigned char)(len >> 24);
    p[1] = (unsigned char)(len >> 16);
    p[2] = (unsigned char)(len >> 8);
    p[3] = (unsigned char)len;
    if (c->broken)
        return -1;
    if (c->out.len >= FLUSH_AT)
        return flush_out(c);
    return 0;
}

static void put_field(pgw_conn *c, char code, const char *v)
{
    if (!v || !v[0])
        return;
    tl_buf_putc(&c->out, code);
    put_str(c, v);
}

/* ErrorResponse ('E') or NoticeResponse ('N') from a tl_error. */
static int send_error(pgw_conn *c, char type, const tl_error *e, tl_severity sev)
{
    char pos[16];
    const char *sevname = tl_severity_name(sev);
    msg_begin(c, type);
    put_field(c, 'S', sevname);
    put_field(c, 'V', sevname);
    put_field(c, 'C', e->sqlstate[0] ? e->sqlstate : "XX000");
    put_field(c, 'M', e->message[0] ? e->message : "internal error");
    put_field(c, 'D', e->detail);
    put_field(c, 'H', e->hint);
    if (e->position > 0) {
        snprintf(pos, sizeof pos, "%d", e->position);
        put_field(c, 'P', pos);
    }
    put_field(c, 'W', e->context);
    tl_buf_putc(&c->out, '\0');
    return msg_end(c);
}

static int send_simple_error(pgw_conn *c, tl_severity sev, const char *sqlstate,
                             const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int send_simple_error(pgw_conn *c, tl_severity sev, const char *sqlstate,
                             const char *fmt, ...)
{
    tl_error e;
    tl_error_clear(&e);
    va_list ap;
    va_start(ap, fmt);
    tl_verrorf(&e, sqlstate, fmt, ap);
    va_end(ap);
    return send_error(c, 'E', &e, sev);
}

/* FATAL: send, flush, and let the caller close. */
static void send_fatal(pgw_conn *c, const char *sqlstate, const char *msg)
{
    send_simple_error(c, TL_SEV_FATAL, sqlstate, "%s", msg);
    flush_out(c);
}

static void send_param_status(pgw_conn *c, const char *name, const char *value);

static struct pgw_param *param_slot(pgw_conn *c, const char *name)
{
    for (int i = 0; i < c->nparams; i++)
        if (strcmp(c->params[i].name, name) == 0)
            return &c->params[i];
    if (c->nparams == (int)TL_ARRAY_LEN(c->params))
        return NULL;
    struct pgw_param *p = &c->params[c->nparams++];
    p->name = tl_xstrdup(name);
    return p;
}

/* Changed settings, in the order they changed, before ReadyForQuery. */
static void flush_param_status(pgw_conn *c)
{
    for (int i = 0; i < c->nparams; i++) {
        struct pgw_param *p = &c->params[i];
        if (!p->pending)
            continue;
        if (!p->sent || strcmp(p->sent, p->pending) != 0)
            send_param_status(c, p->name, p->pending);
        free(p->sent);
        p->sent = p->pending;
        p->pending = NULL;
    }
}

static int send_ready(pgw_conn *c)
{
    flush_param_status(c);
    msg_begin(c, 'Z');
    tl_buf_putc(&c->out, c->qs ? tl_qsession_tx_status(c->qs) : 'I');
    msg_end(c);
    return flush_out(c);
}

static void send_param_status(pgw_conn *c, const char *name, const char *value)
{
    msg_begin(c, 'S');
    put_str(c, name);
    put_str(c, value ? value : "");
    msg_end(c);
}

static void report_param_cb(void *ctx, const char *name, const char *value)
{
    pgw_conn *c = ctx;
    send_param_status(c, name, value);
    struct pgw_param *p = param_slot(c, name);
    if (p) {
        free(p->sent);
        p->sent = tl_xstrdup(value ? value : "");
    }
}

/* ---- input ---------------------------------------------------------------------- */

/* Read exactly n bytes. Pending output is flushed before blocking, so the client always
 * has what it needs to answer (CopyInResponse, a row batch) before we wait on it. */
static int read_exact(pgw_conn *c, void *dst, size_t n)
{
    char *d = dst;
    while (n > 0) {
        if (c->in_pos < c->in_len) {
            size_t k = c->in_len - c->in_pos;
            if (k > n)
                k = n;
            memcpy(d, c->in + c->in_pos, k);
            c->in_pos += k;
            d += k;
            n -= k;
            continue;
        }
        if (c->broken)
            return -1;
        if (c->out.len > 0 && flush_out(c) != 0)
            return -1;
        ssize_t r = srv__io_recv(c, c->in, IN_BUF_SIZE); /* tls.c */
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            c->broken = true;
            return -1;
        }
        c->in_pos = 0;
        c->in_len = (size_t)r;
    }
    return 0;
}

static int read_i32(pgw_conn *c, int32_t *v)
{
    unsigned char b[4];
    if (read_exact(c, b, 4) != 0)
        return -1;
    *v = (int32_t)((uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]);
    return 0;
}

/* Read a body of n bytes into c->body, growing as data arrives rather than trusting n,
 * and NUL-terminate it for string parsing. */
static int read_body(pgw_conn *c, size_t n)
{
    tl_buf_clear(&c->body);
    while (c->body.len < n) {
        size_t k = n - c->body.len;
        if (k > 65536)
            k = 65536;
        tl_buf_reserve(&c->body, k + 1);
        if (read_exact(c, c->body.data + c->body.len, k) != 0)
            return -1;
        c->body.len += k;
    }
    tl_buf_reserve(&c->body, 1);
    c->body.data[c->body.len] = '\0';
    return 0;
}

static int skip_bytes(pgw_conn *c, size_t n)
{
    char tmp[512];
    while (n > 0) {
        size_t k = n < sizeof tmp ? n : sizeof tmp;
        if (read_exact(c, tmp, k) != 0)
            return -1;
        n -= k;
    }
    return 0;
}

static uint32_t get_u32(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    return (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3];
}

/* The cap for a message type, or 0 for a type the server does not accept at all. PG
 * checks the type before the length for the same reason: garbage is caught early. */
static size_t msg_cap(char type)
{
    switch (type) {
    case 'Q': case 'P': case 'B': case 'd': case 'F':
        return LARGE_MSG_MAX;
    case 'X': case 'S': case 'H': case 'C': case 'D': case 'E': case 'c': case 'f':
        return SMALL_MSG_MAX;
    default:
        return 0;
    }
}

/* Read a message header: type and validated body length. -1 = the session must end
 * (a FATAL was sent, or the socket is gone). */
static int read_header(pgw_conn *c, char *type, size_t *len)
{
    unsigned char t;
    int32_t l;
    if (read_exact(c, &t, 1) != 0)
        return -1;
    size_t cap = msg_cap((char)t);
    if (cap == 0) {
        char m[64];
        snprintf(m, sizeof m, "invalid frontend message type %d", t);
        send_fatal(c, "08P01", m);
        return -1;
    }
    if (read_i32(c, &l) != 0)
        return -1;
    if (l < 4 || (size_t)l - 4 > cap) {
        send_fatal(c, "08P01", "invalid message length");
        return -1;
    }
    *type = (char)t;
    *len = (size_t)l - 4;
    return 0;
}

/* For auth.c: the same buffered I/O and error messages. */
int srv__read_exact(pgw_conn *c, void *dst, size_t n)
{
    return read_exact(c, dst, n);
}

int srv__flush(pgw_conn *c)
{
    return flush_out(c);
}

void srv__send_error(pgw_conn *c, const tl_error *e, tl_severity sev)
{
    send_error(c, 'E', e, sev);
}

/* ---- sink: query results to protocol messages --------------------------------------- */

static int sink_describe(void *ctx, int ncols, const tl_coldesc *cols)
{
    pgw_conn *c = ctx;
    msg_begin(c, 'T');
    put_i16(c, (int16_t)ncols);
    for (int i = 0; i < ncols; i++) {
        put_str(c, cols[i].name ? cols[i].name : "?column?");
        put_i32(c, (int32_t)cols[i].table_oid);
        put_i16(c, cols[i].attnum);
        put_i32(c, (int32_t)cols[i].type_oid);
        put_i16(c, cols[i].typlen);
        put_i32(c, cols[i].typmod);
        put_i16(c, cols[i].format); /* a bound portal's result format */
    }
    return msg_end(c);
}

static int sink_row(void *ctx, int ncols, const tl_cell *cells)
{
    pgw_conn *c = ctx;
    msg_begin(c, 'D');
    put_i16(c, (int16_t)ncols);
    for (int i = 0; i < ncols; i++) {
        if (!cells[i].ptr) {
            put_i32(c, -1);
            continue;
        }
        put_i32(c, (int32_t)cells[i].len);
        tl_buf_append(&c->out, cells[i].ptr, cells[i].len);
    }
    return msg_end(c);
}

static int sink_complete(void *ctx, const char *tag)
{
    pgw_conn *c = ctx;
    msg_begin(c, 'C');
    put_str(c, tag);
    return msg_end(c);
}

static int sink_notice(void *ctx, const tl_error *notice)
{
    pgw_conn *c = ctx;
    tl_severity sev = notice->severity == TL_SEV_WARNING ? TL_SEV_WARNING : TL_SEV_NOTICE;
    return send_error(c, 'N', notice, sev);
}

static int sink_param_status(void *ctx, const char *name, const char *value)
{
    pgw_conn *c = ctx;
    struct pgw_param *p = param_slot(c, name);
    if (!p) {
        send_param_status(c, name, value); /* no room to defer: report at once */
    } else {
        free(p->pending);
        p->pending = tl_xstrdup(value ? value : "");
    }
    return c->broken ? -1 : 0;
}

static int sink_empty(void *ctx)
{
    pgw_conn *c = ctx;
    msg_begin(c, 'I');
    return msg_end(c);
}

static int copy_response(pgw_conn *c, char type, int ncols, bool binary)
{
    msg_begin(c, type);
    tl_buf_putc(&c->out, binary ? 1 : 0);
    put_i16(c, (int16_t)ncols);
    for (int i = 0; i < ncols; i++)
        put_i16(c, binary ? 1 : 0);
    msg_end(c);
    return flush_out(c);
}

static int sink_copy_in_begin(void *ctx, int ncols, bool binary)
{
    pgw_conn *c = ctx;
    c->copy_active = true;
    c->copy_left = 0;
    return copy_response(c, 'G', ncols, binary);
}

static long sink_copy_in_read(void *ctx, char *buf, size_t cap, tl_error *err)
{
    pgw_conn *c = ctx;
    if (!c->copy_active)
        return 0;
    while (c->copy_left == 0) {
        char type;
        size_t len;
        if (c->broken)
            goto lost;
        unsigned char t;
        int32_t l;
        if (read_exact(c, &t, 1) != 0 || read_i32(c, &l) != 0)
            goto lost;
        type = (char)t;
        size_t tcap = type == 'd' ? LARGE_MSG_MAX : SMALL_MSG_MAX;
        if (l < 4 || (size_t)l - 4 > tcap) {
            /* framing is lost: nothing after this can be trusted */
            send_fatal(c, "08P01", "invalid message length");
            c->broken = true;
            c->copy_active = false;
            return tl_errorf(err, "08P01", "invalid message length");
        }
        len = (size_t)l - 4;
        switch (type) {
        case 'd':
            c->copy_left = len; /* delivered below, without buffering the whole message */
            break;
        case 'c':
            c->copy_active = false;
            if (skip_bytes(c, len) != 0)
                goto lost;
            return 0;
        case 'f':
            c->copy_active = false;
            if (read_body(c, len) != 0)
                goto lost;
            return tl_errorf(err, "57014", "COPY from stdin failed: %s", c->body.data);
        case 'H':
        case 'S':
            /* PG ignores Flush and Sync during COPY: extended-protocol clients send them */
            if (skip_bytes(c, len) != 0)
                goto lost;
            break;
        default:
            c->copy_active = false;
            if (skip_bytes(c, len) != 0)
                goto lost;
            return tl_errorf(err, "08P01", "unexpected message type 0x%02X during COPY from stdin",
                             (unsigned char)type);
        }
    }
    size_t k = c->copy_left < cap ? c->copy_left : cap;
    if (k > (size_t)0x7fffffff)
        k = 0x7fffffff;
    if (read_exact(c, buf, k) != 0)
        goto lost;
    c->copy_left -= k;
    return (long)k;
lost:
    c->copy_active = false;
    c->copy_left = 0;
    return tl_errorf(err, "08006", "unexpected EOF on client connection");
}

static int sink_copy_out_begin(void *ctx, int ncols, bool binary)
{
    return copy_response(ctx, 'H', ncols, binary);
}

static int sink_copy_out_data(void *ctx, const char *data, size_t len)
{
    pgw_conn *c = ctx;
    msg_begin(c, 'd');
    tl_buf_append(&c->out, data, len);
    return msg_end(c);
}

static int sink_copy_out_end(void *ctx)
{
    pgw_conn *c = ctx;
    msg_begin(c, 'c');
    return msg_end(c);
}

/* After a COPY FROM STDIN statement ends, the socket must be back at a message boundary:
 * drop the unread rest of a CopyData, and if the statement succeeded without reading to
 * CopyDone (data ended at "\."), consume up to CopyDone/CopyFail as PG does. After an
 * error, the remaining copy messages are ignored by the main loop, as in PG. */
static int copy_in_cleanup(pgw_conn *c, bool ok)
{
    if (c->copy_left > 0) {
        if (skip_bytes(c, c->copy_left) != 0)
            return -1;
        c->copy_left = 0;
    }
    if (!c->copy_active)
        return 0;
    if (!ok) {
        c->copy_active = false;
        return 0;
    }
    char buf[4096];
    tl_error err;
    tl_error_clear(&err);
    long n;
    while ((n = sink_copy_in_read(c, buf, sizeof buf, &err)) > 0)
        ;
    return c->broken ? -1 : 0;
}

/* ---- start-up ------------------------------------------------------------------------ */

static int32_t random_secret(void)
{
    int32_t v = 0;
    if (getrandom(&v, sizeof v, 0) != (ssize_t)sizeof v) {
        /* no entropy source: a weak key still only guards cancelling a query */
        v = (int32_t)(((uint32_t)rand() << 16) ^ (uint32_t)rand());
    }
    return v;
}

/* Read start-up packets until a StartupMessage; 0 = proceed, -1 = close. */
static int read_startup(pgw_conn *c)
{
    for (int round = 0; round < 3; round++) {
        int32_t len;
        if (read_i32(c, &len) != 0)
            return -1;
        /* PG: "invalid length of startup packet" is logged, the connection closed */
        if (len < 8 || len > STARTUP_MAX)
            return -1;
        if (read_body(c, (size_t)len - 4) != 0)
            return -1;
        uint32_t code = get_u32(c->body.data);
        if (code == PROTO_SSL && c->srv->ssl_ctx && !c->ssl) {
            tl_buf_putc(&c->out, 'S');
            if (flush_out(c) != 0)
                return -1;
            /* bytes after the SSLRequest that arrived in plaintext could be injected by
             * a man in the middle (CVE-2021-23214): refuse them as PG does */
            if (c->in_pos < c->in_len) {
                send_fatal(c, "08P01", "received unencrypted data after SSL request");
                return -1;
            }
            if (srv__tls_accept(c) != 0)
                return -1;
            continue;
        }
        if (code == PROTO_SSL || code == PROTO_GSS) {
            /* no GSS, and TLS only when configured: 'N' tells the client to go on in plaintext */
            tl_buf_putc(&c->out, 'N');
            if (flush_out(c) != 0)
                return -1;
            continue;
        }
        if (code == PROTO_CANCEL) {
            if (c->body.len == 12)
                srv__cancel(c->srv, (int32_t)get_u32(c->body.data + 4),
                            (int32_t)get_u32(c->body.data + 8));
            return -1;
        }
        return 0;
    }
    return -1; /* negotiation requests without end */
}

/* Negotiate down to 3.0 (PG 15's ProcessStartupPacket), naming ignored _pq_ options. */
static void send_negotiate(pgw_conn *c, int nopts, const char **opts)
{
    msg_begin(c, 'v');
    put_i32(c, 0);
    put_i32(c, nopts);
    for (int i = 0; i < nopts; i++)
        put_str(c, opts[i]);
    msg_end(c);
}

static int startup(pgw_conn *c)
{
    if (read_startup(c) != 0)
        return -1;
    uint32_t proto = get_u32(c->body.data);
    unsigned major = proto >> 16, minor = proto & 0xffff;
    if (major != 3) {
        char m[128];
        snprintf(m, sizeof m, "unsupported frontend protocol %u.%u: server supports 3.0 to 3.0",
                 major, minor);
        send_fatal(c, "0A000", m);
        return -1;
    }
    /* name/value pairs, each NUL-terminated, ended by an empty name */
    const char *p = c->body.data + 4, *end = c->body.data + c->body.len;
    const char *names[64], *values[64], *pq_opts[64];
    int n = 0, npq = 0;
    const char *user = NULL, *database = NULL;
    for (;;) {
        if (p >= end)
            goto bad_packet;
        if (*p == '\0')
            break;
        const char *name = p;
        p += strnlen(p, (size_t)(end - p)) + 1;
        if (p >= end)
            goto bad_packet;
        const char *value = p;
        p += strnlen(p, (size_t)(end - p)) + 1;
        if (p > end)
            goto bad_packet;
        if (strcmp(name, "user") == 0)
            user = value;
        else if (strcmp(name, "database") == 0)
            database = value;
        else if (strncmp(name, "_pq_.", 5) == 0) {
            if (npq < 64)
                pq_opts[npq++] = name;
        } else if (strcmp(name, "options") == 0 || strcmp(name, "replication") == 0) {
            /* accepted and ignored: no command-line options, no replication */
        } else if (n < 64) {
            names[n] = name;
            values[n] = value;
            n++;
        }
    }
    if (!user || !user[0]) {
        send_fatal(c, "28000", "no PostgreSQL user name specified in startup packet");
        return -1;
    }
    if (!database || !database[0])
        database = user;
    if (minor > 0 || npq > 0)
        send_negotiate(c, npq, pq_opts);

    tl_engine *eng = c->srv->eng;
    /* security (auth.c): the connection limit, then hba, password, role, database */
    if (!srv__slot_take(c->srv, c)) {
        send_fatal(c, "53300", "sorry, too many clients already");
        return -1;
    }
    if (srv__authenticate(c, user, database) != 0)
        return -1;
    tl_qsession *qs = tl_qsession_new(eng, user, database);
    if (!qs) {
        send_fatal(c, "53000", "could not create a session");
        return -1;
    }
    tl_error err;
    tl_error_clear(&err);
    for (int i = 0; i < n; i++) {
        if (tl_qsession_set(qs, names[i], values[i], &err) != 0) {
            send_error(c, 'E', &err, TL_SEV_FATAL);
            flush_out(c);
            tl_qsession_free(qs);
            return -1;
        }
    }
    pthread_mutex_lock(&c->srv->mu);
    c->qs = qs; /* from now on a CancelRequest can reach it */
    pthread_mutex_unlock(&c->srv->mu);

    msg_begin(c, 'R');
    put_i32(c, 0); /* AuthenticationOk */
    msg_end(c);
    tl_qsession_report_params(qs, report_param_cb, c);
    msg_begin(c, 'K');
    put_i32(c, c->pid);
    put_i32(c, c->secret);
    msg_end(c);
    return send_ready(c);

bad_packet:
    send_fatal(c, "08P01", "invalid startup packet layout: expected terminator as last byte");
    return -1;
}

/* ---- the message loop ------------------------------------------------------------------- */

static tl_sink conn_sink(pgw_conn *c);


static int simple_query(pgw_conn *c)
{
    if (memchr(c->body.data, '\0', c->body.len) == NULL) {
        send_fatal(c, "08P01", "invalid string in message");
        return -1;
    }
    tl_sink sink = conn_sink(c);
    tl_error err;
    tl_error_clear(&err);
    /* the sink may reuse c->body (CopyFail text), so the query gets its own copy */
    char *sql = tl_xstrdup(c->body.data);
    int rc = tl_query_simple(c->qs, sql, &sink, &err);
    free(sql);
    if (c->broken)
        return -1;
    if (copy_in_cleanup(c, rc == 0) != 0)
        return -1;
    if (rc != 0) {
        if (!tl_error_set(&err))
            tl_errorf(&err, "XX000", "query failed without an error message");
        send_error(c, 'E', &err, err.severity == TL_SEV_FATAL ? TL_SEV_FATAL : TL_SEV_ERROR);
        if (err.severity == TL_SEV_FATAL) {
            flush_out(c);
            return -1;
        }
    }
    return send_ready(c);
}

/* ---- extended query protocol ------------------------------------------------------------- */

/* A cursor over a message body; any overrun marks it bad (08P01, as pq_getmsg*). */
typedef struct rd {
    const char *p, *end;
    bool bad;
} rd;

static const char *rd_str(rd *r)
{
    const char *z = r->bad ? NULL : memchr(r->p, '\0', (size_t)(r->end - r->p));
    if (!z) {
        r->bad = true;
        return "";
    }
    const char *s = r->p;
    r->p = z + 1;
    return s;
}

static int32_t rd_i32(rd *r)
{
    if (r->bad || r->end - r->p < 4) {
        r->bad = true;
        return 0;
    }
    int32_t v = (int32_t)get_u32(r->p);
    r->p += 4;
    return v;
}

static int16_t rd_i16(rd *r)
{
    if (r->bad || r->end - r->p < 2) {
        r->bad = true;
        return 0;
    }
    const unsigned char *u = (const unsigned char *)r->p;
    r->p += 2;
    return (int16_t)(u[0] << 8 | u[1]);
}

static const char *rd_bytes(rd *r, size_t n)
{
    if (r->bad || (size_t)(r->end - r->p) < n) {
        r->bad = true;
        return NULL;
    }
    const char *s = r->p;
    r->p += n;
    return s;
}

static int rd_check(rd *r, tl_error *err)
{
    if (r->bad) return tl_errorf(err, "08P01", "insufficient data left in message");
    if (r->p != r->end) return tl_errorf(err, "08P01", "invalid message format");
    return 0;
}

static tl_sink conn_sink(pgw_conn *c)
{
    tl_sink sink = {
        .ctx = c,
        .describe = sink_describe,
        .row = sink_row,
        .complete = sink_complete,
        .notice = sink_notice,
        .param_status = sink_param_status,
        .copy_in_begin = sink_copy_in_begin,
        .copy_in_read = sink_copy_in_read,
        .copy_out_begin = sink_copy_out_begin,
        .copy_out_data = sink_copy_out_data,
        .copy_out_end = sink_copy_out_end,
        .empty = sink_empty,
    };
    return sink;
}

static void send_empty_msg(pgw_conn *c, char type)
{
    msg_begin(c, type);
    msg_end(c);
}

static int ext_parse(pgw_conn *c, tl_error *err)
{
    rd r = {c->body.data, c->body.data + c->body.len, false};
    const char *name = rd_str(&r);
    const char *sql = rd_str(&r);
    int n = rd_i16(&r);
    if (n < 0) r.bad = true;
    uint32_t *oids = tl_xcalloc((size_t)(n > 0 ? n : 0) + 1, sizeof *oids);
    for (int i = 0; i < n && !r.bad; i++) oids[i] = (uint32_t)rd_i32(&r);
    int rc = rd_check(&r, err);
    if (rc == 0) rc = tl_prepare(c->qs, name, sql, n, oids, err);
    free(oids);
    if (rc == 0) send_empty_msg(c, '1'); /* ParseComplete */
    return rc;
}

static int ext_bind(pgw_conn *c, tl_error *err)
{
    rd r = {c->body.data, c->body.data + c->body.len, false};
    const char *portal = rd_str(&r);
    const char *stmt = rd_str(&r);
    int nf = rd_i16(&r);
    if (nf < 0) r.bad = true;
    int16_t *fmts = tl_xcalloc((size_t)(nf > 0 ? nf : 0) + 1, sizeof *fmts);
    for (int i = 0; i < nf && !r.bad; i++) fmts[i] = rd_i16(&r);
    int nv = r.bad ? 0 : rd_i16(&r);
    if (nv < 0) r.bad = true;
    tl_cell *vals = tl_xcalloc((size_t)(nv > 0 ? nv : 0) + 1, sizeof *vals);
    for (int i = 0; i < nv && !r.bad; i++) {
        int32_t len = rd_i32(&r);
        if (len == -1) continue; /* NULL */
        if (len < 0) {
            r.bad = true;
            break;
        }
        vals[i].ptr = rd_bytes(&r, (size_t)len);
        vals[i].len = (size_t)len;
    }
    int nr = r.bad ? 0 : rd_i16(&r);
    if (nr < 0) r.bad = true;
    int16_t *rfmts = tl_xcalloc((size_t)(nr > 0 ? nr : 0) + 1, sizeof *rfmts);
    for (int i = 0; i < nr && !r.bad; i++) rfmts[i] = rd_i16(&r);
    int rc = rd_check(&r, err);
    if (rc == 0) rc = tl_bind(c->qs, portal, stmt, nf, fmts, nv, vals, nr, rfmts, err);
    free(fmts);
    free(vals);
    free(rfmts);
    if (rc == 0) send_empty_msg(c, '2'); /* BindComplete */
    return rc;
}

static int ext_describe(pgw_conn *c, tl_error *err)
{
    rd r = {c->body.data, c->body.data + c->body.len, false};
    const char *kind = rd_bytes(&r, 1);
    const char *name = rd_str(&r);
    if (rd_check(&r, err) < 0) return -1;
    int ncols = -1;
    const tl_coldesc *cols = NULL;
    if (*kind == 'S') {
        int np = 0;
        const uint32_t *oids = NULL;
        if (tl_prepared_describe(c->qs, name, &np, &oids, &ncols, &cols, err) < 0) return -1;
        msg_begin(c, 't'); /* ParameterDescription */
        put_i16(c, (int16_t)np);
        for (int i = 0; i < np; i++) put_i32(c, (int32_t)oids[i]);
        msg_end(c);
    } else if (*kind == 'P') {
        if (tl_portal_describe(c->qs, name, &ncols, &cols, err) < 0) return -1;
    } else {
        return tl_errorf(err, "08P01", "invalid DESCRIBE message subtype %d", (unsigned char)*kind);
    }
    if (ncols < 0)
        send_empty_msg(c, 'n'); /* NoData */
    else
        sink_describe(c, ncols, cols);
    return c->broken ? -1 : 0;
}

static int ext_execute(pgw_conn *c, tl_error *err)
{
    rd r = {c->body.data, c->body.data + c->body.len, false};
    const char *name = rd_str(&r);
    int32_t max = rd_i32(&r);
    if (rd_check(&r, err) < 0) return -1;
    char *pname = tl_xstrdup(name); /* the body buffer is reused by COPY */
    tl_sink sink = conn_sink(c);
    sink.describe = NULL;
    bool suspended = false;
    int rc = tl_execute(c->qs, pname, max, &sink, &suspended, err);
    free(pname);
    if (c->broken) return -1;
    if (copy_in_cleanup(c, rc == 0) != 0) return -1;
    if (rc == 0 && suspended) send_empty_msg(c, 's'); /* PortalSuspended */
    return rc;
}

static int ext_close(pgw_conn *c, tl_error *err)
{
    rd r = {c->body.data, c->body.data + c->body.len, false};
    const char *kind = rd_bytes(&r, 1);
    const char *name = rd_str(&r);
    if (rd_check(&r, err) < 0) return -1;
    if (*kind == 'S')
        tl_close_statement(c->qs, name);
    else if (*kind == 'P')
        tl_close_portal(c->qs, name);
    else
        return tl_errorf(err, "08P01", "invalid CLOSE message subtype %d", (unsigned char)*kind);
    send_empty_msg(c, '3'); /* CloseComplete */
    return 0;
}

/* One extended-protocol message; -1 = an error was reported (skip to Sync), -2 = the
 * session must end. */
static int extended_message(pgw_conn *c, char type)
{
    tl_error err;
    tl_error_clear(&err);
    int rc;
    switch (type) {
    case 'P': rc = ext_parse(c, &err); break;
    case 'B': rc = ext_bind(c, &err); break;
    case 'D': rc = ext_describe(c, &err); break;
    case 'E': rc = ext_execute(c, &err); break;
    default: rc = ext_close(c, &err); break;
    }
    if (c->broken) return -2;
    if (rc == 0) return 0;
    if (!tl_error_set(&err)) tl_errorf(&err, "XX000", "extended query failed without an error message");
    bool fatal = err.severity == TL_SEV_FATAL;
    send_error(c, 'E', &err, fatal ? TL_SEV_FATAL : TL_SEV_ERROR);
    if (fatal) {
        flush_out(c);
        return -2;
    }
    return -1;
}

static void conn_loop(pgw_conn *c)
{
    bool skip_to_sync = false; /* after an extended-protocol error, as PG does */
    for (;;) {
        char type;
        size_t len;
        srv__arm_idle_timeout(c); /* idle_in_transaction_session_timeout (listen.c) */
        if (read_header(c, &type, &len) != 0)
            return;
        if (type == 'd' || type == 'c' || type == 'f') {
            /* PG: copy messages outside COPY are ignored; they follow a failed COPY */
            if (skip_bytes(c, len) != 0)
                return;
            continue;
        }
        if (read_body(c, len) != 0)
            return;
        if (skip_to_sync && type != 'S' && type != 'X')
            continue; /* PG ignores everything up to Sync, simple Query included */
        switch (type) {
        case 'Q':
            if (simple_query(c) != 0)
                return;
            break;
        case 'X':
            return;
        case 'S': {
            tl_error err;
            tl_error_clear(&err);
            int src = tl_sync(c->qs, skip_to_sync, &err); /* commits the implicit transaction */
            skip_to_sync = false;
            if (src < 0 && send_error(c, 'E', &err, TL_SEV_ERROR) != 0)
                return;
            if (send_ready(c) != 0)
                return;
            break;
        }
        case 'F':
            /* FunctionCall is not extended protocol: its client waits for ReadyForQuery */
            send_simple_error(c, TL_SEV_ERROR, "0A000", "function call protocol not supported");
            if (send_ready(c) != 0)
                return;
            break;
        case 'H':
            if (flush_out(c) != 0)
                return;
            break;
        case 'P': case 'B': case 'D': case 'E': case 'C': {
            int rc = extended_message(c, type);
            if (rc == -2)
                return;
            if (rc == -1)
                skip_to_sync = true;
            break;
        }
        default:
            return; /* msg_cap admits no other type */
        }
        if (c->broken)
            return;
    }
}

void tl_server_serve_fd(tl_server *s, int fd)
{
    pgw_conn *c = tl_xcalloc(1, sizeof *c);
    c->srv = s;
    c->fd = fd;
    c->secret = random_secret();
    c->in = tl_xmalloc(IN_BUF_SIZE);
    tl_buf_init(&c->out);
    tl_buf_init(&c->body);
    tl_buf_init(&c->auth_body);
    srv__register(s, c);
    srv__set_timeout(c, s->auth_timeout_s, false); /* authentication_timeout */
    if (startup(c) == 0) {
        srv__set_timeout(c, 0, false);
        conn_loop(c);
        if (c->timed_out && c->idle_armed) {
            /* the socket is fine, the session sat idle inside a transaction */
            c->broken = false;
            tl_buf_clear(&c->out);
            send_fatal(c, "25P03", "terminating connection due to idle-in-transaction timeout");
        }
    }
    flush_out(c);
    srv__tls_close(c);
    srv__unregister(s, c); /* frees the session under the registry lock */
    close(fd);
    tl_buf_free(&c->out);
    tl_buf_free(&c->body);
    for (int i = 0; i < c->nparams; i++) {
        free(c->params[i].name);
        free(c->params[i].sent);
        free(c->params[i].pending);
    }
    tl_buf_free(&c->auth_body);
    free(c->in);
    free(c);
}
