/*
 * log.c - see log.h.  The level is read on every call and changed by a
 * config reload, so it is an atomic.
 */
#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static atomic_int log_level = LOG_INFO;
static int log_stderr = 1;        /* until mlog_open() says otherwise */
static const char *log_prog = "tlsrpt-milter";

static const char *prio_name(int prio)
{
    switch (prio) {
    case LOG_EMERG: case LOG_ALERT: case LOG_CRIT: case LOG_ERR: return "error";
    case LOG_WARNING: return "warning";
    case LOG_NOTICE: return "notice";
    case LOG_INFO: return "info";
    default: return "debug";
    }
}

void mlog_open(const char *prog, int foreground, int facility, int level)
{
    log_prog = prog;
    log_stderr = foreground;
    atomic_store(&log_level, level);
    if (!foreground)
        openlog(log_prog, LOG_PID | LOG_NDELAY, facility);
}

void mlog_set_level(int level)
{
    atomic_store(&log_level, level);
}

void mlog_close(void)
{
    if (!log_stderr)
        closelog();
}

void mlog(int prio, const char *qid, const char *fmt, ...)
{
    char text[MLOG_LINE_MAX];
    va_list ap;
    int n = 0;

    if (prio > atomic_load(&log_level))
        return;
    if (qid != NULL)
        n = snprintf(text, sizeof text, "%s: ", qid);
    if (n < 0 || (size_t)n >= sizeof text)
        n = 0;
    va_start(ap, fmt);
    vsnprintf(text + n, sizeof text - (size_t)n, fmt, ap);
    va_end(ap);
    if (log_stderr) {
        char stamp[32];
        time_t now = time(NULL);
        struct tm tm;
        localtime_r(&now, &tm);
        strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
        fprintf(stderr, "%s %s[%ld]: %s: %s\n", stamp, log_prog, (long)getpid(), prio_name(prio), text);
    } else {
        syslog(prio, "%s", text);
    }
}
