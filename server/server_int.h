/*
 * server_int.h — what listen.c (threads, the connection registry) and pgwire.c (the
 * protocol of one connection) share. Private to server/.
 */
#ifndef TL_SERVER_INT_H
#define TL_SERVER_INT_H

#include <pthread.h>
#include <stdatomic.h>

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

    /* COPY FROM STDIN sub-protocol */
    bool copy_active;    /* CopyInResponse sent, CopyDone/CopyFail not yet read */
    size_t copy_left;    /* bytes of the current CopyData still on the socket */
} pgw_conn;

struct tl_server {
    tl_engine *eng;
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

#endif
