#!/bin/bash
# tlsrpt-ingest on inputs that used to lose data without a word: zip
# archives of several entries, files in a directory that are not read
# (symbolic links, FIFOs, sockets, unreadable files), conflicting resends.
#   trust.sh TLSRPT-INGEST SAMPLES-DIR
set -u
ingest=$1 samples=$(cd "$2" && pwd)
tmp=$(mktemp -d)
trap 'chmod -R u+rwx "$tmp"; rm -rf "$tmp"' EXIT
pass=0 fail=0
ok()   { pass=$((pass + 1)); }
bad()  { echo "FAIL $*"; fail=$((fail + 1)); }
expect() { # expect WHAT WANT GOT
    if [ "$2" = "$3" ]; then ok; else bad "$1: want '$2', got '$3'"; fi
}
q() { sqlite3 "$1" "$2"; }
g="$samples/google-sts-certificate-expired.json"
s="$samples/stalwart-contact-null-7-days.json"
k="$samples/mimecast-hex-report-id.json"

# ---- zip archives: every entry read --------------------------------------
python3 - "$tmp" "$g" "$s" "$k" <<'PY'
import gzip, sys, zipfile
tmp, g, s, k = sys.argv[1:]
def z(name, entries, method=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(f"{tmp}/{name}", "w", method) as f:
        for n, data in entries:
            f.writestr(n, data)
G, S, K = (open(p, "rb").read() for p in (g, s, k))
z("three.zip", [("a.json", G), ("b.json", S), ("c.json", K)])
z("readme-first.zip", [("README.txt", b"This archive holds a TLS report.\n"), ("r.json", G)])
z("gz-inside.zip", [("r.json.gz", gzip.compress(S, mtime=0))], zipfile.ZIP_STORED)
z("no-report.zip", [("README.txt", b"nothing here\n")])
z("many.zip", [(f"{i}.txt", b"x") for i in range(5)] + [("r.json", G)])
PY
out=$("$ingest" --db "$tmp/z.db" "$tmp/three.zip"); expect "zip of three reports" "0:3 reports stored, 0 duplicates, 0 quarantined" "$?:$out"
out=$("$ingest" --db "$tmp/z2.db" "$tmp/readme-first.zip"); expect "readme, then the report" "0:1 reports stored, 0 duplicates, 0 quarantined" "$?:$out"
expect "skipped entry named in the warnings" "end-inclusive-adjusted zip-entry-skipped zip-entry-skipped=README.txt" \
    "$(q "$tmp/z2.db" "SELECT warnings FROM report")"
out=$("$ingest" --dump "$tmp/readme-first.zip" | grep -o '"warnings":.*'); expect "--dump names the skipped entry" \
    '"warnings":["end-inclusive-adjusted","zip-entry-skipped","zip-entry-skipped=README.txt"]}' "$out"
out=$("$ingest" --db "$tmp/z3.db" "$tmp/gz-inside.zip"); expect "a .json.gz inside a zip" "0:1 reports stored, 0 duplicates, 0 quarantined" "$?:$out"
out=$("$ingest" --db "$tmp/z4.db" "$tmp/no-report.zip"); expect "zip without a report" "1:0 reports stored, 0 duplicates, 1 quarantined" "$?:$out"
expect "its reason" "not-a-report" "$(q "$tmp/z4.db" "SELECT reason FROM quarantine")"
out=$("$ingest" --db "$tmp/z5.db" --limit zip-entries=4 "$tmp/many.zip"); expect "zip-entries limit" "1:0 reports stored, 0 duplicates, 1 quarantined" "$?:$out"
expect "its reason" "limit-zip-entries" "$(q "$tmp/z5.db" "SELECT reason FROM quarantine")"
out=$("$ingest" --db "$tmp/z6.db" --limit zip-inflated-size=2000 "$tmp/three.zip"); expect "zip-inflated-size limit" "1:0 reports stored, 0 duplicates, 1 quarantined" "$?:$out"
expect "its reason" "limit-zip-inflated-size" "$(q "$tmp/z6.db" "SELECT reason FROM quarantine")"

# ---- files in a directory that are not read: named and counted ----------
mkdir -p "$tmp/d/sub" "$tmp/outside"
cp "$g" "$tmp/d/r.json"
cp "$s" "$tmp/outside/o.json"
ln -s "$tmp/outside/o.json" "$tmp/d/link.json"
ln -s "$tmp/d" "$tmp/d/sub/loop"
mkfifo "$tmp/d/fifo"
python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$tmp/d/sock"
out=$("$ingest" --db "$tmp/s.db" "$tmp/d" 2>"$tmp/err"); expect "skipped in the summary line" \
    "0:1 reports stored, 0 duplicates, 0 quarantined, 4 skipped" "$?:$out"
for f in fifo link.json sock sub/loop; do
    grep -q "^tlsrpt-ingest: skipped $tmp/d/$f: " "$tmp/err" && ok || bad "skipped $f not named: $(cat "$tmp/err")"
done
grep -q "link.json: symbolic link, not followed" "$tmp/err" && ok || bad "what a link is: $(cat "$tmp/err")"
grep -q "fifo: FIFO, not read" "$tmp/err" && ok || bad "what a FIFO is: $(cat "$tmp/err")"
out=$("$ingest" --db "$tmp/s.db" --json "$tmp/d" 2>/dev/null); expect "skipped in --json" \
    '0:{"stored": 0, "duplicates": 1, "quarantined": 0, "unreadable": 0, "skipped": 4, "conflicting": 0}' "$?:$out"
out=$("$ingest" --db "$tmp/s.db" --json --jobs 2 "$tmp/d" 2>/dev/null); expect "skipped with --jobs" \
    '0:{"stored": 0, "duplicates": 1, "quarantined": 0, "unreadable": 0, "skipped": 4, "conflicting": 0}' "$?:$out"
# A symbolic link named as PATH is followed.
out=$("$ingest" --db "$tmp/s.db" "$tmp/d/link.json" 2>&1); expect "a PATH that is a link" "0:1 reports stored, 0 duplicates, 0 quarantined" "$?:$out"
# An unreadable file is named and counted as unreadable (exit 1); root reads anything.
if [ "$(id -u)" -ne 0 ]; then
    mkdir "$tmp/u"; cp "$k" "$tmp/u/k.json"; chmod 000 "$tmp/u/k.json"
    out=$("$ingest" --db "$tmp/u.db" "$tmp/u" 2>"$tmp/err"); expect "unreadable" "1:0 reports stored, 0 duplicates, 0 quarantined, 1 unreadable" "$?:$out"
    grep -q "k.json" "$tmp/err" && ok || bad "unreadable not named"
fi

# ---- resends: identical content is a duplicate, different a conflict ----
# Reformatted and re-compressed: the same normalized report.
python3 -c 'import gzip,json,sys; sys.stdout.buffer.write(gzip.compress(json.dumps(json.load(open(sys.argv[1])),indent=1).encode()))' "$g" > "$tmp/same.json.gz"
# A corrected resend: one count and one failure detail's reason differ.
python3 -c 'import json,sys
r = json.load(open(sys.argv[1]))
r["policies"][0]["summary"]["total-failure-session-count"] += 1
r["policies"][0]["failure-details"][0]["failure-reason-code"] = "corrected"
json.dump(r, sys.stdout)' "$g" > "$tmp/corrected.json"
out=$("$ingest" --db "$tmp/c.db" "$g" "$tmp/same.json.gz"); expect "identical resend" "0:1 reports stored, 1 duplicates, 0 quarantined" "$?:$out"
out=$("$ingest" --db "$tmp/c.db" "$tmp/corrected.json"); expect "conflicting resend" "1:0 reports stored, 0 duplicates, 0 quarantined, 1 conflicting" "$?:$out"
expect "the first stays" "1|3" "$(q "$tmp/c.db" "SELECT count(*), (SELECT failed_sessions FROM policy) FROM report")"
expect "the second quarantined" "conflicting-duplicate" "$(q "$tmp/c.db" "SELECT reason FROM quarantine")"
msg=$(q "$tmp/c.db" "SELECT message FROM quarantine")
case "$msg" in
*"policies[0].total-failure-session-count, policies[0].failure-details[0].failure-reason-code") ok ;;
*) bad "which fields differ: $msg" ;;
esac
expect "its raw bytes" "$(cat "$tmp/corrected.json")" \
    "$(python3 -c 'import sqlite3,sys,zlib
print(zlib.decompress(sqlite3.connect(sys.argv[1]).execute("SELECT raw_z FROM quarantine").fetchone()[0]).decode(), end="")' "$tmp/c.db")"
out=$("$ingest" --db "$tmp/c.db" --json "$tmp/corrected.json" "$tmp/same.json.gz"); expect "--json counts both" \
    '1:{"stored": 0, "duplicates": 1, "quarantined": 0, "unreadable": 0, "skipped": 0, "conflicting": 1}' "$?:$out"
out=$("$ingest" --db "$tmp/c2.db" --jobs 2 "$g" "$tmp/corrected.json"); expect "with --jobs" "1:1 reports stored, 0 duplicates, 0 quarantined, 1 conflicting" "$?:$out"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
