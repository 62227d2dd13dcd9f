/*
 * help.c - the --help texts of tlsrpt-report, one per command; the manual
 * page tlsrpt-report(1) says the same at length.
 */
#include "help.h"

const char usage_text[] =
    "Usage: " PROG " [OPTIONS] COMMAND [ARGS]\n"
    "\n"
    "Commands:\n"
    "  summary     failed sessions grouped by --by keys, with totals\n"
    "  trend       sessions, failures by type and success rate per day/week/month\n"
    "  failures    the failure details behind a summary\n"
    "  reports     stored reports\n"
    "  show ID     one report, normalized and as sent\n"
    "  quarantine  inputs that could not be stored; 'quarantine show ID'\n"
    "  email       the summary email (MIME) for a period, default yesterday\n"
    "  check [D]   the live MTA-STS, TLS-RPT, DNS and MX deployment, next to the reports\n"
    "  metrics     Prometheus text exposition (-o FILE, --spool DIR)\n"
    "  findings    what is wrong, where, and what to change (exit 0/1/2: a check)\n"
    "  html        the dashboard: one self-contained HTML page (-o FILE)\n"
    "\n"
    "Options:\n"
    "  --db FILE          database (default $TLSRPT_DB or " TLSRPT_DEFAULT_DB ")\n"
    "  --since WHEN       from WHEN (default 30d); YYYY-MM-DD, ISO datetime, Nd, Nw, Nm,\n"
    "                     today, yesterday, monday..sunday; UTC\n"
    "  --until WHEN       up to WHEN, exclusive (a date includes that day; default now)\n"
    "  --received-since WHEN  only reports stored from WHEN on (what arrived since),\n"
    "                     whatever dates they cover (then --since defaults to any)\n"
    "  --now DATETIME     take DATETIME as now (also $TLSRPT_NOW)\n"
    "  --domain D         policy domain (repeatable; '*' matches anything)\n"
    "  --org O            sending organization (repeatable)\n"
    "  --mx M             receiving MX host (repeatable)\n"
    "  --type T           failure result type (repeatable); a value that matches\n"
    "                     nothing stored is said on stderr with the nearest names\n"
    "  --format F         table (default), csv or json\n"
    "  -h, --help         help; '" PROG " COMMAND --help' for a command\n"
    "  -V, --version      version\n"
    "\n"
    "See tlsrpt-report(1).\n";

const char help_summary[] =
    "Usage: " PROG " summary [--by KEY[,KEY...]] [--limit N] [OPTIONS]\n"
    "\n"
    "Failed sessions from the failure details, grouped by KEYs (default org,mx,type):\n"
    "  org, domain, mx, type, ip (sending MTA), policy (policy type), day, week, month\n"
    "When every key is one of org, domain, policy, day, week, month (and no --mx or\n"
    "--type), each row also has reports, sessions and the success rate, and groups\n"
    "without failures are listed too.  --limit N: the N rows with the most failed\n"
    "sessions, then '... and M more rows', and the N worst domains; 0 = all.\n"
    "Default: 50 for a table on a terminal, else all.  Totals (reports, successful\n"
    "and failed sessions, success rate per policy domain, worst first) come from\n"
    "the report summaries; sessions reported under both an sts and a tlsa policy\n"
    "are counted once.  Options: --since --until --domain --org --mx --type\n"
    "--format --db.  CSV carries the rows only.\n";

const char help_trend[] =
    "Usage: " PROG " trend [--interval day|week|month] [OPTIONS]\n"
    "\n"
    "Per bucket: reports, sessions, failed sessions, success rate, change against\n"
    "the previous bucket, failed sessions per failure type; in the table format a\n"
    "sparkline per series.  A partial bucket (the window covers only part of it,\n"
    "or it ended less than a day ago, so reports may still arrive: today, this\n"
    "week) is marked '*' (CSV and JSON: partial) and not compared; the series end\n"
    "at the last complete bucket.  Options: --since --until --domain --org --mx\n"
    "--type --format --db.\n";

const char help_failures[] =
    "Usage: " PROG " failures [--limit N] [OPTIONS]\n"
    "\n"
    "The failure-detail rows, newest first: day, report ID, org, domain, mx, type,\n"
    "sending IP, receiving IP, failed sessions, reason code.  --limit N (default\n"
    "1000, 0 = all); when rows are left out, stderr says how many.\n"
    "Options: --since --until --domain --org --mx --type --format --db.\n";

const char help_reports[] =
    "Usage: " PROG " reports [--limit N] [OPTIONS]\n"
    "\n"
    "Stored reports, newest first: ID, org, policy domains, range, sessions, failed\n"
    "sessions, source, DKIM verdict.  --limit N (default 1000, 0 = all); when\n"
    "reports are left out, stderr says how many.  Options: --since\n"
    "--until --domain --org --mx --type --format --db.\n";

const char help_show[] =
    "Usage: " PROG " show ID [--format F] [--db FILE]\n"
    "\n"
    "One stored report: normalized, then the JSON exactly as the sender sent it.\n";

const char help_quarantine[] =
    "Usage: " PROG " quarantine [--since WHEN] [--until WHEN] [--limit N] [OPTIONS]\n"
    "       " PROG " quarantine show ID [--format F] [--db FILE]\n"
    "\n"
    "Inputs that did not yield a report, newest first, with the reason; all of\n"
    "them unless --since/--until select by last seen.  'show ID' prints one with\n"
    "the input as received.\n";

const char help_email[] =
    "Usage: " PROG " email [--to ADDR] [--from ADDR] [--sendmail PATH]\n"
    "                     [--only-if-findings] [--only-if-failures] [OPTIONS]\n"
    "\n"
    "The summary email for a period (default: yesterday, the last complete UTC\n"
    "day) compared with the period before it, as a multipart/alternative text and\n"
    "HTML message on stdout (for 'sendmail -t'), or piped to 'PATH -t -i' with\n"
    "--sendmail.  It starts with what needs attention: the findings (as\n"
    "'findings' gives them) of the 7 days ending where the period ends, and\n"
    "sessions and failures per day of those days; the Subject counts the\n"
    "critical and warning findings (\"2 critical, 1 warning\") or says \"all clean\".\n"
    "--only-if-findings: send nothing and exit 0 unless there is a warning or\n"
    "critical finding; it always sends when the capture pipeline has stopped or\n"
    "reports wait in the milter's spool.  --only-if-failures: send nothing and\n"
    "exit 0 when no session failed in the period (with both, either one sends).\n"
    "--to default postmaster, --from default tlsrpt-report@HOST\n"
    "(HOST: /etc/mailname, else the fully-qualified host name).\n"
    "Options: --since --until --domain --org --mx --type --db, and the findings'\n"
    "thresholds --warn-rate --crit-rate --silent-days --stopped-days --ready-days\n"
    "--check-days.\n";


const char help_check[] =
    "Usage: " PROG " check [--resolver IP[:PORT]] [--ca-file FILE] [--timeout SECONDS]\n"
    "                      [--format table|json] [--db FILE] [DOMAIN...]\n"
    "\n"
    "Checks each DOMAIN as a sender sees it (default: every policy domain with\n"
    "reports in the last 30 days): the _mta-sts and _smtp._tls TXT records, the\n"
    "MX records and addresses, the policy file over HTTPS, policy against MX,\n"
    "each MX on port 25 (STARTTLS, TLS 1.2+, certificate, TLSA), the id and text\n"
    "against the last stored check, and what senders reported in the last 30 days.\n"
    "Each result: code, ok/warn/fail, detail, fix.  Every run is stored in --db.\n"
    "  --resolver IP[:PORT]  DNS server for every lookup (default: resolv.conf)\n"
    "  --ca-file FILE        trust store for HTTPS and SMTP (default: the system's)\n"
    "  --timeout SECONDS     every network wait (default 10 s DNS, 20 s HTTPS,\n"
    "                        30 s each SMTP step)\n"
    "Exit: 0 all ok, 1 a warning, 2 a failure, 3 usage, 4 resolver, 5 database/I/O.\n";

const char help_metrics[] =
    "Usage: " PROG " metrics [-o FILE] [--spool DIR]... [--db FILE]\n"
    "\n"
    "The database (and with --spool the daemons' counters, DIR/*.stats) as\n"
    "Prometheus text exposition for node_exporter's textfile collector: sessions\n"
    "and failures by type per policy domain (all stored reports, and the last\n"
    "complete UTC day), last report per domain and per organization, reports\n"
    "stored, quarantine entries by reason, database size, last ingest.\n"
    "-o FILE: written atomically (temporary file, fsync, rename), e.g.\n"
    "/var/lib/prometheus/node-exporter/tlsrpt.prom.\n";

const char help_findings[] =
    "Usage: " PROG " findings [--warn-rate P] [--crit-rate P] [--silent-days N]\n"
    "                         [--stopped-days N] [--ready-days N] [--check-days N]\n"
    "                         [OPTIONS]\n"
    "\n"
    "What needs attention in a window (default: the last 7 days), compared with\n"
    "the window of the same length before it: failure rates of domains and MX\n"
    "hosts, a diagnosis per failure type with its evidence and fix, new failure\n"
    "types and failing MX hosts, policy drift, MX hosts outside the policy, the\n"
    "policy mode, silent reporters, a stopped capture pipeline, new quarantine\n"
    "entries; and what the newest stored 'check' of each domain failed or warned\n"
    "(live-check-failed), noted on the diagnoses it confirms or contradicts.\n"
    "Sorted by severity (critical, warning, info); every code is in\n"
    "tlsrpt-report(1), FINDINGS.\n"
    "  --warn-rate P      failure rate that is a warning, percent (default 1)\n"
    "  --crit-rate P      failure rate that is critical, percent (default 5)\n"
    "  --silent-days N    a reporter silent this many days (default 3; 0: off)\n"
    "  --stopped-days N   no report stored this many days: the capture pipeline\n"
    "                     stopped, critical (default 2; 0: off)\n"
    "  --ready-days N     mode testing clean this many days: ready for enforce\n"
    "                     (default 14; 0: off)\n"
    "  --check-days N     use a domain's newest stored check when it ran at most\n"
    "                     this many days ago (default 7; 0: off)\n"
    "Options: --since --until --now --domain --org --mx --type --received-since\n"
    "--format table|csv|json --db.\n"
    "Exit: 0 no finding or only info, 1 the worst is a warning, 2 a critical one,\n"
    "3 usage error, 5 database or I/O error.\n";

const char help_html[] =
    "Usage: " PROG " html [-o FILE] [--since WHEN] [--until WHEN] [FILTERS] [--db FILE]\n"
    "\n"
    "The dashboard for a web root: one self-contained HTML5 page (no script, no\n"
    "remote resource; CSS and SVG inline).  The findings first, then per policy\n"
    "domain, worst first: sessions and success rate per day, failed sessions by\n"
    "type per day (charts), the MX hosts with failures, the reporting\n"
    "organizations and the policies senders saw.  The window defaults to the\n"
    "last 7 complete days, as for findings; at most 366 days.  Filters as\n"
    "for summary: --domain --org --mx --type --received-since; thresholds as\n"
    "for findings: --warn-rate --crit-rate --silent-days --stopped-days\n"
    "--ready-days --check-days.\n"
    "  -o FILE   write the page to FILE atomically (a temporary file renamed),\n"
    "            so a web server never serves half a page; default stdout\n";
