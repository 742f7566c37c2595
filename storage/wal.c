/*
 * wal.c — write-ahead log files: framing, the group-commit writer thread, replay.
 * See tl_wal.h for the record layout.
 *
 * Group commit: committers only copy their record into a queue and wait. One writer
 * thread takes the whole queue, writes it and fdatasyncs (through io_uring as a linked
 * write+fsync pair, one submission), then wakes everyone whose record was in it. While
 * a sync is in flight, new records pile up and share the next one, so 16 clients cost
 * about as many syncs as 1. A failed write or sync breaks the WAL for good: the page
 * cache's state after a failed fsync cannot be trusted (PostgreSQL's "fsyncgate"), so
 * nothing after the last good sync is ever reported durable.
 */
#include "tl_wal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <liburing.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#define WAL_BUF_KEEP ((size_t)64 << 20) /* write buffers above this are freed after use */

/* ---- framing ------------------------------------------------------------------------ */

static void put32(char *p, uint32_t v)
{
    memcpy(p, &v, 4);
}
static void put64(char *p, uint64_t v)
{
    memcpy(p, &v, 8);
}
static uint32_t get32(const char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}
static uint64_t get64(const char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static uint64_t rec_checksum(const char *hdr, const void *payload, uint32_t len)
{
    return XXH3_64bits_withSeed(payload, len, XXH3_64bits(hdr, 24));
}

void tl_wal_frame(tl_buf *out, uint16_t type, uint64_t lsn, const void *payload, uint32_t len)
{
    tl_buf_reserve(out, TL_WAL_HDR + (size_t)len);
    char *h = out->data + out->len;
    memset(h, 0, TL_WAL_HDR);
    put32(h, TL_WAL_MAGIC);
    put32(h + 4, len);
    memcpy(h + 8, &type, 2);
    put64(h + 16, lsn);
    put64(h + 24, rec_checksum(h, payload, len));
    if (len) memcpy(h + TL_WAL_HDR, payload, len);
    out->len += TL_WAL_HDR + (size_t)len;
}

tl_wal_status tl_wal_decode(const char *buf, size_t avail, uint64_t lsn, tl_wal_rec *rec)
{
    if (avail == 0) return TL_WAL_EOF;
    if (avail < TL_WAL_HDR) {
        /* A short header is torn only if what is there agrees with a header. */
        uint32_t m = 0;
        memcpy(&m, buf, avail < 4 ? avail : 4);
        uint32_t want = TL_WAL_MAGIC;
        return memcmp(&m, &want, avail < 4 ? avail : 4) == 0 ? TL_WAL_PARTIAL : TL_WAL_BAD;
    }
    uint16_t type, flags;
    memcpy(&type, buf + 8, 2);
    memcpy(&flags, buf + 10, 2);
    uint32_t len = get32(buf + 4);
    if (get32(buf) != TL_WAL_MAGIC || len > TL_WAL_MAX_PAYLOAD || get64(buf + 16) != lsn ||
        type == 0 || flags != 0 || get32(buf + 12) != 0)
        return TL_WAL_BAD;
    if (avail - TL_WAL_HDR < len) return TL_WAL_PARTIAL;
    if (rec_checksum(buf, buf + TL_WAL_HDR, len) != get64(buf + 24)) return TL_WAL_BAD;
    rec->type = type;
    rec->lsn = lsn;
    rec->payload = buf + TL_WAL_HDR;
    rec->len = len;
    rec->total = TL_WAL_HDR + (size_t)len;
    return TL_WAL_REC;
}

/* ---- directory --------------------------------------------------------------------- */

void tl_wal_segment_path(char *out, size_t cap, const char *dir, uint64_t start)
{
    snprintf(out, cap, "%s/wal.%016" PRIx64, dir, start);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int tl_wal_list_segments(const char *dir, uint64_t **starts, int *n, tl_error *err)
{
    DIR *d = opendir(dir);
    if (!d) return tl_errorf(err, "58030", "could not open directory \"%s\": %s", dir, strerror(errno));
    uint64_t *v = NULL;
    int cnt = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        const char *nm = de->d_name;
        if (strncmp(nm, "wal.", 4) != 0 || strlen(nm) != 20) continue;
        char *end;
        uint64_t s = strtoull(nm + 4, &end, 16);
        if (*end) continue;
        if (cnt == cap) {
            cap = cap ? cap * 2 : 8;
            v = tl_xrealloc(v, sizeof *v * (size_t)cap);
        }
        v[cnt++] = s;
    }
    closedir(d);
    if (cnt) qsort(v, (size_t)cnt, sizeof *v, cmp_u64);
    *starts = v;
    *n = cnt;
    return 0;
}

int tl_fsync_dir(const char *dir, tl_error *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return tl_errorf(err, "58030", "could not open directory \"%s\": %s", dir, strerror(errno));
    int rc = fsync(fd);
    int saved = errno;
    close(fd);
    if (rc != 0) return tl_errorf(err, "58030", "could not fsync directory \"%s\": %s", dir, strerror(saved));
    return 0;
}

int tl_wal_remove_before(const char *dir, uint64_t lsn, tl_error *err)
{
    uint64_t *segs;
    int n;
    if (tl_wal_list_segments(dir, &segs, &n, err) < 0) return -1;
    char path[4096];
    bool any = false;
    for (int i = 0; i < n; i++) {
        /* a segment is wholly before lsn when the next one starts at or before lsn */
        if (i + 1 < n && segs[i + 1] <= lsn) {
            tl_wal_segment_path(path, sizeof path, dir, segs[i]);
            if (unlink(path) != 0 && errno != ENOENT) {
                tl_errorf(err, "58030", "could not remove \"%s\": %s", path, strerror(errno));
                free(segs);
                return -1;
            }
            any = true;
        }
    }
    free(segs);
    return any ? tl_fsync_dir(dir, err) : 0;
}

/* ---- replay -------------------------------------------------------------------------- */

static const char *bad_reason(const char *p, size_t avail, uint64_t lsn)
{
    if (avail < TL_WAL_HDR) return "truncated record header";
    if (get32(p) != TL_WAL_MAGIC) return "invalid magic number";
    if (get64(p + 16) != lsn) return "record LSN does not match its position";
    if (get32(p + 4) > TL_WAL_MAX_PAYLOAD) return "invalid record length";
    return "checksum mismatch";
}

/* Is there a valid record anywhere in p[from..n)? Then a bad one before it is not a torn
 * tail but damage in the middle of the log. */
static bool valid_record_after(const char *p, size_t n, size_t from, uint64_t seg_start)
{
    for (size_t off = from; off + TL_WAL_HDR <= n; off++) {
        if (get32(p + off) != TL_WAL_MAGIC) continue;
        tl_wal_rec r;
        if (tl_wal_decode(p + off, n - off, seg_start + off, &r) == TL_WAL_REC) return true;
    }
    return false;
}

int tl_wal_replay(const char *dir, uint64_t from_lsn, tl_wal_rec_fn fn, void *arg,
                  tl_wal_replay_result *res, tl_error *err)
{
    memset(res, 0, sizeof *res);
    res->end_lsn = from_lsn;
    res->seg_start = from_lsn;
    uint64_t *segs;
    int n;
    if (tl_wal_list_segments(dir, &segs, &n, err) < 0) return -1;
    int first = -1;
    for (int i = 0; i < n; i++)
        if (segs[i] <= from_lsn) first = i;
    int rc = 0;
    if (first < 0) {
        if (n > 0) {
            char path[4096];
            tl_wal_segment_path(path, sizeof path, dir, from_lsn);
            rc = tl_errorf(err, "XX001", "WAL file \"%s\" is missing (the log must continue from LSN %" PRIu64 ")",
                           path, from_lsn);
        }
        free(segs);
        return rc;
    }
    uint64_t lsn = from_lsn;
    for (int i = first; i < n && rc == 0; i++) {
        char path[4096];
        tl_wal_segment_path(path, sizeof path, dir, segs[i]);
        if (segs[i] != lsn && i != first) {
            rc = tl_errorf(err, "XX001", "WAL file \"%s\" does not continue the log: expected LSN %" PRIu64
                           " to start a segment", path, lsn);
            break;
        }
        int fd = open(path, O_RDWR | O_CLOEXEC);
        if (fd < 0) {
            rc = tl_errorf(err, "58030", "could not open WAL file \"%s\": %s", path, strerror(errno));
            break;
        }
        struct stat st;
        fstat(fd, &st);
        size_t size = (size_t)st.st_size;
        const char *p = NULL;
        if (size) {
            p = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
            if (p == MAP_FAILED) {
                rc = tl_errorf(err, "58030", "could not map WAL file \"%s\": %s", path, strerror(errno));
                close(fd);
                break;
            }
        }
        size_t off = (size_t)(lsn - segs[i]);
        if (off > size) {
            rc = tl_errorf(err, "XX001", "WAL file \"%s\" ends at offset %zu, before LSN %" PRIu64, path, size, lsn);
        }
        bool last = i == n - 1;
        while (rc == 0) {
            tl_wal_rec r;
            tl_wal_status s = tl_wal_decode(p + off, size - off, segs[i] + off, &r);
            if (s == TL_WAL_EOF) break;
            if (s == TL_WAL_REC) {
                rc = fn(arg, &r, err);
                if (rc < 0) {
                    if (!err->context[0])
                        snprintf(err->context, sizeof err->context, "WAL record at LSN %" PRIu64 " in \"%.180s\"",
                                 r.lsn, path);
                    break;
                }
                off += r.total;
                res->records++;
                continue;
            }
            if (last && !valid_record_after(p, size, off + 1, segs[i])) {
                res->torn = true;
                res->torn_at = segs[i] + off;
                res->torn_bytes = size - off;
                if (ftruncate(fd, (off_t)off) != 0 || fdatasync(fd) != 0)
                    rc = tl_errorf(err, "58030", "could not cut the torn tail of WAL file \"%s\": %s", path,
                                   strerror(errno));
                break;
            }
            rc = tl_errorf(err, "XX001", "invalid WAL record in file \"%s\" at offset %zu: %s", path, off,
                           bad_reason(p + off, size - off, segs[i] + off));
            tl_error_detail(err, "The log is damaged before its end; start-up stops so that no committed data is "
                                 "silently dropped. Nothing on disk was changed.");
        }
        if (p) munmap((void *)p, size);
        close(fd);
        lsn = segs[i] + off;
        res->end_lsn = lsn;
        res->seg_start = segs[i];
    }
    free(segs);
    return rc;
}

/* ---- writer ---------------------------------------------------------------------------- */

struct tl_wal {
    char *dir;
    pthread_mutex_t mu;
    pthread_cond_t work; /* writer waits: bytes queued, rotation due, or stop */
    pthread_cond_t done; /* committers wait: flushed moved or the WAL broke */
    tl_buf q;            /* queued bytes, q.data[0] at LSN q_start */
    uint64_t q_start;
    uint64_t flushed;    /* everything before is durable */
    uint64_t rot_at;     /* pending rotation LSN, 0 none */
    uint64_t last_rot;   /* LSN of the last rotation (or open) */
    int broken;          /* negative errno once a write or sync failed */
    char broken_path[4096];
    bool stop;
    /* writer thread only */
    int fd;
    uint64_t seg_start;
    bool use_uring;
    struct io_uring ring;
    tl_buf wbuf;
    tl_wal_flush_fn on_flush;
    void *arg;
    pthread_t thread;
};

const char *tl_wal_method(const tl_wal *w)
{
    return w->use_uring ? "io_uring" : "pwrite";
}

static int open_segment(tl_wal *w, uint64_t start, tl_error *err)
{
    char path[4096];
    tl_wal_segment_path(path, sizeof path, w->dir, start);
    bool existed = access(path, F_OK) == 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        int e = errno;
        snprintf(w->broken_path, sizeof w->broken_path, "%s", path);
        if (err) tl_errorf(err, e == ENOSPC ? "53100" : "58030", "could not create WAL file \"%s\": %s", path, strerror(e));
        return -e;
    }
    if (!existed) {
        tl_error e2;
        tl_error_clear(&e2);
        if (fsync(fd) != 0 || tl_fsync_dir(w->dir, &e2) < 0) {
            int e = errno ? errno : EIO;
            close(fd);
            if (err) tl_errorf(err, "58030", "could not fsync new WAL file \"%s\": %s", path, strerror(e));
            return -e;
        }
    }
    if (w->fd >= 0) close(w->fd);
    w->fd = fd;
    w->seg_start = start;
    snprintf(w->broken_path, sizeof w->broken_path, "%s", path);
    return 0;
}

/* One io_uring operation, waited for: its result (bytes or -errno). */
static int uring_one(tl_wal *w, bool sync, const char *buf, size_t len, uint64_t off)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&w->ring);
    if (sync) io_uring_prep_fsync(sqe, w->fd, IORING_FSYNC_DATASYNC);
    else io_uring_prep_write(sqe, w->fd, buf, (unsigned)len, off);
    int rc = io_uring_submit_and_wait(&w->ring, 1);
    if (rc < 0) return rc;
    struct io_uring_cqe *cqe;
    rc = io_uring_wait_cqe(&w->ring, &cqe);
    if (rc < 0) return rc;
    int res = cqe->res;
    io_uring_cqe_seen(&w->ring, cqe);
    return res;
}

/* Write buf at file offset off and make it durable: 0 or -errno. */
static int write_durable(tl_wal *w, const char *buf, size_t len, uint64_t off)
{
    if (w->use_uring && len > 0 && len <= (1u << 30)) {
        /* the common case in one submission: write, then fdatasync linked behind it */
        struct io_uring_sqe *a = io_uring_get_sqe(&w->ring);
        io_uring_prep_write(a, w->fd, buf, (unsigned)len, off);
        a->flags |= IOSQE_IO_LINK;
        a->user_data = 1;
        struct io_uring_sqe *b = io_uring_get_sqe(&w->ring);
        io_uring_prep_fsync(b, w->fd, IORING_FSYNC_DATASYNC);
        b->user_data = 2;
        int rc = io_uring_submit_and_wait(&w->ring, 2);
        if (rc < 0) return rc;
        int wres = 0, fres = 0;
        for (int k = 0; k < 2; k++) {
            struct io_uring_cqe *cqe;
            rc = io_uring_wait_cqe(&w->ring, &cqe);
            if (rc < 0) return rc;
            if (cqe->user_data == 1) wres = cqe->res;
            else fres = cqe->res;
            io_uring_cqe_seen(&w->ring, cqe);
        }
        if (wres < 0) return wres;
        if ((size_t)wres == len && fres == 0) return 0;
        if ((size_t)wres == len) return fres < 0 ? fres : -EIO;
        /* a short write cancelled the linked sync: finish the rest one step at a time */
        buf += wres;
        len -= (size_t)wres;
        off += (uint64_t)wres;
        while (len > 0) {
            int r = uring_one(w, false, buf, len, off);
            if (r < 0) return r;
            if (r == 0) return -EIO;
            buf += r;
            len -= (size_t)r;
            off += (uint64_t)r;
        }
        int r = uring_one(w, true, NULL, 0, 0);
        return r < 0 ? r : 0;
    }
    while (len > 0) {
        ssize_t r = pwrite(w->fd, buf, len, (off_t)off);
        if (r < 0) {
            if (errno == EINTR) continue;
            return -errno;
        }
        if (r == 0) return -EIO;
        buf += r;
        len -= (size_t)r;
        off += (uint64_t)r;
    }
    return fdatasync(w->fd) == 0 ? 0 : -errno;
}

static void *writer_main(void *arg)
{
    tl_wal *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->broken && w->q.len == 0 && !(w->rot_at && w->flushed == w->rot_at) && !w->stop)
            pthread_cond_wait(&w->work, &w->mu);
        if (w->broken) break;
        if (w->rot_at && w->flushed == w->rot_at) {
            uint64_t at = w->rot_at;
            pthread_mutex_unlock(&w->mu);
            int rc = open_segment(w, at, NULL);
            pthread_mutex_lock(&w->mu);
            w->rot_at = 0;
            if (rc < 0) w->broken = rc;
            pthread_cond_broadcast(&w->done);
            if (rc < 0) break;
            continue;
        }
        if (w->q.len == 0) break; /* stop, with nothing left */
        size_t take = w->q.len;
        if (w->rot_at && w->q_start + take > w->rot_at) take = (size_t)(w->rot_at - w->q_start);
        uint64_t start = w->q_start;
        if (take == w->q.len) {
            tl_buf t = w->wbuf;
            w->wbuf = w->q;
            w->q = t;
            w->q.len = 0;
        } else {
            w->wbuf.len = 0;
            tl_buf_append(&w->wbuf, w->q.data, take);
            memmove(w->q.data, w->q.data + take, w->q.len - take);
            w->q.len -= take;
        }
        w->q_start += take;
        pthread_mutex_unlock(&w->mu);
        int rc = write_durable(w, w->wbuf.data, take, start - w->seg_start);
        if (w->on_flush) w->on_flush(w->arg, start + take, rc);
        pthread_mutex_lock(&w->mu);
        /* A multi-million-row COPY queues a record of hundreds of MB: let that memory go
         * once written instead of keeping the largest batch ever seen (the 7.5M-row demo
         * load held 1.1 GB here). The queue, if idle and as large, goes too. */
        if (w->wbuf.cap > WAL_BUF_KEEP) {
            tl_buf_free(&w->wbuf);
            tl_buf_init(&w->wbuf);
        }
        if (w->q.len == 0 && w->q.cap > WAL_BUF_KEEP) {
            tl_buf_free(&w->q);
            tl_buf_init(&w->q);
        }
        if (rc == 0) {
            w->flushed = start + take;
        } else {
            w->broken = rc;
            w->q.len = 0;
            /* The failed bytes were never acknowledged: try to take them back so a restart
             * does not replay what readers here never saw. If the disk refuses this too,
             * a restart may find the failed batch whole (never half: checksums). */
            if (ftruncate(w->fd, (off_t)(w->flushed - w->seg_start)) != 0 || fsync(w->fd) != 0)
                fprintf(stderr, "tallyd: WARNING:  could not cut the failed WAL write from \"%s\": %s\n",
                        w->broken_path, strerror(errno));
        }
        pthread_cond_broadcast(&w->done);
        if (rc < 0) break;
    }
    pthread_cond_broadcast(&w->done);
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

tl_wal *tl_wal_open(const tl_wal_opts *o, tl_error *err)
{
    tl_wal *w = tl_xcalloc(1, sizeof *w);
    w->dir = tl_xstrdup(o->dir);
    w->fd = -1;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->work, NULL);
    pthread_cond_init(&w->done, NULL);
    tl_buf_init(&w->q);
    tl_buf_init(&w->wbuf);
    w->q_start = w->flushed = w->last_rot = o->end_lsn;
    w->on_flush = o->on_flush;
    w->arg = o->arg;
    if (open_segment(w, o->seg_start, err) < 0) goto fail;
    if (!o->force_pwrite) {
        int rc = io_uring_queue_init(8, &w->ring, 0);
        if (rc == 0) {
            w->use_uring = true;
        } else {
            fprintf(stderr, "tallyd: LOG:  io_uring is unavailable (%s); the WAL uses pwrite and fdatasync\n",
                    strerror(-rc));
        }
    }
    if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
        tl_errorf(err, "53000", "could not start the WAL writer thread");
        if (w->use_uring) io_uring_queue_exit(&w->ring);
        goto fail;
    }
    return w;
fail:
    if (w->fd >= 0) close(w->fd);
    tl_buf_free(&w->q);
    tl_buf_free(&w->wbuf);
    free(w->dir);
    free(w);
    return NULL;
}

void tl_wal_close(tl_wal *w)
{
    if (!w) return;
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_signal(&w->work);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    if (w->use_uring) io_uring_queue_exit(&w->ring);
    if (w->fd >= 0) close(w->fd);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->work);
    pthread_cond_destroy(&w->done);
    tl_buf_free(&w->q);
    tl_buf_free(&w->wbuf);
    free(w->dir);
    free(w);
}

static int broken_error(tl_wal *w, tl_error *err, bool first)
{
    int e = -w->broken;
    const char *state = e == ENOSPC || e == EDQUOT ? "53100" : "58030";
    if (first)
        return tl_errorf(err, state, "could not write to WAL file \"%s\": %s", w->broken_path, strerror(e));
    tl_errorf(err, state, "the WAL is unavailable after an earlier write failure (%s); the server is read-only",
              strerror(e));
    snprintf(err->hint, sizeof err->hint, "Fix the cause and restart tallyd: it recovers every acknowledged write.");
    return -1;
}

int tl_wal_append(tl_wal *w, uint16_t type, const void *payload, size_t len, uint64_t *end, tl_error *err)
{
    if (len > TL_WAL_MAX_PAYLOAD)
        return tl_errorf(err, "54000", "WAL record of %zu bytes is too large", len);
    pthread_mutex_lock(&w->mu);
    if (w->broken) {
        int rc = broken_error(w, err, false);
        pthread_mutex_unlock(&w->mu);
        return rc;
    }
    uint64_t lsn = w->q_start + w->q.len;
    tl_wal_frame(&w->q, type, lsn, payload, (uint32_t)len);
    *end = w->q_start + w->q.len;
    pthread_cond_signal(&w->work);
    pthread_mutex_unlock(&w->mu);
    return 0;
}

int tl_wal_wait(tl_wal *w, uint64_t lsn, tl_error *err)
{
    pthread_mutex_lock(&w->mu);
    while (!w->broken && (w->flushed < lsn || (w->rot_at && w->rot_at <= lsn)))
        pthread_cond_wait(&w->done, &w->mu);
    int rc = 0;
    if (w->flushed < lsn || (w->rot_at && w->rot_at <= lsn)) rc = broken_error(w, err, true);
    pthread_mutex_unlock(&w->mu);
    return rc;
}

uint64_t tl_wal_rotate(tl_wal *w)
{
    pthread_mutex_lock(&w->mu);
    uint64_t at = w->q_start + w->q.len;
    /* a rotation still pending at an earlier LSN is taken over: one new segment is enough */
    w->rot_at = at;
    w->last_rot = at;
    pthread_cond_signal(&w->work);
    pthread_mutex_unlock(&w->mu);
    return at;
}

uint64_t tl_wal_bytes_since_rotate(tl_wal *w)
{
    pthread_mutex_lock(&w->mu);
    uint64_t n = w->q_start + w->q.len - w->last_rot;
    pthread_mutex_unlock(&w->mu);
    return n;
}

uint64_t tl_wal_end_lsn(tl_wal *w)
{
    pthread_mutex_lock(&w->mu);
    uint64_t n = w->q_start + w->q.len;
    pthread_mutex_unlock(&w->mu);
    return n;
}

bool tl_wal_broken(tl_wal *w, tl_error *err)
{
    pthread_mutex_lock(&w->mu);
    bool b = w->broken != 0;
    if (b && err) broken_error(w, err, false);
    pthread_mutex_unlock(&w->mu);
    return b;
}
