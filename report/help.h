/*
 * help.h - the --help texts (help.c).
 */
#ifndef RPT_HELP_H
#define RPT_HELP_H

#define PROG "tlsrpt-report"

extern const char usage_text[], help_summary[], help_trend[], help_failures[], help_reports[],
    help_show[], help_quarantine[], help_email[],
    help_check[];
extern const char help_metrics[];
extern const char help_findings[];

#endif
