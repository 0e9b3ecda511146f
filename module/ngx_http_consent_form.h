
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


/*
 * What a reader chose, and where they chose it: the one definition, used by
 * the parsers, the endpoint and the log (whose names index these values).
 * The *_NONE values exist only while a body is read: a parsed form never
 * holds them.
 */

typedef enum {
    NGX_HTTP_CONSENT_ACCEPT_ALL = 0,
    NGX_HTTP_CONSENT_REJECT_ALL,
    NGX_HTTP_CONSENT_SAVE,
    NGX_HTTP_CONSENT_WITHDRAW,
    NGX_HTTP_CONSENT_ACTION_NONE
} ngx_http_consent_action_e;


typedef enum {
    NGX_HTTP_CONSENT_SOURCE_BANNER = 0,
    NGX_HTTP_CONSENT_SOURCE_PAGE,
    NGX_HTTP_CONSENT_SOURCE_API,
    NGX_HTTP_CONSENT_SOURCE_NONE
} ngx_http_consent_source_e;


/* JSON nesting a consent body may use in members it ignores */
#define NGX_HTTP_CONSENT_JSON_DEPTH       32

#define NGX_HTTP_CONSENT_RETURN_MAX       2048


typedef struct {
    ngx_http_consent_action_e   action;
    ngx_http_consent_source_e   source;

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


/* "accept_all", ..., NULL and "banner", ..., NULL: by enum value */
extern const char *const  ngx_http_consent_action_names[];
extern const char *const  ngx_http_consent_source_names[];


int ngx_http_consent_form_parse(unsigned char *body, size_t len,
    ngx_http_consent_form_t *form);
int ngx_http_consent_json_parse(const unsigned char *body, size_t len,
    ngx_http_consent_form_t *form);
int ngx_http_consent_safe_return(const unsigned char *path, size_t len);


#endif /* _NGX_HTTP_CONSENT_FORM_H_INCLUDED_ */
