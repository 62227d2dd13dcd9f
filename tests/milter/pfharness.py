"""pfharness.py - a private Postfix on 127.0.0.1 with tlsrpt-milter in front.

Follows the project's POSTFIX-TESTING.md recipe: an absolute root under a
temporary directory, free ports, chroot off, no syslog (maillog_file), a
unix-socket milter in a `chgrp postfix; chmod 2750` directory, delivery by
virtual(8) into one Maildir per user under ROOT/mail.  The milter runs as
`nobody`; its spool and database live under ROOT/state.

Never touches the system Postfix (its own config directory, queue and
ports) or port 25.  Everything started is stopped by Harness.close(),
which the scenarios call from `finally`, with SIGKILL as the fallback.
Python standard library only.
"""

import json
import os
import pwd
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import time

RUA = "tlsrpt@example.test"
DOMAIN = "example.test"
USERS = ("tlsrpt", "alice", "bob")
MILTER_USER = "nobody"
# The interpreter for helpers run as nobody: the system one (a per-user
# install such as pyenv under /root is not reachable by nobody).
PY_SYSTEM = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else sys.executable

MASTER_CF = """\
127.0.0.1:{port} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""

MAIN_CF = """\
compatibility_level = 3.6
queue_directory = {root}/spool
data_directory = {root}/data
maillog_file = {root}/maillog
maillog_file_prefixes = {root}
myhostname = mx.example.test
mydomain = example.test
myorigin = example.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_peername_lookup = no
smtp_dns_support_level = disabled
alias_maps =
alias_database =
local_recipient_maps =
recipient_delimiter = +
virtual_mailbox_domains = example.test
virtual_mailbox_base = {root}/mail
virtual_mailbox_maps = inline:{{ {mailboxes} }}
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
virtual_minimum_uid = 1
default_transport = discard:not for test domain
relay_transport = discard:not for test domain
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_milters = {milters}
non_smtpd_milters =
milter_default_action = tempfail
milter_protocol = 6
smtpd_error_sleep_time = 0
smtpd_client_connection_rate_limit = 0
smtpd_client_connection_count_limit = 0
message_size_limit = 20480000
# Discarded messages return no flow-control token to cleanup: without
# this, a burst of discarded reports is paced at one per second.
in_flow_delay = 0
"""


class Fail(Exception):
    """A check did not hold."""


def check(cond, what):
    if not cond:
        raise Fail(what)


def log(msg):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(cond, timeout, what, step=0.1):
    """Polls cond() until true; raises Fail after timeout seconds."""
    end = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > end:
            raise Fail("timed out after %ss waiting for %s" % (timeout, what))
        time.sleep(step)


def pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


class Harness:
    """One private Postfix + one tlsrpt-milter.  Use as a context manager."""

    def __init__(self, milter_bin, milter_conf=(), use_milter=True):
        self.milter_bin = os.path.abspath(milter_bin)
        self.extra_conf = list(milter_conf)
        self.use_milter = use_milter
        # Not $TMPDIR: the milter's user and Postfix must reach it.
        self.root = tempfile.mkdtemp(prefix="tlsrpt-e2e.", dir=os.environ.get("TLSRPT_E2E_TMPDIR", "/tmp"))
        os.chmod(self.root, 0o755)
        self.port = free_port()
        self.milter = None
        self.milter_exits = []      # exit status of each milter run, for close()
        self.milter_kills = 0       # runs ended by kill_milter() (not in milter_exits)
        self.milter_preexec = None  # called in the milter's child before exec (limits)
        self.milter_log = os.path.join(self.root, "milter.log")
        self.postfix_started = False
        nobody = pwd.getpwnam(MILTER_USER)
        self.nobody_uid, self.nobody_gid = nobody.pw_uid, nobody.pw_gid
        pf = pwd.getpwnam("postfix")
        for d in ("etc", "spool", "data", "mail", "milter", "state"):
            os.mkdir(os.path.join(self.root, d), 0o755)
        os.chown(os.path.join(self.root, "data"), pf.pw_uid, pf.pw_gid)
        # The log, created for the mail owner: postsuper (run by `postfix
        # start` and `reload`) writes its warnings itself as that user while
        # postlogd is down, e.g. about a queue file a stop interrupted; a
        # log only root may write makes that fatal, and Postfix not start.
        with open(os.path.join(self.root, "maillog"), "a"):
            pass
        os.chown(os.path.join(self.root, "maillog"), pf.pw_uid, pf.pw_gid)
        os.chown(os.path.join(self.root, "mail"), 65534, 65534)
        mdir = os.path.join(self.root, "milter")
        os.chown(mdir, 0, pf.pw_gid)
        os.chmod(mdir, 0o2750)
        self.sock = os.path.join(mdir, "milter.sock")
        self.spool = os.path.join(self.root, "state", "spool")
        self.db = os.path.join(self.root, "state", "db", "tlsrpt.db")
        self.conf = os.path.join(self.root, "milter.conf")
        self.write_milter_conf()
        mailboxes = ", ".join("%s@%s=%s/Maildir/" % (u, DOMAIN, u) for u in USERS)
        with open(os.path.join(self.root, "etc", "main.cf"), "w") as f:
            f.write(MAIN_CF.format(root=self.root, mailboxes=mailboxes,
                                   milters=("unix:" + self.sock) if use_milter else ""))
        with open(os.path.join(self.root, "etc", "master.cf"), "w") as f:
            f.write(MASTER_CF.format(port=self.port))

    # -- configuration --------------------------------------------------
    # Defaults an extra line with the same key replaces (a key set twice is
    # an error in the milter's configuration; lists such as RuaAddress add).
    # SpoolDir and Database: only for tests/bench/run, whose checks do not
    # read self.spool or self.db.
    OVERRIDABLE = ("LogLevel", "DrainInterval", "DrainRetryMax", "ShutdownTimeout", "SpoolDir", "Database")

    def write_milter_conf(self, extra=None):
        extra_lines = self.extra_conf + list(extra or [])
        keys = {ln.split()[0] for ln in extra_lines if ln.split()}
        lines = [
            "Socket unix:" + self.sock,
            "RuaAddress " + RUA,
            "SpoolDir " + self.spool,
            "Database " + self.db,
            "UserID " + MILTER_USER,
            "LogLevel info",
            "DrainInterval 5",
            "DrainRetryMax 2",
            "ShutdownTimeout 10",
        ]
        lines = [ln for ln in lines if not (ln.split()[0] in self.OVERRIDABLE and ln.split()[0] in keys)]
        lines += extra_lines
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")

    # -- processes --------------------------------------------------------
    def start_milter(self):
        check(self.milter is None, "milter already running")
        logf = open(self.milter_log, "ab")
        self.milter = subprocess.Popen([self.milter_bin, "-f", "-c", self.conf],
                                       stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
                                       preexec_fn=self.milter_preexec)
        logf.close()
        wait_for(lambda: os.path.exists(self.sock) or self.milter.poll() is not None, 10, "milter socket")
        check(self.milter.poll() is None, "milter exited at start:\n" + self.read_milter_log())
        # libmilter accepts connections once smfi_main() runs: wait for that.
        def connectable():
            s = socket.socket(socket.AF_UNIX)
            try:
                s.connect(self.sock)
                return True
            except OSError:
                return False
            finally:
                s.close()
        wait_for(connectable, 10, "milter accepting connections")

    def stop_milter(self, timeout=15):
        """SIGTERM, wait, SIGKILL as the fallback.  Returns seconds taken."""
        if self.milter is None:
            return 0.0
        t0 = time.monotonic()
        self.milter.send_signal(signal.SIGTERM)
        try:
            self.milter.wait(timeout)
        except subprocess.TimeoutExpired:
            log("milter did not stop in %ss: SIGKILL" % timeout)
            self.milter.kill()
            self.milter.wait()
        self.milter_exits.append(self.milter.returncode)
        self.milter = None
        return time.monotonic() - t0

    def kill_milter(self):
        """SIGKILL, no grace: what a crash or the OOM killer does.  The run
        is counted in milter_kills, not milter_exits."""
        if self.milter is None:
            return
        self.milter.kill()
        self.milter.wait()
        self.milter_kills += 1
        self.milter = None

    def milter_threads(self):
        """Number of threads of the running milter (Linux /proc)."""
        check(self.milter is not None, "milter not running")
        return len(os.listdir("/proc/%d/task" % self.milter.pid))

    def milter_probe(self, timeout=10):
        """Speaks the milter protocol on the socket the way an MTA opens a
        session (SMFIC_OPTNEG), then quits (SMFIC_QUIT).  True when the
        milter answered the negotiation within timeout seconds."""
        import struct

        def packet(cmd, data=b""):
            return struct.pack(">I", len(data) + 1) + cmd + data
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(timeout)
        try:
            s.connect(self.sock)
            s.sendall(packet(b"O", struct.pack(">III", 6, 0x1ff, 0x1fffff)))
            head = b""
            while len(head) < 5:
                chunk = s.recv(5 - len(head))
                if not chunk:
                    return False
                head += chunk
            ok = head[4:5] == b"O"
            s.sendall(packet(b"Q"))
            return ok
        except OSError:
            return False
        finally:
            s.close()

    def postfix(self, *args, check_rc=True):
        r = subprocess.run(["postfix", "-c", os.path.join(self.root, "etc")] + list(args),
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
        if check_rc and r.returncode != 0:
            raise Fail("postfix %s: %s%s" % (" ".join(args), r.stdout, r.stderr))
        return r

    def start_postfix(self):
        self.postfix("check")
        self.postfix("start")
        self.postfix_started = True

        def listening():
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return True
            except OSError:
                return False
        wait_for(listening, 20, "Postfix SMTP port")

    def stop_postfix(self):
        if not self.postfix_started:
            return
        pidfile = os.path.join(self.root, "spool", "pid", "master.pid")
        pid = None
        try:
            with open(pidfile) as f:
                pid = int(f.read().strip())
        except (OSError, ValueError):
            pass
        self.postfix("stop", check_rc=False)
        if pid:
            end = time.monotonic() + 10
            while pid_alive(pid) and time.monotonic() < end:
                time.sleep(0.1)
            if pid_alive(pid):
                self.postfix("abort", check_rc=False)
                time.sleep(0.5)
                if pid_alive(pid):
                    os.kill(pid, signal.SIGKILL)
        self.postfix_started = False

    def __enter__(self):
        if self.use_milter:
            self.start_milter()
        self.start_postfix()
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            # A clean run also means a clean milter: exit 0 after SIGTERM,
            # and no sanitizer report (ASan/UBSan builds) in its log.
            self.stop_postfix()
            self.stop_milter()
            text = self.read_milter_log()
            bad = [ln for ln in text.splitlines()
                   if "Sanitizer" in ln or "runtime error:" in ln]
            if bad or any(rc != 0 for rc in self.milter_exits):
                exc_type = Fail
                print("--- milter exit statuses %s" % self.milter_exits)
                self.close()
                raise Fail("milter: %s" % (bad[:5] or "exited with %s" % self.milter_exits))
        if exc_type is not None:
            for name, text in (("milter log", self.read_milter_log()), ("maillog", self.read_maillog())):
                print("--- %s (last 40 lines)" % name)
                print("\n".join(text.splitlines()[-40:]), flush=True)
        self.close()
        return False

    def close(self):
        try:
            self.stop_postfix()
        finally:
            self.stop_milter()
            if os.environ.get("TLSRPT_KEEP_E2E"):
                log("kept " + self.root)
            else:
                shutil.rmtree(self.root, ignore_errors=True)

    # -- SMTP -------------------------------------------------------------
    def smtp(self):
        s = smtplib.SMTP("127.0.0.1", self.port, timeout=60)
        s.ehlo("client.example")
        return s

    def send(self, msg, rcpts, sender="reports@sender.example", conn=None):
        """Sends msg (bytes); returns (code, text) of the final reply."""
        own = conn is None
        s = conn or self.smtp()
        try:
            s.sendmail(sender, rcpts, msg)
            return 250, ""
        except smtplib.SMTPDataError as e:
            s.rset()
            return e.smtp_code, e.smtp_error.decode(errors="replace")
        except smtplib.SMTPRecipientsRefused as e:
            code, text = list(e.recipients.values())[0]
            s.rset()
            return code, text.decode(errors="replace")
        except smtplib.SMTPSenderRefused as e:
            s.rset()
            return e.smtp_code, e.smtp_error.decode(errors="replace")
        finally:
            if own:
                try:
                    s.quit()
                except smtplib.SMTPException:
                    pass

    def queue_empty(self):
        r = subprocess.run(["postqueue", "-c", os.path.join(self.root, "etc"), "-j"],
                           capture_output=True, text=True, timeout=30)
        return r.returncode == 0 and r.stdout.strip() == ""

    def wait_queue_empty(self, timeout=30):
        wait_for(self.queue_empty, timeout, "Postfix queue to empty", step=0.2)

    # -- results ------------------------------------------------------------
    def maildir(self, user):
        """Delivered messages of user (bytes), oldest first."""
        d = os.path.join(self.root, "mail", user, "Maildir", "new")
        if not os.path.isdir(d):
            return []
        out = []
        for name in sorted(os.listdir(d)):
            with open(os.path.join(d, name), "rb") as f:
                out.append(f.read())
        return out

    def spool_files(self, sub=None):
        subs = [sub] if sub else ["tmp", "new", "cur", "failed"]
        out = []
        for s in subs:
            d = os.path.join(self.spool, s)
            if os.path.isdir(d):
                out += [os.path.join(d, n) for n in sorted(os.listdir(d))]
        return out

    def query(self, sql, args=()):
        """Rows of a read-only query, run as the milter's user so no file
        of the database ever becomes root's."""
        code = ("import json,sqlite3,sys\n"
                "c=sqlite3.connect('file:'+sys.argv[1]+'?mode=ro',uri=True,timeout=30)\n"
                "print(json.dumps(c.execute(sys.argv[2],json.loads(sys.argv[3])).fetchall()))\n")
        r = subprocess.run([PY_SYSTEM, "-c", code, self.db, sql, json.dumps(list(args))],
                           user=self.nobody_uid, group=self.nobody_gid, capture_output=True,
                           text=True, timeout=60, cwd="/")
        if r.returncode != 0:
            raise Fail("query failed: %s: %s" % (sql, r.stderr.strip()))
        return json.loads(r.stdout)

    def db_ready(self):
        return os.path.exists(self.db)

    def count(self, sql, args=()):
        if not self.db_ready():
            return 0
        return self.query(sql, args)[0][0]

    def read_milter_log(self):
        try:
            with open(self.milter_log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def read_maillog(self):
        try:
            with open(os.path.join(self.root, "maillog"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def lock_db(self):
        """Holds a write lock on the database (BEGIN EXCLUSIVE) as the
        milter's user until the returned process's stdin is closed."""
        code = ("import sqlite3,sys\n"
                "c=sqlite3.connect(sys.argv[1],timeout=30,isolation_level=None)\n"
                "c.execute('BEGIN EXCLUSIVE')\n"
                "print('locked',flush=True)\n"
                "sys.stdin.read()\n"
                "c.execute('ROLLBACK')\n")
        p = subprocess.Popen([PY_SYSTEM, "-c", code, self.db], user=self.nobody_uid,
                             group=self.nobody_gid, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True, cwd="/")
        check(p.stdout.readline().strip() == "locked", "could not lock the database")
        return p


def run_scenario(scenarios, name, milter, timeout):
    """Runs scenarios[name](milter) as a test program: 77 (skipped) without
    root, 1 when Postfix is missing (tests/install-deps.sh installs it) or
    a check fails or the scenario outlasts timeout seconds, else 0."""
    if os.geteuid() != 0:
        print("skipped: needs root (a private Postfix, and the milter's drop to nobody)")
        return 77
    for tool in ("postfix", "postqueue"):
        if not any(os.access(os.path.join(d, tool), os.X_OK) for d in os.environ.get("PATH", "").split(":")
                   + ["/usr/sbin"]):
            print("FAIL: %s not installed (tests/install-deps.sh installs postfix)" % tool)
            return 1
    os.environ["PATH"] = os.environ.get("PATH", "") + ":/usr/sbin:/sbin"

    def on_alarm(signum, frame):
        raise Fail("scenario took longer than %ss" % timeout)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.signal(signal.SIGTERM, lambda s, f: (_ for _ in ()).throw(Fail("terminated")))
    signal.alarm(timeout)
    t0 = time.monotonic()
    try:
        scenarios[name](milter)
    except Fail as e:
        print("FAIL %s: %s" % (name, e), flush=True)
        return 1
    print("PASS %s (%.1fs)" % (name, time.monotonic() - t0))
    return 0
