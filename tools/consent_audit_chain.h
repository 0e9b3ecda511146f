
/*
 * Copyright (C) nginx-consent developers
 */


#ifndef _CONSENT_AUDIT_CHAIN_H_INCLUDED_
#define _CONSENT_AUDIT_CHAIN_H_INCLUDED_


/*
 * The chain verifier for logs of the first format, where every record is
 * signed and holds the hash of the one before ("seq", "prev", "sig"; see
 * ngx_http_consent_record.h). Only consent-audit needs it: nginx writes
 * trees now (ngx_http_consent_tree.h).
 */


#include "ngx_http_consent_record.h"


/* what a line says about its place in the chain */
typedef enum {
    CONSENT_AUDIT_CHAIN_MALFORMED = 0,
    CONSENT_AUDIT_CHAIN_TRUNCATED,
    CONSENT_AUDIT_CHAIN_NO_SIG,
    CONSENT_AUDIT_CHAIN_BAD_SIG,
    CONSENT_AUDIT_CHAIN_BROKEN_LINK,
    CONSENT_AUDIT_CHAIN_GAP,
    CONSENT_AUDIT_CHAIN_DUPLICATE,
    CONSENT_AUDIT_CHAIN_OUT_OF_ORDER,
    CONSENT_AUDIT_CHAIN_NEW_CHAIN
} consent_audit_chain_error_e;


typedef void (*consent_audit_chain_report_pt)(void *data,
    const char *file, size_t line, consent_audit_chain_error_e error,
    const char *message);


/* the chain verifier: fed one checked line after the other, in order */
typedef struct {
    uint64_t                          seq;
    unsigned char                     hash[NGX_HTTP_CONSENT_RECORD_HASH_LEN];
    const char                       *file;
    size_t                            line;
    unsigned                          started:1;
    unsigned                          pending:1;

    /* a gap seen on the previous line, reported once the next is known */
    uint64_t                          pending_seq;
    uint64_t                          pending_expected;
    const char                       *pending_file;
    size_t                            pending_line;

    uint64_t                          first_seq;
    uint64_t                          records;
    uint64_t                          errors;

    consent_audit_chain_report_pt  report;
    void                             *data;
} consent_audit_chain_t;


int consent_audit_record_scan(const char *line, size_t len,
    char *scratch, size_t size, ngx_http_consent_record_check_t *out);


/* the chain */
void consent_audit_chain_init(consent_audit_chain_t *chain,
    consent_audit_chain_report_pt report, void *data);
void consent_audit_chain_feed(consent_audit_chain_t *chain,
    const char *file, size_t line, const ngx_http_consent_record_check_t *r);
void consent_audit_chain_end(consent_audit_chain_t *chain);
const char *consent_audit_chain_error_name(
    consent_audit_chain_error_e error);



#endif /* _CONSENT_AUDIT_CHAIN_H_INCLUDED_ */
