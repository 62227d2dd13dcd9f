#!/bin/bash
# run-lua.sh MILTER SCRIPT.lua [CONFIG-LINE...]
#
# Starts tlsrpt-milter on a private unix socket with a throw-away
# configuration (the given lines added), runs one miltertest script
# against it, stops the milter, and removes everything.  Runs as any user;
# as root the milter drops to nobody.  The script gets the globals
# sock (libmilter socket spec) and spool (the spool directory).
set -u
milter=$1 script=$2
shift 2

command -v miltertest >/dev/null || { echo "miltertest not installed (apt-get install miltertest)" >&2; exit 1; }
# Not $TMPDIR: as root the milter runs as nobody, who must reach it.
dir=$(mktemp -d "${TLSRPT_E2E_TMPDIR:-/tmp}/tlsrpt-lua.XXXXXX") || exit 1
chmod 755 "$dir"
pid=
stop_milter() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null
    fi
    if [ -n "$pid" ]; then
        wait "$pid" 2>/dev/null
        milter_rc=$?
        pid=
    fi
}
cleanup() {
    stop_milter
    rm -rf "$dir"
}
milter_rc=0
trap cleanup EXIT
trap 'exit 1' INT TERM

{
    echo "Socket unix:$dir/milter.sock"
    echo "RuaAddress tlsrpt@example.net, tls-reports@example.org"
    echo "SpoolDir $dir/spool"
    echo "Database $dir/db/tlsrpt.db"
    echo "MaxMessageSize 64K"
    echo "LogLevel debug"
    [ "$(id -u)" -eq 0 ] && echo "UserID nobody"
    for line in "$@"; do echo "$line"; done
} > "$dir/milter.conf"
# As root, the milter (nobody) must be able to reach its files.
[ "$(id -u)" -eq 0 ] && chown nobody "$dir"

"$milter" -f -c "$dir/milter.conf" 2> "$dir/milter.log" &
pid=$!
miltertest -D "sock=unix:$dir/milter.sock" -D "spool=$dir/spool" -s "$script"
rc=$?
stop_milter
# A clean run also means a clean milter: exit 0 after SIGTERM and no
# sanitizer report (ASan/UBSan builds) in its log.
if [ $rc -eq 0 ] && { [ "$milter_rc" -ne 0 ] || grep -qE 'Sanitizer|runtime error:' "$dir/milter.log"; }; then
    echo "milter exited with $milter_rc or reported a sanitizer error" >&2
    rc=1
fi
# The counters the milter wrote at its last drain (tlsrpt-milter.stats):
# every line "name value", and each line of SCRIPT's .stats file in it.
expect=${script%.lua}.stats
if [ $rc -eq 0 ] && [ -f "$expect" ]; then
    stats=$dir/spool/tlsrpt-milter.stats
    if ! grep -qvE '^[a-z_]+ (0|[1-9][0-9]*)$' "$stats" 2>/dev/null && [ -s "$stats" ]; then
        while read -r line; do
            grep -qxF "$line" "$stats" || { echo "counters: no line '$line' in:" >&2; cat "$stats" >&2; rc=1; }
        done < "$expect"
    else
        echo "counters: $stats missing or malformed" >&2
        rc=1
    fi
fi
if [ $rc -ne 0 ]; then
    echo "--- milter log" >&2
    cat "$dir/milter.log" >&2
fi
exit $rc
