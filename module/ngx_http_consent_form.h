
/*
 * Copyright (C) nginx-consent developers
 */


#ifndef _NGX_HTTP_CONSENT_FORM_H_INCLUDED_
#define _NGX_HTTP_CONSENT_FORM_H_INCLUDED_


/*
 * The body of a consent POST, from an HTML form
 * (application/x-www-form-urlencoded) or from JSON: a pure core, free of
 * nginx types, shared by the module, the unit tests and the fuzzer.
 */


#include <stddef.h>

#include "ngx_http_consent_cookie.h"


#define NGX_HTTP_CONSENT_FORM_NONE        0
#define NGX_HTTP_CONSENT_FORM_ACCEPT_ALL  1
#define NGX_HTTP_CONSENT_FORM_REJECT_ALL  2
#define NGX_HTTP_CONSENT_FORM_SAVE        3
#define NGX_HTTP_CONSENT_FORM_WITHDRAW    4

#define NGX_HTTP_CONSENT_FORM_SOURCE_NONE    0
#define NGX_HTTP_CONSENT_FORM_SOURCE_BANNER  1
#define NGX_HTTP_CONSENT_FORM_SOURCE_PAGE    2
#define NGX_HTTP_CONSENT_FORM_SOURCE_API     3

#define NGX_HTTP_CONSENT_RETURN_MAX       2048


typedef struct {
    int                         action;
    int                         source;

    ngx_http_consent_slice_t    categories[NGX_HTTP_CONSENT_MAX_CATEGORIES];
    size_t                      ncategories;

    ngx_http_consent_slice_t    ret;          /* "return", may be empty */
    ngx_http_consent_slice_t    lang;         /* "lang", may be empty */

    const char                 *error;        /* one line, for a 400 */

    /* decoded names and "return" from JSON live here */
    unsigned char               buf[NGX_HTTP_CONSENT_RETURN_MAX
                                    + NGX_HTTP_CONSENT_MAX_CATEGORIES
                                      * NGX_HTTP_CONSENT_NAME_MAX];
} ngx_http_consent_form_t;


int ngx_http_consent_form_parse(unsigned char *body, size_t len,
    ngx_http_consent_form_t *form);
int ngx_http_consent_json_parse(const unsigned char *body, size_t len,
    ngx_http_consent_form_t *form);
int ngx_http_consent_safe_return(const unsigned char *path, size_t len);


#endif /* _NGX_HTTP_CONSENT_FORM_H_INCLUDED_ */
