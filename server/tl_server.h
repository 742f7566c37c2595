/*
 * tl_server.h — the pgwire v3 server: one accept thread, one small-stack thread per
 * connection, each connection a query session (tl_query.h). The connection loop is
 * callable on any socket (tl_server_serve_fd), so tests drive it over socketpairs and
 * loopback sockets with a fake query layer.
 */
#ifndef TL_SERVER_H
#define TL_SERVER_H

#include "tl_base.h"

typedef struct tl_engine tl_engine;
typedef struct tl_server tl_server;

typedef struct tl_server_opts {
    const char *listen_addr; /* IPv4/IPv6 literal or host name; NULL = "127.0.0.1" */
    int port;                /* 0 = let the kernel pick (tests); read it with tl_server_port */
    size_t stack_size;       /* per connection thread; 0 = default (512 KiB) */
    /* security: see server/auth.c, hba.c, tls.c */
    const char *hba_file;    /* NULL = loopback trust, scram-sha-256 elsewhere */
    const char *ssl_cert;    /* both set = TLS offered on SSLRequest */
    const char *ssl_key;
    int max_connections;     /* 0 = 100 */
    int auth_timeout_s;      /* 0 = 60 (PG's authentication_timeout) */
} tl_server_opts;

/* The engine is borrowed: it must outlive the server. */
tl_server *tl_server_new(tl_engine *eng, const tl_server_opts *o);
/* Load the rule file and TLS certificate named in the options: 0, or -1 with err.
 * tl_server_listen calls it if it has not run. */
int tl_server_setup_security(tl_server *s, tl_error *err);
/* Bind and listen: 0, or -1 with err (08006 naming the address and errno). */
int tl_server_listen(tl_server *s, tl_error *err);
int tl_server_port(const tl_server *s); /* the bound port, after tl_server_listen */
/* Accept connections on this thread until tl_server_stop. */
void tl_server_run(tl_server *s);
/* Accept on a thread of its own (tests); 0, or -1 with err. */
int tl_server_start(tl_server *s, tl_error *err);
/* Close the listener so accepting ends; callable from a signal-waiting thread. */
void tl_server_stop(tl_server *s);
/* Serve one client on the calling thread until it leaves; closes fd. */
void tl_server_serve_fd(tl_server *s, int fd);
/* Serve one client on a new detached thread; 0, or -1 (fd closed) when no thread. */
int tl_server_spawn(tl_server *s, int fd);
int tl_server_connections(tl_server *s); /* live connections, for tests and logs */
/* Cancel every running statement (as CancelRequest would): shutdown. */
void tl_server_cancel_all(tl_server *s);
/* Stop accepting, disconnect every client, wait for their threads, free. NULL is a no-op. */
void tl_server_free(tl_server *s);

#endif
