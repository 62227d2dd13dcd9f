#!/bin/sh
# Golden test: `tlsrpt-ingest --dump` of every file in samples/ must equal
# tests/golden/expected/FILE.dump byte for byte.
#   run.sh TLSRPT-INGEST SAMPLES-DIR EXPECTED-DIR [--update]
set -u
ingest=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
samples=$(cd "$2" && pwd) expected=$(cd "$3" && pwd)
pass=0 fail=0
for f in "$samples"/*; do
    name=$(basename "$f")
    case "$name" in *.md) continue ;; esac
    # Run from samples/ so the "source" of error lines is the bare file name.
    got=$(cd "$samples" && "$ingest" --dump "$name"; echo "exit=$?")
    if [ "${4:-}" = "--update" ]; then
        printf '%s\n' "$got" > "$expected/$name.dump"
        continue
    fi
    if [ ! -f "$expected/$name.dump" ]; then
        echo "FAIL $name: no expected file $expected/$name.dump"
        fail=$((fail + 1))
    elif printf '%s\n' "$got" | cmp -s - "$expected/$name.dump"; then
        pass=$((pass + 1))
    else
        echo "FAIL $name: --dump differs from $expected/$name.dump:"
        printf '%s\n' "$got" | diff "$expected/$name.dump" - | head -20
        fail=$((fail + 1))
    fi
done
# Every expected file still has its sample.
for e in "$expected"/*.dump; do
    [ -e "$samples/$(basename "$e" .dump)" ] || { echo "FAIL stale $e"; fail=$((fail + 1)); }
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
