/*
 * tallyd.c — the server executable: flags and an optional `key = value` config file
 * (flags win), open the engine, listen, serve until SIGTERM/SIGINT.
 *
 * Signals are blocked in every thread and taken by sigwait() on the main thread, so no
 * handler ever runs inside a connection thread's allocator. On SIGTERM/SIGINT the
 * listener closes, running statements are cancelled and given a few seconds to end,
 * a checkpoint is written (so the next start loads it instead of replaying WAL), and
 * the process exits 0. Durability never depends on this path: the WAL has every
 * acknowledged write. Exit codes: 0 stopped, 1 could not start, 2 usage,
 * 3 the data directory is in use by another tallyd.
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tl_engine.h"
#include "tl_query.h"
#include "tl_server.h"

typedef struct settings {
    char *listen;
    int port;
    char *data_dir;
    char *database;
    int sync_commit; /* -1 unset, 0 off, 1 on */
    int wal_pwrite;  /* -1 unset */
    long long ckpt_mb;
    int ckpt_timeout;
    char *hba_file, *ssl_cert, *ssl_key; /* security: see README "Security" */
    int max_connections;
    int64_t max_statement_memory; /* bytes; -1 = not given */
} settings;

/* The server is never freed (connection threads may still use it at exit); kept in a
 * global so it stays reachable rather than leaked. */
static tl_server *volatile running_server;

static void usage(FILE *f)
{
    fputs("Usage: tallyd [OPTION]...\n"
          "Columnar OLAP engine speaking the PostgreSQL wire protocol.\n\n"
          "  --listen ADDR     address to listen on (default 127.0.0.1)\n"
          "  --port N          TCP port (default 5433)\n"
          "  --data-dir DIR    data directory (default: none, purely in memory)\n"
          "  --database NAME   name of the one database (default postgres)\n"
          "  --synchronous-commit on|off  wait for the WAL sync before acknowledging\n"
          "                    (default on; sessions may SET synchronous_commit)\n"
          "  --wal-io uring|pwrite        how the WAL is written (default uring)\n"
          "  --checkpoint-wal-mb N        automatic checkpoint after N MiB of WAL (256)\n"
          "  --checkpoint-timeout S       ... or after S seconds with WAL written (300)\n"
          "  --hba FILE        authentication rules (pg_hba.conf style); default: loopback\n"
          "                    trust, scram-sha-256 from anywhere else\n"
          "  --ssl-cert FILE   PEM certificate (chain): TLS is offered when this and --ssl-key\n"
          "  --ssl-key FILE    PEM private key\n"
          "  --max-connections N  concurrent sessions (default 100)\n"
          "  --max-statement-memory SIZE  working memory of one statement, e.g. 2GB\n"
          "                    (default a quarter of physical memory; 0 = no limit); beyond\n"
          "                    it the statement fails with 53200\n"
          "  --config FILE     read `key = value` lines (listen, port, data_dir, database);\n"
          "                    command-line flags override the file\n"
          "  --help            show this help and exit\n",
          f);
}

static int parse_port(const char *v, int *out)
{
    char *end;
    errno = 0;
    long p = strtol(v, &end, 10);
    if (errno || end == v || *end != '\0' || p < 0 || p > 65535)
        return -1;
    *out = (int)p;
    return 0;
}

static int set_key(settings *st, const char *key, const char *val, const char *where)
{
    if (strcmp(key, "listen") == 0) {
        free(st->listen);
        st->listen = tl_xstrdup(val);
    } else if (strcmp(key, "port") == 0) {
        if (parse_port(val, &st->port) != 0) {
            fprintf(stderr, "tallyd: %s: invalid port \"%s\"\n", where, val);
            return -1;
        }
    } else if (strcmp(key, "data_dir") == 0 || strcmp(key, "data-dir") == 0) {
        free(st->data_dir);
        st->data_dir = tl_xstrdup(val);
    } else if (strcmp(key, "database") == 0) {
        free(st->database);
        st->database = tl_xstrdup(val);
    } else if (strcmp(key, "synchronous_commit") == 0) {
        if (strcmp(val, "on") == 0) st->sync_commit = 1;
        else if (strcmp(val, "off") == 0) st->sync_commit = 0;
        else {
            fprintf(stderr, "tallyd: %s: synchronous_commit must be on or off\n", where);
            return -1;
        }
    } else if (strcmp(key, "wal_io") == 0) {
        if (strcmp(val, "uring") == 0) st->wal_pwrite = 0;
        else if (strcmp(val, "pwrite") == 0) st->wal_pwrite = 1;
        else {
            fprintf(stderr, "tallyd: %s: wal_io must be uring or pwrite\n", where);
            return -1;
        }
    } else if (strcmp(key, "checkpoint_wal_mb") == 0 || strcmp(key, "checkpoint_timeout") == 0) {
        char *end;
        long long v = strtoll(val, &end, 10);
        if (end == val || *end || v < -1) {
            fprintf(stderr, "tallyd: %s: invalid %s \"%s\"\n", where, key, val);
            return -1;
        }
        if (key[11] == 'w') st->ckpt_mb = v;
        else st->ckpt_timeout = (int)v;
    } else if (strcmp(key, "hba_file") == 0 || strcmp(key, "hba") == 0) {
        free(st->hba_file);
        st->hba_file = tl_xstrdup(val);
    } else if (strcmp(key, "ssl_cert") == 0 || strcmp(key, "ssl_cert_file") == 0) {
        free(st->ssl_cert);
        st->ssl_cert = tl_xstrdup(val);
    } else if (strcmp(key, "ssl_key") == 0 || strcmp(key, "ssl_key_file") == 0) {
        free(st->ssl_key);
        st->ssl_key = tl_xstrdup(val);
    } else if (strcmp(key, "max_connections") == 0) {
        char *end;
        long v = strtol(val, &end, 10);
        if (*end || v < 1 || v > 100000) {
            fprintf(stderr, "tallyd: %s: invalid max_connections \"%s\"\n", where, val);
            return -1;
        }
        st->max_connections = (int)v;
    } else if (strcmp(key, "max_statement_memory") == 0) {
        st->max_statement_memory = tl_query_parse_memory(val);
        if (st->max_statement_memory < 0) {
            fprintf(stderr, "tallyd: %s: invalid max_statement_memory \"%s\"\n", where, val);
            return -1;
        }
    } else {
        fprintf(stderr, "tallyd: %s: unknown setting \"%s\"\n", where, key);
        return -1;
    }
    return 0;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

static int read_config(settings *st, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "tallyd: could not open config file \"%s\": %s\n", path, strerror(errno));
        return -1;
    }
    char line[4096], where[4200];
    int lineno = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        lineno++;
        snprintf(where, sizeof where, "%s:%d", path, lineno);
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *s = trim(line);
        if (*s == '\0')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            fprintf(stderr, "tallyd: %s: expected key = value\n", where);
            rc = -1;
            break;
        }
        *eq = '\0';
        char *key = trim(s), *val = trim(eq + 1);
        /* values may be quoted, as in postgresql.conf */
        size_t vl = strlen(val);
        if (vl >= 2 && (val[0] == '\'' || val[0] == '"') && val[vl - 1] == val[0]) {
            val[vl - 1] = '\0';
            val++;
        }
        rc = set_key(st, key, val, where);
    }
    fclose(f);
    return rc;
}

int main(int argc, char **argv)
{
    settings file = {.max_statement_memory = -1, .sync_commit = -1, .wal_pwrite = -1, .ckpt_mb = -2,
                     .ckpt_timeout = -2},
             flags = {.port = -1, .max_statement_memory = -1, .sync_commit = -1, .wal_pwrite = -1,
                      .ckpt_mb = -2, .ckpt_timeout = -2};
    const char *config = NULL;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        /* --name VALUE or --name=VALUE */
        const char *names[] = {"--listen", "--port", "--data-dir", "--database", "--config",
                               "--synchronous-commit", "--wal-io", "--checkpoint-wal-mb",
                               "--checkpoint-timeout",
                               "--hba", "--ssl-cert", "--ssl-key", "--max-connections",
                               "--max-statement-memory"};
        const char *val = NULL;
        size_t which = TL_ARRAY_LEN(names);
        for (size_t k = 0; k < TL_ARRAY_LEN(names); k++) {
            size_t nl = strlen(names[k]);
            if (strcmp(a, names[k]) == 0) {
                if (i + 1 >= argc) {
                    fprintf(stderr, "tallyd: option %s needs a value\n", a);
                    return 2;
                }
                val = argv[++i];
                which = k;
                break;
            }
            if (strncmp(a, names[k], nl) == 0 && a[nl] == '=') {
                val = a + nl + 1;
                which = k;
                break;
            }
        }
        if (which == TL_ARRAY_LEN(names)) {
            fprintf(stderr, "tallyd: unknown option \"%s\"\n", a);
            usage(stderr);
            return 2;
        }
        if (which == 4) {
            config = val;
            continue;
        }
        static const char *keys[] = {"listen", "port", "data_dir", "database", "",
                                     "synchronous_commit", "wal_io", "checkpoint_wal_mb",
                                     "checkpoint_timeout",
                                     "hba_file", "ssl_cert", "ssl_key", "max_connections",
                                     "max_statement_memory"};
        if (set_key(&flags, keys[which], val, "command line") != 0)
            return 2;
    }
    file.port = -1;
    if (config && read_config(&file, config) != 0)
        return 2;

    const char *listen = flags.listen ? flags.listen : file.listen ? file.listen : "127.0.0.1";
    int port = flags.port >= 0 ? flags.port : file.port >= 0 ? file.port : 5433;
    const char *data_dir = flags.data_dir ? flags.data_dir : file.data_dir;
    const char *database =
        flags.database ? flags.database : file.database ? file.database : "postgres";

    /* a client vanishing mid-reply must end its session, not the server */
    signal(SIGPIPE, SIG_IGN);
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL); /* inherited by every thread started below */

    tl_error err;
    tl_error_clear(&err);
    int sync_commit = flags.sync_commit >= 0 ? flags.sync_commit : file.sync_commit;
    int wal_pwrite = flags.wal_pwrite >= 0 ? flags.wal_pwrite : file.wal_pwrite;
    long long ckpt_mb = flags.ckpt_mb > -2 ? flags.ckpt_mb : file.ckpt_mb;
    int ckpt_timeout = flags.ckpt_timeout > -2 ? flags.ckpt_timeout : file.ckpt_timeout;
    tl_engine_config ecfg = {.database = database, .data_dir = data_dir, .superuser = "postgres",
                             .async_commit = sync_commit == 0, .wal_pwrite = wal_pwrite == 1,
                             .checkpoint_wal_bytes = ckpt_mb > 0 ? (uint64_t)ckpt_mb << 20 : 0,
                             .checkpoint_timeout_s = ckpt_timeout > -2 ? ckpt_timeout : 0};
    tl_query_register_durable();
    tl_engine *eng = tl_engine_open(&ecfg, &err);
    if (!eng) {
        fprintf(stderr, "tallyd: could not open the engine: %s\n", err.message);
        if (err.detail[0]) fprintf(stderr, "tallyd: DETAIL:  %s\n", err.detail);
        if (err.hint[0]) fprintf(stderr, "tallyd: HINT:  %s\n", err.hint);
        return strcmp(err.sqlstate, "55006") == 0 ? 3 : 1;
    }
    tl_server_opts sopts = {
        .listen_addr = listen,
        .port = port,
        .hba_file = flags.hba_file ? flags.hba_file : file.hba_file,
        .ssl_cert = flags.ssl_cert ? flags.ssl_cert : file.ssl_cert,
        .ssl_key = flags.ssl_key ? flags.ssl_key : file.ssl_key,
        .max_connections = flags.max_connections ? flags.max_connections : file.max_connections,
    };
    int64_t stmt_mem = flags.max_statement_memory >= 0 ? flags.max_statement_memory : file.max_statement_memory;
    if (stmt_mem < 0) {
        /* one statement may not take the memory every other session and the data need */
        long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
        stmt_mem = pages > 0 && psize > 0 ? (int64_t)pages * psize / 4 : 0;
    }
    tl_query_set_max_statement_memory((size_t)stmt_mem);
    tl_server *srv = tl_server_new(eng, &sopts);
    running_server = srv;
    if (tl_server_listen(srv, &err) != 0 || tl_server_start(srv, &err) != 0) {
        fprintf(stderr, "tallyd: %s\n", err.message);
        return 1;
    }
    fprintf(stderr, "tallyd: listening on %s:%d\n", listen, tl_server_port(srv));

    int sig = 0;
    while (sigwait(&stop, &sig) != 0)
        ;
    fprintf(stderr, "tallyd: received %s: shutting down\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    tl_server_stop(srv);
    /* running statements are cancelled; an idle session holds no lock and is not waited for */
    tl_server_cancel_all(srv);
    tl_error_clear(&err);
    if (tl_engine_shutdown(eng, 10, &err) < 0)
        fprintf(stderr, "tallyd: WARNING:  %s\n", err.message);
    else if (tl_engine_durable(eng))
        fprintf(stderr, "tallyd: shutdown checkpoint written\n");
    /* connection threads may still be inside the engine: exit without tearing it down */
    exit(0);
}
