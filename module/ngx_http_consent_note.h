
/*
 * Copyright (C) nginx-consent developers
 */


#ifndef _NGX_HTTP_CONSENT_NOTE_H_INCLUDED_
#define _NGX_HTTP_CONSENT_NOTE_H_INCLUDED_


/*
 * Checkpoints of the consent log's tree: a pure core shared by the module
 * and consent-audit.
 *
 * A checkpoint (c2sp.org/tlog-checkpoint) is three lines, the origin, the
 * tree size in decimal and the root hash in standard base64:
 *
 *     example.com/consent-log
 *     1000
 *     7ZyYcN3nyJCmB2N2a0vQx3Yv2EXAMPLEe8tHkbyTAhk=
 *
 * signed as a note (c2sp.org/signed-note) with Ed25519: an empty line,
 * then one signature line "\xe2\x80\x94 NAME BASE64\n" (an em dash), where
 * BASE64 encodes the 4-byte key ID then the 64-byte signature of the text
 * above the empty line, and the key ID is the first four bytes of
 * SHA-256(NAME || 0x0A || 0x01 || the 32-byte public key). The key name is
 * the origin. Go's golang.org/x/mod/sumdb/note reads these notes with the
 * verifier key NAME+XXXXXXXX+BASE64(0x01 || public key).
 */


#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "ngx_http_consent_tree.h"


#define NGX_HTTP_CONSENT_NOTE_ORIGIN_LEN  255
/* the origin, a size of 20 digits, 44 of base64, 3 newlines */
#define NGX_HTTP_CONSENT_NOTE_BODY_LEN                                       \
    (NGX_HTTP_CONSENT_NOTE_ORIGIN_LEN + 20 + 44 + 3)
/* the body, an empty line, "\xe2\x80\x94 NAME " and 92 of base64, '\n' */
#define NGX_HTTP_CONSENT_NOTE_LEN                                            \
    (NGX_HTTP_CONSENT_NOTE_BODY_LEN + 1 + 4 + NGX_HTTP_CONSENT_NOTE_ORIGIN_LEN \
     + 1 + 92 + 1)
#define NGX_HTTP_CONSENT_NOTE_VKEY_LEN                                       \
    (NGX_HTTP_CONSENT_NOTE_ORIGIN_LEN + 1 + 8 + 1 + 44 + 1)


typedef enum {
    NGX_HTTP_CONSENT_NOTE_OK = 0,
    NGX_HTTP_CONSENT_NOTE_MALFORMED,    /* not a checkpoint note */
    NGX_HTTP_CONSENT_NOTE_UNKNOWN_KEY,  /* no signature by this key */
    NGX_HTTP_CONSENT_NOTE_BAD_SIG       /* a signature that does not match */
} ngx_http_consent_note_status_e;


typedef struct {
    const char                    *origin;     /* into the note */
    size_t                         origin_len;
    uint64_t                       size;
    ngx_http_consent_tree_hash_t   root;
    size_t                         body_len;   /* the signed text */
} ngx_http_consent_checkpoint_t;


int ngx_http_consent_note_valid_name(const char *name, size_t len);
int ngx_http_consent_note_key_id(EVP_PKEY *key, const char *name, size_t len,
    uint32_t *id);
size_t ngx_http_consent_note_vkey(EVP_PKEY *key, const char *name,
    size_t len, char *out, size_t size);
size_t ngx_http_consent_note_checkpoint(EVP_PKEY *key, const char *origin,
    size_t len, uint64_t tree_size, const unsigned char *root, char *out,
    size_t size);
ngx_http_consent_note_status_e ngx_http_consent_note_open(const char *note,
    size_t len, EVP_PKEY *key, ngx_http_consent_checkpoint_t *out);
const char *ngx_http_consent_note_status_name(
    ngx_http_consent_note_status_e status);


#endif /* _NGX_HTTP_CONSENT_NOTE_H_INCLUDED_ */
