/*
 * backlog.c - see backlog.h.
 */
#include "backlog.h"
#include "tlsrpt/parse.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char *rpt_backlog_dir(void)
{
    const char *d = getenv("TLSRPT_SPOOL");
    return d != NULL ? d : RPT_SPOOL_DEFAULT;
}

/* Entries of dir/sub older than cutoff; *oldest lowered to the oldest. */
static long count_old(const char *dir, const char *sub, int64_t cutoff, int64_t *oldest, long *scanned)
{
    char path[4096];
    DIR *d;
    struct dirent *de;
    long n = 0;

    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, sub) >= sizeof path || (d = opendir(path)) == NULL)
        return 0;
    while (*scanned < RPT_BACKLOG_SCAN_MAX && (de = readdir(d)) != NULL) {
        struct stat st;
        if (de->d_name[0] == '.')
            continue;
        ++*scanned;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_mtime < cutoff) {
            n++;
            if (st.st_mtime < *oldest)
                *oldest = st.st_mtime;
        }
    }
    closedir(d);
    return n;
}

long rpt_backlog_count(const char *dir, int64_t now, int64_t *oldest)
{
    long scanned = 0;

    *oldest = now;
    if (dir[0] == '\0')
        return 0;
    return count_old(dir, "new", now - RPT_BACKLOG_AGE, oldest, &scanned)
           + count_old(dir, "cur", now - RPT_BACKLOG_AGE, oldest, &scanned);
}

long rpt_backlog_warn(FILE *err, const char *dir, int64_t now)
{
    int64_t oldest;
    long n = rpt_backlog_count(dir, now, &oldest);
    char when[32];

    if (n == 0)
        return 0;
    tr_format_datetime(oldest, when, sizeof when);
    /* dir comes from the administrator ($TLSRPT_SPOOL or the default). */
    fprintf(err, "tlsrpt-report: warning: %ld report(s) waiting in the spool %s, the oldest since %s: "
            "they are not in the database yet (see tlsrpt-milter's log: can it write the database?)\n",
            n, dir, when);
    return n;
}
