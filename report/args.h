/*
 * args.h - the command line of tlsrpt-report: one struct holding every
 * option of every subcommand, the date parser for --since/--until/--now,
 * and the names of the --by keys and --interval values.
 *
 * Parsing never prints or exits: errors come back in a struct tr_err and
 * main.c reports them.
 */
#ifndef RPT_ARGS_H
#define RPT_ARGS_H

#include <stddef.h>
#include <stdint.h>

#include "output.h"
#include "tlsrpt/util.h"

/* Values one filter option (--domain, --org, --mx, --type) may be given. */
#define RPT_MAX_FILTER 64
/* Positional arguments after the subcommand ("show ID", "quarantine show ID",
 * "check DOMAIN..."). */
#define RPT_MAX_ARGS 256
/* Default window when --since is absent: this many days before today. */
#define RPT_DEFAULT_DAYS 30
/* Default --limit of the listing subcommands. */
#define RPT_DEFAULT_LIMIT 1000
/* Largest --limit (a listing asks SQLite for one row more than it). */
#define RPT_MAX_LIMIT 1000000000L

/* --spool directories metrics reads (milter and httpd may differ). */
#define RPT_MAX_SPOOL 8

/* The --by keys.  The order here is the order of rpt_key_names[]. */
enum rpt_key {
    RPT_K_ORG, RPT_K_DOMAIN, RPT_K_MX, RPT_K_TYPE, RPT_K_IP, RPT_K_POLICY,
    RPT_K_DAY, RPT_K_WEEK, RPT_K_MONTH,
    RPT_K__COUNT
};
extern const char *const rpt_key_names[RPT_K__COUNT];

enum rpt_interval { RPT_I_DAY, RPT_I_WEEK, RPT_I_MONTH };

/* Values of one repeatable filter option; strings borrowed from argv. */
struct rpt_filter {
    const char *v[RPT_MAX_FILTER];
    size_t n;
};

struct rpt_filters {
    struct rpt_filter domain, org, mx, type;
    int64_t received_since;       /* --received-since: reports stored from then on; 0: any */
};

struct rpt_opts {
    const char *command;          /* subcommand, NULL when none given */
    const char *args[RPT_MAX_ARGS];
    size_t n_args;
    const char *db;               /* --db, NULL: $TLSRPT_DB or the default */
    int64_t now;                  /* --now, $TLSRPT_NOW, or the clock */
    int64_t since, until;         /* resolved window [since, until) */
    int since_given, until_given;
    struct rpt_filters f;
    enum rpt_format format;
    enum rpt_key by[RPT_K__COUNT];
    size_t n_by;                  /* 0: --by not given */
    enum rpt_interval interval;
    long limit;                   /* listings; 0 = no limit */
    const char *to, *from, *sendmail;
    int only_if_failures;
    int only_if_findings;         /* email: send only when email's rpt_digest_quiet() is 0 */
    const char *resolver, *ca_file;   /* check: --resolver, --ca-file */
    long timeout;                 /* check: --timeout SECONDS, 0 = the named defaults */
    int help, version;
    /* which subcommand-specific options were given, for main.c's checks */
    int format_given, interval_given, limit_given, filter_given, email_given, check_given;
    /* metrics: -o FILE (written atomically), --spool DIR (repeatable) */
    const char *output;
    const char *spool[RPT_MAX_SPOOL];
    size_t n_spool;
    int metrics_given;
    /* findings: thresholds, -1 (rates: < 0) when not given */
    double warn_rate, crit_rate;
    int silent_days, stopped_days, ready_days;
    int check_days;               /* --check-days: the live checks used, -1 when not given */
    int find_given;
};

/*
 * Parses argv (argv[0] is the program).  Options may come before or after
 * the subcommand.  Resolves the window: --since default today-30d at
 * 00:00 UTC, --until default now; a subcommand's own default (the email's
 * last complete day) is applied by the subcommand (monitoring.c) when
 * since_given is 0.
 * Returns 0, or -1 with err (code TR_E_USAGE).  Strings borrow from argv.
 */
int rpt_parse_args(int argc, char **argv, struct rpt_opts *o, struct tr_err *err);

/* The subcommand argv names (the first operand), found even when the
 * options are bad, so main.c can use that command's exit codes; argv is
 * not changed.  Borrowed from argv; NULL when none. */
const char *rpt_peek_command(int argc, char **argv);

/* Dates of --since/--until/--now/--received-since: tr_parse_when()
 * (tlsrpt/dates.h), shared with tlsrpt-ingest --prune-before. */

/* Looks up a --by key by name: its enum value, or -1. */
int rpt_key_lookup(const char *name);

/* Start of the UTC day containing t. */
int64_t rpt_day_start(int64_t t);
/* Start of the bucket (day, ISO week starting Monday, calendar month)
 * containing t, and the start of the bucket after it. */
int64_t rpt_bucket_start(enum rpt_interval iv, int64_t t);
int64_t rpt_bucket_next(enum rpt_interval iv, int64_t start);
/* "YYYY-MM-DD" (day, week = its Monday) or "YYYY-MM" (month) label of the
 * bucket starting at t, into buf (at least RPT_LABEL_MAX bytes). */
#define RPT_LABEL_MAX 80
void rpt_bucket_label(enum rpt_interval iv, int64_t t, char *buf);
/* "YYYY-MM-DDTHH:MM:SSZ" and "YYYY-MM-DD" into buf (RPT_LABEL_MAX bytes). */
void rpt_fmt_datetime(int64_t t, char *buf);
void rpt_fmt_date(int64_t t, char *buf);

#endif
