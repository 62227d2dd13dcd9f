/*
 * mstats.c - tlsrpt-milter's counters (mstats.h).  Counters are atomics
 * (callbacks run in libmilter's threads); the file is written by the
 * worker thread only.
 */
#include "mstats.h"
#include "log.h"
#include "tlsrpt/spool.h"
#include "tlsrpt/stats.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define MSTATS_PROGRAM "tlsrpt-milter"

static const char *const names[MSTAT_COUNT] = {
    "messages_captured_total", "messages_tempfailed_total", "messages_rejected_total",
    "reports_stored_total", "reports_duplicate_total", "reports_quarantined_total",
    "drain_failures_total",
};

static _Atomic uint64_t counters[MSTAT_COUNT];
static uint64_t started, last_drain;     /* the worker's */

void mstats_inc(enum mstat which)
{
    atomic_fetch_add(&counters[which], 1);
}

static void add(enum mstat which, long n)
{
    if (n > 0)
        atomic_fetch_add(&counters[which], (uint64_t)n);
}

void mstats_drained(const char *spool_dir, const struct tr_counts *counts, int ok)
{
    struct tr_stat st[MSTAT_COUNT + 3];
    struct tr_err err;
    size_t n = 0;
    long backlog = tr_spool_pending(spool_dir);
    char *path;

    if (started == 0)
        started = (uint64_t)time(NULL);
    if (counts) {
        add(MSTAT_STORED, counts->stored);
        add(MSTAT_DUPLICATES, counts->duplicates);
        add(MSTAT_QUARANTINED, counts->quarantined);
    }
    if (ok)
        last_drain = (uint64_t)time(NULL);
    else
        mstats_inc(MSTAT_DRAIN_FAILED);
    for (int i = 0; i < MSTAT_COUNT; i++, n++) {
        snprintf(st[n].name, sizeof st[n].name, "%s", names[i]);
        st[n].value = atomic_load(&counters[i]);
    }
    snprintf(st[n].name, sizeof st[n].name, "spool_backlog");
    st[n++].value = backlog > 0 ? (uint64_t)backlog : 0;
    snprintf(st[n].name, sizeof st[n].name, "last_drain_time");
    st[n++].value = last_drain;
    snprintf(st[n].name, sizeof st[n].name, "started_time");
    st[n++].value = started;
    path = tr_stats_path(spool_dir, MSTATS_PROGRAM);
    if (tr_stats_write(path, st, n, &err) < 0)
        mlog(LOG_WARNING, NULL, "cannot write the counters: %s", err.detail);
    free(path);
}
