/*
 * scram.c — password verifiers as PostgreSQL stores them in pg_authid.rolpassword:
 * SCRAM-SHA-256 (RFC 5802/7677, PG's scram_build_secret) and legacy md5. All hashing is
 * OpenSSL's (SHA-256, HMAC, PBKDF2, MD5); nothing here is hand-rolled crypto. The
 * cleartext never outlives the call that hashes it.
 */
#include "tl_scram.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SALT_LEN 16 /* PG's SCRAM_DEFAULT_SALT_LEN */

void tl_sha256(const void *p, size_t n, unsigned char out[32])
{
    SHA256(p, n, out);
}

void tl_hmac_sha256(const void *key, size_t klen, const void *p, size_t n, unsigned char out[32])
{
    unsigned int len = 32;
    HMAC(EVP_sha256(), key, (int)klen, p, n, out, &len);
}

void tl_md5_hex(const void *data, size_t len, char out[33])
{
    unsigned char d[16];
    unsigned int dl = 16;
    EVP_Digest(data, len, d, &dl, EVP_md5(), NULL);
    for (int i = 0; i < 16; i++) snprintf(out + 2 * i, 3, "%02x", d[i]);
}

char *tl_b64_encode(const unsigned char *p, size_t n)
{
    char *out = tl_xmalloc(4 * ((n + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)out, p, (int)n);
    return out;
}

long tl_b64_decode(const char *s, unsigned char *out, size_t cap)
{
    size_t n = strlen(s);
    if (n % 4 != 0) return -1;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '+' || c == '/' || (c == '=' && i >= n - 2);
        if (!ok) return -1;
    }
    if (n / 4 * 3 > cap) return -1;
    int len = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n);
    if (len < 0) return -1;
    /* EVP_DecodeBlock counts padding as data */
    if (n >= 1 && s[n - 1] == '=') len--;
    if (n >= 2 && s[n - 2] == '=') len--;
    return len;
}

static void scram_keys(const char *password, const unsigned char *salt, size_t saltlen, int iter,
                       unsigned char stored[32], unsigned char server[32])
{
    unsigned char salted[32], client[32];
    PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, (int)saltlen, iter, EVP_sha256(), 32, salted);
    tl_hmac_sha256(salted, 32, "Client Key", 10, client);
    tl_sha256(client, 32, stored);
    tl_hmac_sha256(salted, 32, "Server Key", 10, server);
    OPENSSL_cleanse(salted, sizeof salted);
    OPENSSL_cleanse(client, sizeof client);
}

char *tl_scram_build_verifier(const char *password)
{
    unsigned char salt[SALT_LEN], stored[32], server[32];
    if (RAND_bytes(salt, sizeof salt) != 1) abort(); /* no entropy: never store a weak salt */
    scram_keys(password, salt, sizeof salt, TL_SCRAM_ITER, stored, server);
    char *s = tl_b64_encode(salt, sizeof salt), *k1 = tl_b64_encode(stored, 32), *k2 = tl_b64_encode(server, 32);
    size_t len = strlen(s) + strlen(k1) + strlen(k2) + 40;
    char *v = tl_xmalloc(len);
    snprintf(v, len, "SCRAM-SHA-256$%d:%s$%s:%s", TL_SCRAM_ITER, s, k1, k2);
    free(s);
    free(k1);
    free(k2);
    return v;
}

bool tl_scram_parse_verifier(const char *v, int *iter, unsigned char *salt, size_t *saltlen,
                             unsigned char stored[TL_SCRAM_KEY], unsigned char server[TL_SCRAM_KEY])
{
    if (strncmp(v, "SCRAM-SHA-256$", 14) != 0) return false;
    char buf[512];
    if (strlen(v + 14) >= sizeof buf) return false;
    strcpy(buf, v + 14);
    char *colon = strchr(buf, ':'), *dollar = strchr(buf, '$');
    if (!colon || !dollar || colon > dollar) return false;
    *colon = *dollar = '\0';
    char *keys = dollar + 1, *colon2 = strchr(keys, ':');
    if (!colon2) return false;
    *colon2 = '\0';
    char *end;
    long it = strtol(buf, &end, 10);
    if (*end || it < 1 || it > 10000000) return false;
    *iter = (int)it;
    long sl = tl_b64_decode(colon + 1, salt, 64);
    if (sl <= 0) return false;
    *saltlen = (size_t)sl;
    unsigned char tmp[48];
    if (tl_b64_decode(keys, tmp, sizeof tmp) != 32) return false;
    memcpy(stored, tmp, 32);
    if (tl_b64_decode(colon2 + 1, tmp, sizeof tmp) != 32) return false;
    memcpy(server, tmp, 32);
    return true;
}

char *tl_md5_verifier(const char *password, const char *user)
{
    size_t pl = strlen(password), ul = strlen(user);
    char *cat = tl_xmalloc(pl + ul + 1);
    memcpy(cat, password, pl);
    memcpy(cat + pl, user, ul + 1);
    char *v = tl_xmalloc(36);
    memcpy(v, "md5", 3);
    tl_md5_hex(cat, pl + ul, v + 3);
    OPENSSL_cleanse(cat, pl + ul);
    free(cat);
    return v;
}

bool tl_password_matches(const char *verifier, const char *user, const char *password)
{
    if (!verifier) return false;
    if (strncmp(verifier, "md5", 3) == 0 && strlen(verifier) == 35) {
        char *m = tl_md5_verifier(password, user);
        bool ok = CRYPTO_memcmp(m, verifier, 35) == 0;
        free(m);
        return ok;
    }
    int iter;
    unsigned char salt[64], stored[32], server[32], s2[32], k2[32];
    size_t saltlen;
    if (!tl_scram_parse_verifier(verifier, &iter, salt, &saltlen, stored, server)) return false;
    scram_keys(password, salt, saltlen, iter, s2, k2);
    return CRYPTO_memcmp(stored, s2, 32) == 0 && CRYPTO_memcmp(server, k2, 32) == 0;
}
