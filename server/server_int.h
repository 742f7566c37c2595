/*
 * server_int.h — what listen.c (threads, the connection registry) and pgwire.c (the
 * protocol of one connection) share. Private to server/.
 */
#ifndef TL_SERVER_INT_H
#define TL_SERVER_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "tl_query.h"
#include "tl_server.h"

/* One client connection. Fields marked (reg) are guarded by tl_server.mu, because a
 * CancelRequest arriving on another thread looks the connection up and cancels it. */
typedef struct pgw_conn {
    tl_server *srv;
    int fd;
    int32_t pid;        /* (reg) BackendKeyData process id, unique per server */
    int32_t secret;     /* (reg) BackendKeyData secret key, random */
    tl_qsession *qs;    /* (reg) set once start-up succeeded; freed under the lock */
    struct pgw_conn *prev, *next; /* (reg) */

    tl_buf out;          /* pending output: flushed at ReadyForQuery, or when large */
    size_t msg_start;    /* offset of the message being built in out */
    char *in;            /* read buffer */
    size_t in_pos, in_len;
    tl_buf body;         /* body of the message being handled */
    bool broken;         /* a read or write failed: the session ends */

    /* ParameterStatus: PostgreSQL reports changed settings just before ReadyForQuery,
     * and only when the value differs from the one last reported (pgwire.c) */
    struct pgw_param {
        char *name, *sent, *pending;
    } params[32];
    int nparams;
    /* security (auth.c, tls.c) */
    void *ssl;           /* SSL * once TLS is up, else NULL: all I/O goes through srv__io_* */
    bool timed_out;      /* a read hit the socket timeout (authentication, idle in transaction) */
    bool counted;        /* holds a max_connections slot */
    bool idle_armed;     /* idle_in_transaction_session_timeout set on the socket */
    tl_buf auth_body;    /* password messages (auth.c) */

    /* COPY FROM STDIN sub-protocol */
    bool copy_active;    /* CopyInResponse sent, CopyDone/CopyFail not yet read */
    size_t copy_left;    /* bytes of the current CopyData still on the socket */
} pgw_conn;

typedef enum srv_auth_method {
    SRV_AUTH_TRUST,
    SRV_AUTH_REJECT,
    SRV_AUTH_SCRAM,
    SRV_AUTH_MD5,
    SRV_AUTH_PASSWORD,
} srv_auth_method;

struct srv_hba_rule;

struct tl_server {
    tl_engine *eng;
    /* security */
    void *ssl_ctx;              /* SSL_CTX *, NULL = answer SSLRequest with 'N' */
    struct srv_hba_rule *hba;
    int nhba;
    int max_connections;
    int nsessions;              /* (mu) connections holding a max_connections slot */
    int auth_timeout_s;
    char *hba_file, *ssl_cert, *ssl_key;
    bool security_ready;
    char *listen_addr;
    int port;
    size_t stack_size;
    int listen_fd;
    atomic_bool stopping;
    bool accept_thread_started;
    pthread_t accept_thread;

    pthread_mutex_t mu;  /* guards the registry below */
    pthread_cond_t idle; /* signalled when nconns drops to 0 */
    pgw_conn *conns;
    int nconns;
    int32_t next_pid;
};

/* Registry (listen.c). */
void srv__register(tl_server *s, pgw_conn *c);
void srv__unregister(tl_server *s, pgw_conn *c);
/* Cancel the statement of the connection with this key, if any (CancelRequest). */
void srv__cancel(tl_server *s, int32_t pid, int32_t secret);

/* pgwire.c, for auth.c */
int srv__read_exact(pgw_conn *c, void *dst, size_t n);
int srv__flush(pgw_conn *c);
void srv__send_error(pgw_conn *c, const tl_error *e, tl_severity sev);

/* tls.c */
void *srv__tls_ctx_new(const char *cert, const char *key, tl_error *err);
void srv__tls_ctx_free(void *ctx);
int srv__tls_accept(pgw_conn *c);
void srv__tls_close(pgw_conn *c);
ssize_t srv__io_recv(pgw_conn *c, void *buf, size_t n);
ssize_t srv__io_send(pgw_conn *c, const void *buf, size_t n);

/* hba.c: rules from a file, or the built-in default when path is NULL */
int srv__hba_load(tl_server *s, const char *path, tl_error *err);
void srv__hba_free(tl_server *s);
int srv__hba_match(tl_server *s, const struct sockaddr_storage *peer, bool ssl, const char *user,
                   const char *db, srv_auth_method *m);

/* auth.c: 0 = authenticated and allowed to connect; -1 = FATAL sent, close */
int srv__authenticate(pgw_conn *c, const char *user, const char *database);

/* limits.c-free hooks in listen.c: take / release a max_connections slot */
bool srv__slot_take(tl_server *s, pgw_conn *c);
void srv__set_timeout(pgw_conn *c, int seconds_or_ms, bool ms);
void srv__arm_idle_timeout(pgw_conn *c);

#endif
