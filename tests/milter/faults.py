#!/usr/bin/env python3
"""faults.py - tlsrpt-milter behind a real Postfix, under faults.  One
scenario per run; CTest registers each as milter.fault.NAME.

usage: faults.py --milter PATH --ingest PATH SCENARIO   (FAULTS_SEED=N)

Scenarios:
  kill9            >= 50 kill -9 of the milter at random (seeded) points of
                   a stream of report deliveries by 4 SMTP clients (distinct
                   reports and duplicates), restarted after each kill, while
                   `tlsrpt-ingest --spool` drains the same spool and is
                   itself killed now and then.  Clients retry on 4xx.  Then:
                   every report that got 250 is stored exactly once, nothing
                   is stored that was never sent, integrity_check is ok, the
                   spool (tmp/ new/ cur/ failed/) and the Postfix queue are
                   empty, and the mailbox holds one copy per 250.  First,
                   the sweep of tmp/ at start: a file without a writer is
                   removed, one a live writer holds locked is kept.
  spoolfull        the spool cannot take the message: (a) the spool on a
                   256 KiB tmpfs (when mount works): ENOSPC for a message
                   bigger than the filesystem and for one that no longer
                   fits next to waiting entries; (b) always: the milter
                   under RLIMIT_FSIZE (EFBIG; SIGXFSZ must not kill it);
                   (c) new/ not writable (chmod, and chattr +i when the
                   filesystem has it): the rename into new/ fails.  Each is
                   451 4.3.0, never 250, and leaves nothing in tmp/ or new/;
                   messages that fit still get 250; after the fault is
                   removed the retried messages are stored exactly once.
  postfix-restart  postfix stop/start (3 times) and reload (2 times) during
                   a stream of deliveries: every accepted report stored
                   once, the milter never restarted (same pid), answers a
                   new milter connection, its threads back to the idle
                   count, and it stops on SIGTERM with nothing in flight.
  milter-restart   the milter restarted (SIGTERM, and kill -9) while Postfix
                   holds SMTP sessions mid-transaction (after EHLO, after
                   RCPT TO, inside DATA; and DATA finished during the
                   SIGTERM grace period: 250, and a new MAIL FROM then gets
                   451): each message gets 4xx, or 250 and
                   its report stored; the 4xx ones stored once when resent;
                   new connections work normally.

Needs root (Postfix, and the milter's drop to nobody): exits 77 (skip)
otherwise.  Exit 0 pass, 1 fail.  Python standard library only.
"""

import argparse
import base64
import contextlib
import fcntl
import gzip
import json
import os
import random
import re
import resource
import shutil
import signal
import smtplib
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pfharness import RUA, Fail, Harness, check, log, run_scenario, wait_for  # noqa: E402

SCENARIO_TIMEOUT = 280     # seconds; below CTest's TIMEOUT so cleanup runs
INGEST = None
SENDER = "reports@fault.example"
_serial = [0]
_serial_lock = threading.Lock()


def serial():
    with _serial_lock:
        _serial[0] += 1
        return _serial[0]


def report_message(rid, org, pad=0):
    """A report message (one gzip report, report-id rid, organization org)
    with a new Message-ID each time; pad bytes of text in a second part
    make it as big as wanted."""
    rep = {"organization-name": org, "date-range": {"start-datetime": "2026-11-10T00:00:00Z",
                                                    "end-datetime": "2026-11-10T23:59:59Z"},
           "contact-info": "ops@fault.example", "report-id": rid,
           "policies": [{"policy": {"policy-type": "sts", "policy-string": ["version: STSv1", "mode: testing"],
                                    "policy-domain": "example.test", "mx-host": ["mx.example.test"]},
                         "summary": {"total-successful-session-count": 1, "total-failure-session-count": 0}}]}
    gz = base64.encodebytes(gzip.compress(json.dumps(rep).encode(), mtime=0)).decode().replace("\n", "\r\n")
    b = "b-%d" % serial()
    filler = ""
    if pad:
        line = "filler " + "x" * 67 + "\r\n"
        filler = "--%s\r\nContent-Type: text/plain\r\n\r\n%s" % (b, line * (pad // len(line) + 1))
    text = ("From: %s\r\nTo: %s\r\nSubject: Report Domain: example.test Submitter: fault.example "
            "Report-ID: <%s>\r\nTLS-Report-Domain: example.test\r\nTLS-Report-Submitter: fault.example\r\n"
            "Message-ID: <%s.%d@fault.example>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/report; report-type=tlsrpt; boundary=\"%s\"\r\n\r\n"
            "--%s\r\nContent-Type: text/plain\r\n\r\nreport\r\n%s"
            "--%s\r\nContent-Type: application/tlsrpt+gzip; name=\"fault.example!example.test!1!2.json.gz\"\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n%s--%s--\r\n"
            % (SENDER, RUA, rid, rid, serial(), b, b, filler, b, gz, b))
    return text.encode()


class Stats:
    """What the clients saw, by report-id."""

    def __init__(self):
        self.lock = threading.Lock()
        self.attempts = 0          # SMTP transactions tried
        self.ok = 0                # 250 replies (one delivery each)
        self.temp = 0              # 4xx replies or broken connections, each retried
        self.accepted = set()      # report-ids that got a 250 at least once
        self.attempted = set()     # report-ids sent at least once
        self.sends = 0             # messages handed to deliver()
        self.errors = []

    def record(self, rid, code):
        with self.lock:
            self.attempts += 1
            self.attempted.add(rid)
            if code == 250:
                self.ok += 1
                self.accepted.add(rid)
            else:
                self.temp += 1


class Client:
    """One SMTP client: reuses its connection while the server says 250,
    opens a new one after anything else."""

    def __init__(self, h, stats, rnd):
        self.h, self.stats, self.rnd, self.s = h, stats, rnd, None

    def close(self):
        if self.s is not None:
            try:
                self.s.close()
            except OSError:
                pass
        self.s = None

    def attempt(self, msg):
        """One transaction: (code, text); code None for a broken connection."""
        try:
            if self.s is None:
                self.s = self.h.smtp()
            self.s.sendmail(SENDER, [RUA], msg)
            return 250, ""
        except smtplib.SMTPRecipientsRefused as e:
            code, text = list(e.recipients.values())[0]
        except smtplib.SMTPResponseException as e:
            code, text = e.smtp_code, e.smtp_error
        except (smtplib.SMTPException, OSError) as e:
            code, text = None, repr(e).encode()
        self.close()
        return code, text.decode(errors="replace") if isinstance(text, bytes) else str(text)

    def deliver(self, rid, msg, deadline, abort=None):
        """Sends until 250, retrying 4xx and broken connections; a 5xx
        fails.  Returns the number of retries, or None when abort (an
        Event: the scenario already failed) was set first."""
        with self.stats.lock:
            self.stats.sends += 1
        tries = 0
        while True:
            code, text = self.attempt(msg)
            self.stats.record(rid, code)
            if code == 250:
                return tries
            if code is not None and not 400 <= code < 500:
                raise Fail("%s: permanent failure %s %s" % (rid, code, text))
            if abort is not None and abort.is_set():
                return None
            if time.monotonic() > deadline:
                raise Fail("%s: still not accepted at the deadline (last %s %s)" % (rid, code, text))
            tries += 1
            time.sleep(self.rnd.uniform(0.02, 0.1))


def ingest_copy(h):
    """tlsrpt-ingest where nobody can run it (the build tree may be under
    /root)."""
    dst = os.path.join(h.root, "tlsrpt-ingest")
    if not os.path.exists(dst):
        shutil.copy(INGEST, dst)
        os.chmod(dst, 0o755)
    return dst


def ingest_spool(h, prog):
    """A `tlsrpt-ingest --spool` run as the milter's user (Popen)."""
    return subprocess.Popen([prog, "--db", h.db, "--spool", h.spool, "--json"], user=h.nobody_uid,
                            group=h.nobody_gid, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd="/")


def stored_counts(h, org):
    """{report-id: rows} of the reports of org in the database."""
    return dict(h.query("SELECT report_id, count(*) FROM report WHERE org_name = ? GROUP BY report_id", [org]))


def wait_stored(h, org, rids, timeout=90):
    rids = set(rids)
    wait_for(lambda: rids <= set(stored_counts(h, org)), timeout,
             "%d report(s) of %s in the database" % (len(rids), org), step=0.3)


def spool_left(h, subs=("tmp", "new", "cur", "failed")):
    return [os.path.relpath(p, h.spool) for s in subs for p in h.spool_files(s)]


def check_once(h, org, stats, what):
    """Every accepted report stored exactly once, nothing stored that was
    never sent, the database whole.  Returns the stored counts."""
    got = stored_counts(h, org)
    twice = sorted(r for r, n in got.items() if n != 1)
    check(not twice, "%s: stored more than once: %s" % (what, twice[:5]))
    missing = sorted(stats.accepted - set(got))
    check(not missing, "%s: %d report(s) got 250 but are not stored: %s" % (what, len(missing), missing[:5]))
    unsent = sorted(set(got) - stats.attempted)
    check(not unsent, "%s: stored but never sent: %s" % (what, unsent[:5]))
    ic = h.query("PRAGMA integrity_check")
    check(ic == [["ok"]], "%s: PRAGMA integrity_check: %s" % (what, ic[:5]))
    q = h.count("SELECT count(*) FROM quarantine")
    check(q == 0, "%s: %d input(s) quarantined, want none" % (what, q))
    return got


def maildir_count(h, user="tlsrpt"):
    d = os.path.join(h.root, "mail", user, "Maildir", "new")
    return len(os.listdir(d)) if os.path.isdir(d) else 0


def expect_temp(code_text, what):
    code, text = code_text
    check(code == 451 and "4.3.0" in text, "%s: want 451 4.3.0, got %s %s" % (what, code, text))


def expect_250(code_text, what):
    code, text = code_text
    check(code == 250, "%s: want 250, got %s %s" % (what, code, text))


def milter_alive(h, pid, what):
    check(h.milter is not None and h.milter.pid == pid, "%s: the milter was restarted" % what)
    rc = h.milter.poll()
    if rc is not None:
        h.milter_exits.append(rc)
        sig = -rc if rc < 0 else None
        h.milter = None
        raise Fail("%s: the milter died (%s)" % (what, "signal %s" % signal.Signals(sig).name if sig
                                                   else "exit %d" % rc))


# -- kill9 ----------------------------------------------------------------------

@contextlib.contextmanager
def streaming(threads, go_on, abort, stats):
    """Runs the client threads through the with block.  On the way out go_on
    is cleared and every thread joined; when the block failed, abort is set
    first (the clients stop retrying and the failure is reported).  Then no
    client may have reported an error."""
    for t in threads:
        t.start()
    try:
        yield
    except BaseException:
        abort.set()
        raise
    finally:
        go_on.clear()
        for t in threads:
            t.join()
    check(not stats.errors, "errors: %s" % stats.errors[:3])


def sc_kill9(milter, kills_wanted=50, min_messages=300, clients=4):
    seed = int(os.environ.get("FAULTS_SEED", "8460"))
    rnd = random.Random(seed)
    log("seed %d (FAULTS_SEED)" % seed)
    org = "Fault Kill Org"
    stats = Stats()
    t0 = time.monotonic()
    with Harness(milter) as h:
        with open(os.path.join(h.root, "etc", "main.cf")) as f:
            check(re.search(r"^milter_default_action = tempfail$", f.read(), re.M),
                  "the premise: Postfix must tempfail while the milter is down (milter_default_action)")
        prog = ingest_copy(h)
        # The sweep of tmp/ at start: a file whose writer died goes, a file
        # a live writer holds locked stays.
        tmpdir = os.path.join(h.spool, "tmp")
        stale, live = os.path.join(tmpdir, "1.1_0.000000.STALE"), os.path.join(tmpdir, "1.1_1.000000.LIVE")
        for p in (stale, live):
            with open(p, "wb") as f:
                f.write(b"TLSRPT-SPOOL 1\n")
            os.chown(p, h.nobody_uid, h.nobody_gid)
        holder = os.open(live, os.O_RDONLY)
        try:
            fcntl.flock(holder, fcntl.LOCK_EX)
            h.stop_milter()
            h.start_milter()
            check(not os.path.exists(stale), "start: a tmp/ file without a writer was not removed")
            check(os.path.exists(live), "start: a tmp/ file its writer holds locked was removed")
        finally:
            os.close(holder)
        os.unlink(live)
        plan_lock = threading.Lock()
        plan = {"next": 0, "distinct": 0, "dups": 0}
        killing = threading.Event()
        killing.set()
        abort = threading.Event()
        deadline = time.monotonic() + 170

        def next_message(crnd):
            """The next report to send, or None when the stream is over:
            every sixth a report-id sent before (a duplicate)."""
            with plan_lock:
                k = plan["next"]
                if not killing.is_set() and k >= min_messages:
                    return None
                plan["next"] += 1
                if k % 6 == 5:
                    plan["dups"] += 1
                    rid = "kill9-%05d" % crnd.randrange(plan["distinct"])
                else:
                    rid = "kill9-%05d" % plan["distinct"]
                    plan["distinct"] += 1
            return rid, report_message(rid, org)

        def client(k):
            crnd = random.Random(seed * 100 + k)
            c = Client(h, stats, crnd)
            try:
                while True:
                    m = next_message(crnd)
                    if m is None:
                        break
                    c.deliver(m[0], m[1], deadline, abort)
            except Exception as e:  # noqa: BLE001 - reported below
                stats.errors.append("client %d: %r" % (k, e))
                killing.clear()
            finally:
                c.close()

        ikills = [0, 0]            # tlsrpt-ingest runs killed, runs completed

        def drainer():
            drnd = random.Random(seed + 1)
            while killing.is_set():
                p = ingest_spool(h, prog)
                if drnd.random() < 0.4:
                    try:
                        p.wait(drnd.uniform(0, 0.15))
                    except subprocess.TimeoutExpired:
                        p.kill()
                        ikills[0] += 1
                out, err = p.communicate(timeout=120)
                if p.returncode == -signal.SIGKILL:
                    continue
                if p.returncode not in (0, 1):
                    stats.errors.append("tlsrpt-ingest --spool: exit %d: %s" % (p.returncode, err.strip()))
                    return
                ikills[1] += 1
                time.sleep(drnd.uniform(0.1, 0.5))

        threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
        threads.append(threading.Thread(target=drainer))
        kills, down_s = 0, 0.0
        with streaming(threads, killing, abort, stats):
            while kills < kills_wanted and not stats.errors:
                check(time.monotonic() < deadline - 60, "only %d kills in the time allowed" % kills)
                # A random point: deliveries, spool writes and drains go on
                # all the time; the seeded delay decides where it lands.
                time.sleep(rnd.uniform(0.0, 0.4))
                h.kill_milter()
                kills += 1
                t1 = time.monotonic()
                if rnd.random() < 0.3:
                    time.sleep(rnd.uniform(0.0, 0.3))      # down a while: Postfix must tempfail
                h.start_milter()
                down_s += time.monotonic() - t1
        stream_s = time.monotonic() - t0
        log("%d kills (down %.1fs in all), %d messages (%d distinct report-ids, %d duplicates) in %.1fs"
            % (kills, down_s, stats.sends, plan["distinct"], plan["dups"], stream_s))
        # The milter's worker drains at start, after each message and every
        # DrainInterval: abandoned claims in cur/ are taken over.
        wait_stored(h, org, stats.accepted, timeout=90)
        wait_for(lambda: not spool_left(h, ("new", "cur")), 60, "new/ and cur/ to empty", step=0.3)
        left = spool_left(h)
        check(not left, "spool entries left that nothing will process: %s" % left[:10])
        got = check_once(h, org, stats, "kill9")
        h.wait_queue_empty(60)
        check(maildir_count(h) == stats.ok, "mailbox holds %d messages, want one per 250 (%d)"
              % (maildir_count(h), stats.ok))
        text = h.read_milter_log()
        milter_dups = sum(int(d) for d in re.findall(r"stored \d+, duplicates (\d+)", text))
        swept = sum(int(d) for d in re.findall(r"removed (\d+) unfinished spool file", text)) - 1
        log("FIGURES kill9: milter kills %d, tlsrpt-ingest kills %d (and %d whole runs), messages %d, "
            "SMTP transactions %d, accepted (250) %d, 4xx/broken retried %d, distinct accepted %d, "
            "stored %d (of them never answered 250: %d), duplicates seen by the milter %d, "
            "unfinished tmp/ files of killed milters removed at restart %d, %.1fs"
            % (kills, ikills[0], ikills[1], stats.sends, stats.attempts, stats.ok, stats.temp,
               len(stats.accepted), len(got), len(set(got) - stats.accepted), milter_dups, swept,
               time.monotonic() - t0))
        check(kills >= kills_wanted, "%d kills, wanted %d" % (kills, kills_wanted))


# -- spoolfull --------------------------------------------------------------------

_failures_seen = {}


def spool_clean(h, what, reason):
    """After a 451 for a failed spool write: the milter logged it (with the
    system's reason), tmp/ is empty, and no entry carries its queue ID."""
    fails = re.findall(r"(\w+): cannot spool the report, asking the sender to retry: (.*)", h.read_milter_log())
    seen = _failures_seen.get(h.root, 0)
    check(len(fails) == seen + 1, "%s: want one more 'cannot spool' log line, got %d" % (what, len(fails) - seen))
    _failures_seen[h.root] = len(fails)
    qid, detail = fails[-1]
    check(reason in detail, "%s: the log must say why (%s): %s" % (what, reason, detail))
    left = spool_left(h, ("tmp",)) + [n for n in spool_left(h, ("new", "cur", "failed")) if n.endswith("." + qid)]
    check(not left, "%s: the failed write left %s" % (what, left))


def sc_spoolfull(milter):
    org = "Fault Full Org"
    mounted = ran_tmpfs = False
    # (a) ENOSPC: the spool on a 256 KiB tmpfs.
    h = Harness(milter)
    try:
        os.mkdir(h.spool, 0o700)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0700,uid=%d,gid=%d"
                            % (h.nobody_uid, h.nobody_gid), "tlsrpt-fault-spool", h.spool],
                           capture_output=True, text=True)
        mounted = r.returncode == 0
        if not mounted:
            log("tmpfs cannot be mounted here (%s): ENOSPC part skipped, RLIMIT_FSIZE part runs"
                % r.stderr.strip())
        else:
            ran_tmpfs = True
            with h:
                sc_spoolfull_tmpfs(h, org)
    finally:
        if mounted:
            subprocess.run(["umount", "-l", h.spool])
        h.close()
    # (b) EFBIG: RLIMIT_FSIZE on the milter; (c) new/ not writable.
    sc_spoolfull_fsize(milter, org)
    log("spoolfull: %s" % ("tmpfs, RLIMIT_FSIZE and unwritable new/" if ran_tmpfs
                           else "RLIMIT_FSIZE and unwritable new/ (no tmpfs)"))


def sc_spoolfull_tmpfs(h, org):
    pid = h.milter.pid
    stats = Stats()

    def send(rid, pad=0):
        code, text = h.send(report_message(rid, org, pad), [RUA], sender=SENDER)
        stats.record(rid, code)
        return code, text

    expect_250(send("full-small-1"), "tmpfs: a small report")
    wait_stored(h, org, ["full-small-1"])
    # Bigger than the whole filesystem.
    expect_temp(send("full-big-1", 300 << 10), "tmpfs: a report bigger than the spool filesystem")
    milter_alive(h, pid, "tmpfs, ENOSPC")
    spool_clean(h, "tmpfs, ENOSPC", "No space left on device")
    # Fits alone, but not next to entries waiting for a locked database.
    locker = h.lock_db()
    try:
        expect_250(send("full-mid-1", 100 << 10), "tmpfs: 100 KiB, spool empty")
        expect_250(send("full-mid-2", 100 << 10), "tmpfs: 100 KiB, 100 KiB waiting")
        expect_temp(send("full-mid-3", 100 << 10), "tmpfs: 100 KiB, 200 KiB waiting")
        spool_clean(h, "tmpfs, 200 KiB waiting", "No space left on device")
        expect_temp(send("full-never", 100 << 10), "tmpfs: 100 KiB, 200 KiB waiting, never resent")
        spool_clean(h, "tmpfs, 200 KiB waiting", "No space left on device")
        expect_250(send("full-small-2"), "tmpfs: a small report still fits")
        waiting = spool_left(h, ("new", "cur"))
        check(len(waiting) == 3, "tmpfs: want the 3 accepted entries waiting, got %s" % waiting)
        check(h.count("SELECT count(*) FROM report WHERE report_id LIKE 'full-mid-%'") == 0,
              "tmpfs: nothing stored while the database is locked")
    finally:
        locker.stdin.close()
        locker.wait(30)
    wait_stored(h, org, ["full-mid-1", "full-mid-2", "full-small-2"])
    wait_for(lambda: not spool_left(h, ("new", "cur")), 30, "the spool to drain")
    expect_250(send("full-mid-3", 100 << 10), "tmpfs: resent after the spool drained")
    expect_temp(send("full-big-1", 300 << 10), "tmpfs: still bigger than the filesystem")
    spool_clean(h, "tmpfs, ENOSPC again", "No space left on device")
    # The fault removed: the filesystem enlarged, its entries kept.
    r = subprocess.run(["mount", "-o", "remount,size=4m", h.spool], capture_output=True, text=True)
    check(r.returncode == 0, "remount size=4m: %s" % r.stderr)
    expect_250(send("full-big-1", 300 << 10), "tmpfs: resent after the filesystem grew")
    wait_stored(h, org, stats.accepted)
    wait_for(lambda: not spool_left(h), 30, "the spool to empty")
    got = check_once(h, org, stats, "tmpfs")
    check("full-never" not in got, "tmpfs: a report answered only 451 was stored")
    h.wait_queue_empty()
    check(maildir_count(h) == stats.ok, "tmpfs: mailbox has %d, want %d" % (maildir_count(h), stats.ok))
    milter_alive(h, pid, "tmpfs")
    log("FIGURES spoolfull tmpfs: sent %d, 250 %d, 451 %d, stored %d"
        % (stats.attempts, stats.ok, stats.temp, len(got)))


def sc_spoolfull_fsize(milter, org):
    limit = 1 << 20
    stats = Stats()

    def limited():
        # SIGXFSZ stays at its default (subprocess restores it): the
        # milter itself must ignore it so that write() fails with EFBIG.
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    with Harness(milter) as h:
        def send(rid, pad=0):
            code, text = h.send(report_message(rid, org, pad), [RUA], sender=SENDER)
            stats.record(rid, code)
            return code, text

        h.stop_milter()
        h.milter_preexec = limited
        h.start_milter()
        pid = h.milter.pid
        expect_250(send("fsize-small-1"), "RLIMIT_FSIZE: a small report")
        wait_stored(h, org, ["fsize-small-1"])
        reply = send("fsize-big-1", 3 * limit // 2)
        milter_alive(h, pid, "RLIMIT_FSIZE, a report over the file size limit")
        expect_temp(reply, "RLIMIT_FSIZE: a report over the file size limit")
        spool_clean(h, "RLIMIT_FSIZE", "File too large")
        expect_temp(send("fsize-never", 3 * limit // 2), "RLIMIT_FSIZE: over the limit, never resent")
        spool_clean(h, "RLIMIT_FSIZE", "File too large")
        expect_250(send("fsize-small-2"), "RLIMIT_FSIZE: a small report after the failures")
        wait_stored(h, org, ["fsize-small-2"])
        milter_alive(h, pid, "RLIMIT_FSIZE")
        # The fault removed: the milter restarted without the limit.
        h.stop_milter()
        h.milter_preexec = None
        h.start_milter()
        expect_250(send("fsize-big-1", 3 * limit // 2), "RLIMIT_FSIZE: resent without the limit")
        wait_stored(h, org, stats.accepted)
        log("RLIMIT_FSIZE: 451 over the limit, milter alive, stored once when resent")

        # (c) new/ not writable: the entry is written to tmp/ completely and
        # the rename fails; it must be taken back (tmp/ empty) and 451.
        new = os.path.join(h.spool, "new")
        ways = ["chmod"]
        if subprocess.run(["chattr", "+i", new], capture_output=True).returncode == 0:
            subprocess.run(["chattr", "-i", new], capture_output=True)
            ways.append("chattr")
        else:
            log("chattr +i not supported on the spool's filesystem: chmod only")
        for way in ways:
            if way == "chmod":
                os.chmod(new, 0o500)
            else:
                subprocess.run(["chattr", "+i", new], check=True)
            try:
                expect_temp(send("ro-%s" % way), "new/ not writable (%s)" % way)
                spool_clean(h, "new/ not writable (%s)" % way,
                            "Permission denied" if way == "chmod" else "Operation not permitted")
            finally:
                if way == "chmod":
                    os.chmod(new, 0o700)
                else:
                    subprocess.run(["chattr", "-i", new], capture_output=True)
            expect_250(send("ro-%s" % way), "new/ writable again (%s)" % way)
        wait_stored(h, org, stats.accepted)
        wait_for(lambda: not spool_left(h), 30, "the spool to empty")
        got = check_once(h, org, stats, "RLIMIT_FSIZE / unwritable")
        check("fsize-never" not in got, "a report answered only 451 was stored")
        h.wait_queue_empty()
        check(maildir_count(h) == stats.ok, "mailbox has %d, want %d" % (maildir_count(h), stats.ok))
        log("FIGURES spoolfull fsize+unwritable: sent %d, 250 %d, 451 %d, stored %d"
            % (stats.attempts, stats.ok, stats.temp, len(got)))


# -- postfix-restart ------------------------------------------------------------------

def idle_threads(h):
    """The milter's thread count once it has been stable for a second."""
    last = [None, 0]

    def stable():
        n = h.milter_threads()
        if n != last[0]:
            last[0], last[1] = n, time.monotonic()
        return time.monotonic() - last[1] >= 1.0 and n
    return wait_for(stable, 20, "a stable thread count")


def sc_postfix_restart(milter, clients=3):
    seed = int(os.environ.get("FAULTS_SEED", "8460"))
    rnd = random.Random(seed)
    org = "Fault Postfix Org"
    stats = Stats()
    t0 = time.monotonic()
    shutdown_timeout = 20
    with Harness(milter, ["ShutdownTimeout %d" % shutdown_timeout]) as h:
        pid = h.milter.pid
        baseline = idle_threads(h)
        running = threading.Event()
        running.set()
        abort = threading.Event()
        counter = [0]
        lock = threading.Lock()
        deadline = time.monotonic() + 150

        def client(k):
            crnd = random.Random(seed * 10 + k)
            c = Client(h, stats, crnd)
            try:
                while running.is_set():
                    with lock:
                        n = counter[0]
                        counter[0] += 1
                    rid = "pfr-%05d" % (n if n % 5 else crnd.randrange(n + 1))   # some duplicates
                    c.deliver(rid, report_message(rid, org), deadline, abort)
            except Exception as e:  # noqa: BLE001 - reported below
                stats.errors.append("client %d: %r" % (k, e))
            finally:
                c.close()

        threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
        events = []
        with streaming(threads, running, abort, stats):
            for what in ("stop", "reload", "stop", "reload", "stop"):
                before = stats.ok
                wait_for(lambda: stats.ok >= before + 10 or stats.errors, 60, "deliveries going on")
                time.sleep(rnd.uniform(0, 0.5))
                if what == "stop":
                    h.stop_postfix()
                    time.sleep(rnd.uniform(0, 0.5))
                    h.start_postfix()
                else:
                    h.postfix("reload")
                events.append(what)
                milter_alive(h, pid, "after postfix %s" % what)
            before = stats.ok
            wait_for(lambda: stats.ok >= before + 10 or stats.errors, 60, "deliveries after the last restart")
        log("postfix %s during %d deliveries" % ("/".join(events), stats.sends))
        h.wait_queue_empty(60)
        wait_stored(h, org, stats.accepted)
        wait_for(lambda: not spool_left(h), 60, "the spool to empty", step=0.3)
        got = check_once(h, org, stats, "postfix-restart")
        # Postfix stopped between queueing a message and answering: the
        # client resends it, so a report may be delivered twice, never lost.
        check(maildir_count(h) >= stats.ok, "mailbox has %d, want at least %d" % (maildir_count(h), stats.ok))
        milter_alive(h, pid, "postfix-restart")
        check(h.milter_probe(10), "the milter does not answer a new connection")
        wait_for(lambda: h.milter_threads() <= baseline, 30,
                 "the milter's threads back to the idle count %d (now %d)" % (baseline, h.milter_threads()))
        expect_250(h.send(report_message("pfr-after", org), [RUA], sender=SENDER), "a report after the restarts")
        stats.record("pfr-after", 250)
        wait_stored(h, org, ["pfr-after"])
        got = check_once(h, org, stats, "postfix-restart, after")
        took = h.stop_milter()
        text = h.read_milter_log()
        check("still in flight" not in text, "messages left in flight at SIGTERM: %s"
              % [ln for ln in text.splitlines() if "in flight" in ln])
        check(took < shutdown_timeout, "the milter took %.1fs to stop (ShutdownTimeout %d): something was "
              "still in flight" % (took, shutdown_timeout))
        log("FIGURES postfix-restart: postfix stop/start 3, reload 2, messages %d, SMTP transactions %d, "
            "accepted (250) %d, 4xx/broken retried %d, distinct accepted %d, stored %d, mailbox %d, "
            "milter pid unchanged, threads back to %d, stopped in %.1fs, %.1fs"
            % (stats.sends, stats.attempts, stats.ok, stats.temp, len(stats.accepted), len(got),
               maildir_count(h), baseline, took, time.monotonic() - t0))


# -- milter-restart ---------------------------------------------------------------------

class Session:
    """One SMTP session held open at a chosen point of a transaction."""

    def __init__(self, h, rid, msg, stage):
        self.h, self.rid, self.msg, self.stage = h, rid, msg, stage
        self.s = h.smtp()
        cut = msg.index(b"\r\n\r\n") + 2          # inside DATA: the header block sent
        self.rest = msg[cut:]
        if stage in ("rcpt", "data"):
            code, text = self.s.mail(SENDER)
            check(code == 250, "%s: MAIL FROM: %s %s" % (rid, code, text))
            code, text = self.s.rcpt(RUA)
            check(code == 250, "%s: RCPT TO: %s %s" % (rid, code, text))
        if stage == "data":
            code, text = self.s.docmd("DATA")
            check(code == 354, "%s: DATA: %s %s" % (rid, code, text))
            self.s.send(msg[:cut])

    def finish(self):
        """Completes the transaction: (code, text), code None when the
        connection broke."""
        try:
            if self.stage == "ehlo":
                self.s.sendmail(SENDER, [RUA], self.msg)
                return 250, ""
            if self.stage == "rcpt":
                code, text = self.s.data(self.msg)
            else:
                self.s.send(self.rest + b".\r\n")
                code, text = self.s.getreply()
            return code, text.decode(errors="replace")
        except smtplib.SMTPRecipientsRefused as e:
            code, text = list(e.recipients.values())[0]
            return code, text.decode(errors="replace")
        except smtplib.SMTPResponseException as e:
            return e.smtp_code, e.smtp_error.decode(errors="replace")
        except (smtplib.SMTPException, OSError) as e:
            return None, repr(e)
        finally:
            try:
                self.s.close()
            except OSError:
                pass


def sc_milter_restart(milter):
    org = "Fault Restart Org"
    stats = Stats()
    outcomes = {}
    t0 = time.monotonic()
    with Harness(milter, ["ShutdownTimeout 6"]) as h:
        for rnd_no, how in enumerate(("sigterm", "kill9", "sigterm-during", "kill9")):
            stages = ("ehlo", "rcpt", "rcpt", "data", "data")
            sessions = []
            for i, stage in enumerate(stages):
                rid = "mr-%d-%s-%d" % (rnd_no, stage, i)
                sessions.append(Session(h, rid, report_message(rid, org), stage))
            results = {}
            if how == "sigterm-during":
                # The rest of DATA arrives while the old milter is in its
                # shutdown grace period (ShutdownTimeout; the sessions held
                # at RCPT keep it waiting): those messages are captured
                # (250), and a new transaction is told to come back (451).
                h.milter.send_signal(signal.SIGTERM)
                ths = [threading.Thread(target=lambda s=s: results.__setitem__(s.rid, s.finish()))
                       for s in sessions if s.stage == "data"]
                for t in ths:
                    t.start()
                for t in ths:
                    t.join()
                for s in sessions:
                    if s.stage == "data":
                        expect_250(results[s.rid], "sigterm-during: DATA finished in the grace period")
                late = h.smtp()
                code, text = late.mail(SENDER)
                late.close()
                check(code == 451 and b"restarting" in text,
                      "sigterm-during: a new transaction in the grace period gets 451: %s %s" % (code, text))
                h.stop_milter()
                h.start_milter()
            elif how == "sigterm":
                took = h.stop_milter()
                log("SIGTERM with %d sessions open: stopped in %.1fs" % (len(sessions), took))
                h.start_milter()
            else:
                h.kill_milter()
                h.start_milter()
            for s in sessions:
                if s.rid not in results:
                    results[s.rid] = s.finish()
            for s in sessions:
                code, text = results[s.rid]
                stats.record(s.rid, code)
                outcomes.setdefault((how, s.stage), []).append(code)
                check(code is None or code == 250 or 400 <= code < 500,
                      "%s, session at %s: want 4xx or 250, got %s %s" % (how, s.stage, code, text))
            # A 250 must mean stored; a 4xx is resent and stored once.
            wait_stored(h, org, stats.accepted)
            c = Client(h, stats, random.Random(rnd_no))
            for s in sessions:
                if s.rid not in stats.accepted:
                    c.deliver(s.rid, report_message(s.rid, org), time.monotonic() + 60)
            # New connections work normally: 250 at the first try.
            code, text = c.attempt(report_message("mr-%d-new" % rnd_no, org))
            stats.record("mr-%d-new" % rnd_no, code)
            c.close()
            expect_250((code, text), "%s: a new connection after the restart" % how)
            wait_stored(h, org, stats.accepted)
            log("%s: %s" % (how, ", ".join("%s %s" % (s.stage, results[s.rid][0]) for s in sessions)))
        wait_for(lambda: not spool_left(h), 60, "the spool to empty", step=0.3)
        got = check_once(h, org, stats, "milter-restart")
        h.wait_queue_empty()
        check(maildir_count(h) == stats.ok, "mailbox has %d, want %d" % (maildir_count(h), stats.ok))
        summary = "; ".join("%s/%s: %s" % (how, stage, ",".join(str(c) for c in codes))
                            for (how, stage), codes in sorted(outcomes.items()))
        log("FIGURES milter-restart: restarts 4 (2 SIGTERM, 2 kill -9), sessions held %d, SMTP transactions %d, "
            "accepted (250) %d, 4xx/broken %d, stored %d, %.1fs; replies: %s"
            % (sum(len(v) for v in outcomes.values()), stats.attempts, stats.ok, stats.temp, len(got),
               time.monotonic() - t0, summary))


SCENARIOS = {"kill9": sc_kill9, "spoolfull": sc_spoolfull, "postfix-restart": sc_postfix_restart,
             "milter-restart": sc_milter_restart}


def main():
    global INGEST
    ap = argparse.ArgumentParser()
    ap.add_argument("--milter", required=True)
    ap.add_argument("--ingest", required=True)
    ap.add_argument("scenario", choices=sorted(SCENARIOS))
    a = ap.parse_args()
    INGEST = os.path.abspath(a.ingest)
    return run_scenario(SCENARIOS, a.scenario, a.milter, SCENARIO_TIMEOUT)


if __name__ == "__main__":
    sys.exit(main())
