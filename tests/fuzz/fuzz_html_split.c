
/*
 * Copyright (C) nginx-consent developers
 *
 * Split invariance under libFuzzer: the gate's output, and what it counts
 * as removed ($consent_removed), are the same whole, cut in two anywhere,
 * and in small pieces (1-byte pieces for short input); the scanner's fast
 * path finds the watched tags where the full states do.  The first byte
 * chooses the grants, the insertions, the buffer size and the piece size,
 * the next two the cut.
 */


#include "fuzz_html.h"


/*
 * A digest of where watched tags start and end, scanning with every tag
 * parsed in full (trace) or with the fast states for tags not kept.
 */

static uint64_t
watched(const uint8_t *in, size_t len, size_t chunk, int trace)
{
    size_t                    from, to;
    uint64_t                  h;
    unsigned                  bits;
    const unsigned char      *p, *last;
    ngx_http_consent_html_t   s;

    bits = NGX_HTTP_CONSENT_HTML_BIT(NGX_HTTP_CONSENT_HTML_SCRIPT)
           | NGX_HTTP_CONSENT_HTML_BIT(NGX_HTTP_CONSENT_HTML_IFRAME)
           | NGX_HTTP_CONSENT_HTML_BIT(NGX_HTTP_CONSENT_HTML_IMG)
           | NGX_HTTP_CONSENT_HTML_BIT(NGX_HTTP_CONSENT_HTML_LINK);

    ngx_http_consent_html_init(&s);
    s.trace = trace ? 1 : 0;
    s.watch_start = bits;
    s.watch_end = bits;

    h = 1469598103934665603ULL;

    for (from = 0; ; from = to) {
        to = (from + chunk < len) ? from + chunk : len;
        p = in + from;
        last = in + to;

        while (p < last) {
            p = ngx_http_consent_html_scan(&s, p, last);

            if ((s.event == NGX_HTTP_CONSENT_HTML_EV_START_TAG
                 || s.event == NGX_HTTP_CONSENT_HTML_EV_END_TAG)
                && (bits & NGX_HTTP_CONSENT_HTML_BIT(s.tag.element))
                && s.tag.element != NGX_HTTP_CONSENT_HTML_OTHER)
            {
                h = (h ^ (s.tag.start * 31 + s.tag.end * 7 + s.event
                          + s.tag.element * 1000003)) * 1099511628211ULL;
            }
        }

        if (to == len) {
            break;
        }
    }

    return h;
}


static int
same(fuzz_buf_t *a, fuzz_buf_t *b)
{
    return a->len == b->len
           && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0)
           && memcmp(&a->removed, &b->removed,
                     sizeof(ngx_http_consent_gate_removed_t)) == 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t       chunk, cap, cut;
    uint8_t      ctl;
    uint64_t     granted;
    unsigned     flags;
    fuzz_buf_t   whole, two, pieces;

    if (size < 3) {
        return 0;
    }

    ctl = data[0];
    cut = (size_t) data[1] | ((size_t) data[2] << 8);
    data += 3;
    size -= 3;

    granted = ctl & 7;
    flags = ((ctl >> 3) & 3) | ((cut >> 13) & 4);    /* placeholders */
    chunk = (size <= 1024) ? 1 + ((ctl >> 5) & 3) * 7 : 61;
    cap = (ctl & 0x80) ? 64 : 4096;
    cut = size ? cut % size : 0;

    if (watched(data, size, size + 1, 1) != watched(data, size, chunk, 0)) {
        abort();   /* the fast path disagrees with the full states */
    }

    memset(&whole, 0, sizeof(fuzz_buf_t));
    memset(&two, 0, sizeof(fuzz_buf_t));
    memset(&pieces, 0, sizeof(fuzz_buf_t));

    run(data, size, 0, 0, granted, flags, cap, &whole);
    run(data, size, cut, 0, granted, flags, cap, &two);
    run(data, size, 0, chunk, granted, flags, cap, &pieces);

    if (!same(&whole, &two) || !same(&whole, &pieces)) {
        abort();   /* the output or the counts depend on the cut */
    }

    fuzz_free(&whole);
    fuzz_free(&two);
    fuzz_free(&pieces);

    return 0;
}
