
/*
 * Copyright (C) nginx-consent developers
 */


#ifndef _NGX_HTTP_CONSENT_COOKIE_H_INCLUDED_
#define _NGX_HTTP_CONSENT_COOKIE_H_INCLUDED_


/*
 * The consent cookie codec: a pure core, free of nginx types, shared by the
 * module, the unit tests and the fuzzer.
 *
 * A cookie value reads
 *
 *     1.ID.IAT.REV.GRANTED.REFUSED.KID.MAC
 *
 *     1        format version
 *     ID       16 random bytes, base64url without padding (22 characters)
 *     IAT      issue time, decimal seconds since the epoch
 *     REV      consent_revision the reader answered, decimal
 *     GRANTED  category names granted, joined by "~" (may be empty)
 *     REFUSED  category names refused, joined by "~" (may be empty)
 *     KID      key id: 8 hex digits of SHA-256(key)
 *     MAC      HMAC-SHA256(key, everything before ".MAC"), first 16 bytes,
 *              base64url (22 characters)
 *
 * A choice made under consent_regime opt-out is written in format 2, with
 * the regime after REFUSED:
 *
 *     2.ID.IAT.REV.GRANTED.REFUSED.REGIME.KID.MAC
 *
 *     REGIME   "out" (opt-out), the only value
 *
 * A choice made under opt-in stays in format 1, which means opt-in: the
 * cookies of earlier versions keep their meaning, an earlier version still
 * reads the cookies of opt-in readers, and a value has one encoding.
 *
 * Every character is a cookie-octet (RFC 6265), so the value needs no
 * quoting or escaping.
 */


#include <stddef.h>
#include <stdint.h>

#include "ngx_http_consent_slice.h"


#define NGX_HTTP_CONSENT_VERSION         '1'
#define NGX_HTTP_CONSENT_VERSION_REGIME  '2'
#define NGX_HTTP_CONSENT_ID_LEN          16
#define NGX_HTTP_CONSENT_ID_B64_LEN      22
#define NGX_HTTP_CONSENT_KID_LEN         8
#define NGX_HTTP_CONSENT_MAC_LEN         16
#define NGX_HTTP_CONSENT_MAC_B64_LEN     22
#define NGX_HTTP_CONSENT_KEY_MIN         32
#define NGX_HTTP_CONSENT_NAME_MAX        32
#define NGX_HTTP_CONSENT_MAX_CATEGORIES  64
#define NGX_HTTP_CONSENT_COOKIE_MAX      2048


/* a cookie's state, as $consent_state names it */
#define NGX_HTTP_CONSENT_CHECK_NONE        0
#define NGX_HTTP_CONSENT_CHECK_VALID       1
#define NGX_HTTP_CONSENT_CHECK_OUTDATED    2
#define NGX_HTTP_CONSENT_CHECK_INVALID     3

/* a future issue time beyond this many seconds is not ours */
#define NGX_HTTP_CONSENT_CLOCK_SKEW        300


#define NGX_HTTP_CONSENT_COOKIE_OK         0
#define NGX_HTTP_CONSENT_COOKIE_MALFORMED  -1
#define NGX_HTTP_CONSENT_COOKIE_BAD_MAC    -2
#define NGX_HTTP_CONSENT_COOKIE_TOO_SMALL  -3


/*
 * HMAC-SHA256 with the key's inner and outer states computed once, at
 * configuration time: a verification then costs two short digests, two
 * struct copies and no allocation.
 */

typedef struct {
    void                          *inner;     /* SHA256_CTX *, key ^ ipad */
    void                          *outer;     /* SHA256_CTX *, key ^ opad */
} ngx_http_consent_hmac_t;


typedef struct {
    unsigned char                  id[NGX_HTTP_CONSENT_ID_LEN];
    int64_t                        iat;
    uint64_t                       revision;

    ngx_http_consent_slice_t       granted[NGX_HTTP_CONSENT_MAX_CATEGORIES];
    ngx_http_consent_slice_t       refused[NGX_HTTP_CONSENT_MAX_CATEGORIES];
    size_t                         ngranted;
    size_t                         nrefused;

    int                            opt_out;   /* chosen under opt-out */

    unsigned char                  kid[NGX_HTTP_CONSENT_KID_LEN];

    /* what the MAC covers, and the MAC itself, as found in the value */
    ngx_http_consent_slice_t       signed_part;
    unsigned char                  mac[NGX_HTTP_CONSENT_MAC_LEN];
} ngx_http_consent_cookie_t;


/* a signing key: its id and its HMAC state */
typedef struct {
    unsigned char                  kid[NGX_HTTP_CONSENT_KID_LEN];
    ngx_http_consent_hmac_t        hmac;
} ngx_http_consent_key_t;


/* what the configuration says a cookie must be, built once */
typedef struct {
    const ngx_http_consent_slice_t *names;     /* declared categories */
    size_t                          nnames;
    uint64_t                        required;  /* mask over names */
    uint64_t                        revision;
    int64_t                         max_age;
    const ngx_http_consent_key_t   *keys;      /* the first one signs */
    size_t                          nkeys;
} ngx_http_consent_policy_t;


/* what a cookie value means under a policy */
typedef struct {
    int                             state;     /* NGX_HTTP_CONSENT_CHECK_* */
    const char                     *reason;    /* why it is not valid */
    size_t                          key;       /* index of the key that
                                                  verified it */
    uint64_t                        granted;   /* required ones included */
    uint64_t                        refused;
    ngx_http_consent_cookie_t       cookie;
} ngx_http_consent_verdict_t;


int ngx_http_consent_cookie_check(const unsigned char *value, size_t len,
    const ngx_http_consent_policy_t *policy, int64_t now,
    ngx_http_consent_verdict_t *verdict);
int ngx_http_consent_hmac_init(ngx_http_consent_hmac_t *hmac,
    const unsigned char *key, size_t key_len);
void ngx_http_consent_hmac_free(ngx_http_consent_hmac_t *hmac);
int ngx_http_consent_cookie_parse(const unsigned char *value, size_t len,
    ngx_http_consent_cookie_t *cookie);
int ngx_http_consent_cookie_verify(const ngx_http_consent_cookie_t *cookie,
    ngx_http_consent_hmac_t *hmac);
long ngx_http_consent_cookie_encode(unsigned char *out, size_t size,
    const ngx_http_consent_cookie_t *cookie, ngx_http_consent_hmac_t *hmac);
void ngx_http_consent_cookie_kid(unsigned char *kid, const unsigned char *key,
    size_t key_len);
int ngx_http_consent_valid_name(const unsigned char *name, size_t len);
int ngx_http_consent_cookie_name_valid(const unsigned char *name,
    size_t len);

size_t ngx_http_consent_base64url_encode(unsigned char *dst,
    const unsigned char *src, size_t len);
int ngx_http_consent_base64url_decode(unsigned char *dst, size_t size,
    const unsigned char *src, size_t len);


#endif /* _NGX_HTTP_CONSENT_COOKIE_H_INCLUDED_ */
