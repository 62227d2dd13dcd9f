#!/usr/bin/env python3
"""imap.py - tlsrpt-ingest --imap against a private Dovecot (label imap).

Usage: imap.py TLSRPT-INGEST CASE

Each case starts its own dovecot (`dovecot -c CONF -F`, no system
configuration) in a temporary directory: IMAP on 127.0.20.1, imaps on
port 10993 and imap with STARTTLS on 10143, TLS from a test CA made by
openssl, one user from a passwd-file, mail_location a Maildir in the
temporary directory whose files the test writes directly.  Results are
checked in the database and with Python's imaplib (another IMAP client)
against what the test wrote, never against tlsrpt-ingest's own counts
alone.

Cases:
  store       300 messages (240 reports, 60 other mail, some already \\Seen):
              every report stored once, the others quarantined as
              not-a-report; a second run fetches nothing; keep leaves the
              flags as they were; imap:// with STARTTLS works too, on its
              port a state of its own (the key is USER@HOST:PORT/MAILBOX)
  upgrade     a database from before schema 013 (keys without the port):
              each key takes its messages' port (else 993), the next run
              goes on from where the old one stopped
  kill        SIGKILL after 100 reports of 240 and a rerun: each report
              stored once, none skipped, the rerun fetches exactly what was
              not committed (no duplicate)
  errors      wrong password (exit 4, "login refused"), no password, a
              password in the URL (exit 2), unknown CA (exit 4), nothing
              listening (exit 4), missing mailbox (exit 4)
  uidvalidity the Maildir's uidlist and indexes removed (a new UIDVALIDITY):
              everything fetched again, duplicates counted, nothing stored
              twice
  oversize    a 3 MiB message over --limit message-size=1M: quarantined as
              limit-message-size and not fetched whole (Dovecot's
              fetch_body bytes of the session); the other reports stored
  after       --imap-after seen (all \\Seen) and move:Done (INBOX empty,
              Done holds them), a missing folder refused before any fetch
  gone        a message deleted on the server after the listing, before its
              fetch: counted as gone, the run goes on, every other report
              stored
  samples     samples/*.eml through IMAP and as files into another
              database: the same reports (key, warnings, policies, failure
              rows) and the same quarantine reasons

Packages (tests/install-deps.sh): dovecot-imapd, dovecot-core, openssl,
python3.  Dovecot runs as root in CI (its mail processes as the user
dovecot, logins as dovenull), or as the test's own user otherwise.
"""
import base64
import fcntl
import glob
import gzip
import imaplib
import json
import os
import pwd
import re
import shutil
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import time
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from pycheck import check, exit_status  # noqa: E402

INGEST = os.path.abspath(sys.argv[1])
CASE = sys.argv[2]
HOST = "127.0.20.1"
IMAPS_PORT = 10993
IMAP_PORT = 10143
USER = "rua"
PASSWORD = "s3cret-pass"
SKIP = 77
F_SETPIPE_SZ = 1031                   # fcntl.F_SETPIPE_SZ (Python 3.10+), Linux


def note(msg):
    print("  " + msg, flush=True)


def report_json(i):
    r = {"organization-name": "IMAP Org %d" % (i % 7), "report-id": "imap-%06d" % i,
         "date-range": {"start-datetime": "2026-03-01T00:00:00Z", "end-datetime": "2026-03-01T23:59:59Z"},
         "contact-info": "tls@example.org",
         "policies": [{"policy": {"policy-type": "sts", "policy-domain": "example.net",
                                  "mx-host": ["mx.example.net"]},
                       "summary": {"total-successful-session-count": i, "total-failure-session-count": 0}}]}
    return json.dumps(r).encode()


def report_message(i, pad=0):
    """A report mail as senders write it: multipart/report, base64 gzip part."""
    body = base64.encodebytes(gzip.compress(report_json(i))).decode().replace("\n", "\r\n")
    padding = ("X-Padding: " + "p" * 70 + "\r\n") * (pad // 83)
    return ("From: tlsrpt@sender.example\r\nTo: rua@example.net\r\n"
            "Subject: Report Domain: example.net Submitter: sender.example Report-ID: <imap-%06d>\r\n"
            "Message-ID: <imap-%06d@sender.example>\r\nTLS-Report-Domain: example.net\r\n"
            "TLS-Report-Submitter: sender.example\r\nMIME-Version: 1.0\r\n%s"
            "Content-Type: multipart/report; report-type=tlsrpt; boundary=\"b%06d\"\r\n\r\n"
            "--b%06d\r\nContent-Type: text/plain\r\n\r\nA TLS report.\r\n"
            "--b%06d\r\nContent-Type: application/tlsrpt+gzip; name=\"r%06d.json.gz\"\r\n"
            "Content-Transfer-Encoding: base64\r\n"
            "Content-Disposition: attachment; filename=\"r%06d.json.gz\"\r\n\r\n%s\r\n--b%06d--\r\n"
            % (i, i, padding, i, i, i, i, i, body, i)).encode()


def other_message(i, size=0):
    text = "Hello %d, this is not a report.\r\n" % i
    text += ("%-78s\r\n" % ("line of filler %d" % i)) * (size // 80)
    return ("From: someone@elsewhere.example\r\nTo: rua@example.net\r\nSubject: other mail %d\r\n"
            "Message-ID: <other-%d@elsewhere.example>\r\n\r\n%s" % (i, i, text)).encode()


class Dovecot:
    """A private dovecot in tmp with one user whose Maildir the test fills."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.conf = os.path.join(tmp, "dovecot.conf")
        self.log = os.path.join(tmp, "dovecot.log")
        self.home = os.path.join(tmp, "home", USER)
        self.maildir = os.path.join(self.home, "Maildir")
        self.ca = os.path.join(tmp, "ca.pem")
        self.proc = None
        if os.geteuid() == 0:
            self.mail_user, self.login_user = "dovecot", "dovenull"
        else:
            self.mail_user = self.login_user = pwd.getpwuid(os.geteuid()).pw_name
        self.uid = pwd.getpwnam(self.mail_user).pw_uid
        self.gid = pwd.getpwnam(self.mail_user).pw_gid
        self.seq = 0

    def make_ca(self):
        ca_key, key, csr, crt = (os.path.join(self.tmp, n) for n in ("ca.key", "srv.key", "srv.csr", "srv.pem"))
        ext = os.path.join(self.tmp, "ext.cnf")
        with open(ext, "w") as f:
            f.write("subjectAltName=IP:%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n" % HOST)

        def ossl(*a):
            p = subprocess.run(["openssl"] + list(a), capture_output=True, text=True, timeout=30)
            check(p.returncode == 0, "openssl %s: %s" % (a[0], p.stderr[-300:]))
        ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", self.ca, "-days", "2",
             "-subj", "/CN=tlsrpt imap test CA")
        ossl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=%s" % HOST)
        ossl("x509", "-req", "-in", csr, "-CA", self.ca, "-CAkey", ca_key, "-CAcreateserial", "-out", crt,
             "-days", "2", "-extfile", ext)
        return crt, key

    def start(self):
        crt, key = self.make_ca()
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(self.maildir, sub), exist_ok=True)
        with open(os.path.join(self.tmp, "passwd"), "w") as f:
            f.write("%s:{PLAIN}%s\n" % (USER, PASSWORD))
        os.chmod(self.tmp, 0o755)
        dh = "/usr/share/dovecot/dh.pem"
        lines = [
            "base_dir = %s/run" % self.tmp, "state_dir = %s/state" % self.tmp,
            "log_path = " + self.log, "protocols = imap", "listen = " + HOST,
            "ssl = required", "ssl_cert = <" + crt, "ssl_key = <" + key,
            "default_internal_user = " + self.mail_user, "default_login_user = " + self.login_user,
            "first_valid_uid = 1", "auth_mechanisms = plain login",
            "passdb {\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%%u %s/passwd\n}" % self.tmp,
            "userdb {\n  driver = static\n  args = uid=%d gid=%d home=%s/home/%%u\n}" % (self.uid, self.gid, self.tmp),
            "mail_location = maildir:~/Maildir",
            # The session's FETCH body count and bytes, for the oversize case.
            "imap_logout_format = in=%i out=%o fetch_body=%{fetch_body_count}/%{fetch_body_bytes}",
            "service imap-login {\n  chroot =\n  inet_listener imap {\n    port = %d\n  }\n"
            "  inet_listener imaps {\n    port = %d\n    ssl = yes\n  }\n}" % (IMAP_PORT, IMAPS_PORT),
            "service anvil {\n  chroot =\n}",
        ]
        if os.path.exists(dh):
            lines.append("ssl_dh = <" + dh)
        if os.geteuid() != 0:
            lines.append("service imap-login {\n  user = %s\n}" % self.login_user)
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.chown()
        self.logf = open(os.path.join(self.tmp, "dovecot.out"), "ab")
        self.proc = subprocess.Popen(["dovecot", "-c", self.conf, "-F"], stdout=self.logf, stderr=self.logf)
        deadline = time.time() + 15
        while time.time() < deadline:
            try:
                socket.create_connection((HOST, IMAPS_PORT), timeout=1).close()
                return True
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.05)
        note("dovecot did not start:\n" + open(os.path.join(self.tmp, "dovecot.out"), errors="replace").read()
             + (open(self.log, errors="replace").read() if os.path.exists(self.log) else ""))
        return False

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.logf.close()
        self.proc = None

    def chown(self):
        for root, dirs, files in os.walk(os.path.join(self.tmp, "home")):
            for n in dirs + files:
                os.chown(os.path.join(root, n), self.uid, self.gid)
        os.chown(os.path.join(self.tmp, "home"), self.uid, self.gid)

    def deliver(self, data, seen=False, folder=None):
        """Writes one message into the Maildir (cur/ with flags when seen)."""
        self.seq += 1
        base = self.maildir if folder is None else os.path.join(self.maildir, "." + folder)
        name = "%d.M%dP1.test" % (1700000000 + self.seq, self.seq)
        path = os.path.join(base, "cur", name + ":2,S") if seen else os.path.join(base, "new", name)
        with open(path, "wb") as f:
            f.write(data)
        os.chown(path, self.uid, self.gid)

    def client(self):
        ctx = ssl.create_default_context(cafile=self.ca)
        m = imaplib.IMAP4_SSL(HOST, IMAPS_PORT, ssl_context=ctx, timeout=20)
        m.login(USER, PASSWORD)
        return m

    def sessions(self):
        """fetch_body=COUNT/BYTES of every logged-out session, in order."""
        with open(self.log, errors="replace") as f:
            return [(int(a), int(b)) for a, b in re.findall(r"fetch_body=(\d+)/(\d+)", f.read())]


def flags(dv, mailbox="INBOX"):
    """{UID: set of flags} by Python's imaplib, for mailbox."""
    m = dv.client()
    out = {}
    try:
        typ, _ = m.select('"%s"' % mailbox, readonly=True)
        if typ != "OK":
            return None
        typ, data = m.uid("FETCH", "1:*", "(UID FLAGS)")
        for line in data:
            if not line:
                continue
            s = line.decode() if isinstance(line, bytes) else line[0].decode()
            u = re.search(r"UID (\d+)", s)
            f = re.search(r"FLAGS \(([^)]*)\)", s)
            if u and f:
                # \Recent belongs to the session that saw a message first.
                out[int(u.group(1))] = set(f.group(1).split()) - {"\\Recent"}
    finally:
        m.logout()
    return out


class Run:
    def __init__(self, tmp, dv):
        self.db = os.path.join(tmp, "tlsrpt.db")
        self.pw = os.path.join(tmp, "imap-password")
        with open(self.pw, "w") as f:
            f.write(PASSWORD + "\n")
        os.chmod(self.pw, 0o600)
        self.dv = dv

    def url(self, scheme="imaps", port=IMAPS_PORT, mailbox="INBOX"):
        return "%s://%s@%s:%d/%s" % (scheme, USER, HOST, port, mailbox)

    def args(self, *extra, url=None, pw=True, ca=True):
        a = [INGEST, "--db", self.db, "--json", "--imap", url or self.url()]
        if pw:
            a += ["--imap-password-file", self.pw]
        if ca:
            a += ["--ca-file", self.dv.ca]
        return a + list(extra)

    def __call__(self, *extra, env=None, **kw):
        p = subprocess.run(self.args(*extra, **kw), capture_output=True, text=True, timeout=60, env=env)
        counts = None
        for line in p.stdout.splitlines():
            if line.startswith("{"):
                counts = json.loads(line)
        return p.returncode, counts, p.stderr

    def rows(self, sql, *args):
        con = sqlite3.connect(self.db)
        try:
            return con.execute(sql, args).fetchall()
        finally:
            con.close()

    def report_ids(self):
        return [r[0] for r in self.rows("SELECT report_id FROM report ORDER BY report_id")]


def fill(dv, n_reports, n_other, seen_every=0):
    """Reports imap-000001.. and other mail, interleaved; returns the report ids."""
    ids = []
    total = n_reports + n_other
    r = o = 0
    for k in range(total):
        if o < n_other and (k % 5 == 4 or r >= n_reports):
            o += 1
            dv.deliver(other_message(o), seen=bool(seen_every) and k % seen_every == 0)
        else:
            r += 1
            ids.append("imap-%06d" % r)
            dv.deliver(report_message(r), seen=bool(seen_every) and k % seen_every == 0)
    return ids


def case_store(tmp, dv, run):
    ids = fill(dv, 240, 60, seen_every=7)
    before = flags(dv)
    check(len(before) == 300, "imaplib sees the 300 messages written: %d" % len(before))
    rc, c, err = run()
    check(rc == 1, "first run: exit 1 (the other mail is quarantined): %d %s" % (rc, err))
    check(c and c["messages"] == 300 and c["stored"] == 240 and c["duplicates"] == 0 and c["quarantined"] == 60,
          "first run counts: %s" % c)
    check(run.report_ids() == ids, "every report stored once: %d rows for %d reports" % (len(run.report_ids()), len(ids)))
    q = run.rows("SELECT reason, count(*) FROM quarantine GROUP BY reason")
    check(q == [("not-a-report", 60)], "the 60 other mails quarantined as not-a-report: %s" % q)
    src = run.rows("SELECT source FROM report WHERE report_id = 'imap-000001'")
    check(src and re.match(r"imaps://rua@127\.0\.20\.1:10993/INBOX;UIDVALIDITY=\d+;UID=\d+$",
                           src[0][0]), "provenance names the message by its IMAP URL: %s" % src)
    state = run.rows("SELECT mailbox, last_uid FROM imap_state")
    check(state == [("%s@%s:%d/INBOX" % (USER, HOST, IMAPS_PORT), max(before))],
          "state: the last UID %d under USER@HOST:PORT/INBOX: %s" % (max(before), state))
    after = flags(dv)
    check(after == before, "keep: every message's flags as they were (%d seen before, %d after)"
          % (sum("\\Seen" in f for f in before.values()), sum("\\Seen" in f for f in after.values())))
    rc, c, err = run()
    check(rc == 0 and c["messages"] == 0 and c["stored"] == 0, "second run fetches nothing: %d %s %s" % (rc, c, err))
    for i in range(241, 246):
        dv.deliver(report_message(i))
    last = max(flags(dv))
    # Another port is another server as far as the state knows: imap://
    # with STARTTLS on IMAP_PORT starts from the first message.
    rc, c, err = run(url=run.url("imap", IMAP_PORT))
    check(rc == 1 and c["messages"] == 305 and c["stored"] == 5 and c["duplicates"] == 240
          and c["quarantined"] == 60,
          "imap:// with STARTTLS on port %d (a state of its own): all 305, the 5 new stored: %d %s %s"
          % (IMAP_PORT, rc, c, err))
    sess = dv.sessions()
    check(len(sess) >= 5 and sess[-1][0] == 305, "dovecot: that session fetched 305 bodies: %s" % sess[-3:])
    state = run.rows("SELECT mailbox, last_uid FROM imap_state ORDER BY last_uid, mailbox")
    check(state == [("%s@%s:%d/INBOX" % (USER, HOST, IMAPS_PORT), max(before)),
                    ("%s@%s:%d/INBOX" % (USER, HOST, IMAP_PORT), last)],
          "state: one row a port, %d and %d: %s" % (max(before), last, state))
    rc, c, err = run()
    check(rc == 0 and c["messages"] == 5 and c["stored"] == 0 and c["duplicates"] == 5,
          "imaps:// on port %d goes on from its own state: the 5 new only: %d %s %s" % (IMAPS_PORT, rc, c, err))


def case_kill(tmp, dv, run):
    ids = fill(dv, 240, 60)
    # -v lines unbuffered (stdbuf) so the test sees each stored report.
    # A one-page pipe: the writer (its stdio buffer of 4 KiB, then the
    # pipe's 4 KiB) cannot run more than ~60 lines ahead of this reader, so
    # the kill falls mid-run however fast the machine is.
    rfd, wfd = os.pipe()
    fcntl.fcntl(wfd, F_SETPIPE_SZ, 4096)
    errf = open(os.path.join(tmp, "kill.stderr"), "wb")
    p = subprocess.Popen(run.args("-v"), stdout=wfd, stderr=errf)
    os.close(wfd)
    out = os.fdopen(rfd, "r")
    seen = 0
    deadline = time.time() + 40
    while seen < 100 and time.time() < deadline:
        line = out.readline()
        if not line:
            break
        seen += line.startswith("stored")
    p.send_signal(signal.SIGKILL)
    p.wait()
    out.close()
    errf.close()
    check(seen >= 100, "the first run printed 100 stored reports before the kill: %d %s"
          % (seen, open(os.path.join(tmp, "kill.stderr"), errors="replace").read()[-500:]))
    committed = len(run.report_ids())
    last = run.rows("SELECT last_uid FROM imap_state")
    note("killed after %d stored lines: %d reports committed, state %s" % (seen, committed, last))
    check(0 < committed < 240, "the kill fell mid-run: %d of 240 committed" % committed)
    rc, c, err = run()
    check(rc == 1 and c is not None, "rerun: exit 1 (other mail quarantined): %d %s" % (rc, err))
    check(c["stored"] == 240 - committed and c["duplicates"] == 0,
          "rerun stores exactly the %d not committed, no duplicate: %s" % (240 - committed, c))
    got = run.report_ids()
    check(got == ids, "each report stored once, none skipped: %d rows, %d distinct, %d expected"
          % (len(got), len(set(got)), len(ids)))
    q = run.rows("SELECT count(*), sum(times_seen) FROM quarantine")
    check(q == [(60, 60)], "each other mail quarantined once: %s" % q)
    rc, c, err = run()
    check(rc == 0 and c["messages"] == 0, "a third run fetches nothing: %s" % c)


def case_errors(tmp, dv, run):
    fill(dv, 3, 1)
    bad = os.path.join(tmp, "wrong")
    with open(bad, "w") as f:
        f.write("not-the-password\n")
    rc, c, err = run("--imap-password-file", bad, pw=False)
    check(rc == 4 and "login refused" in err, "wrong password: exit 4, said clearly: %d %s" % (rc, err))
    check(run.rows("SELECT count(*) FROM report") == [(0,)], "nothing stored with a wrong password")
    env = dict(os.environ)
    env.pop("TLSRPT_IMAP_PASSWORD", None)
    rc, c, err = run(pw=False, env=env)
    check(rc == 2 and "password" in err, "no password: exit 2: %d %s" % (rc, err))
    rc, c, err = run(url="imaps://%s:%s@%s:%d/INBOX" % (USER, PASSWORD, HOST, IMAPS_PORT), pw=False, env=env)
    check(rc == 2 and "no password in the URL" in err, "a password in the URL refused: %d %s" % (rc, err))
    rc, c, err = run(url="http://%s/" % HOST)
    check(rc == 2, "another scheme refused: %d %s" % (rc, err))
    rc, c, err = run("--imap-after", "move:" + "F" * 1001)
    check(rc == 2 and "over 1000 bytes" in err, "a folder name over IMAP_MAILBOX_MAX refused: %d %s" % (rc, err))
    rc, c, err = run(url=run.url(mailbox="Foo%00bar"))
    check(rc == 2 and "does not decode" in err, "a mailbox with %%00 refused, not taken as INBOX: %d %s" % (rc, err))
    rc, c, err = run(url=run.url(mailbox="M" * 1001))
    check(rc == 2 and "over 1000 bytes" in err, "a mailbox name over IMAP_MAILBOX_MAX refused: %d %s" % (rc, err))
    rc, c, err = run(ca=False)
    check(rc == 4 and "certificate" in err.lower(), "unknown CA: exit 4, certificate named: %d %s" % (rc, err))
    rc, c, err = run(url=run.url(port=10999))
    check(rc == 4 and "connect" in err.lower(), "nothing listening: exit 4: %d %s" % (rc, err))
    rc, c, err = run(url=run.url(mailbox="NoSuchBox"))
    check(rc == 4 and "NoSuchBox" in err, "missing mailbox: exit 4, named: %d %s" % (rc, err))
    env["TLSRPT_IMAP_PASSWORD"] = PASSWORD
    rc, c, err = run(pw=False, env=env)
    check(rc == 1 and c["stored"] == 3 and c["quarantined"] == 1,
          "the password from $TLSRPT_IMAP_PASSWORD: %d %s %s" % (rc, c, err))


def uidvalidity(dv):
    m = dv.client()
    try:
        typ, data = m.status("INBOX", "(UIDVALIDITY)")
        return int(re.search(rb"UIDVALIDITY (\d+)", data[0]).group(1))
    finally:
        m.logout()


def case_uidvalidity(tmp, dv, run):
    ids = fill(dv, 40, 10)
    rc, c, err = run()
    check(rc == 1 and c["stored"] == 40, "first run: %d %s" % (rc, c))
    v1 = uidvalidity(dv)
    time.sleep(1.1)                   # a new uidlist takes the time as UIDVALIDITY
    for n in os.listdir(dv.maildir):
        if n.startswith("dovecot"):
            os.unlink(os.path.join(dv.maildir, n))
    v2 = uidvalidity(dv)
    check(v2 != v1, "the mailbox has a new UIDVALIDITY: %d -> %d" % (v1, v2))
    rc, c, err = run()
    check("UIDVALIDITY changed" in err, "the change is said: %s" % err)
    check(c and c["messages"] == 50 and c["stored"] == 0 and c["duplicates"] == 40,
          "everything fetched again, the 40 reports counted as duplicates: %s" % c)
    check(run.report_ids() == ids, "nothing stored twice: %d rows" % len(run.report_ids()))
    q = run.rows("SELECT count(*), sum(times_seen) FROM quarantine")
    check(q == [(10, 20)], "the other mail counted again, not stored twice: %s" % q)
    state = run.rows("SELECT uidvalidity FROM imap_state")
    check(state == [(v2,)], "the state holds the new UIDVALIDITY: %s" % state)


SCHEMA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "schema")


def case_upgrade(tmp, dv, run):
    """A database from before 013 (state keyed USER@HOST/MAILBOX): its key
    takes the port of the messages fetched under it, and the next run goes
    on from where it stopped."""
    for i in range(1, 6):
        dv.deliver(other_message(i))
    v = uidvalidity(dv)
    old = sorted(f for f in glob.glob(os.path.join(SCHEMA, "[0-9][0-9][0-9]-*.sql"))
                 if int(os.path.basename(f)[:3]) < 13)
    con = sqlite3.connect(run.db)
    for f in old:
        con.executescript(open(f).read())
    con.execute("PRAGMA user_version = %d" % len(old))
    # What a run before 013 left: UIDs 1-5 quarantined (not-a-report),
    # fetched with imap:// on IMAP_PORT; the key without the port.
    for uid in range(1, 6):
        con.execute("INSERT INTO quarantine (first_seen, last_seen, source, reason, message, digest, raw_z,"
                    " raw_size) VALUES (?, ?, ?, 'not-a-report', 'old run', ?, ?, 1)",
                    (1790000000 + uid, 1790000000 + uid, "imap://%s@%s:%d/INBOX;UIDVALIDITY=%d;UID=%d"
                     % (USER, HOST, IMAP_PORT, v, uid), "old-%d" % uid, zlib.compress(b"x")))
    # A later entry from another port under an older UIDVALIDITY: not this state's.
    con.execute("INSERT INTO quarantine (first_seen, last_seen, source, reason, message, digest, raw_z, raw_size)"
                " VALUES (1795000000, 1795000000, ?, 'not-a-report', 'older', 'old-x', ?, 1)",
                ("imaps://%s@%s:20993/INBOX;UIDVALIDITY=%d;UID=9" % (USER, HOST, v - 1), zlib.compress(b"x")))
    con.executemany("INSERT INTO imap_state (mailbox, uidvalidity, last_uid, updated) VALUES (?, ?, ?, 0)",
                    [("%s@%s/INBOX" % (USER, HOST), v, 5), ("%s@%s/Other/Box" % (USER, HOST), 7, 3),
                     ("a@b@%s/INBOX" % HOST, 7, 3)])
    con.commit()
    con.close()
    ids = ["imap-%06d" % i for i in range(1, 11)]
    for i in range(1, 11):
        dv.deliver(report_message(i))
    rc, c, err = run(url=run.url("imap", IMAP_PORT))
    check(rc == 0 and c and c["messages"] == 10 and c["stored"] == 10 and c["quarantined"] == 0,
          "after the upgrade the run goes on after UID 5: the 10 reports only: %d %s %s" % (rc, c, err))
    check(run.report_ids() == ids, "the 10 reports stored: %s" % run.report_ids())
    state = sorted(run.rows("SELECT mailbox, uidvalidity, last_uid FROM imap_state"))
    want = sorted([("%s@%s:%d/INBOX" % (USER, HOST, IMAP_PORT), v, 15),
                   ("%s@%s:993/Other/Box" % (USER, HOST), 7, 3), ("a@b@%s:993/INBOX" % HOST, 7, 3)])
    check(state == want, "keys with their port (the messages' one, else 993): %s" % state)
    q = run.rows("SELECT count(*) FROM quarantine WHERE message = 'old run'")
    check(q == [(5,)], "the old entries untouched: %s" % q)


def case_oversize(tmp, dv, run):
    dv.deliver(report_message(1))
    big = report_message(2, pad=3 << 20)
    dv.deliver(big)
    dv.deliver(report_message(3))
    rc, c, err = run("--limit", "message-size=1M")
    check(rc == 1 and c["stored"] == 2 and c["quarantined"] == 1 and c["oversize"] == 1,
          "two reports stored, the big message quarantined: %d %s %s" % (rc, c, err))
    q = run.rows("SELECT reason, raw_size, raw_truncated, length(raw_z) FROM quarantine")
    check(len(q) == 1 and q[0][0] == "limit-message-size" and q[0][1] == len(big) and q[0][2] == 1,
          "reason limit-message-size, the message's real size %d, marked truncated: %s" % (len(big), q))
    sess = dv.sessions()
    check(len(sess) == 1 and sess[0][0] == 3 and sess[0][1] < (1 << 20),
          "dovecot sent under 1 MiB of bodies in 3 fetches (not the %d bytes): %s" % (len(big), sess))
    small = len(report_message(1)) + len(report_message(3))
    check(sess and sess[0][1] <= small + (64 << 10), "the big one's first 64 KiB only: %s" % sess)


def case_after(tmp, dv, run):
    fill(dv, 20, 5)
    rc, c, err = run("--imap-after", "move:Done")
    check(rc == 4 and "Done" in err and c["messages"] == 0, "move to a missing folder: exit 4 before any fetch: %d %s"
          % (rc, err))
    rc, c, err = run("--imap-after", "seen")
    check(rc == 1 and c["messages"] == 25, "seen: 25 messages: %d %s" % (rc, c))
    f = flags(dv)
    check(len(f) == 25 and all("\\Seen" in v for v in f.values()), "seen: every message \\Seen: %s"
          % sorted(u for u, v in f.items() if "\\Seen" not in v))
    m = dv.client()
    m.create("Done")
    m.logout()
    for i in range(21, 31):
        dv.deliver(report_message(i))
    rc, c, err = run("--imap-after", "move:Done")
    check(rc == 0 and c["messages"] == 10 and c["stored"] == 10, "move: the 10 new ones: %d %s %s" % (rc, c, err))
    inbox, done = flags(dv), flags(dv, "Done")
    check(inbox == {}, "move: INBOX is empty (the 25 processed by the seen run moved too): %s" % sorted(inbox))
    check(done is not None and len(done) == 35, "move: Done holds the 35: %d" % len(done or {}))
    check(len(run.report_ids()) == 30, "30 reports stored once: %d" % len(run.report_ids()))


def case_gone(tmp, dv, run):
    ids = fill(dv, 96, 24)
    last = max(flags(dv))
    rfd, wfd = os.pipe()
    fcntl.fcntl(wfd, F_SETPIPE_SZ, 4096)
    p = subprocess.Popen(run.args("-v"), stdout=wfd, stderr=subprocess.PIPE)
    os.close(wfd)
    out = os.fdopen(rfd, "r")
    first = out.readline()            # the listing is done before the first fetch
    # The writer is at most ~60 lines ahead: the last message is not
    # fetched yet.  Delete it as a mail client would, under the server.
    files = sorted(glob.glob(os.path.join(dv.maildir, "cur", "*")), key=lambda f: int(os.path.basename(f).split(".")[0]))
    os.unlink(files[-1])
    rest = out.read()
    out.close()
    err = p.stderr.read().decode(errors="replace")
    p.wait()
    counts = json.loads([l for l in (first + rest).splitlines() if l.startswith("{")][-1])
    check(p.returncode == 1 and counts["gone"] == 1 and counts["messages"] == 119,
          "the deleted message counted as gone, the others fetched: %d %s %s" % (p.returncode, counts, err))
    # fill() puts other mail at every fifth place: the last (120th) is one.
    check(run.report_ids() == ids, "every report stored: %d of %d" % (len(run.report_ids()), len(ids)))
    q = run.rows("SELECT count(*) FROM quarantine")
    check(q == [(23,)], "the other 23 mails quarantined, not the gone one: %s" % q)
    check(run.rows("SELECT last_uid FROM imap_state") == [(last,)], "the state past the gone UID %d" % last)


SAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "samples")
# Not raw_json_z: IMAP hands a message over with CRLF line ends (RFC 5322)
# where the Maildir file has LF, so a report sent as the message's text
# body (raw-json.eml) keeps other line ends as sent.
REPORT_ROWS = ("SELECT r.org_name, r.report_id, r.start_time, r.end_time, r.warnings,"
               " (SELECT group_concat(p.policy_type || '/' || p.policy_domain || '/' || p.successful_sessions"
               "  || '/' || p.failed_sessions, ',') FROM policy p WHERE p.report = r.id),"
               " (SELECT count(*) FROM failure f JOIN policy p ON f.policy = p.id WHERE p.report = r.id)"
               " FROM report r ORDER BY r.org_name, r.report_id")


def case_samples(tmp, dv, run):
    emls = sorted(os.path.join(SAMPLES, n) for n in os.listdir(SAMPLES) if n.endswith(".eml"))
    for path in emls:
        with open(path, "rb") as f:
            dv.deliver(f.read())
    files_db = os.path.join(tmp, "files.db")
    p = subprocess.run([INGEST, "--db", files_db, "--json"] + emls, capture_output=True, text=True, timeout=60)
    want = json.loads(p.stdout.splitlines()[-1])
    rc, c, err = run()
    check(c and c["messages"] == len(emls) and c["stored"] == want["stored"] and
          c["quarantined"] == want["quarantined"] and rc == p.returncode,
          "%d samples over IMAP count as from files: %s vs %s (exit %d vs %d)" % (len(emls), c, want, rc, p.returncode))
    con = sqlite3.connect(files_db)
    try:
        rows = con.execute(REPORT_ROWS).fetchall()
        reasons = con.execute("SELECT reason FROM quarantine ORDER BY reason").fetchall()
    except sqlite3.Error as e:
        rows, reasons = str(e), None
    finally:
        con.close()
    got = run.rows(REPORT_ROWS)
    check(got == rows and len(rows) == want["stored"],
          "the same %d reports, warnings, policies and failure rows: %s"
          % (len(rows), [r[:2] for r in got] if got != rows else "equal"))
    check(run.rows("SELECT reason FROM quarantine ORDER BY reason") == reasons,
          "the same quarantine reasons: %s" % reasons)


def main():
    if shutil.which("dovecot") is None or shutil.which("openssl") is None:
        print("dovecot or openssl missing (tests/install-deps.sh)")
        return SKIP
    tmp = tempfile.mkdtemp(prefix="tlsrpt-imap-")
    dv = Dovecot(tmp)
    try:
        if not check(dv.start(), "dovecot starts"):
            return 1
        run = Run(tmp, dv)
        {"store": case_store, "kill": case_kill, "errors": case_errors, "uidvalidity": case_uidvalidity,
         "oversize": case_oversize, "after": case_after, "samples": case_samples,
         "gone": case_gone, "upgrade": case_upgrade}[CASE](tmp, dv, run)
    finally:
        dv.stop()
        if exit_status() == 0:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            note("kept " + tmp)
    return exit_status()


if __name__ == "__main__":
    sys.exit(main())
