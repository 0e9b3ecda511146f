
/*
 * Copyright (C) nginx-consent developers
 */


#ifndef _NGX_HTTP_CONSENT_UI_DATA_H_INCLUDED_
#define _NGX_HTTP_CONSENT_UI_DATA_H_INCLUDED_


#include <stddef.h>


/* a file of ui/ built into the module by ui/embed.sh */
typedef struct {
    const char             *name;        /* "consent.css", "texts/en.json" */
    const unsigned char    *data;        /* followed by a NUL byte */
    size_t                  len;
    const char             *etag;        /* "\"crc-len\"", quotes included */
} ngx_http_consent_ui_file_t;


/* ends with a NULL name */
extern const ngx_http_consent_ui_file_t  ngx_http_consent_ui_files[];


/* the file of that name, or NULL (ngx_http_consent_assets.c) */
const ngx_http_consent_ui_file_t *ngx_http_consent_ui_find(
    const unsigned char *name, size_t len);


#endif /* _NGX_HTTP_CONSENT_UI_DATA_H_INCLUDED_ */
