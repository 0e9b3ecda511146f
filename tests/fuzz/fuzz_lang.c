
/*
 * Copyright (C) nginx-consent developers
 *
 * Accept-Language: any bytes, never out of bounds, the answer in range.
 */


#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "ngx_http_consent_lang.h"


#define L(s)  { (const unsigned char *) s, sizeof(s) - 1 }


static const ngx_http_consent_slice_t  avail[] = {
    L("en"), L("fr"), L("fr-CA"), L("de"), L("pt-br"), L("zh-Hant-TW")
};


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int     r;
    size_t  n;

    for (n = 1; n <= sizeof(avail) / sizeof(avail[0]); n++) {
        r = ngx_http_consent_lang_pick(data, size, avail, n, 0);

        if (r < 0 || (size_t) r >= n) {
            abort();
        }

        r = ngx_http_consent_lang_pick(data, size, avail, n, -1);

        if (r < -1 || r >= (int) n) {
            abort();
        }
    }

    (void) ngx_http_consent_lang_valid(data, size);

    return 0;
}
