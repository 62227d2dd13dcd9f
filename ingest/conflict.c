/*
 * conflict.c - is a resend the same report as the one stored (conflict.h)?
 *
 * "The same content" is the normalized report: contact-info and every
 * policy (type, domain, policy strings, mx hosts, both session counts)
 * with its failure details (every field, in order), as the parser made
 * them and the store keeps them.  Not compared: the bytes of the mail or
 * of the JSON (formatting, key order, compression, a re-signed message),
 * the warnings and the provenance, which belong to the carrier and not to
 * what the sender reported.  The dedup key (organization, report-id,
 * range) is equal by definition.
 *
 * Reads the stored rows with three statements prepared for the call: a
 * duplicate is rare next to a stored report, and db.c's insert path stays
 * as it is.
 */
#include "tlsrpt/conflict.h"
#include "tlsrpt/db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The list of differing fields being built in what[0..cap). */
struct diff {
    char *buf;
    size_t cap, len;
    int n;
};

#define NONE ((size_t)-1)

/* Adds one differing field to the list: field of the report (i NONE), of
 * policies[i] (k NONE) or of its failure-details[k]; past the buffer's
 * end the list is cut with "...". */
static void differs(struct diff *d, size_t i, size_t k, const char *field)
{
    char name[128];

    if (i == NONE)
        snprintf(name, sizeof name, "%s", field);
    else if (k == NONE)
        snprintf(name, sizeof name, "policies[%zu].%s", i, field);
    else
        snprintf(name, sizeof name, "policies[%zu].failure-details[%zu].%s", i, k, field);
    d->n++;
    if (d->len + strlen(name) + 6 >= d->cap) {
        if (d->len + 4 < d->cap && (d->len < 3 || strcmp(d->buf + d->len - 3, "...") != 0))
            d->len += (size_t)snprintf(d->buf + d->len, d->cap - d->len, "%s...", d->len ? ", " : "");
        return;
    }
    d->len += (size_t)snprintf(d->buf + d->len, d->cap - d->len, "%s%s", d->len ? ", " : "", name);
}

/* 1 when text column col of st equals s (NULL for NULL). */
static int same_col(sqlite3_stmt *st, int col, const char *s)
{
    const char *v = (const char *)sqlite3_column_text(st, col);
    return (v == NULL && s == NULL) || (v != NULL && s != NULL && strcmp(v, s) == 0);
}

static int same_strings(sqlite3_stmt *st, int col, char *const *arr, size_t n)
{
    char *j = tr_strings_to_json(arr, n);
    int same = same_col(st, col, j);
    free(j);
    return same;
}

/* Compares the failure rows of policy row pid with p's details. */
static int compare_failures(sqlite3 *h, sqlite3_stmt *sf, sqlite3_int64 pid, const struct tr_policy *p,
                            size_t i, struct diff *d, struct tr_err *err)
{
    size_t k = 0;
    int rc;

    sqlite3_bind_int64(sf, 1, pid);
    while ((rc = sqlite3_step(sf)) == SQLITE_ROW) {
        const struct tr_failure *f;
        if (k >= p->n_failures) {
            k++;
            continue;
        }
        f = &p->failures[k];
        if (!same_col(sf, 0, f->result_type))
            differs(d, i, k, "result-type");
        if (!same_col(sf, 1, f->sending_mta_ip))
            differs(d, i, k, "sending-mta-ip");
        if (!same_col(sf, 2, f->receiving_mx_hostname))
            differs(d, i, k, "receiving-mx-hostname");
        if (!same_col(sf, 3, f->receiving_mx_helo))
            differs(d, i, k, "receiving-mx-helo");
        if (!same_col(sf, 4, f->receiving_ip))
            differs(d, i, k, "receiving-ip");
        if (sqlite3_column_int64(sf, 5) != f->failed_sessions)
            differs(d, i, k, "failed-session-count");
        if (!same_col(sf, 6, f->additional_information))
            differs(d, i, k, "additional-information");
        if (!same_col(sf, 7, f->failure_reason_code))
            differs(d, i, k, "failure-reason-code");
        k++;
    }
    sqlite3_reset(sf);
    if (rc != SQLITE_DONE)
        return tr_db_fail(h, err, "reading a stored report's failure details");
    if (k != p->n_failures)
        differs(d, i, NONE, "failure-details (count)");
    return 0;
}

/* See conflict.h. */
int tr_conflict_check(sqlite3 *h, const struct tr_report *r, char *what, size_t cap, struct tr_err *err)
{
    static const char *const sql[3] = {
        "SELECT id, contact_info FROM report WHERE org_name = ?1 AND report_id = ?2"
        " AND start_time = ?3 AND end_time = ?4",
        "SELECT id, policy_type, policy_domain, policy_strings, mx_hosts, successful_sessions,"
        " failed_sessions FROM policy WHERE report = ?1 ORDER BY idx",
        "SELECT result_type, sending_mta_ip, receiving_mx_hostname, receiving_mx_helo, receiving_ip,"
        " failed_sessions, additional_information, failure_reason_code FROM failure"
        " WHERE policy = ?1 ORDER BY id",
    };
    sqlite3_stmt *st[3] = { NULL, NULL, NULL };
    struct diff d = { what, cap, 0, 0 };
    sqlite3_int64 rid;
    size_t i = 0;
    int rc = -1, step;

    if (cap > 0)
        what[0] = '\0';
    for (int s = 0; s < 3; s++)
        if (sqlite3_prepare_v2(h, sql[s], -1, &st[s], NULL) != SQLITE_OK) {
            tr_db_fail(h, err, "preparing the duplicate check");
            goto out;
        }
    sqlite3_bind_text(st[0], 1, r->organization_name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st[0], 2, r->report_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st[0], 3, r->start);
    sqlite3_bind_int64(st[0], 4, r->end);
    step = sqlite3_step(st[0]);
    if (step != SQLITE_ROW) {
        if (step == SQLITE_DONE)
            rc = 0;               /* gone meanwhile: nothing to differ from */
        else
            tr_db_fail(h, err, "reading the stored report");
        goto out;
    }
    rid = sqlite3_column_int64(st[0], 0);
    if (!same_col(st[0], 1, r->contact_info))
        differs(&d, NONE, NONE, "contact-info");
    sqlite3_bind_int64(st[1], 1, rid);
    while ((step = sqlite3_step(st[1])) == SQLITE_ROW) {
        const struct tr_policy *p;
        if (i >= r->n_policies) {
            i++;
            continue;
        }
        p = &r->policies[i];
        if (!same_col(st[1], 1, p->policy_type))
            differs(&d, i, NONE, "policy-type");
        if (!same_col(st[1], 2, p->policy_domain))
            differs(&d, i, NONE, "policy-domain");
        if (!same_strings(st[1], 3, p->policy_strings, p->n_policy_strings))
            differs(&d, i, NONE, "policy-string");
        if (!same_strings(st[1], 4, p->mx_hosts, p->n_mx_hosts))
            differs(&d, i, NONE, "mx-host");
        if (sqlite3_column_int64(st[1], 5) != p->successful_sessions)
            differs(&d, i, NONE, "total-successful-session-count");
        if (sqlite3_column_int64(st[1], 6) != p->failed_sessions)
            differs(&d, i, NONE, "total-failure-session-count");
        if (compare_failures(h, st[2], sqlite3_column_int64(st[1], 0), p, i, &d, err) < 0)
            goto out;
        i++;
    }
    if (step != SQLITE_DONE) {
        tr_db_fail(h, err, "reading a stored report's policies");
        goto out;
    }
    if (i != r->n_policies)
        differs(&d, NONE, NONE, "policies (count)");
    rc = d.n > 0;
    if (rc && cap > 0) {
        char head[48];
        int k = snprintf(head, sizeof head, "differs from stored report %lld in: ", (long long)rid);
        if ((size_t)k + d.len + 1 <= cap) {
            memmove(what + k, what, d.len + 1);
            memcpy(what, head, (size_t)k);
        }
    }
out:
    for (int s = 0; s < 3; s++)
        sqlite3_finalize(st[s]);
    return rc;
}
