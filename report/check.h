/*
 * check.h - tlsrpt-report check: the live MTA-STS, TLS-RPT, DNS and MX
 * deployment of a domain as a sender sees it, next to what senders
 * reported.  The result model shared by the check modules:
 *
 *   check.c    orchestration per domain, the comparisons with the
 *              database (stored checks, reports), table/JSON output
 *   dns.c      libunbound lookups (TXT, MX, A, TLSA) with DNSSEC status
 *   sts.c      the policy file over HTTPS (libcurl), pinned addresses
 *   stspol.c   MTA-STS policy text syntax and mx pattern matching
 *   smtp.c     one MX on port 25: banner, EHLO, STARTTLS, certificate, TLSA
 *
 * A result is one line of the output: a stable code (documented in
 * tlsrpt-report(1)), a status, what was seen, and how to fix it unless ok.
 */
#ifndef RPT_CHECK_H
#define RPT_CHECK_H

#include <stddef.h>
#include <stdint.h>

enum chk_status { CHK_OK = 0, CHK_WARN = 1, CHK_FAIL = 2 };

/* Caps on what one domain's check collects and prints. */
#define CHK_RESULTS_MAX 256
#define CHK_DETAIL_MAX 1024
#define CHK_FIX_MAX 512

struct chk_result {
    char code[48];
    enum chk_status status;
    char detail[CHK_DETAIL_MAX];
    char fix[CHK_FIX_MAX];        /* "" when ok */
    char subject[256];            /* the MX or record the result is about, "" for the domain */
};

/* Results of one domain, in the order they were found.  Owns its array. */
struct chk_list {
    struct chk_result *r;
    size_t n, cap;
};

/* Appends a result (fix may be NULL for ok).  Over CHK_RESULTS_MAX results
 * the last one is replaced by a "check-truncated" warning. */
void chk_add(struct chk_list *l, const char *code, enum chk_status st, const char *subject,
             const char *fix, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
void chk_list_free(struct chk_list *l);
/* The worst status in l (CHK_OK when empty). */
enum chk_status chk_worst(const struct chk_list *l);
const char *chk_status_name(enum chk_status st);

/* Options of the check command (borrowed strings). */
struct chk_opts {
    const char *resolver;         /* --resolver IP[:PORT] or NULL: the system's */
    const char *ca_file;          /* --ca-file or NULL: the system trust store */
    long timeout;                 /* --timeout SECONDS: every network wait, 0 = defaults */
    int64_t now;
};

/* Seconds each network step may take unless --timeout is given. */
#define CHK_DNS_TIMEOUT_S 10
#define CHK_HTTP_TIMEOUT_S 20
#define CHK_SMTP_STEP_TIMEOUT_S 30
#define CHK_CONNECT_TIMEOUT_S 10
/* Days of certificate validity under which check warns. */
#define CHK_CERT_WARN_DAYS 21

/* Exit status of the check command (tlsrpt-report(1)). */
enum {
    CHK_EXIT_OK = 0, CHK_EXIT_WARN = 1, CHK_EXIT_FAIL = 2,
    CHK_EXIT_USAGE = 3, CHK_EXIT_RESOLVER = 4, CHK_EXIT_ERROR = 5,
};

struct rpt_opts;
/* Runs the check of o->args (or of every policy domain with reports in the
 * last 30 days), prints in o->format, stores each run in the database at
 * db_path.  Returns a CHK_EXIT_* status. */
int rpt_check_main(const struct rpt_opts *o, const struct chk_opts *co, const char *db_path);

#endif
