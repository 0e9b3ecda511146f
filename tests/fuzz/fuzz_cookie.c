
/*
 * Copyright (C) nginx-consent developers
 */


#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_http_consent_cookie.h"


static const unsigned char     key[] = "0123456789abcdef0123456789abcdef";
static ngx_http_consent_hmac_t  hmac;


/*
 * Any input: parsing never crashes nor reads out of bounds; what parses
 * encodes again to the same bytes but for the MAC, and an input that
 * verifies re-encodes to itself exactly.
 */

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    long                       n;
    unsigned char             *copy, out[NGX_HTTP_CONSENT_COOKIE_MAX + 64];
    ngx_http_consent_cookie_t  c;

    if (hmac.inner == NULL && ngx_http_consent_hmac_init(&hmac, key, 32) != 0)
    {
        abort();
    }

    copy = malloc(size ? size : 1);
    if (copy == NULL) {
        return 0;
    }

    memcpy(copy, data, size);

    if (ngx_http_consent_cookie_parse(copy, size, &c)
        == NGX_HTTP_CONSENT_COOKIE_OK)
    {
        n = ngx_http_consent_cookie_encode(out, sizeof(out), &c, &hmac);

        if (n < 0 || (size_t) n != size
            || memcmp(out, copy, c.signed_part.len) != 0)
        {
            abort();
        }

        if (ngx_http_consent_cookie_verify(&c, &hmac)
            == NGX_HTTP_CONSENT_COOKIE_OK && memcmp(out, copy, size) != 0)
        {
            abort();
        }
    }

    /* the whole check, with a policy that declares two categories */

    {
        ngx_http_consent_key_t      k;
        ngx_http_consent_policy_t   p;
        ngx_http_consent_verdict_t  v;

        static const ngx_http_consent_slice_t  names[] = {
            { (const unsigned char *) "necessary", 9 },
            { (const unsigned char *) "analytics", 9 },
        };

        memset(&p, 0, sizeof(p));
        ngx_http_consent_cookie_kid(k.kid, key, 32);
        k.hmac = hmac;

        p.names = names;
        p.nnames = 2;
        p.required = 1;
        p.revision = 1;
        p.max_age = 180 * 86400;
        p.keys = &k;
        p.nkeys = 1;

        (void) ngx_http_consent_cookie_check(copy, size, &p, 1790000000, &v);

        if ((v.granted & 1) == 0 || (v.granted & v.refused) != 0) {
            abort();
        }
    }

    free(copy);

    return 0;
}
