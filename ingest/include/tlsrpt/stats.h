/*
 * stats.h - a daemon's counters in a small file, for `tlsrpt-report metrics`.
 *
 * Each daemon (tlsrpt-milter, tlsrpt-httpd) keeps its counters in memory and
 * writes them now and then to <SpoolDir>/<program>.stats (tr_stats_path).
 * The file is lines of "name value\n": name is 1 to TR_STAT_NAME_MAX-1
 * characters of [a-z_], value an unsigned 64-bit decimal (a count, a
 * number of entries, or a UNIX time).  By convention a name ending in
 * "_total" is a counter (only grows while the daemon runs), one ending in
 * "_time" a UNIX time, anything else a gauge.  Names are unique in a file.
 *
 * Writing is atomic: a temporary file beside the target (O_EXCL), write,
 * fsync, rename, fsync of the directory; a reader sees the old file or the
 * new one, never half of one.  Reading is strict and capped (at most
 * TR_STATS_FILE_MAX bytes and TR_STATS_MAX lines): any line that does not
 * match the format makes the whole read fail, so a reader never reports a
 * number it did not understand.
 */
#ifndef TLSRPT_STATS_H
#define TLSRPT_STATS_H

#include <stddef.h>
#include <stdint.h>
#include "tlsrpt/util.h"

#define TR_STAT_NAME_MAX 64                    /* with the NUL */
#define TR_STATS_MAX 256                       /* lines in one file */
#define TR_STATS_FILE_MAX ((size_t)64 << 10)   /* bytes in one file */
#define TR_STATS_SUFFIX ".stats"

struct tr_stat {
    char name[TR_STAT_NAME_MAX];
    uint64_t value;
};

/* 1 when name is a valid counter name (1..63 characters of [a-z_]). */
int tr_stat_name_valid(const char *name);

/* "<spool_dir>/<program>.stats", caller-owned. */
char *tr_stats_path(const char *spool_dir, const char *program);

/* Writes n counters to path atomically (mode 0640).  Fails (-1, err set,
 * nothing changed at path) on an invalid or repeated name or an I/O error. */
int tr_stats_write(const char *path, const struct tr_stat *stats, size_t n, struct tr_err *err);

/* Reads a stats file.  On success *out is a caller-owned array of *n
 * counters in file order (free with tr_stats_free; *out may be NULL when
 * the file is empty).  Refuses a file that is not a regular file (no
 * symlink is followed), is over the caps, or has any malformed line. */
int tr_stats_read(const char *path, struct tr_stat **out, size_t *n, struct tr_err *err);

void tr_stats_free(struct tr_stat *stats);

#endif
