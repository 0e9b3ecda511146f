
/*
 * Copyright (C) nginx-consent developers
 *
 * The scanner and gate under libFuzzer: no crash, the same output for any
 * cut of the input, and input with no gated element comes out unchanged.
 * The first byte chooses the grants and the buffer size.
 */


#define _GNU_SOURCE

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ngx_http_consent_gate.h"


typedef struct {
    unsigned char  *data;
    size_t          len;
    size_t          cap;
    void           *mem[32];   /* the gate's */
    size_t          nmem;
} fuzz_buf_t;


static const ngx_http_consent_slice_t  categories[] = {
    { (const unsigned char *) "necessary", 9 },
    { (const unsigned char *) "analytics", 9 },
    { (const unsigned char *) "marketing", 9 }
};

static const ngx_http_consent_gate_host_t  hosts[] = {
    { (const unsigned char *) "*.googletagmanager.com", 22, 1 },
    { (const unsigned char *) "connect.facebook.net", 20, 2 },
    { (const unsigned char *) "a.b", 3, 1 }
};

static const ngx_http_consent_gate_rules_t  rules = {
    hosts, 3, categories, 3
};


static int
out(void *data, ngx_http_consent_gate_out_e kind, const unsigned char *p,
    size_t len)
{
    fuzz_buf_t  *b = data;

    if (kind == NGX_HTTP_CONSENT_GATE_OUT_HEAD) {
        p = (const unsigned char *) "{H}";
        len = 3;

    } else if (kind == NGX_HTTP_CONSENT_GATE_OUT_BANNER) {
        p = (const unsigned char *) "{B}";
        len = 3;
    }

    if (b->len + len > b->cap) {
        b->cap = (b->len + len) * 2 + 16;
        b->data = realloc(b->data, b->cap);
        if (b->data == NULL) {
            abort();
        }
    }

    if (len) {
        memcpy(b->data + b->len, p, len);
    }

    b->len += len;

    return 0;
}


static void *
alloc(void *data, size_t size)
{
    fuzz_buf_t  *b = data;

    if (b->nmem == sizeof(b->mem) / sizeof(b->mem[0])) {
        abort();
    }

    b->mem[b->nmem] = malloc(size);
    if (b->mem[b->nmem] == NULL) {
        abort();
    }

    return b->mem[b->nmem++];
}


static void
run(const uint8_t *in, size_t len, size_t chunk, uint64_t granted,
    unsigned flags, size_t cap, fuzz_buf_t *b)
{
    size_t                    from, to;
    unsigned char            *piece;
    ngx_http_consent_gate_t   g;

    ngx_http_consent_gate_init(&g, &rules, granted, flags & 1, flags & 2,
                               cap, out, alloc, b);

    for (from = 0; ; from = to) {
        to = (chunk && from + chunk < len) ? from + chunk : len;

        piece = malloc(to - from + 1);
        memcpy(piece, in + from, to - from);

        if (ngx_http_consent_gate(&g, piece, to - from, to == len)
            != 0)
        {
            abort();
        }

        free(piece);

        if (to == len) {
            break;
        }
    }

    while (b->nmem) {
        free(b->mem[--b->nmem]);
    }
}


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


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t       chunk, cap;
    uint8_t      ctl;
    uint64_t     granted;
    unsigned     flags;
    fuzz_buf_t   whole, split;

    if (size < 1) {
        return 0;
    }

    ctl = data[0];
    data++;
    size--;

    granted = ctl & 7;
    flags = (ctl >> 3) & 3;
    chunk = 1 + ((ctl >> 5) * 3);
    cap = (ctl & 0x80) ? 64 : 4096;

    memset(&whole, 0, sizeof(fuzz_buf_t));
    memset(&split, 0, sizeof(fuzz_buf_t));

    if (watched(data, size, size + 1, 1) != watched(data, size, chunk, 0)) {
        abort();   /* the fast states disagree with the full ones */
    }

    run(data, size, 0, granted, flags, cap, &whole);
    run(data, size, chunk, granted, flags, cap, &split);

    if (whole.len != split.len
        || (whole.len && memcmp(whole.data, split.data, whole.len) != 0))
    {
        abort();   /* the output depends on where the input was cut */
    }

    /* nothing gated: unchanged (the insertions off) */

    if (flags == 0 && (cap > size || granted == 7)) {
        size_t  i, k;

        static const char  *marks[] = {
            "data-", "googletagmanager.com", "connect.facebook.net", "a.b",
            NULL
        };

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

        if (whole.len != size
            || (size && memcmp(whole.data, data, size) != 0))
        {
            abort();
        }
    }

done:

    free(whole.data);
    free(split.data);

    return 0;
}
