
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
 * stable storage (ngx_http_consent_log_sync.c). The directive is read in
 * ngx_http_consent_log_conf.c, the tree loaded at start in
 * ngx_http_consent_log_recover.c.
 */


#define NGX_HTTP_CONSENT_LOG_SYSLOG_HDR   512
#define NGX_HTTP_CONSENT_LOG_SEQ_LEN      (NGX_INT64_LEN + 1)
/*
 * how long (ms) a worker waits for the master to hand it a reopened file:
 * the master creates it as root and then gives it to the workers' user,
 * and on a loaded machine it may be descheduled in between for tens of
 * milliseconds (seen with 20 ms under the sanitizers); a worker waits
 * only when it caught that moment, once a rotation
 */
#define NGX_HTTP_CONSENT_LOG_REOPEN_WAIT  250


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
static ngx_int_t ngx_http_consent_log_side(ngx_http_consent_log_conf_t *lcf,
    ngx_open_file_t *file, off_t *size, u_char *buf, size_t len,
    ngx_log_t *log);
static void ngx_http_consent_log_replace(ngx_http_consent_log_conf_t *lcf,
    u_char *note, size_t len, ngx_log_t *log);
static ngx_int_t ngx_http_consent_log_follow(ngx_http_consent_log_conf_t *lcf,
    ngx_open_file_t *file, ngx_log_t *log);
static ngx_int_t ngx_http_consent_log_write_file(ngx_open_file_t *file,
    u_char *buf, size_t len, ngx_log_t *log);
static void ngx_http_consent_log_timer(ngx_event_t *ev);


static ngx_str_t  ngx_http_consent_log_actions[] = {
    ngx_string("accept_all"), ngx_string("reject_all"), ngx_string("save"),
    ngx_string("withdraw")
};


static ngx_str_t  ngx_http_consent_log_sources[] = {
    ngx_string("banner"), ngx_string("page"), ngx_string("api")
};


ngx_int_t
ngx_http_consent_log_write(ngx_http_request_t *r,
    ngx_http_consent_choice_t *choice)
{
    u_char                        *head;
    uint64_t                       size;
    ngx_int_t                      rc;
    ngx_str_t                      parts[2], policy[4], *tmpl;
    ngx_uint_t                     i;
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

    /* run again once on disk: the choice recorded, and the answer */

    rc = ngx_http_consent_log_sync_resumed(lcf, r, choice);

    if (rc != NGX_DECLINED) {
        return rc;
    }

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
            tmpl = lcf->policy->elts;

            for (i = 0; rc == NGX_OK && i < lcf->policy->nelts; i += 3) {
                policy[0] = tmpl[i];
                policy[1] = tmpl[i + 1];
                policy[2].data = ts;
                policy[2].len = NGX_HTTP_CONSENT_RECORD_TS_LEN;
                policy[3] = tmpl[i + 2];

                rc = ngx_http_consent_log_append(lcf, policy, 4,
                                                NGX_HTTP_CONSENT_RECORD_POLICY,
                                                NULL, r->pool,
                                                r->connection->log);
            }
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
        rc = ngx_http_consent_log_sync(lcf, r, choice, size);
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
    ngx_http_consent_loc_conf_t  *clcf;
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
           + sizeof(",\"regime\":\"opt-out\"") - 1
           + sizeof(",\"cookie_list\":") - 1 + NGX_INT_T_LEN
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

    p = ngx_sprintf(buf, "{\"action\":\"%V\"",
                    &ngx_http_consent_log_actions[choice->action]);

    /* the policy's list of cookies this endpoint's page shows, if not 0 */

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_consent_module);

    if (clcf->cookie_list) {
        p = ngx_sprintf(p, ",\"cookie_list\":%ui", clcf->cookie_list);
    }

    p = ngx_cpymem(p, ",\"denied\":", sizeof(",\"denied\":") - 1);
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
    p = ngx_sprintf(p, ",\"regime\":\"%s\",\"revision\":%ui,\"seq\":",
                    choice->regime == NGX_HTTP_CONSENT_REGIME_OPT_OUT
                    ? "opt-out" : "opt-in",
                    mcf->revision);

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
 * A new leaf: its hashes, its line and its index entry for the files
 * beside the log, then the tree in shared memory. They are buffered in the
 * zone until the next checkpoint (ngx_http_consent_log_flush), and the
 * sizes move on only once all three are there: a worker that dies in
 * between leaves bytes that count for nothing. What is buffered is lost
 * when the whole of nginx is (a crash, kill -9, a power cut): the log has
 * the records, and the next start adds them to the files again
 * (ngx_http_consent_log_recover.c).
 */

ngx_int_t
ngx_http_consent_log_leaf(ngx_http_consent_log_conf_t *lcf, u_char *leaf,
    size_t len, ngx_uint_t type, u_char *id, ngx_log_t *log)
{
    u_char                        *p;
    off_t                          hashes, leaves, index;
    size_t                         n, hlen;
    ngx_http_consent_log_sh_t     *sh;
    ngx_http_consent_tree_t        tree;
    ngx_http_consent_log_entry_t   e;
    u_char                         hash[NGX_HTTP_CONSENT_TREE_HASH_LEN];
    ngx_http_consent_tree_hash_t   stored[NGX_HTTP_CONSENT_TREE_HEIGHT];

    sh = lcf->sh;

    ngx_http_consent_tree_leaf_hash(leaf, len, hash);

    tree = sh->tree;
    n = ngx_http_consent_tree_append(&tree, hash, stored);
    hlen = n * NGX_HTTP_CONSENT_TREE_HASH_LEN;

    if (lcf->hashes == NULL || sh->broken) {
        sh->tree = tree;
        return NGX_OK;
    }

    /* a buffer full: what they hold first, in the order of the files */

    if (sh->hashes_pending + hlen > NGX_HTTP_CONSENT_LOG_HASHES_BUF
        || sh->leaves_pending + len + 1 > NGX_HTTP_CONSENT_LOG_LEAVES_BUF
        || sh->index_pending + sizeof(e) > NGX_HTTP_CONSENT_LOG_INDEX_BUF)
    {
        if (ngx_http_consent_log_flush(lcf, log) != NGX_OK) {
            sh->tree = tree;
            return NGX_ERROR;
        }
    }

    ngx_memzero(&e, sizeof(ngx_http_consent_log_entry_t));

    if (id != NULL) {
        ngx_memcpy(e.id, id, NGX_HTTP_CONSENT_LOG_ID_LEN);
    }

    e.offset = (uint64_t) sh->leaves_size;
    e.len = (uint32_t) len;
    e.type = (uint32_t) type;

    if (len + 1 > NGX_HTTP_CONSENT_LOG_LEAVES_BUF) {

        /* a leaf larger than its buffer, an empty one: written through */

        hashes = sh->hashes_size;
        leaves = sh->leaves_size;
        index = sh->index_size;

        leaf[len] = '\n';

        if (ngx_http_consent_log_side(lcf, lcf->hashes, &hashes,
                                      (u_char *) stored, hlen, log)
            != NGX_OK
            || ngx_http_consent_log_side(lcf, lcf->leaves, &leaves, leaf,
                                         len + 1, log)
               != NGX_OK
            || ngx_http_consent_log_side(lcf, lcf->index, &index,
                                         (u_char *) &e, sizeof(e), log)
               != NGX_OK)
        {
            sh->tree = tree;
            goto failed;
        }

        sh->hashes_size = hashes;
        sh->leaves_size = leaves;
        sh->index_size = index;
        sh->tree = tree;

        return NGX_OK;
    }

    ngx_memcpy(sh->hashes_buf + sh->hashes_pending, stored, hlen);
    p = ngx_cpymem(sh->leaves_buf + sh->leaves_pending, leaf, len);
    *p = '\n';
    ngx_memcpy(sh->index_buf + sh->index_pending, &e, sizeof(e));

    sh->hashes_size += hlen;
    sh->hashes_pending += hlen;
    sh->leaves_size += len + 1;
    sh->leaves_pending += len + 1;
    sh->index_size += sizeof(e);
    sh->index_pending += sizeof(e);

    sh->tree = tree;

    return NGX_OK;

failed:

    sh->broken = 1;

    ngx_log_error(NGX_LOG_ALERT, log, 0,
                  "consent log: the files beside \"%V\" cannot be written; "
                  "the records go on, receipts are off until nginx is "
                  "restarted with them repaired",
                  &lcf->main->name);

    return NGX_ERROR;
}


/*
 * Under the mutex, before each checkpoint, when a buffer is full, and at
 * shutdown: what is buffered for the files beside the log, one write()
 * each, in the order a record's parts are written, so that an index entry
 * is on disk only once its leaf and hashes are. A pending count goes to
 * zero only once its write is done: a worker that dies in between leaves
 * the file longer than its size less what is pending, and the next one
 * cuts it back and writes the buffer again (ngx_http_consent_log_check_
 * files).
 */

ngx_int_t
ngx_http_consent_log_flush(ngx_http_consent_log_conf_t *lcf, ngx_log_t *log)
{
    ngx_pid_t                   writer;
    ngx_http_consent_log_sh_t  *sh;

    sh = lcf->sh;

    if (lcf->hashes == NULL || sh->index_pending == 0) {
        return NGX_OK;
    }

    if (sh->broken) {
        sh->hashes_pending = 0;
        sh->leaves_pending = 0;
        sh->index_pending = 0;
        return NGX_ERROR;
    }

    writer = sh->writer;
    sh->writer = ngx_pid;

    if (ngx_http_consent_log_side(lcf, lcf->hashes, NULL, sh->hashes_buf,
                                  sh->hashes_pending, log)
        != NGX_OK)
    {
        goto failed;
    }

    sh->hashes_pending = 0;

    if (ngx_http_consent_log_side(lcf, lcf->leaves, NULL, sh->leaves_buf,
                                  sh->leaves_pending, log)
        != NGX_OK)
    {
        goto failed;
    }

    sh->leaves_pending = 0;

    if (ngx_http_consent_log_side(lcf, lcf->index, NULL, sh->index_buf,
                                  sh->index_pending, log)
        != NGX_OK)
    {
        goto failed;
    }

    sh->index_pending = 0;
    sh->writer = writer;

    return NGX_OK;

failed:

    sh->writer = writer;
    sh->broken = 1;
    sh->hashes_pending = 0;
    sh->leaves_pending = 0;
    sh->index_pending = 0;

    ngx_log_error(NGX_LOG_ALERT, log, 0,
                  "consent log: the files beside \"%V\" cannot be written; "
                  "the records go on, receipts are off until nginx is "
                  "restarted with them repaired",
                  &lcf->main->name);

    return NGX_ERROR;
}


/*
 * The flush handler of PATH.hashes, which a worker calls as it reopens its
 * files (nginx -s reopen): a rotation renames the log just before, and
 * the records buffered so far are in the renamed file, where a start
 * after a crash would not find them. Not in the master, which must not
 * wait on a mutex that a dead worker may hold.
 */

void
ngx_http_consent_log_flush_file(ngx_open_file_t *file, ngx_log_t *log)
{
    ngx_http_consent_log_conf_t  *lcf = file->data;

    if (lcf == NULL || lcf->sh == NULL
        || (ngx_process != NGX_PROCESS_WORKER
            && ngx_process != NGX_PROCESS_SINGLE))
    {
        return;
    }

    ngx_shmtx_lock(&lcf->shpool->mutex);
    (void) ngx_http_consent_log_flush(lcf, log);
    ngx_shmtx_unlock(&lcf->shpool->mutex);
}


/* size, when not NULL, moves on by what was written */

static ngx_int_t
ngx_http_consent_log_side(ngx_http_consent_log_conf_t *lcf,
    ngx_open_file_t *file, off_t *size, u_char *buf, size_t len,
    ngx_log_t *log)
{
    ssize_t  n;

    if (len == 0) {
        return NGX_OK;
    }

    n = ngx_write_fd(file->fd, buf, len);

    if (n != (ssize_t) len) {
        ngx_log_error(NGX_LOG_CRIT, log, ngx_errno,
                      ngx_write_fd_n " to \"%V\" failed", &file->name);
        return NGX_ERROR;
    }

    if (size != NULL) {
        *size += len;
    }

    return NGX_OK;
}


/*
 * Under the mutex: a signed checkpoint of the tree when it grew since the
 * last one, as a record of type "checkpoint" (not a leaf) and as the file
 * PATH.checkpoint.
 */

void
ngx_http_consent_log_checkpoint(ngx_http_consent_log_conf_t *lcf,
    ngx_log_t *log)
{
    u_char                      *p;
    size_t                       len;
    ngx_int_t                    rc;
    ngx_pid_t                    writer;
    ngx_time_t                  *tp;
    ngx_http_consent_log_sh_t   *sh;
    u_char                       root[NGX_HTTP_CONSENT_TREE_HASH_LEN];
    u_char                       note[NGX_HTTP_CONSENT_NOTE_LEN];
    u_char                       line[NGX_HTTP_CONSENT_LOG_SYSLOG_HDR
                                      + 6 * NGX_HTTP_CONSENT_NOTE_LEN
                                      + 128];

    sh = lcf->sh;

    /* the files beside the log first: a receipt reads them up to it */

    (void) ngx_http_consent_log_flush(lcf, log);

    if (lcf->key == NULL) {
        /*
         * Nothing to sign, but the count starts again: the files beside
         * are written every N records, not after each one past the Nth.
         */
        sh->cp_size = sh->tree.size;
        return;
    }

    if (sh->tree.size == 0 || sh->tree.size == sh->cp_size) {
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

    /* a worker that dies in the write leaves the mark, as for a record */

    writer = sh->writer;
    sh->writer = ngx_pid;

    rc = ngx_http_consent_log_send(lcf, line + NGX_HTTP_CONSENT_LOG_SYSLOG_HDR,
                                   p - line - NGX_HTTP_CONSENT_LOG_SYSLOG_HDR,
                                   log);

    sh->writer = writer;

    if (rc == NGX_ERROR) {
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

ngx_int_t
ngx_http_consent_log_check_files(ngx_http_consent_log_conf_t *lcf,
    ngx_log_t *log)
{
    off_t                       size, expect[3];
    ngx_fd_t                    fd;
    ngx_pid_t                   writer;
    ngx_uint_t                  i;
    ngx_file_info_t             fi;
    ngx_open_file_t            *side[3];
    ngx_http_consent_log_sh_t  *sh;

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

    writer = sh->writer;
    sh->writer = 0;

    /*
     * A worker died mid-append or mid-flush: the files beside the log cut
     * back to what they are known to hold; what is pending for them is
     * still in the buffers, and a record the log has more is added below.
     */

    if (writer != 0 && lcf->hashes != NULL && !sh->broken) {
        side[0] = lcf->hashes;
        side[1] = lcf->leaves;
        side[2] = lcf->index;

        expect[0] = sh->hashes_size - (off_t) sh->hashes_pending;
        expect[1] = sh->leaves_size - (off_t) sh->leaves_pending;
        expect[2] = sh->index_size - (off_t) sh->index_pending;

        for (i = 0; i < 3; i++) {
            if (ngx_fd_info(side[i]->fd, &fi) != NGX_FILE_ERROR
                && ngx_file_size(&fi) > expect[i]
                && ftruncate(side[i]->fd, expect[i]) == -1)
            {
                sh->broken = 1;
            }
        }
    }

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

    /* into the file at the path, as a record would be, not a rotated one */

    if (sh->tree.size != sh->cp_size && elapsed >= lcf->cp_interval
        && ngx_http_consent_log_check_files(lcf, ev->log) == NGX_OK)
    {
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
