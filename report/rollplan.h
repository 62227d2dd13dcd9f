/*
 * rollplan.h - the rollup planner, internal to tlsrpt-report's query.c.
 *
 * rpt_q_failed() and rpt_q_sessions() ask for a plan of their window
 * (rpt_plan_failed, rpt_plan_sessions): the rollup of schema/002-rollups.sql
 * that covers their keys and filters, the whole months, weeks and days it
 * serves, and the partial days at either end, which they read from the raw
 * rows themselves.  rpt_plan_add_rollup_part() appends the rollup part of
 * their SQL, rpt_plan_presum_failures() sums a failure query's rollup rows
 * in C first (rollsum.h).  How the window is cut: rollplan.c.
 *
 * Ownership: a struct rpt_plan is the caller's (on its stack) and holds
 * nothing to free; its rollup is static.  Strings passed in are borrowed;
 * *json of rpt_plan_presum_failures() is new, the caller frees it.
 * Functions return 0, or -1 with err (TR_E_DB).
 */
#ifndef RPT_ROLLPLAN_H
#define RPT_ROLLPLAN_H

#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>

#include "query.h"

struct rpt_sql;
struct rpt_rollup;   /* one rollup's tables and key columns (rollplan.c) */

/* Rollup segments of one window at most (months, weeks and days of a
 * window seldom alternate more than a few times); a window that needs
 * more reads the raw rows. */
#define RPT_PLAN_SEGS_MAX 8

/* The window of a query cut into rollup segments and raw edges. */
struct rpt_plan {
    const struct rpt_rollup *ru;   /* the rollup the segments read; NULL: raw rows only (n_seg 0) */
    struct { int g; int64_t lo, hi; } seg[RPT_PLAN_SEGS_MAX];   /* grain; t in [lo, hi), day numbers */
    size_t n_seg;
    int64_t edge[2][2];            /* raw start_time ranges [lo, hi) */
    size_t n_edge;
    unsigned key_dims;             /* the query's keys as the rollup's dimensions */
    int one_per_key;               /* the rollup part alone (no edges) yields one row per value
                                      of the keys: the outer GROUP BY can be left out */
};

/* 1 when rpt_q_failed() and rpt_q_sessions() may read the rollups of
 * schema/002-rollups.sql; 0 makes them read the raw rows (the results are
 * the same, only slower): when $TLSRPT_NO_ROLLUP is set and not "0" (a
 * debugging aid), or when reports stored by another tool are still queued
 * for the rollups (schema/003-rollup-fold.sql). */
int rpt_rollups_usable(sqlite3 *db);

/* The plan of a failure query (rpt_q_failed) grouped by keys within s. */
void rpt_plan_failed(sqlite3 *db, const struct rpt_scope *s, const enum rpt_key *keys, size_t n_keys,
                     struct rpt_plan *p);

/* The plan of a session query (rpt_q_sessions; report-level keys only). */
int rpt_plan_sessions(sqlite3 *db, const struct rpt_scope *s, const enum rpt_key *keys, size_t n_keys,
                      struct rpt_plan *p, struct tr_err *err);

/* The segment rows of failure plan p (each selecting seg_meas: n and c)
 * summed per key in C instead of by SQLite's GROUP BY, which sorts every
 * row: *json the sums as [[key ids..., n, c], ...], or NULL when they are
 * left to SQL (a time key, id ranges too large). */
int rpt_plan_presum_failures(sqlite3 *db, const struct rpt_scope *s, const struct rpt_plan *p,
                             const char *seg_meas, char **json, struct tr_err *err);

/* Appends the rollup part of a query: "SELECT st, org, pd, mx, ty, ip, pt,
 * <meas_out> FROM ...", the rows of p's segments (each selecting the key
 * columns and seg_meas) summed (meas_sum) per key, joined to the names.
 * With presummed (rpt_plan_presum_failures' JSON, measures n and c) the
 * sums are read from it instead. */
void rpt_plan_add_rollup_part(struct rpt_sql *q, const struct rpt_scope *s, const struct rpt_plan *p,
                              const char *seg_meas, const char *meas_sum, const char *meas_out,
                              const char *presummed);

#endif
