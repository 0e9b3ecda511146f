
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

    free(copy);

    return 0;
}
