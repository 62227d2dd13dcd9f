/*
 * monitoring.c - the subcommands of tlsrpt-report that a cron job or a
 * monitoring system runs (commands.h): email (the summary email, through
 * digest.c and email.c), check (check.c), metrics (metrics.c), findings
 * (findings.c) and html (dashboard.c); -o FILE written atomically.
 */
#include "commands.h"
#include "backlog.h"
#include "check.h"
#include "dashboard.h"
#include "digest.h"
#include "email.h"
#include "findings.h"
#include "help.h"
#include "metrics.h"
#include "tlsrpt/db.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int rpt_cmd_email(struct rpt_ctx *c)
{
    struct rpt_digest *d = NULL;
    struct rpt_find_opts fo;
    struct rpt_email_opts eo = {c->o->from, c->o->to, c->o->now};
    struct tr_err err = {0};
    char *msg = NULL;
    size_t len = 0;
    int rc = EXIT_OK;

    if (!c->o->since_given && !c->o->until_given) {     /* the last complete UTC day */
        c->scope.until = rpt_day_start(c->o->now);
        c->scope.since = c->scope.until - 86400;
    }
    if (rpt_digest_find_opts(c->o, &fo, &err) < 0) {
        fprintf(stderr, PROG ": %s\n", err.detail);
        return EXIT_USAGE;
    }
    if (rpt_digest_build(c->db, &c->scope, &fo, c->o->now, &d, &err) < 0)
        return rpt_cmd_error(&err);
    {
        int64_t oldest;
        d->backlog = rpt_backlog_count(rpt_backlog_dir(), (int64_t)time(NULL), &oldest);
    }
    /* --only-if-*: nothing to send when each condition given is quiet
     * (with both, either one sends). */
    if ((c->o->only_if_failures || c->o->only_if_findings) && (!c->o->only_if_failures || rpt_digest_clean(d))
        && (!c->o->only_if_findings || rpt_digest_quiet(d))) {
        rpt_digest_free(d);
        return EXIT_OK;
    }
    if (rpt_email_build(d, &eo, &msg, &len, &err) < 0)
        rc = rpt_cmd_error(&err);
    else if (c->o->sendmail != NULL) {
        if (rpt_email_sendmail(c->o->sendmail, msg, len, &err) < 0)
            rc = rpt_cmd_error(&err);
    } else if (rpt_out_bytes(&c->out, msg, len) < 0) {
        rc = rpt_cmd_write_failed();
    }
    free(msg);
    rpt_digest_free(d);
    return rc;
}

/* check opens its own read-write connection (it stores its runs), so main
 * calls it before the read-only open; see check.c. */
int rpt_cmd_check(struct rpt_ctx *c)
{
    struct chk_opts co = {c->o->resolver, c->o->ca_file, c->o->timeout, c->o->now};
    return rpt_check_main(c->o, &co, tr_db_default_path(c->o->db));
}

/* text to -o FILE atomically (a temporary file renamed: a reader never
 * sees half of it), else to stdout.  Returns the exit status. */
static int write_output(struct rpt_ctx *c, const char *text, size_t len)
{
    struct tr_err err = {0};

    if (c->o->output != NULL)
        return tr_write_file_atomic(c->o->output, text, len, 0644, &err) < 0 ? rpt_cmd_error(&err) : EXIT_OK;
    return rpt_out_bytes(&c->out, text, len) < 0 ? rpt_cmd_write_failed() : EXIT_OK;
}

/* metrics: to stdout, or with -o atomically to FILE (node_exporter reads
 * the textfile collector's directory at any moment). */
int rpt_cmd_metrics(struct rpt_ctx *c)
{
    struct tr_err err = {0};
    char *text;
    size_t len;
    int rc;

    if (rpt_metrics_build(c->db, tr_db_default_path(c->o->db), c->o->spool, c->o->n_spool, c->o->now,
                          &text, &len, &err) < 0)
        return rpt_cmd_error(&err);
    rc = write_output(c, text, len);
    free(text);
    return rc;
}

/* The thresholds of findings and html: the defaults (findings.h) with
 * what the command line changed; and their window: the last
 * RPT_FIND_DEFAULT_DAYS complete UTC days (reports cover whole days and
 * arrive after them), or the RPT_FIND_DEFAULT_DAYS days before --until.
 * Returns 0, or -1 after saying why on stderr (a usage error). */
static int findings_setup(struct rpt_ctx *c, struct rpt_find_opts *fo)
{
    struct tr_err err = {0};

    if (rpt_digest_find_opts(c->o, fo, &err) < 0) {
        fprintf(stderr, PROG ": %s\n", err.detail);
        return -1;
    }
    if (!c->o->until_given && !c->o->since_given)
        c->scope.until = rpt_day_start(c->o->now);
    if (!c->o->since_given)
        c->scope.since = c->scope.until - (int64_t)RPT_FIND_DEFAULT_DAYS * 86400;
    if (c->scope.until <= c->scope.since) {
        fprintf(stderr, PROG ": --until must be later than --since\n");
        return -1;
    }
    return 0;
}

/* html: the dashboard page for the window (default as findings: the last
 * RPT_FIND_DEFAULT_DAYS complete days), its findings first; to stdout or with -o
 * atomically to FILE (a web server may read it at any moment). */
int rpt_cmd_html(struct rpt_ctx *c)
{
    struct rpt_find_opts fo;
    struct rpt_findings *f = NULL;
    struct tr_err err = {0};
    char *page = NULL;
    size_t len;
    int rc = EXIT_OK;

    if (c->o->n_spool > 0) {
        fprintf(stderr, PROG ": --spool: not an option of 'html'\n");
        return EXIT_USAGE;
    }
    if (findings_setup(c, &fo) < 0)
        return EXIT_USAGE;
    if (rpt_findings_build(c->db, &c->scope, &fo, c->o->now, &f, &err) < 0 ||
        rpt_dashboard_build(c->db, &c->scope, f, c->o->now, &page, &len, &err) < 0)
        rc = rpt_cmd_error(&err);
    else
        rc = write_output(c, page, len);
    free(page);
    rpt_findings_free(f);
    return rc;
}

int rpt_cmd_findings(struct rpt_ctx *c)
{
    struct rpt_find_opts fo;
    struct rpt_findings *f = NULL;
    struct tr_err err = {0};
    int w = 0, rc;

    if (findings_setup(c, &fo) < 0)
        return FIND_EXIT_USAGE;
    if (rpt_findings_build(c->db, &c->scope, &fo, c->o->now, &f, &err) < 0) {
        fprintf(stderr, PROG ": %s\n", err.detail);
        return FIND_EXIT_ERROR;
    }
    if (c->out.fmt == RPT_FMT_JSON) {
        json_t *doc = rpt_findings_json(f);
        w = rpt_out_json(&c->out, doc);
        json_decref(doc);
    } else if (c->out.fmt == RPT_FMT_CSV) {
        struct rpt_table *t = rpt_findings_table(f);
        w = rpt_out_table(&c->out, t);
        rpt_table_free(t);
    } else {
        w = rpt_findings_write_text(&c->out, f);
    }
    rc = f->worst == RPT_SEV_CRITICAL ? FIND_EXIT_CRITICAL
         : f->worst == RPT_SEV_WARNING ? FIND_EXIT_WARNING : FIND_EXIT_OK;
    rpt_findings_free(f);
    if (w != 0) {
        fprintf(stderr, PROG ": writing output failed\n");
        return FIND_EXIT_ERROR;
    }
    return rc;
}
