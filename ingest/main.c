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
 *
 * This file reads and checks the options and opens what they name; one
 * run (where outcomes go, the counts, the summary line) is run.c's.
 */
#include "imap.h"
#include "jobs.h"
#include "retention.h"
#include "run.h"
#include "tlsrpt/db.h"
#include "tlsrpt/mime.h"

#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The environment variable holding the IMAP password (never an option). */
#define IMAP_PASSWORD_ENV "TLSRPT_IMAP_PASSWORD"

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
        "  --batch N                 reports per transaction in bulk imports (default %d,\n"
        "                            committed after %d ms in any case)\n"
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
        TLSRPT_DEFAULT_DB, DEFAULT_BATCH, BATCH_MAX_MS);
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
        run_put_safe(stderr, err.detail);
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
    run_init(&run);
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
    run_start(&run);
    if (!run.dump) {
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
    }
    if (prune.when != NULL) {
        prune.json = run.json;
        prune.quiet = run.quiet;
        rc = retention_run(run.db, prune_before, &prune);
        tr_db_close(run.db);
        return rc;
    }

    if (spool)
        run_spool(&run, spool);
    else if (imap.url)
        imap_rc = run_imap(&run, ic, &imap_so);
    else if (retry)
        run_retry_quarantine(&run);
    else
        run_paths(&run, argv + optind, argc - optind);
    run_progress_done(&run);

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
        run_print_summary(&run);
    tr_db_close(run.db);
    if (imap.url) {
        imap_close(ic);
        curl_global_cleanup();
    }
    return rc;
}
