/*
 * retention.h - tlsrpt-ingest --prune-before: the command around the
 * library's prune (tlsrpt/prune.h), its output and exit status.
 */
#ifndef TLSRPT_INGEST_RETENTION_H
#define TLSRPT_INGEST_RETENTION_H

#include "tlsrpt/db.h"

struct retention_opts {
    const char *when;       /* --prune-before, as given (borrowed) */
    int dry_run;            /* --dry-run: count only */
    int no_vacuum;          /* --no-vacuum */
    int json, quiet;        /* --json, -q */
};

/* Parses when (tr_parse_when, relative to $TLSRPT_NOW or the clock) into
 * *before.  Returns 0, or -1 after naming the problem on stderr. */
int retention_parse(const char *when, int64_t *before);

/* Prunes db (or counts, --dry-run) and prints one line (or a JSON
 * object).  Returns tlsrpt-ingest's exit status: 0 done, 3 the database
 * could not be written (nothing changed; a failed VACUUM after a
 * committed prune is also 3, the prune stays). */
int retention_run(struct tr_db *db, int64_t before, const struct retention_opts *o);

#endif
