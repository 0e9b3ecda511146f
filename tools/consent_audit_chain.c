
/*
 * Copyright (C) nginx-consent developers
 */


/*
 * The chain of logs of the first format: each checked line is compared
 * with the one before (seq and prev), and the fast scan of --fast.
 */


#include <stdio.h>
#include <string.h>

#include <openssl/sha.h>

#include "consent_audit_chain.h"


#define CONSENT_AUDIT_CHAIN_MSG_LEN  256


static int consent_audit_chain_is_genesis(const unsigned char *hash);
static void consent_audit_chain_error(consent_audit_chain_t *chain,
    const char *file, size_t line, consent_audit_chain_error_e error,
    const char *message);
static void consent_audit_chain_flush(consent_audit_chain_t *chain);


static const char  *consent_audit_chain_errors[] = {
    "malformed record",
    "truncated line",
    "missing signature",
    "bad signature",
    "broken link",
    "gap",
    "duplicate",
    "out of order",
    "new chain"
};


/*
 * The fast path of consent-audit verify --fast, for lines as the module
 * writes them: a scan of the top level for type, seq, prev and a final
 * sig, no JSON tree. The hash is over the line with its sig member cut
 * out, which is the canonical form of a line as written. Returns -1 for
 * anything else, and the caller takes the full path.
 *
 * It is sound whatever the input: a line that is not exactly as written
 * hashes differently from its canonical form and breaks the next link,
 * and the chain only verifies when it ends at a record whose signature
 * was checked in full.
 */

int
consent_audit_record_scan(const char *line, size_t len, char *scratch,
    size_t size, ngx_http_consent_record_check_t *out)
{
    ngx_http_consent_record_line_t  f;

    memset(out, 0, sizeof(*out));

    if (ngx_http_consent_record_fields(line, len, &f) != 0
        || f.type == NGX_HTTP_CONSENT_RECORD_CHECKPOINT
        || f.seq == 0 || !f.prev || !f.sig || f.canonical + 2 > size)
    {
        return -1;
    }

    out->type = f.type;
    out->seq = f.seq;
    memcpy(out->prev, f.prev_hash, NGX_HTTP_CONSENT_RECORD_HASH_LEN);

    /* the canonical form: the line up to ",\"sig\"...", then '}' */

    memcpy(scratch, line, f.canonical);
    scratch[f.canonical] = '}';

    SHA256((unsigned char *) scratch, f.canonical + 1, out->hash);

    out->status = NGX_HTTP_CONSENT_RECORD_OK;

    return 0;
}


void
consent_audit_chain_init(consent_audit_chain_t *chain,
    consent_audit_chain_report_pt report, void *data)
{
    memset(chain, 0, sizeof(*chain));
    chain->report = report;
    chain->data = data;
}


/*
 * Each line is compared with the highest record accepted so far (seq and
 * hash). A line that repeats or goes back is reported and skipped; a line
 * that jumps ahead is reported as a gap, unless the very next line is the
 * one it skipped: then the two were swapped.
 */

void
consent_audit_chain_feed(consent_audit_chain_t *chain,
    const char *file, size_t line, const ngx_http_consent_record_check_t *r)
{
    uint64_t  expected;
    char      msg[CONSENT_AUDIT_CHAIN_MSG_LEN];

    switch (r->status) {

    case NGX_HTTP_CONSENT_RECORD_MALFORMED:
        consent_audit_chain_error(chain, file, line,
                                     CONSENT_AUDIT_CHAIN_MALFORMED,
                                     "not a consent log record (invalid "
                                     "JSON, or type, seq or prev missing)");
        return;

    case NGX_HTTP_CONSENT_RECORD_TRUNCATED:
        consent_audit_chain_error(chain, file, line,
                                     CONSENT_AUDIT_CHAIN_TRUNCATED,
                                     "the last line ends without a newline: "
                                     "it was cut");
        return;

    case NGX_HTTP_CONSENT_RECORD_NO_SIG:
        consent_audit_chain_error(chain, file, line,
                                     CONSENT_AUDIT_CHAIN_NO_SIG,
                                     "the record has no \"sig\"");
        break;

    case NGX_HTTP_CONSENT_RECORD_BAD_SIG:
        snprintf(msg, sizeof(msg), "seq %llu: the signature does not match "
                 "the record with this public key",
                 (unsigned long long) r->seq);
        consent_audit_chain_error(chain, file, line,
                                     CONSENT_AUDIT_CHAIN_BAD_SIG, msg);
        break;

    default:
        break;
    }

    chain->records++;

    if (!chain->started) {
        chain->started = 1;
        chain->first_seq = r->seq;

        if (r->seq == 1 && !consent_audit_chain_is_genesis(r->prev)) {
            consent_audit_chain_error(chain, file, line,
                                         CONSENT_AUDIT_CHAIN_BROKEN_LINK,
                                         "seq 1 with a \"prev\" that is not "
                                         "64 zeros");
        }

        goto accept;
    }

    expected = chain->seq + 1;

    if (chain->pending) {
        chain->pending = 0;

        if (r->seq == chain->pending_expected) {
            snprintf(msg, sizeof(msg), "seq %llu comes after seq %llu "
                     "(line %zu): the two lines were swapped",
                     (unsigned long long) r->seq,
                     (unsigned long long) chain->pending_seq,
                     chain->pending_line);
            consent_audit_chain_error(chain, file, line,
                                         CONSENT_AUDIT_CHAIN_OUT_OF_ORDER,
                                         msg);
            return;
        }

        consent_audit_chain_flush(chain);
    }

    if (r->seq == expected) {

        if (memcmp(r->prev, chain->hash, NGX_HTTP_CONSENT_RECORD_HASH_LEN)
            != 0)
        {
            snprintf(msg, sizeof(msg), "seq %llu: \"prev\" is not the hash "
                     "of seq %llu (%s:%zu): a record was altered, or "
                     "replaced", (unsigned long long) r->seq,
                     (unsigned long long) chain->seq,
                     chain->file, chain->line);
            consent_audit_chain_error(chain, file, line,
                                         CONSENT_AUDIT_CHAIN_BROKEN_LINK,
                                         msg);
        }

        goto accept;
    }

    if (r->seq == 1 && consent_audit_chain_is_genesis(r->prev)) {
        snprintf(msg, sizeof(msg), "a new chain starts after seq %llu: "
                 "the head was lost (nginx restarted without the old log?)",
                 (unsigned long long) chain->seq);
        consent_audit_chain_error(chain, file, line,
                                     CONSENT_AUDIT_CHAIN_NEW_CHAIN, msg);
        goto accept;
    }

    if (r->seq > expected) {
        chain->pending = 1;
        chain->pending_seq = r->seq;
        chain->pending_expected = expected;
        chain->pending_file = file;
        chain->pending_line = line;
        goto accept;
    }

    if (r->seq == chain->seq
        && memcmp(r->hash, chain->hash, NGX_HTTP_CONSENT_RECORD_HASH_LEN)
           == 0)
    {
        snprintf(msg, sizeof(msg), "seq %llu: the same record as %s:%zu, "
                 "repeated", (unsigned long long) r->seq, chain->file,
                 chain->line);

    } else {
        snprintf(msg, sizeof(msg), "seq %llu after seq %llu (%s:%zu): "
                 "a seq used twice, or a record inserted",
                 (unsigned long long) r->seq,
                 (unsigned long long) chain->seq, chain->file, chain->line);
    }

    consent_audit_chain_error(chain, file, line,
                                 CONSENT_AUDIT_CHAIN_DUPLICATE, msg);
    return;

accept:

    chain->seq = r->seq;
    memcpy(chain->hash, r->hash, NGX_HTTP_CONSENT_RECORD_HASH_LEN);
    chain->file = file;
    chain->line = line;
}


void
consent_audit_chain_end(consent_audit_chain_t *chain)
{
    if (chain->pending) {
        chain->pending = 0;
        consent_audit_chain_flush(chain);
    }
}


const char *
consent_audit_chain_error_name(consent_audit_chain_error_e error)
{
    if ((size_t) error
        >= sizeof(consent_audit_chain_errors) / sizeof(char *))
    {
        return "error";
    }

    return consent_audit_chain_errors[error];
}


static void
consent_audit_chain_flush(consent_audit_chain_t *chain)
{
    uint64_t  missing;
    char      msg[CONSENT_AUDIT_CHAIN_MSG_LEN];

    missing = chain->pending_seq - chain->pending_expected;

    snprintf(msg, sizeof(msg), "seq %llu follows seq %llu: %llu record%s "
             "missing", (unsigned long long) chain->pending_seq,
             (unsigned long long) chain->pending_expected - 1,
             (unsigned long long) missing, missing == 1 ? "" : "s");

    consent_audit_chain_error(chain, chain->pending_file,
                                 chain->pending_line,
                                 CONSENT_AUDIT_CHAIN_GAP, msg);
}


static void
consent_audit_chain_error(consent_audit_chain_t *chain,
    const char *file, size_t line, consent_audit_chain_error_e error,
    const char *message)
{
    chain->errors++;

    if (chain->report) {
        chain->report(chain->data, file, line, error, message);
    }
}


static int
consent_audit_chain_is_genesis(const unsigned char *hash)
{
    return memcmp(hash, ngx_http_consent_record_genesis,
                  NGX_HTTP_CONSENT_RECORD_HASH_LEN) == 0;
}


