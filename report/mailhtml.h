/*
 * mailhtml.h - building blocks of the summary email's HTML part (html.c,
 * attention.c): escaping report strings for HTML, and the layout that
 * mail clients render: tables, inline styles only, bars drawn as table
 * cells.  Everything is appended to a struct tr_buf (capped by its
 * owner; an append past the cap is dropped).
 */
#ifndef RPT_MAILHTML_H
#define RPT_MAILHTML_H

#include <stddef.h>
#include <stdint.h>

#include "output.h"          /* rpt_html_append, rpt_html_esc_bytes */
#include "tlsrpt/util.h"

/* The font stack and the colours of the email. */
#define FONT "font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;"
#define C_OK "#15803d"
#define C_BAD "#b91c1c"
#define C_MUTED "#6b7280"
#define C_LINE "#e5e7eb"
#define C_WARN "#b45309"
#define C_INFO "#1d4ed8"
#define C_SESSIONS "#60a5fa"
/* Opens a span kept on one line (a date, a period: no break at its hyphens). */
#define NOWRAP "<span style=\"white-space:nowrap;\">"

/* Program text (never report data), printf-style. */
void rpt_html_put(struct tr_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Escaped report data (safe, the terminal-escaped form, freed here) as HTML
 * text and attribute values. */
void rpt_html_esc_safe(struct tr_buf *b, char *safe);
/* A name from a report: one line (rpt_name_escape), then entities. */
void rpt_html_esc(struct tr_buf *b, const char *s);
/* A domain or MX name, escaped like rpt_html_esc(): each label with its
 * dot in a white-space:nowrap span (no break inside, not even at a hyphen)
 * and a <wbr> after each dot, so the name wraps at dots only. */
void rpt_html_esc_dns(struct tr_buf *b, const char *s);
/* Escaped text (freed here) that may name hosts (a finding's sentence, a
 * URL in a reason code, policy lines): as rpt_html_esc_safe(), but each
 * run of DNS name characters with a dot inside goes through
 * rpt_html_esc_dns(), and a hyphenated word (a date, a failure type) is
 * kept on one line; spaces and line ends are kept. */
void rpt_html_esc_prose_safe(struct tr_buf *b, char *safe);
/* Report text made one line, then as rpt_html_esc_prose_safe(). */
void rpt_html_esc_prose(struct tr_buf *b, const char *s);

/* A horizontal bar, pct (0..100) filled in colour; width_px 0: as wide
 * as its cell. */
void rpt_html_bar(struct tr_buf *b, double pct, const char *colour, int width_px);
/* Opens a cell for a bar that fills it: px wide, as a preferred width the
 * table may stretch (a percentage would force the table wider than a
 * phone's screen). */
void rpt_html_bar_cell(struct tr_buf *b, int px);
/* A section title row of the email's layout table. */
void rpt_html_section(struct tr_buf *b, const char *title);
/* A row of an inner table opened by rpt_html_table_open() (closed with
 * "</table></td></tr>"): header cells, cells (left or right aligned),
 * a cell holding a count. */
void rpt_html_table_open(struct tr_buf *b);
void rpt_html_th(struct tr_buf *b, const char *label, int right);
void rpt_html_td_open(struct tr_buf *b, int right);
void rpt_html_td_count(struct tr_buf *b, int64_t n);

#endif
