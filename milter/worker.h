/*
 * worker.h - the ingest worker thread of tlsrpt-milter and tlsrpt-httpd:
 * drains the spool into the database right after each spooled message
 * and on a timer, and backs off (doubling, capped at DrainRetryMax) while
 * the database cannot be written.
 */
#ifndef TLSRPT_MILTER_WORKER_H
#define TLSRPT_MILTER_WORKER_H

#include "tlsrpt/ingest.h"

/* What a drain needs from the daemon's live configuration; borrowed from
 * the reference that get() returned, until put(). */
struct worker_settings {
    const char *spool_dir;
    const char *database;
    const struct tr_ingest_opts *ingest;
    unsigned drain_interval;      /* seconds between timed drains */
    unsigned retry_max;           /* cap of the back-off, seconds */
};

struct worker_source {
    /* Fills *s from the live configuration; returns the reference that
     * keeps it valid (handed back to put). */
    void *(*get)(struct worker_settings *s);
    void (*put)(void *ref);
    /* Optional (NULL: none): called after each drain with the spool, what
     * it stored (NULL when it could not start) and whether it succeeded
     * (for the daemon's counters, tlsrpt/stats.h). */
    void (*drained)(const char *spool_dir, const struct tr_counts *counts, int ok);
};

/* Starts the thread; src is borrowed for the thread's life.  0 or -1. */
int worker_start(const struct worker_source *src);

/* Asks for a drain soon (after a message was spooled).  Cheap; safe from
 * any thread.  Ignored while backing off. */
void worker_kick(void);

/* Stops the thread after one last drain of what is pending; joins it. */
void worker_stop(void);

#endif
