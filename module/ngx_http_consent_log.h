
/*
 * Copyright (C) nginx-consent developers
 */


#ifndef _NGX_HTTP_CONSENT_LOG_H_INCLUDED_
#define _NGX_HTTP_CONSENT_LOG_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <openssl/evp.h>

#include "ngx_http_consent_module.h"
#include "ngx_http_consent_note.h"
#include "ngx_http_consent_record.h"
#include "ngx_http_consent_tree.h"


/*
 * The consent log's state, shared by ngx_http_consent_log.c (which writes
 * records and checkpoints) and ngx_http_consent_receipt.c (which answers
 * P+receipt and P+checkpoint from the files beside the log).
 *
 * Beside the first log file PATH, for the whole instance (they are not
 * rotated with PATH):
 *
 *     PATH.hashes      every hash of the tree, 32 bytes each, in tlog's
 *                      order (ngx_http_consent_tree.h)
 *     PATH.leaves      every leaf (record line) once more, for receipts
 *                      of records whose file was rotated away
 *     PATH.index       per leaf: the consent id, where the leaf is in
 *                      PATH.leaves (ngx_http_consent_log_entry_t)
 *     PATH.checkpoint  the latest signed checkpoint, replaced atomically
 */


#define NGX_HTTP_CONSENT_LOG_HASHES      ".hashes"
#define NGX_HTTP_CONSENT_LOG_LEAVES      ".leaves"
#define NGX_HTTP_CONSENT_LOG_INDEX       ".index"
#define NGX_HTTP_CONSENT_LOG_CHECKPOINT  ".checkpoint"

#define NGX_HTTP_CONSENT_LOG_ID_LEN      16

/*
 * The files beside the log are buffered in shared memory until the next
 * checkpoint (or until a buffer is full), then written with one write()
 * each: a checkpoint every 1,000 records of about 450 bytes fits.
 */
#define NGX_HTTP_CONSENT_LOG_HASHES_BUF  (128 * 1024)
#define NGX_HTTP_CONSENT_LOG_LEAVES_BUF  (1024 * 1024)
#define NGX_HTTP_CONSENT_LOG_INDEX_BUF                                        \
    (2048 * sizeof(ngx_http_consent_log_entry_t))


typedef struct {
    u_char                          id[NGX_HTTP_CONSENT_LOG_ID_LEN];
    uint64_t                        offset;     /* into PATH.leaves */
    uint32_t                        len;        /* without its '\n' */
    uint32_t                        type;       /* _RECORD_CONSENT, ... */
} ngx_http_consent_log_entry_t;


typedef struct {
    ngx_open_file_t                *file;       /* or */
    ngx_syslog_peer_t              *syslog;
} ngx_http_consent_log_target_t;


/* in shared memory, under the zone's mutex */
typedef struct {
    uint64_t                        generation;   /* of configurations */
    uint64_t                        policy_generation;
    u_char                          policy[NGX_HTTP_CONSENT_RECORD_HASH_LEN];

    ngx_http_consent_tree_t         tree;

    /*
     * what the files hold, with what is still buffered for them (the
     * _pending bytes at the end): a worker that died mid-append or
     * mid-flush left more
     */
    off_t                           log_size;
    ino_t                           log_ino;
    off_t                           hashes_size;
    off_t                           leaves_size;
    off_t                           index_size;
    size_t                          hashes_pending;
    size_t                          leaves_pending;
    size_t                          index_pending;
    u_char                         *hashes_buf;
    u_char                         *leaves_buf;
    u_char                         *index_buf;
    ngx_uint_t                      broken;       /* the files beside */
    ngx_pid_t                       writer;       /* mid-append */

    /* group commit: leaves from file_first to synced are on disk */
    uint64_t                        file_first;
    uint64_t                        synced;

    uint64_t                        cp_size;
    ngx_msec_t                      cp_time;
    size_t                          note_len;
    u_char                          note[NGX_HTTP_CONSENT_NOTE_LEN];
} ngx_http_consent_log_sh_t;


typedef struct {
    ngx_array_t                     targets;
    ngx_open_file_t                *main;       /* the first file */
    ngx_open_file_t                *hashes;
    ngx_open_file_t                *leaves;
    ngx_open_file_t                *index;
    ngx_str_t                       checkpoint;
    ngx_str_t                       checkpoint_tmp;

    ngx_uint_t                      off;        /* unsigned flag */
    ngx_uint_t                      ip;         /* NGX_CONF_UNSET_UINT */
    ngx_flag_t                      sync;
    ngx_uint_t                      cp_records;
    ngx_msec_t                      cp_interval;

    ngx_str_t                       origin;
    ngx_str_t                       sign;
    EVP_PKEY                       *key;

    ngx_str_t                       ip_key;     /* for ip=hash */

    /*
     * the policy records, printed once: one a language (its texts, so that
     * each fits a syslog datagram), each as head, seq, middle, ts, tail
     */
    ngx_array_t                    *policy;     /* of 3 ngx_str_t each */
    u_char                          policy_hash[
                                        NGX_HTTP_CONSENT_RECORD_HASH_LEN];

    ngx_shm_zone_t                 *zone;
    uint64_t                        generation;
    ngx_slab_pool_t                *shpool;
    ngx_http_consent_log_sh_t      *sh;

    /* per worker */
#if (NGX_THREADS)
    ngx_thread_pool_t              *thread_pool;
    ngx_thread_task_t              *task;       /* the fdatasync() */
    ngx_queue_t                     waiting;    /* for the disk */
    ngx_event_t                     hold;       /* no exit meanwhile */
    uint64_t                        task_start;
    uint64_t                        task_first;
    unsigned                        syncing:1;
#endif
    ngx_event_t                     timer;
    ngx_fd_t                        read_fd[3]; /* hashes, leaves, index */
    ngx_fd_t                        log_fd;     /* main->fd, as last seen */
    ino_t                           log_ino;    /* and its file */
    unsigned                        warned:1;
} ngx_http_consent_log_conf_t;


/* ngx_http_consent_log.c */
ngx_int_t ngx_http_consent_log_check_files(ngx_http_consent_log_conf_t *lcf,
    ngx_log_t *log);
ngx_int_t ngx_http_consent_log_leaf(ngx_http_consent_log_conf_t *lcf,
    u_char *leaf, size_t len, ngx_uint_t type, u_char *id, ngx_log_t *log);
ngx_int_t ngx_http_consent_log_flush(ngx_http_consent_log_conf_t *lcf,
    ngx_log_t *log);
void ngx_http_consent_log_flush_file(ngx_open_file_t *file, ngx_log_t *log);
void ngx_http_consent_log_checkpoint(ngx_http_consent_log_conf_t *lcf,
    ngx_log_t *log);

/* ngx_http_consent_log_recover.c */
ngx_int_t ngx_http_consent_log_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
void ngx_http_consent_log_replay(ngx_http_consent_log_conf_t *lcf,
    ngx_fd_t fd, off_t from, off_t size, ngx_log_t *log);

/* ngx_http_consent_log_sync.c */
ngx_int_t ngx_http_consent_log_sync_init(ngx_conf_t *cf,
    ngx_http_consent_log_conf_t *lcf);
ngx_int_t ngx_http_consent_log_sync(ngx_http_consent_log_conf_t *lcf,
    ngx_http_request_t *r, ngx_http_consent_choice_t *choice, uint64_t size);
ngx_int_t ngx_http_consent_log_sync_resumed(ngx_http_consent_log_conf_t *lcf,
    ngx_http_request_t *r, ngx_http_consent_choice_t *choice);

/* ngx_http_consent_receipt.c */
ngx_int_t ngx_http_consent_receipt_available(ngx_http_request_t *r);
ngx_int_t ngx_http_consent_receipt_send(ngx_http_request_t *r);
ngx_int_t ngx_http_consent_checkpoint_send(ngx_http_request_t *r);


#endif /* _NGX_HTTP_CONSENT_LOG_H_INCLUDED_ */
