
/*
 * Copyright (C) nginx-consent developers
 */


#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include "ngx_http_consent_cookie.h"
#include "ngx_http_consent_record.h"




static void ngx_http_consent_record_digits(char *out, int n, int width);
static const char *ngx_http_consent_record_skip_string(const char *p,
    const char *end);
static const char *ngx_http_consent_record_skip_value(const char *p,
    const char *end);


const unsigned char  ngx_http_consent_record_genesis[
    NGX_HTTP_CONSENT_RECORD_HASH_LEN];


void
ngx_http_consent_record_hex(const unsigned char *in, size_t len, char *out)
{
    size_t             i;
    static const char  hex[] = "0123456789abcdef";

    for (i = 0; i < len; i++) {
        *out++ = hex[in[i] >> 4];
        *out++ = hex[in[i] & 0xf];
    }

    *out = '\0';
}


int
ngx_http_consent_record_unhex(const char *in, size_t len, unsigned char *out)
{
    int     n;
    char    c;
    size_t  i;

    if (len % 2) {
        return -1;
    }

    for (i = 0; i < len; i++) {
        c = in[i];

        if (c >= '0' && c <= '9') {
            n = c - '0';

        } else if (c >= 'a' && c <= 'f') {
            n = c - 'a' + 10;

        } else {
            return -1;
        }

        if (i % 2 == 0) {
            out[i / 2] = (unsigned char) (n << 4);

        } else {
            out[i / 2] |= (unsigned char) n;
        }
    }

    return 0;
}


size_t
ngx_http_consent_record_ts(int64_t sec, unsigned msec, char *out)
{
    time_t     t;
    struct tm  tm;

    t = (time_t) sec;

    if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 > 9999
        || tm.tm_year + 1900 < 0 || msec > 999)
    {
        return 0;
    }

    ngx_http_consent_record_digits(out, tm.tm_year + 1900, 4);
    out[4] = '-';
    ngx_http_consent_record_digits(out + 5, tm.tm_mon + 1, 2);
    out[7] = '-';
    ngx_http_consent_record_digits(out + 8, tm.tm_mday, 2);
    out[10] = 'T';
    ngx_http_consent_record_digits(out + 11, tm.tm_hour, 2);
    out[13] = ':';
    ngx_http_consent_record_digits(out + 14, tm.tm_min, 2);
    out[16] = ':';
    ngx_http_consent_record_digits(out + 17, tm.tm_sec, 2);
    out[19] = '.';
    ngx_http_consent_record_digits(out + 20, (int) msec, 3);
    out[23] = 'Z';
    out[24] = '\0';

    return NGX_HTTP_CONSENT_RECORD_TS_LEN;
}


/*
 * truncate: 203.0.113.0/24, 2001:db8:1::/48
 * hash:     32 hex digits of HMAC-SHA256(key, "consent-log-ip" 0 family
 *           address bytes), keyed so that the 2^32 IPv4 addresses cannot
 *           simply be tried by whoever reads the log
 * none:     "" (the caller writes null)
 */

int
ngx_http_consent_record_ip(int family, const unsigned char *addr, int mode,
    const unsigned char *key, size_t keylen, char *out, size_t size)
{
    size_t         alen;
    unsigned int   mdlen;
    unsigned char  buf[16], md[EVP_MAX_MD_SIZE], msg[15 + 1 + 16];
    char           text[INET6_ADDRSTRLEN];

    if (size < NGX_HTTP_CONSENT_RECORD_IP_LEN) {
        return -1;
    }

    if (family == AF_INET) {
        alen = 4;

    } else if (family == AF_INET6) {
        alen = 16;

    } else {
        return -1;
    }

    switch (mode) {

    case NGX_HTTP_CONSENT_RECORD_IP_NONE:
        out[0] = '\0';
        return 0;

    case NGX_HTTP_CONSENT_RECORD_IP_HASH:
        if (key == NULL || keylen == 0) {
            return -1;
        }

        memcpy(msg, "consent-log-ip", 15);   /* with its '\0' */
        msg[15] = (unsigned char) alen;
        memcpy(msg + 16, addr, alen);

        if (HMAC(EVP_sha256(), key, (int) keylen, msg, 16 + alen, md, &mdlen)
            == NULL)
        {
            return -1;
        }

        ngx_http_consent_record_hex(md, 16, out);
        return 0;

    case NGX_HTTP_CONSENT_RECORD_IP_TRUNCATE:
        memset(buf, 0, sizeof(buf));

        if (family == AF_INET) {
            memcpy(buf, addr, 3);

        } else {
            memcpy(buf, addr, 6);
        }

        if (inet_ntop(family, buf, text, sizeof(text)) == NULL) {
            return -1;
        }

        snprintf(out, size, "%s/%s", text, family == AF_INET ? "24" : "48");
        return 0;
    }

    return -1;
}


/*
 * A JSON string, with its quotes, as the canonical form writes it (see
 * ngx_http_consent_record.h), so that a record printed without jansson
 * reads back and dumps to the very same bytes. out must hold 6 len + 3
 * bytes. Returns the length written, or 0 when in is not UTF-8 (jansson
 * refuses those strings too: overlong forms, surrogates, above U+10FFFF).
 */

size_t
ngx_http_consent_record_json_string(const unsigned char *in, size_t len,
    char *out)
{
    char                 e, *p;
    size_t                i, n, k;
    uint32_t              cp, min;
    unsigned char         c;
    static const char     hex[] = "0123456789ABCDEF";

    p = out;
    *p++ = '"';

    for (i = 0; i < len; /* void */) {
        c = in[i];

        if (c >= 0x80) {
            if (c >= 0xc2 && c <= 0xdf) {
                n = 1;
                cp = c & 0x1f;
                min = 0x80;

            } else if (c >= 0xe0 && c <= 0xef) {
                n = 2;
                cp = c & 0x0f;
                min = 0x800;

            } else if (c >= 0xf0 && c <= 0xf4) {
                n = 3;
                cp = c & 0x07;
                min = 0x10000;

            } else {
                return 0;
            }

            if (len - i <= n) {
                return 0;
            }

            for (k = 1; k <= n; k++) {
                if ((in[i + k] & 0xc0) != 0x80) {
                    return 0;
                }

                cp = (cp << 6) | (in[i + k] & 0x3f);
            }

            if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            {
                return 0;
            }

            memcpy(p, in + i, n + 1);
            p += n + 1;
            i += n + 1;
            continue;
        }

        i++;

        switch (c) {

        case '"':
        case '\\':
            e = (char) c;
            break;

        case '\b':
            e = 'b';
            break;

        case '\f':
            e = 'f';
            break;

        case '\n':
            e = 'n';
            break;

        case '\r':
            e = 'r';
            break;

        case '\t':
            e = 't';
            break;

        default:
            e = '\0';
        }

        if (e != '\0') {
            *p++ = '\\';
            *p++ = e;
            continue;
        }

        if (c < 0x20) {
            memcpy(p, "\\u00", 4);
            p[4] = hex[c >> 4];
            p[5] = hex[c & 0xf];
            p += 6;
            continue;
        }

        *p++ = (char) c;
    }

    *p++ = '"';

    return p - out;
}


void
ngx_http_consent_record_sha256(const void *data, size_t len,
    unsigned char *out)
{
    SHA256(data, len, out);
}


/*
 * Returns the length of the canonical form, written to buf when it fits
 * (the return value is then < size, and buf is '\0'-terminated), the size
 * it needs otherwise (>= size), or 0 on error. A "sig" member is left out.
 */

size_t
ngx_http_consent_record_canonical(json_t *record, char *buf, size_t size)
{
    size_t   n;
    json_t  *sig;

    if (!json_is_object(record)) {
        return 0;
    }

    sig = json_object_get(record, "sig");

    if (sig != NULL) {
        json_incref(sig);
        json_object_del(record, "sig");
    }

    n = json_dumpb(record, buf, size, NGX_HTTP_CONSENT_RECORD_FLAGS);

    if (sig != NULL) {
        json_object_set_new(record, "sig", sig);
    }

    if (n > 0 && n < size) {
        buf[n] = '\0';
    }

    return n;
}


/* SHA-256 of any JSON value's canonical form: text_hash of a language */

int
ngx_http_consent_record_json_hash(json_t *json, unsigned char *out)
{
    char  *s;

    s = json_dumps(json, NGX_HTTP_CONSENT_RECORD_FLAGS|JSON_ENCODE_ANY);
    if (s == NULL) {
        return -1;
    }

    SHA256((unsigned char *) s, strlen(s), out);
    free(s);

    return 0;
}


EVP_PKEY *
ngx_http_consent_record_load_key(const char *path, int private, char *err,
    size_t errlen)
{
    FILE      *f;
    EVP_PKEY  *key;

    f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, errlen, "cannot open \"%s\": %s", path,
                 strerror(errno));
        return NULL;
    }

    if (private) {
        key = PEM_read_PrivateKey(f, NULL, NULL, NULL);

    } else {
        key = PEM_read_PUBKEY(f, NULL, NULL, NULL);

        if (key == NULL) {
            /* a private key file also holds the public key */
            rewind(f);
            ERR_clear_error();
            key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
        }
    }

    fclose(f);
    ERR_clear_error();

    if (key == NULL) {
        snprintf(err, errlen, "\"%s\" is not a PEM %s key", path,
                 private ? "private" : "public");
        return NULL;
    }

    if (EVP_PKEY_id(key) != EVP_PKEY_ED25519) {
        snprintf(err, errlen, "\"%s\" is not an Ed25519 key; make one with "
                 "\"openssl genpkey -algorithm ed25519 -out %s\"",
                 path, path);
        EVP_PKEY_free(key);
        return NULL;
    }

    return key;
}


int
ngx_http_consent_record_sign(EVP_PKEY *key, const unsigned char *data,
    size_t len, unsigned char *sig)
{
    int          rc;
    size_t       siglen;
    EVP_MD_CTX  *ctx;

    ctx = EVP_MD_CTX_new();
    if (ctx == NULL) {
        return -1;
    }

    siglen = NGX_HTTP_CONSENT_RECORD_SIG_LEN;

    rc = (EVP_DigestSignInit(ctx, NULL, NULL, NULL, key) == 1
          && EVP_DigestSign(ctx, sig, &siglen, data, len) == 1
          && siglen == NGX_HTTP_CONSENT_RECORD_SIG_LEN) ? 0 : -1;

    EVP_MD_CTX_free(ctx);
    ERR_clear_error();

    return rc;
}


int
ngx_http_consent_record_verify(EVP_PKEY *key, const unsigned char *data,
    size_t len, const unsigned char *sig)
{
    int          rc;
    EVP_MD_CTX  *ctx;

    ctx = EVP_MD_CTX_new();
    if (ctx == NULL) {
        return -1;
    }

    rc = (EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key) == 1
          && EVP_DigestVerify(ctx, sig, NGX_HTTP_CONSENT_RECORD_SIG_LEN,
                              data, len) == 1) ? 0 : -1;

    EVP_MD_CTX_free(ctx);
    ERR_clear_error();

    return rc;
}


/*
 * Sets "seq" and "prev" in the record and writes the line to buf: the
 * canonical form, the signature when a key is given, '\n'. Returns the
 * line's length, the size it needs when it does not fit in size (the
 * return value is then > size), or 0 on error. hash receives the SHA-256
 * of the canonical form: the next record's "prev".
 */

size_t
ngx_http_consent_record_seal(json_t *record, uint64_t seq,
    const unsigned char *prev, EVP_PKEY *key, char *buf, size_t size,
    unsigned char *hash)
{
    char           *p;
    size_t          n, need;
    unsigned char   sig[NGX_HTTP_CONSENT_RECORD_SIG_LEN];
    char            hex[NGX_HTTP_CONSENT_RECORD_HEX_LEN + 1];

    ngx_http_consent_record_hex(prev, NGX_HTTP_CONSENT_RECORD_HASH_LEN, hex);

    if (json_object_set_new(record, "seq", json_integer((json_int_t) seq))
        != 0
        || json_object_set_new(record, "prev", json_string(hex)) != 0)
    {
        return 0;
    }

    json_object_del(record, "sig");

    n = json_dumpb(record, buf, size, NGX_HTTP_CONSENT_RECORD_FLAGS);
    if (n == 0) {
        return 0;
    }

    need = n + (key ? NGX_HTTP_CONSENT_RECORD_SIG_EXTRA : 1);

    if (need > size) {
        return need + 1;
    }

    SHA256((unsigned char *) buf, n, hash);

    if (key == NULL) {
        buf[n] = '\n';
        return n + 1;
    }

    if (ngx_http_consent_record_sign(key, (unsigned char *) buf, n, sig)
        != 0)
    {
        return 0;
    }

    p = buf + n - 1;                       /* the final '}' */
    memcpy(p, ",\"sig\":\"", 8);
    p += 8;
    p += ngx_http_consent_base64url_encode((unsigned char *) p, sig,
                                           sizeof(sig));
    *p++ = '"';
    *p++ = '}';
    *p++ = '\n';

    return p - buf;
}


/*
 * Checks one line (without its '\n') on its own: the JSON, the fields the
 * chain needs, the signature when a key is given. scratch holds the
 * canonical form; a record larger than size gets a temporary buffer.
 */

void
ngx_http_consent_record_check(const char *line, size_t len, EVP_PKEY *key,
    char *scratch, size_t size, ngx_http_consent_record_check_t *out)
{
    char          *buf;
    size_t         n;
    json_t        *rec, *v;
    const char    *s;
    json_int_t     seq;
    json_error_t   err;
    unsigned char  sig[NGX_HTTP_CONSENT_RECORD_SIG_LEN + 3];

    memset(out, 0, sizeof(*out));
    out->status = NGX_HTTP_CONSENT_RECORD_MALFORMED;

    rec = json_loadb(line, len, JSON_REJECT_DUPLICATES, &err);
    if (rec == NULL) {
        return;
    }

    if (!json_is_object(rec)) {
        goto done;
    }

    s = json_string_value(json_object_get(rec, "type"));
    if (s == NULL) {
        goto done;
    }

    if (strcmp(s, "consent") == 0) {
        out->type = NGX_HTTP_CONSENT_RECORD_CONSENT;

    } else if (strcmp(s, "policy") == 0) {
        out->type = NGX_HTTP_CONSENT_RECORD_POLICY;

    } else {
        goto done;
    }

    v = json_object_get(rec, "seq");
    if (!json_is_integer(v) || (seq = json_integer_value(v)) < 1) {
        goto done;
    }

    out->seq = (uint64_t) seq;

    v = json_object_get(rec, "prev");
    if (!json_is_string(v)
        || json_string_length(v) != NGX_HTTP_CONSENT_RECORD_HEX_LEN
        || ngx_http_consent_record_unhex(json_string_value(v),
                                         NGX_HTTP_CONSENT_RECORD_HEX_LEN,
                                         out->prev)
           != 0)
    {
        goto done;
    }

    v = json_object_get(rec, "sig");

    if (v != NULL
        && (!json_is_string(v)
            || ngx_http_consent_base64url_decode(sig, sizeof(sig),
                                   (const unsigned char *) json_string_value(v),
                                   json_string_length(v))
               != NGX_HTTP_CONSENT_RECORD_SIG_LEN))
    {
        out->status = NGX_HTTP_CONSENT_RECORD_BAD_SIG;
    }

    buf = scratch;
    n = ngx_http_consent_record_canonical(rec, buf, size);

    if (n >= size) {
        buf = malloc(n + 1);
        if (buf == NULL) {
            goto done;
        }

        n = ngx_http_consent_record_canonical(rec, buf, n + 1);
    }

    if (n == 0) {
        goto free;
    }

    SHA256((unsigned char *) buf, n, out->hash);

    if (out->status == NGX_HTTP_CONSENT_RECORD_BAD_SIG) {
        goto free;
    }

    if (v == NULL) {
        out->status = key ? NGX_HTTP_CONSENT_RECORD_NO_SIG
                          : NGX_HTTP_CONSENT_RECORD_OK;
        goto free;
    }

    if (key != NULL
        && ngx_http_consent_record_verify(key, (unsigned char *) buf, n, sig)
           != 0)
    {
        out->status = NGX_HTTP_CONSENT_RECORD_BAD_SIG;
        goto free;
    }

    out->status = NGX_HTTP_CONSENT_RECORD_OK;

free:

    if (buf != scratch) {
        free(buf);
    }

done:

    json_decref(rec);
}


/*
 * The top-level members of a line as written (compact, no whitespace) that
 * the tree and its readers need, without a JSON tree: type, seq, id, and
 * where "sig" starts. The canonical form is the line itself, or, for a
 * line of the first format (signed records), the line with its final sig
 * member cut out: canonical bytes of the line, then '}'. Returns -1 for a
 * line that is not a compact object of a known type.
 */

int
ngx_http_consent_record_fields(const char *line, size_t len,
    ngx_http_consent_record_line_t *out)
{
    size_t       klen, n;
    const char  *p, *end, *key, *v;

    memset(out, 0, sizeof(*out));

    end = line + len;

    if (len < 2 || line[0] != '{' || end[-1] != '}') {
        return -1;
    }

    p = line + 1;
    out->canonical = len;

    for ( ;; ) {
        if (p >= end || *p != '"') {
            return -1;
        }

        key = p + 1;
        p = ngx_http_consent_record_skip_string(p, end);

        if (p == NULL || p >= end || *p != ':') {
            return -1;
        }

        klen = p - 1 - key;
        v = ++p;

        p = ngx_http_consent_record_skip_value(p, end);
        if (p == NULL || p >= end || p == v) {
            return -1;
        }

        if (out->sig) {
            return -1;                   /* sig must be the last member */
        }

        if (klen == 4 && memcmp(key, "type", 4) == 0) {
            if (p - v == 9 && memcmp(v, "\"consent\"", 9) == 0) {
                out->type = NGX_HTTP_CONSENT_RECORD_CONSENT;

            } else if (p - v == 8 && memcmp(v, "\"policy\"", 8) == 0) {
                out->type = NGX_HTTP_CONSENT_RECORD_POLICY;

            } else if (p - v == 12 && memcmp(v, "\"checkpoint\"", 12) == 0) {
                out->type = NGX_HTTP_CONSENT_RECORD_CHECKPOINT;

            } else {
                return -1;
            }

        } else if (klen == 3 && memcmp(key, "seq", 3) == 0) {
            if (p - v > 19 || *v < '1' || *v > '9') {
                return -1;
            }

            for (out->seq = 0; v < p; v++) {
                if (*v < '0' || *v > '9') {
                    return -1;
                }

                out->seq = out->seq * 10 + (uint64_t) (*v - '0');
            }

        } else if (klen == 2 && memcmp(key, "id", 2) == 0) {
            if (p - v == 2 * 16 + 2
                && ngx_http_consent_record_unhex(v + 1, 2 * 16, out->id) == 0)
            {
                out->has_id = 1;
            }

        } else if (klen == 4 && memcmp(key, "prev", 4) == 0) {
            out->prev = 1;

            n = NGX_HTTP_CONSENT_RECORD_HEX_LEN;

            if ((size_t) (p - v) != n + 2
                || ngx_http_consent_record_unhex(v + 1, n, out->prev_hash)
                   != 0)
            {
                return -1;
            }

        } else if (klen == 4 && memcmp(key, "note", 4) == 0) {
            out->note = v;
            out->note_len = p - v;

        } else if (klen == 3 && memcmp(key, "sig", 3) == 0) {
            if (key[-2] != ',') {
                return -1;
            }

            out->sig = 1;
            out->canonical = key - 2 - line;
        }

        if (*p == '}') {
            if (p + 1 != end) {
                return -1;
            }

            break;
        }

        if (*p != ',') {
            return -1;
        }

        p++;
    }

    return out->type ? 0 : -1;
}


static const char *
ngx_http_consent_record_skip_string(const char *p, const char *end)
{
    /* p at the opening '"'; returns just after the closing one */

    for (p++; p < end; p++) {
        if (*p == '\\') {
            p++;
            continue;
        }

        if (*p == '"') {
            return p + 1;
        }

        if ((unsigned char) *p < 0x20) {
            return NULL;
        }
    }

    return NULL;
}


static const char *
ngx_http_consent_record_skip_value(const char *p, const char *end)
{
    int  depth;

    depth = 0;

    while (p < end) {

        switch (*p) {

        case '"':
            p = ngx_http_consent_record_skip_string(p, end);
            if (p == NULL) {
                return NULL;
            }

            break;

        case '{':
        case '[':
            if (++depth > 64) {
                return NULL;
            }

            p++;
            break;

        case '}':
        case ']':
            if (depth == 0) {
                return p;
            }

            depth--;
            p++;
            break;

        case ',':
            if (depth == 0) {
                return p;
            }

            p++;
            break;

        default:
            if ((unsigned char) *p <= ' ') {
                return NULL;             /* not compact */
            }

            p++;
        }
    }

    return NULL;
}


static void
ngx_http_consent_record_digits(char *out, int n, int width)
{
    while (width--) {
        out[width] = (char) ('0' + n % 10);
        n /= 10;
    }
}
