/*
 * findings.h - what is wrong, where, and what to change: findings derived
 * from the stored reports of a window, compared with the window of the same
 * length just before it.  Used by `findings`, the email's "What needs
 * attention" section and the `html` dashboard; the one place where the
 * rules live (tlsrpt-report(1), FINDINGS, documents every code).
 *
 * A finding has a stable code, a severity, the policy domain and where it
 * applies the MX host, the failure type and the sending organizations, the
 * evidence (sessions, failed sessions, the reason codes senders gave, first
 * and last day seen, the policy strings involved) and one sentence on what
 * it means and one on what to change.  Clean domains give no finding.
 *
 * Every string in a finding is plain UTF-8 that may contain report data
 * (names, reason codes, policy strings): each writer escapes it for where
 * it goes (terminal, CSV, JSON, HTML), as for any other report string.
 *
 * The rules read the rollups where they can (schema/002-rollups.sql), and
 * the raw rows only for what the rollups do not hold (reason codes, policy
 * strings), bounded by the window: cheap enough for a 1,000,000-report
 * database (measured in tests/bench).
 */
#ifndef RPT_FINDINGS_H
#define RPT_FINDINGS_H

#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>
#include <jansson.h>

#include "output.h"
#include "query.h"

/* Default window of findings: this many days, compared with as many before. */
#define RPT_FIND_DEFAULT_DAYS 7
/* Default failure-rate thresholds, percent of sessions. */
#define RPT_FIND_CRIT_RATE 5.0
#define RPT_FIND_WARN_RATE 1.0
/* An (organization, domain) that reported on most days and has sent nothing
 * for this many days is a silent reporter. */
#define RPT_FIND_SILENT_DAYS 3
/* No report stored for this many days after reports came before: the
 * capture pipeline has stopped. */
#define RPT_FIND_STOPPED_DAYS 2
/* testing mode with a clean record for this many days: ready for enforce. */
#define RPT_FIND_READY_DAYS 14
/* The newest live check (`check`, table check_run) of a domain is used
 * when it ran at most this many days before now. */
#define RPT_FIND_CHECK_DAYS 7
/* Most findings kept (a hostile database cannot make the list unbounded);
 * the rest are counted in rpt_findings.dropped. */
#define RPT_FIND_MAX 1000
/* Longest list of names (organizations, reason codes, policy strings) one
 * finding carries before "... and N more". */
#define RPT_FIND_MAX_NAMES 10

enum rpt_severity { RPT_SEV_NONE = -1, RPT_SEV_INFO = 0, RPT_SEV_WARNING = 1, RPT_SEV_CRITICAL = 2 };

/* "info", "warning", "critical". */
const char *rpt_severity_name(enum rpt_severity s);

/* Thresholds; rpt_find_opts_default() fills the defaults above. */
struct rpt_find_opts {
    double crit_rate, warn_rate;   /* percent of sessions failed */
    int silent_days;
    int stopped_days;
    int ready_days;
    int check_days;                /* 0: the live checks are not read */
};
void rpt_find_opts_default(struct rpt_find_opts *fo);

/* One finding; owns every string (NULL where it does not apply). */
struct rpt_finding {
    const char *code;              /* static, stable: "domain-failure-rate", ... */
    enum rpt_severity severity;
    char *domain;                  /* policy domain */
    char *mx;                      /* MX host */
    char *type;                    /* failure type (result-type as sent) */
    char *orgs;                    /* sending organizations, ", "-joined */
    int64_t sessions;              /* sessions in the window, -1 when n/a */
    int64_t failed;                /* failed sessions, -1 when n/a */
    double rate;                   /* failed / sessions in percent, -1 when n/a */
    char *reasons;                 /* failure-reason-codes given, "; "-joined */
    int64_t first_day, last_day;   /* UTC seconds of the first and last day seen, -1 n/a */
    char *policies;                /* the policy strings involved, one per line */
    char *evidence;                /* what else was seen, one sentence or more */
    char *meaning;                 /* one sentence: what it means */
    char *fix;                     /* one sentence: what to change */
};

/* Owns its findings, ordered by severity (critical first), then domain,
 * then code, then MX. */
struct rpt_findings {
    struct rpt_finding *v;
    size_t n;
    size_t dropped;                /* findings past RPT_FIND_MAX */
    int64_t since, until;          /* the window [since, until) */
    int64_t prev_since;            /* the previous window [prev_since, since) */
    size_t n_critical, n_warning, n_info;
    enum rpt_severity worst;       /* RPT_SEV_NONE when there is no finding */
    int pipeline_stopped;          /* a capture-pipeline finding is present */
};

/* Derives the findings of the window s (since, until and the filters;
 * its any_order and epoch_keys are ignored) as of now, compared with the
 * window of as many whole days before it.  now only matters for
 * capture-stopped (the time reports were last stored); `findings` uses
 * the RPT_FIND_DEFAULT_DAYS complete UTC days before today as its window.
 * *out caller-owned (rpt_findings_free).  Returns 0, or -1 with err
 * (TR_E_DB). */
int rpt_findings_build(sqlite3 *db, const struct rpt_scope *s, const struct rpt_find_opts *fo,
                       int64_t now, struct rpt_findings **out, struct tr_err *err);
void rpt_findings_free(struct rpt_findings *f);   /* NULL is a no-op */

/* The findings as a table (columns severity, code, domain, mx, type, orgs,
 * sessions, failed, rate, reasons, first_day, last_day, policies,
 * evidence, meaning, fix), for the table and CSV writers.  Caller owns it. */
struct rpt_table *rpt_findings_table(const struct rpt_findings *f);
/* {"since","until","previous_since","counts":{...},"findings":[...]}: new
 * reference. */
json_t *rpt_findings_json(const struct rpt_findings *f);
/* The terminal form (`findings` in the table format): the window and the
 * counts, a table of the findings (severity coloured on a colour
 * terminal), then each finding with its evidence, meaning and fix; report
 * strings escaped by the writers.  Returns 0, or -1 on a write error. */
int rpt_findings_write_text(struct rpt_out *o, const struct rpt_findings *f);

#endif
