/*
 * tls.c — the connection's byte stream: plain socket or OpenSSL TLS after an
 * SSLRequest. pgwire.c reads and writes only through srv__io_recv / srv__io_send, so
 * the protocol code never knows which one it is speaking over.
 */
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server_int.h"

void *srv__tls_ctx_new(const char *cert, const char *key, tl_error *err)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        tl_errorf(err, "F0000", "could not create SSL context");
        return NULL;
    }
    /* PG 15's default ssl_min_protocol_version */
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
        tl_errorf(err, "F0000", "could not load server certificate file \"%s\": %s", cert,
                  ERR_reason_error_string(ERR_get_error()));
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
        tl_errorf(err, "F0000", "could not load private key file \"%s\": %s", key,
                  ERR_reason_error_string(ERR_get_error()));
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

void srv__tls_ctx_free(void *ctx)
{
    SSL_CTX_free(ctx);
}

int srv__tls_accept(pgw_conn *c)
{
    SSL *ssl = SSL_new(c->srv->ssl_ctx);
    if (!ssl) return -1;
    SSL_set_fd(ssl, c->fd);
    if (SSL_accept(ssl) != 1) {
        SSL_free(ssl);
        ERR_clear_error();
        return -1;
    }
    c->ssl = ssl;
    return 0;
}

void srv__tls_close(pgw_conn *c)
{
    if (!c->ssl) return;
    if (!c->broken) SSL_shutdown(c->ssl);
    SSL_free(c->ssl);
    c->ssl = NULL;
    ERR_clear_error();
}

ssize_t srv__io_recv(pgw_conn *c, void *buf, size_t n)
{
    if (!c->ssl) {
        ssize_t r = recv(c->fd, buf, n, 0);
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) c->timed_out = true;
        return r;
    }
    int k = n > 0x7fffffff ? 0x7fffffff : (int)n;
    int r = SSL_read(c->ssl, buf, k);
    if (r > 0) return r;
    int e = SSL_get_error(c->ssl, r);
    /* a socket receive timeout surfaces as WANT_READ on a blocking socket */
    if (e == SSL_ERROR_WANT_READ || (e == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK)))
        c->timed_out = true;
    if (e == SSL_ERROR_SYSCALL && errno == EINTR) return -1;
    ERR_clear_error();
    errno = EIO;
    return e == SSL_ERROR_ZERO_RETURN ? 0 : -1;
}

ssize_t srv__io_send(pgw_conn *c, const void *buf, size_t n)
{
    if (!c->ssl) return send(c->fd, buf, n, MSG_NOSIGNAL);
    int k = n > 0x7fffffff ? 0x7fffffff : (int)n;
    int r = SSL_write(c->ssl, buf, k);
    if (r > 0) return r;
    ERR_clear_error();
    errno = EIO;
    return -1;
}
