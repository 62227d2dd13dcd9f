#!/bin/sh
# Installs everything tlsrpt needs to build and to run its whole test suite
# on Debian 12, as root.  Safe to run again.  Used by README's commands and
# by .ci/run; nothing else is installed by hand.
#   tests/install-deps.sh          build + test dependencies
#   tests/install-deps.sh --build  build dependencies only
set -eu
export DEBIAN_FRONTEND=noninteractive

build_pkgs="build-essential cmake pkg-config libmilter-dev zlib1g-dev libjansson-dev
  libsqlite3-dev libgmime-3.0-dev libidn2-dev
  libunbound-dev libcurl4-openssl-dev libssl-dev"
# cpack -G DEB finds the binaries with file(1) for dpkg-shlibdeps.
build_pkgs="$build_pkgs file"
# tlsrpt-httpd (libmicrohttpd with GnuTLS).
build_pkgs="$build_pkgs libmicrohttpd-dev"
# Test-only: a real Postfix and SMTP client for the milter tests, miltertest
# for callback tests, sqlite3 and python3 for checking results, chromium to
# render the summary email, valgrind for the leak test.
test_pkgs="postfix swaks miltertest sqlite3 python3 chromium ca-certificates valgrind"
# tlsrpt-report check's tests: an authoritative DNS server, an HTTPS server,
# openssl to make their test CA and certificates.
test_pkgs="$test_pkgs unbound nginx-light openssl"
# tlsrpt-httpd's tests: curl as a client (openssl above).
test_pkgs="$test_pkgs curl"
# tlsrpt-report metrics' test: promtool.
test_pkgs="$test_pkgs prometheus"
# tlsrpt-ingest --imap's tests: a private Dovecot (IMAP over TLS).
test_pkgs="$test_pkgs dovecot-imapd dovecot-core"
# tlsrpt-report html's test: an HTML5 parser that reports parse errors.
test_pkgs="$test_pkgs python3-html5lib"

pkgs=$build_pkgs
[ "${1:-}" = "--build" ] || pkgs="$build_pkgs $test_pkgs"

if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps.sh: run as root (apt-get)" >&2
    exit 1
fi
# "No configuration" creates no /etc/postfix/main.cf, so the system Postfix
# never starts on port 25; the tests run private instances on 127.0.0.1.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
missing=$(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' $pkgs 2>/dev/null | awk '$1 != "ii" {print $2}'; \
          for p in $pkgs; do dpkg-query -W "$p" >/dev/null 2>&1 || echo "$p"; done)
if [ -n "$missing" ]; then
    apt-get update -q -o DPkg::Lock::Timeout=600
    apt-get install -y -q -o DPkg::Lock::Timeout=600 --no-install-recommends $pkgs </dev/null
fi
