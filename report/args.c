/*
 * args.c - options of tlsrpt-report (dates parsed by tr_parse_when, dates.h).
 *
 * getopt_long over the whole argv: options may precede or follow the
 * subcommand; the first operand is the subcommand, later operands are its
 * arguments.  Which option belongs to which subcommand is checked by
 * main.c, which knows the subcommands.  Dates are resolved after every
 * option has been read, so --now may come anywhere.
 */
#include "args.h"
#include "tlsrpt/codes.h"
#include "tlsrpt/dates.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

const char *const rpt_key_names[RPT_K__COUNT] = {
    "org", "domain", "mx", "type", "ip", "policy", "day", "week", "month",
};

int rpt_key_lookup(const char *name)
{
    for (int k = 0; k < RPT_K__COUNT; k++)
        if (strcmp(name, rpt_key_names[k]) == 0)
            return k;
    return -1;
}

/* Day, week and month buckets and their labels are the library's
 * calendar (dates.h), the same one the rollups are keyed by. */
int64_t rpt_day_start(int64_t t)
{
    return tr_day_of(t) * 86400;
}

int64_t rpt_bucket_start(enum rpt_interval iv, int64_t t)
{
    int64_t day = tr_day_of(t);
    if (iv == RPT_I_WEEK)
        return tr_week_of_day(day) * 86400;
    if (iv == RPT_I_MONTH)
        return tr_month_of_day(day) * 86400;
    return day * 86400;
}

int64_t rpt_bucket_next(enum rpt_interval iv, int64_t start)
{
    if (iv == RPT_I_WEEK)
        return start + 7 * 86400;
    if (iv == RPT_I_MONTH)
        return tr_next_month_of_day(tr_day_of(start)) * 86400;
    return start + 86400;
}

void rpt_bucket_label(enum rpt_interval iv, int64_t t, char *buf)
{
    tr_format_date(t, iv == RPT_I_MONTH, buf, RPT_LABEL_MAX);
}

void rpt_fmt_datetime(int64_t t, char *buf)
{
    tr_format_datetime(t, buf, RPT_LABEL_MAX);
}

void rpt_fmt_date(int64_t t, char *buf)
{
    rpt_bucket_label(RPT_I_DAY, t, buf);
}

enum {
    OPT_DB = 256, OPT_SINCE, OPT_UNTIL, OPT_NOW, OPT_DOMAIN, OPT_ORG, OPT_MX, OPT_TYPE,
    OPT_FORMAT, OPT_BY, OPT_INTERVAL, OPT_LIMIT, OPT_TO, OPT_FROM, OPT_SENDMAIL,
    OPT_ONLY_IF_FAILURES, OPT_VERSION, OPT_RECEIVED_SINCE,
    OPT_ONLY_IF_FINDINGS,                          /* email */
    OPT_RESOLVER, OPT_CA_FILE, OPT_TIMEOUT,        /* check */
    OPT_SPOOL,                                     /* metrics */
    OPT_WARN_RATE, OPT_CRIT_RATE, OPT_SILENT_DAYS, OPT_STOPPED_DAYS, OPT_READY_DAYS, OPT_CHECK_DAYS,   /* findings */
};

static const struct option long_opts[] = {
    {"db", required_argument, NULL, OPT_DB},
    {"since", required_argument, NULL, OPT_SINCE},
    {"until", required_argument, NULL, OPT_UNTIL},
    {"now", required_argument, NULL, OPT_NOW},
    {"domain", required_argument, NULL, OPT_DOMAIN},
    {"org", required_argument, NULL, OPT_ORG},
    {"mx", required_argument, NULL, OPT_MX},
    {"type", required_argument, NULL, OPT_TYPE},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"by", required_argument, NULL, OPT_BY},
    {"interval", required_argument, NULL, OPT_INTERVAL},
    {"limit", required_argument, NULL, OPT_LIMIT},
    {"to", required_argument, NULL, OPT_TO},
    {"from", required_argument, NULL, OPT_FROM},
    {"sendmail", required_argument, NULL, OPT_SENDMAIL},
    {"only-if-failures", no_argument, NULL, OPT_ONLY_IF_FAILURES},
    {"only-if-findings", no_argument, NULL, OPT_ONLY_IF_FINDINGS},
    {"received-since", required_argument, NULL, OPT_RECEIVED_SINCE},
    {"resolver", required_argument, NULL, OPT_RESOLVER},
    {"ca-file", required_argument, NULL, OPT_CA_FILE},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},
    {"output", required_argument, NULL, 'o'},
    {"spool", required_argument, NULL, OPT_SPOOL},
    {"warn-rate", required_argument, NULL, OPT_WARN_RATE},
    {"crit-rate", required_argument, NULL, OPT_CRIT_RATE},
    {"silent-days", required_argument, NULL, OPT_SILENT_DAYS},
    {"stopped-days", required_argument, NULL, OPT_STOPPED_DAYS},
    {"ready-days", required_argument, NULL, OPT_READY_DAYS},
    {"check-days", required_argument, NULL, OPT_CHECK_DAYS},
    {NULL, 0, NULL, 0},
};

static int add_filter(struct rpt_filter *f, const char *opt, const char *v, struct tr_err *err)
{
    if (f->n == RPT_MAX_FILTER) {
        tr_err_set(err, TR_E_USAGE, "--%s: at most %d values", opt, RPT_MAX_FILTER);
        return -1;
    }
    if (v[0] == '\0') {
        tr_err_set(err, TR_E_USAGE, "--%s: empty value", opt);
        return -1;
    }
    f->v[f->n++] = v;
    return 0;
}

/* --spool DIR (repeatable): where the daemons' .stats files are. */
static int add_spool(struct rpt_opts *o, const char *dir, struct tr_err *err)
{
    if (o->n_spool == RPT_MAX_SPOOL) {
        tr_err_set(err, TR_E_USAGE, "--spool: at most %d directories", RPT_MAX_SPOOL);
        return -1;
    }
    o->spool[o->n_spool++] = dir;
    o->metrics_given = 1;
    return 0;
}

/* --by a,b,c (repeatable): appends keys, rejecting unknown and repeated
 * ones, and empty ones ("--by ''", "org,,type"), which would otherwise
 * silently mean the default keys. */
static int add_keys(struct rpt_opts *o, const char *list, struct tr_err *err)
{
    char *copy = xstrdup(list), *k = copy;
    int rc = 0;
    for (;;) {
        char *comma = strchr(k, ',');
        int key;
        if (comma != NULL)
            *comma = '\0';
        key = rpt_key_lookup(k);
        if (k[0] == '\0') {
            tr_err_set(err, TR_E_USAGE, "--by: empty key in '%.64s' (org, domain, mx, type, ip, "
                       "policy, day, week, month)", list);
            rc = -1;
        } else if (key < 0) {
            tr_err_set(err, TR_E_USAGE, "--by: unknown key '%.64s' (org, domain, mx, type, ip, "
                       "policy, day, week, month)", k);
            rc = -1;
        }
        for (size_t i = 0; rc == 0 && i < o->n_by; i++)
            if (o->by[i] == (enum rpt_key)key) {
                tr_err_set(err, TR_E_USAGE, "--by: key '%s' given twice", k);
                rc = -1;
            }
        if (rc != 0)
            break;
        o->by[o->n_by++] = (enum rpt_key)key;
        if (comma == NULL)
            break;
        k = comma + 1;
    }
    free(copy);
    return rc;
}

/* findings: --warn-rate/--crit-rate PERCENT (0 < p <= 100). */
static int parse_rate(const char *opt, const char *v, double *out, struct tr_err *err)
{
    char *end;
    double d = strtod(v, &end);
    if (end == v || *end != '\0' || !(d > 0 && d <= 100)) {
        tr_err_set(err, TR_E_USAGE, "--%s: '%.64s' is not a percentage above 0 and at most 100", opt, v);
        return -1;
    }
    *out = d;
    return 0;
}

/* findings: --silent-days/--stopped-days/--ready-days/--check-days N (0 turns the rule off). */
#define RPT_FIND_DAYS_MAX 3650
static int parse_days(const char *opt, const char *v, int *out, struct tr_err *err)
{
    char *end;
    long n = strtol(v, &end, 10);
    if (end == v || *end != '\0' || n < 0 || n > RPT_FIND_DAYS_MAX) {
        tr_err_set(err, TR_E_USAGE, "--%s: '%.64s' is not 0 to %d days", opt, v, RPT_FIND_DAYS_MAX);
        return -1;
    }
    *out = (int)n;
    return 0;
}

const char *rpt_peek_command(int argc, char **argv)
{
    char **copy = xcalloc((size_t)argc + 1, sizeof *copy);
    const char *cmd = NULL;
    memcpy(copy, argv, (size_t)argc * sizeof *copy);
    opterr = 0;
    optind = 0;                   /* glibc: start a fresh scan */
    while (getopt_long(argc, copy, ":hVo:", long_opts, NULL) != -1)
        ;
    if (optind < argc)
        cmd = copy[optind];
    free(copy);
    optind = 1;
    return cmd;
}

int rpt_parse_args(int argc, char **argv, struct rpt_opts *o, struct tr_err *err)
{
    const char *since = NULL, *until = NULL, *received = NULL, *now = getenv("TLSRPT_NOW");
    int c;

    memset(o, 0, sizeof *o);
    o->limit = RPT_DEFAULT_LIMIT;
    o->warn_rate = o->crit_rate = -1;
    o->silent_days = o->stopped_days = o->ready_days = o->check_days = -1;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":hVo:", long_opts, NULL)) != -1) {
        switch (c) {
        case OPT_DB: o->db = optarg; break;
        case OPT_SINCE: since = optarg; break;
        case OPT_RECEIVED_SINCE: received = optarg; break;
        case OPT_UNTIL: until = optarg; break;
        case OPT_NOW: now = optarg; break;
        case OPT_DOMAIN: if (add_filter(&o->f.domain, "domain", optarg, err)) return -1; break;
        case OPT_ORG: if (add_filter(&o->f.org, "org", optarg, err)) return -1; break;
        case OPT_MX: if (add_filter(&o->f.mx, "mx", optarg, err)) return -1; break;
        case OPT_TYPE: if (add_filter(&o->f.type, "type", optarg, err)) return -1; break;
        case OPT_FORMAT:
            o->format_given = 1;
            if (strcmp(optarg, "table") == 0) o->format = RPT_FMT_TABLE;
            else if (strcmp(optarg, "csv") == 0) o->format = RPT_FMT_CSV;
            else if (strcmp(optarg, "json") == 0) o->format = RPT_FMT_JSON;
            else {
                tr_err_set(err, TR_E_USAGE, "--format: '%.64s' is not table, csv or json", optarg);
                return -1;
            }
            break;
        case OPT_BY: if (add_keys(o, optarg, err)) return -1; break;
        case OPT_INTERVAL:
            o->interval_given = 1;
            if (strcmp(optarg, "day") == 0) o->interval = RPT_I_DAY;
            else if (strcmp(optarg, "week") == 0) o->interval = RPT_I_WEEK;
            else if (strcmp(optarg, "month") == 0) o->interval = RPT_I_MONTH;
            else {
                tr_err_set(err, TR_E_USAGE, "--interval: '%.64s' is not day, week or month", optarg);
                return -1;
            }
            break;
        case OPT_LIMIT: {
            char *end;
            long v;
            errno = 0;
            v = strtol(optarg, &end, 10);
            if (end == optarg || *end != '\0' || v < 0) {
                tr_err_set(err, TR_E_USAGE, "--limit: '%.64s' is not a count", optarg);
                return -1;
            }
            if (errno == ERANGE || v > RPT_MAX_LIMIT) {
                tr_err_set(err, TR_E_USAGE, "--limit: '%.64s' is over %ld (0 shows all)", optarg, RPT_MAX_LIMIT);
                return -1;
            }
            o->limit = v;
            o->limit_given = 1;
            break;
        }
        case OPT_TO: o->to = optarg; o->email_given = 1; break;
        case OPT_FROM: o->from = optarg; o->email_given = 1; break;
        case OPT_SENDMAIL: o->sendmail = optarg; o->email_given = 1; break;
        case OPT_ONLY_IF_FAILURES: o->only_if_failures = 1; o->email_given = 1; break;
        case OPT_ONLY_IF_FINDINGS: o->only_if_findings = 1; o->email_given = 1; break;
        case OPT_RESOLVER: o->resolver = optarg; o->check_given = 1; break;
        case OPT_CA_FILE: o->ca_file = optarg; o->check_given = 1; break;
        case OPT_TIMEOUT: {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (end == optarg || *end != '\0' || v < 1 || v > 3600) {
                tr_err_set(err, TR_E_USAGE, "--timeout: '%.64s' is not 1 to 3600 seconds", optarg);
                return -1;
            }
            o->timeout = v;
            o->check_given = 1;
            break;
        }
        case 'o': o->output = optarg; o->metrics_given = 1; break;
        case OPT_SPOOL: if (add_spool(o, optarg, err)) return -1; break;
        case OPT_WARN_RATE: if (parse_rate("warn-rate", optarg, &o->warn_rate, err)) return -1; o->find_given = 1; break;
        case OPT_CRIT_RATE: if (parse_rate("crit-rate", optarg, &o->crit_rate, err)) return -1; o->find_given = 1; break;
        case OPT_SILENT_DAYS:
            if (parse_days("silent-days", optarg, &o->silent_days, err)) return -1;
            o->find_given = 1;
            break;
        case OPT_STOPPED_DAYS:
            if (parse_days("stopped-days", optarg, &o->stopped_days, err)) return -1;
            o->find_given = 1;
            break;
        case OPT_READY_DAYS:
            if (parse_days("ready-days", optarg, &o->ready_days, err)) return -1;
            o->find_given = 1;
            break;
        case OPT_CHECK_DAYS:
            if (parse_days("check-days", optarg, &o->check_days, err)) return -1;
            o->find_given = 1;
            break;
        case 'h': o->help = 1; break;
        case 'V': case OPT_VERSION: o->version = 1; break;
        case ':':
            tr_err_set(err, TR_E_USAGE, "%s: needs a value", argv[optind - 1]);
            return -1;
        default:
            tr_err_set(err, TR_E_USAGE, "unknown option '%s'", argv[optind - 1]);
            return -1;
        }
    }
    o->filter_given = o->f.domain.n || o->f.org.n || o->f.mx.n || o->f.type.n || received != NULL;
    for (int i = optind; i < argc; i++) {
        if (o->command == NULL)
            o->command = argv[i];
        else if (o->n_args < RPT_MAX_ARGS)
            o->args[o->n_args++] = argv[i];
        else {
            tr_err_set(err, TR_E_USAGE, "too many arguments");
            return -1;
        }
    }

    if (now != NULL && now[0] != '\0') {
        if (tr_parse_when(now, (int64_t)time(NULL), 0, &o->now, err) < 0)
            return -1;
    } else {
        o->now = (int64_t)time(NULL);
    }
    o->since = rpt_day_start(o->now) - (int64_t)RPT_DEFAULT_DAYS * 86400;
    o->until = o->now;
    if (since != NULL) {
        if (tr_parse_when(since, o->now, 0, &o->since, err) < 0)
            return -1;
        o->since_given = 1;
    }
    /* "What arrived since": the time each report was stored, not the
     * report's own date range (a report about last week arrives today). */
    if (received != NULL) {
        if (tr_parse_when(received, o->now, 0, &o->f.received_since, err) < 0)
            return -1;
        if (since == NULL)          /* whatever dates the reports cover */
            o->since = 0;
    }
    if (until != NULL) {
        if (tr_parse_when(until, o->now, 1, &o->until, err) < 0)
            return -1;
        o->until_given = 1;
    }
    if (o->until <= o->since) {
        tr_err_set(err, TR_E_USAGE, "--until must be later than --since");
        return -1;
    }
    return 0;
}
