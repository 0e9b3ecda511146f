
/*
 * Copyright (C) nginx-consent developers
 */


#ifndef _CONSENT_AUDIT_H_INCLUDED_
#define _CONSENT_AUDIT_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "consent_audit_chain.h"


/* exit codes */
#define CONSENT_AUDIT_OK       0
#define CONSENT_AUDIT_FAILED   1   /* verify found a fault */
#define CONSENT_AUDIT_USAGE    2   /* bad arguments, unreadable file */


/* a log file mapped into memory, cut into lines */
typedef struct {
    const char   *name;
    const char   *data;
    size_t        size;
    int           fd;
} consent_audit_file_t;


typedef int (*consent_audit_record_pt)(void *data, const char *file,
    size_t line, json_t *record);
typedef int (*consent_audit_line_pt)(void *data, const char *file,
    size_t line, const char *p, size_t len, int truncated);


/* consent_audit.c */
int consent_audit_map(consent_audit_file_t *f, const char *name);
void consent_audit_unmap(consent_audit_file_t *f);
int consent_audit_lines(char **files, int nfiles, consent_audit_line_pt cb,
    void *data);
int consent_audit_each(char **files, int nfiles, consent_audit_record_pt cb,
    void *data);

/* consent_audit_verify.c */
int consent_audit_verify(int argc, char **argv);

/* consent_audit_tree.c: the log as a Merkle tree */
int consent_audit_verify_tree(char **files, int nfiles, EVP_PKEY *key,
    char **kept, int nkept, uint64_t max_errors);
int consent_audit_checkpoint(int argc, char **argv);
int consent_audit_prove(int argc, char **argv);
int consent_audit_vkey(int argc, char **argv);

/* consent_audit_sample.c */
int consent_audit_sample(int argc, char **argv);

/* consent_audit_show.c */
int consent_audit_show(int argc, char **argv);

/* consent_audit_stats.c: stats, export --csv, report */
int consent_audit_stats(int argc, char **argv);
int consent_audit_export(int argc, char **argv);
int consent_audit_report(int argc, char **argv);


#endif /* _CONSENT_AUDIT_H_INCLUDED_ */
