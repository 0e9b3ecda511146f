
/*
 * Copyright (C) nginx-consent developers
 */


#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ngx_http_consent_form.h"


/*
 * A consent POST body, as a form and as JSON: no crash, no read past the
 * input, and whatever is accepted is well formed: a known action, valid
 * category names, and a "return" that is a path of this site.
 *
 * The JSON reader is also held against jansson, which the module used
 * before: the same bodies are JSON for both (save the limits each states)
 * and the same action is read.
 */

static void
check(ngx_http_consent_form_t *form)
{
    size_t  i;

    if ((unsigned) form->action > NGX_HTTP_CONSENT_WITHDRAW
        || (unsigned) form->source > NGX_HTTP_CONSENT_SOURCE_API)
    {
        abort();
    }

    for (i = 0; i < form->ncategories; i++) {
        if (!ngx_http_consent_valid_name(form->categories[i].data,
                                         form->categories[i].len))
        {
            abort();
        }
    }

    if (form->ret.len
        && !ngx_http_consent_safe_return(form->ret.data, form->ret.len))
    {
        abort();
    }
}


static void
against_jansson(const uint8_t *data, size_t size, int rc,
    ngx_http_consent_form_t *form)
{
    int            valid;
    json_t        *root, *v;
    json_error_t   err;

    root = json_loadb((const char *) data, size, JSON_DECODE_ANY, &err);
    valid = (root != NULL);

    if (rc == 0 && !valid
        && strstr(err.text, "too big") == NULL
        && strstr(err.text, "overflow") == NULL)
    {
        abort();                     /* we took what is not JSON */
    }

    /* jansson ends a body at a NUL byte; RFC 8259 allows none there */

    if (rc != 0 && valid && memchr(data, '\0', size) == NULL
        && strcmp(form->error, "the body is not valid JSON") == 0)
    {
        abort();                     /* we refused JSON as not JSON */
    }

    if (rc == 0 && valid) {
        v = json_object_get(root, "action");

        if (!json_is_string(v)
            || strcmp(json_string_value(v),
                      ngx_http_consent_action_names[form->action])
               != 0)
        {
            abort();                 /* we read another action */
        }
    }

    json_decref(root);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                       rc;
    unsigned char            *copy;
    ngx_http_consent_form_t  *form;

    copy = malloc(size ? size : 1);
    form = malloc(sizeof(ngx_http_consent_form_t));

    if (copy == NULL || form == NULL) {
        free(copy);
        free(form);
        return 0;
    }

    memcpy(copy, data, size);

    if (ngx_http_consent_form_parse(copy, size, form) == 0) {
        check(form);

    } else if (form->error == NULL) {
        abort();
    }

    rc = ngx_http_consent_json_parse(data, size, form);

    if (rc == 0) {
        check(form);

    } else if (form->error == NULL) {
        abort();
    }

    against_jansson(data, size, rc, form);

    (void) ngx_http_consent_safe_return(data, size);

    free(copy);
    free(form);

    return 0;
}
