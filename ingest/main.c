/*
 * tlsrpt-ingest - store TLS-RPT (RFC 8460) reports in the tlsrpt database.
 *
 * SYNOPSIS
 *   tlsrpt-ingest [--db FILE] [--jobs N] [options] PATH...
 *   tlsrpt-ingest --dump [options] PATH...
 *   tlsrpt-ingest [--db FILE] --spool DIR
 *   tlsrpt-ingest [--db FILE] --retry-quarantine
 *   tlsrpt-ingest [--db FILE] --imap imaps://USER@HOST[:PORT]/MAILBOX [--imap-after ACTION]
 *   tlsrpt-ingest [--db FILE] --prune-before WHEN [--dry-run] [--no-vacuum]
 *
 * DESCRIPTION
 *   Each PATH is a report (.json, .json.gz, .gz, .zip), a mail message
 *   (.eml), an mbox, a Maildir, any directory (searched recursively), or
 *   "-" for standard input.  What a file is is decided by its content.
 *   Every report found is normalized and stored once (a report already
 *   stored is counted as a duplicate); every input that yields no report
 *   is quarantined in the database with a reason.  One line at the end
 *   says how many reports were stored, were duplicates, were quarantined.
 *   With --jobs N, N threads read, decompress and parse while this one
 *   stores (jobs.h): the same counts, -v lines in another order.
 *   With --imap, the messages of an IMAP mailbox not processed yet
 *   (imap.h), the password from --imap-password-file or
 *   $TLSRPT_IMAP_PASSWORD.
 *   --prune-before deletes what ended before WHEN (prune.h) and returns
 *   the space with VACUUM; --dry-run says what would go.
 *
 * EXIT STATUS
 *   0 everything was stored or was a duplicate; 1 something was quarantined
 *   (or, with --dump, yielded no report) or an input could not be read;
 *   2 usage error; 3 the database could not be written (the reports of the
 *   unfinished batch were not stored: run again, duplicates are skipped);
 *   4 the IMAP server could not be used (unreachable, TLS, login refused,
 *   mailbox missing, connection lost: what was committed stays).
 */
#include "imap.h"
#include "jobs.h"
#include "retention.h"
#include "tlsrpt/codes.h"
#include "tlsrpt/db.h"
#include "tlsrpt/drain.h"
#include "tlsrpt/gunzip.h"
#include "tlsrpt/ingest.h"
#include "tlsrpt/mime.h"
#include "tlsrpt/parse.h"
#include "tlsrpt/source.h"

#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PROG "tlsrpt-ingest"
#define DEFAULT_BATCH 1000
#define PROGRESS_AFTER_MS 1000
#define PROGRESS_EVERY_MS 250

enum exit_code { EX_DONE = 0, EX_QUARANTINED = 1, EX_USAGE_ERR = 2, EX_DB = 3, EX_SERVER = 4 };

/* The environment variable holding the IMAP password (never an option). */
#define IMAP_PASSWORD_ENV "TLSRPT_IMAP_PASSWORD"

struct run {
    struct tr_ingest_opts opts;
    struct tr_db *db;
    struct tr_sink sink;          /* what outcomes go to (db or dump) */
    struct tr_counts counts;
    long inputs;
    long unreadable;
    long skipped;              /* directory entries not read by rule (TR_E_SKIPPED) */
    long batch;                   /* outcomes per transaction */
    long jobs;                    /* --jobs: parser threads (1: no threads) */
    long in_batch;                /* outcomes in the open transaction */
    int dump, json, verbose, quiet;
    int failed_db;
    struct tr_err db_err;
    int64_t started_ms, last_progress_ms;
    int progress;                 /* stderr is a terminal */
    int imap;                     /* --imap: tally below, summary with messages */
    struct imap_tally tally;
};

static void usage(FILE *f)
{
    fprintf(f,
        "Usage: " PROG " [OPTIONS] [--jobs N] PATH...\n"
        "       " PROG " --dump [OPTIONS] PATH...\n"
        "       " PROG " [--db FILE] --spool DIR\n"
        "       " PROG " [--db FILE] --retry-quarantine\n"
        "       " PROG " [--db FILE] --imap imaps://USER@HOST[:PORT]/MAILBOX [--imap-after ACTION]\n"
        "       " PROG " [--db FILE] --prune-before WHEN [--dry-run] [--no-vacuum]\n"
        "\n"
        "Store TLS-RPT (RFC 8460) reports from files, messages, mboxes, Maildirs,\n"
        "directories (recursive), standard input (-) or an IMAP mailbox (--imap) in the\n"
        "tlsrpt database.\n"
        "\n"
        "  --db FILE                 database (default: $TLSRPT_DB, else %s)\n"
        "  --dump                    parse and print one JSON object per report; no database\n"
        "  --json                    print the final counts as one JSON object\n"
        "  --spool DIR               drain a tlsrpt-milter spool directory\n"
        "  --retry-quarantine        run quarantined inputs through the parser again\n"
        "  --imap URL                the messages of an IMAP mailbox not processed yet:\n"
        "                            imaps://USER@HOST[:PORT]/MAILBOX (TLS), or imap://\n"
        "                            (STARTTLS required); default mailbox INBOX\n"
        "  --imap-password-file FILE the password: first line of FILE (else $" IMAP_PASSWORD_ENV ")\n"
        "  --imap-after ACTION       then: keep (default, \\Seen as it was), seen, move:FOLDER\n"
        "  --ca-file FILE            CA certificates for the IMAP server (default: the system's)\n"
        "  --prune-before WHEN       delete the reports that ended before WHEN (400d,\n"
        "                            12m, 2025-01-01, ...) with their rows, and the\n"
        "                            quarantine entries last seen before it; then VACUUM\n"
        "  --dry-run                 with --prune-before: say what would go, change nothing\n"
        "  --no-vacuum               with --prune-before: keep the freed pages for reuse\n"
        "  --limit NAME=VALUE        change an input limit (K/M/G suffixes); names:\n"
        "                            message-size, inflated-size, json-depth, policies,\n"
        "                            failure-details, string-length, mime-parts,\n"
        "                            zip-entries, zip-inflated-size\n"
        "  --batch N                 reports per transaction in bulk imports (default %d)\n"
        "  --jobs N                  parse PATHs in N threads, store in one (default 1)\n"
        "  --trusted-authserv-id ID  trust Authentication-Results from ID (repeatable)\n"
        "  --require-dkim            quarantine reports without a passing DKIM signature\n"
        "  -v, --verbose             one line per report stored, duplicate or quarantined\n"
        "  -q, --quiet               no summary line\n"
        "  -h, --help                this help\n"
        "  -V, --version             version\n"
        "\n"
        "Exit status: 0 all stored or duplicates, 1 something quarantined or unreadable,\n"
        "2 usage error, 3 database not writable (a prune: nothing changed), 4 IMAP server\n"
        "error.  See tlsrpt-ingest(1).\n",
        TLSRPT_DEFAULT_DB, DEFAULT_BATCH);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Most bytes one -v field prints (fields are capped by the string-length
 * limit already; this bounds the escaped copy). */
#define PUT_SAFE_MAX ((size_t)1 << 20)

/* Prints s (NULL as "-") escaped by tr_term_escape(), so that text from a
 * report cannot move the cursor, change colours or reorder what a
 * terminal shows. */
static void put_safe(FILE *f, const char *s)
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
        put_safe(stdout, r->organization_name);
        fputs("  ", stdout);
        put_safe(stdout, r->n_policies ? r->policies[0].policy_domain : NULL);
        printf("  %s  ", start);
        put_safe(stdout, p->source);
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
        put_safe(stdout, p->source);
        fputs(": ", stdout);
        put_safe(stdout, detail);
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
    return 0;
}

static int on_input(void *ctx, const struct tr_input *in)
{
    struct run *run = ctx;

    run->inputs++;
    if (tr_ingest_input(&run->opts, &run->sink, in, NULL, &run->counts, &run->db_err) < 0) {
        run->failed_db = 1;
        return 1;
    }
    if (run->in_batch >= run->batch && batch_roll(run, 1) < 0) {
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
    if (run->in_batch >= run->batch && batch_roll(run, 1) < 0) {
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
        put_safe(stderr, path);
        fputs(": ", stderr);
        put_safe(stderr, err->detail);
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
        put_safe(stderr, e->name);
        fputs(" kept in failed/: ", stderr);
        put_safe(stderr, err->detail);
        fputc('\n', stderr);
    }
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
        if (run->in_batch >= run->batch && batch_roll(run, 1) < 0) {
            rc = -1;
            break;
        }
    }
    sqlite3_finalize(st);
    if (rc < 0)
        run->failed_db = 1;
    return rc;
}

/* ---- --imap ---- */

struct imap_args {
    const char *url, *password_file, *ca_file, *after;
};

/* Checks the --imap options and connects nothing yet: the password, the
 * URL, --imap-after.  Returns 0, or an exit code after a message. */
static int imap_prepare(const struct imap_args *a, struct imap_conn **ic, struct imap_sync_opts *so)
{
    struct imap_conf conf = { a->url, NULL, a->ca_file };
    char *password = NULL;
    const char *env = getenv(IMAP_PASSWORD_ENV);
    struct tr_err err;

    if (imap_parse_after(a->after, so, &err) < 0) {
        fprintf(stderr, PROG ": %s\n", err.detail);
        return EX_USAGE_ERR;
    }
    if (imap_open(&conf, ic, &err) < 0) {
        fputs(PROG ": --imap: ", stderr);
        put_safe(stderr, err.detail);
        fputc('\n', stderr);
        return EX_USAGE_ERR;
    }
    if (a->password_file) {
        if (imap_read_password(a->password_file, &password, &err) < 0) {
            fprintf(stderr, PROG ": %s\n", err.detail);
            return EX_USAGE_ERR;
        }
    } else if (env && env[0] && strlen(env) <= IMAP_PASSWORD_MAX) {
        password = xstrdup(env);
    } else {
        fprintf(stderr, PROG ": --imap needs a password: --imap-password-file FILE or $"
                IMAP_PASSWORD_ENV " (at most %d bytes)\n", IMAP_PASSWORD_MAX);
        return EX_USAGE_ERR;
    }
    imap_set_password(*ic, password);         /* libcurl keeps a copy */
    explicit_bzero(password, strlen(password));
    free(password);
    return 0;
}

/* One --imap run.  Returns 0, or EX_SERVER after a message on stderr
 * (a database failure sets run->failed_db). */
static int imap_run(struct run *run, struct imap_conn *ic, const struct imap_sync_opts *so)
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
        put_safe(stderr, srv.detail);
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

/* ---- main ---- */

/* Creates the directory holding the default database on first use. */
static void make_parent_dir(const char *path)
{
    char *dir = xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        if (mkdir(dir, 0750) < 0 && errno != EEXIST) {
            /* tr_db_open reports the real problem */
        }
    }
    free(dir);
}

static void print_summary(const struct run *run)
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

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "db", required_argument, NULL, 'd' },
        { "dump", no_argument, NULL, 'D' },
        { "json", no_argument, NULL, 'j' },
        { "spool", required_argument, NULL, 's' },
        { "retry-quarantine", no_argument, NULL, 'r' },
        { "prune-before", required_argument, NULL, 'P' },
        { "dry-run", no_argument, NULL, 'n' },
        { "no-vacuum", no_argument, NULL, 'N' },
        { "limit", required_argument, NULL, 'l' },
        { "batch", required_argument, NULL, 'b' },
        { "jobs", required_argument, NULL, 'J' },
        { "trusted-authserv-id", required_argument, NULL, 't' },
        { "require-dkim", no_argument, NULL, 'k' },
        { "imap", required_argument, NULL, 'I' },
        { "imap-password-file", required_argument, NULL, 'W' },
        { "imap-after", required_argument, NULL, 'A' },
        { "ca-file", required_argument, NULL, 'C' },
        { "verbose", no_argument, NULL, 'v' },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    struct run run;
    struct retention_opts prune = { 0 };
    int64_t prune_before = 0;
    const char *db_path = NULL, *spool = NULL;
    int retry = 0, c, rc = EX_DONE, imap_rc = 0;
    struct tr_err err;
    struct imap_args imap = { NULL, NULL, NULL, NULL };
    struct imap_conn *ic = NULL;
    struct imap_sync_opts imap_so;

    /* Past RLIMIT_FSIZE a write must fail with EFBIG (the database error
     * path: exit 3, nothing half-stored), not kill the process. */
    signal(SIGXFSZ, SIG_IGN);
    memset(&run, 0, sizeof run);
    tr_ingest_opts_default(&run.opts);
    run.batch = DEFAULT_BATCH;
    run.jobs = 1;
    while ((c = getopt_long(argc, argv, "vqhV", longopts, NULL)) != -1) {
        switch (c) {
        case 'd': db_path = optarg; break;
        case 'D': run.dump = 1; break;
        case 'j': run.json = 1; break;
        case 's': spool = optarg; break;
        case 'r': retry = 1; break;
        case 'P': prune.when = optarg; break;
        case 'n': prune.dry_run = 1; break;
        case 'N': prune.no_vacuum = 1; break;
        case 'v': run.verbose = 1; break;
        case 'q': run.quiet = 1; break;
        case 'k': run.opts.require_dkim = 1; break;
        case 'I': imap.url = optarg; break;
        case 'W': imap.password_file = optarg; break;
        case 'A': imap.after = optarg; break;
        case 'C': imap.ca_file = optarg; break;
        case 'l': {
            char *eq = strchr(optarg, '=');
            if (eq == NULL) {
                fprintf(stderr, PROG ": --limit wants NAME=VALUE, not '%s'\n", optarg);
                return EX_USAGE_ERR;
            }
            *eq = '\0';
            if (tr_limits_set(&run.opts.limits, optarg, eq + 1, &err) < 0) {
                fprintf(stderr, PROG ": --limit: %s\n", err.detail);
                return EX_USAGE_ERR;
            }
            break;
        }
        case 'b': {
            char *end;
            run.batch = strtol(optarg, &end, 10);
            if (*end || run.batch < 1) {
                fprintf(stderr, PROG ": --batch wants a positive number, not '%s'\n", optarg);
                return EX_USAGE_ERR;
            }
            break;
        }
        case 'J': {
            char *end;
            run.jobs = strtol(optarg, &end, 10);
            if (*end || run.jobs < 1 || run.jobs > JOBS_MAX) {
                fprintf(stderr, PROG ": --jobs wants a number from 1 to %d, not '%s'\n", JOBS_MAX, optarg);
                return EX_USAGE_ERR;
            }
            break;
        }
        case 't':
            if (run.opts.n_trusted_authserv >= TR_MAX_TRUSTED_AUTHSERV) {
                fprintf(stderr, PROG ": at most %d --trusted-authserv-id\n", TR_MAX_TRUSTED_AUTHSERV);
                return EX_USAGE_ERR;
            }
            run.opts.trusted_authserv[run.opts.n_trusted_authserv++] = optarg;
            break;
        case 'h': usage(stdout); return EX_DONE;
        case 'V': printf(PROG " %s\n", TLSRPT_VERSION); return EX_DONE;
        default: usage(stderr); return EX_USAGE_ERR;
        }
    }
    if ((prune.dry_run || prune.no_vacuum) && prune.when == NULL) {
        fprintf(stderr, PROG ": --dry-run and --no-vacuum go with --prune-before (try --help)\n");
        return EX_USAGE_ERR;
    }
    if (prune.when != NULL) {
        if (optind < argc || spool || retry || run.dump || imap.url) {
            fprintf(stderr, PROG ": --prune-before goes alone: no PATHs, --spool, --retry-quarantine,"
                    " --imap or --dump (try --help)\n");
            return EX_USAGE_ERR;
        }
        if (retention_parse(prune.when, &prune_before) < 0)
            return EX_USAGE_ERR;
    } else if ((optind >= argc) == !(spool || retry || imap.url) || (!!spool + retry + !!imap.url) > 1 ||
               (run.dump && (spool || retry || imap.url))) {
        fprintf(stderr, PROG ": give PATHs, or --spool DIR, or --retry-quarantine, or --imap URL, or"
                " --prune-before WHEN (try --help)\n");
        return EX_USAGE_ERR;
    }
    if (!imap.url && (imap.password_file || imap.after || imap.ca_file)) {
        fprintf(stderr, PROG ": --imap-password-file, --imap-after and --ca-file go with --imap\n");
        return EX_USAGE_ERR;
    }
    if (imap.url) {
        /* libcurl with CURLOPT_NOSIGNAL leaves SIGPIPE alone, and OpenSSL
         * writes to a socket the server may have closed: an EPIPE error,
         * not the end of the process. */
        signal(SIGPIPE, SIG_IGN);
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            fprintf(stderr, PROG ": libcurl cannot start\n");
            return EX_SERVER;
        }
        if ((rc = imap_prepare(&imap, &ic, &imap_so)) != 0) {
            imap_close(ic);
            curl_global_cleanup();
            return rc;
        }
    }

    tr_mime_init();
    json_object_seed(0);          /* before any thread creates a JSON object */
    run.progress = isatty(STDERR_FILENO) && !run.quiet;
    run.started_ms = now_ms();
    if (run.dump) {
        run.sink = (struct tr_sink){ dump_report, dump_reject, &run, NULL };
    } else {
        db_path = tr_db_default_path(db_path);
        make_parent_dir(db_path);
        /* No memory statistics: SQLite then takes no mutex per malloc (2.5%
         * of an import's instructions).  Before SQLite's first use; failure
         * only costs speed. */
        (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
        if (tr_db_open(db_path, 0, &run.db, &err) < 0) {
            fprintf(stderr, PROG ": %s\n", err.detail);
            return EX_DB;
        }
        run.sink = (struct tr_sink){ run_report, run_reject, &run, NULL };
    }
    if (prune.when != NULL) {
        prune.json = run.json;
        prune.quiet = run.quiet;
        rc = retention_run(run.db, prune_before, &prune);
        tr_db_close(run.db);
        return rc;
    }

    if (spool) {
        if (tr_spool_drain_log(spool, &run.opts, run.db, &run.counts, -1, on_spool_entry, &run,
                               &run.db_err) < 0)
            run.failed_db = 1;
    } else if (imap.url) {
        imap_rc = imap_run(&run, ic, &imap_so);
    } else if (retry) {
        if (tr_db_begin(run.db, &run.db_err) < 0 || retry_quarantine(&run) < 0 || batch_roll(&run, 0) < 0)
            run.failed_db = 1;
    } else {
        if (run.db && tr_db_begin(run.db, &run.db_err) < 0) {
            run.failed_db = 1;
        } else if (run.db && run.jobs > 1) {
            struct jobs_writer w = { run_report_z, run_reject, jobs_input_done, &run };
            if (jobs_run(argv + optind, argc - optind, (int)run.jobs, &run.opts, &w,
                         on_source_error, &run, &run.counts, &run.db_err) < 0)
                run.failed_db = 1;
            if (!run.failed_db && batch_roll(&run, 0) < 0)
                run.failed_db = 1;
        } else {
            for (int i = optind; i < argc && !run.failed_db; i++) {
                if (tr_source_walk(argv[i], &run.opts.limits, on_input, on_source_error, &run, &err) < 0) {
                    fprintf(stderr, PROG ": %s: %s\n", argv[i], err.detail);
                    run.unreadable++;
                }
            }
            if (!run.failed_db && batch_roll(&run, 0) < 0)
                run.failed_db = 1;
        }
    }
    progress(&run, 1);

    if (run.failed_db) {
        if (run.db)
            tr_db_rollback(run.db);
        fprintf(stderr, PROG ": database %s could not be written: %s; reports of the unfinished "
                "batch were not stored (run again: stored reports are skipped as duplicates)\n",
                db_path, run.db_err.detail);
        rc = EX_DB;
    } else if (imap_rc) {
        rc = imap_rc;
    } else if (run.counts.quarantined || run.counts.conflicting || run.unreadable) {
        rc = EX_QUARANTINED;
    }
    if (!run.dump)
        print_summary(&run);
    tr_db_close(run.db);
    if (imap.url) {
        imap_close(ic);
        curl_global_cleanup();
    }
    return rc;
}
