#!/bin/bash
# check.sh MILTER - `tlsrpt-milter -n` gives the start's verdict:
#   as root without UserID: refused, as at start;
#   a database or spool UserID cannot write: refused, naming user and path
#   (the start refuses the same way);
#   -c FIFO does not block, -c DIR is named;
#   an inet socket: the start logs the address actually bound;
#   PidFile in a missing directory: made by the milter (no systemd),
#   the pid file removed at stop.
# As root the milter's user is nobody; as another user, that user.
set -u
milter=$1
dir=$(mktemp -d "${TMPDIR:-/tmp}/tlsrpt-check.XXXXXX") || exit 1
chmod 755 "$dir"
pid=
cleanup() {
    [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$dir"
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

root=0
[ "$(id -u)" -eq 0 ] && root=1
user=$(id -un)
[ $root -eq 1 ] && user=nobody

conf() {   # conf FILE [EXTRA-LINE...]
    local f=$1
    shift
    {
        echo "RuaAddress tlsrpt@example.net"
        echo "Socket unix:$dir/milter.sock"
        echo "SpoolDir $dir/spool"
        echo "Database $dir/db/tlsrpt.db"
        for l in "$@"; do echo "$l"; done
    } > "$f"
}
# expect RC PATTERN ARGS...: runs the milter (5 s at most), checks the
# exit status and that its output holds PATTERN.
expect() {
    local want=$1 pat=$2 out rc
    shift 2
    out=$(timeout 5 "$milter" "$@" 2>&1)
    rc=$?
    if [ "$rc" -ne "$want" ] || ! grep -qF -- "$pat" <<<"$out"; then
        fail "$milter $*: exit $rc, want $want with \"$pat\"; output: $out"
    else
        echo "ok: $* -> $rc: $pat"
    fi
}

if [ $root -eq 1 ]; then
    conf "$dir/noroot.conf"
    expect 78 "refusing to run as root: set UserID in $dir/noroot.conf" -n -c "$dir/noroot.conf"
    expect 78 "refusing to run as root" -f -c "$dir/noroot.conf"
    extra=("UserID nobody")
else
    extra=()
fi

# Missing directories: the start makes them (as root) or the user may.
[ $root -eq 1 ] || chmod 755 "$dir"
conf "$dir/ok.conf" "${extra[@]}"
expect 0 "user $user can write" -n -c "$dir/ok.conf"

# The README's old trap: a database made by someone else, not writable.
mkdir "$dir/db"
touch "$dir/db/tlsrpt.db"
chmod 644 "$dir/db/tlsrpt.db"
if [ $root -eq 1 ]; then
    chown nobody "$dir/db"
else
    chmod 444 "$dir/db/tlsrpt.db"
fi
expect 78 "user $user cannot write $dir/db/tlsrpt.db (Database)" -n -c "$dir/ok.conf"
expect 78 "user $user cannot write $dir/db/tlsrpt.db (Database)" -f -c "$dir/ok.conf"
[ $root -eq 1 ] && chown nobody "$dir/db/tlsrpt.db" || chmod 644 "$dir/db/tlsrpt.db"
# The database's directory (SQLite's journal goes there).
chmod 555 "$dir/db"
[ $root -eq 1 ] && expect 78 "user $user cannot write $dir/db, the directory of" -n -c "$dir/ok.conf"
chmod 755 "$dir/db"
# A spool the user cannot write.
mkdir -m 755 "$dir/spool"
[ $root -eq 0 ] && chmod 555 "$dir/spool"
expect 78 "user $user cannot write $dir/spool (SpoolDir)" -n -c "$dir/ok.conf"
[ $root -eq 1 ] && chown -R nobody "$dir/spool" || chmod 755 "$dir/spool"
expect 0 "OK" -n -c "$dir/ok.conf"

# Not a regular file: a FIFO must not block -n.
mkfifo "$dir/fifo"
expect 78 "$dir/fifo: is not a regular file" -n -c "$dir/fifo"
expect 78 "$dir: is a directory" -n -c "$dir"

# An inet socket: the log names the address bound.  Port from the kernel.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.14.1",0)); print(s.getsockname()[1])')
conf "$dir/inet.conf" "${extra[@]}" "Socket inet:$port@127.0.14.1" "PidFile $dir/run/milter.pid"
sed -i "0,/^Socket unix/{/^Socket unix/d}" "$dir/inet.conf"
sed "s/^Socket inet:.*/Socket inet:99999@127.0.14.1/" "$dir/inet.conf" > "$dir/bigport.conf"
expect 78 "port \"99999\": want a port from 1 to 65535" -n -c "$dir/bigport.conf"
"$milter" -f -c "$dir/inet.conf" 2> "$dir/inet.log" &
pid=$!
for _ in $(seq 1 50); do grep -q "started" "$dir/inet.log" && break; sleep 0.1; done
grep -qF "(bound to 127.0.14.1 port $port)" "$dir/inet.log" && echo "ok: bound address logged" \
    || fail "no \"bound to 127.0.14.1 port $port\" in the log: $(cat "$dir/inet.log")"
[ -s "$dir/run/milter.pid" ] && [ "$(cat "$dir/run/milter.pid")" = "$pid" ] && echo "ok: pid file written" \
    || fail "no pid file $dir/run/milter.pid with $pid"
kill -TERM "$pid"; wait "$pid"; pid=
[ -e "$dir/run/milter.pid" ] && fail "the pid file is left after the stop" || echo "ok: pid file removed"

echo "$fails failure(s)"
[ $fails -eq 0 ]
