
/*
 * Copyright (C) nginx-consent developers
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_consent_module.h"
#include "ngx_http_consent_log.h"


/*
 * The consent_log directive: its targets, the files beside the first one,
 * its parameters and their defaults, the policy record printed once, the
 * shared memory zone, and the last checkpoint at shutdown.
 */


/* the state, and the buffers of the files beside the log */
#define NGX_HTTP_CONSENT_LOG_ZONE_SIZE                                        \
    (32 * ngx_pagesize + NGX_HTTP_CONSENT_LOG_HASHES_BUF                      \
     + NGX_HTTP_CONSENT_LOG_LEAVES_BUF + NGX_HTTP_CONSENT_LOG_INDEX_BUF)
#define NGX_HTTP_CONSENT_LOG_CP_RECORDS   1000
#define NGX_HTTP_CONSENT_LOG_CP_INTERVAL  10000

/*
 * A policy record at most, but for its first language or cookie: one
 * syslog message in rsyslog's default 8 KB, with room for its header.
 * The bytes a record has besides its texts or cookies: those of its
 * skeleton, the node, seq, ts and list, and for each language its key
 * twice and its hash.
 */
#define NGX_HTTP_CONSENT_LOG_POLICY_MAX   7936
#define NGX_HTTP_CONSENT_LOG_POLICY_REST  64
#define NGX_HTTP_CONSENT_LOG_POLICY_LANG  (NGX_HTTP_CONSENT_RECORD_HEX_LEN + 16)


static ngx_open_file_t *ngx_http_consent_log_beside(ngx_conf_t *cf,
    ngx_str_t *name, char *suffix);
static char *ngx_http_consent_log_param(ngx_conf_t *cf,
    ngx_http_consent_log_conf_t *lcf, ngx_str_t *value);
static EVP_PKEY *ngx_http_consent_log_load_key(ngx_conf_t *cf,
    ngx_str_t *file);
static void ngx_http_consent_log_cleanup(void *data);
static void ngx_http_consent_log_shutdown(void *data);
static ngx_int_t ngx_http_consent_log_policy(ngx_conf_t *cf,
    ngx_http_consent_main_conf_t *mcf, ngx_http_consent_log_conf_t *lcf);
static json_t *ngx_http_consent_log_policy_lists(ngx_conf_t *cf,
    ngx_http_consent_main_conf_t *mcf);
static json_t *ngx_http_consent_log_policy_list(ngx_conf_t *cf,
    ngx_http_consent_main_conf_t *mcf, ngx_http_consent_loc_conf_t *clcf);
static json_t *ngx_http_consent_log_policy_cats(json_t *cats,
    ngx_uint_t cookies);
static ngx_int_t ngx_http_consent_log_policy_cookies(ngx_conf_t *cf,
    ngx_http_consent_main_conf_t *mcf, ngx_http_consent_log_conf_t *lcf,
    json_t *cats, ngx_uint_t list);
static ngx_int_t ngx_http_consent_log_policy_slice(ngx_conf_t *cf,
    ngx_http_consent_main_conf_t *mcf, ngx_http_consent_log_conf_t *lcf,
    json_t *slice, ngx_uint_t list);
static json_t *ngx_http_consent_log_policy_json(ngx_conf_t *cf,
    ngx_http_consent_main_conf_t *mcf, json_t *cats,
    ngx_http_consent_texts_t *t, ngx_uint_t from, ngx_uint_t to);
static size_t ngx_http_consent_log_policy_base(ngx_conf_t *cf,
    ngx_http_consent_main_conf_t *mcf, json_t *cats);
static ngx_int_t ngx_http_consent_log_template(ngx_conf_t *cf, json_t *rec,
    ngx_array_t *a);


static ngx_str_t  ngx_http_consent_log_zone_name =
    ngx_string("consent_log");


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

            /* what is buffered for them written out at "nginx -s reopen" */

            lcf->hashes->flush = ngx_http_consent_log_flush_file;
            lcf->hashes->data = lcf;

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

        if (ngx_http_consent_log_check_files(lcf, ngx_cycle->log) == NGX_OK) {
            ngx_http_consent_log_checkpoint(lcf, ngx_cycle->log);
        }

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

    if (ngx_http_consent_log_sync_init(cf, lcf) != NGX_OK) {
        return NGX_ERROR;
    }

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
 * The policy records of this configuration: revision, categories, and the
 * texts of each language with their hash, a few languages a record, so
 * that each fits one syslog message (36 languages together take about
 * 80 KB, more than a UDP datagram holds). The hash of all of it, kept in
 * shared memory once written, tells the first worker that serves a new
 * configuration to write them. They are printed here, once, around their
 * seq and ts, so that writing them takes no malloc().
 *
 * The categories' cookies are those of the http block's rules (list 0);
 * an endpoint whose preferences page lists others (its server's or
 * location's consent_strip_cookie) has them in records of their own,
 * "list":N, and its consent records say "cookie_list":N.
 */

static ngx_int_t
ngx_http_consent_log_policy(ngx_conf_t *cf,
    ngx_http_consent_main_conf_t *mcf, ngx_http_consent_log_conf_t *lcf)
{
    size_t                      size, len, csize, base;
    json_t                     *policy, *lists, *cats, *plain;
    ngx_uint_t                  i, j, n, inline_cookies;
    ngx_http_consent_texts_t   *t;

    policy = NULL;
    plain = NULL;
    csize = 0;
    inline_cookies = 0;

    lists = ngx_http_consent_log_policy_lists(cf, mcf);
    if (lists == NULL) {
        goto failed;
    }

    cats = json_array_get(lists, 0);

    for (i = 0; i < json_array_size(cats); i++) {
        csize += json_dumpb(json_object_get(json_array_get(cats, i),
                                            "cookies"),
                            NULL, 0, NGX_HTTP_CONSENT_RECORD_FLAGS);
    }

    t = mcf->texts ? mcf->texts->elts : NULL;
    n = mcf->texts ? mcf->texts->nelts : 0;

    /* the hash is of the whole policy, every language and list in it */

    policy = ngx_http_consent_log_policy_json(cf, mcf, cats, t, 0, n);

    if (policy == NULL
        || (json_array_size(lists) > 1
            && json_object_set(policy, "lists", lists) != 0)
        || ngx_http_consent_record_json_hash(policy, lcf->policy_hash) != 0)
    {
        goto failed;
    }

    json_decref(policy);
    policy = NULL;

    /*
     * The records: as many languages in each as fit in
     * NGX_HTTP_CONSENT_LOG_POLICY_MAX bytes (at least one), so that a
     * record fits one syslog message (rsyslog's default: 8 KB); one with
     * no texts if there are none.  The last one has the categories'
     * cookies too if they fit; if not, no record has them but those after
     * the last, as many cookies in each as fit.  The other lists follow.
     */

    plain = ngx_http_consent_log_policy_cats(cats, 0);
    if (plain == NULL) {
        goto failed;
    }

    lcf->policy = ngx_array_create(cf->pool, 3 * ngx_max(n, 1),
                                   sizeof(ngx_str_t));
    if (lcf->policy == NULL) {
        goto failed;
    }

    base = ngx_http_consent_log_policy_base(cf, mcf, plain);
    if (base == 0) {
        goto failed;
    }

    i = 0;

    do {
        size = base;

        for (j = i; j < n; j++) {
            len = json_dumpb(t[j].json, NULL, 0,
                             NGX_HTTP_CONSENT_RECORD_FLAGS)
                  + 2 * t[j].lang.len + NGX_HTTP_CONSENT_LOG_POLICY_LANG;

            if (j > i && size + len > NGX_HTTP_CONSENT_LOG_POLICY_MAX) {
                break;
            }

            size += len;
        }

        if (j == n && size + csize <= NGX_HTTP_CONSENT_LOG_POLICY_MAX) {
            inline_cookies = 1;
        }

        policy = ngx_http_consent_log_policy_json(cf, mcf,
                                                  inline_cookies ? cats
                                                                 : plain,
                                                  t, i, j);

        if (policy == NULL
            || ngx_http_consent_log_template(cf, policy, lcf->policy)
               != NGX_OK)
        {
            goto failed;
        }

        json_decref(policy);
        policy = NULL;

        i = j;

    } while (i < n);

    if (!inline_cookies
        && ngx_http_consent_log_policy_cookies(cf, mcf, lcf, cats, 0)
           != NGX_OK)
    {
        goto failed;
    }

    for (i = 1; i < json_array_size(lists); i++) {
        if (ngx_http_consent_log_policy_cookies(cf, mcf, lcf,
                                                json_array_get(lists, i), i)
            != NGX_OK)
        {
            goto failed;
        }
    }

    json_decref(plain);
    json_decref(lists);

    return NGX_OK;

failed:

    ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                  "\"consent_log\": cannot build the policy record");

    json_decref(policy);
    json_decref(plain);
    json_decref(lists);

    return NGX_ERROR;
}


/*
 * The lists of cookies the preferences pages show: the first under the
 * http block's rules, then each other one an endpoint shows, once; each
 * endpoint's cookie_list is set to its own.
 */

static json_t *
ngx_http_consent_log_policy_lists(ngx_conf_t *cf,
    ngx_http_consent_main_conf_t *mcf)
{
    size_t                         k;
    json_t                        *lists, *cats;
    ngx_uint_t                     i;
    ngx_http_consent_loc_conf_t   *clcf, **endpoint;

    lists = json_array();
    if (lists == NULL) {
        return NULL;
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_consent_module);

    cats = ngx_http_consent_log_policy_list(cf, mcf, clcf);

    if (cats == NULL || json_array_append_new(lists, cats) != 0) {
        goto failed;
    }

    endpoint = mcf->endpoints ? mcf->endpoints->elts : NULL;

    for (i = 0; mcf->endpoints && i < mcf->endpoints->nelts; i++) {

        if (endpoint[i]->strip_cookies == clcf->strip_cookies) {
            endpoint[i]->cookie_list = 0;
            continue;
        }

        cats = ngx_http_consent_log_policy_list(cf, mcf, endpoint[i]);
        if (cats == NULL) {
            goto failed;
        }

        for (k = 0; k < json_array_size(lists); k++) {
            if (json_equal(cats, json_array_get(lists, k))) {
                break;
            }
        }

        if (k == json_array_size(lists)) {
            if (json_array_append(lists, cats) != 0) {
                json_decref(cats);
                goto failed;
            }
        }

        json_decref(cats);
        endpoint[i]->cookie_list = k;
    }

    return lists;

failed:

    json_decref(lists);

    return NULL;
}


/* the categories, each with the cookies a preferences page lists under it */

static json_t *
ngx_http_consent_log_policy_list(ngx_conf_t *cf,
    ngx_http_consent_main_conf_t *mcf, ngx_http_consent_loc_conf_t *clcf)
{
    json_t                       *cats, *v, *cookies;
    ngx_uint_t                    i;
    ngx_http_consent_category_t  *c;

    cats = json_array();
    if (cats == NULL) {
        return NULL;
    }

    if (mcf->categories == NULL) {
        return cats;
    }

    c = mcf->categories->elts;

    for (i = 0; i < mcf->categories->nelts; i++) {
        cookies = ngx_http_consent_disclose_json(cf->pool, mcf, clcf, &c[i]);
        if (cookies == NULL) {
            json_decref(cats);
            return NULL;
        }

        v = json_pack("{s:s%, s:b, s:b, s:o}",
                      "name", (char *) c[i].name.data, c[i].name.len,
                      "required", (int) c[i].required,
                      "gpc", (int) c[i].gpc,
                      "cookies", cookies);

        if (v == NULL || json_array_append_new(cats, v) != 0) {
            json_decref(cats);
            return NULL;
        }
    }

    return cats;
}


/* the categories without their cookies, or each with an empty list */

static json_t *
ngx_http_consent_log_policy_cats(json_t *cats, ngx_uint_t cookies)
{
    json_t  *a, *v;
    size_t   i;

    a = json_array();
    if (a == NULL) {
        return NULL;
    }

    for (i = 0; i < json_array_size(cats); i++) {
        v = json_copy(json_array_get(cats, i));

        if (v == NULL
            || (cookies
                ? json_object_set_new(v, "cookies", json_array())
                : json_object_del(v, "cookies"))
               != 0
            || json_array_append_new(a, v) != 0)
        {
            json_decref(a);
            return NULL;
        }
    }

    return a;
}


/*
 * The policy records of the cookies (consent_cookie_info): no texts, each
 * category with a slice of its cookies, as many as fit in
 * NGX_HTTP_CONSENT_LOG_POLICY_MAX bytes (at least one); the slices of
 * consecutive records, in order, are each category's whole list.  A list
 * but the first is marked "list":N, and has a record even when empty.
 */

static ngx_int_t
ngx_http_consent_log_policy_cookies(ngx_conf_t *cf,
    ngx_http_consent_main_conf_t *mcf, ngx_http_consent_log_conf_t *lcf,
    json_t *cats, ngx_uint_t list)
{
    size_t   i, k, size, len, base;
    json_t  *slice, *cookies, *cookie;

    slice = ngx_http_consent_log_policy_cats(cats, 1);
    if (slice == NULL) {
        return NGX_ERROR;
    }

    base = ngx_http_consent_log_policy_base(cf, mcf, slice);
    json_decref(slice);

    if (base == 0) {
        return NGX_ERROR;
    }

    slice = NULL;
    size = 0;

    for (i = 0; i < json_array_size(cats); i++) {
        cookies = json_object_get(json_array_get(cats, i), "cookies");

        for (k = 0; k < json_array_size(cookies); k++) {
            cookie = json_array_get(cookies, k);
            len = json_dumpb(cookie, NULL, 0, NGX_HTTP_CONSENT_RECORD_FLAGS)
                  + 1;

            if (slice != NULL && size + len > NGX_HTTP_CONSENT_LOG_POLICY_MAX)
            {
                if (ngx_http_consent_log_policy_slice(cf, mcf, lcf, slice,
                                                      list)
                    != NGX_OK)
                {
                    return NGX_ERROR;
                }

                slice = NULL;
            }

            if (slice == NULL) {
                slice = ngx_http_consent_log_policy_cats(cats, 1);
                if (slice == NULL) {
                    return NGX_ERROR;
                }

                size = base;
            }

            if (json_array_append(json_object_get(json_array_get(slice, i),
                                                  "cookies"),
                                  cookie)
                != 0)
            {
                json_decref(slice);
                return NGX_ERROR;
            }

            size += len;
        }
    }

    if (slice == NULL) {
        if (list == 0) {
            return NGX_OK;
        }

        slice = ngx_http_consent_log_policy_cats(cats, 1);
        if (slice == NULL) {
            return NGX_ERROR;
        }
    }

    return ngx_http_consent_log_policy_slice(cf, mcf, lcf, slice, list);
}


/* a policy record of cookies only; slice is released */

static ngx_int_t
ngx_http_consent_log_policy_slice(ngx_conf_t *cf,
    ngx_http_consent_main_conf_t *mcf, ngx_http_consent_log_conf_t *lcf,
    json_t *slice, ngx_uint_t list)
{
    json_t     *policy;
    ngx_int_t   rc;

    policy = ngx_http_consent_log_policy_json(cf, mcf, slice, NULL, 0, 0);
    json_decref(slice);

    if (policy == NULL) {
        return NGX_ERROR;
    }

    rc = NGX_OK;

    if ((list > 0
         && json_object_set_new(policy, "list", json_integer(list)) != 0)
        || ngx_http_consent_log_template(cf, policy, lcf->policy) != NGX_OK)
    {
        rc = NGX_ERROR;
    }

    json_decref(policy);

    return rc;
}


/* the bytes of a policy record of these categories but its texts; 0: failed */

static size_t
ngx_http_consent_log_policy_base(ngx_conf_t *cf,
    ngx_http_consent_main_conf_t *mcf, json_t *cats)
{
    size_t   size;
    json_t  *policy;

    policy = ngx_http_consent_log_policy_json(cf, mcf, cats, NULL, 0, 0);
    if (policy == NULL) {
        return 0;
    }

    size = json_dumpb(policy, NULL, 0, NGX_HTTP_CONSENT_RECORD_FLAGS)
           + cf->cycle->hostname.len + NGX_HTTP_CONSENT_LOG_POLICY_REST;

    json_decref(policy);

    return size;
}


/* a policy record with the texts of languages [from, to) and their hashes */

static json_t *
ngx_http_consent_log_policy_json(ngx_conf_t *cf,
    ngx_http_consent_main_conf_t *mcf, json_t *cats,
    ngx_http_consent_texts_t *t, ngx_uint_t from, ngx_uint_t to)
{
    u_char      *p;
    json_t      *policy, *texts, *hashes;
    ngx_uint_t   i;
    char         hex[NGX_HTTP_CONSENT_RECORD_HEX_LEN + 1];

    texts = json_object();
    hashes = json_object();

    policy = json_pack("{s:s, s:I, s:O, s:o, s:o}",
                       "type", "policy",
                       "revision", (json_int_t) mcf->revision,
                       "categories", cats,
                       "texts", texts,
                       "text_hash", hashes);
    if (policy == NULL) {
        return NULL;
    }

    for (i = from; i < to; i++) {
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

    return policy;

failed:

    json_decref(policy);

    return NULL;
}


/*
 * A record printed in its canonical form with the node, "seq":0 and an
 * empty "ts" marking where the two go: head (up to the seq's digits),
 * middle (from after them to the ts's), tail, pushed onto a.
 */

static ngx_int_t
ngx_http_consent_log_template(ngx_conf_t *cf, json_t *rec, ngx_array_t *a)
{
    u_char     *buf, *seq, *end;
    size_t      n;
    ngx_str_t  *s;

    static const char  tail[] = "\"ts\":\"\",\"type\":\"policy\"}";

    if (json_object_set_new(rec, "node",
                            json_stringn((char *) cf->cycle->hostname.data,
                                         cf->cycle->hostname.len))
        != 0
        || json_object_set_new(rec, "seq", json_integer(0)) != 0
        || json_object_set_new(rec, "ts", json_string("")) != 0)
    {
        return NGX_ERROR;
    }

    n = json_dumpb(rec, NULL, 0, NGX_HTTP_CONSENT_RECORD_FLAGS);

    buf = ngx_pnalloc(cf->pool, n + 1);
    if (buf == NULL || n == 0
        || json_dumpb(rec, (char *) buf, n, NGX_HTTP_CONSENT_RECORD_FLAGS)
           != n)
    {
        return NGX_ERROR;
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
        return NGX_ERROR;
    }

    s = ngx_array_push_n(a, 3);
    if (s == NULL) {
        return NGX_ERROR;
    }

    s[0].data = buf;
    s[0].len = seq + sizeof(",\"seq\":") - 1 - buf;
    s[1].data = seq + sizeof(",\"seq\":0") - 1;
    s[1].len = end + sizeof("\"ts\":\"") - 1 - s[1].data;
    s[2].data = end + sizeof("\"ts\":\"") - 1;
    s[2].len = buf + n - s[2].data;

    return NGX_OK;
}

