
/*
 * Copyright (C) nginx-consent developers
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_consent_module.h"
#include "ngx_http_consent_log.h"


/*
 * The consent log: one JSON line per event, each a leaf of one Merkle tree
 * per nginx instance (ngx_http_consent_tree.c), signed as a whole by
 * checkpoints (ngx_http_consent_note.c) every N records or T milliseconds,
 * at a reopen and at shutdown. The tree's right edge lives in a shared
 * memory zone, under the zone's mutex, so that all workers grow one tree;
 * the zone is reused on reload, and a fresh zone loads the tree from the
 * hash file beside the log, so the tree also survives a restart and a
 * rotation. A record is written with one write(), under the mutex: workers
 * cannot interleave, and the order of the lines is the order of seq, which
 * is the tree index + 1.
 *
 * With sync=on (the default) the answer waits until the record is on
 * stable storage: fdatasync() of the log, once for every record written
 * before it started, whichever worker wrote them (group commit).
 */


#define NGX_HTTP_CONSENT_LOG_ZONE_SIZE    (16 * ngx_pagesize)
/* a consent record and a syslog header fit a small pool allocation */
#define NGX_HTTP_CONSENT_LOG_LINE         3072
#define NGX_HTTP_CONSENT_LOG_SYSLOG_HDR   512
#define NGX_HTTP_CONSENT_LOG_SEQ_LEN      (NGX_INT64_LEN + 1)
#define NGX_HTTP_CONSENT_LOG_CHUNK        (1024 * 1024)
#define NGX_HTTP_CONSENT_LOG_CP_RECORDS   1000
#define NGX_HTTP_CONSENT_LOG_CP_INTERVAL  10000
/* how long a worker waits for the master to hand it a reopened file */
#define NGX_HTTP_CONSENT_LOG_REOPEN_WAIT  20


#if (NGX_THREADS)

/* a POST waiting for its record to be on disk, then run again */
typedef struct {
    ngx_queue_t                     queue;
    ngx_http_request_t             *request;
    ngx_http_consent_choice_t       choice;
    uint64_t                        size;       /* the tree with it */
    ngx_int_t                       rc;
    unsigned                        done:1;
} ngx_http_consent_log_wait_t;


typedef struct {
    ngx_fd_t                        fd;
    ngx_err_t                       err;
} ngx_http_consent_log_task_t;

#endif


static char *ngx_http_consent_log_param(ngx_conf_t *cf,
    ngx_http_consent_log_conf_t *lcf, ngx_str_t *value);
static ngx_open_file_t *ngx_http_consent_log_beside(ngx_conf_t *cf,
    ngx_str_t *name, char *suffix);
static EVP_PKEY *ngx_http_consent_log_load_key(ngx_conf_t *cf,
    ngx_str_t *file);
static void ngx_http_consent_log_cleanup(void *data);
static void ngx_http_consent_log_shutdown(void *data);
static ngx_int_t ngx_http_consent_log_policy(ngx_conf_t *cf,
    ngx_http_consent_main_conf_t *mcf, ngx_http_consent_log_conf_t *lcf);
static ngx_int_t ngx_http_consent_log_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static void ngx_http_consent_log_recover(ngx_http_consent_log_conf_t *lcf,
    ngx_log_t *log);
static int ngx_http_consent_log_read_hash(void *data, uint64_t index,
    unsigned char *out);
static void ngx_http_consent_log_replay(ngx_http_consent_log_conf_t *lcf,
    ngx_fd_t fd, off_t from, off_t size, ngx_log_t *log);
static void ngx_http_consent_log_load_checkpoint(
    ngx_http_consent_log_conf_t *lcf, ngx_log_t *log);
static u_char *ngx_http_consent_log_consent(ngx_http_request_t *r,
    ngx_http_consent_main_conf_t *mcf, ngx_http_consent_log_conf_t *lcf,
    ngx_http_consent_choice_t *choice, ngx_str_t *tail);
static u_char *ngx_http_consent_log_names(u_char *p,
    ngx_http_consent_main_conf_t *mcf, uint64_t mask);
static u_char *ngx_http_consent_log_ip(u_char *p, ngx_http_request_t *r,
    ngx_http_consent_log_conf_t *lcf);
static u_char *ngx_http_consent_log_string(u_char *p, ngx_str_t *s);
static ngx_int_t ngx_http_consent_log_append(ngx_http_consent_log_conf_t *lcf,
    ngx_str_t *parts, ngx_uint_t n, ngx_uint_t type, u_char *id,
    ngx_pool_t *pool, ngx_log_t *log);
static ngx_int_t ngx_http_consent_log_send(ngx_http_consent_log_conf_t *lcf,
    u_char *line, size_t len, ngx_log_t *log);
static ngx_int_t ngx_http_consent_log_leaf(ngx_http_consent_log_conf_t *lcf,
    u_char *leaf, size_t len, ngx_uint_t type, u_char *id, ngx_log_t *log);
static ngx_int_t ngx_http_consent_log_side(ngx_http_consent_log_conf_t *lcf,
    ngx_open_file_t *file, off_t *size, u_char *buf, size_t len,
    ngx_log_t *log);
static void ngx_http_consent_log_checkpoint(ngx_http_consent_log_conf_t *lcf,
    ngx_log_t *log);
static void ngx_http_consent_log_replace(ngx_http_consent_log_conf_t *lcf,
    u_char *note, size_t len, ngx_log_t *log);
static ngx_int_t ngx_http_consent_log_check_files(
    ngx_http_consent_log_conf_t *lcf, ngx_log_t *log);
static ngx_int_t ngx_http_consent_log_follow(ngx_http_consent_log_conf_t *lcf,
    ngx_open_file_t *file, ngx_log_t *log);
static ngx_int_t ngx_http_consent_log_write_file(ngx_open_file_t *file,
    u_char *buf, size_t len, ngx_log_t *log);
static void ngx_http_consent_log_timer(ngx_event_t *ev);
static ngx_int_t ngx_http_consent_log_sync(ngx_http_consent_log_conf_t *lcf,
    uint64_t size, ngx_log_t *log);
#if (NGX_THREADS)
static ngx_http_consent_log_wait_t *ngx_http_consent_log_waiting(
    ngx_http_consent_log_conf_t *lcf, ngx_http_request_t *r);
static ngx_int_t ngx_http_consent_log_wait(ngx_http_consent_log_conf_t *lcf,
    ngx_http_request_t *r, ngx_http_consent_choice_t *choice, uint64_t size);
static void ngx_http_consent_log_wait_cleanup(void *data);
static ngx_int_t ngx_http_consent_log_post_sync(
    ngx_http_consent_log_conf_t *lcf, ngx_log_t *log);
static void ngx_http_consent_log_sync_thread(void *data, ngx_log_t *log);
static void ngx_http_consent_log_sync_done(ngx_event_t *ev);
static void ngx_http_consent_log_hold(ngx_event_t *ev);
#endif


static ngx_str_t  ngx_http_consent_log_zone_name =
    ngx_string("consent_log");


static ngx_str_t  ngx_http_consent_log_actions[] = {
    ngx_string("accept_all"), ngx_string("reject_all"), ngx_string("save"),
    ngx_string("withdraw")
};


static ngx_str_t  ngx_http_consent_log_sources[] = {
    ngx_string("banner"), ngx_string("page"), ngx_string("api")
};


/*
 * consent_log PATH|syslog:server=ADDR[,...]|off [sign=KEY.pem]
 *             [ip=truncate|hash|none] [origin=NAME] [checkpoint=N]
 *             [checkpoint_interval=TIME] [sync=on|off];
 *
 * May be given more than once (a file and a syslog collector): every
 * record goes to each; the parameters apply to all and must not differ.
 */

char *
ngx_http_consent_log(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_consent_main_conf_t *mcf = conf;

    char                           *rv;
    ngx_str_t                      *value, name;
    ngx_uint_t                      i;
    ngx_file_info_t                 fi;
    ngx_pool_cleanup_t             *cln;
    ngx_http_consent_log_conf_t    *lcf;
    ngx_http_consent_log_target_t  *t;

    value = cf->args->elts;
    lcf = mcf->log;

    if (lcf == NULL) {
        lcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_consent_log_conf_t));
        if (lcf == NULL) {
            return NGX_CONF_ERROR;
        }

        /*
         * set by ngx_pcalloc():
         *
         *     lcf->off = 0;
         *     lcf->main = NULL;
         *     lcf->sign = { 0, NULL };
         *     lcf->origin = { 0, NULL };
         *     lcf->key = NULL;
         *     lcf->zone = NULL;
         */

        lcf->ip = NGX_CONF_UNSET_UINT;
        lcf->sync = NGX_CONF_UNSET;
        lcf->cp_records = NGX_CONF_UNSET_UINT;
        lcf->cp_interval = NGX_CONF_UNSET_MSEC;

        for (i = 0; i < 3; i++) {
            lcf->read_fd[i] = NGX_INVALID_FILE;
        }

        lcf->log_fd = NGX_INVALID_FILE;

        if (ngx_array_init(&lcf->targets, cf->pool, 2,
                           sizeof(ngx_http_consent_log_target_t))
            != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }

        cln = ngx_pool_cleanup_add(cf->pool, 0);
        if (cln == NULL) {
            return NGX_CONF_ERROR;
        }

        cln->handler = ngx_http_consent_log_cleanup;
        cln->data = lcf;

        mcf->log = lcf;
    }

    if (ngx_strcmp(value[1].data, "off") == 0) {

        if (cf->args->nelts > 2) {
            return "takes no other parameter with \"off\"";
        }

        if (lcf->off || lcf->targets.nelts) {
            return "is duplicate: \"off\" cannot be combined with another "
                   "\"consent_log\"";
        }

        lcf->off = 1;
        return NGX_CONF_OK;
    }

    if (lcf->off) {
        return "is duplicate: \"consent_log off\" is already set";
    }

    t = ngx_array_push(&lcf->targets);
    if (t == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(t, sizeof(ngx_http_consent_log_target_t));

    if (ngx_strncmp(value[1].data, "syslog:", 7) == 0) {
        t->syslog = ngx_pcalloc(cf->pool, sizeof(ngx_syslog_peer_t));
        if (t->syslog == NULL) {
            return NGX_CONF_ERROR;
        }

        if (ngx_syslog_process_conf(cf, t->syslog) != NGX_CONF_OK) {
            return NGX_CONF_ERROR;
        }

    } else {
        name = value[1];

        if (name.len == 0) {
            return "needs a file name, \"syslog:server=ADDR\" or \"off\"";
        }

        t->file = ngx_conf_open_file(cf->cycle, &name);
        if (t->file == NULL) {
            return NGX_CONF_ERROR;
        }

        /*
         * The first file keeps the tree beside it; a log that is not a
         * regular file (a device, a pipe) cannot: no files are made next
         * to it, the tree lives in memory, and there are no receipts.
         */

        if (lcf->main == NULL) {
            lcf->main = t->file;

            if (ngx_file_info(t->file->name.data, &fi) != NGX_FILE_ERROR
                && !S_ISREG(fi.st_mode))
            {
                ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                                   "\"consent_log\" \"%V\" is not a regular "
                                   "file: the tree cannot be kept beside it, "
                                   "a restart starts a new one, and readers "
                                   "get no receipt", &t->file->name);
                goto params;
            }

            lcf->hashes = ngx_http_consent_log_beside(cf, &name,
                                               NGX_HTTP_CONSENT_LOG_HASHES);
            lcf->leaves = ngx_http_consent_log_beside(cf, &name,
                                               NGX_HTTP_CONSENT_LOG_LEAVES);
            lcf->index = ngx_http_consent_log_beside(cf, &name,
                                               NGX_HTTP_CONSENT_LOG_INDEX);

            if (lcf->hashes == NULL || lcf->leaves == NULL
                || lcf->index == NULL)
            {
                return NGX_CONF_ERROR;
            }

            lcf->checkpoint.len = t->file->name.len
                                  + sizeof(NGX_HTTP_CONSENT_LOG_CHECKPOINT);
            lcf->checkpoint.data = ngx_pnalloc(cf->pool,
                                               2 * lcf->checkpoint.len + 4);
            if (lcf->checkpoint.data == NULL) {
                return NGX_CONF_ERROR;
            }

            ngx_sprintf(lcf->checkpoint.data, "%V%s%Z", &t->file->name,
                        NGX_HTTP_CONSENT_LOG_CHECKPOINT);
            lcf->checkpoint.len--;

            lcf->checkpoint_tmp.data = lcf->checkpoint.data
                                       + lcf->checkpoint.len + 1;
            lcf->checkpoint_tmp.len = ngx_sprintf(lcf->checkpoint_tmp.data,
                                                  "%V.tmp%Z",
                                                  &lcf->checkpoint)
                                      - lcf->checkpoint_tmp.data - 1;
        }
    }

params:

    for (i = 2; i < cf->args->nelts; i++) {
        rv = ngx_http_consent_log_param(cf, lcf, &value[i]);
        if (rv != NGX_CONF_OK) {
            return rv;
        }
    }

    return NGX_CONF_OK;
}


/* PATH.hashes and the others: opened by the master, as the log itself */

static ngx_open_file_t *
ngx_http_consent_log_beside(ngx_conf_t *cf, ngx_str_t *name, char *suffix)
{
    size_t     len;
    ngx_str_t  s;

    len = ngx_strlen(suffix);

    s.len = name->len + len;
    s.data = ngx_pnalloc(cf->pool, s.len + 1);
    if (s.data == NULL) {
        return NULL;
    }

    ngx_sprintf(s.data, "%V%s%Z", name, suffix);

    return ngx_conf_open_file(cf->cycle, &s);
}


static char *
ngx_http_consent_log_param(ngx_conf_t *cf, ngx_http_consent_log_conf_t *lcf,
    ngx_str_t *value)
{
    ngx_str_t   s;
    ngx_int_t   n;
    ngx_uint_t  ip;
    ngx_msec_t  ms;
    ngx_flag_t  sync;

    if (ngx_strncmp(value->data, "sign=", 5) == 0) {
        s.len = value->len - 5;
        s.data = value->data + 5;

        if (s.len == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"consent_log\" needs a key file after "
                               "\"sign=\"; make one with \"openssl genpkey "
                               "-algorithm ed25519 -out log.pem\"");
            return NGX_CONF_ERROR;
        }

        if (ngx_conf_full_name(cf->cycle, &s, 1) != NGX_OK) {
            return NGX_CONF_ERROR;
        }

        if (lcf->sign.data != NULL) {
            if (lcf->sign.len == s.len
                && ngx_strncmp(lcf->sign.data, s.data, s.len) == 0)
            {
                return NGX_CONF_OK;
            }

            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"consent_log\" sign=\"%V\" differs from "
                               "sign=\"%V\" set before: one tree has one "
                               "key, give the same sign= to every "
                               "consent_log", &s, &lcf->sign);
            return NGX_CONF_ERROR;
        }

        lcf->key = ngx_http_consent_log_load_key(cf, &s);
        if (lcf->key == NULL) {
            return NGX_CONF_ERROR;
        }

        lcf->sign = s;

        return NGX_CONF_OK;
    }

    if (ngx_strncmp(value->data, "ip=", 3) == 0) {

        if (ngx_strcmp(value->data + 3, "truncate") == 0) {
            ip = NGX_HTTP_CONSENT_RECORD_IP_TRUNCATE;

        } else if (ngx_strcmp(value->data + 3, "hash") == 0) {
            ip = NGX_HTTP_CONSENT_RECORD_IP_HASH;

        } else if (ngx_strcmp(value->data + 3, "none") == 0) {
            ip = NGX_HTTP_CONSENT_RECORD_IP_NONE;

        } else {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid \"consent_log\" parameter \"%V\": "
                               "use ip=truncate (/24 and /48, the default), "
                               "ip=hash (keyed with the consent_secret) or "
                               "ip=none", value);
            return NGX_CONF_ERROR;
        }

        if (lcf->ip != NGX_CONF_UNSET_UINT && lcf->ip != ip) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"consent_log\" \"%V\" differs from the ip= "
                               "set before: give the same ip= to every "
                               "consent_log", value);
            return NGX_CONF_ERROR;
        }

        lcf->ip = ip;

        return NGX_CONF_OK;
    }

    if (ngx_strncmp(value->data, "origin=", 7) == 0) {
        s.len = value->len - 7;
        s.data = value->data + 7;

        if (!ngx_http_consent_note_valid_name((char *) s.data, s.len)) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid \"consent_log\" parameter \"%V\": "
                               "the origin names the log in its "
                               "checkpoints, 1 to 255 printable ASCII "
                               "characters without space or \"+\", such as "
                               "origin=example.com/consent-log", value);
            return NGX_CONF_ERROR;
        }

        if (lcf->origin.data != NULL
            && (lcf->origin.len != s.len
                || ngx_strncmp(lcf->origin.data, s.data, s.len) != 0))
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"consent_log\" \"%V\" differs from the "
                               "origin= set before: one tree has one "
                               "origin, give the same to every consent_log",
                               value);
            return NGX_CONF_ERROR;
        }

        lcf->origin = s;

        return NGX_CONF_OK;
    }

    if (ngx_strncmp(value->data, "checkpoint=", 11) == 0) {
        n = ngx_atoi(value->data + 11, value->len - 11);

        if (n < 1) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid \"consent_log\" parameter \"%V\": "
                               "checkpoint= takes a number of records, at "
                               "least 1, such as checkpoint=1000", value);
            return NGX_CONF_ERROR;
        }

        lcf->cp_records = (ngx_uint_t) n;

        return NGX_CONF_OK;
    }

    if (ngx_strncmp(value->data, "checkpoint_interval=", 20) == 0) {
        s.len = value->len - 20;
        s.data = value->data + 20;

        ms = ngx_parse_time(&s, 0);

        if (ms == (ngx_msec_t) NGX_ERROR || ms == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid \"consent_log\" parameter \"%V\": "
                               "checkpoint_interval= takes a time above 0, "
                               "such as checkpoint_interval=10s or 500ms",
                               value);
            return NGX_CONF_ERROR;
        }

        lcf->cp_interval = ms;

        return NGX_CONF_OK;
    }

    if (ngx_strncmp(value->data, "sync=", 5) == 0) {

        if (ngx_strcmp(value->data + 5, "on") == 0) {
            sync = 1;

        } else if (ngx_strcmp(value->data + 5, "off") == 0) {
            sync = 0;

        } else {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid \"consent_log\" parameter \"%V\": "
                               "use sync=on (the answer waits for the disk, "
                               "the default) or sync=off", value);
            return NGX_CONF_ERROR;
        }

        if (lcf->sync != NGX_CONF_UNSET && lcf->sync != sync) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"consent_log\" \"%V\" differs from the "
                               "sync= set before: give the same sync= to "
                               "every consent_log", value);
            return NGX_CONF_ERROR;
        }

        lcf->sync = sync;

        return NGX_CONF_OK;
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid \"consent_log\" parameter \"%V\": the "
                       "parameters are sign=KEY.pem, ip=truncate|hash|none, "
                       "origin=NAME, checkpoint=N, checkpoint_interval=TIME "
                       "and sync=on|off", value);

    return NGX_CONF_ERROR;
}


static EVP_PKEY *
ngx_http_consent_log_load_key(ngx_conf_t *cf, ngx_str_t *file)
{
    char             err[NGX_MAX_PATH + 256];
    EVP_PKEY        *key;
    ngx_file_info_t  fi;

    if (ngx_file_info(file->data, &fi) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "\"consent_log\" cannot read the key \"%V\"; "
                           "make one with \"openssl genpkey -algorithm "
                           "ed25519 -out %V && chmod 600 %V\" and let nginx "
                           "read it", file, file, file);
        return NULL;
    }

    key = ngx_http_consent_record_load_key((char *) file->data, 1, err,
                                           sizeof(err));
    if (key == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"consent_log\" sign=: %s", err);
        return NULL;
    }

    if (fi.st_mode & (S_IROTH|S_IWOTH)) {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "\"consent_log\" key \"%V\" is readable by other "
                           "users, who could sign false records; run "
                           "\"chmod 600 %V\"", file, file);
    }

    return key;
}


static void
ngx_http_consent_log_cleanup(void *data)
{
    ngx_http_consent_log_conf_t  *lcf = data;

    if (lcf->key != NULL) {
        EVP_PKEY_free(lcf->key);
        lcf->key = NULL;
    }
}


/*
 * Shutdown (and the end of an old configuration): a last checkpoint.
 * Registered after the syslog peers' own cleanups, it runs before them,
 * while their sockets are open.
 */

static void
ngx_http_consent_log_shutdown(void *data)
{
    ngx_http_consent_log_conf_t  *lcf = data;

    ngx_uint_t  i;

    /*
     * Not for an old configuration in the master after a reload: its
     * files are closed by then, and their descriptors may be others'.
     */

    if (lcf->sh != NULL && !ngx_test_config
        && (ngx_process == NGX_PROCESS_WORKER || ngx_terminate || ngx_quit))
    {
        ngx_shmtx_lock(&lcf->shpool->mutex);
        ngx_http_consent_log_checkpoint(lcf, ngx_cycle->log);
        ngx_shmtx_unlock(&lcf->shpool->mutex);
    }

    for (i = 0; i < 3; i++) {
        if (lcf->read_fd[i] != NGX_INVALID_FILE) {
            (void) ngx_close_file(lcf->read_fd[i]);
            lcf->read_fd[i] = NGX_INVALID_FILE;
        }
    }
}


ngx_int_t
ngx_http_consent_log_init(ngx_conf_t *cf)
{
    u_char                        *p;
    ngx_pool_cleanup_t            *cln;
    ngx_http_consent_secret_t     *secret;
    ngx_http_consent_log_conf_t   *lcf;
    ngx_http_consent_main_conf_t  *mcf;

    mcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_consent_module);
    lcf = mcf->log;

    if (lcf == NULL || lcf->off) {
        return NGX_OK;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_consent_log_shutdown;
    cln->data = lcf;

    if (lcf->ip == NGX_CONF_UNSET_UINT) {
        lcf->ip = NGX_HTTP_CONSENT_RECORD_IP_TRUNCATE;
    }

    /*
     * A checkpoint every 1000 records or 10 s: its Ed25519 signature costs
     * about 60 us, 0.06 us a record at that rate, and a reader waits at
     * most 10 s for a receipt; an idle log writes none.
     */

    ngx_conf_init_uint_value(lcf->cp_records,
                             NGX_HTTP_CONSENT_LOG_CP_RECORDS);
    ngx_conf_init_msec_value(lcf->cp_interval,
                             NGX_HTTP_CONSENT_LOG_CP_INTERVAL);
    ngx_conf_init_value(lcf->sync, 1);

    if (lcf->origin.data == NULL) {
        lcf->origin.len = cf->cycle->hostname.len + sizeof("/consent-log") - 1;
        lcf->origin.data = ngx_pnalloc(cf->pool, lcf->origin.len);
        if (lcf->origin.data == NULL) {
            return NGX_ERROR;
        }

        p = ngx_cpymem(lcf->origin.data, cf->cycle->hostname.data,
                       cf->cycle->hostname.len);
        ngx_memcpy(p, "/consent-log", sizeof("/consent-log") - 1);

        if (!ngx_http_consent_note_valid_name((char *) lcf->origin.data,
                                              lcf->origin.len))
        {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "\"consent_log\" cannot name its checkpoints "
                          "after the host name \"%V\"; give one with "
                          "origin=example.com/consent-log",
                          &cf->cycle->hostname);
            return NGX_ERROR;
        }
    }

    if (lcf->ip == NGX_HTTP_CONSENT_RECORD_IP_HASH) {
        if (mcf->secrets == NULL || mcf->secrets->nelts == 0) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "\"consent_log ... ip=hash\" keys the hash with "
                          "the first \"consent_secret\", and none is set; "
                          "add \"consent_secret\" or use ip=truncate");
            return NGX_ERROR;
        }

        secret = mcf->secrets->elts;
        lcf->ip_key = secret[0].ip_key;
    }

    if (lcf->key == NULL) {
        ngx_log_error(NGX_LOG_WARN, cf->log, 0,
                      "\"consent_log\" has no sign=KEY.pem: its tree has no "
                      "signed checkpoint, an auditor cannot tell its "
                      "records from forged ones and readers get no "
                      "receipt; add sign=KEY.pem");
    }

    if (lcf->main == NULL && lcf->sync) {
        ngx_log_error(NGX_LOG_WARN, cf->log, 0,
                      "\"consent_log\" writes to syslog only: sync=on "
                      "cannot wait for a collector's disk, and receipts "
                      "need a log file; add a consent_log file");
    }

    if (ngx_http_consent_log_policy(cf, mcf, lcf) != NGX_OK) {
        return NGX_ERROR;
    }

#if (NGX_THREADS)
    /* sync=on: fdatasync() in nginx's default thread pool */

    ngx_queue_init(&lcf->waiting);

    if (lcf->sync && lcf->main != NULL) {
        lcf->thread_pool = ngx_thread_pool_add(cf, NULL);
        if (lcf->thread_pool == NULL) {
            return NGX_ERROR;
        }
    }
#endif

    lcf->zone = ngx_shared_memory_add(cf, &ngx_http_consent_log_zone_name,
                                      NGX_HTTP_CONSENT_LOG_ZONE_SIZE,
                                      &ngx_http_consent_module);
    if (lcf->zone == NULL) {
        return NGX_ERROR;
    }

    lcf->zone->init = ngx_http_consent_log_init_zone;
    lcf->zone->data = lcf;

    return NGX_OK;
}


/*
 * The policy record of this configuration: revision, categories, texts and
 * their hashes. Its hash, kept in shared memory once written, tells the
 * first worker that serves a new configuration to write it. It is printed
 * here, once, around its seq and its ts, so that writing it takes no
 * malloc().
 */

static ngx_int_t
ngx_http_consent_log_policy(ngx_conf_t *cf,
    ngx_http_consent_main_conf_t *mcf, ngx_http_consent_log_conf_t *lcf)
{
    u_char                        *p, *buf, *seq, *end;
    size_t                         n;
    json_t                        *policy, *cats, *texts, *hashes, *v;
    ngx_uint_t                     i;
    ngx_http_consent_texts_t      *t;
    ngx_http_consent_category_t   *c;
    char                           hex[NGX_HTTP_CONSENT_RECORD_HEX_LEN + 1];

    static const char              tail[] = "\"ts\":\"\",\"type\":\"policy\"}";

    policy = json_object();
    cats = json_array();
    texts = json_object();
    hashes = json_object();

    if (policy == NULL || cats == NULL || texts == NULL || hashes == NULL) {
        goto failed;
    }

    json_object_set_new(policy, "type", json_string("policy"));
    json_object_set_new(policy, "revision",
                        json_integer((json_int_t) mcf->revision));
    json_object_set(policy, "categories", cats);
    json_object_set(policy, "texts", texts);
    json_object_set(policy, "text_hash", hashes);

    if (mcf->categories) {
        c = mcf->categories->elts;

        for (i = 0; i < mcf->categories->nelts; i++) {
            v = json_pack("{s:s%, s:b, s:b}",
                          "name", (char *) c[i].name.data, c[i].name.len,
                          "required", (int) c[i].required,
                          "gpc", (int) c[i].gpc);

            if (v == NULL || json_array_append_new(cats, v) != 0) {
                goto failed;
            }
        }
    }

    if (mcf->texts) {
        t = mcf->texts->elts;

        for (i = 0; i < mcf->texts->nelts; i++) {
            p = ngx_pnalloc(cf->pool, t[i].lang.len + 1);
            if (p == NULL) {
                goto failed;
            }

            ngx_memcpy(p, t[i].lang.data, t[i].lang.len);
            p[t[i].lang.len] = '\0';

            ngx_http_consent_record_hex(t[i].hash, sizeof(t[i].hash), hex);

            if (json_object_set(texts, (char *) p, t[i].json) != 0
                || json_object_set_new(hashes, (char *) p, json_string(hex))
                   != 0)
            {
                goto failed;
            }
        }
    }

    if (ngx_http_consent_record_json_hash(policy, lcf->policy_hash) != 0) {
        goto failed;
    }

    /* seq 0 and an empty ts mark where the two go */

    if (json_object_set_new(policy, "node",
                            json_stringn((char *) cf->cycle->hostname.data,
                                         cf->cycle->hostname.len))
        != 0
        || json_object_set_new(policy, "seq", json_integer(0)) != 0
        || json_object_set_new(policy, "ts", json_string("")) != 0)
    {
        goto failed;
    }

    n = json_dumpb(policy, NULL, 0, NGX_HTTP_CONSENT_RECORD_FLAGS);

    buf = ngx_pnalloc(cf->pool, n + 1);
    if (buf == NULL || n == 0
        || json_dumpb(policy, (char *) buf, n, NGX_HTTP_CONSENT_RECORD_FLAGS)
           != n)
    {
        goto failed;
    }

    buf[n] = '\0';

    /*
     * The first top-level ,"seq":0, (a '"' after a ',' is never inside a
     * string, and no member before seq has keys of its own but the
     * categories'), and the tail.
     */

    seq = (u_char *) ngx_strstr(buf, ",\"seq\":0,");
    end = buf + n - (sizeof(tail) - 1);

    if (seq == NULL || n < sizeof(tail)
        || ngx_strcmp(end, tail) != 0)
    {
        goto failed;
    }

    lcf->policy_head.data = buf;
    lcf->policy_head.len = seq + sizeof(",\"seq\":") - 1 - buf;
    lcf->policy_middle.data = seq + sizeof(",\"seq\":0") - 1;
    lcf->policy_middle.len = end + sizeof("\"ts\":\"") - 1
                             - lcf->policy_middle.data;
    lcf->policy_tail.data = end + sizeof("\"ts\":\"") - 1;
    lcf->policy_tail.len = buf + n - lcf->policy_tail.data;

    json_decref(policy);
    json_decref(cats);
    json_decref(texts);
    json_decref(hashes);

    return NGX_OK;

failed:

    ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                  "\"consent_log\": cannot build the policy record");

    json_decref(policy);
    json_decref(cats);
    json_decref(texts);
    json_decref(hashes);

    return NGX_ERROR;
}


static ngx_int_t
ngx_http_consent_log_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_consent_log_conf_t  *olcf = data;

    ngx_http_consent_log_conf_t  *lcf;

    lcf = shm_zone->data;

    if (olcf != NULL) {
        /* reload: the tree goes on */
        lcf->shpool = olcf->shpool;
        lcf->sh = olcf->sh;

        ngx_shmtx_lock(&lcf->shpool->mutex);
        lcf->generation = ++lcf->sh->generation;
        ngx_shmtx_unlock(&lcf->shpool->mutex);

        return NGX_OK;
    }

    lcf->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        lcf->sh = lcf->shpool->data;
        return NGX_OK;
    }

    lcf->sh = ngx_slab_alloc(lcf->shpool, sizeof(ngx_http_consent_log_sh_t));
    if (lcf->sh == NULL) {
        return NGX_ERROR;
    }

    lcf->shpool->data = lcf->sh;

    ngx_memzero(lcf->sh, sizeof(ngx_http_consent_log_sh_t));
    lcf->generation = lcf->sh->generation = 1;

    if (!ngx_test_config) {
        ngx_http_consent_log_recover(lcf, shm_zone->shm.log);
    }

    return NGX_OK;
}


/*
 * A new zone (nginx started): the tree is loaded from PATH.hashes, the
 * files beside the log are cut back to the last leaf they all have, and
 * the records of the log that they lack (written just before a crash, or
 * all of them for a log of the first format) are added. A line cut by a
 * crash is closed with a newline, so that the next record starts on its
 * own line. Then a checkpoint, when the last one does not cover the tree.
 */

static void
ngx_http_consent_log_recover(ngx_http_consent_log_conf_t *lcf,
    ngx_log_t *log)
{
    off_t                          size;
    uint64_t                       lo, hi, mid, count, n;
    ngx_fd_t                       fd;
    ngx_file_info_t                fi;
    ngx_http_consent_log_sh_t     *sh;
    ngx_http_consent_log_entry_t   e;

    sh = lcf->sh;

    if (lcf->hashes == NULL || lcf->main->fd == NGX_INVALID_FILE) {
        return;
    }

    if (ngx_fd_info(lcf->hashes->fd, &fi) == NGX_FILE_ERROR) {
        goto broken;
    }

    /* the largest tree whose hashes are all there */

    count = (uint64_t) ngx_file_size(&fi) / NGX_HTTP_CONSENT_TREE_HASH_LEN;
    lo = 0;
    hi = count;

    while (lo < hi) {
        mid = lo + (hi - lo + 1) / 2;

        if (ngx_http_consent_tree_stored_count(mid) <= count) {
            lo = mid;

        } else {
            hi = mid - 1;
        }
    }

    n = lo;

    if (ngx_fd_info(lcf->index->fd, &fi) == NGX_FILE_ERROR) {
        goto broken;
    }

    count = (uint64_t) ngx_file_size(&fi)
            / sizeof(ngx_http_consent_log_entry_t);

    if (count < n) {
        n = count;
    }

    fd = ngx_open_file(lcf->index->name.data, NGX_FILE_RDONLY, NGX_FILE_OPEN,
                       0);
    if (fd == NGX_INVALID_FILE) {
        goto broken;
    }

    sh->leaves_size = 0;

    if (n > 0
        && pread(fd, &e, sizeof(e), (off_t) ((n - 1) * sizeof(e)))
           != (ssize_t) sizeof(e))
    {
        (void) ngx_close_file(fd);
        goto broken;
    }

    (void) ngx_close_file(fd);

    if (n > 0) {
        sh->leaves_size = (off_t) (e.offset + e.len + 1);
    }

    sh->hashes_size = (off_t) (ngx_http_consent_tree_stored_count(n)
                               * NGX_HTTP_CONSENT_TREE_HASH_LEN);
    sh->index_size = (off_t) (n * sizeof(ngx_http_consent_log_entry_t));

    if (ftruncate(lcf->hashes->fd, sh->hashes_size) == -1
        || ftruncate(lcf->index->fd, sh->index_size) == -1
        || ftruncate(lcf->leaves->fd, sh->leaves_size) == -1)
    {
        goto broken;
    }

    if (ngx_http_consent_tree_load(&sh->tree, n,
                                   ngx_http_consent_log_read_hash, lcf)
        != 0)
    {
        goto broken;
    }

    sh->synced = n;

    /* the records of the log beyond the tree */

    fd = ngx_open_file(lcf->main->name.data, NGX_FILE_RDONLY, NGX_FILE_OPEN,
                       0);

    if (fd != NGX_INVALID_FILE) {

        if (ngx_fd_info(fd, &fi) != NGX_FILE_ERROR && S_ISREG(fi.st_mode)) {
            size = ngx_file_size(&fi);
            sh->log_ino = ngx_file_uniq(&fi);
            sh->log_size = size;

            ngx_http_consent_log_replay(lcf, fd, 0, size, log);
        }

        (void) ngx_close_file(fd);
    }

    if (sh->tree.size) {
        ngx_log_error(NGX_LOG_NOTICE, log, 0,
                      "consent log \"%V\": the tree goes on after %uL "
                      "records", &lcf->main->name, sh->tree.size);
    }

    sh->synced = sh->tree.size;

    ngx_http_consent_log_load_checkpoint(lcf, log);
    ngx_http_consent_log_checkpoint(lcf, log);

    return;

broken:

    ngx_log_error(NGX_LOG_ALERT, log, ngx_errno,
                  "consent log \"%V\": the files beside it cannot be read "
                  "or repaired; receipts are off until they are, and the "
                  "tree starts again: check %V.hashes", &lcf->main->name,
                  &lcf->main->name);

    ngx_http_consent_tree_init(&sh->tree);
    sh->broken = 1;
}


static int
ngx_http_consent_log_read_hash(void *data, uint64_t index, unsigned char *out)
{
    ngx_http_consent_log_conf_t  *lcf = data;

    ngx_fd_t  fd;
    ssize_t   n;

    fd = lcf->read_fd[0];

    if (fd == NGX_INVALID_FILE) {
        fd = ngx_open_file(lcf->hashes->name.data, NGX_FILE_RDONLY,
                           NGX_FILE_OPEN, 0);
        if (fd == NGX_INVALID_FILE) {
            return -1;
        }

        lcf->read_fd[0] = fd;
    }

    n = pread(fd, out, NGX_HTTP_CONSENT_TREE_HASH_LEN,
              (off_t) (index * NGX_HTTP_CONSENT_TREE_HASH_LEN));

    return n == NGX_HTTP_CONSENT_TREE_HASH_LEN ? 0 : -1;
}


/*
 * Adds the whole lines of the log from offset from on whose seq is the
 * next leaf; earlier ones are skipped. A cut last line is closed.
 */

static void
ngx_http_consent_log_replay(ngx_http_consent_log_conf_t *lcf, ngx_fd_t fd,
    off_t from, off_t size, ngx_log_t *log)
{
    u_char                          *buf, *p, *nl, *end, *canon;
    size_t                           len, have;
    ssize_t                          n;
    ngx_http_consent_log_sh_t       *sh;
    ngx_http_consent_record_line_t   f;

    sh = lcf->sh;

    buf = ngx_alloc(NGX_HTTP_CONSENT_LOG_CHUNK + 1, log);
    canon = ngx_alloc(NGX_HTTP_CONSENT_LOG_CHUNK + 1, log);

    if (buf == NULL || canon == NULL) {
        goto done;
    }

    have = 0;

    while (from < size) {
        n = pread(fd, buf + have, NGX_HTTP_CONSENT_LOG_CHUNK - have,
                  from + (off_t) have);

        if (n <= 0) {
            ngx_log_error(NGX_LOG_ALERT, log, ngx_errno,
                          "consent log \"%V\": cannot read it",
                          &lcf->main->name);
            goto done;
        }

        end = buf + have + n;
        p = buf;

        for ( ;; ) {
            nl = ngx_strlchr(p, end, '\n');

            if (nl == NULL) {
                break;
            }

            len = nl - p;

            if (ngx_http_consent_record_fields((char *) p, len, &f) == 0
                && f.type != NGX_HTTP_CONSENT_RECORD_CHECKPOINT
                && f.seq == sh->tree.size + 1)
            {
                /* a signed record of the first format: without its sig */
                ngx_memcpy(canon, p, f.canonical);
                canon[f.canonical] = '}';

                if (ngx_http_consent_log_leaf(lcf, f.sig ? canon : p,
                                              f.sig ? f.canonical + 1 : len,
                                              (ngx_uint_t) f.type,
                                              f.has_id ? f.id : NULL, log)
                    != NGX_OK)
                {
                    goto done;
                }
            }

            p = nl + 1;
        }

        have = end - p;
        from += p - buf;

        if (have == NGX_HTTP_CONSENT_LOG_CHUNK) {
            ngx_log_error(NGX_LOG_ALERT, log, 0,
                          "consent log \"%V\": a line of more than 1 MiB",
                          &lcf->main->name);
            goto done;
        }

        if (from + (off_t) have >= size) {
            break;
        }

        ngx_memmove(buf, p, have);
    }

    if (have) {
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "consent log \"%V\" ends with a cut line; it is "
                      "closed, and consent-audit verify will name it",
                      &lcf->main->name);

        if (ngx_write_fd(lcf->main->fd, (u_char *) "\n", 1) != 1) {
            ngx_log_error(NGX_LOG_ALERT, log, ngx_errno,
                          "consent log \"%V\": write() failed",
                          &lcf->main->name);

        } else if (sh->log_size == size) {
            sh->log_size++;
        }
    }

done:

    if (buf != NULL) {
        ngx_free(buf);
    }

    if (canon != NULL) {
        ngx_free(canon);
    }
}


/* the latest checkpoint, if it is this log's and it still holds */

static void
ngx_http_consent_log_load_checkpoint(ngx_http_consent_log_conf_t *lcf,
    ngx_log_t *log)
{
    ssize_t                         n;
    ngx_fd_t                        fd;
    ngx_http_consent_log_sh_t      *sh;
    ngx_http_consent_checkpoint_t   cp;
    u_char                          root[NGX_HTTP_CONSENT_TREE_HASH_LEN];
    u_char                          note[NGX_HTTP_CONSENT_NOTE_LEN];

    sh = lcf->sh;

    if (lcf->key == NULL) {
        return;
    }

    fd = ngx_open_file(lcf->checkpoint.data, NGX_FILE_RDONLY, NGX_FILE_OPEN,
                       0);
    if (fd == NGX_INVALID_FILE) {
        return;
    }

    n = ngx_read_fd(fd, note, sizeof(note));
    (void) ngx_close_file(fd);

    if (n <= 0 || n == (ssize_t) sizeof(note)
        || ngx_http_consent_note_open((char *) note, (size_t) n, lcf->key,
                                      &cp)
           != NGX_HTTP_CONSENT_NOTE_OK
        || cp.origin_len != lcf->origin.len
        || ngx_strncmp(cp.origin, lcf->origin.data, cp.origin_len) != 0
        || cp.size > sh->tree.size
        || cp.size == 0
        || ngx_http_consent_tree_range_hash(0, cp.size,
                                            ngx_http_consent_log_read_hash,
                                            lcf, root)
           != 0
        || ngx_memcmp(root, cp.root, NGX_HTTP_CONSENT_TREE_HASH_LEN) != 0)
    {
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "consent log \"%V\": the checkpoint in \"%V\" is not "
                      "one of this tree; a new one replaces it",
                      &lcf->main->name, &lcf->checkpoint);
        return;
    }

    ngx_memcpy(sh->note, note, (size_t) n);
    sh->note_len = (size_t) n;
    sh->cp_size = cp.size;
}


ngx_int_t
ngx_http_consent_log_write(ngx_http_request_t *r,
    ngx_http_consent_choice_t *choice)
{
    u_char                        *head;
    uint64_t                       size;
    ngx_int_t                      rc;
    ngx_str_t                      parts[2], policy[4];
    ngx_time_t                    *tp;
    ngx_http_consent_log_sh_t     *sh;
    ngx_http_consent_log_conf_t   *lcf;
    ngx_http_consent_main_conf_t  *mcf;
    u_char                         ts[NGX_HTTP_CONSENT_RECORD_TS_LEN + 1];

    mcf = ngx_http_get_module_main_conf(r, ngx_http_consent_module);
    lcf = mcf->log;

    if (lcf == NULL || lcf->off || lcf->sh == NULL) {
        return NGX_OK;
    }

#if (NGX_THREADS)
    {
        ngx_http_consent_log_wait_t  *w;

        /* run again once on disk: the choice recorded, and the answer */

        w = ngx_http_consent_log_waiting(lcf, r);

        if (w != NULL) {
            ngx_queue_remove(&w->queue);
            w->request = NULL;
            *choice = w->choice;
            return w->rc;
        }
    }
#endif

    head = ngx_http_consent_log_consent(r, mcf, lcf, choice, &parts[1]);
    if (head == NULL) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "consent log: cannot build the record");
        return NGX_ERROR;
    }

    parts[0].data = head;
    parts[0].len = parts[1].data - head;

    sh = lcf->sh;

    ngx_shmtx_lock(&lcf->shpool->mutex);

    rc = ngx_http_consent_log_check_files(lcf, r->connection->log);

    /*
     * The first record of a configuration: its policy first. Workers of
     * an older configuration, still finishing their requests after a
     * reload, do not write theirs again: it is earlier in the log.
     */

    if (rc == NGX_OK
        && lcf->generation >= sh->policy_generation
        && ngx_memcmp(sh->policy, lcf->policy_hash,
                      NGX_HTTP_CONSENT_RECORD_HASH_LEN)
           != 0)
    {
        tp = ngx_timeofday();

        if (ngx_http_consent_record_ts(tp->sec, tp->msec, (char *) ts) == 0) {
            rc = NGX_ERROR;

        } else {
            policy[0] = lcf->policy_head;
            policy[1] = lcf->policy_middle;
            policy[2].data = ts;
            policy[2].len = NGX_HTTP_CONSENT_RECORD_TS_LEN;
            policy[3] = lcf->policy_tail;

            rc = ngx_http_consent_log_append(lcf, policy, 4,
                                             NGX_HTTP_CONSENT_RECORD_POLICY,
                                             NULL, r->pool,
                                             r->connection->log);
        }

        if (rc == NGX_OK) {
            ngx_memcpy(sh->policy, lcf->policy_hash,
                       NGX_HTTP_CONSENT_RECORD_HASH_LEN);
            sh->policy_generation = lcf->generation;
        }
    }

    if (rc == NGX_OK) {
        rc = ngx_http_consent_log_append(lcf, parts, 2,
                                         NGX_HTTP_CONSENT_RECORD_CONSENT,
                                         choice->id, r->pool,
                                         r->connection->log);
    }

    size = sh->tree.size;

    if (sh->tree.size - sh->cp_size >= lcf->cp_records) {
        ngx_http_consent_log_checkpoint(lcf, r->connection->log);
    }

    ngx_shmtx_unlock(&lcf->shpool->mutex);

    if (lcf->key != NULL && !lcf->timer.timer_set) {
        lcf->timer.handler = ngx_http_consent_log_timer;
        lcf->timer.data = lcf;
        lcf->timer.log = ngx_cycle->log;
        lcf->timer.cancelable = 1;

        ngx_add_timer(&lcf->timer, lcf->cp_interval);
    }

    if (rc == NGX_OK && lcf->sync && lcf->main != NULL) {
#if (NGX_THREADS)
        if (lcf->thread_pool != NULL) {
            return ngx_http_consent_log_wait(lcf, r, choice, size);
        }
#endif
        rc = ngx_http_consent_log_sync(lcf, size, r->connection->log);
    }

    return rc;
}


/*
 * The consent record, printed into the pool in its canonical form (keys
 * in order, compact, strings escaped as jansson does): the part up to
 * "seq": is returned, the rest goes to tail.
 */

static u_char *
ngx_http_consent_log_consent(ngx_http_request_t *r,
    ngx_http_consent_main_conf_t *mcf, ngx_http_consent_log_conf_t *lcf,
    ngx_http_consent_choice_t *choice, ngx_str_t *tail)
{
    u_char                       *buf, *p;
    size_t                        size;
    ngx_uint_t                    i;
    ngx_str_t                    *host;
    ngx_http_consent_ctx_t       *ctx;
    ngx_http_consent_texts_t     *t, *texts;
    ngx_http_consent_category_t  *c;
    char                          ts[NGX_HTTP_CONSENT_RECORD_TS_LEN + 1];

    if (ngx_http_consent_record_ts(choice->sec, choice->msec, ts) == 0
        || (ngx_uint_t) choice->action > NGX_HTTP_CONSENT_WITHDRAW
        || (ngx_uint_t) choice->source > NGX_HTTP_CONSENT_SOURCE_API)
    {
        return NULL;
    }

    host = &r->headers_in.server;

    /* strings take at most 6 bytes a byte, escaped */

    size = sizeof("{\"action\":\"\",\"denied\":[],\"gpc\":false,"
                  "\"granted\":[],\"host\":,\"id\":\"\",\"ip\":,"
                  "\"lang\":,\"node\":,\"revision\":,\"seq\":")
           + sizeof(",\"source\":\"\",\"text_hash\":,\"ts\":\"\","
                    "\"type\":\"consent\"}")
           + 16 + 2 * NGX_HTTP_CONSENT_ID_LEN + NGX_HTTP_CONSENT_RECORD_IP_LEN
           + 2 + NGX_INT_T_LEN + 16 + NGX_HTTP_CONSENT_RECORD_HEX_LEN + 2
           + NGX_HTTP_CONSENT_RECORD_TS_LEN
           + 6 * (host->len + choice->lang.len + ngx_cycle->hostname.len)
           + 3 * 16;

    if (mcf->categories) {
        c = mcf->categories->elts;

        for (i = 0; i < mcf->categories->nelts; i++) {
            size += 6 * c[i].name.len + 3;
        }
    }

    buf = ngx_pnalloc(r->pool, size);
    if (buf == NULL) {
        return NULL;
    }

    ctx = ngx_http_consent_get_ctx(r);

    p = ngx_sprintf(buf, "{\"action\":\"%V\",\"denied\":",
                    &ngx_http_consent_log_actions[choice->action]);
    p = ngx_http_consent_log_names(p, mcf, choice->denied);
    p = ngx_sprintf(p, ",\"gpc\":%s,\"granted\":",
                    (ctx != NULL && ctx->gpc) ? "true" : "false");
    p = ngx_http_consent_log_names(p, mcf, choice->granted);
    p = ngx_cpymem(p, ",\"host\":", sizeof(",\"host\":") - 1);
    p = ngx_http_consent_log_string(p, host);
    p = ngx_cpymem(p, ",\"id\":\"", sizeof(",\"id\":\"") - 1);
    ngx_http_consent_record_hex(choice->id, NGX_HTTP_CONSENT_ID_LEN,
                                (char *) p);
    p += 2 * NGX_HTTP_CONSENT_ID_LEN;
    p = ngx_cpymem(p, "\",\"ip\":", sizeof("\",\"ip\":") - 1);
    p = ngx_http_consent_log_ip(p, r, lcf);
    p = ngx_cpymem(p, ",\"lang\":", sizeof(",\"lang\":") - 1);
    p = ngx_http_consent_log_string(p, &choice->lang);
    p = ngx_cpymem(p, ",\"node\":", sizeof(",\"node\":") - 1);
    p = ngx_http_consent_log_string(p, (ngx_str_t *) &ngx_cycle->hostname);
    p = ngx_sprintf(p, ",\"revision\":%ui,\"seq\":", mcf->revision);

    tail->data = p;

    p = ngx_sprintf(p, ",\"source\":\"%V\",\"text_hash\":",
                    &ngx_http_consent_log_sources[choice->source]);

    /* the texts the reader was shown: those of the choice's language */

    texts = NULL;

    if (mcf->texts) {
        t = mcf->texts->elts;

        for (i = 0; i < mcf->texts->nelts; i++) {
            if (t[i].lang.len == choice->lang.len
                && ngx_strncmp(t[i].lang.data, choice->lang.data,
                               choice->lang.len) == 0)
            {
                texts = &t[i];
                break;
            }
        }
    }

    if (texts != NULL) {
        *p++ = '"';
        ngx_http_consent_record_hex(texts->hash, sizeof(texts->hash),
                                    (char *) p);
        p += 2 * sizeof(texts->hash);
        *p++ = '"';

    } else {
        p = ngx_cpymem(p, "null", 4);
    }

    p = ngx_sprintf(p, ",\"ts\":\"%s\",\"type\":\"consent\"}", ts);

    tail->len = p - tail->data;

    return buf;
}


static u_char *
ngx_http_consent_log_names(u_char *p, ngx_http_consent_main_conf_t *mcf,
    uint64_t mask)
{
    ngx_uint_t                    i, n;
    ngx_http_consent_category_t  *c;

    *p++ = '[';

    if (mcf->categories) {
        c = mcf->categories->elts;

        for (i = 0, n = 0; i < mcf->categories->nelts; i++) {
            if (mask & ((uint64_t) 1 << c[i].index)) {
                if (n++) {
                    *p++ = ',';
                }

                p = ngx_http_consent_log_string(p, &c[i].name);
            }
        }
    }

    *p++ = ']';

    return p;
}


static u_char *
ngx_http_consent_log_ip(u_char *p, ngx_http_request_t *r,
    ngx_http_consent_log_conf_t *lcf)
{
    int                   family;
    u_char               *addr;
    ngx_str_t             s;
    struct sockaddr      *sa;
    struct sockaddr_in   *sin;
#if (NGX_HAVE_INET6)
    struct sockaddr_in6  *sin6;
#endif
    char                  out[NGX_HTTP_CONSENT_RECORD_IP_LEN];

    if (lcf->ip == NGX_HTTP_CONSENT_RECORD_IP_NONE) {
        return ngx_cpymem(p, "null", 4);
    }

    sa = r->connection->sockaddr;

    switch (sa->sa_family) {

    case AF_INET:
        sin = (struct sockaddr_in *) sa;
        family = AF_INET;
        addr = (u_char *) &sin->sin_addr;
        break;

#if (NGX_HAVE_INET6)
    case AF_INET6:
        sin6 = (struct sockaddr_in6 *) sa;
        addr = sin6->sin6_addr.s6_addr;

        if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
            family = AF_INET;
            addr += 12;

        } else {
            family = AF_INET6;
        }

        break;
#endif

    default:
        /* a unix socket: no address */
        return ngx_cpymem(p, "null", 4);
    }

    if (ngx_http_consent_record_ip(family, addr, (int) lcf->ip,
                                   lcf->ip_key.data, lcf->ip_key.len, out,
                                   sizeof(out))
        != 0)
    {
        return ngx_cpymem(p, "null", 4);
    }

    s.data = (u_char *) out;
    s.len = ngx_strlen(out);

    return ngx_http_consent_log_string(p, &s);
}


static u_char *
ngx_http_consent_log_string(u_char *p, ngx_str_t *s)
{
    size_t  n;

    if (s->data == NULL || s->len == 0) {
        return ngx_cpymem(p, "\"\"", 2);
    }

    n = ngx_http_consent_record_json_string(s->data, s->len, (char *) p);

    /* not UTF-8 (a raw Host header): said so, as jansson would refuse it */

    if (n == 0) {
        return ngx_cpymem(p, "\"(not utf-8)\"", sizeof("\"(not utf-8)\"") - 1);
    }

    return p + n;
}


/*
 * Under the mutex: the record with the next seq, written to every target;
 * a leaf of the tree when at least one target has it. NGX_OK only when
 * every target has it.
 */

static ngx_int_t
ngx_http_consent_log_append(ngx_http_consent_log_conf_t *lcf,
    ngx_str_t *parts, ngx_uint_t n, ngx_uint_t type, u_char *id,
    ngx_pool_t *pool, ngx_log_t *log)
{
    u_char      *buf, *line, *p;
    size_t       len;
    ngx_int_t    rc;
    ngx_uint_t   i;

    len = NGX_HTTP_CONSENT_LOG_SEQ_LEN + 1;

    for (i = 0; i < n; i++) {
        len += parts[i].len;
    }

    buf = ngx_pnalloc(pool, NGX_HTTP_CONSENT_LOG_SYSLOG_HDR + len);
    if (buf == NULL) {
        return NGX_ERROR;
    }

    line = buf + NGX_HTTP_CONSENT_LOG_SYSLOG_HDR;

    p = ngx_cpymem(line, parts[0].data, parts[0].len);
    p = ngx_sprintf(p, "%uL", lcf->sh->tree.size + 1);

    for (i = 1; i < n; i++) {
        p = ngx_cpymem(p, parts[i].data, parts[i].len);
    }

    len = p - line;
    *p++ = '\n';

    /* a worker that dies from here to the end leaves the mark */

    lcf->sh->writer = ngx_pid;

    rc = ngx_http_consent_log_send(lcf, line, len + 1, log);

    if (rc == NGX_ERROR) {
        lcf->sh->writer = 0;
        return NGX_ERROR;
    }

    /* the files beside failing: the record stands, receipts are off */

    (void) ngx_http_consent_log_leaf(lcf, line, len, type, id, log);

    lcf->sh->writer = 0;

    return rc;
}


/*
 * A line to every target; line has NGX_HTTP_CONSENT_LOG_SYSLOG_HDR bytes
 * of room before it. NGX_OK when every target has it, NGX_DECLINED when
 * some, NGX_ERROR when none.
 *
 * The files are the proof: with a file, the answer is theirs, and a
 * syslog copy that fails shows as a gap in the collector's copy only;
 * with syslog alone, the answer is syslog's.
 */

static ngx_int_t
ngx_http_consent_log_send(ngx_http_consent_log_conf_t *lcf, u_char *line,
    size_t len, ngx_log_t *log)
{
    size_t                          hlen;
    ssize_t                         n;
    ngx_uint_t                      i, written, files, failed, lost;
    ngx_http_consent_log_target_t  *t;
    u_char                          hdr[NGX_HTTP_CONSENT_LOG_SYSLOG_HDR];

    written = 0;
    files = 0;
    failed = 0;
    lost = 0;
    t = lcf->targets.elts;

    for (i = 0; i < lcf->targets.nelts; i++) {

        if (t[i].file != NULL) {
            files++;

            if (ngx_http_consent_log_write_file(t[i].file, line, len, log)
                == NGX_OK)
            {
                written++;

                if (t[i].file == lcf->main) {
                    lcf->sh->log_size += len;
                }

            } else {
                failed++;
            }

            continue;
        }

        /* syslog: the header just before the line, without its '\n' */

        hlen = ngx_syslog_add_header(t[i].syslog, hdr) - hdr;
        ngx_memcpy(line - hlen, hdr, hlen);

        n = ngx_syslog_send(t[i].syslog, line - hlen, hlen + len - 1);

        if (n == (ssize_t) (hlen + len - 1)) {
            written++;

        } else {
            lost++;
        }
    }

    if (lost && files) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "consent log: record seq %uL not sent to syslog, "
                      "the file has it", lcf->sh->tree.size + 1);

    } else if (lost) {
        ngx_log_error(NGX_LOG_CRIT, log, 0,
                      "consent log: record seq %uL not sent to syslog",
                      lcf->sh->tree.size + 1);
    }

    if (written == 0) {
        return NGX_ERROR;
    }

    return (failed || (files == 0 && lost)) ? NGX_DECLINED : NGX_OK;
}


/*
 * A new leaf: its hashes, its line and its index entry to the files
 * beside the log, then the tree in shared memory. The sizes move on only
 * once all three are written: a worker that dies in between leaves bytes
 * that the next one cuts off (ngx_http_consent_log_check_files).
 */

static ngx_int_t
ngx_http_consent_log_leaf(ngx_http_consent_log_conf_t *lcf, u_char *leaf,
    size_t len, ngx_uint_t type, u_char *id, ngx_log_t *log)
{
    off_t                          hashes, leaves, index;
    size_t                         n;
    ngx_http_consent_log_sh_t     *sh;
    ngx_http_consent_tree_t        tree;
    ngx_http_consent_log_entry_t   e;
    u_char                         hash[NGX_HTTP_CONSENT_TREE_HASH_LEN];
    ngx_http_consent_tree_hash_t   stored[NGX_HTTP_CONSENT_TREE_HEIGHT];

    sh = lcf->sh;

    ngx_http_consent_tree_leaf_hash(leaf, len, hash);

    tree = sh->tree;
    n = ngx_http_consent_tree_append(&tree, hash, stored);

    if (lcf->hashes != NULL && !sh->broken) {
        ngx_memzero(&e, sizeof(ngx_http_consent_log_entry_t));

        if (id != NULL) {
            ngx_memcpy(e.id, id, NGX_HTTP_CONSENT_LOG_ID_LEN);
        }

        e.offset = (uint64_t) sh->leaves_size;
        e.len = (uint32_t) len;
        e.type = (uint32_t) type;

        hashes = sh->hashes_size;
        leaves = sh->leaves_size;
        index = sh->index_size;

        leaf[len] = '\n';

        if (ngx_http_consent_log_side(lcf, lcf->hashes, &hashes,
                                      (u_char *) stored,
                                      n * NGX_HTTP_CONSENT_TREE_HASH_LEN, log)
            != NGX_OK
            || ngx_http_consent_log_side(lcf, lcf->leaves, &leaves, leaf,
                                         len + 1, log)
               != NGX_OK
            || ngx_http_consent_log_side(lcf, lcf->index, &index,
                                         (u_char *) &e, sizeof(e), log)
               != NGX_OK)
        {
            sh->broken = 1;
            sh->tree = tree;
            goto failed;
        }

        sh->hashes_size = hashes;
        sh->leaves_size = leaves;
        sh->index_size = index;
    }

    sh->tree = tree;

    return NGX_OK;

failed:

    ngx_log_error(NGX_LOG_ALERT, log, 0,
                  "consent log: the files beside \"%V\" cannot be written; "
                  "the records go on, receipts are off until nginx is "
                  "restarted with them repaired",
                  lcf->main ? &lcf->main->name : &ngx_http_consent_log_zone_name);

    return NGX_ERROR;
}


static ngx_int_t
ngx_http_consent_log_side(ngx_http_consent_log_conf_t *lcf,
    ngx_open_file_t *file, off_t *size, u_char *buf, size_t len,
    ngx_log_t *log)
{
    ssize_t  n;

    n = ngx_write_fd(file->fd, buf, len);

    if (n != (ssize_t) len) {
        ngx_log_error(NGX_LOG_CRIT, log, ngx_errno,
                      ngx_write_fd_n " to \"%V\" failed", &file->name);
        return NGX_ERROR;
    }

    *size += len;

    return NGX_OK;
}


/*
 * Under the mutex: a signed checkpoint of the tree when it grew since the
 * last one, as a record of type "checkpoint" (not a leaf) and as the file
 * PATH.checkpoint.
 */

static void
ngx_http_consent_log_checkpoint(ngx_http_consent_log_conf_t *lcf,
    ngx_log_t *log)
{
    u_char                      *p;
    size_t                       len;
    ngx_time_t                  *tp;
    ngx_http_consent_log_sh_t   *sh;
    u_char                       root[NGX_HTTP_CONSENT_TREE_HASH_LEN];
    u_char                       note[NGX_HTTP_CONSENT_NOTE_LEN];
    u_char                       line[NGX_HTTP_CONSENT_LOG_SYSLOG_HDR
                                      + 6 * NGX_HTTP_CONSENT_NOTE_LEN
                                      + 128];

    sh = lcf->sh;

    if (lcf->key == NULL || sh->tree.size == 0
        || sh->tree.size == sh->cp_size)
    {
        return;
    }

    ngx_http_consent_tree_root(&sh->tree, root);

    len = ngx_http_consent_note_checkpoint(lcf->key, (char *) lcf->origin.data,
                                           lcf->origin.len, sh->tree.size,
                                           root, (char *) note, sizeof(note));
    if (len == 0) {
        ngx_log_error(NGX_LOG_ALERT, log, 0,
                      "consent log: cannot sign a checkpoint");
        return;
    }

    tp = ngx_timeofday();

    p = line + NGX_HTTP_CONSENT_LOG_SYSLOG_HDR;
    p = ngx_cpymem(p, "{\"note\":", sizeof("{\"note\":") - 1);
    p += ngx_http_consent_record_json_string(note, len, (char *) p);
    p = ngx_cpymem(p, ",\"ts\":\"", sizeof(",\"ts\":\"") - 1);
    p += ngx_http_consent_record_ts(tp->sec, tp->msec, (char *) p);
    p = ngx_cpymem(p, "\",\"type\":\"checkpoint\"}\n",
                   sizeof("\",\"type\":\"checkpoint\"}\n") - 1);

    if (ngx_http_consent_log_send(lcf, line + NGX_HTTP_CONSENT_LOG_SYSLOG_HDR,
                                  p - line - NGX_HTTP_CONSENT_LOG_SYSLOG_HDR,
                                  log)
        == NGX_ERROR)
    {
        return;
    }

    ngx_memcpy(sh->note, note, len);
    sh->note_len = len;
    sh->cp_size = sh->tree.size;
    sh->cp_time = ngx_current_msec;

    ngx_http_consent_log_replace(lcf, note, len, log);
}


/* PATH.checkpoint, replaced atomically: a new file, renamed over it */

static void
ngx_http_consent_log_replace(ngx_http_consent_log_conf_t *lcf, u_char *note,
    size_t len, ngx_log_t *log)
{
    ngx_fd_t   fd;
    ngx_err_t  err;

    if (lcf->checkpoint.data == NULL) {
        return;
    }

    fd = ngx_open_file(lcf->checkpoint_tmp.data, NGX_FILE_WRONLY,
                       NGX_FILE_TRUNCATE, NGX_FILE_DEFAULT_ACCESS);

    if (fd == NGX_INVALID_FILE) {
        err = ngx_errno;
        goto failed;
    }

    if (ngx_write_fd(fd, note, len) != (ssize_t) len || fsync(fd) == -1) {
        err = ngx_errno;
        (void) ngx_close_file(fd);
        goto failed;
    }

    if (ngx_close_file(fd) == NGX_FILE_ERROR
        || ngx_rename_file(lcf->checkpoint_tmp.data, lcf->checkpoint.data)
           == NGX_FILE_ERROR)
    {
        err = ngx_errno;
        goto failed;
    }

    return;

failed:

    /* once per worker: the checkpoint records in the log still have it */

    if (!lcf->warned) {
        lcf->warned = 1;
        ngx_log_error(NGX_LOG_WARN, log, err,
                      "consent log: cannot replace \"%V\"; the log has "
                      "the checkpoint, but P+checkpoint and restarts need "
                      "the file: let the workers' user write into its "
                      "directory", &lcf->checkpoint);
    }
}


/*
 * Under the mutex, before a record: the log still the file at its path
 * (after a rotation), what a worker that died mid-append left behind, and
 * a new file begun with the checkpoint of the tree so far.
 */

static ngx_int_t
ngx_http_consent_log_check_files(ngx_http_consent_log_conf_t *lcf,
    ngx_log_t *log)
{
    off_t                       size;
    ngx_fd_t                    fd;
    ngx_uint_t                  i;
    ngx_file_info_t             fi;
    ngx_open_file_t            *side[3];
    ngx_http_consent_log_sh_t  *sh;
    off_t                      *expect[3];

    sh = lcf->sh;

    if (lcf->main == NULL) {
        return NGX_OK;
    }

    /*
     * Most of the time, without a system call: the descriptor as last
     * seen, the file the last record went to, no append left half done.
     * A worker's own reopen changes its descriptor; another's changes
     * sh->log_ino.
     */

    if (lcf->main->fd == lcf->log_fd && lcf->log_ino == sh->log_ino
        && sh->writer == 0)
    {
        return NGX_OK;
    }

    sh->writer = 0;

    if (ngx_http_consent_log_follow(lcf, lcf->main, log) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_fd_info(lcf->main->fd, &fi) == NGX_FILE_ERROR) {
        return NGX_OK;                 /* the write will say */
    }

    lcf->log_fd = lcf->main->fd;
    lcf->log_ino = ngx_file_uniq(&fi);

    size = ngx_file_size(&fi);

    if ((ino_t) ngx_file_uniq(&fi) != sh->log_ino) {

        /* a new file: it starts with the latest checkpoint */

        sh->log_ino = ngx_file_uniq(&fi);
        sh->log_size = size;
        sh->file_first = sh->tree.size;

        if (sh->cp_size != sh->tree.size) {
            ngx_http_consent_log_checkpoint(lcf, log);

        } else if (sh->note_len) {
            sh->cp_size = 0;
            ngx_http_consent_log_checkpoint(lcf, log);
        }

    } else if (size > sh->log_size) {

        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "consent log \"%V\": %O bytes a worker wrote before "
                      "it died are taken in", &lcf->main->name,
                      size - sh->log_size);

        fd = ngx_open_file(lcf->main->name.data, NGX_FILE_RDONLY,
                           NGX_FILE_OPEN, 0);

        if (fd != NGX_INVALID_FILE) {
            for (i = 0; i < 3; i++) {
                side[i] = i == 0 ? lcf->hashes
                                 : (i == 1 ? lcf->leaves : lcf->index);
            }

            expect[0] = &sh->hashes_size;
            expect[1] = &sh->leaves_size;
            expect[2] = &sh->index_size;

            for (i = 0; i < 3 && lcf->hashes != NULL; i++) {
                if (ngx_fd_info(side[i]->fd, &fi) != NGX_FILE_ERROR
                    && ngx_file_size(&fi) > *expect[i]
                    && ftruncate(side[i]->fd, *expect[i]) == -1)
                {
                    sh->broken = 1;
                }
            }

            ngx_http_consent_log_replay(lcf, fd, sh->log_size, size, log);
            (void) ngx_close_file(fd);
        }

        if (sh->log_size < size) {
            sh->log_size = size;
        }

    } else if (size < sh->log_size) {
        ngx_log_error(NGX_LOG_ALERT, log, 0,
                      "consent log \"%V\" is shorter than what was written "
                      "into it: someone cut it", &lcf->main->name);
        sh->log_size = size;
    }

    return NGX_OK;
}


/*
 * After a rotation (rename, then "nginx -s reopen"), workers reopen the
 * file one after the other; a worker that has not yet would write into the
 * renamed file after another already wrote into the new one, and the log
 * would step back a file. So, under the mutex, a worker whose descriptor
 * is no longer the file at the path opens the path itself. The master
 * creates the new file as root and only then gives it to the workers'
 * user: a worker that cannot open it yet waits for that, a little; one
 * that still cannot, while the new file already has records, refuses.
 */

static ngx_int_t
ngx_http_consent_log_follow(ngx_http_consent_log_conf_t *lcf,
    ngx_open_file_t *file, ngx_log_t *log)
{
    ngx_fd_t         fd;
    ngx_err_t        err;
    ngx_uint_t       try;
    ngx_file_info_t  fi, pfi;

    for (try = 0; /* void */; try++) {

        if (ngx_file_info(file->name.data, &pfi) == NGX_FILE_ERROR
            || ngx_fd_info(file->fd, &fi) == NGX_FILE_ERROR
            || (pfi.st_ino == fi.st_ino && pfi.st_dev == fi.st_dev))
        {
            return NGX_OK;
        }

        fd = ngx_open_file(file->name.data, NGX_FILE_APPEND,
                           NGX_FILE_CREATE_OR_OPEN, NGX_FILE_DEFAULT_ACCESS);

        if (fd != NGX_INVALID_FILE) {
            break;
        }

        err = ngx_errno;

        if (err != NGX_EACCES || try == NGX_HTTP_CONSENT_LOG_REOPEN_WAIT) {

            if (file == lcf->main && (ino_t) fi.st_ino != lcf->sh->log_ino) {
                ngx_log_error(NGX_LOG_CRIT, log, err,
                              ngx_open_file_n " \"%V\" failed, and the "
                              "records already go to the new file: this "
                              "one is refused rather than written to the "
                              "rotated file; give the new file to the "
                              "workers' user", &file->name);
                return NGX_ERROR;
            }

            ngx_log_error(NGX_LOG_WARN, log, err,
                          ngx_open_file_n " \"%V\" failed, the record goes "
                          "to the file being rotated", &file->name);
            return NGX_OK;
        }

        ngx_msleep(1);
    }

    if (ngx_close_file(file->fd) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_ALERT, log, ngx_errno,
                      ngx_close_file_n " \"%V\" failed", &file->name);
    }

    file->fd = fd;

    return NGX_OK;
}


static ngx_int_t
ngx_http_consent_log_write_file(ngx_open_file_t *file, u_char *buf,
    size_t len, ngx_log_t *log)
{
    off_t    end;
    ssize_t  n;

    n = ngx_write_fd(file->fd, buf, len);

    if (n == (ssize_t) len) {
        return NGX_OK;
    }

    if (n == -1) {
        ngx_log_error(NGX_LOG_CRIT, log, ngx_errno,
                      ngx_write_fd_n " to consent log \"%V\" failed",
                      &file->name);
        return NGX_ERROR;
    }

    ngx_log_error(NGX_LOG_CRIT, log, 0,
                  ngx_write_fd_n " to consent log \"%V\" was incomplete: "
                  "%z of %uz", &file->name, n, len);

    /* take the cut record back, so that the file holds whole lines */

    end = lseek(file->fd, 0, SEEK_CUR);

    if (end != -1 && ftruncate(file->fd, end - n) == -1) {
        ngx_log_error(NGX_LOG_ALERT, log, ngx_errno,
                      "ftruncate() of consent log \"%V\" failed",
                      &file->name);
    }

    return NGX_ERROR;
}


/* a checkpoint T ms after a record at the latest */

static void
ngx_http_consent_log_timer(ngx_event_t *ev)
{
    ngx_http_consent_log_conf_t  *lcf = ev->data;

    ngx_msec_t                  elapsed;
    ngx_uint_t                  pending;
    ngx_http_consent_log_sh_t  *sh;

    sh = lcf->sh;

    ngx_shmtx_lock(&lcf->shpool->mutex);

    elapsed = ngx_current_msec - sh->cp_time;

    if (sh->tree.size != sh->cp_size && elapsed >= lcf->cp_interval) {
        ngx_http_consent_log_checkpoint(lcf, ev->log);
        elapsed = 0;
    }

    pending = (sh->tree.size != sh->cp_size);

    ngx_shmtx_unlock(&lcf->shpool->mutex);

    if (pending && !ngx_exiting) {
        ngx_add_timer(ev, elapsed < lcf->cp_interval
                          ? lcf->cp_interval - elapsed : 1);
    }
}


/*
 * The record is on disk once an fdatasync() of the log that started after
 * it was written has ended, whichever worker called it: a worker that
 * finds its record covered answers at once (group commit). Only syncs of
 * the current file count for the records written into it.
 */

static ngx_int_t
ngx_http_consent_log_sync(ngx_http_consent_log_conf_t *lcf, uint64_t size,
    ngx_log_t *log)
{
    uint64_t                    start, first;
    ngx_uint_t                  current;
    ngx_file_info_t             fi;
    ngx_http_consent_log_sh_t  *sh;

    sh = lcf->sh;

    if (ngx_fd_info(lcf->main->fd, &fi) == NGX_FILE_ERROR) {
        current = 0;

    } else {
        current = 1;
    }

    ngx_shmtx_lock(&lcf->shpool->mutex);

    first = sh->file_first;
    current = current && (ino_t) ngx_file_uniq(&fi) == sh->log_ino;

    if (current && size > first && sh->synced >= size) {
        ngx_shmtx_unlock(&lcf->shpool->mutex);
        return NGX_OK;
    }

    start = sh->tree.size;

    ngx_shmtx_unlock(&lcf->shpool->mutex);

    if (fdatasync(lcf->main->fd) == -1) {
        ngx_log_error(NGX_LOG_CRIT, log, ngx_errno,
                      "fdatasync() of consent log \"%V\" failed: the "
                      "record may not be on disk, the consent is refused",
                      &lcf->main->name);
        return NGX_ERROR;
    }

    if (current) {
        ngx_shmtx_lock(&lcf->shpool->mutex);

        if (sh->file_first == first && sh->synced < start) {
            sh->synced = start;
        }

        ngx_shmtx_unlock(&lcf->shpool->mutex);
    }

    return NGX_OK;
}


#if (NGX_THREADS)

/*
 * sync=on with threads: the POST waits, off the event loop, for an
 * fdatasync() in the thread pool, one at a time per worker: all the POSTs
 * that came while one ran share the next (group commit), and a sync that
 * another worker ended after this record was written counts too. Once on
 * disk, the request runs its content phase again; the endpoint gets the
 * recorded choice back from ngx_http_consent_log_write() and answers.
 */

static ngx_int_t
ngx_http_consent_log_wait(ngx_http_consent_log_conf_t *lcf,
    ngx_http_request_t *r, ngx_http_consent_choice_t *choice, uint64_t size)
{
    uint64_t                      first;
    ngx_http_cleanup_t           *cln;
    ngx_http_consent_log_sh_t    *sh;
    ngx_http_consent_log_wait_t  *w;

    sh = lcf->sh;

    ngx_shmtx_lock(&lcf->shpool->mutex);
    first = sh->file_first;
    ngx_shmtx_unlock(&lcf->shpool->mutex);

    if (size > first && sh->synced >= size) {
        return NGX_OK;
    }

    w = ngx_pcalloc(r->pool, sizeof(ngx_http_consent_log_wait_t));
    cln = ngx_http_cleanup_add(r, 0);

    if (w == NULL || cln == NULL) {
        return NGX_ERROR;
    }

    w->request = r;
    w->choice = *choice;
    w->size = size;

    cln->handler = ngx_http_consent_log_wait_cleanup;
    cln->data = w;

    ngx_queue_insert_tail(&lcf->waiting, &w->queue);

    /*
     * A timer that is not cancelable keeps a worker that shuts down
     * gracefully alive until the waiting POSTs are answered.
     */

    if (!lcf->hold.timer_set) {
        lcf->hold.handler = ngx_http_consent_log_hold;
        lcf->hold.data = lcf;
        lcf->hold.log = ngx_cycle->log;
        ngx_add_timer(&lcf->hold, 1000);
    }

    if (!lcf->syncing
        && ngx_http_consent_log_post_sync(lcf, r->connection->log) != NGX_OK)
    {
        ngx_queue_remove(&w->queue);
        w->request = NULL;
        return NGX_ERROR;
    }

    r->main->count++;

    return NGX_AGAIN;
}


static ngx_http_consent_log_wait_t *
ngx_http_consent_log_waiting(ngx_http_consent_log_conf_t *lcf,
    ngx_http_request_t *r)
{
    ngx_queue_t                  *q;
    ngx_http_consent_log_wait_t  *w;

    for (q = ngx_queue_head(&lcf->waiting);
         q != ngx_queue_sentinel(&lcf->waiting);
         q = ngx_queue_next(q))
    {
        w = ngx_queue_data(q, ngx_http_consent_log_wait_t, queue);

        if (w->request == r && w->done) {
            return w;
        }
    }

    return NULL;
}


/* a request ended while it waited (the client went away) */

static void
ngx_http_consent_log_wait_cleanup(void *data)
{
    ngx_http_consent_log_wait_t  *w = data;

    if (w->request != NULL) {
        ngx_queue_remove(&w->queue);
        w->request = NULL;
    }
}


static ngx_int_t
ngx_http_consent_log_post_sync(ngx_http_consent_log_conf_t *lcf,
    ngx_log_t *log)
{
    ngx_http_consent_log_task_t  *t;

    if (lcf->task == NULL) {
        lcf->task = ngx_thread_task_alloc(ngx_cycle->pool,
                                        sizeof(ngx_http_consent_log_task_t));
        if (lcf->task == NULL) {
            return NGX_ERROR;
        }

        lcf->task->handler = ngx_http_consent_log_sync_thread;
        lcf->task->event.handler = ngx_http_consent_log_sync_done;
        lcf->task->event.data = lcf;
    }

    t = lcf->task->ctx;
    t->fd = lcf->main->fd;
    t->err = 0;

    /* what this sync covers: every leaf written so far */

    ngx_shmtx_lock(&lcf->shpool->mutex);
    lcf->task_start = lcf->sh->tree.size;
    lcf->task_first = lcf->sh->file_first;
    ngx_shmtx_unlock(&lcf->shpool->mutex);

    lcf->task->event.log = log;

    if (ngx_thread_task_post(lcf->thread_pool, lcf->task) != NGX_OK) {
        return NGX_ERROR;
    }

    lcf->syncing = 1;

    return NGX_OK;
}


static void
ngx_http_consent_log_sync_thread(void *data, ngx_log_t *log)
{
    ngx_http_consent_log_task_t  *t = data;

    if (fdatasync(t->fd) == -1) {
        t->err = ngx_errno;
    }
}


/* in the event loop: the POSTs the sync covers are answered */

static void
ngx_http_consent_log_sync_done(ngx_event_t *ev)
{
    ngx_http_consent_log_conf_t  *lcf = ev->data;

    ngx_int_t                     rc;
    ngx_queue_t                  *q, *next;
    ngx_connection_t             *c;
    ngx_http_request_t           *r;
    ngx_http_consent_log_sh_t    *sh;
    ngx_http_consent_log_task_t  *t;
    ngx_http_consent_log_wait_t  *w;

    sh = lcf->sh;
    t = lcf->task->ctx;
    lcf->syncing = 0;

    if (t->err) {
        ngx_log_error(NGX_LOG_CRIT, ev->log, t->err,
                      "fdatasync() of consent log \"%V\" failed: the "
                      "records may not be on disk, their consents are "
                      "refused", &lcf->main->name);
        rc = NGX_ERROR;

    } else {
        rc = NGX_OK;

        ngx_shmtx_lock(&lcf->shpool->mutex);

        if (sh->file_first == lcf->task_first
            && sh->synced < lcf->task_start)
        {
            sh->synced = lcf->task_start;
        }

        ngx_shmtx_unlock(&lcf->shpool->mutex);
    }

    for (q = ngx_queue_head(&lcf->waiting);
         q != ngx_queue_sentinel(&lcf->waiting);
         q = next)
    {
        next = ngx_queue_next(q);
        w = ngx_queue_data(q, ngx_http_consent_log_wait_t, queue);

        if (w->done
            || (rc == NGX_OK && w->size > lcf->task_start
                && !(w->size > sh->file_first && sh->synced >= w->size)))
        {
            continue;
        }

        w->done = 1;
        w->rc = rc;

        r = w->request;
        c = r->connection;

        /*
         * The content phase again: the count this wait took was the one
         * its first run gave back; this run ends the request.
         */

        r->write_event_handler = ngx_http_core_run_phases;
        ngx_http_core_run_phases(r);
        ngx_http_run_posted_requests(c);
    }

    if (ngx_queue_empty(&lcf->waiting) && lcf->hold.timer_set) {
        ngx_del_timer(&lcf->hold);
    }

    /* those written since: the next sync */

    for (q = ngx_queue_head(&lcf->waiting);
         q != ngx_queue_sentinel(&lcf->waiting);
         q = ngx_queue_next(q))
    {
        w = ngx_queue_data(q, ngx_http_consent_log_wait_t, queue);

        if (!w->done) {
            if (ngx_http_consent_log_post_sync(lcf, ev->log) != NGX_OK) {
                ngx_log_error(NGX_LOG_ALERT, ev->log, 0,
                              "consent log: cannot post fdatasync()");
            }

            break;
        }
    }
}

static void
ngx_http_consent_log_hold(ngx_event_t *ev)
{
    ngx_http_consent_log_conf_t  *lcf = ev->data;

    if (!ngx_queue_empty(&lcf->waiting)) {
        ngx_add_timer(ev, 1000);
    }
}

#endif
