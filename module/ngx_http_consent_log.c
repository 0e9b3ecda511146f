
/*
 * Copyright (C) nginx-consent developers
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <openssl/evp.h>

#include "ngx_http_consent_module.h"
#include "ngx_http_consent_record.h"


/*
 * The consent log: one JSON line per event, chained and signed by the
 * record core (ngx_http_consent_record.c). The head of the chain (seq and
 * the hash of the last record) lives in a shared memory zone, under the
 * zone's mutex, so that all workers extend one chain; the zone is reused on
 * reload, and a fresh zone starts from the last line of the log file, so
 * the chain also survives a restart. Records are written with one write()
 * each, under the mutex: workers cannot interleave, and the order of the
 * lines is the order of seq.
 */


#define NGX_HTTP_CONSENT_LOG_ZONE_SIZE    (8 * ngx_pagesize)
/* a consent record and a syslog header fit a small pool allocation */
#define NGX_HTTP_CONSENT_LOG_LINE         3072
#define NGX_HTTP_CONSENT_LOG_SYSLOG_HDR   512
#define NGX_HTTP_CONSENT_LOG_TAIL_MAX     (4 * 1024 * 1024)


typedef struct {
    ngx_open_file_t                *file;       /* or */
    ngx_syslog_peer_t              *syslog;
} ngx_http_consent_log_target_t;


/* in shared memory */
typedef struct {
    uint64_t                        seq;
    u_char                          prev[NGX_HTTP_CONSENT_RECORD_HASH_LEN];
    u_char                          policy[NGX_HTTP_CONSENT_RECORD_HASH_LEN];
    uint64_t                        policy_generation;
    uint64_t                        generation;   /* of configurations */
} ngx_http_consent_log_sh_t;


typedef struct {
    ngx_array_t                     targets;
    ngx_uint_t                      off;        /* unsigned flag */
    ngx_uint_t                      ip;         /* NGX_CONF_UNSET_UINT */

    ngx_str_t                       sign;
    EVP_PKEY                       *key;

    ngx_str_t                       ip_key;     /* for ip=hash */

    json_t                         *policy;     /* the policy record */
    u_char                          policy_hash[
                                        NGX_HTTP_CONSENT_RECORD_HASH_LEN];

    ngx_shm_zone_t                 *zone;
    uint64_t                        generation;
    ngx_slab_pool_t                *shpool;
    ngx_http_consent_log_sh_t      *sh;
} ngx_http_consent_log_conf_t;


static char *ngx_http_consent_log_param(ngx_conf_t *cf,
    ngx_http_consent_log_conf_t *lcf, ngx_str_t *value);
static EVP_PKEY *ngx_http_consent_log_load_key(ngx_conf_t *cf,
    ngx_str_t *file);
static void ngx_http_consent_log_cleanup(void *data);
static ngx_int_t ngx_http_consent_log_policy(ngx_conf_t *cf,
    ngx_http_consent_main_conf_t *mcf, ngx_http_consent_log_conf_t *lcf);
static ngx_int_t ngx_http_consent_log_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static void ngx_http_consent_log_recover(ngx_http_consent_log_conf_t *lcf,
    ngx_log_t *log);
static json_t *ngx_http_consent_log_record(ngx_http_request_t *r,
    ngx_http_consent_main_conf_t *mcf, ngx_http_consent_log_conf_t *lcf,
    ngx_http_consent_choice_t *choice);
static json_t *ngx_http_consent_log_names(ngx_http_consent_main_conf_t *mcf,
    uint64_t mask);
static json_t *ngx_http_consent_log_ip(ngx_http_request_t *r,
    ngx_http_consent_log_conf_t *lcf);
static json_t *ngx_http_consent_log_string(ngx_str_t *s);
static ngx_int_t ngx_http_consent_log_append(ngx_http_consent_log_conf_t *lcf,
    json_t *record, ngx_pool_t *pool, ngx_log_t *log);
static ngx_int_t ngx_http_consent_log_write_file(ngx_open_file_t *file,
    u_char *buf, size_t len, ngx_log_t *log);
static void ngx_http_consent_log_follow(ngx_open_file_t *file,
    ngx_log_t *log);


static ngx_str_t  ngx_http_consent_log_zone_name =
    ngx_string("consent_log");


static char  *ngx_http_consent_log_actions[] = {
    "accept_all", "reject_all", "save", "withdraw"
};


static char  *ngx_http_consent_log_sources[] = {
    "banner", "page", "api"
};


/*
 * consent_log PATH|syslog:server=ADDR[,...]|off [sign=KEY.pem]
 *             [ip=truncate|hash|none];
 *
 * May be given more than once (a file and a syslog collector): every
 * record goes to each; sign= and ip= apply to all and must not differ.
 */

char *
ngx_http_consent_log(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_consent_main_conf_t *mcf = conf;

    char                           *rv;
    ngx_str_t                      *value, name;
    ngx_uint_t                      i;
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
         *     lcf->sign = { 0, NULL };
         *     lcf->key = NULL;
         *     lcf->policy = NULL;
         *     lcf->zone = NULL;
         */

        lcf->ip = NGX_CONF_UNSET_UINT;

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
    }

    for (i = 2; i < cf->args->nelts; i++) {
        rv = ngx_http_consent_log_param(cf, lcf, &value[i]);
        if (rv != NGX_CONF_OK) {
            return rv;
        }
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_consent_log_param(ngx_conf_t *cf, ngx_http_consent_log_conf_t *lcf,
    ngx_str_t *value)
{
    ngx_str_t   s;
    ngx_uint_t  ip;

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
                               "sign=\"%V\" set before: one chain has one "
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

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid \"consent_log\" parameter \"%V\": the "
                       "parameters are sign=KEY.pem and "
                       "ip=truncate|hash|none", value);

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

    if (lcf->policy != NULL) {
        json_decref(lcf->policy);
        lcf->policy = NULL;
    }
}


ngx_int_t
ngx_http_consent_log_init(ngx_conf_t *cf)
{
    ngx_http_consent_secret_t     *secret;
    ngx_http_consent_log_conf_t   *lcf;
    ngx_http_consent_main_conf_t  *mcf;

    mcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_consent_module);
    lcf = mcf->log;

    if (lcf == NULL || lcf->off) {
        return NGX_OK;
    }

    if (lcf->ip == NGX_CONF_UNSET_UINT) {
        lcf->ip = NGX_HTTP_CONSENT_RECORD_IP_TRUNCATE;
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
                      "\"consent_log\" has no sign=KEY.pem: its records are "
                      "chained but not signed, and an auditor cannot tell "
                      "them from forged ones");
    }

    if (ngx_http_consent_log_policy(cf, mcf, lcf) != NGX_OK) {
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
 * The policy record of this configuration: revision, categories, texts and
 * their hashes. Its hash, kept in shared memory once written, tells the
 * first worker that serves a new configuration to write it.
 */

static ngx_int_t
ngx_http_consent_log_policy(ngx_conf_t *cf,
    ngx_http_consent_main_conf_t *mcf, ngx_http_consent_log_conf_t *lcf)
{
    u_char                        *p;
    json_t                        *policy, *cats, *texts, *hashes, *v;
    ngx_uint_t                     i;
    ngx_http_consent_texts_t      *t;
    ngx_http_consent_category_t   *c;
    char                           hex[NGX_HTTP_CONSENT_RECORD_HEX_LEN + 1];

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

    lcf->policy = policy;

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
        /* reload: the chain goes on */
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

    ngx_http_consent_log_recover(lcf, shm_zone->shm.log);

    return NGX_OK;
}


/*
 * A new zone (nginx started): the chain goes on from the last line of the
 * first log file, if there is one. A line cut by a crash is closed with a
 * newline, so that the next record starts on its own line.
 */

static void
ngx_http_consent_log_recover(ngx_http_consent_log_conf_t *lcf,
    ngx_log_t *log)
{
    u_char                           *buf, *p, *last, *end;
    off_t                             size, from;
    ssize_t                           n;
    ngx_fd_t                          fd;
    ngx_uint_t                        i;
    ngx_file_info_t                   fi;
    ngx_open_file_t                  *file;
    ngx_http_consent_log_target_t    *t;
    ngx_http_consent_record_check_t   r;
    u_char                            hdr[NGX_HTTP_CONSENT_LOG_LINE];

    file = NULL;
    t = lcf->targets.elts;

    for (i = 0; i < lcf->targets.nelts; i++) {
        if (t[i].file != NULL) {
            file = t[i].file;
            break;
        }
    }

    if (file == NULL || file->fd == NGX_INVALID_FILE) {
        return;
    }

    /* the log is open for appending only */

    fd = ngx_open_file(file->name.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        return;
    }

    buf = NULL;

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR || !S_ISREG(fi.st_mode)) {
        goto done;
    }

    size = ngx_file_size(&fi);
    if (size == 0) {
        goto done;
    }

    from = size > NGX_HTTP_CONSENT_LOG_TAIL_MAX
           ? size - NGX_HTTP_CONSENT_LOG_TAIL_MAX : 0;

    buf = ngx_alloc((size_t) (size - from) + 1, log);
    if (buf == NULL) {
        goto done;
    }

    n = pread(fd, buf, (size_t) (size - from), from);

    if (n != size - from) {
        ngx_log_error(NGX_LOG_ALERT, log, ngx_errno,
                      "consent log \"%V\": cannot read its end; a new "
                      "chain starts", &file->name);
        goto done;
    }

    end = buf + n;

    if (end[-1] != '\n') {
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "consent log \"%V\" ends with a cut line; it is "
                      "closed, and consent-audit verify will name it",
                      &file->name);

        if (ngx_write_fd(file->fd, (u_char *) "\n", 1) != 1) {
            ngx_log_error(NGX_LOG_ALERT, log, ngx_errno,
                          "consent log \"%V\": write() failed", &file->name);
        }

        /* the last whole line is the one before the cut */
        while (end > buf && end[-1] != '\n') {
            end--;
        }
    }

    if (end == buf) {
        goto done;
    }

    last = end - 1;                          /* its '\n' */
    p = last;

    while (p > buf && p[-1] != '\n') {
        p--;
    }

    if (p == buf && from != 0) {
        goto lost;
    }

    ngx_http_consent_record_check((char *) p, last - p, NULL, (char *) hdr,
                                  sizeof(hdr), &r);

    if (r.status != NGX_HTTP_CONSENT_RECORD_OK) {
        goto lost;
    }

    lcf->sh->seq = r.seq;
    ngx_memcpy(lcf->sh->prev, r.hash, NGX_HTTP_CONSENT_RECORD_HASH_LEN);

    ngx_log_error(NGX_LOG_NOTICE, log, 0,
                  "consent log \"%V\": the chain goes on after seq %uL",
                  &file->name, r.seq);

    goto done;

lost:

    ngx_log_error(NGX_LOG_WARN, log, 0,
                  "consent log \"%V\": its last line is not a record; a new "
                  "chain starts at seq 1", &file->name);

done:

    if (buf != NULL) {
        ngx_free(buf);
    }

    if (ngx_close_file(fd) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_ALERT, log, ngx_errno,
                      ngx_close_file_n " \"%V\" failed", &file->name);
    }
}


ngx_int_t
ngx_http_consent_log_write(ngx_http_request_t *r,
    ngx_http_consent_choice_t *choice)
{
    json_t                        *rec, *policy;
    ngx_int_t                      rc;
    ngx_time_t                    *tp;
    ngx_http_consent_log_sh_t     *sh;
    ngx_http_consent_log_conf_t   *lcf;
    ngx_http_consent_main_conf_t  *mcf;
    char                           ts[NGX_HTTP_CONSENT_RECORD_TS_LEN + 1];

    mcf = ngx_http_get_module_main_conf(r, ngx_http_consent_module);
    lcf = mcf->log;

    if (lcf == NULL || lcf->off || lcf->sh == NULL) {
        return NGX_OK;
    }

    rec = ngx_http_consent_log_record(r, mcf, lcf, choice);
    if (rec == NULL) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "consent log: cannot build the record");
        return NGX_ERROR;
    }

    sh = lcf->sh;
    rc = NGX_OK;

    ngx_shmtx_lock(&lcf->shpool->mutex);

    /*
     * The first record of a configuration: its policy first. Workers of
     * an older configuration, still finishing their requests after a
     * reload, do not write theirs again: it is earlier in the log.
     */

    if (lcf->generation >= sh->policy_generation
        && ngx_memcmp(sh->policy, lcf->policy_hash,
                      NGX_HTTP_CONSENT_RECORD_HASH_LEN)
           != 0)
    {

        policy = json_copy(lcf->policy);
        tp = ngx_timeofday();

        if (policy == NULL
            || ngx_http_consent_record_ts(tp->sec, tp->msec, ts) == 0
            || json_object_set_new(policy, "ts", json_string(ts)) != 0
            || json_object_set_new(policy, "node",
                                   ngx_http_consent_log_string(
                                       (ngx_str_t *) &ngx_cycle->hostname))
               != 0)
        {
            rc = NGX_ERROR;

        } else {
            rc = ngx_http_consent_log_append(lcf, policy, r->pool,
                                             r->connection->log);
        }

        json_decref(policy);

        if (rc == NGX_OK) {
            ngx_memcpy(sh->policy, lcf->policy_hash,
                       NGX_HTTP_CONSENT_RECORD_HASH_LEN);
            sh->policy_generation = lcf->generation;
        }
    }

    if (rc == NGX_OK) {
        rc = ngx_http_consent_log_append(lcf, rec, r->pool,
                                         r->connection->log);
    }

    ngx_shmtx_unlock(&lcf->shpool->mutex);

    json_decref(rec);

    return rc;
}


static json_t *
ngx_http_consent_log_record(ngx_http_request_t *r,
    ngx_http_consent_main_conf_t *mcf, ngx_http_consent_log_conf_t *lcf,
    ngx_http_consent_choice_t *choice)
{
    json_t                    *rec, *hash;
    ngx_uint_t                 i;
    ngx_http_consent_ctx_t    *ctx;
    ngx_http_consent_texts_t  *t;
    char                       ts[NGX_HTTP_CONSENT_RECORD_TS_LEN + 1];
    char                       id[2 * NGX_HTTP_CONSENT_ID_LEN + 1];
    char                       hex[NGX_HTTP_CONSENT_RECORD_HEX_LEN + 1];

    if (ngx_http_consent_record_ts(choice->sec, choice->msec, ts) == 0
        || (ngx_uint_t) choice->action > NGX_HTTP_CONSENT_WITHDRAW
        || (ngx_uint_t) choice->source > NGX_HTTP_CONSENT_SOURCE_API)
    {
        return NULL;
    }

    /* the id as $consent_id shows it: 32 hex digits */
    ngx_http_consent_record_hex(choice->id, NGX_HTTP_CONSENT_ID_LEN, id);

    /* the texts the reader was shown: those of the choice's language */

    hash = json_null();

    if (mcf->texts) {
        t = mcf->texts->elts;

        for (i = 0; i < mcf->texts->nelts; i++) {
            if (t[i].lang.len == choice->lang.len
                && ngx_strncmp(t[i].lang.data, choice->lang.data,
                               choice->lang.len) == 0)
            {
                ngx_http_consent_record_hex(t[i].hash, sizeof(t[i].hash),
                                            hex);
                hash = json_string(hex);
                break;
            }
        }
    }

    ctx = ngx_http_consent_get_ctx(r);

    rec = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:I, s:o, s:o, s:s,"
                    " s:b, s:o, s:o, s:o}",
                    "type", "consent",
                    "ts", ts,
                    "id", id,
                    "action", ngx_http_consent_log_actions[choice->action],
                    "granted", ngx_http_consent_log_names(mcf,
                                                          choice->granted),
                    "denied", ngx_http_consent_log_names(mcf,
                                                         choice->denied),
                    "revision", (json_int_t) mcf->revision,
                    "text_hash", hash,
                    "lang", ngx_http_consent_log_string(&choice->lang),
                    "source", ngx_http_consent_log_sources[choice->source],
                    "gpc", (ctx != NULL && ctx->gpc),
                    "ip", ngx_http_consent_log_ip(r, lcf),
                    "host", ngx_http_consent_log_string(
                                &r->headers_in.server),
                    "node", ngx_http_consent_log_string(
                                (ngx_str_t *) &ngx_cycle->hostname));

    return rec;
}


static json_t *
ngx_http_consent_log_names(ngx_http_consent_main_conf_t *mcf, uint64_t mask)
{
    json_t                       *a;
    ngx_uint_t                    i;
    ngx_http_consent_category_t  *c;

    a = json_array();
    if (a == NULL || mcf->categories == NULL) {
        return a;
    }

    c = mcf->categories->elts;

    for (i = 0; i < mcf->categories->nelts; i++) {
        if (mask & ((uint64_t) 1 << c[i].index)) {
            json_array_append_new(a, ngx_http_consent_log_string(&c[i].name));
        }
    }

    return a;
}


static json_t *
ngx_http_consent_log_ip(ngx_http_request_t *r,
    ngx_http_consent_log_conf_t *lcf)
{
    int                   family;
    u_char               *addr;
    struct sockaddr      *sa;
    struct sockaddr_in   *sin;
#if (NGX_HAVE_INET6)
    struct sockaddr_in6  *sin6;
#endif
    char                  out[NGX_HTTP_CONSENT_RECORD_IP_LEN];

    if (lcf->ip == NGX_HTTP_CONSENT_RECORD_IP_NONE) {
        return json_null();
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
        return json_null();
    }

    if (ngx_http_consent_record_ip(family, addr, (int) lcf->ip,
                                   lcf->ip_key.data, lcf->ip_key.len, out,
                                   sizeof(out))
        != 0)
    {
        return json_null();
    }

    return json_string(out);
}


static json_t *
ngx_http_consent_log_string(ngx_str_t *s)
{
    json_t  *v;

    if (s->data == NULL) {
        return json_string("");
    }

    /* not UTF-8 (a raw Host header): the record keeps it escaped */

    v = json_stringn((char *) s->data, s->len);

    return v ? v : json_string("(not utf-8)");
}


/*
 * Under the mutex: seals the record with the next seq and the head's hash,
 * writes it to every target, and moves the head on when at least one
 * target has the whole record. NGX_OK only when every target has it.
 */

static ngx_int_t
ngx_http_consent_log_append(ngx_http_consent_log_conf_t *lcf, json_t *record,
    ngx_pool_t *pool, ngx_log_t *log)
{
    u_char                         *buf, *line;
    size_t                          size, len, hlen;
    ssize_t                         n;
    ngx_uint_t                      i, written, files, failed, lost;
    ngx_http_consent_log_sh_t      *sh;
    ngx_http_consent_log_target_t  *t;
    u_char                          hash[NGX_HTTP_CONSENT_RECORD_HASH_LEN];
    u_char                          hdr[NGX_HTTP_CONSENT_LOG_SYSLOG_HDR];

    sh = lcf->sh;
    size = NGX_HTTP_CONSENT_LOG_LINE;

    for ( ;; ) {
        buf = ngx_pnalloc(pool, NGX_HTTP_CONSENT_LOG_SYSLOG_HDR + size);
        if (buf == NULL) {
            return NGX_ERROR;
        }

        line = buf + NGX_HTTP_CONSENT_LOG_SYSLOG_HDR;

        len = ngx_http_consent_record_seal(record, sh->seq + 1,
                                           sh->seq ? sh->prev
                                           : ngx_http_consent_record_genesis,
                                           lcf->key, (char *) line, size,
                                           hash);
        if (len == 0) {
            ngx_log_error(NGX_LOG_ALERT, log, 0,
                          "consent log: cannot seal the record");
            return NGX_ERROR;
        }

        if (len <= size) {
            break;
        }

        size = len;
    }

    /*
     * The files are the proof: with a file, the answer is theirs, and a
     * syslog copy that fails shows as a gap in the collector's copy only;
     * with syslog alone, the answer is syslog's.
     */

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
                      "the file has it", sh->seq + 1);

    } else if (lost) {
        ngx_log_error(NGX_LOG_CRIT, log, 0,
                      "consent log: record seq %uL not sent to syslog",
                      sh->seq + 1);
    }

    if (written) {
        sh->seq++;
        ngx_memcpy(sh->prev, hash, NGX_HTTP_CONSENT_RECORD_HASH_LEN);
    }

    return (failed || (files == 0 && lost)) ? NGX_ERROR : NGX_OK;
}


static ngx_int_t
ngx_http_consent_log_write_file(ngx_open_file_t *file, u_char *buf,
    size_t len, ngx_log_t *log)
{
    off_t    end;
    ssize_t  n;

    ngx_http_consent_log_follow(file, log);

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


/*
 * After a rotation (rename, then "nginx -s reopen"), workers reopen the
 * file one after the other; a worker that has not yet would write into the
 * renamed file after another already wrote into the new one, and the
 * chain would jump between files. So, under the mutex, a worker whose
 * descriptor is no longer the file at the path opens the path itself.
 */

static void
ngx_http_consent_log_follow(ngx_open_file_t *file, ngx_log_t *log)
{
    ngx_fd_t         fd;
    ngx_err_t        err;
    ngx_uint_t       level;
    ngx_file_info_t  fi, pfi;

    if (ngx_file_info(file->name.data, &pfi) == NGX_FILE_ERROR
        || ngx_fd_info(file->fd, &fi) == NGX_FILE_ERROR
        || (pfi.st_ino == fi.st_ino && pfi.st_dev == fi.st_dev))
    {
        return;
    }

    fd = ngx_open_file(file->name.data, NGX_FILE_APPEND,
                       NGX_FILE_CREATE_OR_OPEN, NGX_FILE_DEFAULT_ACCESS);

    if (fd == NGX_INVALID_FILE) {

        /*
         * The master creates the new file as root and only then gives it
         * to the workers' user: in between, a worker cannot open it and
         * goes on writing into the renamed file until its own reopen.
         */

        err = ngx_errno;
        level = (err == NGX_EACCES) ? NGX_LOG_WARN : NGX_LOG_ALERT;

        ngx_log_error(level, log, err, ngx_open_file_n " \"%V\" failed, "
                      "the record goes to the file being rotated",
                      &file->name);
        return;
    }

    if (ngx_close_file(file->fd) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_ALERT, log, ngx_errno,
                      ngx_close_file_n " \"%V\" failed", &file->name);
    }

    file->fd = fd;
}
