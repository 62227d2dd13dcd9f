/*
 * backlog.h - the warning every tlsrpt-report command gives when the
 * milter's spool holds reports it has not stored for a while (a database
 * the milter cannot write, a stopped worker): otherwise the database just
 * looks quiet.
 */
#ifndef TLSRPT_REPORT_BACKLOG_H
#define TLSRPT_REPORT_BACKLOG_H

#include <stdint.h>
#include <stdio.h>

#define RPT_BACKLOG_AGE 300           /* seconds an entry may wait before the warning */
#define RPT_BACKLOG_SCAN_MAX 100000   /* directory entries looked at, at most */
#define RPT_SPOOL_DEFAULT "/var/spool/tlsrpt"   /* tlsrpt-milter's default SpoolDir */

/* The spool looked at: $TLSRPT_SPOOL if set and not empty, else
 * RPT_SPOOL_DEFAULT.  An empty $TLSRPT_SPOOL is "" (no check). */
const char *rpt_backlog_dir(void);

/* The number of entries of dir's new/ and cur/ last modified more than
 * RPT_BACKLOG_AGE seconds before now (0 when dir is "", missing or not
 * readable); *oldest gets the oldest one's time (now when none). */
long rpt_backlog_count(const char *dir, int64_t now, int64_t *oldest);

/*
 * Writes one warning line to err when dir's new/ or cur/ holds entries
 * last modified more than RPT_BACKLOG_AGE seconds before now; says nothing
 * when the spool is missing or not readable by this user.  Returns the
 * number of such entries.
 */
long rpt_backlog_warn(FILE *err, const char *dir, int64_t now);

#endif
