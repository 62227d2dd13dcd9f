/*
 * commands.h - tlsrpt-report's subcommands, each run by main.c's command
 * table.  commands.c holds those that show what is stored (summary,
 * trend, failures, reports, show, quarantine) and the error helpers;
 * monitoring.c those a cron job or a monitoring system runs (email,
 * check, metrics, findings, html).
 *
 * A subcommand gets a struct rpt_ctx that main.c filled (options parsed
 * and checked, the database open read-only, the output set up) and
 * returns the program's exit status; it writes its output through c->out
 * and names what went wrong on stderr.  Everything in the context is
 * borrowed from main.c, which closes the database afterwards.
 */
#ifndef RPT_COMMANDS_H
#define RPT_COMMANDS_H

#include "args.h"
#include "output.h"
#include "query.h"

#include <sqlite3.h>

/* tlsrpt-report's exit statuses (tlsrpt-report(1)). */
enum { EXIT_OK = 0, EXIT_ERROR = 1, EXIT_USAGE = 2, EXIT_NOT_FOUND = 3 };

/* findings: its own exit statuses, like check's (a monitoring check). */
enum { FIND_EXIT_OK = 0, FIND_EXIT_WARNING = 1, FIND_EXIT_CRITICAL = 2, FIND_EXIT_USAGE = 3, FIND_EXIT_ERROR = 5 };

/* What a subcommand runs with (borrowed from main.c). */
struct rpt_ctx {
    struct rpt_opts *o;       /* the options, parsed and checked */
    sqlite3 *db;              /* read-only; NULL for check, which opens its own */
    struct rpt_out out;       /* stdout in the --format asked */
    struct rpt_scope scope;   /* the window and filters (email, findings and html set
                                 their own default window) */
};

/* Names err on stderr.  Returns EXIT_NOT_FOUND (RPT_E_NOT_FOUND),
 * EXIT_USAGE (TR_E_USAGE) or EXIT_ERROR. */
int rpt_cmd_error(const struct tr_err *err);

/* Says on stderr that writing the output failed.  Returns EXIT_ERROR. */
int rpt_cmd_write_failed(void);

/* commands.c: the views of what is stored. */
int rpt_cmd_summary(struct rpt_ctx *c);
int rpt_cmd_trend(struct rpt_ctx *c);
int rpt_cmd_failures(struct rpt_ctx *c);
int rpt_cmd_reports(struct rpt_ctx *c);
int rpt_cmd_show(struct rpt_ctx *c);          /* show ID */
int rpt_cmd_quarantine(struct rpt_ctx *c);    /* quarantine [show ID] */

/* monitoring.c: the commands run from cron or a monitoring system. */
int rpt_cmd_email(struct rpt_ctx *c);
int rpt_cmd_check(struct rpt_ctx *c);         /* c->db unused: check stores its runs itself */
int rpt_cmd_metrics(struct rpt_ctx *c);
int rpt_cmd_findings(struct rpt_ctx *c);      /* FIND_EXIT_* */
int rpt_cmd_html(struct rpt_ctx *c);

#endif
