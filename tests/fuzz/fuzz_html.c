
/*
 * Copyright (C) nginx-consent developers
 *
 * The gate under libFuzzer, fast: no crash, nothing read out of bounds,
 * and input that names no gated host comes out unchanged.  The first
 * byte chooses the grants, the insertions, the placeholders and the
 * buffer size.  The same
 * output for any cut of the input is fuzz_html_split's.
 */


#include "fuzz_html.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t       i, k, cap;
    uint8_t      ctl;
    uint64_t     granted;
    unsigned     flags;
    fuzz_buf_t   whole;

    /* and SVG or MathML: their script and style go while anything is
       refused */
    static const char  *marks[] = {
        "data-", "googletagmanager.com", "connect.facebook.net", "a.b",
        "<svg", "<math", NULL
    };

    if (size < 1) {
        return 0;
    }

    ctl = data[0];
    data++;
    size--;

    granted = ctl & 7;
    /* the snippet, the banner, placeholders, a link at </body> instead */
    flags = ((ctl >> 3) & 3) | ((ctl >> 3) & 4) | ((ctl >> 3) & 8);
    cap = (ctl & 0x80) ? 64 : 4096;

    memset(&whole, 0, sizeof(fuzz_buf_t));

    run(data, size, 0, 0, granted, flags, cap, &whole);

    /*
     * nothing gated: unchanged (the insertions off); the input is searched
     * for what it gates only when it changed, which is rare and costly
     */

    if (flags != 0 || !(cap > size || granted == 7)
        || (whole.len == size
            && (size == 0 || memcmp(whole.data, data, size) == 0)))
    {
        goto done;
    }

    for (i = 0; i < size; i++) {
        /* what may spell a host, or one that cannot be read: gated */
        if (data[i] >= 0x80
            || (data[i] && strchr("\t\n\r%&\\", data[i]) != NULL))
        {
            goto done;
        }

        for (k = 0; marks[k]; k++) {
            if (size - i >= strlen(marks[k])
                && strncasecmp((const char *) data + i, marks[k],
                               strlen(marks[k])) == 0)
            {
                goto done;
            }
        }
    }

    abort();   /* changed, though it names nothing gated */

done:

    fuzz_free(&whole);

    return 0;
}
