/*
 * tl_scram.h — password verifiers as PostgreSQL stores them (SCRAM-SHA-256 and md5)
 * and the hashing the server's authentication exchanges need. OpenSSL's primitives
 * only; kept at the bottom layer because the catalog (CREATE ROLE … PASSWORD) and the
 * server (SCRAM exchange) both use them.
 */
#ifndef TL_SCRAM_H
#define TL_SCRAM_H

#include "tl_base.h"

/* ---- passwords (OpenSSL primitives; see scram.c) ------------------------------------ */

#define TL_SCRAM_ITER 4096
#define TL_SCRAM_KEY 32
/* "SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>" for a cleartext password. */
char *tl_scram_build_verifier(const char *password);
/* Split a verifier; false if it is not one. */
bool tl_scram_parse_verifier(const char *v, int *iter, unsigned char *salt, size_t *saltlen,
                             unsigned char stored[TL_SCRAM_KEY], unsigned char server[TL_SCRAM_KEY]);
/* "md5" + md5hex(password || user) */
char *tl_md5_verifier(const char *password, const char *user);
void tl_md5_hex(const void *data, size_t len, char out[33]);
/* Cleartext check against either kind of verifier. */
bool tl_password_matches(const char *verifier, const char *user, const char *password);
/* Base64 (standard alphabet, padded). Decode returns length or -1. */
char *tl_b64_encode(const unsigned char *p, size_t n);
long tl_b64_decode(const char *s, unsigned char *out, size_t cap);
/* SHA-256 and HMAC-SHA-256. */
void tl_sha256(const void *p, size_t n, unsigned char out[32]);
void tl_hmac_sha256(const void *key, size_t klen, const void *p, size_t n, unsigned char out[32]);

#endif
