
/*
 * Copyright (C) nginx-consent developers
 */


#ifndef _NGX_HTTP_CONSENT_RECORD_H_INCLUDED_
#define _NGX_HTTP_CONSENT_RECORD_H_INCLUDED_


/*
 * The consent log record: a pure core, free of nginx types, shared by the
 * module (which writes records), tools/consent-audit (which verifies them),
 * the unit tests and the fuzzer.
 *
 * A record is one JSON object on one line (JSON Lines). Its canonical form
 * is the object without its "sig" member, serialised by jansson with
 * JSON_COMPACT | JSON_SORT_KEYS:
 *
 *     - no whitespace at all, members sorted by key (byte order of the
 *       UTF-8 key, which is code point order);
 *     - strings in UTF-8 as they are; escaped are only '"' and '\\' (as
 *       \" and \\), \b \f \n \r \t, and the other control characters
 *       below U+0020 as \u00XX with upper-case hex digits; '/' is not
 *       escaped;
 *     - numbers are integers only, in decimal.
 *
 * Python reproduces it with json.dumps(record, sort_keys=True,
 * ensure_ascii=False, separators=(",", ":")) for any record without
 * control characters other than \b \f \n \r \t.
 *
 *     seq   1, 2, 3, ... one per leaf of the instance's Merkle tree
 *           (ngx_http_consent_tree.h), across workers, reloads, reopened
 *           and rotated files: the tree index is seq - 1
 *
 * A line as written is the canonical form and a '\n'; the leaf is the
 * line without its '\n'. Records of type "checkpoint" carry a signed
 * checkpoint of the tree (ngx_http_consent_note.h) and are not leaves.
 *
 * Logs of the first format also had, in every record:
 *
 *     prev  SHA-256 of the previous record's canonical form, 64 lower-case
 *           hex digits; 64 zeros for the first record of a chain
 *     sig   Ed25519 signature (RFC 8032, pure) over the canonical form,
 *           base64url without padding (86 characters), inserted before
 *           the final '}': the canonical form is the line without it
 *
 * ngx_http_consent_record_seal() and _check() still write and read those,
 * for consent-audit and its tests (tools/consent_audit_chain.c).
 */


#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>


#define NGX_HTTP_CONSENT_RECORD_FLAGS        (JSON_COMPACT|JSON_SORT_KEYS)

#define NGX_HTTP_CONSENT_RECORD_HASH_LEN     32
#define NGX_HTTP_CONSENT_RECORD_HEX_LEN      64
#define NGX_HTTP_CONSENT_RECORD_SIG_LEN      64
#define NGX_HTTP_CONSENT_RECORD_SIG_B64_LEN  86
#define NGX_HTTP_CONSENT_RECORD_TS_LEN       24  /* 2026-01-31T23:59:59.999Z */
#define NGX_HTTP_CONSENT_RECORD_IP_LEN       64

/* ,"sig":"<86>"}\n */
#define NGX_HTTP_CONSENT_RECORD_SIG_EXTRA                                    \
    (sizeof(",\"sig\":\"\"}\n") - 1 + NGX_HTTP_CONSENT_RECORD_SIG_B64_LEN)

#define NGX_HTTP_CONSENT_RECORD_IP_TRUNCATE  0
#define NGX_HTTP_CONSENT_RECORD_IP_HASH      1
#define NGX_HTTP_CONSENT_RECORD_IP_NONE      2

#define NGX_HTTP_CONSENT_RECORD_POLICY       1
#define NGX_HTTP_CONSENT_RECORD_CONSENT      2
#define NGX_HTTP_CONSENT_RECORD_CHECKPOINT   3


/* what one line is, on its own */
typedef enum {
    NGX_HTTP_CONSENT_RECORD_OK = 0,
    NGX_HTTP_CONSENT_RECORD_MALFORMED,
    NGX_HTTP_CONSENT_RECORD_TRUNCATED,
    NGX_HTTP_CONSENT_RECORD_NO_SIG,
    NGX_HTTP_CONSENT_RECORD_BAD_SIG
} ngx_http_consent_record_status_e;


typedef struct {
    ngx_http_consent_record_status_e  status;
    int                               type;
    uint64_t                          seq;
    unsigned char                     hash[NGX_HTTP_CONSENT_RECORD_HASH_LEN];
    unsigned char                     prev[NGX_HTTP_CONSENT_RECORD_HASH_LEN];
} ngx_http_consent_record_check_t;


/* the members of a line that the tree needs (record_fields) */
typedef struct {
    int                               type;
    uint64_t                          seq;
    unsigned char                     id[16];
    size_t                            canonical;  /* bytes of the line */
    const char                       *note;       /* as written, quoted */
    size_t                            note_len;
    unsigned char                     prev_hash[32];
    unsigned                          has_id:1;
    unsigned                          sig:1;
    unsigned                          prev:1;
} ngx_http_consent_record_line_t;


extern const unsigned char  ngx_http_consent_record_genesis[
    NGX_HTTP_CONSENT_RECORD_HASH_LEN];


/* encodings */
void ngx_http_consent_record_hex(const unsigned char *in, size_t len,
    char *out);
int ngx_http_consent_record_unhex(const char *in, size_t len,
    unsigned char *out);
size_t ngx_http_consent_record_ts(int64_t sec, unsigned msec, char *out);
int ngx_http_consent_record_ip(int family, const unsigned char *addr,
    int mode, const unsigned char *key, size_t keylen, char *out,
    size_t size);

/* hashing, canonical form */
size_t ngx_http_consent_record_json_string(const unsigned char *in,
    size_t len, char *out);
void ngx_http_consent_record_sha256(const void *data, size_t len,
    unsigned char *out);
size_t ngx_http_consent_record_canonical(json_t *record, char *buf,
    size_t size);
int ngx_http_consent_record_json_hash(json_t *json, unsigned char *out);

/* keys and signatures */
EVP_PKEY *ngx_http_consent_record_load_key(const char *path, int private,
    char *err, size_t errlen);
int ngx_http_consent_record_sign(EVP_PKEY *key, const unsigned char *data,
    size_t len, unsigned char *sig);
int ngx_http_consent_record_verify(EVP_PKEY *key, const unsigned char *data,
    size_t len, const unsigned char *sig);

/* writing and checking one line */
size_t ngx_http_consent_record_seal(json_t *record, uint64_t seq,
    const unsigned char *prev, EVP_PKEY *key, char *buf, size_t size,
    unsigned char *hash);
void ngx_http_consent_record_check(const char *line, size_t len,
    EVP_PKEY *key, char *scratch, size_t size,
    ngx_http_consent_record_check_t *out);
int ngx_http_consent_record_fields(const char *line, size_t len,
    ngx_http_consent_record_line_t *out);


#endif /* _NGX_HTTP_CONSENT_RECORD_H_INCLUDED_ */
