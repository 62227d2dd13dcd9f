/*
 * dashpol.h - the dashboard's "Policies senders saw" tables (dashpol.c):
 * the distinct policies (type and policy strings) of each policy domain in
 * the window, with their reports, organizations, first and last day.
 */
#ifndef RPT_DASHPOL_H
#define RPT_DASHPOL_H

#include <sqlite3.h>

#include "dashchart.h"
#include "query.h"

/* The window's policies, read once for every domain's table. */
struct rpt_dash_pols;

/* Reads the policies of the window and filters (--domain, --org,
 * --received-since) of s, grouped and counted as rpt_q_policy_strings()
 * (listing.c) does, for the policy domains given (n names, borrowed; the
 * rest are skipped).  *out owned by the caller (rpt_dash_pols_free), also
 * after an error.  Returns 0, or -1 with err (TR_E_DB). */
int rpt_dash_pols_load(sqlite3 *db, const struct rpt_scope *s, const char *const *domains, size_t n,
                       struct rpt_dash_pols **out, struct tr_err *err);

/* Writes domain's table (heading included; one of the domains loaded),
 * first seen first, at most RPT_DASH_MAX_ROWS rows then "... and N more". */
void rpt_dash_pols_table(struct rpt_html *h, const struct rpt_dash_pols *pl, const char *domain);

void rpt_dash_pols_free(struct rpt_dash_pols *pl);

#endif
