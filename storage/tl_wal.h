/*
 * tl_wal.h — the write-ahead log as bytes on disk: record framing with checksums, a
 * writer with group commit (one thread writes and fdatasyncs whatever has queued while
 * the previous sync was in flight), segment files, and a reader that tells a torn tail
 * from corruption in the middle. Nothing here knows what a record means: the engine
 * gives payloads and types (engine/durable.c), storage only makes them durable.
 *
 * On disk a WAL is a directory of segments `wal.<16 hex digits>` named by the LSN of
 * their first byte. An LSN is a byte position in the endless log; a segment's records
 * continue exactly where the previous segment ended. A record:
 *
 *   OFFSET SIZE  DESCRIPTION
 *        0    4  magic "TLWR" (0x52574C54 little-endian)
 *        4    4  payload length in bytes (<= TL_WAL_MAX_PAYLOAD)
 *        8    2  record type (the engine's, nonzero)
 *       10    2  flags (0)
 *       12    4  reserved (0)
 *       16    8  LSN of this record: its own position, so a stale record in a reused
 *                file or a misplaced block never passes for the one expected here
 *       24    8  XXH3-64 of the payload, seeded with XXH3-64 of bytes 0..23
 *       32    n  payload
 *
 * The LSN doubles as the record's epoch: records are applied in LSN order on replay.
 * Integers are little-endian (tally targets x86-64 and arm64 Linux).
 */
#ifndef TL_WAL_H
#define TL_WAL_H

#include "tl_base.h"

#define TL_WAL_MAGIC 0x52574C54u
#define TL_WAL_HDR 32
#define TL_WAL_MAX_PAYLOAD (1u << 30)

/* ---- framing ------------------------------------------------------------------------ */

/* Append one framed record to `out`. */
void tl_wal_frame(tl_buf *out, uint16_t type, uint64_t lsn, const void *payload, uint32_t len);

typedef enum tl_wal_status {
    TL_WAL_REC = 0,  /* a whole, valid record */
    TL_WAL_EOF,      /* no bytes left */
    TL_WAL_PARTIAL,  /* the record runs past the end of the bytes given */
    TL_WAL_BAD,      /* wrong magic, LSN, length or checksum */
} tl_wal_status;

typedef struct tl_wal_rec {
    uint16_t type;
    uint64_t lsn;
    const char *payload; /* points into the bytes given */
    uint32_t len;
    size_t total;        /* header + payload */
} tl_wal_rec;

/* Decode the record at buf[0..avail) expected at `lsn`. */
tl_wal_status tl_wal_decode(const char *buf, size_t avail, uint64_t lsn, tl_wal_rec *rec);

/* ---- reading a directory ------------------------------------------------------------- */

/* Segments of `dir` sorted by start LSN (array malloc'd, free with free()). */
int tl_wal_list_segments(const char *dir, uint64_t **starts, int *n, tl_error *err);
void tl_wal_segment_path(char *out, size_t cap, const char *dir, uint64_t start);

typedef int (*tl_wal_rec_fn)(void *arg, const tl_wal_rec *rec, tl_error *err);

typedef struct tl_wal_replay_result {
    uint64_t end_lsn;       /* LSN after the last valid record */
    uint64_t seg_start;     /* start LSN of the segment end_lsn lies in */
    uint64_t records;
    bool torn;              /* a torn tail was found (and cut, unless dry_run) */
    uint64_t torn_at;       /* LSN where it began */
    uint64_t torn_bytes;    /* bytes cut */
} tl_wal_replay_result;

/* Read every record of the segments in `dir` from `from_lsn` on, in order, calling fn.
 * A torn tail — the last record of the last segment incomplete or failing its checksum
 * with nothing valid after it — is cut from the file (ftruncate + fsync) and reported in
 * `res`; a bad record anywhere else, a gap between segments, or a segment missing at
 * `from_lsn` fails with XX001 naming the file and offset, and nothing on disk changes.
 * fn's error stops the replay. */
int tl_wal_replay(const char *dir, uint64_t from_lsn, tl_wal_rec_fn fn, void *arg,
                  tl_wal_replay_result *res, tl_error *err);

/* ---- writing ------------------------------------------------------------------------ */

typedef struct tl_wal tl_wal;

/* Called on the writer thread after each sync: ok = 0 and everything up to `lsn` is
 * durable, or ok < 0 (errno-style, negated) and nothing from the last durable LSN on
 * may be counted on. Runs before waiters are woken, so the engine can publish first. */
typedef void (*tl_wal_flush_fn)(void *arg, uint64_t lsn, int ok);

typedef struct tl_wal_opts {
    const char *dir;
    uint64_t seg_start;    /* segment to continue (its file is created if absent) */
    uint64_t end_lsn;      /* where the next record goes (>= seg_start) */
    bool force_pwrite;     /* skip io_uring (fault-injection tests use libc calls) */
    tl_wal_flush_fn on_flush;
    void *arg;
} tl_wal_opts;

tl_wal *tl_wal_open(const tl_wal_opts *o, tl_error *err);
/* Flush what is queued, stop the writer thread, close. NULL is a no-op. */
void tl_wal_close(tl_wal *w);
/* "io_uring" or "pwrite": what the writer uses. */
const char *tl_wal_method(const tl_wal *w);

/* Queue one record; *end gets the LSN just past it (what to wait for). The payload is
 * copied. Fails only when the WAL is broken by an earlier I/O error (53100/58030). */
int tl_wal_append(tl_wal *w, uint16_t type, const void *payload, size_t len, uint64_t *end,
                  tl_error *err);
/* Wait until everything before `lsn` is durable: 0, or -1 with 53100 (ENOSPC) or 58030
 * (EIO and every other write/sync failure). */
int tl_wal_wait(tl_wal *w, uint64_t lsn, tl_error *err);
/* Start a new segment at the current end: records queued before go to the old one.
 * Returns that LSN. Cheap: the writer switches files when it reaches it. */
uint64_t tl_wal_rotate(tl_wal *w);
/* Bytes queued since the last rotation (the checkpoint trigger). */
uint64_t tl_wal_bytes_since_rotate(tl_wal *w);
uint64_t tl_wal_end_lsn(tl_wal *w);
/* True once a write or sync failed; err (if given) says how. */
bool tl_wal_broken(tl_wal *w, tl_error *err);
/* Delete segments wholly before `lsn` (after a checkpoint made them unnecessary). */
int tl_wal_remove_before(const char *dir, uint64_t lsn, tl_error *err);

/* Durable directory entry changes (after create/rename/unlink). */
int tl_fsync_dir(const char *dir, tl_error *err);

#endif
