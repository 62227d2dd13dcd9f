/*
 * log.h - the daemons' log (tlsrpt-milter, tlsrpt-httpd): syslog for the
 * daemon, stderr with -f.
 *
 * Every line about a message starts with its queue ID ("4Xb1pQ2z: ..."),
 * so `grep QUEUEID maillog` shows the MTA's and the milter's view side by
 * side.  Lines not about a message pass qid NULL.  Thread-safe: each line
 * is formatted whole and written with one call.
 */
#ifndef TLSRPT_MILTER_LOG_H
#define TLSRPT_MILTER_LOG_H

#include <syslog.h>

#define MLOG_LINE_MAX 2048   /* a longer line is cut */

/* Starts logging as prog (a static string): to stderr when foreground,
 * else to syslog with facility (LOG_MAIL, ...).  Lines above level
 * (LOG_ERR .. LOG_DEBUG) are dropped. */
void mlog_open(const char *prog, int foreground, int facility, int level);
void mlog_set_level(int level);
void mlog_close(void);

/* One line: "QID: text" (or "text" when qid is NULL). */
void mlog(int prio, const char *qid, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
