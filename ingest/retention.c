/*
 * retention.c - tlsrpt-ingest --prune-before WHEN [--dry-run]
 * [--no-vacuum] (retention.h): parses WHEN like tlsrpt-report --since,
 * runs tr_prune (or tr_prune_count) and VACUUM, prints what went.
 */
#include "retention.h"
#include "tlsrpt/dates.h"
#include "tlsrpt/prune.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define PROG "tlsrpt-ingest"

/* Exit statuses, as run.h's EX_DONE and EX_DB. */
#define RET_DONE 0
#define RET_DB 3

int retention_parse(const char *when, int64_t *before)
{
    const char *env = getenv("TLSRPT_NOW");
    int64_t now = (int64_t)time(NULL);
    struct tr_err err;

    if (env != NULL && env[0] != '\0' && tr_parse_when(env, now, 0, &now, &err) < 0) {
        fprintf(stderr, PROG ": $TLSRPT_NOW: %s\n", err.detail);
        return -1;
    }
    if (tr_parse_when(when, now, 0, before, &err) < 0) {
        fprintf(stderr, PROG ": --prune-before: %s\n", err.detail);
        return -1;
    }
    return 0;
}

static void print_counts(const struct retention_opts *o, int64_t before, const struct tr_prune_counts *c,
                         int vacuumed, int64_t bytes_before, int64_t bytes_after)
{
    char b[TR_DATETIME_MAX], first[TR_DATETIME_MAX] = "", last[TR_DATETIME_MAX] = "";

    tr_format_datetime(before, b, sizeof b);
    if (c->reports > 0) {
        tr_format_date(c->first_start, 0, first, sizeof first);
        /* the last day a pruned report covers: its end is exclusive */
        tr_format_date(c->last_end - 1, 0, last, sizeof last);
    }
    if (o->json) {
        printf("{\"before\": \"%s\", \"dry_run\": %s, \"reports\": %lld, \"policies\": %lld,"
               " \"failures\": %lld, \"quarantine\": %lld, \"first_day\": %s%s%s, \"last_day\": %s%s%s",
               b, o->dry_run ? "true" : "false", (long long)c->reports, (long long)c->policies,
               (long long)c->failures, (long long)c->quarantine,
               first[0] ? "\"" : "", first[0] ? first : "null", first[0] ? "\"" : "",
               last[0] ? "\"" : "", last[0] ? last : "null", last[0] ? "\"" : "");
        if (vacuumed)
            printf(", \"bytes_before\": %lld, \"bytes_after\": %lld", (long long)bytes_before,
                   (long long)bytes_after);
        printf("}\n");
        return;
    }
    if (o->quiet)
        return;
    printf("%s before %s: %lld reports", o->dry_run ? "would prune" : "pruned", b, (long long)c->reports);
    if (c->reports > 0)
        printf(" (covering %s to %s)", first, last);
    printf(", %lld policies, %lld failure details, %lld quarantine entries", (long long)c->policies,
           (long long)c->failures, (long long)c->quarantine);
    if (vacuumed)
        printf("; vacuum: %.1f MB -> %.1f MB", bytes_before / 1e6, bytes_after / 1e6);
    if (o->dry_run)
        printf(" (dry run: nothing changed)");
    putchar('\n');
}

int retention_run(struct tr_db *db, int64_t before, const struct retention_opts *o)
{
    struct tr_prune_counts c;
    struct tr_err err;
    int64_t bytes_before = 0, bytes_after = 0;
    int vacuumed = 0;

    if (o->dry_run ? tr_prune_count(db, before, &c, &err) < 0 : tr_prune(db, before, &c, &err) < 0) {
        fprintf(stderr, PROG ": prune failed, nothing was changed: %s\n", err.detail);
        return RET_DB;
    }
    if (!o->dry_run && !o->no_vacuum && (c.reports > 0 || c.quarantine > 0)) {
        if (tr_db_vacuum(db, &bytes_before, &bytes_after, &err) < 0) {
            print_counts(o, before, &c, 0, 0, 0);
            fprintf(stderr, PROG ": the prune is done, but VACUUM failed (the freed pages stay in the"
                    " file for reuse): %s\n", err.detail);
            return RET_DB;
        }
        vacuumed = 1;
    }
    print_counts(o, before, &c, vacuumed, bytes_before, bytes_after);
    return RET_DONE;
}
