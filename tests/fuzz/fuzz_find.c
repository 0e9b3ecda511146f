
/*
 * Copyright (C) nginx-consent developers
 *
 * The scanner's SIMD search for a byte against memchr(): from every start
 * and to every end near the input's, on a copy of exactly the bytes
 * between, so that ASan sees a read past the end.  The first byte of the
 * input is the one searched for, then the bytes the scanner searches for.
 */


#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_http_consent_html.h"


/* the starts and the ends tried: all of them up to this many from each end */
#define FUZZ_FIND_EDGE  48


static void
check(const uint8_t *data, size_t from, size_t to, unsigned char ch)
{
    unsigned char        *copy;
    const unsigned char  *got, *want;

    copy = malloc(to - from + 1);
    if (copy == NULL) {
        abort();
    }

    memcpy(copy, data + from, to - from);

    got = ngx_http_consent_html_find(copy, copy + (to - from), ch);
    want = memchr(copy, ch, to - from);

    if (got != want) {
        abort();
    }

    free(copy);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t                from, to, i;
    static unsigned char  chars[] = { 0, '<', '"', '\'' };

    if (size == 0) {
        return 0;
    }

    chars[0] = data[0];
    data++;
    size--;

    for (i = 0; i < sizeof(chars); i++) {
        for (from = 0; from <= size && from < FUZZ_FIND_EDGE; from++) {
            for (to = size; to >= from && size - to < FUZZ_FIND_EDGE; to--) {
                check(data, from, to, chars[i]);

                if (to == 0) {
                    break;
                }
            }
        }
    }

    return 0;
}
