/*
 * server_test.c — the pgwire server (server/) driven over loopback sockets against the
 * fake query layer in fake_query.c. Each exchange is rendered as a compact transcript,
 * e.g. "T(?column?) D(1) C(SELECT 1) Z(I)", and compared whole, so a missing, extra or
 * reordered message fails the test.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "tl_server.h"

static tl_server *srv;
static int fake_engine;

static void setup(void)
{
    tl_server_opts o = {.listen_addr = "127.0.0.1", .port = 0};
    srv = tl_server_new((tl_engine *)(void *)&fake_engine, &o);
    tl_error err;
    tl_error_clear(&err);
    cr_assert_eq(tl_server_listen(srv, &err), 0, "%s", err.message);
    cr_assert_eq(tl_server_start(srv, &err), 0);
}

static void teardown(void)
{
    tl_server_free(srv);
}

TestSuite(pgwire, .init = setup, .fini = teardown, .timeout = 30);

/* ---- client side ---------------------------------------------------------------- */

static int cli_connect(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)tl_server_port(srv))};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static void send_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t k = send(fd, c, n, MSG_NOSIGNAL);
        cr_assert(k > 0, "send failed");
        c += k;
        n -= (size_t)k;
    }
}

static void be32(char *p, uint32_t v)
{
    p[0] = (char)(v >> 24);
    p[1] = (char)(v >> 16);
    p[2] = (char)(v >> 8);
    p[3] = (char)v;
}

static uint32_t get32(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    return (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3];
}

/* A framed message into b (appended), for sending whole or in pieces. */
static void frame(tl_buf *b, char type, const void *body, size_t len)
{
    char h[5];
    h[0] = type;
    be32(h + 1, (uint32_t)(len + 4));
    tl_buf_append(b, h, 5);
    tl_buf_append(b, body, len);
}

static void send_msg(int fd, char type, const void *body, size_t len)
{
    tl_buf b;
    tl_buf_init(&b);
    frame(&b, type, body, len);
    send_all(fd, b.data, b.len);
    tl_buf_free(&b);
}

static void send_query(int fd, const char *sql)
{
    send_msg(fd, 'Q', sql, strlen(sql) + 1);
}

static void send_code(int fd, uint32_t code)
{
    char p[8];
    be32(p, 8);
    be32(p + 4, code);
    send_all(fd, p, 8);
}

/* StartupMessage: proto, then NULL-terminated name/value pairs. */
static void send_startup_v(int fd, uint32_t proto, const char *const *kv)
{
    tl_buf b;
    tl_buf_init(&b);
    char h[8];
    tl_buf_append(&b, h, 8);
    for (int i = 0; kv[i]; i++)
        tl_buf_append(&b, kv[i], strlen(kv[i]) + 1);
    tl_buf_putc(&b, '\0');
    be32(b.data, (uint32_t)b.len);
    be32(b.data + 4, proto);
    send_all(fd, b.data, b.len);
    tl_buf_free(&b);
}

static void send_startup(int fd, const char *const *kv)
{
    send_startup_v(fd, 3u << 16, kv);
}

static int recv_exact(int fd, void *p, size_t n)
{
    char *c = p;
    while (n > 0) {
        ssize_t k = recv(fd, c, n, 0);
        if (k <= 0)
            return -1;
        c += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Read one message; 0 type = EOF. */
static char read_msg(int fd, tl_buf *body)
{
    char h[5];
    tl_buf_clear(body);
    if (recv_exact(fd, h, 5) != 0)
        return 0;
    uint32_t len = get32(h + 1);
    cr_assert(len >= 4 && len < (1u << 24), "bad length from server");
    tl_buf_reserve(body, len);
    cr_assert_eq(recv_exact(fd, body->data, len - 4), 0);
    body->len = len - 4;
    return h[0];
}

/* Render error/notice fields: C:M[@P] */
static void render_fields(tl_buf *out, const tl_buf *b)
{
    const char *p = b->data, *end = b->data + b->len;
    const char *code = "", *msg = "", *pos = NULL, *sev = "";
    while (p < end && *p) {
        char f = *p++;
        if (f == 'C')
            code = p;
        else if (f == 'M')
            msg = p;
        else if (f == 'P')
            pos = p;
        else if (f == 'S')
            sev = p;
        p += strlen(p) + 1;
    }
    tl_buf_printf(out, "%s %s:%s", sev, code, msg);
    if (pos)
        tl_buf_printf(out, "@%s", pos);
}

/* Render one message; returns its type. */
static char render_one(int fd, tl_buf *out, int32_t *key)
{
    tl_buf b;
    tl_buf_init(&b);
    char t = read_msg(fd, &b);
    const char *p = b.data;
    if (out->len)
        tl_buf_putc(out, ' ');
    switch (t) {
    case 0:
        tl_buf_puts(out, "EOF");
        break;
    case 'T': {
        int n = (p[0] & 0xff) << 8 | (p[1] & 0xff);
        p += 2;
        tl_buf_puts(out, "T(");
        for (int i = 0; i < n; i++) {
            tl_buf_printf(out, "%s%s", i ? "," : "", p);
            p += strlen(p) + 1 + 18;
        }
        tl_buf_putc(out, ')');
        break;
    }
    case 'D': {
        int n = (p[0] & 0xff) << 8 | (p[1] & 0xff);
        p += 2;
        tl_buf_puts(out, "D(");
        for (int i = 0; i < n; i++) {
            int32_t l = (int32_t)get32(p);
            p += 4;
            if (i)
                tl_buf_putc(out, ',');
            if (l < 0) {
                tl_buf_puts(out, "NULL");
            } else {
                tl_buf_append(out, p, (size_t)l);
                p += l;
            }
        }
        tl_buf_putc(out, ')');
        break;
    }
    case 'C':
        tl_buf_printf(out, "C(%s)", p);
        break;
    case 'Z':
        tl_buf_printf(out, "Z(%c)", p[0]);
        break;
    case 'I':
        tl_buf_puts(out, "I");
        break;
    case 'E':
    case 'N':
        tl_buf_printf(out, "%c(", t);
        render_fields(out, &b);
        tl_buf_putc(out, ')');
        break;
    case 'S':
        tl_buf_printf(out, "S(%s=%s)", p, p + strlen(p) + 1);
        break;
    case 'K':
        if (key) {
            key[0] = (int32_t)get32(p);
            key[1] = (int32_t)get32(p + 4);
        }
        tl_buf_puts(out, "K");
        break;
    case 'R':
        tl_buf_printf(out, "R(%u)", get32(p));
        break;
    case 'G':
    case 'H':
        tl_buf_printf(out, "%c(%d,%d)", t, p[0], (p[1] & 0xff) << 8 | (p[2] & 0xff));
        break;
    case 'd':
        tl_buf_puts(out, "d(");
        tl_buf_append(out, b.data, b.len);
        tl_buf_putc(out, ')');
        break;
    case 'c':
        tl_buf_puts(out, "c");
        break;
    case 'v':
        tl_buf_printf(out, "v(%u,%u)", get32(p), get32(p + 4));
        break;
    case '1': case '2': case '3': case 's': case 'n':
        tl_buf_putc(out, t);
        break;
    case 't': {
        int n = (p[0] & 0xff) << 8 | (p[1] & 0xff);
        tl_buf_puts(out, "t(");
        for (int i = 0; i < n; i++)
            tl_buf_printf(out, "%s%u", i ? "," : "", get32(p + 2 + 4 * i));
        tl_buf_putc(out, ')');
        break;
    }
    default:
        tl_buf_printf(out, "?%c", t);
    }
    tl_buf_free(&b);
    return t;
}

/* Everything up to and including ReadyForQuery (or EOF), as one string. */
static char *transcript(int fd, int32_t *key)
{
    tl_buf out;
    tl_buf_init(&out);
    for (;;) {
        char t = render_one(fd, &out, key);
        if (t == 'Z' || t == 0)
            break;
    }
    tl_buf_putc(&out, '\0');
    return out.data;
}

/* Messages until one of type `stop` (included). */
static char *transcript_until(int fd, char stop)
{
    tl_buf out;
    tl_buf_init(&out);
    for (;;) {
        char t = render_one(fd, &out, NULL);
        if (t == stop || t == 0)
            break;
    }
    tl_buf_putc(&out, '\0');
    return out.data;
}

static void expect(int fd, const char *want)
{
    char *got = transcript(fd, NULL);
    cr_assert_str_eq(got, want, "\n got: %s\nwant: %s", got, want);
    free(got);
}

static const char *const default_kv[] = {"user", "postgres", "database", "postgres",
                                          "application_name", "psql", NULL};

static const char *const startup_params =
    "R(0) S(application_name=psql) S(client_encoding=UTF8) S(DateStyle=ISO, MDY) "
    "S(integer_datetimes=on) S(IntervalStyle=postgres) S(is_superuser=on) "
    "S(server_encoding=UTF8) S(server_version=15.0 (tally fake)) "
    "S(session_authorization=postgres) S(standard_conforming_strings=on) S(TimeZone=UTC) K "
    "Z(I)";

/* Connected and started; key gets pid and secret. */
static int session(int32_t *key)
{
    int fd = cli_connect();
    send_startup(fd, default_kv);
    char *got = transcript(fd, key);
    cr_assert_str_eq(got, startup_params, "\n got: %s", got);
    free(got);
    return fd;
}

static bool at_eof(int fd)
{
    char c;
    return recv(fd, &c, 1, 0) == 0;
}

static void wait_connections(int n)
{
    for (int i = 0; i < 500 && tl_server_connections(srv) != n; i++)
        usleep(10000);
    cr_assert_eq(tl_server_connections(srv), n);
}

/* ---- start-up -------------------------------------------------------------------- */

Test(pgwire, ssl_and_gss_requests_are_refused_then_startup)
{
    int fd = cli_connect();
    send_code(fd, 80877103);
    char c = 0;
    cr_assert_eq(recv_exact(fd, &c, 1), 0);
    cr_assert_eq(c, 'N');
    send_code(fd, 80877104);
    cr_assert_eq(recv_exact(fd, &c, 1), 0);
    cr_assert_eq(c, 'N');
    send_startup(fd, default_kv);
    int32_t key[2] = {0, 0};
    char *got = transcript(fd, key);
    cr_assert_str_eq(got, startup_params, "\n got: %s", got);
    cr_assert(key[0] > 0);
    free(got);
    close(fd);
}

Test(pgwire, unique_backend_pids)
{
    int32_t k1[2], k2[2];
    int a = session(k1), b = session(k2);
    cr_assert_neq(k1[0], k2[0]);
    close(a);
    close(b);
}

Test(pgwire, startup_errors_are_fatal)
{
    int fd = cli_connect();
    send_startup(fd, (const char *const[]){"user", "postgres", "database", "nope", NULL});
    expect(fd, "E(FATAL 3D000:database \"nope\" does not exist) EOF");
    close(fd);

    fd = cli_connect();
    send_startup(fd, (const char *const[]){"user", "nobody", NULL});
    expect(fd, "E(FATAL 28000:role \"nobody\" does not exist) EOF");
    close(fd);

    fd = cli_connect();
    send_startup(fd, (const char *const[]){"database", "postgres", NULL});
    expect(fd, "E(FATAL 28000:no PostgreSQL user name specified in startup packet) EOF");
    close(fd);

    /* database defaults to the user name: alice has no database */
    fd = cli_connect();
    send_startup(fd, (const char *const[]){"user", "alice", NULL});
    expect(fd, "E(FATAL 3D000:database \"alice\" does not exist) EOF");
    close(fd);

    fd = cli_connect();
    send_startup(fd, (const char *const[]){"user", "postgres", "client_encoding", "LATIN1", NULL});
    expect(fd, "E(FATAL 22023:invalid value for parameter \"client_encoding\": \"LATIN1\") EOF");
    close(fd);

    fd = cli_connect();
    send_startup_v(fd, 2u << 16, default_kv);
    expect(fd, "E(FATAL 0A000:unsupported frontend protocol 2.0: server supports 3.0 to 3.0) EOF");
    close(fd);
}

Test(pgwire, startup_options_and_newer_minor_version)
{
    int fd = cli_connect();
    /* options and replication are accepted silently; 3.1 is negotiated down */
    send_startup_v(fd, 3u << 16 | 1,
                   (const char *const[]){"user", "postgres", "options", "-c geqo=off",
                                         "TimeZone", "Europe/Berlin", NULL});
    char *got = transcript(fd, NULL);
    cr_assert(strncmp(got, "v(0,0) R(0) ", 12) == 0, "%s", got);
    cr_assert(strstr(got, "S(TimeZone=Europe/Berlin)"), "%s", got);
    free(got);
    close(fd);
}

Test(pgwire, bad_startup_length_closes)
{
    int fd = cli_connect();
    char p[8];
    be32(p, 100000);
    be32(p + 4, 3u << 16);
    send_all(fd, p, 8);
    cr_assert(at_eof(fd));
    close(fd);
    fd = cli_connect();
    be32(p, 3);
    send_all(fd, p, 4);
    cr_assert(at_eof(fd));
    close(fd);
}

/* ---- simple query ------------------------------------------------------------------- */

Test(pgwire, simple_query_rows)
{
    int fd = session(NULL);
    send_query(fd, "select 1");
    expect(fd, "T(?column?) D(1) C(SELECT 1) Z(I)");
    send_query(fd, "select null");
    expect(fd, "T(n) D(NULL) C(SELECT 1) Z(I)");
    close(fd);
}

Test(pgwire, multi_statement_and_notice)
{
    int fd = session(NULL);
    send_query(fd, "select 1; notice; select many 3");
    expect(fd, "T(?column?) D(1) C(SELECT 1) N(NOTICE 00000:hello from notice) C(DO) T(n) D(0) "
               "D(1) D(2) C(SELECT 3) Z(I)");
    close(fd);
}

Test(pgwire, error_keeps_session_usable)
{
    int fd = session(NULL);
    send_query(fd, "select 1; bad stuff; select 1");
    expect(fd, "T(?column?) D(1) C(SELECT 1) E(ERROR 42601:syntax error at or near \"bad\"@11) Z(I)");
    send_query(fd, "select 1");
    expect(fd, "T(?column?) D(1) C(SELECT 1) Z(I)");
    close(fd);
}

Test(pgwire, empty_query_and_set)
{
    int fd = session(NULL);
    send_query(fd, "");
    expect(fd, "I Z(I)");
    send_query(fd, " ; ");
    expect(fd, "I Z(I)");
    send_query(fd, "set application_name = x");
    expect(fd, "C(SET) S(application_name=x) Z(I)");
    send_query(fd, "begin");
    expect(fd, "C(BEGIN) Z(T)");
    send_query(fd, "commit");
    expect(fd, "C(COMMIT) Z(I)");
    close(fd);
}

Test(pgwire, large_result_is_streamed)
{
    int fd = session(NULL);
    send_query(fd, "select many 50000");
    tl_buf b;
    tl_buf_init(&b);
    int rows = 0;
    char t;
    while ((t = read_msg(fd, &b)) != 'Z') {
        cr_assert_neq(t, 0);
        rows += t == 'D';
    }
    cr_assert_eq(rows, 50000);
    tl_buf_free(&b);
    close(fd);
}

/* ---- COPY --------------------------------------------------------------------------------- */

Test(pgwire, copy_in_split_weirdly)
{
    int fd = session(NULL);
    send_query(fd, "copy in");
    char *g = transcript_until(fd, 'G');
    cr_assert_str_eq(g, "G(0,2)");
    free(g);
    tl_buf b;
    tl_buf_init(&b);
    frame(&b, 'd', "a\tb\nc", 5);
    frame(&b, 'H', "", 0); /* Flush and Sync are ignored during COPY */
    frame(&b, 'd', "\td\n", 3);
    frame(&b, 'S', "", 0);
    frame(&b, 'd', "", 0);
    frame(&b, 'd', "0123456789abcdef\n", 17);
    frame(&b, 'c', "", 0);
    /* send one byte at a time: headers and bodies split everywhere */
    for (size_t i = 0; i < b.len; i++)
        send_all(fd, b.data + i, 1);
    tl_buf_free(&b);
    expect(fd, "N(NOTICE 00000:a\tb\nc\td\n0123456789abcdef\n) C(COPY 3) Z(I)");
    send_query(fd, "select 1");
    expect(fd, "T(?column?) D(1) C(SELECT 1) Z(I)");
    close(fd);
}

Test(pgwire, copy_fail)
{
    int fd = session(NULL);
    send_query(fd, "copy in");
    free(transcript_until(fd, 'G'));
    send_msg(fd, 'd', "x\n", 2);
    send_msg(fd, 'f', "oops", 5);
    expect(fd, "E(ERROR 57014:COPY from stdin failed: oops) Z(I)");
    send_query(fd, "select 1");
    expect(fd, "T(?column?) D(1) C(SELECT 1) Z(I)");
    close(fd);
}

Test(pgwire, copy_unexpected_message)
{
    int fd = session(NULL);
    send_query(fd, "copy in");
    free(transcript_until(fd, 'G'));
    send_query(fd, "select 1");
    expect(fd, "E(ERROR 08P01:unexpected message type 0x51 during COPY from stdin) Z(I)");
    close(fd);
}

Test(pgwire, copy_statement_stops_early)
{
    /* the statement reads 3 bytes and finishes: the server drops the rest up to CopyDone,
     * and CopyData arriving after a failed COPY is ignored */
    int fd = session(NULL);
    send_query(fd, "copy in partial");
    free(transcript_until(fd, 'G'));
    tl_buf b;
    tl_buf_init(&b);
    frame(&b, 'd', "hello world\n", 12);
    frame(&b, 'd', "more\n", 5);
    frame(&b, 'c', "", 0);
    frame(&b, 'd', "stray\n", 6);
    frame(&b, 'Q', "select 1", 9);
    send_all(fd, b.data, b.len);
    tl_buf_free(&b);
    expect(fd, "N(NOTICE 00000:hel) C(COPY 0) Z(I)");
    expect(fd, "T(?column?) D(1) C(SELECT 1) Z(I)");
    close(fd);
}

Test(pgwire, copy_out)
{
    int fd = session(NULL);
    send_query(fd, "copy out");
    expect(fd, "H(0,1) d(a\n) d(b\n) c C(COPY 2) Z(I)");
    close(fd);
}

/* ---- protocol errors and other sessions ----------------------------------------------- */

Test(pgwire, garbage_length_closes_only_that_session)
{
    int a = session(NULL);
    int b = session(NULL);
    char bad[5] = {'Q'};
    be32(bad + 1, 0x7fffffff);
    send_all(b, bad, 5);
    expect(b, "E(FATAL 08P01:invalid message length) EOF");
    close(b);

    b = session(NULL);
    be32(bad + 1, (uint32_t)-5);
    send_all(b, bad, 5);
    expect(b, "E(FATAL 08P01:invalid message length) EOF");
    close(b);

    b = session(NULL);
    be32(bad + 1, 2);
    send_all(b, bad, 5);
    expect(b, "E(FATAL 08P01:invalid message length) EOF");
    close(b);

    /* a small-message type with a large length */
    b = session(NULL);
    bad[0] = 'S';
    be32(bad + 1, 1000000);
    send_all(b, bad, 5);
    expect(b, "E(FATAL 08P01:invalid message length) EOF");
    close(b);

    b = session(NULL);
    send_msg(b, 'z', "", 0);
    expect(b, "E(FATAL 08P01:invalid frontend message type 122) EOF");
    close(b);

    send_query(a, "select 1");
    expect(a, "T(?column?) D(1) C(SELECT 1) Z(I)");
    close(a);
}

/* Extended-protocol message bodies. */
static void frame_parse(tl_buf *b, const char *name, const char *sql, int nparams)
{
    tl_buf m;
    tl_buf_init(&m);
    tl_buf_append(&m, name, strlen(name) + 1);
    tl_buf_append(&m, sql, strlen(sql) + 1);
    char n[2] = {(char)(nparams >> 8), (char)nparams};
    tl_buf_append(&m, n, 2);
    for (int i = 0; i < nparams; i++)
        tl_buf_append(&m, "\0\0\0\x17", 4); /* int4 */
    frame(b, 'P', m.data, m.len);
    tl_buf_free(&m);
}

/* Bind with `nvalues` text parameters "1" and no result formats. */
static void frame_bind(tl_buf *b, const char *portal, const char *stmt, int nvalues)
{
    tl_buf m;
    tl_buf_init(&m);
    tl_buf_append(&m, portal, strlen(portal) + 1);
    tl_buf_append(&m, stmt, strlen(stmt) + 1);
    char n[2] = {0, (char)nvalues};
    tl_buf_append(&m, "\0\0", 2);
    tl_buf_append(&m, n, 2);
    for (int i = 0; i < nvalues; i++)
        tl_buf_append(&m, "\0\0\0\1" "1", 5);
    tl_buf_append(&m, "\0\0", 2);
    frame(b, 'B', m.data, m.len);
    tl_buf_free(&m);
}

static void frame_exec(tl_buf *b, const char *portal, uint32_t max_rows)
{
    char m[128];
    size_t l = strlen(portal) + 1;
    memcpy(m, portal, l);
    be32(m + l, max_rows);
    frame(b, 'E', m, l + 4);
}

static void frame_named(tl_buf *b, char type, char kind, const char *name)
{
    char m[128];
    m[0] = kind;
    memcpy(m + 1, name, strlen(name) + 1);
    frame(b, type, m, strlen(name) + 2);
}

static void send_buf(int fd, tl_buf *b)
{
    send_all(fd, b->data, b->len);
    tl_buf_clear(b);
}

Test(pgwire, execute_with_row_limit_continues_the_portal)
{
    int fd = session(NULL);
    tl_buf b;
    tl_buf_init(&b);
    frame_parse(&b, "", "select many 5", 0);
    frame_bind(&b, "", "", 0);
    frame_named(&b, 'D', 'P', "");
    frame_exec(&b, "", 2);
    frame_exec(&b, "", 2);
    frame_exec(&b, "", 2);
    frame(&b, 'S', "", 0);
    send_buf(fd, &b);
    expect(fd, "1 2 T(n) D(0) D(1) s D(2) D(3) s D(4) C(SELECT 1) Z(I)");
    /* exactly max_rows rows left: still PortalSuspended, then an empty completion */
    frame_parse(&b, "s2", "select many 2", 0);
    frame_bind(&b, "", "s2", 0);
    frame_exec(&b, "", 2);
    frame_exec(&b, "", 2);
    frame(&b, 'S', "", 0);
    send_buf(fd, &b);
    expect(fd, "1 2 D(0) D(1) s C(SELECT 0) Z(I)");
    tl_buf_free(&b);
    close(fd);
}

Test(pgwire, describe_statement_and_close)
{
    int fd = session(NULL);
    tl_buf b;
    tl_buf_init(&b);
    frame_parse(&b, "q", "select many 3", 2);
    frame_named(&b, 'D', 'S', "q");
    frame_parse(&b, "", "set application_name = x", 0);
    frame_named(&b, 'D', 'S', "");
    frame_named(&b, 'C', 'S', "q");
    frame_named(&b, 'D', 'S', "q");
    frame(&b, 'S', "", 0);
    send_buf(fd, &b);
    expect(fd, "1 t(23,23) T(n) 1 t() n 3 E(ERROR 26000:prepared statement \"q\" does not exist) Z(I)");
    tl_buf_free(&b);
    close(fd);
}

Test(pgwire, error_in_batch_skips_to_sync_and_reports_once)
{
    int fd = session(NULL);
    tl_buf b;
    tl_buf_init(&b);
    frame_parse(&b, "", "bad statement", 0);
    frame_bind(&b, "", "", 0);
    frame_exec(&b, "", 0);
    frame(&b, 'Q', "select 1", 9); /* ignored too while skipping, as in PostgreSQL */
    frame_bind(&b, "", "", 0);
    frame(&b, 'S', "", 0);
    send_buf(fd, &b);
    expect(fd, "E(ERROR 42601:syntax error at or near \"bad\") Z(I)");
    /* a wrong parameter count is an error at Bind */
    frame_parse(&b, "", "select many 1", 1);
    frame_bind(&b, "", "", 0);
    frame_exec(&b, "", 0);
    frame(&b, 'S', "", 0);
    send_buf(fd, &b);
    expect(fd, "1 E(ERROR 08P01:bind message supplies 0 parameters, but prepared statement \"\" requires 1) Z(I)");
    /* a truncated Bind body */
    frame(&b, 'B', "\0\0\0\5", 4);
    frame(&b, 'S', "", 0);
    send_buf(fd, &b);
    expect(fd, "E(ERROR 08P01:insufficient data left in message) Z(I)");
    send_query(fd, "select 1");
    expect(fd, "T(?column?) D(1) C(SELECT 1) Z(I)");
    send_msg(fd, 'F', "\0\0\0\1\0\0\0\0\0\0", 10);
    expect(fd, "E(ERROR 0A000:function call protocol not supported) Z(I)");
    tl_buf_free(&b);
    close(fd);
}

Test(pgwire, pipeline_without_sync_between_statements)
{
    int fd = session(NULL);
    tl_buf b;
    tl_buf_init(&b);
    frame_parse(&b, "a", "select many 1", 0);
    frame_parse(&b, "b", "set application_name = piped", 0);
    frame_parse(&b, "c", "", 0);
    frame_bind(&b, "p1", "a", 0);
    frame_bind(&b, "p2", "b", 0);
    frame_bind(&b, "p3", "c", 0);
    frame_exec(&b, "p1", 0);
    frame_exec(&b, "p2", 0);
    frame_exec(&b, "p3", 0);
    frame_named(&b, 'C', 'P', "p1");
    frame(&b, 'S', "", 0);
    send_buf(fd, &b);
    expect(fd, "1 1 1 2 2 2 D(0) C(SELECT 1) C(SET) I 3 S(application_name=piped) Z(I)");
    /* portals are gone after Sync outside a transaction block */
    frame_exec(&b, "p2", 0);
    frame(&b, 'S', "", 0);
    send_buf(fd, &b);
    expect(fd, "E(ERROR 34000:portal \"p2\" does not exist) Z(I)");
    tl_buf_free(&b);
    close(fd);
}

Test(pgwire, flush_sends_pending_replies_without_sync)
{
    int fd = session(NULL);
    tl_buf b;
    tl_buf_init(&b);
    frame_parse(&b, "", "select many 1", 0);
    frame(&b, 'H', "", 0);
    send_buf(fd, &b);
    char *got = transcript_until(fd, '1');
    cr_assert_str_eq(got, "1");
    free(got);
    frame(&b, 'S', "", 0);
    send_buf(fd, &b);
    expect(fd, "Z(I)");
    tl_buf_free(&b);
    close(fd);
}

Test(pgwire, cancel_during_extended_execute)
{
    int32_t key[2];
    int fd = session(key);
    tl_buf b;
    tl_buf_init(&b);
    frame_parse(&b, "", "sleep", 0);
    frame_bind(&b, "", "", 0);
    frame_exec(&b, "", 0);
    frame(&b, 'S', "", 0);
    send_buf(fd, &b);
    usleep(50000);
    int c = cli_connect();
    char p[16];
    be32(p, 16);
    be32(p + 4, 80877102);
    be32(p + 8, (uint32_t)key[0]);
    be32(p + 12, (uint32_t)key[1]);
    send_all(c, p, 16);
    cr_assert(at_eof(c));
    close(c);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    expect(fd, "1 2 E(ERROR 57014:canceling statement due to user request) Z(I)");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    cr_assert(t1.tv_sec - t0.tv_sec < 3, "cancel took effect only at the statement's end");
    tl_buf_free(&b);
    close(fd);
}

Test(pgwire, client_vanishing_mid_extended_result)
{
    int fd = session(NULL);
    tl_buf b;
    tl_buf_init(&b);
    frame_parse(&b, "", "select many 2000000", 0);
    frame_bind(&b, "", "", 0);
    frame_exec(&b, "", 0);
    frame(&b, 'S', "", 0);
    send_buf(fd, &b);
    char buf[100];
    cr_assert(recv(fd, buf, sizeof buf, 0) > 0);
    close(fd);
    wait_connections(0);
    tl_buf_free(&b);
}

Test(pgwire, terminate)
{
    int fd = session(NULL);
    wait_connections(1);
    send_msg(fd, 'X', "", 0);
    cr_assert(at_eof(fd));
    close(fd);
    wait_connections(0);
}

Test(pgwire, cancel_request)
{
    int32_t key[2];
    int fd = session(key);
    send_query(fd, "sleep");
    usleep(50000);
    /* a wrong secret is ignored */
    int c = cli_connect();
    char p[16];
    be32(p, 16);
    be32(p + 4, 80877102);
    be32(p + 8, (uint32_t)key[0]);
    be32(p + 12, (uint32_t)key[1] + 1);
    send_all(c, p, 16);
    cr_assert(at_eof(c));
    close(c);
    usleep(50000);
    c = cli_connect();
    be32(p + 12, (uint32_t)key[1]);
    send_all(c, p, 16);
    cr_assert(at_eof(c));
    close(c);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    expect(fd, "E(ERROR 57014:canceling statement due to user request) Z(I)");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    cr_assert(t1.tv_sec - t0.tv_sec < 3, "cancel took effect only at the statement's end");
    close(fd);
}

Test(pgwire, client_vanishing_mid_result)
{
    int fd = session(NULL);
    send_query(fd, "select many 2000000");
    char buf[100];
    cr_assert(recv(fd, buf, sizeof buf, 0) > 0);
    close(fd); /* the server is still writing */
    wait_connections(0);
    fd = session(NULL);
    send_query(fd, "select 1");
    expect(fd, "T(?column?) D(1) C(SELECT 1) Z(I)");
    close(fd);
}

Test(pgwire, hundred_idle_connections)
{
    int fds[100];
    for (int i = 0; i < 100; i++)
        fds[i] = session(NULL);
    wait_connections(100);
    send_query(fds[57], "select 1");
    expect(fds[57], "T(?column?) D(1) C(SELECT 1) Z(I)");
    for (int i = 0; i < 100; i++)
        close(fds[i]);
    wait_connections(0);
}

Test(pgwire, socketpair_serve_fd)
{
    /* the connection loop runs on any descriptor, without the listener */
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    cr_assert_eq(tl_server_spawn(srv, sv[1]), 0);
    send_startup(sv[0], default_kv);
    char *got = transcript(sv[0], NULL);
    cr_assert_str_eq(got, startup_params);
    free(got);
    send_query(sv[0], "select 1");
    expect(sv[0], "T(?column?) D(1) C(SELECT 1) Z(I)");
    close(sv[0]);
}
