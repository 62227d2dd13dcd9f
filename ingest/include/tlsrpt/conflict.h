/*
 * conflict.h - a resend with the dedup key of a stored report: the same
 * report, or a different one (a corrected report, or a sender reusing a
 * report-id)?  Used by db.c on a duplicate.
 */
#ifndef TLSRPT_CONFLICT_H
#define TLSRPT_CONFLICT_H

#include <stddef.h>
#include <sqlite3.h>
#include "tlsrpt/report.h"
#include "tlsrpt/util.h"

/*
 * Compares r with the report stored on h (borrowed) under r's dedup key
 * (organization, report-id, start, end), field by field on the normalized
 * report (conflict.c says what counts).  Returns 0 when they are the same
 * (or none is stored), 1 when they differ, with what (cap bytes) set to
 * "differs from stored report ID in: FIELD, FIELD..." naming the fields
 * by their RFC 8460 path, or -1 with err (tr_db_fail).
 */
int tr_conflict_check(sqlite3 *h, const struct tr_report *r, char *what, size_t cap, struct tr_err *err);

#endif
