
/*
 * Copyright (C) nginx-consent developers
 */


/*
 * consent-audit: the auditor's tool for the consent log written by
 * nginx-consent (consent_log). The commands live in their own files:
 * verify (consent_audit_verify.c), show (consent_audit_show.c), stats,
 * export and report (consent_audit_stats.c). This file holds main,
 * --help, keygen and reading log files.
 */


#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "consent_audit.h"


#define CONSENT_AUDIT_SECRET_LEN  32


static int consent_audit_each_line(void *data, const char *file,
    size_t line, const char *p, size_t len, int truncated);
static int consent_audit_keygen(int argc, char **argv);
static int consent_audit_write_file(const char *dir, const char *name,
    mode_t mode, int force, const unsigned char *data, size_t len);
static void consent_audit_usage(FILE *out);


static const char  consent_audit_help[] =
"usage: consent-audit COMMAND [ARGS]\n"
"\n"
"The auditor's tool for the consent log of nginx-consent (consent_log).\n"
"Every record is one JSON line and a leaf of a Merkle tree (RFC 6962);\n"
"checkpoints of the tree, signed with Ed25519 as C2SP signed notes, are\n"
"lines of type \"checkpoint\" among them. Logs of the first format (a\n"
"signature per record, chained by \"prev\") verify as before.\n"
"\n"
"commands:\n"
"  keygen [DIR] [--force]\n"
"      make DIR/log.pem (Ed25519 private key, for consent_log sign=),\n"
"      DIR/log.pub.pem (its public key, for auditors) and DIR/secret.key\n"
"      (32 random bytes, for consent_secret); private files get mode 0600.\n"
"      DIR defaults to the current directory; existing files are kept\n"
"      unless --force is given.\n"
"\n"
"  verify FILE... --pubkey PEM [--checkpoint FILE]... [--max-errors N]\n"
"      check, in the order given (oldest first: rotated files before the\n"
"      current one), that seq goes 1, 2, 3, ... across the files, that\n"
"      every checkpoint is signed by the key and has the root of the\n"
"      records before it (so each is consistent with the one before),\n"
"      that no two checkpoints of one size differ, and that the last one\n"
"      covers every record. --checkpoint adds a checkpoint kept elsewhere\n"
"      (a copy of P+checkpoint): the log must still have its root. Each\n"
"      fault is printed as FILE:LINE: REASON: details, where REASON is\n"
"      one of: truncated line, malformed record, malformed checkpoint,\n"
"      gap, duplicate, out of order, checkpoint misplaced, root mismatch,\n"
"      forked history, another key, another log, bad signature, not\n"
"      covered, records removed. Exit status 0 only when the whole log\n"
"      verifies.\n"
"      A log of the first format is checked as a chain: every signature,\n"
"      every link; --fast checks the last signature of each file only,\n"
"      -j N uses N threads.\n"
"\n"
"  checkpoint FILE... [--pubkey PEM]\n"
"      the latest signed checkpoint in the files, verbatim.\n"
"\n"
"  prove ID FILE...\n"
"      for the latest record of consent id ID (32 hex digits, as\n"
"      $consent_id), a c2sp.org/tlog-proof@v1 proof that the latest\n"
"      checkpoint includes it: the record, its tree index, the inclusion\n"
"      path and the signed checkpoint.\n"
"\n"
"  vkey --pubkey PEM --origin NAME\n"
"      the note verifier key NAME+ID+KEY, for Go's sumdb/note and other\n"
"      checkpoint tools.\n"
"\n"
"  show ID FILE...\n"
"      every record of the consent id ID, each with the texts (policy\n"
"      record) the reader was shown, found by its text_hash, and the\n"
"      cookies their preferences page listed by category.\n"
"\n"
"  stats FILE...\n"
"      choices per day (by action) and the consent rate of each category.\n"
"\n"
"  export --csv FILE...\n"
"      the consent records as CSV on standard output.\n"
"\n"
"  report -o FILE.html FILE...\n"
"      a self-contained HTML page (no external resource) with a chart of\n"
"      the consent rate of each category per day.\n"
"\n"
"  sample N --sign KEY.pem [--start EPOCH]\n"
"      a synthetic signed log of N records on standard output, for trying\n"
"      the other commands and for benchmarks; it records no one's consent.\n"
"\n"
"  --help\n"
"      this text.\n"
"\n"
"show, stats, export and report read the records as they are: run verify\n"
"first to know that they are whole. Exit status: 0 success, 1 verify\n"
"found a fault, 2 bad arguments or unreadable input.\n";


int
main(int argc, char **argv)
{
    const char  *cmd;

    if (argc < 2) {
        consent_audit_usage(stderr);
        return CONSENT_AUDIT_USAGE;
    }

    cmd = argv[1];

    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0
        || strcmp(cmd, "help") == 0)
    {
        consent_audit_usage(stdout);
        return CONSENT_AUDIT_OK;
    }

    argc -= 2;
    argv += 2;

    if (strcmp(cmd, "keygen") == 0) {
        return consent_audit_keygen(argc, argv);
    }

    if (strcmp(cmd, "verify") == 0) {
        return consent_audit_verify(argc, argv);
    }

    if (strcmp(cmd, "checkpoint") == 0) {
        return consent_audit_checkpoint(argc, argv);
    }

    if (strcmp(cmd, "prove") == 0) {
        return consent_audit_prove(argc, argv);
    }

    if (strcmp(cmd, "vkey") == 0) {
        return consent_audit_vkey(argc, argv);
    }

    if (strcmp(cmd, "sample") == 0) {
        return consent_audit_sample(argc, argv);
    }

    if (strcmp(cmd, "show") == 0) {
        return consent_audit_show(argc, argv);
    }

    if (strcmp(cmd, "stats") == 0) {
        return consent_audit_stats(argc, argv);
    }

    if (strcmp(cmd, "export") == 0) {
        return consent_audit_export(argc, argv);
    }

    if (strcmp(cmd, "report") == 0) {
        return consent_audit_report(argc, argv);
    }

    fprintf(stderr, "consent-audit: unknown command \"%s\"; "
            "see \"consent-audit --help\"\n", cmd);

    return CONSENT_AUDIT_USAGE;
}


int
consent_audit_map(consent_audit_file_t *f, const char *name)
{
    struct stat  st;

    memset(f, 0, sizeof(*f));
    f->name = name;

    f->fd = open(name, O_RDONLY);
    if (f->fd == -1) {
        fprintf(stderr, "consent-audit: cannot open \"%s\": %s\n", name,
                strerror(errno));
        return -1;
    }

    if (fstat(f->fd, &st) == -1) {
        fprintf(stderr, "consent-audit: cannot stat \"%s\": %s\n", name,
                strerror(errno));
        close(f->fd);
        return -1;
    }

    f->size = (size_t) st.st_size;

    if (f->size == 0) {
        f->data = "";
        return 0;
    }

    f->data = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, f->fd, 0);
    if (f->data == MAP_FAILED) {
        fprintf(stderr, "consent-audit: cannot map \"%s\": %s\n", name,
                strerror(errno));
        close(f->fd);
        return -1;
    }

    (void) madvise((void *) f->data, f->size, MADV_SEQUENTIAL);

    return 0;
}


void
consent_audit_unmap(consent_audit_file_t *f)
{
    if (f->size) {
        munmap((void *) f->data, f->size);
    }

    close(f->fd);
}


/*
 * Calls cb for each line of the files, in order, with its length without
 * the '\n' and whether it lacks one (a cut last line). A callback
 * returning non-zero stops the walk.
 */

int
consent_audit_lines(char **files, int nfiles, consent_audit_line_pt cb,
    void *data)
{
    int                    i, rc;
    size_t                 line;
    const char            *p, *end, *nl;
    consent_audit_file_t   f;

    for (i = 0; i < nfiles; i++) {

        if (consent_audit_map(&f, files[i]) != 0) {
            return CONSENT_AUDIT_USAGE;
        }

        p = f.data;
        end = f.data + f.size;
        line = 0;
        rc = 0;

        while (p < end && rc == 0) {
            line++;

            nl = memchr(p, '\n', end - p);

            rc = cb(data, files[i], line, p, (nl ? nl : end) - p,
                    nl == NULL);

            p = nl ? nl + 1 : end;
        }

        consent_audit_unmap(&f);

        if (rc != 0) {
            return rc;
        }
    }

    return CONSENT_AUDIT_OK;
}


typedef struct {
    consent_audit_record_pt        cb;
    void                          *data;
} consent_audit_each_t;


/*
 * Calls cb for each record that parses, in order; lines that do not parse
 * are skipped (verify is the command that reports them). A callback
 * returning non-zero stops the walk.
 */

int
consent_audit_each(char **files, int nfiles, consent_audit_record_pt cb,
    void *data)
{
    consent_audit_each_t  each;

    each.cb = cb;
    each.data = data;

    return consent_audit_lines(files, nfiles, consent_audit_each_line, &each);
}


static int
consent_audit_each_line(void *data, const char *file, size_t line,
    const char *p, size_t len, int truncated)
{
    consent_audit_each_t  *each = data;

    int      rc;
    json_t  *rec;

    (void) truncated;

    rec = json_loadb(p, len, JSON_REJECT_DUPLICATES, NULL);
    rc = json_is_object(rec) ? each->cb(each->data, file, line, rec) : 0;
    json_decref(rec);

    return rc;
}


static int
consent_audit_keygen(int argc, char **argv)
{
    int             i, force, rc;
    BIO            *bio;
    char           *pem;
    long            len;
    EVP_PKEY       *key;
    const char     *dir;
    EVP_PKEY_CTX   *ctx;
    unsigned char   secret[CONSENT_AUDIT_SECRET_LEN];

    dir = ".";
    force = 0;

    for (i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--force") == 0) {
            force = 1;

        } else if (argv[i][0] == '-') {
            fprintf(stderr, "consent-audit keygen: unknown option \"%s\"\n",
                    argv[i]);
            return CONSENT_AUDIT_USAGE;

        } else {
            dir = argv[i];
        }
    }

    key = NULL;
    ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);

    if (ctx == NULL || EVP_PKEY_keygen_init(ctx) != 1
        || EVP_PKEY_keygen(ctx, &key) != 1)
    {
        fprintf(stderr, "consent-audit keygen: Ed25519 key generation "
                "failed\n");
        EVP_PKEY_CTX_free(ctx);
        return CONSENT_AUDIT_USAGE;
    }

    EVP_PKEY_CTX_free(ctx);

    /* the secret must not end in CR or LF: nginx strips those */

    if (RAND_bytes(secret, sizeof(secret)) != 1) {
        fprintf(stderr, "consent-audit keygen: no random bytes\n");
        EVP_PKEY_free(key);
        return CONSENT_AUDIT_USAGE;
    }

    while (secret[sizeof(secret) - 1] == '\n'
           || secret[sizeof(secret) - 1] == '\r')
    {
        if (RAND_bytes(secret + sizeof(secret) - 1, 1) != 1) {
            EVP_PKEY_free(key);
            return CONSENT_AUDIT_USAGE;
        }
    }

    rc = CONSENT_AUDIT_USAGE;

    bio = BIO_new(BIO_s_mem());
    if (bio == NULL || PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0,
                                                NULL, NULL) != 1)
    {
        goto done;
    }

    len = BIO_get_mem_data(bio, &pem);

    if (consent_audit_write_file(dir, "log.pem", 0600, force,
                                 (unsigned char *) pem, (size_t) len)
        != 0)
    {
        goto done;
    }

    BIO_free(bio);

    bio = BIO_new(BIO_s_mem());
    if (bio == NULL || PEM_write_bio_PUBKEY(bio, key) != 1) {
        goto done;
    }

    len = BIO_get_mem_data(bio, &pem);

    if (consent_audit_write_file(dir, "log.pub.pem", 0644, force,
                                 (unsigned char *) pem, (size_t) len)
        != 0)
    {
        goto done;
    }

    if (consent_audit_write_file(dir, "secret.key", 0600, force, secret,
                                 sizeof(secret))
        != 0)
    {
        goto done;
    }

    printf("%s/log.pem      Ed25519 private key: consent_log ... sign=%s/"
           "log.pem\n"
           "%s/log.pub.pem  its public key: give it to auditors (verify "
           "--pubkey)\n"
           "%s/secret.key   cookie secret: consent_secret %s/secret.key\n",
           dir, dir, dir, dir, dir);

    rc = CONSENT_AUDIT_OK;

done:

    if (rc != CONSENT_AUDIT_OK) {
        ERR_print_errors_fp(stderr);
    }

    OPENSSL_cleanse(secret, sizeof(secret));
    BIO_free(bio);
    EVP_PKEY_free(key);

    return rc;
}


static int
consent_audit_write_file(const char *dir, const char *name, mode_t mode,
    int force, const unsigned char *data, size_t len)
{
    int      fd, flags;
    char     path[4096];
    ssize_t  n;

    if ((size_t) snprintf(path, sizeof(path), "%s/%s", dir, name)
        >= sizeof(path))
    {
        fprintf(stderr, "consent-audit keygen: path too long\n");
        return -1;
    }

    flags = O_WRONLY|O_CREAT|(force ? O_TRUNC : O_EXCL);

    fd = open(path, flags, mode);
    if (fd == -1) {
        fprintf(stderr, "consent-audit keygen: cannot create \"%s\": %s%s\n",
                path, strerror(errno),
                errno == EEXIST ? " (use --force to replace it)" : "");
        return -1;
    }

    if (fchmod(fd, mode) == -1) {
        fprintf(stderr, "consent-audit keygen: chmod \"%s\": %s\n", path,
                strerror(errno));
        close(fd);
        return -1;
    }

    while (len) {
        n = write(fd, data, len);

        if (n == -1) {
            if (errno == EINTR) {
                continue;
            }

            fprintf(stderr, "consent-audit keygen: write \"%s\": %s\n", path,
                    strerror(errno));
            close(fd);
            return -1;
        }

        data += n;
        len -= (size_t) n;
    }

    if (close(fd) == -1) {
        fprintf(stderr, "consent-audit keygen: close \"%s\": %s\n", path,
                strerror(errno));
        return -1;
    }

    return 0;
}


static void
consent_audit_usage(FILE *out)
{
    fputs(consent_audit_help, out);
}
