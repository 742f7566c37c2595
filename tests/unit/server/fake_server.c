/*
 * fake_server.c — pgwire-fake-server: the real server code over the fake query layer
 * (fake_query.c), so real libpq clients (psql) can check the codec before the query
 * layer exists. Test-only, never installed. Usage: pgwire-fake-server [port]
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "tl_server.h"

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    static int fake_engine;
    tl_server_opts o = {.listen_addr = "127.0.0.1", .port = argc > 1 ? atoi(argv[1]) : 55433};
    tl_server *s = tl_server_new((tl_engine *)(void *)&fake_engine, &o);
    tl_error err;
    tl_error_clear(&err);
    if (tl_server_listen(s, &err) != 0) {
        fprintf(stderr, "pgwire-fake-server: %s\n", err.message);
        return 1;
    }
    fprintf(stderr, "pgwire-fake-server: listening on 127.0.0.1:%d\n", tl_server_port(s));
    tl_server_run(s);
    tl_server_free(s);
    return 0;
}
