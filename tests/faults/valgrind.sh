#!/bin/bash
# leaks.valgrind: tlsrpt-ingest is leak-free and memory-clean under
# valgrind memcheck on every sample and every external sample: --dump,
# an import into a database, --retry-quarantine of what was quarantined,
# and standard input.  Any definite or indirect leak or memory error fails.
#   valgrind.sh TLSRPT-INGEST SAMPLES-DIR [EXTERNAL-SAMPLES-DIR [SOURCE-DIR PLAIN-BUILD-DIR]]
# valgrind and AddressSanitizer cannot run together: given an ASan binary
# and SOURCE-DIR, a plain build of tlsrpt-ingest is made in PLAIN-BUILD-DIR
# and checked instead (CI builds with ASan).  Exit 77 (skipped) when
# valgrind is missing, or the binary is ASan-built and no source is given.
set -u
ingest=$1
samples=$2
external=${3:-}
src=${4:-} plain=${5:-}

command -v valgrind >/dev/null || { echo "valgrind not installed: skipped"; exit 77; }
if ldd "$ingest" 2>/dev/null | grep -q libasan ||
   nm "$ingest" 2>/dev/null | grep -q ' __asan_init'; then
    [ -n "$src" ] && [ -n "$plain" ] || { echo "ASan build: valgrind skipped"; exit 77; }
    echo "ASan build: checking a plain build of tlsrpt-ingest in $plain"
    cmake -S "$src" -B "$plain" -DTLSRPT_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null &&
        cmake --build "$plain" -j2 --target tlsrpt-ingest >/dev/null || { echo "FAIL: plain build"; exit 1; }
    ingest=$plain/ingest/tlsrpt-ingest
fi

here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d /tmp/tlsrpt-valgrind.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
supp=()
[ -f "$here/valgrind.supp" ] && supp=(--suppressions="$here/valgrind.supp")
vg=(valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect
    --show-leak-kinds=definite,indirect --error-exitcode=99 --track-origins=yes
    --num-callers=30 "${supp[@]}")
failed=0 runs=0

# Runs tlsrpt-ingest under valgrind; exit 99 means valgrind found something.
check() {
    local what=$1; shift
    runs=$((runs + 1))
    "${vg[@]}" "$ingest" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
    local rc=$?
    if [ "$rc" -eq 99 ] || [ "$rc" -gt 3 ] || grep -q '^==[0-9]*== ' "$tmp/err"; then
        echo "FAIL $what (exit $rc):"
        grep '^==' "$tmp/err" | head -60
        failed=$((failed + 1))
        return 1
    fi
    return 0
}

# Each set once as a whole (one valgrind start-up); when that fails, file
# by file to name the input.
check_set() {
    local name=$1; shift
    local files=("$@")
    [ ${#files[@]} -gt 0 ] || return 0
    local db="$tmp/$name.db"
    if ! check "$name --dump" -q --dump "${files[@]}" ||
       ! check "$name import" -q --db "$db" "${files[@]}" ||
       ! check "$name --retry-quarantine" -q --db "$db" --retry-quarantine ||
       ! check "$name import again (duplicates)" -q --db "$db" "${files[@]}"; then
        for f in "${files[@]}"; do
            check "--dump $f" -q --dump "$f"
            rm -f "$tmp/one.db"*
            check "import $f" -q --db "$tmp/one.db" "$f"
        done
    fi
    echo "$name: ${#files[@]} inputs"
}

mapfile -t s < <(find "$samples" -type f ! -name '*.md' | sort)
check_set samples "${s[@]}"
first=${s[0]}
if ! "${vg[@]}" "$ingest" -q --dump - <"$first" >/dev/null 2>"$tmp/err" || grep -q '^==[0-9]*== ' "$tmp/err"; then
    echo "FAIL stdin"; grep '^==' "$tmp/err" | head -40; failed=$((failed + 1))
fi
runs=$((runs + 1))
if [ -n "$external" ] && [ -d "$external" ]; then
    mapfile -t e < <(find "$external" -type f ! -name 'PROVENANCE.md' | sort)
    check_set external "${e[@]}"
else
    echo "no external samples: that part skipped"
fi
echo "leaks.valgrind: $runs valgrind runs, $failed failed"
[ "$failed" -eq 0 ]
