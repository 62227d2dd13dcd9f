#!/bin/bash
# arrival.sh REPORT INGEST SAMPLES - "what arrived" and "what waits":
#   --received-since selects by the time reports were stored, whatever
#   dates they cover (summary and reports, with and without --since);
#   a spool ($TLSRPT_SPOOL) holding entries older than five minutes makes
#   every command warn on stderr; fresh entries or no spool: no warning.
set -u
report=$1 ingest=$2 samples=$3
dir=$(mktemp -d "${TMPDIR:-/tmp}/tlsrpt-arrival.XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
export TLSRPT_DB=$dir/t.db TLSRPT_SPOOL=$dir/spool
unset TLSRPT_NOW

"$ingest" -q "$samples"/*.json >/dev/null 2>&1
n=$(sqlite3 "$TLSRPT_DB" "SELECT count(*) FROM report")
[ "$n" -gt 3 ] || fail "ingest stored $n reports"
# Received just now: all of them since a day ago, none from 2099 on.
rows() {   # data rows of `reports`, -1 when the command fails
    local out
    out=$("$report" reports --format csv --limit 0 "$@") || { echo -1; return; }
    tail -n +2 <<<"$out" | grep -c .
}
got=$(rows --received-since 1d)
[ "$got" -eq "$n" ] && echo "ok: --received-since 1d: $got" || fail "--received-since 1d: $got rows, want $n"
got=$(rows --received-since 2099-01-01)
[ "$got" -eq 0 ] && echo "ok: --received-since 2099-01-01: 0" || fail "--received-since 2099-01-01: $got rows, want 0"
# Backdate one report's arrival: it drops out of "since 1d", stays in "since 1w".
sqlite3 "$TLSRPT_DB" "UPDATE report SET received_time = received_time - 3 * 86400 WHERE id = (SELECT min(id) FROM report)"
got=$(rows --received-since 1d)
[ "$got" -eq $((n - 1)) ] && echo "ok: a report received 3 days ago left out" || fail "after backdating: $got, want $((n - 1))"
got=$(rows --received-since 1w)
[ "$got" -eq "$n" ] || fail "--received-since 1w: $got, want $n"
# With --since, both windows apply.
got=$(rows --received-since 1w --since 2026-11-22 --until 2026-11-30)
[ "$got" -eq 0 ] || fail "--since after every report and --received-since: $got rows, want 0"
# summary (raw rows, no rollups for this filter) agrees with the rollups without it.
a=$("$report" summary --by org --format csv --since 2000-01-01 --received-since 1w)
b=$("$report" summary --by org --format csv --since 2000-01-01)
[ "$a" = "$b" ] && echo "ok: summary with --received-since 1w equals the full summary" \
    || fail "summary differs: $a / $b"
a=$("$report" summary --by org --format csv --since 2000-01-01 --received-since 1d)
[ "$a" != "$b" ] && echo "ok: summary --received-since 1d leaves the backdated one out" \
    || fail "summary --received-since 1d ignored the filter"

# The backlog warning.
err=$("$report" reports --since 2000-01-01 2>&1 >/dev/null)
[ -z "$err" ] || fail "no spool: want no warning, got: $err"
mkdir -p "$dir/spool/new" "$dir/spool/cur"
touch "$dir/spool/new/fresh"
err=$("$report" reports --since 2000-01-01 2>&1 >/dev/null)
[ -z "$err" ] && echo "ok: a fresh entry: no warning" || fail "fresh entry: want no warning, got: $err"
touch -d '-10 minutes' "$dir/spool/new/old1"
touch -d '-2 hours' "$dir/spool/cur/old2"
for cmd in "summary" "reports" "trend" "quarantine" "failures"; do
    err=$("$report" $cmd 2>&1 >/dev/null)
    grep -qF "warning: 2 report(s) waiting in the spool $dir/spool" <<<"$err" \
        && echo "ok: $cmd warns" || fail "$cmd: want the backlog warning, got: $err"
done
# The email: sent despite --only-if-failures, with the warning in both parts.
msg=$("$report" email --only-if-failures --since 2000-01-01 2>/dev/null)
grep -q "WARNING: 2 reports captured by tlsrpt-milter wait in its spool" <<<"$msg" \
    && grep -q "2 reports captured by tlsrpt-milter wait in its spool, not stored" <<<"$(python3 -c '
import email,sys
m=email.message_from_string(sys.stdin.read())
print("\n".join(p.get_payload(decode=True).decode() for p in m.walk() if p.get_content_type()=="text/html"))' <<<"$msg")" \
    && echo "ok: the email carries the backlog" || fail "the email lacks the backlog warning"
msg=$(TLSRPT_SPOOL= "$report" email --only-if-failures --since 2000-01-01 --until 2000-01-02)
[ -z "$msg" ] && echo "ok: no backlog, clean period: no email" || fail "a clean period without backlog sent an email"
err=$(TLSRPT_SPOOL= "$report" summary 2>&1 >/dev/null)
[ -z "$err" ] || fail "TLSRPT_SPOOL empty: want no check, got: $err"
echo "$fails failure(s)"
[ $fails -eq 0 ]
