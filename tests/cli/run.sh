#!/bin/bash
# tlsrpt-ingest as a user runs it: exit codes, summary line, --json, stdin,
# mbox and Maildir inputs, a database that cannot be written (exit 3, nothing
# half-stored, a rerun stores everything), --retry-quarantine, usage errors.
#   run.sh TLSRPT-INGEST SAMPLES-DIR
set -u
ingest=$1 samples=$(cd "$2" && pwd)
tmp=$(mktemp -d)
trap 'chmod -R u+w "$tmp"; rm -rf "$tmp"' EXIT
pass=0 fail=0
ok()   { pass=$((pass + 1)); }
bad()  { echo "FAIL $*"; fail=$((fail + 1)); }
expect() { # expect WHAT WANT GOT
    if [ "$2" = "$3" ]; then ok; else bad "$1: want '$2', got '$3'"; fi
}
q() { sqlite3 "$1" "$2"; }

g="$samples/google-sts-certificate-expired.json"
m="$samples/microsoft-like.eml"

# Summary line and exit 0; the same again is all duplicates.
out=$("$ingest" --db "$tmp/a.db" "$g"); expect "first import" "0:1 reports stored, 0 duplicates, 0 quarantined" "$?:$out"
out=$("$ingest" --db "$tmp/a.db" "$g"); expect "second import" "0:0 reports stored, 1 duplicates, 0 quarantined" "$?:$out"
# --json and the database from $TLSRPT_DB.
out=$(TLSRPT_DB="$tmp/a.db" "$ingest" --json "$g" "$m"); expect "--json via TLSRPT_DB" \
    '0:{"stored": 1, "duplicates": 1, "quarantined": 0, "unreadable": 0, "skipped": 0, "conflicting": 0}' "$?:$out"
# A quarantined input makes the exit status 1.
out=$("$ingest" --db "$tmp/a.db" "$samples/spam.eml"); expect "spam" "1:0 reports stored, 0 duplicates, 1 quarantined" "$?:$out"

# stdin: a report, a gzip'd report and a message.
out=$("$ingest" --db "$tmp/s.db" --json - < "$g"); expect "stdin json" '0:{"stored": 1, "duplicates": 0, "quarantined": 0, "unreadable": 0, "skipped": 0, "conflicting": 0}' "$?:$out"
out=$(gzip -c "$g" | "$ingest" --db "$tmp/s.db" --json -); expect "stdin gzip" '0:{"stored": 0, "duplicates": 1, "quarantined": 0, "unreadable": 0, "skipped": 0, "conflicting": 0}' "$?:$out"
out=$("$ingest" --db "$tmp/s.db" --json - < "$m"); expect "stdin message" '0:{"stored": 1, "duplicates": 0, "quarantined": 0, "unreadable": 0, "skipped": 0, "conflicting": 0}' "$?:$out"
expect "stdin source" "stdin" "$(q "$tmp/s.db" "SELECT DISTINCT source FROM report")"

# An mbox of three messages (one spam) and a Maildir.
mbox="$tmp/mbox"
for f in google-like.eml spam.eml postfix-like.eml; do
    printf 'From tlsrpt@example.net Mon Nov 23 00:00:00 2026\n'; tr -d '\r' < "$samples/$f"; printf '\n'
done > "$mbox"
out=$("$ingest" --db "$tmp/m.db" --json "$mbox"); expect "mbox" '1:{"stored": 2, "duplicates": 0, "quarantined": 1, "unreadable": 0, "skipped": 0, "conflicting": 0}' "$?:$out"
expect "mbox sources" "$mbox:1 $mbox:3" "$(q "$tmp/m.db" "SELECT group_concat(source, ' ') FROM (SELECT source FROM report ORDER BY source)")"
mkdir -p "$tmp/Maildir/new" "$tmp/Maildir/cur" "$tmp/Maildir/tmp"
cp "$samples/google-like.eml" "$tmp/Maildir/new/1.host"; cp "$samples/stalwart-like.eml" "$tmp/Maildir/cur/2.host:2,S"
cp "$samples/spam.eml" "$tmp/Maildir/tmp/3.host"   # being delivered: must be skipped
out=$("$ingest" --db "$tmp/md.db" --json "$tmp/Maildir"); expect "Maildir" '0:{"stored": 2, "duplicates": 0, "quarantined": 0, "unreadable": 0, "skipped": 0, "conflicting": 0}' "$?:$out"

# A database that cannot be written: exit 3, nothing stored; then it works.
"$ingest" --db "$tmp/ro.db" -q "$g"
if [ "$(id -u)" = 0 ]; then
    # root ignores file modes: make the database read-only another way.
    # (An SQL error at run time: a RAISE would be a refusal of the rows,
    # quarantined as db-refused; tests/faults/faults.py refused.)
    sqlite3 "$tmp/ro.db" "CREATE TRIGGER ro BEFORE INSERT ON report BEGIN SELECT json('read-only for the test'); END"
else
    chmod a-w "$tmp/ro.db" "$tmp"
fi
out=$("$ingest" --db "$tmp/ro.db" "$samples" 2>"$tmp/err"); rc=$?
expect "unwritable database exit" 3 "$rc"
grep -q "could not be written" "$tmp/err" && ok || bad "unwritable database message: $(cat "$tmp/err")"
chmod u+w "$tmp" "$tmp/ro.db"; sqlite3 "$tmp/ro.db" "DROP TRIGGER IF EXISTS ro"
expect "nothing half-stored" "1|1|1" "$(q "$tmp/ro.db" "SELECT (SELECT count(*) FROM report), (SELECT count(*) FROM policy), (SELECT count(*) FROM quarantine) + 1")"
out=$("$ingest" --db "$tmp/ro.db" --json "$samples"); rc=$?
expect "rerun stores the rest" 1 "$rc"
expect "rerun counts" '"duplicates": 1,' "$(echo "$out" | grep -o '"duplicates": [0-9]*,')"

# --retry-quarantine: a report quarantined for a limit is stored once the
# limit is raised, and its quarantine entry is resolved.
"$ingest" --db "$tmp/q.db" -q --limit string-length=10 "$g"; expect "quarantined by a limit" 1 "$?"
expect "reason" "limit-string-length" "$(q "$tmp/q.db" "SELECT reason FROM quarantine")"
out=$("$ingest" --db "$tmp/q.db" --json --retry-quarantine); expect "retry" '0:{"stored": 1, "duplicates": 0, "quarantined": 0, "unreadable": 0, "skipped": 0, "conflicting": 0}' "$?:$out"
expect "resolved" 1 "$(q "$tmp/q.db" "SELECT count(*) FROM quarantine WHERE resolved_time IS NOT NULL")"
out=$("$ingest" --db "$tmp/q.db" --json --retry-quarantine); expect "retry is idempotent" '0:{"stored": 0, "duplicates": 0, "quarantined": 0, "unreadable": 0, "skipped": 0, "conflicting": 0}' "$?:$out"

# --dump: one line per report, errors as JSON objects, exit 1 on errors.
n=$("$ingest" --dump "$samples/two-reports.eml" | wc -l); expect "dump two reports" 2 "$n"
out=$("$ingest" --dump "$samples/spam.eml"); rc=$?
expect "dump error exit" 1 "$rc"
echo "$out" | grep -q '"error":"not-a-report"' && ok || bad "dump error line: $out"

# A bulk import's transaction is committed once it has been open for a
# second (BATCH_MAX_MS), however far from --batch: a report, then a FIFO
# written after 1.5 s, then a FIFO not written until the first two are
# seen committed (the import is still running, blocked on it).  A FIFO
# named explicitly is waited for, as cat(1) does.
mkfifo "$tmp/f1" "$tmp/f2"
"$ingest" --db "$tmp/t.db" -q "$g" "$tmp/f1" "$tmp/f2" &
pid=$!
sleep 1.5
timeout 10 cp "$samples/microsoft-sts-tlsa-no-timezone.json" "$tmp/f1"
seen=0
for _ in $(seq 100); do
    [ "$(q "$tmp/t.db" "SELECT count(*) FROM report" 2>/dev/null)" = 2 ] && { seen=1; break; }
    sleep 0.1
done
kill -0 "$pid" 2>/dev/null && running=1 || running=0
expect "batch committed after a second, the import still running" "1:1" "$seen:$running"
timeout 10 cp "$samples/mimecast-hex-report-id.json" "$tmp/f2" || kill "$pid"
wait "$pid"; expect "the import then ends" "0:3" "$?:$(q "$tmp/t.db" "SELECT count(*) FROM report")"

# Usage errors exit 2 and say why; --help and --version exit 0.
"$ingest" >/dev/null 2>&1; expect "no PATH" 2 "$?"
"$ingest" --limit nope=1 x >/dev/null 2>&1; expect "unknown limit" 2 "$?"
"$ingest" --bogus >/dev/null 2>&1; expect "unknown option" 2 "$?"
"$ingest" --help | grep -q "Usage: tlsrpt-ingest" && ok || bad "--help"
"$ingest" --version | grep -q "^tlsrpt-ingest [0-9]" && ok || bad "--version"
# A PATH that does not exist: error on stderr, exit 1, the rest imported.
out=$("$ingest" --db "$tmp/n.db" --json "$tmp/nonexistent" "$g" 2>"$tmp/err"); expect "missing path" 1 "$?"
grep -q "nonexistent" "$tmp/err" && ok || bad "missing path message"
expect "missing path counts" '{"stored": 1, "duplicates": 0, "quarantined": 0, "unreadable": 1, "skipped": 0, "conflicting": 0}' "$out"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
