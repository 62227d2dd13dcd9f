/*
 * tlsrpt-report - what the stored TLS-RPT reports say.
 *
 * SYNOPSIS
 *   tlsrpt-report [options] summary [--by KEY,...]
 *   tlsrpt-report [options] trend [--interval day|week|month]
 *   tlsrpt-report [options] failures
 *   tlsrpt-report [options] reports
 *   tlsrpt-report [options] show ID
 *   tlsrpt-report [options] quarantine [show ID]
 *   tlsrpt-report [options] email [--to ADDR] [--from ADDR] [--sendmail PATH]
 *                                 [--only-if-failures] [--only-if-findings]
 *   tlsrpt-report [options] check [--resolver IP[:PORT]] [--ca-file FILE]
 *                                 [--timeout SECONDS] [DOMAIN...]
 *   tlsrpt-report [options] metrics [-o FILE] [--spool DIR]...
 *   tlsrpt-report [options] findings [--warn-rate P] [--crit-rate P] [--silent-days N]
 *                                    [--stopped-days N] [--ready-days N] [--check-days N]
 *   tlsrpt-report [options] html [-o FILE]
 *
 * COMMON OPTIONS
 *   --db FILE                  the database (else $TLSRPT_DB, else the default)
 *   --since WHEN, --until WHEN the window of report start times, UTC
 *                              (default the last 30 days; email: yesterday)
 *   --now DATETIME             what "now" is (also $TLSRPT_NOW), for tests
 *   --domain D, --org O, --mx M, --type T   filters, repeatable, '*' wildcard
 *   --format table|csv|json
 *
 * EXIT STATUS
 *   0 success, 1 database or I/O error, 2 usage error, 3 no such ID.
 *   check: 0 all ok, 1 a warning, 2 a failure, 3 usage error, 4 resolver
 *   error, 5 database or I/O error (check.h).
 *   findings: 0 no finding or only info, 1 the worst is a warning, 2 a
 *   critical one, 3 usage error, 5 database or I/O error.
 *
 * The manual page tlsrpt-report(1) is the full reference; this file only
 * dispatches: it checks the options against the subcommand, opens the
 * database and runs the subcommand (commands.c: the views of what is
 * stored; monitoring.c: email, check, metrics, findings, html), which
 * queries (query.c, listing.c, show.c, trend.c, digest.c, findings.c,
 * dashboard.c), then hands a table or a JSON document to the writers in
 * output.c.  Only these three files (and check.c's rpt_check_main, the
 * whole of check) write to stdout and stderr directly.
 */
#include "args.h"
#include "backlog.h"
#include "check.h"
#include "commands.h"
#include "hint.h"
#include "output.h"
#include "query.h"
#include "tlsrpt/db.h"

#include <errno.h>
#include <sqlite3.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* What a subcommand accepts besides --db and --help. */
enum {
    A_WINDOW = 1 << 0, A_FILTER = 1 << 1, A_FORMAT = 1 << 2, A_BY = 1 << 3,
    A_INTERVAL = 1 << 4, A_LIMIT = 1 << 5, A_EMAIL = 1 << 6,
    A_CHECK = 1 << 7,
    A_METRICS = 1 << 8,
    A_FIND = 1 << 9,
};

#include "help.h"

static void die_usage_hint(void)
{
    fprintf(stderr, "Try '" PROG " --help'.\n");
}

static const struct command {
    const char *name;
    int (*run)(struct rpt_ctx *c);
    const char *help;
    int accepts;
} commands[] = {
    {"summary", rpt_cmd_summary, help_summary, A_WINDOW | A_FILTER | A_FORMAT | A_BY | A_LIMIT},
    {"trend", rpt_cmd_trend, help_trend, A_WINDOW | A_FILTER | A_FORMAT | A_INTERVAL},
    {"failures", rpt_cmd_failures, help_failures, A_WINDOW | A_FILTER | A_FORMAT | A_LIMIT},
    {"reports", rpt_cmd_reports, help_reports, A_WINDOW | A_FILTER | A_FORMAT | A_LIMIT},
    {"show", rpt_cmd_show, help_show, A_FORMAT},
    {"quarantine", rpt_cmd_quarantine, help_quarantine, A_WINDOW | A_FORMAT | A_LIMIT},
    {"email", rpt_cmd_email, help_email, A_WINDOW | A_FILTER | A_EMAIL | A_FIND},
    {"check", rpt_cmd_check, help_check, A_FORMAT | A_CHECK},
    {"metrics", rpt_cmd_metrics, help_metrics, A_METRICS},
    {"findings", rpt_cmd_findings, help_findings, A_WINDOW | A_FILTER | A_FORMAT | A_FIND},
    {"html", rpt_cmd_html, help_html, A_WINDOW | A_FILTER | A_METRICS | A_FIND},   /* -o; --spool refused */
};

/* check and findings are monitoring checks: 1 and 2 are their verdicts,
 * so their usage and database errors have codes of their own. */
static int usage_status(const char *command)
{
    if (command != NULL && strcmp(command, "check") == 0)
        return CHK_EXIT_USAGE;
    if (command != NULL && strcmp(command, "findings") == 0)
        return FIND_EXIT_USAGE;
    return EXIT_USAGE;
}

static int error_status(const char *command)
{
    return command != NULL && strcmp(command, "findings") == 0 ? FIND_EXIT_ERROR : EXIT_ERROR;
}

/* Names the first option given that cmd does not accept, or NULL. */
static const char *misplaced_option(const struct command *cmd, const struct rpt_opts *o)
{
    if (!(cmd->accepts & A_WINDOW) && (o->since_given || o->until_given)) return "--since/--until";
    if (!(cmd->accepts & A_FILTER) && o->filter_given) return "--domain/--org/--mx/--type";
    if (!(cmd->accepts & A_FORMAT) && o->format_given) return "--format";
    if (!(cmd->accepts & A_BY) && o->n_by) return "--by";
    if (!(cmd->accepts & A_INTERVAL) && o->interval_given) return "--interval";
    if (!(cmd->accepts & A_LIMIT) && o->limit_given) return "--limit";
    if (!(cmd->accepts & A_EMAIL) && o->email_given) return "--to/--from/--sendmail/--only-if-failures/--only-if-findings";
    if (!(cmd->accepts & A_CHECK) && o->check_given) return "--resolver/--ca-file/--timeout";
    if (!(cmd->accepts & A_METRICS) && o->metrics_given) return "-o/--spool";
    if (!(cmd->accepts & A_FIND) && o->find_given)
        return "--warn-rate/--crit-rate/--silent-days/--stopped-days/--ready-days/--check-days";
    return NULL;
}

int main(int argc, char **argv)
{
    struct rpt_opts o;
    struct tr_err err = {0};
    const struct command *cmd = NULL;
    struct tr_db *tdb = NULL;
    struct rpt_ctx c;
    const char *bad, *path;
    int rc;

    if (rpt_parse_args(argc, argv, &o, &err) < 0) {
        const char *peek = rpt_peek_command(argc, argv);
        fprintf(stderr, PROG ": %s\n", err.detail);
        die_usage_hint();
        return usage_status(peek);
    }
    if (o.version) {
        printf(PROG " " TLSRPT_VERSION "\n");
        return EXIT_OK;
    }
    if (o.command != NULL && strcmp(o.command, "help") == 0) {
        o.help = 1;
        o.command = o.n_args ? o.args[0] : NULL;
    }
    for (size_t i = 0; o.command && i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(o.command, commands[i].name) == 0)
            cmd = &commands[i];
    if (o.help) {
        fputs(cmd ? cmd->help : usage_text, stdout);
        return ferror(stdout) ? EXIT_ERROR : EXIT_OK;
    }
    if (o.command == NULL) {
        fputs(usage_text, stderr);
        return EXIT_USAGE;
    }
    if (cmd == NULL) {
        fprintf(stderr, PROG ": unknown command '%s'\n", o.command);
        die_usage_hint();
        return EXIT_USAGE;
    }
    if ((bad = misplaced_option(cmd, &o)) != NULL) {
        fprintf(stderr, PROG ": %s: not an option of '%s'\n", bad, cmd->name);
        return usage_status(cmd->name);
    }
    if (cmd->run == rpt_cmd_check) {
        memset(&c, 0, sizeof c);
        c.o = &o;
        return rpt_cmd_check(&c);
    }
    if (o.n_args > 0 && cmd->run != rpt_cmd_show && cmd->run != rpt_cmd_quarantine) {
        fprintf(stderr, PROG ": %s: unexpected argument '%s'\n", cmd->name, o.args[0]);
        return usage_status(cmd->name);
    }

    /* One thread, one connection: SQLite's mutexes and memory statistics
     * were 4% of a 90-day trend's instructions (BENCHMARKS.md).  Must come
     * before SQLite is first used; failure only costs speed. */
    (void)sqlite3_config(SQLITE_CONFIG_SINGLETHREAD);
    (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    /* Reports the milter spooled but could not store: say so on every
     * command, or the database just looks quiet (backlog.h). */
    rpt_backlog_warn(stderr, rpt_backlog_dir(), (int64_t)time(NULL));
    path = tr_db_default_path(o.db);
    if (access(path, F_OK) < 0 && errno == ENOENT) {
        fprintf(stderr, PROG ": no database at %s (run tlsrpt-ingest first)\n", path);
        return error_status(cmd->name);
    }
    if (tr_db_open(path, TR_DB_READONLY, &tdb, &err) < 0) {
        /* Name the file: SQLite's "file is not a database" does not. */
        if (strncmp(err.detail, path, strlen(path)) == 0)
            fprintf(stderr, PROG ": %s\n", err.detail);
        else
            fprintf(stderr, PROG ": %s: %s\n", path, err.detail);
        if (access(path, R_OK) < 0)     /* SQLite's own text does not say why */
            fprintf(stderr, PROG ": %s: %s (run as a user who can read it, e.g. tlsrpt or root)\n", path,
                    strerror(errno));
        return error_status(cmd->name);
    }
    memset(&c, 0, sizeof c);
    c.o = &o;
    c.db = tr_db_handle(tdb);
    /* Large windows re-read index pages: a larger page cache (query.h).
     * Failure only costs speed. */
    sqlite3_exec(c.db, "PRAGMA cache_size = " RPT_CACHE_KIB, NULL, NULL, NULL);
    rpt_out_init(&c.out, stdout, o.format);
    if (cmd->accepts & A_FILTER) {      /* a typo in a filter: say so, name the nearest values */
        char **hints;
        size_t n = rpt_filter_hints(c.db, &o.f, &hints);
        for (size_t i = 0; i < n; i++) {
            fprintf(stderr, PROG ": %s\n", hints[i]);
            free(hints[i]);
        }
        free(hints);
    }
    c.scope.since = o.since;
    c.scope.until = o.until;
    c.scope.f = &o.f;
    rc = cmd->run(&c);
    if (fflush(stdout) != 0 && (rc == EXIT_OK || cmd->run == rpt_cmd_findings)) {
        rpt_cmd_write_failed();
        rc = error_status(cmd->name);
    }
    tr_db_close(tdb);
    return rc;
}
