
/*
 * Copyright (C) nginx-consent developers
 */


/*
 * consent-audit verify: the files are read in batches of lines; the lines
 * of a batch are checked on their own (JSON, canonical form, SHA-256,
 * Ed25519) by N threads at once, then fed in order to the chain verifier
 * of ngx_http_consent_record.c, which sees links, gaps, duplicates and
 * swaps. Memory stays bounded by the batch, whatever the size of the log.
 */


#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "consent_audit.h"


#define CONSENT_AUDIT_BATCH    8192
#define CONSENT_AUDIT_SCRATCH  65536


typedef struct {
    const char                       *data;
    size_t                            len;
    size_t                            line;
    unsigned                          truncated:1;
    unsigned                          sign:1;       /* check its signature */
    ngx_http_consent_record_check_t   check;
} consent_audit_line_t;


typedef struct {
    consent_audit_line_t             *lines;
    size_t                            n;
    size_t                            from;
    size_t                            step;
    EVP_PKEY                         *key;
    char                             *scratch;
} consent_audit_job_t;


typedef struct {
    uint64_t                          max_errors;
    uint64_t                          printed;
    uint64_t                          policies;
    uint64_t                          consents;
    uint64_t                          last_seq;
} consent_audit_verify_ctx_t;


static int consent_audit_verify_format(char **files, int nfiles);
static int consent_audit_verify_batch(consent_audit_line_t *lines, size_t n,
    consent_audit_job_t *jobs, int nthreads);
static void *consent_audit_verify_job(void *data);
static void consent_audit_verify_report(void *data, const char *file,
    size_t line, consent_audit_chain_error_e error, const char *message);


int
consent_audit_verify(int argc, char **argv)
{
    int                          i, nfiles, nkept, nthreads, fast, rc;
    char                       **files, **kept, err[512];
    size_t                       n, k, lineno;
    EVP_PKEY                    *key;
    const char                  *pubkey, *p, *end, *nl;
    consent_audit_job_t         *jobs;
    consent_audit_file_t         f;
    consent_audit_line_t        *lines, *l;
    consent_audit_chain_t     chain;
    consent_audit_verify_ctx_t   ctx;

    pubkey = NULL;
    fast = 0;
    nthreads = (int) sysconf(_SC_NPROCESSORS_ONLN);
    memset(&ctx, 0, sizeof(ctx));
    ctx.max_errors = 20;

    files = calloc((size_t) argc + 1, sizeof(char *));
    if (files == NULL) {
        return CONSENT_AUDIT_USAGE;
    }

    kept = calloc((size_t) argc + 1, sizeof(char *));
    if (kept == NULL) {
        free(files);
        return CONSENT_AUDIT_USAGE;
    }

    nfiles = 0;
    nkept = 0;

    for (i = 0; i < argc; i++) {

        if (strcmp(argv[i], "--pubkey") == 0 && i + 1 < argc) {
            pubkey = argv[++i];

        } else if (strncmp(argv[i], "--pubkey=", 9) == 0) {
            pubkey = argv[i] + 9;

        } else if (strcmp(argv[i], "--checkpoint") == 0 && i + 1 < argc) {
            kept[nkept++] = argv[++i];

        } else if (strcmp(argv[i], "--fast") == 0) {
            fast = 1;

        } else if (strcmp(argv[i], "-j") == 0 && i + 1 < argc) {
            nthreads = atoi(argv[++i]);

        } else if (strcmp(argv[i], "--max-errors") == 0 && i + 1 < argc) {
            ctx.max_errors = strtoull(argv[++i], NULL, 10);

        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "consent-audit verify: unknown option \"%s\"; "
                    "see \"consent-audit --help\"\n", argv[i]);
            free(files);
            free(kept);
            return CONSENT_AUDIT_USAGE;

        } else {
            files[nfiles++] = argv[i];
        }
    }

    if (nfiles == 0 || pubkey == NULL) {
        fprintf(stderr, "usage: consent-audit verify FILE... --pubkey PEM "
                "[--checkpoint FILE]... [--fast] [-j N]\n");
        free(files);
        free(kept);
        return CONSENT_AUDIT_USAGE;
    }

    if (nthreads < 1) {
        nthreads = 1;
    }

    if (nthreads > 64) {
        nthreads = 64;
    }

    key = ngx_http_consent_record_load_key(pubkey, 0, err, sizeof(err));
    if (key == NULL) {
        fprintf(stderr, "consent-audit verify: %s\n", err);
        free(files);
        free(kept);
        return CONSENT_AUDIT_USAGE;
    }

    /* a log with checkpoints is a tree; one of signed records a chain */

    rc = consent_audit_verify_format(files, nfiles);

    if (rc != 0) {
        rc = (rc == 1) ? consent_audit_verify_tree(files, nfiles, key, kept,
                                                   nkept, ctx.max_errors)
                       : CONSENT_AUDIT_USAGE;
        free(files);
        free(kept);
        EVP_PKEY_free(key);
        return rc;
    }

    lines = calloc(CONSENT_AUDIT_BATCH, sizeof(consent_audit_line_t));
    jobs = calloc((size_t) nthreads, sizeof(consent_audit_job_t));

    if (lines == NULL || jobs == NULL) {
        rc = CONSENT_AUDIT_USAGE;
        goto done;
    }

    for (i = 0; i < nthreads; i++) {
        jobs[i].key = key;
        jobs[i].scratch = malloc(CONSENT_AUDIT_SCRATCH);

        if (jobs[i].scratch == NULL) {
            rc = CONSENT_AUDIT_USAGE;
            goto done;
        }
    }

    consent_audit_chain_init(&chain, consent_audit_verify_report, &ctx);

    rc = CONSENT_AUDIT_OK;

    for (i = 0; i < nfiles; i++) {

        if (consent_audit_map(&f, files[i]) != 0) {
            rc = CONSENT_AUDIT_USAGE;
            goto done;
        }

        p = f.data;
        end = f.data + f.size;
        n = 0;
        lineno = 0;

        while (p < end) {
            l = &lines[n];
            l->line = ++lineno;

            nl = memchr(p, '\n', end - p);

            l->data = p;
            l->truncated = (nl == NULL);
            l->len = (nl ? nl : end) - p;
            p = nl ? nl + 1 : end;

            /* --fast: the last record of a file anchors the chain */
            l->sign = !fast || p == end;

            n++;

            if (n == CONSENT_AUDIT_BATCH || p == end) {
                if (consent_audit_verify_batch(lines, n, jobs, nthreads)
                    != 0)
                {
                    consent_audit_unmap(&f);
                    rc = CONSENT_AUDIT_USAGE;
                    goto done;
                }

                for (k = 0; k < n; k++) {
                    consent_audit_chain_feed(&chain, files[i],
                                                lines[k].line,
                                                &lines[k].check);

                    if (lines[k].check.type
                        == NGX_HTTP_CONSENT_RECORD_POLICY)
                    {
                        ctx.policies++;

                    } else if (lines[k].check.type
                               == NGX_HTTP_CONSENT_RECORD_CONSENT)
                    {
                        ctx.consents++;
                    }
                }

                n = 0;
            }
        }

        consent_audit_unmap(&f);
    }

    consent_audit_chain_end(&chain);

    if (chain.errors) {
        if (chain.errors > ctx.printed) {
            printf("... and %llu more\n",
                   (unsigned long long) (chain.errors - ctx.printed));
        }

        printf("FAILED: %llu fault%s in %llu records\n",
               (unsigned long long) chain.errors,
               chain.errors == 1 ? "" : "s",
               (unsigned long long) chain.records);

        rc = CONSENT_AUDIT_FAILED;

    } else if (chain.records == 0) {
        printf("FAILED: no record found\n");
        rc = CONSENT_AUDIT_FAILED;

    } else {
        printf("OK: %llu records (%llu policy, %llu consent), seq %llu to "
               "%llu, %d file%s; %s\n",
               (unsigned long long) chain.records,
               (unsigned long long) ctx.policies,
               (unsigned long long) ctx.consents,
               (unsigned long long) chain.first_seq,
               (unsigned long long) chain.seq,
               nfiles, nfiles == 1 ? "" : "s",
               fast ? "chain checked, last signature of each file checked"
                    : "chain and every signature checked");

        if (chain.first_seq != 1) {
            printf("note: the first record links to seq %llu, which is in "
                   "none of these files (an older, rotated file)\n",
                   (unsigned long long) chain.first_seq - 1);
        }
    }

done:

    if (jobs != NULL) {
        for (i = 0; i < nthreads; i++) {
            free(jobs[i].scratch);
        }
    }

    free(jobs);
    free(lines);
    free(files);
    free(kept);
    EVP_PKEY_free(key);

    return rc;
}


/*
 * 1: a tree (a checkpoint record somewhere, or a first record without
 * "sig"); 0: a chain of signed records, from before checkpoints; -1: a
 * file cannot be read.
 */

static int
consent_audit_verify_format(char **files, int nfiles)
{
    int                              i, rc, first;
    const char                      *p, *end, *nl;
    consent_audit_file_t             f;
    ngx_http_consent_record_line_t   r;

    static const char  mark[] = "\"type\":\"checkpoint\"}\n";

    rc = 0;
    first = -1;

    for (i = 0; i < nfiles && rc == 0; i++) {

        if (consent_audit_map(&f, files[i]) != 0) {
            return -1;
        }

        end = f.data + f.size;

        if (memmem(f.data, f.size, mark, sizeof(mark) - 1) != NULL) {
            rc = 1;
        }

        for (p = f.data; first == -1 && p < end; p = nl + 1) {
            nl = memchr(p, '\n', end - p);
            if (nl == NULL) {
                break;
            }

            if (ngx_http_consent_record_fields(p, nl - p, &r) == 0
                && r.type != NGX_HTTP_CONSENT_RECORD_CHECKPOINT)
            {
                first = r.sig;
            }
        }

        consent_audit_unmap(&f);
    }

    return (rc == 1 || first == 0) ? 1 : 0;
}


static int
consent_audit_verify_batch(consent_audit_line_t *lines, size_t n,
    consent_audit_job_t *jobs, int nthreads)
{
    int        i, t;
    pthread_t  tid[64];

    t = nthreads;

    if ((size_t) t > n) {
        t = (int) n;
    }

    for (i = 0; i < t; i++) {
        jobs[i].lines = lines;
        jobs[i].n = n;
        jobs[i].from = (size_t) i;
        jobs[i].step = (size_t) t;
    }

    for (i = 1; i < t; i++) {
        if (pthread_create(&tid[i], NULL, consent_audit_verify_job, &jobs[i])
            != 0)
        {
            fprintf(stderr, "consent-audit verify: cannot start a thread\n");

            while (--i >= 1) {
                pthread_join(tid[i], NULL);
            }

            return -1;
        }
    }

    consent_audit_verify_job(&jobs[0]);

    for (i = 1; i < t; i++) {
        pthread_join(tid[i], NULL);
    }

    return 0;
}


static void *
consent_audit_verify_job(void *data)
{
    consent_audit_job_t  *job = data;

    size_t                 i;
    consent_audit_line_t  *l;

    for (i = job->from; i < job->n; i += job->step) {
        l = &job->lines[i];

        /* --fast: lines as written are scanned, not parsed */

        if (l->sign
            || consent_audit_record_scan(l->data, l->len, job->scratch,
                                            CONSENT_AUDIT_SCRATCH, &l->check)
               != 0)
        {
            ngx_http_consent_record_check(l->data, l->len,
                                          l->sign ? job->key : NULL,
                                          job->scratch, CONSENT_AUDIT_SCRATCH,
                                          &l->check);
        }

        if (l->truncated) {
            l->check.status = NGX_HTTP_CONSENT_RECORD_TRUNCATED;
        }
    }

    return NULL;
}


static void
consent_audit_verify_report(void *data, const char *file, size_t line,
    consent_audit_chain_error_e error, const char *message)
{
    consent_audit_verify_ctx_t  *ctx = data;

    if (ctx->printed == ctx->max_errors) {
        return;
    }

    ctx->printed++;

    printf("%s:%zu: %s: %s\n", file, line,
           consent_audit_chain_error_name(error), message);
}
