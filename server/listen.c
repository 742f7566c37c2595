/*
 * listen.c — the listener and the connection threads. One thread accepts; each client
 * gets a detached thread with a small stack (idle connections cost a stack's worth of
 * address space, of which only the touched pages are memory). The registry of live
 * connections exists for CancelRequest, which arrives on a fresh connection and must
 * reach another thread's session, and for tl_server_free, which waits for all of them.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "server_int.h"

#define DEFAULT_STACK (512 * 1024)

tl_server *tl_server_new(tl_engine *eng, const tl_server_opts *o)
{
    tl_server *s = tl_xcalloc(1, sizeof *s);
    s->eng = eng;
    s->listen_addr = tl_xstrdup(o && o->listen_addr ? o->listen_addr : "127.0.0.1");
    s->port = o ? o->port : 5433;
    s->stack_size = o && o->stack_size ? o->stack_size : DEFAULT_STACK;
    s->listen_fd = -1;
    atomic_init(&s->stopping, false);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->idle, NULL);
    /* PIDs are only keys for CancelRequest; starting away from 0 keeps them plausible */
    s->next_pid = 10000 + (int32_t)(getpid() % 10000);
    s->max_connections = o && o->max_connections > 0 ? o->max_connections : 100;
    s->auth_timeout_s = o && o->auth_timeout_s > 0 ? o->auth_timeout_s : 60;
    s->hba_file = o && o->hba_file ? tl_xstrdup(o->hba_file) : NULL;
    s->ssl_cert = o && o->ssl_cert ? tl_xstrdup(o->ssl_cert) : NULL;
    s->ssl_key = o && o->ssl_key ? tl_xstrdup(o->ssl_key) : NULL;
    tl_error err;
    tl_error_clear(&err);
    srv__hba_load(s, NULL, &err); /* the default until tl_server_setup_security */
    return s;
}

int tl_server_setup_security(tl_server *s, tl_error *err)
{
    if (s->security_ready) return 0;
    if (s->hba_file) {
        srv__hba_free(s);
        s->hba = NULL;
        s->nhba = 0;
        if (srv__hba_load(s, s->hba_file, err) != 0) return -1;
    }
    if (s->ssl_cert || s->ssl_key) {
        if (!s->ssl_cert || !s->ssl_key)
            return tl_errorf(err, "F0000", "TLS needs both a certificate (--ssl-cert) and a key (--ssl-key)");
        s->ssl_ctx = srv__tls_ctx_new(s->ssl_cert, s->ssl_key, err);
        if (!s->ssl_ctx) return -1;
    }
    s->security_ready = true;
    return 0;
}

bool srv__slot_take(tl_server *s, pgw_conn *c)
{
    pthread_mutex_lock(&s->mu);
    bool ok = s->nsessions < s->max_connections;
    if (ok) {
        s->nsessions++;
        c->counted = true;
    }
    pthread_mutex_unlock(&s->mu);
    return ok;
}

void srv__arm_idle_timeout(pgw_conn *c)
{
    if (!c->qs) return;
    char tx = tl_qsession_tx_status(c->qs);
    const char *v = tl_qsession_get(c->qs, "idle_in_transaction_session_timeout");
    long ms = 0;
    if (v && tx != 'I') {
        char *end;
        double x = strtod(v, &end);
        if (strcmp(end, "s") == 0) x *= 1000;
        else if (strcmp(end, "min") == 0) x *= 60000;
        ms = x > 0 && x < 2e9 ? (long)x : 0;
    }
    if (ms > 0) {
        struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
        setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        c->idle_armed = true;
        c->timed_out = false;
    } else if (c->idle_armed) {
        struct timeval tv = {0};
        setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        c->idle_armed = false;
    }
}

void srv__set_timeout(pgw_conn *c, int v, bool ms)
{
    struct timeval tv = {0};
    if (ms) {
        tv.tv_sec = v / 1000;
        tv.tv_usec = (v % 1000) * 1000;
    } else {
        tv.tv_sec = v;
    }
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

int tl_server_listen(tl_server *s, tl_error *err)
{
    if (tl_server_setup_security(s, err) != 0) return -1;
    struct addrinfo hints = {0}, *res = NULL;
    char port[16];
    snprintf(port, sizeof port, "%d", s->port);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int rc = getaddrinfo(s->listen_addr, port, &hints, &res);
    if (rc != 0)
        return tl_errorf(err, "08006", "could not resolve listen address \"%s\": %s",
                         s->listen_addr, gai_strerror(rc));
    int fd = -1, saved = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            saved = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 128) == 0)
            break;
        saved = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        return tl_errorf(err, "08006", "could not listen on %s:%d: %s", s->listen_addr, s->port,
                         strerror(saved));
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET)
            s->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        else if (ss.ss_family == AF_INET6)
            s->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    s->listen_fd = fd;
    return 0;
}

int tl_server_port(const tl_server *s)
{
    return s->port;
}

void tl_server_run(tl_server *s)
{
    while (!atomic_load(&s->stopping)) {
        int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (atomic_load(&s->stopping))
                break;
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                /* out of descriptors: back off instead of spinning */
                usleep(100 * 1000);
                continue;
            }
            break; /* the listener was shut down */
        }
        int one = 1;
        /* replies are already batched per ReadyForQuery; Nagle would only add latency */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        /* threads for connections not yet authenticated are bounded too: beyond twice
         * the limit a newcomer is closed at once instead of costing a thread */
        pthread_mutex_lock(&s->mu);
        bool flood = s->nconns >= 2 * s->max_connections + 16;
        pthread_mutex_unlock(&s->mu);
        if (flood) {
            close(fd);
            continue;
        }
        tl_server_spawn(s, fd);
    }
}

static void *accept_main(void *arg)
{
    tl_server_run(arg);
    return NULL;
}

int tl_server_start(tl_server *s, tl_error *err)
{
    if (pthread_create(&s->accept_thread, NULL, accept_main, s) != 0)
        return tl_errorf(err, "53000", "could not start the accept thread");
    s->accept_thread_started = true;
    return 0;
}

void tl_server_stop(tl_server *s)
{
    atomic_store(&s->stopping, true);
    /* shutdown wakes a thread blocked in accept(); the descriptor is closed in free */
    if (s->listen_fd >= 0)
        shutdown(s->listen_fd, SHUT_RDWR);
}

typedef struct spawn_arg {
    tl_server *srv;
    int fd;
} spawn_arg;

static void *conn_main(void *arg)
{
    spawn_arg a = *(spawn_arg *)arg;
    free(arg);
    tl_server_serve_fd(a.srv, a.fd);
    return NULL;
}

int tl_server_spawn(tl_server *s, int fd)
{
    pthread_attr_t attr;
    pthread_t t;
    spawn_arg *a = tl_xmalloc(sizeof *a);
    a->srv = s;
    a->fd = fd;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, s->stack_size);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&t, &attr, conn_main, a);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        free(a);
        close(fd);
        return -1;
    }
    return 0;
}

void srv__register(tl_server *s, pgw_conn *c)
{
    pthread_mutex_lock(&s->mu);
    c->pid = s->next_pid++;
    if (s->next_pid <= 0)
        s->next_pid = 10000;
    c->prev = NULL;
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->nconns++;
    pthread_mutex_unlock(&s->mu);
}

void srv__unregister(tl_server *s, pgw_conn *c)
{
    pthread_mutex_lock(&s->mu);
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    /* freed under the lock: a concurrent cancel must not see a dangling session */
    if (c->qs) {
        tl_qsession_free(c->qs);
        c->qs = NULL;
    }
    if (c->counted) s->nsessions--;
    if (--s->nconns == 0)
        pthread_cond_broadcast(&s->idle);
    pthread_mutex_unlock(&s->mu);
}

void srv__cancel(tl_server *s, int32_t pid, int32_t secret)
{
    pthread_mutex_lock(&s->mu);
    for (pgw_conn *c = s->conns; c; c = c->next) {
        /* PG: a wrong secret is ignored silently, so keys cannot be probed */
        if (c->pid == pid && c->secret == secret && c->qs) {
            tl_qsession_cancel(c->qs);
            break;
        }
    }
    pthread_mutex_unlock(&s->mu);
}

void tl_server_cancel_all(tl_server *s)
{
    pthread_mutex_lock(&s->mu);
    for (pgw_conn *c = s->conns; c; c = c->next)
        if (c->qs)
            tl_qsession_cancel(c->qs);
    pthread_mutex_unlock(&s->mu);
}

int tl_server_connections(tl_server *s)
{
    pthread_mutex_lock(&s->mu);
    int n = s->nconns;
    pthread_mutex_unlock(&s->mu);
    return n;
}

void tl_server_free(tl_server *s)
{
    if (!s)
        return;
    tl_server_stop(s);
    if (s->accept_thread_started)
        pthread_join(s->accept_thread, NULL);
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    pthread_mutex_lock(&s->mu);
    /* wake every connection thread out of its read; each unregisters itself */
    for (pgw_conn *c = s->conns; c; c = c->next)
        shutdown(c->fd, SHUT_RDWR);
    while (s->nconns > 0)
        pthread_cond_wait(&s->idle, &s->mu);
    pthread_mutex_unlock(&s->mu);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->idle);
    free(s->listen_addr);
    srv__hba_free(s);
    if (s->ssl_ctx) srv__tls_ctx_free(s->ssl_ctx);
    free(s->hba_file);
    free(s->ssl_cert);
    free(s->ssl_key);
    free(s);
}
