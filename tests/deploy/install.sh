#!/bin/bash
# install.sh SOURCE_DIR WORK_DIR - the Debian package and README's Postfix
# quick start on Debian's own Postfix, as a postmaster would do it:
#   build the .deb (cpack), apt-get install ./tlsrpt_*.deb;
#   write a minimal /etc/postfix/main.cf for the test domain deploy.test,
#   with README's two milter lines, and bind master.cf's chrooted smtpd to
#   127.0.14.1:25 ONLY (other tests run private instances on other
#   addresses; master.cf is restored at the end); start Postfix;
#   start the milter as README's "without systemd" lines say;
#   send a report and ordinary mail with swaks; the report is stored by
#   the milter running as tlsrpt, the ordinary mail delivered;
#   run the cron line's command as its crontab owner (tlsrpt);
#   stop the milter (pid file gone), purge: nothing the package made is left.
# It changes the system (a package, a user, /etc/postfix/main.cf), so it
# runs only when TLSRPT_INSTALL_TEST=1 (.ci/run sets it on CI's fresh
# machine), as root, and refuses a machine where main.cf or /var/lib/tlsrpt
# already exist.  Exit 77 (skip) otherwise.  Debian's Postfix is stopped
# and main.cf removed at the end even on failure.
set -u
src=$1 work=$2
skip() { echo "skip: $*"; exit 77; }
[ "${TLSRPT_INSTALL_TEST:-0}" = 1 ] || skip "set TLSRPT_INSTALL_TEST=1 to run (it installs a package and configures /etc/postfix)"
[ "$(id -u)" -eq 0 ] || skip "needs root"
[ -e /etc/postfix/main.cf ] && skip "/etc/postfix/main.cf exists: not touching a configured Postfix"
[ -e /var/lib/tlsrpt ] && skip "/var/lib/tlsrpt exists: not touching a real database"
dpkg-query -W tlsrpt >/dev/null 2>&1 && skip "a tlsrpt package is already installed"

ADDR=127.0.14.1
MAIL=/var/tmp/tlsrpt-install-test-mail
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }
step() { echo "== $*"; }
wait_for() {   # wait_for SECONDS COMMAND...
    local t=$1
    shift
    for _ in $(seq 1 $((t * 5))); do "$@" && return 0; sleep 0.2; done
    return 1
}

stop_postfix() {
    local pid
    pid=$(cat /var/spool/postfix/pid/master.pid 2>/dev/null | tr -d ' ')
    postfix stop >/dev/null 2>&1
    if [ -n "$pid" ]; then
        wait_for 10 sh -c "! kill -0 $pid 2>/dev/null" || { postfix abort >/dev/null 2>&1; kill -9 "$pid" 2>/dev/null; }
    fi
}
stop_milter() {
    local pid
    pid=$(cat /run/tlsrpt-milter/tlsrpt-milter.pid 2>/dev/null)
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null
    wait_for 15 sh -c "! kill -0 $pid 2>/dev/null" || kill -9 "$pid" 2>/dev/null
}
cleanup() {
    stop_milter
    stop_postfix
    rm -f /etc/postfix/main.cf
    [ -f "$work/master.cf.orig" ] && cp -p "$work/master.cf.orig" /etc/postfix/master.cf
    dpkg-query -W tlsrpt >/dev/null 2>&1 && apt-get purge -y -q -o DPkg::Lock::Timeout=600 tlsrpt >/dev/null 2>&1
    rm -rf "$MAIL"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

step "build the package (Release, prefix /usr)"
rm -rf "$work" && mkdir -p "$work"
cmake -S "$src" -B "$work/build" -DCMAKE_INSTALL_PREFIX=/usr -DCMAKE_BUILD_TYPE=Release >"$work/cmake.log" 2>&1 \
    && cmake --build "$work/build" -j2 >>"$work/cmake.log" 2>&1 \
    && (cd "$work/build" && cpack -G DEB) >>"$work/cmake.log" 2>&1 || { tail -30 "$work/cmake.log"; exit 1; }
deb=$(ls "$work"/build/tlsrpt_*_*.deb)
[ -f "$deb" ] && ok "built $(basename "$deb")" || { echo "no .deb"; exit 1; }
dpkg-deb -f "$deb" Depends | grep -q libsqlite3 && ok "shared library dependencies declared" \
    || fail "Depends lacks the shared libraries: $(dpkg-deb -f "$deb" Depends)"

# The trap of issue 14: a database made by root before the install.
mkdir -p /var/lib/tlsrpt
TLSRPT_DB=/var/lib/tlsrpt/tlsrpt.db "$work/build/ingest/tlsrpt-ingest" -q "$src/samples/google-like.eml" >/dev/null 2>&1

step "apt-get install ./$(basename "$deb")"
(cd "$work/build" && DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=600 \
    "./$(basename "$deb")") > "$work/apt.log" 2>&1 || { cat "$work/apt.log"; exit 1; }
grep -q "smtpd_milters = unix:tlsrpt/tlsrpt-milter.sock" "$work/apt.log" && ok "postinst printed the main.cf lines" \
    || fail "postinst did not print the main.cf lines"
getent passwd tlsrpt >/dev/null && ok "user tlsrpt" || fail "no user tlsrpt"
[ "$(stat -c %U /var/lib/tlsrpt)" = tlsrpt ] && [ "$(stat -c %U /var/lib/tlsrpt/tlsrpt.db)" = tlsrpt ] \
    && ok "/var/lib/tlsrpt and the root-made database owned by tlsrpt" || fail "/var/lib/tlsrpt: $(ls -la /var/lib/tlsrpt)"
[ "$(stat -c '%U:%G %a' /var/spool/postfix/tlsrpt)" = "tlsrpt:postfix 2750" ] && ok "socket directory in the queue directory" \
    || fail "/var/spool/postfix/tlsrpt: $(stat -c '%U:%G %a' /var/spool/postfix/tlsrpt)"
dpkg-query --showformat='${Conffiles}\n' --show tlsrpt | grep -q /etc/tlsrpt/tlsrpt-milter.conf \
    && ok "conffile /etc/tlsrpt/tlsrpt-milter.conf" || fail "the configuration is not a conffile"
[ -x /usr/sbin/tlsrpt-milter ] && [ -x /usr/bin/tlsrpt-report ] && [ -f /usr/share/man/man8/tlsrpt-milter.8* ] \
    && ok "programs and man pages" || fail "programs or man pages missing"
unit=/usr/lib/systemd/system/tlsrpt-milter.service
if command -v systemd-analyze >/dev/null; then
    out=$(systemd-analyze verify --man=no "$unit" 2>&1) && [ -z "$out" ] && ok "systemd-analyze verify: clean" \
        || fail "systemd-analyze verify: $out"
else
    echo "note: systemd-analyze not installed: the unit is not verified"
fi
grep -q '^Before=postfix@-.service postfix.service' "$unit" && grep -q '^SyslogFacility=mail' "$unit" \
    && ok "unit ordering and log facility" || fail "unit: $(grep -E '^(Before|Syslog)' "$unit")"

step "configure Debian's Postfix for deploy.test on $ADDR:25"
sed -i 's/^RuaAddress .*/RuaAddress      tlsrpt@deploy.test/' /etc/tlsrpt/tlsrpt-milter.conf
mkdir -p "$MAIL" && chown nobody:nogroup "$MAIL"
cat > /etc/postfix/main.cf <<CF
compatibility_level = 3.6
myhostname = mx.deploy.test
mydomain = deploy.test
myorigin = deploy.test
mydestination =
# Postfix wants interface addresses here and $ADDR is none (lo has
# 127.0.0.1/8): smtpd binds $ADDR in master.cf below, nothing else listens.
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_peername_lookup = no
smtp_dns_support_level = disabled
maillog_file = /var/log/postfix-tlsrpt-install-test.log
alias_maps =
alias_database =
local_recipient_maps =
virtual_mailbox_domains = deploy.test
virtual_mailbox_base = $MAIL
virtual_mailbox_maps = static:Maildir/
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
virtual_minimum_uid = 1
default_transport = discard:not for the test domain
relay_transport = discard:not for the test domain
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
# README.md's two lines:
smtpd_milters = unix:tlsrpt/tlsrpt-milter.sock
milter_default_action = tempfail
CF
cp -p /etc/postfix/master.cf "$work/master.cf.orig"
sed -i "s/^smtp      inet /$ADDR:smtp inet /" /etc/postfix/master.cf
grep -q "^$ADDR:smtp inet .* y .* smtpd" /etc/postfix/master.cf || fail "master.cf: no chrooted smtpd on $ADDR"
out=$(script -eqc "postfix check" /dev/null) && ok "postfix check" || fail "postfix check: $out"

step "start the milter as README says without systemd, then Postfix"
out=$(tlsrpt-milter -n 2>&1) && ok "tlsrpt-milter -n: $out" || fail "tlsrpt-milter -n: $out"
tlsrpt-milter || fail "tlsrpt-milter did not start"
wait_for 10 test -S /var/spool/postfix/tlsrpt/tlsrpt-milter.sock || fail "no milter socket"
pid=$(cat /run/tlsrpt-milter/tlsrpt-milter.pid 2>/dev/null)
# (stat of /proc/PID, not ps: procps is not on a minimal Debian)
[ -n "$pid" ] && [ "$(stat -c %U "/proc/$pid")" = tlsrpt ] && ok "milter $pid runs as tlsrpt" \
    || fail "milter user: $(stat -c %U "/proc/${pid:-1}" 2>&1)"
out=$(script -eqc "postfix start" /dev/null) || fail "postfix start: $out"
listens() { timeout 2 bash -c "exec 3<>/dev/tcp/$1/25" 2>/dev/null; }
wait_for 20 listens "$ADDR" && ok "Postfix listens on $ADDR:25" || fail "Postfix does not listen on $ADDR:25"
listens 127.0.0.1 && fail "Postfix listens on 127.0.0.1:25 too"

step "deliver over SMTP"
send() {  # send RCPT FILE
    swaks --server "$ADDR" --port 25 --helo sender.example --from reports@sender.example --to "$1" \
          --data "@$2" > "$work/swaks.log" 2>&1 </dev/null || { cat "$work/swaks.log"; return 1; }
}
send tlsrpt@deploy.test "$src/samples/microsoft-like.eml" && ok "report accepted" || fail "report refused"
send tlsrpt@deploy.test "$src/samples/mailru-like.eml" && ok "report accepted" || fail "report refused"
printf 'Subject: hello\r\nFrom: a@sender.example\r\nTo: bob@deploy.test\r\n\r\nordinary mail\r\n' > "$work/plain.eml"
send bob@deploy.test "$work/plain.eml" && ok "ordinary mail accepted" || fail "ordinary mail refused"
count() { sqlite3 /var/lib/tlsrpt/tlsrpt.db "SELECT count(*) FROM report WHERE source LIKE 'spool:%'" 2>/dev/null; }
wait_for 30 sh -c "[ \"\$(sqlite3 /var/lib/tlsrpt/tlsrpt.db \"SELECT count(*) FROM report WHERE source LIKE 'spool:%'\")\" -ge 2 ]" \
    && ok "2 reports stored by the milter" || { fail "reports stored: $(count)"; cat /var/log/postfix-tlsrpt-install-test.log | tail -20; }
wait_for 30 sh -c "ls $MAIL/Maildir/new/* >/dev/null 2>&1" && grep -q "ordinary mail" "$MAIL"/Maildir/new/* \
    && ok "ordinary mail delivered" || fail "ordinary mail not delivered"

step "the cron line's command, as its crontab owner"
cron=$(grep -E '^30 6 \* \* \* tlsrpt ' "$src/README.md" | head -1 | sed 's/^30 6 \* \* \* tlsrpt //')
[ -n "$cron" ] || fail "no cron line (/etc/cron.d format, user tlsrpt) in README.md"
out=$(runuser -u tlsrpt -- env -i PATH=/usr/bin:/bin HOME=/ sh -c "$cron" 2>&1) && ok "cron command: exit 0" \
    || fail "cron command '$cron': $out"
[ -z "$out" ] || fail "the cron command printed (cron would mail it): $out"

step "stop, purge"
stop_milter
[ -e /run/tlsrpt-milter/tlsrpt-milter.pid ] && fail "pid file left after the stop" || ok "pid file removed"
stop_postfix
rm -f /etc/postfix/main.cf
cp -p "$work/master.cf.orig" /etc/postfix/master.cf
apt-get purge -y -q -o DPkg::Lock::Timeout=600 tlsrpt > "$work/purge.log" 2>&1 || { cat "$work/purge.log"; fail "purge"; }
for p in /var/lib/tlsrpt /var/spool/tlsrpt /var/spool/postfix/tlsrpt /etc/tlsrpt /run/tlsrpt-milter \
         /usr/sbin/tlsrpt-milter /usr/bin/tlsrpt-report /usr/bin/tlsrpt-ingest "$unit"; do
    [ -e "$p" ] && fail "left after purge: $p"
done
getent passwd tlsrpt >/dev/null && fail "user tlsrpt left after purge"
getent group tlsrpt >/dev/null && fail "group tlsrpt left after purge"
rm -f /var/log/postfix-tlsrpt-install-test.log
echo "$fails failure(s)"
[ $fails -eq 0 ]
