
/*
 * Copyright (C) nginx-consent developers
 */


#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "ngx_http_consent_note.h"
#include "ngx_http_consent_record.h"


#define NGX_HTTP_CONSENT_NOTE_DASH      "\xe2\x80\x94 "
#define NGX_HTTP_CONSENT_NOTE_DASH_LEN  4
#define NGX_HTTP_CONSENT_NOTE_ED25519   0x01


static int ngx_http_consent_note_pubkey(EVP_PKEY *key, unsigned char *out);
static int ngx_http_consent_note_unbase64(const char *in, size_t len,
    unsigned char *out, size_t size, size_t *outlen);
static const char *ngx_http_consent_note_line(const char *p, const char *end,
    size_t *len);


static const char  *ngx_http_consent_note_statuses[] = {
    "ok",
    "not a checkpoint",
    "no signature by this key",
    "bad checkpoint signature"
};


/* a key name: not empty, no space, no '+', printable */

int
ngx_http_consent_note_valid_name(const char *name, size_t len)
{
    size_t  i;

    if (len == 0 || len > NGX_HTTP_CONSENT_NOTE_ORIGIN_LEN) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if ((unsigned char) name[i] <= ' ' || name[i] == '+'
            || (unsigned char) name[i] >= 0x7f)
        {
            return 0;
        }
    }

    return 1;
}


int
ngx_http_consent_note_key_id(EVP_PKEY *key, const char *name, size_t len,
    uint32_t *id)
{
    unsigned char  buf[NGX_HTTP_CONSENT_NOTE_ORIGIN_LEN + 2 + 32];
    unsigned char  md[SHA256_DIGEST_LENGTH];

    if (len > NGX_HTTP_CONSENT_NOTE_ORIGIN_LEN) {
        return -1;
    }

    memcpy(buf, name, len);
    buf[len] = '\n';
    buf[len + 1] = NGX_HTTP_CONSENT_NOTE_ED25519;

    if (ngx_http_consent_note_pubkey(key, buf + len + 2) != 0) {
        return -1;
    }

    SHA256(buf, len + 2 + 32, md);

    *id = ((uint32_t) md[0] << 24) | ((uint32_t) md[1] << 16)
          | ((uint32_t) md[2] << 8) | md[3];

    return 0;
}


/* NAME+XXXXXXXX+BASE64(0x01 || public key), '\0'-terminated */

size_t
ngx_http_consent_note_vkey(EVP_PKEY *key, const char *name, size_t len,
    char *out, size_t size)
{
    int            n;
    uint32_t       id;
    unsigned char  raw[33];

    if (!ngx_http_consent_note_valid_name(name, len)
        || size < NGX_HTTP_CONSENT_NOTE_VKEY_LEN
        || ngx_http_consent_note_key_id(key, name, len, &id) != 0)
    {
        return 0;
    }

    raw[0] = NGX_HTTP_CONSENT_NOTE_ED25519;

    if (ngx_http_consent_note_pubkey(key, raw + 1) != 0) {
        return 0;
    }

    n = snprintf(out, size, "%.*s+%08x+", (int) len, name, (unsigned) id);
    n += EVP_EncodeBlock((unsigned char *) out + n, raw, sizeof(raw));

    return (size_t) n;
}


/*
 * The signed checkpoint of a tree, '\0'-terminated in out (at least
 * NGX_HTTP_CONSENT_NOTE_LEN bytes). Returns its length, or 0 on error.
 */

size_t
ngx_http_consent_note_checkpoint(EVP_PKEY *key, const char *origin,
    size_t len, uint64_t tree_size, const unsigned char *root, char *out,
    size_t size)
{
    int            n;
    char          *p;
    uint32_t       id;
    unsigned char  sig[4 + NGX_HTTP_CONSENT_RECORD_SIG_LEN];

    if (!ngx_http_consent_note_valid_name(origin, len)
        || size < NGX_HTTP_CONSENT_NOTE_LEN
        || ngx_http_consent_note_key_id(key, origin, len, &id) != 0)
    {
        return 0;
    }

    n = snprintf(out, size, "%.*s\n%llu\n", (int) len, origin,
                 (unsigned long long) tree_size);
    n += EVP_EncodeBlock((unsigned char *) out + n, root,
                         NGX_HTTP_CONSENT_TREE_HASH_LEN);
    out[n++] = '\n';

    sig[0] = (unsigned char) (id >> 24);
    sig[1] = (unsigned char) (id >> 16);
    sig[2] = (unsigned char) (id >> 8);
    sig[3] = (unsigned char) id;

    if (ngx_http_consent_record_sign(key, (unsigned char *) out, (size_t) n,
                                     sig + 4)
        != 0)
    {
        return 0;
    }

    p = out + n;
    *p++ = '\n';
    memcpy(p, NGX_HTTP_CONSENT_NOTE_DASH, NGX_HTTP_CONSENT_NOTE_DASH_LEN);
    p += NGX_HTTP_CONSENT_NOTE_DASH_LEN;
    memcpy(p, origin, len);
    p += len;
    *p++ = ' ';
    p += EVP_EncodeBlock((unsigned char *) p, sig, sizeof(sig));
    *p++ = '\n';
    *p = '\0';

    return p - out;
}


/*
 * Reads a signed checkpoint and checks its signature by key (the key name
 * is the origin). Extension lines after the root are allowed and signed;
 * signatures by other keys are skipped, as signed-note says.
 */

ngx_http_consent_note_status_e
ngx_http_consent_note_open(const char *note, size_t len, EVP_PKEY *key,
    ngx_http_consent_checkpoint_t *out)
{
    int            found;
    size_t         n, l, siglen;
    uint32_t       id, sid;
    uint64_t       size;
    const char    *p, *end, *line, *name, *sp;
    unsigned char  sig[4 + NGX_HTTP_CONSENT_RECORD_SIG_LEN + 2];

    memset(out, 0, sizeof(*out));

    p = note;
    end = note + len;

    /* the origin */

    line = p;
    p = ngx_http_consent_note_line(p, end, &l);

    if (p == NULL || !ngx_http_consent_note_valid_name(line, l)) {
        return NGX_HTTP_CONSENT_NOTE_MALFORMED;
    }

    out->origin = line;
    out->origin_len = l;

    /* the size: decimal, no leading zero */

    line = p;
    p = ngx_http_consent_note_line(p, end, &l);

    if (p == NULL || l == 0 || l > 20 || (line[0] == '0' && l > 1)) {
        return NGX_HTTP_CONSENT_NOTE_MALFORMED;
    }

    for (size = 0, n = 0; n < l; n++) {
        if (line[n] < '0' || line[n] > '9'
            || size > (UINT64_MAX - (uint64_t) (line[n] - '0')) / 10)
        {
            return NGX_HTTP_CONSENT_NOTE_MALFORMED;
        }

        size = size * 10 + (uint64_t) (line[n] - '0');
    }

    out->size = size;

    /* the root */

    line = p;
    p = ngx_http_consent_note_line(p, end, &l);

    if (p == NULL
        || ngx_http_consent_note_unbase64(line, l, out->root,
                                          NGX_HTTP_CONSENT_TREE_HASH_LEN, &n)
           != 0
        || n != NGX_HTTP_CONSENT_TREE_HASH_LEN)
    {
        return NGX_HTTP_CONSENT_NOTE_MALFORMED;
    }

    /* extension lines, up to the empty line */

    for ( ;; ) {
        line = p;
        p = ngx_http_consent_note_line(p, end, &l);

        if (p == NULL) {
            return NGX_HTTP_CONSENT_NOTE_MALFORMED;
        }

        if (l == 0) {
            break;
        }
    }

    out->body_len = line - note;

    if (p == end) {
        return NGX_HTTP_CONSENT_NOTE_MALFORMED;
    }

    if (key == NULL
        || ngx_http_consent_note_key_id(key, out->origin, out->origin_len, &id)
        != 0)
    {
        return NGX_HTTP_CONSENT_NOTE_UNKNOWN_KEY;
    }

    /* the signature lines */

    found = 0;

    while (p < end) {
        line = p;
        p = ngx_http_consent_note_line(p, end, &l);

        if (p == NULL || l < NGX_HTTP_CONSENT_NOTE_DASH_LEN + 3
            || memcmp(line, NGX_HTTP_CONSENT_NOTE_DASH,
                      NGX_HTTP_CONSENT_NOTE_DASH_LEN)
               != 0)
        {
            return NGX_HTTP_CONSENT_NOTE_MALFORMED;
        }

        name = line + NGX_HTTP_CONSENT_NOTE_DASH_LEN;
        sp = memchr(name, ' ', line + l - name);

        if (sp == NULL
            || ngx_http_consent_note_unbase64(sp + 1, line + l - sp - 1, sig,
                                              sizeof(sig), &siglen)
               != 0
            || siglen < 5)
        {
            return NGX_HTTP_CONSENT_NOTE_MALFORMED;
        }

        sid = ((uint32_t) sig[0] << 24) | ((uint32_t) sig[1] << 16)
              | ((uint32_t) sig[2] << 8) | sig[3];

        if ((size_t) (sp - name) != out->origin_len
            || memcmp(name, out->origin, out->origin_len) != 0
            || sid != id)
        {
            continue;
        }

        found = 1;

        if (siglen == 4 + NGX_HTTP_CONSENT_RECORD_SIG_LEN
            && ngx_http_consent_record_verify(key, (unsigned char *) note,
                                              out->body_len, sig + 4)
               == 0)
        {
            return NGX_HTTP_CONSENT_NOTE_OK;
        }
    }

    return found ? NGX_HTTP_CONSENT_NOTE_BAD_SIG
                 : NGX_HTTP_CONSENT_NOTE_UNKNOWN_KEY;
}


const char *
ngx_http_consent_note_status_name(ngx_http_consent_note_status_e status)
{
    if ((size_t) status >= sizeof(ngx_http_consent_note_statuses)
                           / sizeof(char *))
    {
        return "error";
    }

    return ngx_http_consent_note_statuses[status];
}


static int
ngx_http_consent_note_pubkey(EVP_PKEY *key, unsigned char *out)
{
    size_t  len;

    len = 32;

    if (EVP_PKEY_get_raw_public_key(key, out, &len) != 1 || len != 32) {
        return -1;
    }

    return 0;
}


/* strict standard base64 with padding: it must encode back the same */

static int
ngx_http_consent_note_unbase64(const char *in, size_t len,
    unsigned char *out, size_t size, size_t *outlen)
{
    int            n;
    size_t         pad;
    unsigned char  buf[128], back[176];

    if (len == 0 || len % 4 || len > 128) {
        return -1;
    }

    n = EVP_DecodeBlock(buf, (const unsigned char *) in, (int) len);
    if (n < 0) {
        return -1;
    }

    pad = (in[len - 1] == '=') + (in[len - 2] == '=');
    n -= (int) pad;

    if ((size_t) n > size
        || EVP_EncodeBlock(back, buf, n) != (int) len
        || memcmp(back, in, len) != 0)
    {
        return -1;
    }

    memcpy(out, buf, (size_t) n);
    *outlen = (size_t) n;

    return 0;
}


/* the line at p, without its '\n'; returns the next, NULL without '\n' */

static const char *
ngx_http_consent_note_line(const char *p, const char *end, size_t *len)
{
    const char  *nl;

    nl = memchr(p, '\n', end - p);
    if (nl == NULL) {
        return NULL;
    }

    *len = nl - p;

    return nl + 1;
}
