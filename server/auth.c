/*
 * auth.c — client authentication after the StartupMessage (PG 15's auth.c and
 * auth-scram.c): the hba rule picks the method; SCRAM-SHA-256 (RFC 5802/7677),
 * md5 and cleartext password exchanges; then the role, LOGIN, database and CONNECT
 * checks PostgreSQL makes in InitPostgres.
 *
 * A role that does not exist, or has no usable verifier, still goes through the whole
 * exchange against a made-up verifier and fails with the same message as a wrong
 * password, so a client cannot probe which role names exist. Every message read here
 * is bounded (AUTH_MSG_MAX) before anything is allocated for it.
 */
#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "server_int.h"
#include "tl_engine.h"
#include "tl_scram.h"

#define AUTH_MSG_MAX 8192
#define NONCE_RAW 18 /* PG's SCRAM_RAW_NONCE_LEN */

static void put_i32(pgw_conn *c, int32_t v)
{
    uint32_t u = (uint32_t)v;
    char b[4] = {(char)(u >> 24), (char)(u >> 16), (char)(u >> 8), (char)u};
    tl_buf_append(&c->out, b, 4);
}

/* An 'R' message: code and optional payload. */
static int send_auth(pgw_conn *c, int32_t code, const void *data, size_t len)
{
    tl_buf_putc(&c->out, 'R');
    put_i32(c, (int32_t)(8 + len));
    put_i32(c, code);
    if (len) tl_buf_append(&c->out, data, len);
    return srv__flush(c);
}

static void fatal(pgw_conn *c, const char *sqlstate, const char *detail, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void fatal(pgw_conn *c, const char *sqlstate, const char *detail, const char *fmt, ...)
{
    tl_error e;
    tl_error_clear(&e);
    va_list ap;
    va_start(ap, fmt);
    tl_verrorf(&e, sqlstate, fmt, ap);
    va_end(ap);
    if (detail) tl_error_detail(&e, "%s", detail);
    srv__send_error(c, &e, TL_SEV_FATAL);
    srv__flush(c);
}

/* Read one password-type ('p') message into c->auth_body, NUL-terminated: c->auth_body still
 * holds the startup packet (user, database, options), which must survive. */
static int read_pw_msg(pgw_conn *c)
{
    unsigned char t, lb[4];
    if (srv__read_exact(c, &t, 1) != 0) return -1;
    if (t != 'p') {
        fatal(c, "08P01", NULL, "expected password response, got message type %d", t);
        return -1;
    }
    if (srv__read_exact(c, lb, 4) != 0) return -1;
    uint32_t len = (uint32_t)lb[0] << 24 | (uint32_t)lb[1] << 16 | (uint32_t)lb[2] << 8 | lb[3];
    if (len < 4 || len - 4 > AUTH_MSG_MAX) {
        fatal(c, "08P01", NULL, "invalid message length");
        return -1;
    }
    tl_buf_clear(&c->auth_body);
    tl_buf_reserve(&c->auth_body, len - 4 + 1);
    if (srv__read_exact(c, c->auth_body.data, len - 4) != 0) return -1;
    c->auth_body.len = len - 4;
    c->auth_body.data[c->auth_body.len] = '\0';
    return 0;
}

static void fail_password(pgw_conn *c, const char *user)
{
    fatal(c, "28P01", NULL, "password authentication failed for user \"%s\"", user);
}

/* ---- cleartext and md5 ------------------------------------------------------------------ */

static int auth_password(pgw_conn *c, const char *user, const char *verifier)
{
    if (send_auth(c, 3, NULL, 0) != 0 || read_pw_msg(c) != 0) return -1;
    const char *pw = c->auth_body.data;
    if (strlen(pw) != c->auth_body.len - 1 && strlen(pw) + 1 != c->auth_body.len) {
        fatal(c, "08P01", NULL, "invalid password packet size");
        return -1;
    }
    bool ok = pw[0] && verifier && tl_password_matches(verifier, user, pw);
    OPENSSL_cleanse(c->auth_body.data, c->auth_body.len);
    if (!ok) {
        fail_password(c, user);
        return -1;
    }
    return 0;
}

static int auth_md5(pgw_conn *c, const char *user, const char *verifier)
{
    unsigned char salt[4];
    if (RAND_bytes(salt, 4) != 1) return -1;
    if (send_auth(c, 5, salt, 4) != 0 || read_pw_msg(c) != 0) return -1;
    bool ok = false;
    if (verifier && strncmp(verifier, "md5", 3) == 0 && strlen(verifier) == 35) {
        char cat[32 + 4], expect[36];
        memcpy(cat, verifier + 3, 32);
        memcpy(cat + 32, salt, 4);
        memcpy(expect, "md5", 3);
        tl_md5_hex(cat, sizeof cat, expect + 3);
        ok = c->auth_body.len >= 35 && CRYPTO_memcmp(expect, c->auth_body.data, 35) == 0 &&
             (c->auth_body.len == 35 || c->auth_body.data[35] == '\0');
    }
    if (!ok) {
        fail_password(c, user);
        return -1;
    }
    return 0;
}

/* ---- SCRAM-SHA-256 -------------------------------------------------------------------------- */

/* Value of attribute `k=` at the start of s (up to the next comma), or NULL. */
static char *attr(const char *s, char k, char *buf, size_t cap)
{
    if (s[0] != k || s[1] != '=') return NULL;
    const char *e = strchr(s, ',');
    size_t n = e ? (size_t)(e - s - 2) : strlen(s + 2);
    if (n >= cap) return NULL;
    memcpy(buf, s + 2, n);
    buf[n] = '\0';
    return buf;
}

static int auth_scram(pgw_conn *c, const char *user, const char *verifier)
{
    int iter;
    unsigned char salt[64], stored[32], server[32];
    size_t saltlen;
    bool real = verifier && tl_scram_parse_verifier(verifier, &iter, salt, &saltlen, stored, server);
    if (!real) {
        /* a made-up verifier: the exchange looks the same, and cannot succeed */
        iter = TL_SCRAM_ITER;
        saltlen = 16;
        if (RAND_bytes(salt, 16) != 1 || RAND_bytes(stored, 32) != 1 || RAND_bytes(server, 32) != 1) return -1;
    }
    static const char mechs[] = "SCRAM-SHA-256\0";
    if (send_auth(c, 10, mechs, sizeof mechs) != 0 || read_pw_msg(c) != 0) return -1;

    /* SASLInitialResponse: mechanism, int32 length, client-first-message */
    const char *b = c->auth_body.data, *end = b + c->auth_body.len;
    size_t ml = strnlen(b, c->auth_body.len);
    if (ml == c->auth_body.len || strcmp(b, "SCRAM-SHA-256") != 0) {
        fatal(c, "08P01", NULL, "client selected an invalid SASL authentication mechanism");
        return -1;
    }
    const char *p = b + ml + 1;
    if (end - p < 4) goto malformed;
    uint32_t il = (uint32_t)(unsigned char)p[0] << 24 | (uint32_t)(unsigned char)p[1] << 16 |
                  (uint32_t)(unsigned char)p[2] << 8 | (unsigned char)p[3];
    p += 4;
    if (il != (uint32_t)(end - p)) goto malformed;
    char first[AUTH_MSG_MAX + 1];
    memcpy(first, p, il);
    first[il] = '\0';
    if (strlen(first) != il) goto malformed;
    /* gs2 header: we offer no channel binding, so "n" or "y" (client could bind) */
    if (!((first[0] == 'n' || first[0] == 'y') && first[1] == ',')) {
        if (first[0] == 'p') {
            fatal(c, "08P01", NULL, "channel binding is not supported by this build");
            return -1;
        }
        goto malformed;
    }
    const char *authz_end = strchr(first + 2, ',');
    if (!authz_end) goto malformed;
    size_t gs2len = (size_t)(authz_end - first) + 1;
    char gs2[64];
    if (gs2len >= sizeof gs2) goto malformed;
    memcpy(gs2, first, gs2len);
    gs2[gs2len] = '\0';
    const char *bare = first + gs2len;
    char tmp[AUTH_MSG_MAX + 1];
    if (!attr(bare, 'n', tmp, sizeof tmp)) goto malformed;
    const char *rpos = strchr(bare, ',');
    char cnonce[1024];
    if (!rpos || !attr(rpos + 1, 'r', cnonce, sizeof cnonce) || !cnonce[0]) goto malformed;

    unsigned char raw[NONCE_RAW];
    if (RAND_bytes(raw, sizeof raw) != 1) return -1;
    char *snonce = tl_b64_encode(raw, sizeof raw), *salt64 = tl_b64_encode(salt, saltlen);
    tl_buf sfirst;
    tl_buf_init(&sfirst);
    tl_buf_printf(&sfirst, "r=%s%s,s=%s,i=%d", cnonce, snonce, salt64, iter);
    char nonce[1200];
    snprintf(nonce, sizeof nonce, "%s%s", cnonce, snonce);
    free(snonce);
    free(salt64);
    int rc = -1;
    if (send_auth(c, 11, sfirst.data, sfirst.len) != 0 || read_pw_msg(c) != 0) goto out;

    /* client-final-message: c=<gs2 b64>,r=<nonce>[,ext],p=<proof> */
    const char *fin = c->auth_body.data;
    if (strlen(fin) != c->auth_body.len) goto malformed_out;
    char cb[128];
    if (!attr(fin, 'c', cb, sizeof cb)) goto malformed_out;
    unsigned char cbraw[96];
    long cbl = tl_b64_decode(cb, cbraw, sizeof cbraw);
    if (cbl != (long)gs2len || memcmp(cbraw, gs2, gs2len) != 0) {
        fatal(c, "08P01", NULL, "unexpected SCRAM channel-binding attribute in client-final-message");
        goto out;
    }
    const char *r2 = strchr(fin, ',');
    char rn[1200];
    if (!r2 || !attr(r2 + 1, 'r', rn, sizeof rn)) goto malformed_out;
    if (strcmp(rn, nonce) != 0) {
        fatal(c, "08P01", NULL, "SCRAM nonce mismatch");
        goto out;
    }
    const char *pp = strstr(fin, ",p=");
    if (!pp) goto malformed_out;
    unsigned char proof[64];
    if (tl_b64_decode(pp + 3, proof, sizeof proof) != 32) goto malformed_out;
    tl_buf am;
    tl_buf_init(&am);
    tl_buf_printf(&am, "%s,%.*s,%.*s", bare, (int)sfirst.len, sfirst.data, (int)(pp - fin), fin);
    unsigned char sig[32], ckey[32], check[32];
    tl_hmac_sha256(stored, 32, am.data, am.len, sig);
    for (int i = 0; i < 32; i++) ckey[i] = proof[i] ^ sig[i];
    tl_sha256(ckey, 32, check);
    bool ok = real && CRYPTO_memcmp(check, stored, 32) == 0;
    if (!ok) {
        tl_buf_free(&am);
        fail_password(c, user);
        goto out;
    }
    unsigned char ssig[32];
    tl_hmac_sha256(server, 32, am.data, am.len, ssig);
    tl_buf_free(&am);
    char *v = tl_b64_encode(ssig, 32);
    char fmsg[64];
    int fl = snprintf(fmsg, sizeof fmsg, "v=%s", v);
    free(v);
    rc = send_auth(c, 12, fmsg, (size_t)fl);
    goto out;
malformed_out:
    fatal(c, "08P01", NULL, "malformed SCRAM message");
out:
    tl_buf_free(&sfirst);
    return rc;
malformed:
    fatal(c, "08P01", NULL, "malformed SCRAM message");
    return -1;
}

/* ---- the whole sequence ------------------------------------------------------------------------ */

static void peer_text(const struct sockaddr_storage *ss, char *out, size_t cap)
{
    snprintf(out, cap, "[local]");
    if (ss->ss_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, out, (socklen_t)cap);
    else if (ss->ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, out, (socklen_t)cap);
}

int srv__authenticate(pgw_conn *c, const char *user, const char *database)
{
    tl_server *s = c->srv;
    struct sockaddr_storage peer;
    socklen_t pl = sizeof peer;
    memset(&peer, 0, sizeof peer);
    if (getpeername(c->fd, (struct sockaddr *)&peer, &pl) != 0) peer.ss_family = AF_UNIX;
    char host[INET6_ADDRSTRLEN + 8];
    peer_text(&peer, host, sizeof host);
    const char *enc = c->ssl ? "SSL encryption" : "no encryption";

    srv_auth_method m;
    if (srv__hba_match(s, &peer, c->ssl != NULL, user, database, &m) != 0) {
        fatal(c, "28000", NULL, "no pg_hba.conf entry for host \"%s\", user \"%s\", database \"%s\", %s", host, user,
              database, enc);
        return -1;
    }
    if (m == SRV_AUTH_REJECT) {
        fatal(c, "28000", NULL, "pg_hba.conf rejects connection for host \"%s\", user \"%s\", database \"%s\", %s",
              host, user, database, enc);
        return -1;
    }

    /* copy what we need: the catalog may change while the client types its password */
    tl_engine *eng = s->eng;
    tl_login_info li;
    tl_engine_login_info(eng, user, &li);
    bool exists = li.exists, login = li.login;
    char *verifier = li.verifier;

    int rc = 0;
    switch (m) {
    case SRV_AUTH_TRUST:
    case SRV_AUTH_REJECT:
        break;
    case SRV_AUTH_PASSWORD:
        rc = auth_password(c, user, verifier);
        break;
    case SRV_AUTH_MD5:
        /* PG: md5 with a SCRAM verifier uses SCRAM */
        if (verifier && strncmp(verifier, "SCRAM-SHA-256$", 14) == 0) rc = auth_scram(c, user, verifier);
        else rc = auth_md5(c, user, verifier);
        break;
    case SRV_AUTH_SCRAM:
        rc = auth_scram(c, user, verifier);
        break;
    }
    if (verifier) {
        OPENSSL_cleanse(verifier, strlen(verifier));
        free(verifier);
    }
    if (rc != 0) return -1;

    /* InitPostgres: role, LOGIN, database, CONNECT */
    if (!exists) {
        fatal(c, "28000", NULL, "role \"%s\" does not exist", user);
        return -1;
    }
    if (!login) {
        fatal(c, "28000", NULL, "role \"%s\" is not permitted to log in", user);
        return -1;
    }
    if (!tl_engine_database_exists(eng, database)) {
        fatal(c, "3D000", NULL, "database \"%s\" does not exist", database);
        return -1;
    }
    if (!li.may_connect) {
        fatal(c, "42501", "User does not have CONNECT privilege.", "permission denied for database \"%s\"", database);
        return -1;
    }
    return 0;
}
