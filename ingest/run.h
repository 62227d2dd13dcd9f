/*
 * run.h - one tlsrpt-ingest run (run.c; CLI only, not part of the
 * library): where the outcomes go (the database in batches of --batch
 * reports, with the -v lines, or --dump's JSON on stdout), the counts, the
 * progress line on a terminal and the summary line at the end.
 *
 * main.c fills a struct run from the options (run_init first), opens the
 * database into run->db (it keeps owning it: run.c never closes it), calls
 * run_start, then one driver: run_paths, run_spool, run_retry_quarantine or
 * run_imap.  A driver that could not write the database sets
 * run->failed_db with the reason in run->db_err; the open batch is then
 * left for main.c to roll back.
 */
#ifndef TLSRPT_INGEST_RUN_H
#define TLSRPT_INGEST_RUN_H

#include "imap.h"
#include "tlsrpt/db.h"
#include "tlsrpt/ingest.h"

#include <stdint.h>
#include <stdio.h>

#define PROG "tlsrpt-ingest"
#define DEFAULT_BATCH 5000            /* --batch: reports per transaction */
/* A batch is committed after this long, however few reports it holds:
 * well under the others' TR_DB_BUSY_TIMEOUT_MS wait for the write lock. */
#define BATCH_MAX_MS 1000

/* tlsrpt-ingest's exit statuses (tlsrpt-ingest(1)). */
enum exit_code { EX_DONE = 0, EX_QUARANTINED = 1, EX_USAGE_ERR = 2, EX_DB = 3, EX_SERVER = 4 };

struct run {
    struct tr_ingest_opts opts;
    struct tr_db *db;             /* borrowed from main.c; NULL with --dump */
    struct tr_sink sink;          /* what outcomes go to (db or dump) */
    struct tr_counts counts;
    long inputs;
    long unreadable;
    long skipped;              /* directory entries not read by rule (TR_E_SKIPPED) */
    long batch;                   /* outcomes per transaction */
    long jobs;                    /* --jobs: parser threads (1: no threads) */
    long in_batch;                /* outcomes in the open transaction */
    int64_t batch_started_ms;     /* when it was opened (now_ms) */
    int dump, json, verbose, quiet;
    int failed_db;
    struct tr_err db_err;
    int64_t started_ms, last_progress_ms;
    int progress;                 /* stderr is a terminal */
    int imap;                     /* --imap: tally below, summary with messages */
    struct imap_tally tally;
};

/* Zeroes *run, with the default ingest options, DEFAULT_BATCH and one job. */
void run_init(struct run *run);

/* After the options: the sink (--dump, else the database in run->db,
 * which may be opened after this call), the progress line when stderr is
 * a terminal and not -q, the clock it starts from. */
void run_start(struct run *run);

/* Each of paths[0..n) (files, directories, "-") ingested, in run->jobs
 * threads when there are several; a PATH that cannot be read is named on
 * stderr and counted unreadable. */
void run_paths(struct run *run, char *const *paths, int n);

/* --spool DIR drained; an entry kept in failed/ is named and counted
 * unreadable. */
void run_spool(struct run *run, const char *dir);

/* --retry-quarantine: every unresolved quarantine entry through the parser
 * again; one yielding only stored or duplicate reports is marked resolved. */
void run_retry_quarantine(struct run *run);

/* One --imap run over the connection ic (borrowed).  Returns 0, or
 * EX_SERVER after a message on stderr (a database failure sets
 * run->failed_db). */
int run_imap(struct run *run, struct imap_conn *ic, const struct imap_sync_opts *so);

/* Clears the progress line, if one was shown. */
void run_progress_done(struct run *run);

/* The summary line on stdout (nothing with -q), or with --json one JSON
 * object. */
void run_print_summary(const struct run *run);

/* Prints s (NULL as "-") escaped by tr_term_escape(), so that text from a
 * report cannot move the cursor, change colours or reorder what a
 * terminal shows. */
void run_put_safe(FILE *f, const char *s);

#endif
