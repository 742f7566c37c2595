/*
 * hba.c — host-based authentication rules in the spirit of pg_hba.conf: the first line
 * whose connection type, database, user and client address match decides the method.
 *
 *   # TYPE     DATABASE  USER           ADDRESS        METHOD
 *   host       all       all            127.0.0.1/32   trust
 *   hostssl    all       reporting_user 10.0.0.0/8     scram-sha-256
 *   hostnossl  all       all            all            reject
 *
 * TYPE: host (TLS or not), hostssl, hostnossl; local (no ADDRESS) for Unix-domain peers. DATABASE and USER: all, or a comma
 * list of names. ADDRESS: all, or an IPv4/IPv6 address with /prefix. METHOD: trust,
 * reject, scram-sha-256, md5 (falls back to SCRAM for a SCRAM verifier, as PG does),
 * password (cleartext over the wire: only sensible with hostssl).
 * Without a file: loopback is trusted (the demo), everything else needs scram-sha-256.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_int.h"

struct srv_hba_rule {
    int conntype; /* 0 host, 1 hostssl, 2 hostnossl, 3 local (a socketpair: in-process tests) */
    char *dbs;    /* "all" or ",a,b," */
    char *users;
    bool any_addr;
    int family;
    unsigned char addr[16];
    int prefix;
    srv_auth_method method;
};

static char *list_of(const char *s)
{
    if (strcmp(s, "all") == 0) return tl_xstrdup("all");
    size_t n = strlen(s);
    char *l = tl_xmalloc(n + 3);
    l[0] = ',';
    memcpy(l + 1, s, n);
    l[n + 1] = ',';
    l[n + 2] = '\0';
    return l;
}

static bool in_list(const char *list, const char *name)
{
    if (strcmp(list, "all") == 0) return true;
    size_t n = strlen(name);
    for (const char *p = list; (p = strstr(p, name)) != NULL; p++)
        if (p[-1] == ',' && p[n] == ',') return true;
    return false;
}

static int parse_addr(struct srv_hba_rule *r, const char *s)
{
    if (strcmp(s, "all") == 0) {
        r->any_addr = true;
        return 0;
    }
    char buf[128];
    snprintf(buf, sizeof buf, "%s", s);
    char *slash = strchr(buf, '/');
    if (!slash) return -1;
    *slash = '\0';
    char *end;
    long pfx = strtol(slash + 1, &end, 10);
    if (*end) return -1;
    if (inet_pton(AF_INET, buf, r->addr) == 1) {
        r->family = AF_INET;
        if (pfx < 0 || pfx > 32) return -1;
    } else if (inet_pton(AF_INET6, buf, r->addr) == 1) {
        r->family = AF_INET6;
        if (pfx < 0 || pfx > 128) return -1;
    } else {
        return -1;
    }
    r->prefix = (int)pfx;
    return 0;
}

static void add_rule(tl_server *s, const struct srv_hba_rule *r)
{
    s->hba = realloc(s->hba, sizeof *s->hba * (size_t)(s->nhba + 1));
    if (!s->hba) abort();
    s->hba[s->nhba++] = *r;
}

static void add_default(tl_server *s, const char *addr, srv_auth_method m)
{
    struct srv_hba_rule r = {0};
    r.dbs = tl_xstrdup("all");
    r.users = tl_xstrdup("all");
    parse_addr(&r, addr);
    r.method = m;
    add_rule(s, &r);
}

int srv__hba_load(tl_server *s, const char *path, tl_error *err)
{
    if (!path) {
        struct srv_hba_rule l = {0};
        l.conntype = 3;
        l.dbs = tl_xstrdup("all");
        l.users = tl_xstrdup("all");
        l.any_addr = true;
        l.method = SRV_AUTH_TRUST;
        add_rule(s, &l);
        add_default(s, "127.0.0.1/32", SRV_AUTH_TRUST);
        add_default(s, "::1/128", SRV_AUTH_TRUST);
        add_default(s, "all", SRV_AUTH_SCRAM);
        return 0;
    }
    FILE *f = fopen(path, "r");
    if (!f) return tl_errorf(err, "58P01", "could not open authentication file \"%s\": %s", path, strerror(errno));
    char line[1024];
    int lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *hash = strchr(line, '#');
        if (hash) *hash = '\0';
        char *tok[6];
        int nt = 0;
        for (char *t = strtok(line, " \t\r\n"); t && nt < 6; t = strtok(NULL, " \t\r\n")) tok[nt++] = t;
        if (nt == 0) continue;
        struct srv_hba_rule r = {0};
        if (nt != 5 && !(nt == 4 && strcmp(tok[0], "local") == 0)) goto bad;
        if (strcmp(tok[0], "local") == 0) {
            /* local has no address column */
            if (nt != 4) goto bad;
            tok[4] = tok[3];
            tok[3] = "all";
            nt = 5;
            r.conntype = 3;
        }
        if (nt != 5) goto bad;
        if (r.conntype == 3) { /* type set above */
        } else if (strcmp(tok[0], "host") == 0) r.conntype = 0;
        else if (strcmp(tok[0], "hostssl") == 0) r.conntype = 1;
        else if (strcmp(tok[0], "hostnossl") == 0) r.conntype = 2;
        else goto bad;
        if (parse_addr(&r, tok[3]) != 0) goto bad;
        if (strcmp(tok[4], "trust") == 0) r.method = SRV_AUTH_TRUST;
        else if (strcmp(tok[4], "reject") == 0) r.method = SRV_AUTH_REJECT;
        else if (strcmp(tok[4], "scram-sha-256") == 0) r.method = SRV_AUTH_SCRAM;
        else if (strcmp(tok[4], "md5") == 0) r.method = SRV_AUTH_MD5;
        else if (strcmp(tok[4], "password") == 0) r.method = SRV_AUTH_PASSWORD;
        else goto bad;
        r.dbs = list_of(tok[1]);
        r.users = list_of(tok[2]);
        add_rule(s, &r);
        continue;
    bad:
        fclose(f);
        return tl_errorf(err, "F0000", "invalid line %d in authentication file \"%s\"", lineno, path);
    }
    fclose(f);
    return 0;
}

void srv__hba_free(tl_server *s)
{
    for (int i = 0; i < s->nhba; i++) {
        free(s->hba[i].dbs);
        free(s->hba[i].users);
    }
    free(s->hba);
}

static bool addr_match(const struct srv_hba_rule *r, const struct sockaddr_storage *ss)
{
    if (r->any_addr) return true;
    const unsigned char *a;
    unsigned char mapped[4];
    if (ss->ss_family == AF_INET) {
        if (r->family != AF_INET) return false;
        a = (const unsigned char *)&((const struct sockaddr_in *)ss)->sin_addr;
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
        if (r->family == AF_INET && IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
            memcpy(mapped, (const unsigned char *)&s6->sin6_addr + 12, 4);
            a = mapped;
        } else if (r->family == AF_INET6) {
            a = (const unsigned char *)&s6->sin6_addr;
        } else {
            return false;
        }
    } else {
        return false; /* unix sockets are not served */
    }
    int bits = r->prefix;
    for (int i = 0; bits > 0; i++, bits -= 8) {
        unsigned char mask = bits >= 8 ? 0xff : (unsigned char)(0xff << (8 - bits));
        if ((a[i] & mask) != (r->addr[i] & mask)) return false;
    }
    return true;
}

int srv__hba_match(tl_server *s, const struct sockaddr_storage *peer, bool ssl, const char *user,
                   const char *db, srv_auth_method *m)
{
    for (int i = 0; i < s->nhba; i++) {
        const struct srv_hba_rule *r = &s->hba[i];
        bool is_local = peer->ss_family == AF_UNIX;
        if ((r->conntype == 3) != is_local) continue;
        if ((r->conntype == 1 && !ssl) || (r->conntype == 2 && ssl)) continue;
        if (!in_list(r->dbs, db) || !in_list(r->users, user)) continue;
        if (!addr_match(r, peer)) continue;
        *m = r->method;
        return 0;
    }
    return -1;
}
