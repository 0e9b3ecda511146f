
/*
 * Copyright (C) nginx-consent developers
 */


#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_http_consent_form.h"


/*
 * A consent POST body, as a form and as JSON: no crash, no read past the
 * input, and whatever is accepted is well formed: a known action, valid
 * category names, and a "return" that is a path of this site.
 */

static void
check(ngx_http_consent_form_t *form)
{
    size_t  i;

    if (form->action < NGX_HTTP_CONSENT_FORM_ACCEPT_ALL
        || form->action > NGX_HTTP_CONSENT_FORM_WITHDRAW)
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


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
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

    if (ngx_http_consent_json_parse(data, size, form) == 0) {
        check(form);

    } else if (form->error == NULL) {
        abort();
    }

    (void) ngx_http_consent_safe_return(data, size);

    free(copy);
    free(form);

    return 0;
}
