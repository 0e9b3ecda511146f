
/*
 * Copyright (C) nginx-consent developers
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_consent_module.h"
#include "ngx_http_consent_log.h"


/*
 * sync=on: the answer to a consent POST, and its cookie, wait until its
 * record is on stable storage. With threads, an fdatasync() of the log in
 * nginx's default thread pool, one at a time per worker: every POST that
 * came while one ran shares the next (group commit), and a sync another
 * worker ended after a record was written counts for it too; the POST
 * waits off the event loop and runs its content phase again once on
 * disk. Without threads, the worker syncs itself, skipping what another
 * worker's sync already covers.
 */


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


static ngx_int_t ngx_http_consent_log_sync_now(
    ngx_http_consent_log_conf_t *lcf, uint64_t size, ngx_log_t *log);
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


ngx_int_t
ngx_http_consent_log_sync_init(ngx_conf_t *cf,
    ngx_http_consent_log_conf_t *lcf)
{
#if (NGX_THREADS)
    ngx_queue_init(&lcf->waiting);

    if (lcf->sync && lcf->main != NULL) {
        lcf->thread_pool = ngx_thread_pool_add(cf, NULL);
        if (lcf->thread_pool == NULL) {
            return NGX_ERROR;
        }
    }
#endif

    return NGX_OK;
}


/*
 * NGX_OK: on disk; NGX_AGAIN: the request waits, and runs again; or
 * NGX_ERROR.
 */

ngx_int_t
ngx_http_consent_log_sync(ngx_http_consent_log_conf_t *lcf,
    ngx_http_request_t *r, ngx_http_consent_choice_t *choice, uint64_t size)
{
#if (NGX_THREADS)
    if (lcf->thread_pool != NULL) {
        return ngx_http_consent_log_wait(lcf, r, choice, size);
    }
#endif

    return ngx_http_consent_log_sync_now(lcf, size, r->connection->log);
}


/* a request run again once on disk: its choice and the result, or DECLINED */

ngx_int_t
ngx_http_consent_log_sync_resumed(ngx_http_consent_log_conf_t *lcf,
    ngx_http_request_t *r, ngx_http_consent_choice_t *choice)
{
#if (NGX_THREADS)
    ngx_http_consent_log_wait_t  *w;

    w = ngx_http_consent_log_waiting(lcf, r);

    if (w != NULL) {
        ngx_queue_remove(&w->queue);
        w->request = NULL;
        *choice = w->choice;
        return w->rc;
    }
#endif

    return NGX_DECLINED;
}


/*
 * The record is on disk once an fdatasync() of the log that started after
 * it was written has ended, whichever worker called it: a worker that
 * finds its record covered answers at once (group commit). Only syncs of
 * the current file count for the records written into it.
 */

static ngx_int_t
ngx_http_consent_log_sync_now(ngx_http_consent_log_conf_t *lcf, uint64_t size,
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

    /*
     * A descriptor of its own: the worker may reopen the log, and close
     * its descriptor, while the thread syncs.
     */

    t = lcf->task->ctx;
    t->err = 0;
    t->fd = dup(lcf->main->fd);

    if (t->fd == NGX_INVALID_FILE) {
        ngx_log_error(NGX_LOG_ALERT, log, ngx_errno,
                      "dup() of consent log \"%V\" failed",
                      &lcf->main->name);
        return NGX_ERROR;
    }

    /* what this sync covers: every leaf written so far */

    ngx_shmtx_lock(&lcf->shpool->mutex);
    lcf->task_start = lcf->sh->tree.size;
    lcf->task_first = lcf->sh->file_first;
    ngx_shmtx_unlock(&lcf->shpool->mutex);

    lcf->task->event.log = log;

    if (ngx_thread_task_post(lcf->thread_pool, lcf->task) != NGX_OK) {
        (void) ngx_close_file(t->fd);
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

    (void) ngx_close_file(t->fd);

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
