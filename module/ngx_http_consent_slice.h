
/*
 * Copyright (C) nginx-consent developers
 */


#ifndef _NGX_HTTP_CONSENT_SLICE_H_INCLUDED_
#define _NGX_HTTP_CONSENT_SLICE_H_INCLUDED_


#include <stddef.h>


/*
 * A run of bytes the pure cores (cookie, form, html, lang, record) read
 * without owning it: nginx's ngx_str_t without the nginx headers, so that
 * the cores build into the unit tests, the fuzzers and consent-audit.
 */

typedef struct {
    const unsigned char           *data;
    size_t                         len;
} ngx_http_consent_slice_t;


#endif /* _NGX_HTTP_CONSENT_SLICE_H_INCLUDED_ */
