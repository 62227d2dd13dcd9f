/*
 * worker.c - the spool-drain thread (worker.h), shared by tlsrpt-milter
 * and tlsrpt-httpd; each passes a worker_source for its configuration.
 *
 * State shared with other threads (kicked, stopping) is guarded by lock
 * and announced on wake; everything else belongs to the thread: its own
 * database connection (a struct tr_db is single-threaded), opened on first
 * use and reopened after a failure or when a reload changed Database.
 *
 * Schedule: drain at start, after every kick, and every DrainInterval
 * seconds.  A failed drain (database locked or unwritable, spool
 * unreadable) leaves the entry in the spool and schedules the next try
 * after 1, 2, 4 ... seconds, at most DrainRetryMax.  Each back-off step
 * logs one line: the error, the backlog (entries waiting in the spool)
 * and the next try.  A kick (a newly captured report) still tries at once
 * during a back-off, without a log line or a longer back-off when it
 * fails again, so the report is stored as soon as the database is back.
 */
#include "worker.h"
#include "log.h"
#include "tlsrpt/drain.h"
#include "tlsrpt/spool.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WORKER_BATCH 100          /* entries per drain call, between checks for stop */
#define WORKER_FINAL_MAX 10000    /* entries drained after SIGTERM */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake;
static pthread_t thread;
static int kicked, stopping, started;
static const struct worker_source *source;

/* The thread's database connection and the path it was opened with. */
static struct tr_db *db;
static char *db_path;

/* ctx: an int, 1 when a failure is not to be logged (a kick's retry). */
static void log_entry(void *ctx, const struct tr_spool_entry *e, enum tr_drain_outcome outcome,
                      const struct tr_counts *d, const struct tr_err *err)
{
    const char *qid = e->queue_id ? e->queue_id : "NOQUEUE";
    int quiet = *(const int *)ctx;

    switch (outcome) {
    case TR_DRAIN_DONE:
        mlog(LOG_INFO, qid, "ingested %s: stored %ld, duplicates %ld, quarantined %ld, conflicting %ld",
             e->name, d->stored, d->duplicates, d->quarantined, d->conflicting);
        break;
    case TR_DRAIN_FAILED:
        if (err)
            mlog(LOG_ERR, qid, "%s kept in failed/: the database refuses it: %s", e->name, err->detail);
        else
            mlog(LOG_WARNING, qid, "ingested %s: quarantined %ld; message over MaxMessageSize kept in failed/",
                 e->name, d->quarantined);
        break;
    case TR_DRAIN_RETRY:
        mlog(quiet ? LOG_DEBUG : LOG_WARNING, qid, "%s stays in the spool: %s", e->name, err ? err->detail : "?");
        break;
    }
}

static void close_db(void)
{
    tr_db_close(db);
    db = NULL;
    free(db_path);
    db_path = NULL;
}

/* One drain of the spool; 0 when it emptied, -1 on failure with why
 * filled (the caller logs it, once per back-off step). */
static int drain_once(long max_entries, int quiet, char *why, size_t cap)
{
    struct worker_settings set;
    void *ref = source->get(&set);
    const struct worker_settings *c = &set;
    struct tr_counts counts = { 0, 0, 0, 0 };
    struct tr_err err;
    long total = 0, n = 0;
    int rc = 0;

    if (db != NULL && strcmp(db_path, c->database) != 0)
        close_db();
    if (db == NULL) {
        if (tr_db_open(c->database, 0, &db, &err) < 0) {
            snprintf(why, cap, "cannot open database: %s", err.detail);
            db = NULL;
            source->put(ref);
            if (source->drained)
                source->drained(c->spool_dir, NULL, 0);
            return -1;
        }
        db_path = xstrdup(c->database);
    }
    do {
        long batch = max_entries - total < WORKER_BATCH ? max_entries - total : WORKER_BATCH;
        n = tr_spool_drain_log(c->spool_dir, c->ingest, db, &counts, batch, log_entry, &quiet, &err);
        if (n < 0) {
            snprintf(why, cap, "spool drain stopped: %s", err.detail);
            close_db();                  /* reopened on the next try */
            rc = -1;
            break;
        }
        total += n;
    } while (n == WORKER_BATCH && total < max_entries);
    if (total > 0)
        mlog(LOG_DEBUG, NULL, "drained %ld entries", total);
    source->put(ref);
    if (source->drained)
        source->drained(c->spool_dir, &counts, rc == 0);
    return rc;
}

static void deadline_in(struct timespec *ts, unsigned seconds)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += seconds;
}

static int passed(const struct timespec *ts)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec > ts->tv_sec || (now.tv_sec == ts->tv_sec && now.tv_nsec >= ts->tv_nsec);
}

static void *worker_main(void *arg)
{
    struct timespec next;
    unsigned backoff = 0;               /* seconds; 0 = not backing off */
    char why[MLOG_LINE_MAX];

    clock_gettime(CLOCK_MONOTONIC, &next);   /* drain at start */
    pthread_mutex_lock(&lock);
    while (!stopping) {
        int timed = passed(&next);
        if (kicked || timed) {
            struct worker_settings set;
            const struct worker_settings *c = &set;
            void *ref;
            int ok, quiet = !timed && backoff > 0;

            kicked = 0;
            pthread_mutex_unlock(&lock);
            ok = drain_once(LONG_MAX, quiet, why, sizeof why) == 0;
            ref = source->get(&set);
            if (ok) {
                if (backoff > 0)
                    mlog(LOG_NOTICE, NULL, "spool drained again; the backlog is stored");
                backoff = 0;
                deadline_in(&next, c->drain_interval);
            } else if (quiet) {
                mlog(LOG_DEBUG, NULL, "retry on a new report failed: %s", why);
            } else {
                backoff = backoff == 0 ? 1 : backoff * 2;
                if (backoff > c->retry_max)
                    backoff = c->retry_max;
                mlog(LOG_ERR, NULL, "reports are NOT being stored: %s; %ld waiting in %s; next try in %u s "
                     "or when a report arrives", why, tr_spool_pending(c->spool_dir), c->spool_dir, backoff);
                deadline_in(&next, backoff);
            }
            source->put(ref);
            pthread_mutex_lock(&lock);
            continue;
        }
        pthread_cond_timedwait(&wake, &lock, &next);
    }
    pthread_mutex_unlock(&lock);
    if (drain_once(WORKER_FINAL_MAX, 0, why, sizeof why) < 0)
        mlog(LOG_ERR, NULL, "final spool drain failed: %s; the entries stay in the spool", why);
    close_db();
    return NULL;
}

int worker_start(const struct worker_source *src)
{
    pthread_condattr_t attr;
    int rc;

    source = src;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&wake, &attr);
    pthread_condattr_destroy(&attr);
    rc = pthread_create(&thread, NULL, worker_main, NULL);
    if (rc != 0) {
        mlog(LOG_ERR, NULL, "cannot start the ingest worker: %s", strerror(rc));
        return -1;
    }
    started = 1;
    return 0;
}

void worker_kick(void)
{
    pthread_mutex_lock(&lock);
    kicked = 1;
    pthread_cond_signal(&wake);
    pthread_mutex_unlock(&lock);
}

void worker_stop(void)
{
    if (!started)
        return;
    pthread_mutex_lock(&lock);
    stopping = 1;
    pthread_cond_signal(&wake);
    pthread_mutex_unlock(&lock);
    pthread_join(thread, NULL);
    started = 0;
}
