
/*
 * Copyright (C) nginx-consent developers
 */


/*
 * The HMAC keeps its inner and outer SHA-256 states and copies them per
 * cookie: OpenSSL 3's EVP interface allocates on every context copy and
 * costs several times more on this path, which runs on every request.
 * The SHA256_* functions are deprecated in OpenSSL 3.0 but not removed.
 */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "ngx_http_consent_cookie.h"


#define NGX_HTTP_CONSENT_FIELDS  9     /* at most, in format 2 */


static const unsigned char *ngx_http_consent_parse_number(
    const unsigned char *p, const unsigned char *last, uint64_t *n);
static int ngx_http_consent_parse_names(const unsigned char *p,
    const unsigned char *last, ngx_http_consent_slice_t *names, size_t *n);
static unsigned char *ngx_http_consent_put_names(unsigned char *p,
    unsigned char *last, const ngx_http_consent_slice_t *names, size_t n);
static unsigned char *ngx_http_consent_put_number(unsigned char *p,
    unsigned char *last, uint64_t n);
static int ngx_http_consent_mac(unsigned char *mac,
    ngx_http_consent_hmac_t *hmac, const unsigned char *data, size_t len);


static const char  ngx_http_consent_b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static const char  ngx_http_consent_hex[] = "0123456789abcdef";


/* base64url digit values; 0xff: not a digit (NUL and '=' included) */

static const unsigned char  ngx_http_consent_b64url_value[256] = {
    ['A'] = 0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12,
           13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25,
    ['a'] = 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38,
           39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51,
    ['0'] = 52, 53, 54, 55, 56, 57, 58, 59, 60, 61,
    ['-'] = 62,
    ['_'] = 63
};


/* which bytes are base64url digits: the table above cannot say for 'A' */

static const unsigned char  ngx_http_consent_b64url_is[256] = {
    ['A'] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
            1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    ['a'] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
            1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    ['0'] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    ['-'] = 1,
    ['_'] = 1
};


/*
 * A cookie's state under the configuration: invalid when it does not parse,
 * names an unknown key, fails its MAC or was issued in the future; outdated
 * when its revision is another, it is older than max_age, or a declared
 * category was never decided; valid otherwise. Names no longer declared are
 * ignored, and a required category is always granted.
 */

int
ngx_http_consent_cookie_check(const unsigned char *value, size_t len,
    const ngx_http_consent_policy_t *policy, int64_t now,
    ngx_http_consent_verdict_t *verdict)
{
    size_t                           i, j, k;
    uint64_t                         bit, all;
    ngx_http_consent_cookie_t       *c;
    const ngx_http_consent_slice_t  *list, *n;

    memset(verdict, 0, offsetof(ngx_http_consent_verdict_t, cookie));

    c = &verdict->cookie;
    verdict->state = NGX_HTTP_CONSENT_CHECK_INVALID;
    verdict->granted = policy->required;

    if (ngx_http_consent_cookie_parse(value, len, c)
        != NGX_HTTP_CONSENT_COOKIE_OK)
    {
        verdict->reason = "is malformed";
        return verdict->state;
    }

    for (k = 0; k < policy->nkeys; k++) {
        if (memcmp(policy->keys[k].kid, c->kid, NGX_HTTP_CONSENT_KID_LEN)
            == 0)
        {
            break;
        }
    }

    if (k == policy->nkeys) {
        verdict->reason = "is signed by an unknown key";
        return verdict->state;
    }

    if (ngx_http_consent_cookie_verify(c, (ngx_http_consent_hmac_t *)
                                          &policy->keys[k].hmac)
        != NGX_HTTP_CONSENT_COOKIE_OK)
    {
        verdict->reason = "has a bad signature";
        return verdict->state;
    }

    if (c->iat > now + NGX_HTTP_CONSENT_CLOCK_SKEW) {
        verdict->reason = "was issued in the future";
        return verdict->state;
    }

    verdict->key = k;

    /* a name decided both ways counts as refused */

    for (j = 0; j < 2; j++) {
        list = j ? c->refused : c->granted;

        for (i = 0; i < (j ? c->nrefused : c->ngranted); i++) {
            for (k = 0; k < policy->nnames; k++) {
                n = &policy->names[k];

                if (n->len == list[i].len
                    && memcmp(n->data, list[i].data, n->len) == 0)
                {
                    bit = (uint64_t) 1 << k;

                    if (j) {
                        verdict->refused |= bit;

                    } else {
                        verdict->granted |= bit;
                    }

                    break;
                }
            }
        }
    }

    verdict->granted &= ~verdict->refused;
    verdict->granted |= policy->required;
    verdict->refused &= ~policy->required;

    all = policy->nnames == 64 ? ~(uint64_t) 0
                               : ((uint64_t) 1 << policy->nnames) - 1;

    if (c->revision != policy->revision) {
        verdict->reason = "is of another revision";
        verdict->state = NGX_HTTP_CONSENT_CHECK_OUTDATED;

    } else if (now - c->iat > policy->max_age) {
        verdict->reason = "is older than max_age";
        verdict->state = NGX_HTTP_CONSENT_CHECK_OUTDATED;

    } else if (((verdict->granted | verdict->refused) & all) != all) {
        verdict->reason = "does not decide every category";
        verdict->state = NGX_HTTP_CONSENT_CHECK_OUTDATED;

    } else {
        verdict->state = NGX_HTTP_CONSENT_CHECK_VALID;
    }

    return verdict->state;
}


int
ngx_http_consent_hmac_init(ngx_http_consent_hmac_t *hmac,
    const unsigned char *key, size_t key_len)
{
    size_t         i;
    SHA256_CTX    *inner, *outer;
    unsigned char  block[SHA256_CBLOCK], pad[SHA256_CBLOCK];

    memset(block, 0, sizeof(block));

    /* RFC 2104: a key longer than a block is hashed first */

    if (key_len > SHA256_CBLOCK) {
        SHA256(key, key_len, block);

    } else {
        memcpy(block, key, key_len);
    }

    inner = malloc(sizeof(SHA256_CTX));
    outer = malloc(sizeof(SHA256_CTX));

    hmac->inner = inner;
    hmac->outer = outer;

    if (inner == NULL || outer == NULL) {
        ngx_http_consent_hmac_free(hmac);
        return -1;
    }

    for (i = 0; i < SHA256_CBLOCK; i++) {
        pad[i] = block[i] ^ 0x36;
    }

    SHA256_Init(inner);
    SHA256_Update(inner, pad, SHA256_CBLOCK);

    for (i = 0; i < SHA256_CBLOCK; i++) {
        pad[i] = block[i] ^ 0x5c;
    }

    SHA256_Init(outer);
    SHA256_Update(outer, pad, SHA256_CBLOCK);

    OPENSSL_cleanse(block, sizeof(block));
    OPENSSL_cleanse(pad, sizeof(pad));

    return 0;
}


void
ngx_http_consent_hmac_free(ngx_http_consent_hmac_t *hmac)
{
    if (hmac->inner != NULL) {
        OPENSSL_cleanse(hmac->inner, sizeof(SHA256_CTX));
        free(hmac->inner);
    }

    if (hmac->outer != NULL) {
        OPENSSL_cleanse(hmac->outer, sizeof(SHA256_CTX));
        free(hmac->outer);
    }

    hmac->inner = NULL;
    hmac->outer = NULL;
}


int
ngx_http_consent_cookie_parse(const unsigned char *value, size_t len,
    ngx_http_consent_cookie_t *cookie)
{
    size_t                n, k, fields, rlen;
    uint64_t              iat;
    const unsigned char  *p, *last, *field[NGX_HTTP_CONSENT_FIELDS + 1];

    if (len < 2 || len > NGX_HTTP_CONSENT_COOKIE_MAX || value[1] != '.') {
        return NGX_HTTP_CONSENT_COOKIE_MALFORMED;
    }

    /* format 2 has the regime after the refused names; k: the fields after */

    if (value[0] == NGX_HTTP_CONSENT_VERSION) {
        fields = NGX_HTTP_CONSENT_FIELDS - 1;
        k = 6;

    } else if (value[0] == NGX_HTTP_CONSENT_VERSION_REGIME) {
        fields = NGX_HTTP_CONSENT_FIELDS;
        k = 7;

    } else {
        return NGX_HTTP_CONSENT_COOKIE_MALFORMED;
    }

    /* every field is set below: the 2 KB of name slots are not cleared */

    /* field[i] is the start of field i, field[fields] is one past the end */

    last = value + len;
    n = 0;
    field[n++] = value;

    for (p = value; p < last; p++) {
        if (*p == '.') {
            if (n == fields) {
                return NGX_HTTP_CONSENT_COOKIE_MALFORMED;
            }

            field[n++] = p + 1;
        }
    }

    if (n != fields) {
        return NGX_HTTP_CONSENT_COOKIE_MALFORMED;
    }

    field[n] = last + 1;

    /* 1: id */

    if (field[2] - field[1] - 1 != NGX_HTTP_CONSENT_ID_B64_LEN
        || ngx_http_consent_base64url_decode(cookie->id,
                                             NGX_HTTP_CONSENT_ID_LEN,
                                             field[1],
                                             NGX_HTTP_CONSENT_ID_B64_LEN)
           != NGX_HTTP_CONSENT_ID_LEN)
    {
        return NGX_HTTP_CONSENT_COOKIE_MALFORMED;
    }

    /* 2: issue time, 3: revision */

    if (ngx_http_consent_parse_number(field[2], field[3] - 1, &iat) == NULL
        || iat > INT64_MAX
        || ngx_http_consent_parse_number(field[3], field[4] - 1,
                                         &cookie->revision) == NULL)
    {
        return NGX_HTTP_CONSENT_COOKIE_MALFORMED;
    }

    cookie->iat = (int64_t) iat;

    /* 4: granted, 5: refused */

    if (ngx_http_consent_parse_names(field[4], field[5] - 1, cookie->granted,
                                     &cookie->ngranted) != 0
        || ngx_http_consent_parse_names(field[5], field[6] - 1,
                                        cookie->refused, &cookie->nrefused)
           != 0)
    {
        return NGX_HTTP_CONSENT_COOKIE_MALFORMED;
    }

    /*
     * 6, in format 2: the regime, "out"; opt-in is format 1, so that a
     * value has one encoding
     */

    cookie->opt_out = (k == 7);

    if (k == 7) {
        rlen = field[7] - field[6] - 1;

        if (rlen != 3 || memcmp(field[6], "out", 3) != 0) {
            return NGX_HTTP_CONSENT_COOKIE_MALFORMED;
        }
    }

    /* k: key id */

    if (field[k + 1] - field[k] - 1 != NGX_HTTP_CONSENT_KID_LEN) {
        return NGX_HTTP_CONSENT_COOKIE_MALFORMED;
    }

    for (p = field[k]; p < field[k + 1] - 1; p++) {
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))) {
            return NGX_HTTP_CONSENT_COOKIE_MALFORMED;
        }
    }

    memcpy(cookie->kid, field[k], NGX_HTTP_CONSENT_KID_LEN);

    /* k + 1: mac */

    if (last - field[k + 1] != NGX_HTTP_CONSENT_MAC_B64_LEN
        || ngx_http_consent_base64url_decode(cookie->mac,
                                             NGX_HTTP_CONSENT_MAC_LEN,
                                             field[k + 1],
                                             NGX_HTTP_CONSENT_MAC_B64_LEN)
           != NGX_HTTP_CONSENT_MAC_LEN)
    {
        return NGX_HTTP_CONSENT_COOKIE_MALFORMED;
    }

    cookie->signed_part.data = value;
    cookie->signed_part.len = field[k + 1] - 1 - value;

    return NGX_HTTP_CONSENT_COOKIE_OK;
}


int
ngx_http_consent_cookie_verify(const ngx_http_consent_cookie_t *cookie,
    ngx_http_consent_hmac_t *hmac)
{
    unsigned char  mac[SHA256_DIGEST_LENGTH];

    if (ngx_http_consent_mac(mac, hmac, cookie->signed_part.data,
                             cookie->signed_part.len)
        != 0
        || CRYPTO_memcmp(mac, cookie->mac, NGX_HTTP_CONSENT_MAC_LEN) != 0)
    {
        return NGX_HTTP_CONSENT_COOKIE_BAD_MAC;
    }

    return NGX_HTTP_CONSENT_COOKIE_OK;
}


long
ngx_http_consent_cookie_encode(unsigned char *out, size_t size,
    const ngx_http_consent_cookie_t *cookie, ngx_http_consent_hmac_t *hmac)
{
    unsigned char  *p, *last;
    unsigned char   mac[SHA256_DIGEST_LENGTH];

    if (cookie->iat < 0) {
        return NGX_HTTP_CONSENT_COOKIE_MALFORMED;
    }

    p = out;
    last = out + size;

    if (last - p < 2 + NGX_HTTP_CONSENT_ID_B64_LEN + 1) {
        return NGX_HTTP_CONSENT_COOKIE_TOO_SMALL;
    }

    *p++ = cookie->opt_out ? NGX_HTTP_CONSENT_VERSION_REGIME
                           : NGX_HTTP_CONSENT_VERSION;
    *p++ = '.';
    p += ngx_http_consent_base64url_encode(p, cookie->id,
                                           NGX_HTTP_CONSENT_ID_LEN);
    *p++ = '.';

    p = ngx_http_consent_put_number(p, last, (uint64_t) cookie->iat);
    p = ngx_http_consent_put_number(p, last, cookie->revision);
    p = ngx_http_consent_put_names(p, last, cookie->granted,
                                   cookie->ngranted);
    p = ngx_http_consent_put_names(p, last, cookie->refused,
                                   cookie->nrefused);

    if (p != NULL && cookie->opt_out) {
        if ((size_t) (last - p) < sizeof("out.") - 1) {
            return NGX_HTTP_CONSENT_COOKIE_TOO_SMALL;
        }

        memcpy(p, "out.", sizeof("out.") - 1);
        p += sizeof("out.") - 1;
    }

    if (p == NULL || (size_t) (last - p) < NGX_HTTP_CONSENT_KID_LEN + 1
                                            + NGX_HTTP_CONSENT_MAC_B64_LEN)
    {
        return NGX_HTTP_CONSENT_COOKIE_TOO_SMALL;
    }

    memcpy(p, cookie->kid, NGX_HTTP_CONSENT_KID_LEN);
    p += NGX_HTTP_CONSENT_KID_LEN;

    if (ngx_http_consent_mac(mac, hmac, out, p - out) != 0) {
        return NGX_HTTP_CONSENT_COOKIE_BAD_MAC;
    }

    *p++ = '.';
    p += ngx_http_consent_base64url_encode(p, mac, NGX_HTTP_CONSENT_MAC_LEN);

    return p - out;
}


void
ngx_http_consent_cookie_kid(unsigned char *kid, const unsigned char *key,
    size_t key_len)
{
    size_t         i;
    unsigned char  md[SHA256_DIGEST_LENGTH];

    SHA256(key, key_len, md);

    for (i = 0; i < NGX_HTTP_CONSENT_KID_LEN / 2; i++) {
        kid[2 * i] = ngx_http_consent_hex[md[i] >> 4];
        kid[2 * i + 1] = ngx_http_consent_hex[md[i] & 0xf];
    }
}


int
ngx_http_consent_valid_name(const unsigned char *name, size_t len)
{
    size_t  i;

    if (len == 0 || len > NGX_HTTP_CONSENT_NAME_MAX
        || name[0] < 'a' || name[0] > 'z')
    {
        return 0;
    }

    for (i = 1; i < len; i++) {
        if (!((name[i] >= 'a' && name[i] <= 'z')
              || (name[i] >= '0' && name[i] <= '9')
              || name[i] == '_'))
        {
            return 0;
        }
    }

    return 1;
}


/*
 * A cookie name as RFC 6265 allows it (an HTTP token): what the
 * configuration may name, for the consent cookie and for the patterns of
 * consent_strip_cookie, where "*" (a token character) matches any run.
 */

int
ngx_http_consent_cookie_name_valid(const unsigned char *name, size_t len)
{
    size_t  i;

    if (len == 0) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (name[i] <= ' ' || name[i] >= 127
            || strchr("()<>@,;:\\\"/[]?={}", name[i]) != NULL)
        {
            return 0;
        }
    }

    return 1;
}


size_t
ngx_http_consent_base64url_encode(unsigned char *dst, const unsigned char *src,
    size_t len)
{
    unsigned char  *d;

    d = dst;

    while (len > 2) {
        *d++ = ngx_http_consent_b64url[(src[0] >> 2) & 0x3f];
        *d++ = ngx_http_consent_b64url[((src[0] & 3) << 4) | (src[1] >> 4)];
        *d++ = ngx_http_consent_b64url[((src[1] & 0x0f) << 2) | (src[2] >> 6)];
        *d++ = ngx_http_consent_b64url[src[2] & 0x3f];

        src += 3;
        len -= 3;
    }

    if (len) {
        *d++ = ngx_http_consent_b64url[(src[0] >> 2) & 0x3f];

        if (len == 1) {
            *d++ = ngx_http_consent_b64url[(src[0] & 3) << 4];

        } else {
            *d++ = ngx_http_consent_b64url[((src[0] & 3) << 4)
                                           | (src[1] >> 4)];
            *d++ = ngx_http_consent_b64url[(src[1] & 0x0f) << 2];
        }
    }

    return d - dst;
}


int
ngx_http_consent_base64url_decode(unsigned char *dst, size_t size,
    const unsigned char *src, size_t len)
{
    size_t          i, n, bits;
    unsigned char   v[4];

    if (len % 4 == 1 || (len / 4) * 3 + (len % 4 ? len % 4 - 1 : 0) > size) {
        return -1;
    }

    n = 0;

    for (i = 0; i < len; i += 4) {
        for (bits = 0; bits < 4 && i + bits < len; bits++) {
            if (!ngx_http_consent_b64url_is[src[i + bits]]) {
                return -1;
            }

            v[bits] = ngx_http_consent_b64url_value[src[i + bits]];
        }

        dst[n++] = (unsigned char) (v[0] << 2 | v[1] >> 4);

        if (bits > 2) {
            dst[n++] = (unsigned char) (v[1] << 4 | v[2] >> 2);
        }

        if (bits > 3) {
            dst[n++] = (unsigned char) (v[2] << 6 | v[3]);
        }

        /* unused low bits must be zero: one value, one encoding */

        if ((bits == 2 && (v[1] & 0x0f)) || (bits == 3 && (v[2] & 0x03))) {
            return -1;
        }
    }

    return (int) n;
}


static const unsigned char *
ngx_http_consent_parse_number(const unsigned char *p,
    const unsigned char *last, uint64_t *n)
{
    uint64_t  v;

    /* 1 to 19 digits, no leading zero but for "0" itself */

    if (p == last || last - p > 19 || (*p == '0' && last - p > 1)) {
        return NULL;
    }

    v = 0;

    for ( /* void */ ; p < last; p++) {
        if (*p < '0' || *p > '9') {
            return NULL;
        }

        v = v * 10 + (*p - '0');
    }

    *n = v;

    return p;
}


static int
ngx_http_consent_parse_names(const unsigned char *p, const unsigned char *last,
    ngx_http_consent_slice_t *names, size_t *n)
{
    const unsigned char  *start;

    *n = 0;

    if (p == last) {
        return 0;
    }

    for ( ;; ) {
        start = p;

        while (p < last && *p != '~') {
            p++;
        }

        if (!ngx_http_consent_valid_name(start, p - start)
            || *n == NGX_HTTP_CONSENT_MAX_CATEGORIES)
        {
            return -1;
        }

        names[*n].data = start;
        names[*n].len = p - start;
        (*n)++;

        if (p == last) {
            return 0;
        }

        p++;
    }
}


static unsigned char *
ngx_http_consent_put_names(unsigned char *p, unsigned char *last,
    const ngx_http_consent_slice_t *names, size_t n)
{
    size_t  i;

    if (p == NULL) {
        return NULL;
    }

    for (i = 0; i < n; i++) {
        if ((size_t) (last - p) < names[i].len + 1
            || !ngx_http_consent_valid_name(names[i].data, names[i].len))
        {
            return NULL;
        }

        if (i) {
            *p++ = '~';
        }

        memcpy(p, names[i].data, names[i].len);
        p += names[i].len;
    }

    if (p == last) {
        return NULL;
    }

    *p++ = '.';

    return p;
}


static unsigned char *
ngx_http_consent_put_number(unsigned char *p, unsigned char *last, uint64_t n)
{
    size_t         len;
    unsigned char  buf[20];

    if (p == NULL) {
        return NULL;
    }

    len = 0;

    do {
        buf[sizeof(buf) - ++len] = (unsigned char) ('0' + n % 10);
        n /= 10;
    } while (n);

    if ((size_t) (last - p) < len + 1) {
        return NULL;
    }

    memcpy(p, buf + sizeof(buf) - len, len);
    p += len;
    *p++ = '.';

    return p;
}


static int
ngx_http_consent_mac(unsigned char *mac, ngx_http_consent_hmac_t *hmac,
    const unsigned char *data, size_t len)
{
    SHA256_CTX     ctx;
    unsigned char  md[SHA256_DIGEST_LENGTH];

    if (hmac->inner == NULL) {
        return -1;
    }

    ctx = *(SHA256_CTX *) hmac->inner;
    SHA256_Update(&ctx, data, len);
    SHA256_Final(md, &ctx);

    ctx = *(SHA256_CTX *) hmac->outer;
    SHA256_Update(&ctx, md, sizeof(md));
    SHA256_Final(mac, &ctx);

    OPENSSL_cleanse(&ctx, sizeof(ctx));

    return 0;
}
