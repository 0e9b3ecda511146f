
/*
 * Copyright (C) nginx-consent developers
 *
 * The gate under libFuzzer, fast: no crash, nothing read out of bounds,
 * input that names no gated host comes out unchanged, and the hosts'
 * index answers as going through its list does.  The first
 * byte chooses the grants, the insertions, the placeholders and the
 * buffer size.  The same
 * output for any cut of the input is fuzz_html_split's.
 */


#include "fuzz_html.h"


/* hosts of every shape, gone through one by one and by their index */
static const ngx_http_consent_gate_host_t  hosts_many[] = {
    { (const unsigned char *) "*.googletagmanager.com", 22, 1 },
    { (const unsigned char *) "connect.facebook.net", 20, 2 },
    { (const unsigned char *) "a.b", 3, 1 },
    { (const unsigned char *) "*.a.b", 5, 2 },
    { (const unsigned char *) "*.b", 3, 0 },
    { (const unsigned char *) "x", 1, 2 },
    { (const unsigned char *) "*.x", 3, 1 },
    { (const unsigned char *) "www.example.com", 15, 1 },
    { (const unsigned char *) "example.com", 11, 2 },
    { (const unsigned char *) "*.example.com", 13, 2 },
    { (const unsigned char *) "c-d_e.f9", 8, 1 },
    { (const unsigned char *) "*..g", 4, 2 },
    { (const unsigned char *) "h.", 2, 1 }
};

#define FUZZ_NHOSTS_MANY  (sizeof(hosts_many) / sizeof(hosts_many[0]))

static const ngx_http_consent_gate_rules_t  rules_list = {
    hosts_many, FUZZ_NHOSTS_MANY, categories, 3, NULL
};


static void *
alloc_once(void *data, size_t size)
{
    (void) data;

    return malloc(size);
}


/* rules_list with the index, made once */

static const ngx_http_consent_gate_rules_t *
rules_index(void)
{
    static ngx_http_consent_gate_rules_t  r;

    if (r.index == NULL) {
        r = rules_list;
        r.index = ngx_http_consent_hosts_index(hosts_many, FUZZ_NHOSTS_MANY,
                                               alloc_once, NULL);
        if (r.index == NULL) {
            abort();
        }
    }

    return &r;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t       i, k, cap;
    uint8_t      ctl;
    uint64_t     granted;
    unsigned     flags;
    fuzz_buf_t   whole, list, index;

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

    /* the hosts' index answers as going through its list does */

    memset(&list, 0, sizeof(fuzz_buf_t));
    memset(&index, 0, sizeof(fuzz_buf_t));

    run_rules(&rules_list, data, size, 0, 0, granted, flags, cap, &list);
    run_rules(rules_index(), data, size, 0, 0, granted, flags, cap, &index);

    if (list.len != index.len
        || (list.len && memcmp(list.data, index.data, list.len) != 0)
        || memcmp(&list.removed, &index.removed, sizeof(list.removed)) != 0)
    {
        abort();
    }

    fuzz_free(&list);
    fuzz_free(&index);

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
