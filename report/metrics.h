/*
 * metrics.h - `tlsrpt-report metrics`: the database and the daemons'
 * counters as Prometheus text exposition (format 0.0.4) for
 * node_exporter's textfile collector.
 *
 * Families (tlsrpt-report(1), METRICS): sessions and failures by type per
 * policy domain over all stored reports (_total) and over the last
 * complete UTC day (_last_day), counted as `summary` counts them (query.c);
 * last report received per policy domain and per reporting organization;
 * reports stored; quarantine entries by reason; database size; last
 * ingest; and each daemon's counters from <dir>/<program>.stats
 * (tlsrpt/stats.h) as tlsrpt_daemon_NAME{program="..."}.  Label values
 * are escaped with rpt_prom_label (escape.c): report strings are untrusted.
 */
#ifndef RPT_METRICS_H
#define RPT_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>

#include "tlsrpt/util.h"

/* Cap on the whole exposition text. */
#define RPT_METRICS_MAX ((size_t)64 << 20)

/* Builds the text.  db borrowed; db_path for the size (its -wal file
 * included); spool dirs (n_spool may be 0) searched for *.stats; now for
 * the last-day window.  *out is caller-owned.  0, or -1 with err. */
int rpt_metrics_build(sqlite3 *db, const char *db_path, const char *const *spool, size_t n_spool,
                      int64_t now, char **out, size_t *len, struct tr_err *err);

#endif
