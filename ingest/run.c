/*
 * run.c - one tlsrpt-ingest run (run.h; CLI only): the sinks that store
 * each outcome (batched transactions, -v lines) or print it (--dump), the
 * drivers for PATHs, --spool, --retry-quarantine and --imap, the progress
 * line and the summary at the end.
 */
#include "run.h"
#include "jobs.h"
#include "tlsrpt/codes.h"
#include "tlsrpt/drain.h"
#include "tlsrpt/gunzip.h"
#include "tlsrpt/parse.h"
#include "tlsrpt/source.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The progress line: shown once an import has run this long, then
 * redrawn at most this often (milliseconds). */
#define PROGRESS_AFTER_MS 1000
#define PROGRESS_EVERY_MS 250

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Most bytes one -v field prints (fields are capped by the string-length
 * limit already; this bounds the escaped copy). */
#define PUT_SAFE_MAX ((size_t)1 << 20)

void run_put_safe(FILE *f, const char *s)
{
    char *e;

    if (s == NULL) {
        fputc('-', f);
        return;
    }
    e = tr_term_escape(s, strlen(s), 0, PUT_SAFE_MAX);
    fputs(e, f);
    free(e);
}

static void progress(struct run *run, int final)
{
    int64_t t;
    if (!run->progress)
        return;
    t = now_ms();
    if (final) {
        if (run->last_progress_ms)
            fputs("\r\033[K", stderr);
        return;
    }
    if (t - run->started_ms < PROGRESS_AFTER_MS || t - run->last_progress_ms < PROGRESS_EVERY_MS)
        return;
    run->last_progress_ms = t;
    fprintf(stderr, "\r" PROG ": %ld inputs, %ld stored, %ld duplicates, %ld quarantined\033[K",
            run->inputs, run->counts.stored, run->counts.duplicates, run->counts.quarantined);
}

void run_progress_done(struct run *run)
{
    progress(run, 1);
}

/* ---- sinks: the database (with batching and -v) and --dump ---- */

/* The -v line of a stored, duplicate or refused report (rc from the
 * store; a refused one was quarantined as TR_E_DB_REFUSED). */
static void print_stored(const struct run *run, int rc, const struct tr_report *r,
                         const struct tr_provenance *p)
{
    if (rc > 0 && run->verbose) {
        char start[32];
        tr_format_datetime(r->start, start, sizeof start);
        start[10] = '\0';
        printf("%-10s ", rc == TR_STORED ? "stored" : rc == TR_DUPLICATE ? "duplicate"
                         : rc == TR_CONFLICTING ? "quarantine " TR_E_CONFLICTING_DUPLICATE
                                                : "quarantine " TR_E_DB_REFUSED);
        run_put_safe(stdout, r->organization_name);
        fputs("  ", stdout);
        run_put_safe(stdout, r->n_policies ? r->policies[0].policy_domain : NULL);
        printf("  %s  ", start);
        run_put_safe(stdout, p->source);
        fputc('\n', stdout);
    }
}

static int run_report(void *ctx, const struct tr_report *r, const struct tr_provenance *p,
                      const unsigned char *raw, size_t len, struct tr_err *err)
{
    struct run *run = ctx;
    int rc = tr_db_store_report(run->db, r, p, raw, len, err);
    print_stored(run, rc, r, p);
    run->in_batch++;
    return rc;
}

/* The --jobs writer's store: the JSON was compressed by a parser thread. */
static int run_report_z(void *ctx, const struct tr_report *r, const struct tr_provenance *p,
                        const unsigned char *z, size_t z_len, size_t raw_len, struct tr_err *err)
{
    struct run *run = ctx;
    int rc = tr_db_store_report_z(run->db, r, p, z, z_len, raw_len, err);
    print_stored(run, rc, r, p);
    run->in_batch++;
    return rc;
}

static int run_reject(void *ctx, const struct tr_provenance *p, const char *code, const char *detail,
                      const unsigned char *raw, size_t len, size_t full_len, struct tr_err *err)
{
    struct run *run = ctx;
    int rc = tr_db_quarantine(run->db, p, code, detail, raw, len, full_len, err);
    if (rc == 0 && run->verbose) {
        printf("%-10s %s  ", "quarantine", code);
        run_put_safe(stdout, p->source);
        fputs(": ", stdout);
        run_put_safe(stdout, detail);
        fputc('\n', stdout);
    }
    run->in_batch++;
    return rc;
}

static int dump_report(void *ctx, const struct tr_report *r, const struct tr_provenance *p,
                       const unsigned char *raw, size_t len, struct tr_err *err)
{
    char *s = tr_report_to_json(r);
    puts(s);
    free(s);
    return TR_STORED;
}

static int dump_reject(void *ctx, const struct tr_provenance *p, const char *code, const char *detail,
                       const unsigned char *raw, size_t len, size_t full_len, struct tr_err *err)
{
    json_t *o = json_pack("{s:s, s:s, s:s}", "source", p->source ? p->source : "",
                          "error", code, "detail", detail ? detail : "");
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    if (s == NULL)
        tr_oom();
    puts(s);
    free(s);
    json_decref(o);
    return 0;
}

/* Commits the open batch and opens the next one. */
static int batch_roll(struct run *run, int reopen)
{
    if (run->dump || run->db == NULL)
        return 0;
    if (tr_db_commit(run->db, &run->db_err) < 0)
        return -1;
    run->in_batch = 0;
    if (reopen && tr_db_begin(run->db, &run->db_err) < 0)
        return -1;
    run->batch_started_ms = now_ms();
    return 0;
}

/* 1 when the open batch is to be committed: --batch outcomes in it, or
 * open for BATCH_MAX_MS (the write lock it holds keeps the milter's and
 * the httpd's workers waiting). */
static int batch_full(const struct run *run)
{
    return run->in_batch >= run->batch || (run->in_batch > 0 && now_ms() - run->batch_started_ms >= BATCH_MAX_MS);
}

static int on_input(void *ctx, const struct tr_input *in)
{
    struct run *run = ctx;

    run->inputs++;
    if (tr_ingest_input(&run->opts, &run->sink, in, NULL, &run->counts, &run->db_err) < 0) {
        run->failed_db = 1;
        return 1;
    }
    if (batch_full(run) && batch_roll(run, 1) < 0) {
        run->failed_db = 1;
        return 1;
    }
    progress(run, 0);
    return 0;
}

/* --jobs: after each input's outcomes, as on_input does.  The error goes
 * to run->db_err through jobs_run's err. */
static int jobs_input_done(void *ctx, struct tr_err *err)
{
    struct run *run = ctx;

    run->inputs++;
    if (batch_full(run) && batch_roll(run, 1) < 0) {
        *err = run->db_err;
        return -1;
    }
    progress(run, 0);
    return 0;
}

/* A file not read: unreadable (exit status 1), or skipped by rule (a
 * symbolic link, FIFO, socket or device below a PATH: counted apart, the
 * exit status unchanged).  Each is named on stderr. */
static void on_source_error(void *ctx, const char *path, const struct tr_err *err)
{
    struct run *run = ctx;

    if (tr_err_is(err, TR_E_SKIPPED)) {
        run->skipped++;
        fputs(PROG ": skipped ", stderr);
        run_put_safe(stderr, path);
        fputs(": ", stderr);
        run_put_safe(stderr, err->detail);
        fputc('\n', stderr);
        return;
    }
    run->unreadable++;
    fprintf(stderr, PROG ": %s: %s\n", path, err->detail);
}

/* --spool: an entry the database refused went to failed/ (drain.h); it
 * counts as unreadable (exit status 1) and is named on stderr. */
static void on_spool_entry(void *ctx, const struct tr_spool_entry *e, enum tr_drain_outcome outcome,
                           const struct tr_counts *delta, const struct tr_err *err)
{
    struct run *run = ctx;
    (void)delta;
    if (outcome == TR_DRAIN_FAILED && err != NULL) {
        run->unreadable++;
        fputs(PROG ": spool entry ", stderr);
        run_put_safe(stderr, e->name);
        fputs(" kept in failed/: ", stderr);
        run_put_safe(stderr, err->detail);
        fputc('\n', stderr);
    }
}

/* ---- a run: set-up, PATHs, --spool ---- */

void run_init(struct run *run)
{
    memset(run, 0, sizeof *run);
    tr_ingest_opts_default(&run->opts);
    run->batch = DEFAULT_BATCH;
    run->jobs = 1;
}

void run_start(struct run *run)
{
    run->progress = isatty(STDERR_FILENO) && !run->quiet;
    run->started_ms = now_ms();
    if (run->dump)
        run->sink = (struct tr_sink){ dump_report, dump_reject, run, NULL };
    else
        run->sink = (struct tr_sink){ run_report, run_reject, run, NULL };
}

void run_paths(struct run *run, char *const *paths, int n)
{
    struct tr_err err;

    run->batch_started_ms = now_ms();
    if (run->db && tr_db_begin(run->db, &run->db_err) < 0) {
        run->failed_db = 1;
    } else if (run->db && run->jobs > 1) {
        struct jobs_writer w = { run_report_z, run_reject, jobs_input_done, run };
        if (jobs_run(paths, n, (int)run->jobs, &run->opts, &w,
                     on_source_error, run, &run->counts, &run->db_err) < 0)
            run->failed_db = 1;
        if (!run->failed_db && batch_roll(run, 0) < 0)
            run->failed_db = 1;
    } else {
        for (int i = 0; i < n && !run->failed_db; i++) {
            if (tr_source_walk(paths[i], &run->opts.limits, on_input, on_source_error, run, &err) < 0) {
                fprintf(stderr, PROG ": %s: %s\n", paths[i], err.detail);
                run->unreadable++;
            }
        }
        if (!run->failed_db && batch_roll(run, 0) < 0)
            run->failed_db = 1;
    }
}

void run_spool(struct run *run, const char *dir)
{
    if (tr_spool_drain_log(dir, &run->opts, run->db, &run->counts, -1, on_spool_entry, run,
                           &run->db_err) < 0)
        run->failed_db = 1;
}

/* ---- --retry-quarantine ---- */

struct retry {
    struct run *run;
    int stored, rejected;
};

static int retry_report(void *ctx, const struct tr_report *r, const struct tr_provenance *p,
                        const unsigned char *raw, size_t len, struct tr_err *err)
{
    struct retry *rt = ctx;
    int rc = run_report(rt->run, r, p, raw, len, err);
    if (rc == TR_STORED || rc == TR_DUPLICATE)
        rt->stored++;
    else if (rc == TR_QUARANTINED || rc == TR_CONFLICTING)
        rt->rejected++;                        /* the database refuses it still, or it conflicts */
    return rc;
}

static int retry_reject(void *ctx, const struct tr_provenance *p, const char *code, const char *detail,
                        const unsigned char *raw, size_t len, size_t full_len, struct tr_err *err)
{
    struct retry *rt = ctx;
    rt->rejected++;
    return run_reject(rt->run, p, code, detail, raw, len, full_len, err);
}

static const char *col_text(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

/* Re-runs every unresolved quarantine entry; an entry whose input now
 * yields only stored or duplicate reports is marked resolved. */
static int retry_quarantine(struct run *run)
{
    sqlite3 *h = tr_db_handle(run->db);
    sqlite3_stmt *st;
    int64_t last = 0;
    int rc = 0;

    if (sqlite3_prepare_v2(h,
            "SELECT id, source, message_id, hdr_report_domain, hdr_report_submitter,"
            " attachment_name, raw_z, raw_size, raw_truncated FROM quarantine"
            " WHERE resolved_time IS NULL AND id > ?1 ORDER BY id LIMIT 1", -1, &st, NULL) != SQLITE_OK) {
        tr_err_set(&run->db_err, TR_E_DB, "%s", sqlite3_errmsg(h));
        return -1;
    }
    for (;;) {
        struct tr_provenance base;
        struct tr_input in;
        struct retry rt = { run, 0, 0 };
        struct tr_sink sink = { retry_report, retry_reject, &rt, NULL };
        unsigned char *raw = NULL;
        size_t len = 0;
        struct tr_err zerr;
        char *source, *mid, *dom, *sub, *att;
        int step = (sqlite3_bind_int64(st, 1, last), sqlite3_step(st));

        if (step == SQLITE_DONE)
            break;
        if (step != SQLITE_ROW) {
            tr_err_set(&run->db_err, TR_E_DB, "%s", sqlite3_errmsg(h));
            rc = -1;
            break;
        }
        last = sqlite3_column_int64(st, 0);
        if (sqlite3_column_int(st, 8)) {
            fprintf(stderr, PROG ": quarantine %lld: only the first bytes of this input were kept; "
                    "import the original again\n", (long long)last);
            sqlite3_reset(st);
            continue;
        }
        if (tr_zinflate(sqlite3_column_blob(st, 6), (size_t)sqlite3_column_bytes(st, 6),
                        run->opts.limits.message_size, &raw, &len, &zerr) < 0) {
            fprintf(stderr, PROG ": quarantine %lld: %s\n", (long long)last, zerr.detail);
            sqlite3_reset(st);
            continue;
        }
        source = col_text(st, 1) ? xstrdup(col_text(st, 1)) : NULL;
        mid = col_text(st, 2) ? xstrdup(col_text(st, 2)) : NULL;
        dom = col_text(st, 3) ? xstrdup(col_text(st, 3)) : NULL;
        sub = col_text(st, 4) ? xstrdup(col_text(st, 4)) : NULL;
        att = col_text(st, 5) ? xstrdup(col_text(st, 5)) : NULL;
        sqlite3_reset(st);

        memset(&base, 0, sizeof base);
        base.source = source;
        base.message_id = mid;
        base.report_domain = dom;
        base.report_submitter = sub;
        base.attachment_name = att;
        memset(&in, 0, sizeof in);
        in.source = source ? source : "quarantine";
        in.filename = att;
        in.data = raw;
        in.len = in.full_len = len;
        in.mtime = (int64_t)time(NULL);
        run->inputs++;
        if (tr_ingest_input(&run->opts, &sink, &in, &base, &run->counts, &run->db_err) < 0)
            rc = -1;
        else if (rt.stored > 0 && rt.rejected == 0 &&
                 tr_db_quarantine_resolve(run->db, last, &run->db_err) < 0)
            rc = -1;
        free(raw);
        free(source); free(mid); free(dom); free(sub); free(att);
        if (rc < 0)
            break;
        if (batch_full(run) && batch_roll(run, 1) < 0) {
            rc = -1;
            break;
        }
    }
    sqlite3_finalize(st);
    if (rc < 0)
        run->failed_db = 1;
    return rc;
}

void run_retry_quarantine(struct run *run)
{
    run->batch_started_ms = now_ms();
    if (tr_db_begin(run->db, &run->db_err) < 0 || retry_quarantine(run) < 0 || batch_roll(run, 0) < 0)
        run->failed_db = 1;
}

/* ---- --imap ---- */

int run_imap(struct run *run, struct imap_conn *ic, const struct imap_sync_opts *so)
{
    struct tr_err srv;
    int rc;

    run->imap = 1;
    rc = imap_sync(ic, so, run->db, &run->opts, &run->sink, &run->counts, &run->tally, &run->db_err, &srv);
    run->inputs = run->tally.messages;
    if (run->tally.uidvalidity_changed)
        fprintf(stderr, PROG ": %s: UIDVALIDITY changed from %lu to %lu: every message fetched again "
                "(reports already stored count as duplicates)\n", imap_display(ic),
                (unsigned long)run->tally.old_uidvalidity, (unsigned long)run->tally.uidvalidity);
    if (run->tally.more)
        fprintf(stderr, PROG ": %s: more new messages than one run takes; run again\n", imap_display(ic));
    if (rc == -1) {
        run->failed_db = 1;
        return 0;
    }
    if (rc == -2) {
        fprintf(stderr, PROG ": %s: ", imap_display(ic));
        run_put_safe(stderr, srv.detail);
        if (tr_err_is(&srv, IMAP_E_LOGIN))
            fputs(" (check the user name and the password; Gmail wants an app password, Microsoft 365 "
                  "OAuth2, which tlsrpt-ingest does not support)", stderr);
        else if (run->tally.messages > 0)
            fprintf(stderr, " (the %ld messages of this run before it are committed; the next run goes on "
                    "from there)", run->tally.messages);
        fputc('\n', stderr);
        return EX_SERVER;
    }
    return 0;
}
/* ---- the end ---- */

void run_print_summary(const struct run *run)
{
    if (run->json) {
        printf("{\"stored\": %ld, \"duplicates\": %ld, \"quarantined\": %ld, \"unreadable\": %ld,"
               " \"skipped\": %ld, \"conflicting\": %ld", run->counts.stored, run->counts.duplicates,
               run->counts.quarantined, run->unreadable, run->skipped, run->counts.conflicting);
        if (run->imap)
            printf(", \"messages\": %ld, \"oversize\": %ld, \"gone\": %ld", run->tally.messages,
                   run->tally.oversize, run->tally.gone);
        puts("}");
    } else if (!run->quiet) {
        printf("%ld reports stored, %ld duplicates, %ld quarantined", run->counts.stored,
               run->counts.duplicates, run->counts.quarantined);
        if (run->unreadable)
            printf(", %ld unreadable", run->unreadable);
        if (run->counts.conflicting)
            printf(", %ld conflicting", run->counts.conflicting);
        if (run->skipped)
            printf(", %ld skipped", run->skipped);
        if (run->imap) {
            printf(", %ld messages fetched", run->tally.messages);
            if (run->tally.oversize)
                printf(" (%ld over message-size: first bytes only)", run->tally.oversize);
            if (run->tally.gone)
                printf(", %ld gone before the fetch", run->tally.gone);
        }
        putchar('\n');
    }
}
