/*
 * walfault.c — LD_PRELOAD shim for the durability suite's fault injection: makes the
 * libc calls tallyd's WAL writer uses (with --wal-io pwrite) fail the way a full or
 * broken disk does, so the real error paths run. Only descriptors of WAL segment files
 * (".../wal.<hex>") are affected. TL_FAULT=KIND:N arms the fault after N good calls:
 *   enospc:N  pwrite fails with ENOSPC     eio:N    pwrite fails with EIO
 *   short:N   pwrite writes at most half   fsync:N  fdatasync fails with EIO
 */
/* both pwrite and pwrite64 are defined below: no large-file renaming of the names */
#undef _FILE_OFFSET_BITS
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

typedef ssize_t (*pwrite_fn)(int, const void *, size_t, off_t);
typedef int (*fsync_fn)(int);

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off);
ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off);
int fdatasync(int fd);

/* dlsym returns an object pointer; memcpy is the ISO-clean way to a function pointer */
static void *next_sym(const char *name)
{
    return dlsym(RTLD_NEXT, name);
}

static int is_wal(int fd)
{
    char link[64], path[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t k = readlink(link, path, sizeof path - 1);
    if (k <= 0) return 0;
    path[k] = '\0';
    const char *slash = strrchr(path, '/');
    return slash && strncmp(slash + 1, "wal.", 4) == 0;
}

static int armed(const char *kind)
{
    static long calls[4];
    static const char *kinds[] = {"enospc", "eio", "short", "fsync"};
    const char *f = getenv("TL_FAULT");
    if (!f) return 0;
    size_t kl = strlen(kind);
    if (strncmp(f, kind, kl) != 0 || f[kl] != ':') return 0;
    for (int i = 0; i < 4; i++)
        if (strcmp(kinds[i], kind) == 0) return __atomic_add_fetch(&calls[i], 1, __ATOMIC_RELAXED) > atol(f + kl + 1);
    return 0;
}

static ssize_t do_pwrite(const char *sym, int fd, const void *buf, size_t n, off_t off)
{
    pwrite_fn real;
    void *p = next_sym(sym);
    memcpy(&real, &p, sizeof real);
    if (is_wal(fd)) {
        if (armed("enospc")) {
            errno = ENOSPC;
            return -1;
        }
        if (armed("eio")) {
            errno = EIO;
            return -1;
        }
        if (n > 1 && armed("short")) n /= 2;
    }
    return real(fd, buf, n, off);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    return do_pwrite("pwrite", fd, buf, n, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
    return do_pwrite("pwrite64", fd, buf, n, off);
}

int fdatasync(int fd)
{
    fsync_fn real;
    void *p = next_sym("fdatasync");
    memcpy(&real, &p, sizeof real);
    if (is_wal(fd) && armed("fsync")) {
        errno = EIO;
        return -1;
    }
    return real(fd);
}
