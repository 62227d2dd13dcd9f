#!/bin/bash
# milter.tsan: the milter's threads (libmilter's, the drain worker, the
# signal/reload loop) under ThreadSanitizer, in front of a real Postfix.
# Builds its own ThreadSanitizer tree (TSan cannot be combined with the
# ASan build the rest of the suite uses), then runs the end-to-end
# scenarios that exercise the threads; any TSan report in the milter's log
# fails the scenario (pfharness.py checks for "Sanitizer").
#   tsan.sh SOURCE-DIR BUILD-DIR
set -eu
src=$1 build=$2
here=$(cd "$(dirname "$0")" && pwd)
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root for the private Postfix"; exit 77; }
cmake -S "$src" -B "$build" -DTLSRPT_TSAN=ON -DTLSRPT_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j2 --target tlsrpt-milter tlsrpt-ingest >/dev/null
export TSAN_OPTIONS="suppressions=$here/tsan.supp halt_on_error=0 second_deadlock_stack=1"
rc=0
for t in capture discard dblocked milterdown reload parallel; do
    python3 "$here/e2e.py" --milter "$build/milter/tlsrpt-milter" --ingest "$build/ingest/tlsrpt-ingest" \
        --samples "$src/samples" "$t" || rc=1
done
exit $rc
