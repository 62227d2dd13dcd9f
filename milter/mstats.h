/*
 * mstats.h - tlsrpt-milter's counters, written for `tlsrpt-report metrics`
 * to <SpoolDir>/tlsrpt-milter.stats (see tlsrpt/stats.h) by the worker
 * after every drain, so at least every DrainInterval seconds.
 */
#ifndef TLSRPT_MILTER_MSTATS_H
#define TLSRPT_MILTER_MSTATS_H

#include "tlsrpt/ingest.h"

enum mstat {
    MSTAT_CAPTURED,      /* messages_captured_total: spooled, answered 250 */
    MSTAT_TEMPFAILED,    /* messages_tempfailed_total: rua messages answered 451 */
    MSTAT_REJECTED,      /* messages_rejected_total: over MaxMessageSize, 552 */
    MSTAT_STORED,        /* reports_stored_total: by the worker */
    MSTAT_DUPLICATES,    /* reports_duplicate_total */
    MSTAT_QUARANTINED,   /* reports_quarantined_total */
    MSTAT_DRAIN_FAILED,  /* drain_failures_total: drains that stopped on an error */
    MSTAT_COUNT
};

/* Adds one to a counter; safe from any thread. */
void mstats_inc(enum mstat which);

/* From the worker after a drain: adds its counts (NULL: none), counts a
 * failed drain, notes the time of a successful one, and writes the file
 * with the spool's backlog; a write failure is logged, nothing more. */
void mstats_drained(const char *spool_dir, const struct tr_counts *counts, int ok);

#endif
