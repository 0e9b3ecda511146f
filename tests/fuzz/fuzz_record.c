
/*
 * Copyright (C) nginx-consent developers
 *
 * The consent log as consent-audit verify reads it: any bytes, cut into
 * lines, checked and fed to the chain; never out of bounds, and a
 * well-formed record re-sealed from what was parsed checks clean. Each
 * line also goes through the tree's readers: record_fields, the JSON
 * string printer (which must print what jansson prints, or refuse what
 * jansson refuses) and the checkpoint note reader.
 */


#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_http_consent_note.h"
#include "ngx_http_consent_record.h"
#include "consent_audit_chain.h"

/*
 * The chain verifier lives in tools/ (consent-audit only); the unit and
 * fuzz rules link the pure cores alone, so it is built in here.
 */
#include "consent_audit_chain.c"


static void
report(void *data, const char *file, size_t line,
    consent_audit_chain_error_e error, const char *message)
{
    (void) data;
    (void) file;
    (void) line;

    if (consent_audit_chain_error_name(error) == NULL
        || message == NULL)
    {
        abort();
    }
}


static void
tree_readers(const char *p, size_t len)
{
    char                            *mine, *theirs;
    size_t                           n, m;
    json_t                          *v;
    ngx_http_consent_checkpoint_t    cp;
    ngx_http_consent_record_line_t   f;

    if (ngx_http_consent_record_fields(p, len, &f) == 0
        && (f.canonical > len || (f.note && f.note + f.note_len > p + len)))
    {
        abort();
    }

    /* a note without a key: never "ok" */
    if (ngx_http_consent_note_open(p, len, NULL, &cp)
        == NGX_HTTP_CONSENT_NOTE_OK)
    {
        abort();
    }

    if (len > 4096) {
        return;
    }

    mine = malloc(6 * len + 3);
    theirs = malloc(6 * len + 3);

    if (mine == NULL || theirs == NULL) {
        abort();
    }

    n = ngx_http_consent_record_json_string((const unsigned char *) p, len,
                                            mine);
    v = json_stringn(p, len);

    if (v == NULL) {
        if (n != 0) {
            abort();
        }

    } else {
        m = json_dumpb(v, theirs, 6 * len + 3,
                       JSON_ENCODE_ANY|NGX_HTTP_CONSENT_RECORD_FLAGS);

        if (n != m || memcmp(mine, theirs, n) != 0) {
            abort();
        }

        json_decref(v);
    }

    free(mine);
    free(theirs);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char                             *nl, scratch[256], out[512];
    size_t                            line, n;
    json_t                           *rec;
    const char                       *p, *end;
    unsigned char                     prev[32], hash[32];
    consent_audit_chain_t          chain;
    ngx_http_consent_record_check_t   r, s;

    consent_audit_chain_init(&chain, report, NULL);

    p = (const char *) data;
    end = p + size;
    line = 0;

    while (p < end) {
        line++;
        nl = memchr(p, '\n', end - p);

        /* a small scratch: large records take the other path */
        ngx_http_consent_record_check(p, (nl ? nl : end) - p, NULL, scratch,
                                      sizeof(scratch), &r);

        if (nl == NULL) {
            r.status = NGX_HTTP_CONSENT_RECORD_TRUNCATED;
        }

        consent_audit_chain_feed(&chain, "fuzz", line, &r);

        /* the fast scan reads what the parser reads, when both accept */

        if (consent_audit_record_scan(p, (nl ? nl : end) - p, scratch,
                                         sizeof(scratch), &s)
            == 0)
        {
            ngx_http_consent_record_check(p, (nl ? nl : end) - p, NULL,
                                          scratch, sizeof(scratch), &r);

            if (r.status == NGX_HTTP_CONSENT_RECORD_OK
                && (r.seq != s.seq || r.type != s.type
                    || memcmp(r.prev, s.prev, 32) != 0))
            {
                abort();
            }
        }

        /* a record that parses: sealed again, it checks clean */

        if (r.status == NGX_HTTP_CONSENT_RECORD_OK) {
            rec = json_loadb(p, (nl ? nl : end) - p, JSON_REJECT_DUPLICATES,
                             NULL);
            if (rec == NULL) {
                abort();
            }

            memset(prev, 0x5a, sizeof(prev));
            n = ngx_http_consent_record_seal(rec, r.seq, prev, NULL, out,
                                             sizeof(out), hash);

            if (n > 0 && n <= sizeof(out)) {
                ngx_http_consent_record_check(out, n - 1, NULL, scratch,
                                              sizeof(scratch), &r);

                if (r.status != NGX_HTTP_CONSENT_RECORD_OK
                    || memcmp(r.hash, hash, 32) != 0
                    || memcmp(r.prev, prev, 32) != 0)
                {
                    abort();
                }
            }

            json_decref(rec);
        }

        tree_readers(p, (nl ? nl : end) - p);

        p = nl ? nl + 1 : end;
    }

    consent_audit_chain_end(&chain);

    if (chain.errors > chain.records + line + 1) {
        abort();
    }

    return 0;
}
