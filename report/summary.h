/*
 * summary.h - shaping summary's tables after the queries: sessions and
 * success rate joined onto rows grouped by report-level keys, the top N
 * rows by failed sessions, and the domain table worst first.
 *
 * Every function works on tables the caller owns and changes them in
 * place; none prints.
 */
#ifndef RPT_SUMMARY_H
#define RPT_SUMMARY_H

#include <stddef.h>
#include <stdint.h>

#include "args.h"
#include "output.h"

/* Rows on a terminal when summary's --limit is not given (the table
 * format to a terminal only; CSV, JSON and pipes get every row). */
#define RPT_SUMMARY_TERM_LIMIT 50

/*
 * rows: rpt_q_failed()'s table grouped by keys[0..n_keys) (the key columns,
 * then failed_sessions); sess: rpt_q_sessions()'s table by the same keys
 * (keys, reports, successful_sessions, failed_sessions).  Adds the columns
 * reports, sessions and success_rate (from the report summaries) to rows,
 * appends the groups that have sessions but no failure detail (failed
 * sessions 0), and orders rows as rpt_q_failed does: time keys, then failed
 * sessions (most first), then the other keys.
 */
void rpt_summary_add_sessions(struct rpt_table *rows, const enum rpt_key *keys, size_t n_keys,
                              const struct rpt_table *sess);

/*
 * Keeps the limit rows with the most failed sessions (column fail_col; ties
 * keep the earlier row), in their order, and drops the others.  Returns the
 * number dropped (0 when limit is 0 or not exceeded) and their failed
 * sessions in *dropped_failed.
 */
size_t rpt_table_keep_top(struct rpt_table *t, size_t fail_col, size_t limit, int64_t *dropped_failed);

/*
 * Orders the per-domain totals (columns domain, reports,
 * successful_sessions, failed_sessions, success_rate) worst first: lowest
 * success rate, then most failed sessions, then by name; domains without
 * sessions last.
 */
void rpt_domains_worst_first(struct rpt_table *dom);

#endif
