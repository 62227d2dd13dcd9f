/*
 * findings_int.h - what findings.c (the build, the failure rules, the
 * table and JSON) and the rule modules (findings_*.c: failures, policies,
 * mode, reporters, the capture pipeline, the live check) share while one
 * rpt_findings_build() runs.  Not used outside them.
 */
#ifndef RPT_FINDINGS_INT_H
#define RPT_FINDINGS_INT_H

#include "findings.h"

/* Distinct names kept per list (organizations, reason codes, ...); past
 * this many a list only counts what it is given (a list shows at most
 * RPT_FIND_MAX_NAMES anyway). */
#define FIND_NAMES_TRACK 256

/* Longest text built for one field of a finding (the lists within it are
 * capped by RPT_FIND_MAX_NAMES, the policy versions by the rules). */
#define FIND_TEXT_MAX ((size_t)1 << 20)

/* A list of distinct strings, in the order first added.  Owns them. */
struct fnames {
    char **v;
    int64_t *num;                 /* a number per name (fnames_addn), or NULL */
    size_t n, alloc;
    size_t more;                  /* given past FIND_NAMES_TRACK */
};
void fnames_add(struct fnames *l, const char *s);
/* Adds s (when new) and n to its number. */
void fnames_addn(struct fnames *l, const char *s, int64_t n);
void fnames_free(struct fnames *l);
/* "a, b, c ... and N more" (at most RPT_FIND_MAX_NAMES shown) joined by
 * sep; NULL when empty.  Caller owns it. */
char *fnames_join(const struct fnames *l, const char *sep);

/* The text of b, NUL-terminated, in a block of its own size; b is reset.
 * Caller owns it. */
char *fb_buf_text(struct tr_buf *b);

/* String key -> index (open addressing); keys owned. */
struct fmap {
    char **keys;
    size_t *vals;
    size_t cap, n;
};
/* The index stored for key, or (size_t)-1. */
size_t fmap_get(const struct fmap *m, const char *key);
void fmap_put(struct fmap *m, const char *key, size_t val);
void fmap_free(struct fmap *m);
/* The key of a tuple of names ("1:a2:bc0:"; lengths make it unique).
 * Caller owns it. */
char *fmap_key3(const char *a, const char *b, const char *c);
/* The same key in buf when it fits in cap bytes (then buf), else NULL. */
const char *fmap_key3_buf(char *buf, size_t cap, const char *a, const char *b, const char *c);

/* A set of 64-bit keys (pairs of indices), open addressing. */
struct fset {
    uint64_t *v;                  /* key + 1, 0 = free */
    size_t cap, n;
};
/* 1 when key was added, 0 when it was there. */
int fset_add(struct fset *s, uint64_t key);
void fset_free(struct fset *s);

struct fgroup {
    char *dom, *mx, *ty;
    size_t dom_idx;               /* its fdomain in fb.dom */
    int64_t failed;
    int64_t first, last;          /* days in the window */
    int64_t since;                /* certificate-expired: its first day in the previous window and
                                     this one; else first */
    struct fnames orgs;
    /* reason codes: each with its failed sessions and days */
    struct freason { char *rc; int64_t failed, first, last; } *rc;   /* rc owned */
    size_t n_rc, alloc_rc;
    int in_prev;                  /* the previous window had this group */
};

struct fgroups {
    struct fgroup *v;
    size_t n, alloc;
    struct fmap map;
    struct fmap prev;             /* (domain, MX, "") and (domain, "", type) with
                                     failures in the previous window */
};

/* Groups summed over the MX hosts or over the types of a domain. */
struct fagg {
    const char *dom, *key;        /* borrowed from the groups */
    int64_t failed, first, last, since;
    struct fnames orgs, names;    /* names: the types (per MX) or the MX hosts (per type) */
    int in_prev;
    size_t *members;              /* indices of its groups (owned) */
    size_t n_members;
};
struct faggs {
    struct fagg *v;
    size_t n;
};

/* One sts policy version a domain's senders reported (findings_rules.c). */
struct fpolicy {
    char *text;                   /* the policy strings, one per line */
    char mode[64];
    long max_age;
    char *mx[64];                 /* patterns (owned) */
    size_t n_mx;
    int64_t first, last;          /* first and last report day (UTC seconds) */
    int64_t reports;
    struct fnames orgs;
};

/* Per policy domain, what the rules gather. */
struct fdomain {
    char *name;
    int64_t reports, ok, bad;     /* the window's sessions (as summary) */
    int64_t prev_sessions;        /* the previous window's */
    int64_t failed_detail;        /* failed sessions from the details */
    int64_t first, last;          /* days with failure details, -1 none */
    struct fnames orgs;           /* organizations with failure details */
    struct fnames mxs;            /* MX hosts with failure details, with their failed sessions */
    struct fnames types;          /* failure types */
    struct fpolicy *pol;          /* sts policy versions seen in the window */
    size_t n_pol;
    struct fnames no_policy_orgs; /* organizations that reported no-policy-found */
    struct fnames sts_orgs;       /* organizations that reported an sts policy */
    int64_t no_policy_sessions;   /* sessions reported under no-policy-found */
    int64_t np_first, np_last;    /* days of those reports, -1 none */
};

/* A build in progress. */
struct fb {
    sqlite3 *db;
    struct rpt_scope win, prev;   /* the window and the one before (any_order, epoch_keys) */
    const struct rpt_find_opts *fo;
    int64_t now;
    struct rpt_findings *f;
    size_t alloc;
    struct fdomain *dom;
    size_t n_dom, alloc_dom;
    struct fmap dom_map;
    int detail_filter;            /* --mx or --type: only the findings about failure details */
};

/* A new finding of code (static) and severity for domain (copied; NULL
 * for none); every number -1, every string NULL. */
struct rpt_finding *fb_add(struct fb *b, const char *code, enum rpt_severity sev, const char *domain);
/* The domain record for name (created with zero counts when new). */
struct fdomain *fb_domain(struct fb *b, const char *name);
/* The severity of a rate (percent) against the thresholds; none below
 * the warning rate. */
enum rpt_severity fb_rate_severity(const struct fb *b, double rate);

/* Small helpers (findings.c). */
double fb_pct(int64_t part, int64_t whole);                      /* percent, -1 when whole is 0 */
const char *fb_cell_text(const struct rpt_table *t, size_t r, size_t c);   /* "" unless text */
int64_t fb_cell_int(const struct rpt_table *t, size_t r, size_t c);        /* 0 unless a number */
void fb_widen(int64_t *first, int64_t *last, int64_t day);       /* -1 is "none yet" */
void fb_date(int64_t t, char *buf);                              /* RPT_LABEL_MAX bytes; "-" for -1 */
void fb_set_numbers(struct rpt_finding *x, int64_t failed, int64_t sessions);
/* tmpl with its one "%s" replaced by what; caller owns it. */
char *fb_fix_text(const char *tmpl, const char *what);

/* findings_fail.c: the group of (dom, mx, ty), created when new and
 * create, else NULL when absent. */
struct fgroup *ff_group_get(struct fgroups *g, const char *dom, const char *mx, const char *ty, int create);
/* findings_details.c: the organizations, days and reason codes of the
 * groups, from the window's raw failure rows. */
int ff_load_details(struct fb *b, struct fgroups *g, struct tr_err *err);
/* findings_fail.c: the failure groups and the rules on failure counts
 * (which call fd_diagnoses). */
int ff_failure_rules(struct fb *b, struct tr_err *err);
/* findings_diag.c: a diagnosis per failure type. */
void fd_diagnoses(struct fb *b, const struct fgroups *g, const struct faggs *per_type);

/* findings_rules.c: reads the window's policy strings into the domains
 * (before the failure rules, which use them for validation-failure). */
int fr_load_policies(struct fb *b, struct tr_err *err);
/* 1 for a host name, 0 for "[ip]" and "(none)" (how an MX without a
 * name shows). */
int fr_is_host(const char *h);
/* 1 when host matches a pattern of any version of d's policies, 0 when
 * none does, -1 when d has no sts policy with mx patterns. */
int fr_mx_in_policies(const struct fdomain *d, const char *host);
/* The rules of findings_rules.c: policy drift, unused mx patterns, mode,
 * no-policy-found. */
int fr_policy_rules(struct fb *b, struct tr_err *err);
/* findings_capture.c: silent reporters (skipped when the pipeline
 * stopped: call fr_pipeline_rules first); the capture pipeline and new
 * quarantine entries (sets b->f->pipeline_stopped). */
int fr_reporter_rules(struct fb *b, struct tr_err *err);
int fr_pipeline_rules(struct fb *b, struct tr_err *err);
void fr_free_policies(struct fdomain *d);
/* findings_live.c: live-check-failed and live-check-unreadable from the
 * newest stored check (check_run) of each domain within fo->check_days;
 * notes on the findings already made (call it last) whether the live
 * check agrees with them. */
int fl_live_rules(struct fb *b, struct tr_err *err);
/* d's policy versions, one a line ("version: STSv1; mode: ..."); caller owns it. */
char *fr_versions_text(const struct fdomain *d);

#endif
