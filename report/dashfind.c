/*
 * dashfind.c - the findings section of the `html` dashboard (dashchart.h):
 * one <details> per finding, most severe first, the first critical ones
 * open, the info ones and those past RPT_DASH_TOP_FINDINGS folded away.
 * Every text of a finding holds report data and goes through rpt_page_esc;
 * only the codes and numbers are the program's.
 */
#include "dashboard.h"
#include "dashchart.h"
#include "output.h"

#include <string.h>

#define put(h, ...) rpt_page_put((h), __VA_ARGS__)
#define esc(h, s) rpt_page_esc((h), (s), 0)

/* One finding as a <details>: its summary line says severity, code,
 * where, the numbers and days; opened, the evidence, the policies
 * involved, what it means and what to change. */
static void finding(struct rpt_html *h, const struct rpt_finding *x, int open)
{
    const char *sev = rpt_severity_name(x->severity);
    char n1[RPT_NUM_MAX], n2[RPT_NUM_MAX], d1[RPT_LABEL_MAX], d2[RPT_LABEL_MAX];
    const struct { const char *label, *value; } more[] = {
        {"Senders", x->orgs}, {"Reason codes", x->reasons}, {"Evidence", x->evidence},
        {"What it means", x->meaning}, {"What to change", x->fix},
    };

    put(h, "<details class=\"finding %s\"%s><summary><span class=\"sev\">%s</span> <code>%s</code>", sev,
        open ? " open" : "", sev, x->code);
    if (x->domain != NULL) {
        put(h, " <b>");
        esc(h, x->domain);
        put(h, "</b>");
    }
    if (x->mx != NULL) {
        put(h, " &middot; MX ");
        esc(h, x->mx);
    }
    if (x->type != NULL) {
        put(h, " &middot; ");
        esc(h, x->type);
    }
    put(h, " <span class=\"muted\">");
    if (x->failed >= 0 && x->sessions >= 0)
        put(h, "&middot; %s failed of %s sessions", rpt_fmt_count(x->failed, n1), rpt_fmt_count(x->sessions, n2));
    else if (x->failed >= 0)
        put(h, "&middot; %s failed sessions", rpt_fmt_count(x->failed, n1));
    if (x->rate >= 0)
        put(h, " (%.2f%%)", x->rate);
    if (x->last_day >= 0) {
        rpt_fmt_date(x->first_day >= 0 ? x->first_day : x->last_day, d1);
        rpt_fmt_date(x->last_day, d2);
        put(h, " &middot; %s %s%s%s", x->first_day >= 0 ? "seen" : "last day", d1,
            x->first_day >= 0 && strcmp(d1, d2) != 0 ? " to " : "",
            x->first_day >= 0 && strcmp(d1, d2) != 0 ? d2 : "");
    }
    put(h, "</span></summary>\n");
    for (size_t i = 0; i < sizeof more / sizeof more[0]; i++)
        if (more[i].value != NULL) {
            put(h, "<p><b>%s:</b> ", more[i].label);
            esc(h, more[i].value);
            put(h, "</p>\n");
        }
    if (x->policies != NULL) {
        put(h, "<pre>");
        rpt_page_esc(h, x->policies, 1);
        put(h, "</pre>\n");
    }
    put(h, "</details>\n");
}

void rpt_dash_findings(struct rpt_html *h, const struct rpt_findings *f)
{
    char a[RPT_LABEL_MAX], b[RPT_LABEL_MAX];
    int folded = 0;

    if (f == NULL)
        return;
    rpt_fmt_date(f->prev_since, a);
    rpt_fmt_date(f->since - 1, b);
    put(h, "<section id=\"findings\"><h2>What needs attention</h2>\n<p>");
    if (f->n == 0)
        put(h, "<span class=\"ok\">Nothing needs attention.</span> ");
    else
        put(h, "<b class=\"%s\">%zu critical</b>, %zu warning, %zu info. ", f->n_critical ? "bad" : "ok",
            f->n_critical, f->n_warning, f->n_info);
    put(h, "<span class=\"muted\">Compared with %s to %s.  Each line opens to its evidence and fix; every "
           "code is explained in tlsrpt-report(1), FINDINGS.</span></p>\n", a, b);
    /* Critical and warning findings one line each, the first critical
     * ones open; past RPT_DASH_TOP_FINDINGS, and the info ones, folded
     * away. */
    for (size_t i = 0, shown = 0; i < f->n; i++) {
        const struct rpt_finding *x = &f->v[i];
        int fold = x->severity < RPT_SEV_WARNING || shown == RPT_DASH_TOP_FINDINGS;
        if (fold && !folded) {
            size_t rest = f->n - i;
            put(h, "<details class=\"more\"><summary>%zu more finding%s (%s)</summary>\n", rest,
                rest == 1 ? "" : "s", x->severity < RPT_SEV_WARNING ? "info" : "the less severe");
            folded = 1;
        }
        finding(h, x, x->severity == RPT_SEV_CRITICAL && i < RPT_DASH_OPEN_FINDINGS);
        shown += !folded;
    }
    if (folded)
        put(h, "</details>\n");
    if (f->dropped > 0)
        put(h, "<p class=\"muted\">... and %zu more findings (the least severe) left out.</p>\n", f->dropped);
    put(h, "</section>\n");
}
