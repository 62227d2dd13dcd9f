#!/usr/bin/env python3
"""e2e.py - tlsrpt-milter behind a real Postfix, one scenario per run.

usage: e2e.py --milter PATH [--ingest PATH] --samples DIR SCENARIO

Scenarios (CTest registers each as milter.e2e.NAME):
  capture     Google-, Microsoft- and Mail.ru-shaped reports (samples/*.eml)
              sent over SMTP land in the database with the right values,
              and (Action accept) in the mailbox too; the spool empties.
  discard     Action discard: a report to the rua address alone is not in
              the mailbox; rua + another recipient: the other still gets it.
  ordinary    mail to other addresses is delivered byte-identical and
              leaves no spool file.
  oversize    a report over MaxMessageSize gets 552 5.3.4.
  spoolfail   spool not writable: 451 4.3.0 and nothing stored; writable
              again and resent: stored once.
  dblocked    database locked: still 250, the report waits in the spool
              (its bytes exactly as sent), and lands once the lock is gone.
  stall       database locked for a while: one log line per back-off step
              (1, 2, 4, 8 s), each with the backlog size; a report captured
              during the back-off is stored at once when the database is
              back, not at the end of the step.
  milterdown  milter stopped: Postfix answers 4xx; started again: mail flows.
  reload      SIGHUP with a new RuaAddress: the new address is captured;
              SIGUSR1 with a broken file: the running config stays.
  dkim        TrustedAuthservIDs + RequireDKIM yes: a trusted dkim=pass is
              stored with dkim 'pass'; forged or missing: quarantined as
              'unauthenticated'.
  parallel    20 SMTP clients x 50 reports, 300 of them duplicates, while
              `tlsrpt-ingest --spool` drains the same spool too: each
              distinct report stored once, duplicates counted.
  summary     the whole product: reports captured over SMTP, then the
              morning email (tlsrpt-report email --sendmail) handed to this
              Postfix's own sendmail, delivered to a mailbox and read back
              with Python's email parser.
  throughput  (not in CTest) messages/s of ordinary mail with and without
              the milter.

Needs root (Postfix, and the milter's drop to nobody): exits 77 (skip)
otherwise.  Exit 0 pass, 1 fail.
"""

import argparse
import base64
import email
import email.policy
import grp
import gzip
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pfharness import RUA, Fail, Harness, check, log, run_scenario, wait_for  # noqa: E402

SCENARIO_TIMEOUT = 240     # seconds; below CTest's TIMEOUT so cleanup runs
SAMPLES = None
INGEST = None              # tlsrpt-ingest, for the concurrent drainer
REPORT = None              # tlsrpt-report, for the summary email

# What the samples must turn into (see SAMPLES.md):
# report_id -> (org, start, end, [(policy_type, domain, ok, failed, [result types])])
EXPECTED = {
    "google-like.eml": ("2026-11-02T00:00:00Z_example.net", "Example Sender G", 1793577600, 1793664000,
                        [("sts", "example.net", 412, 3, ["certificate-expired"])]),
    "microsoft-like.eml": ("134427712000000001+example.net", "Example Org Corporation", 1793750400,
                           1793836800, [("sts", "example.net", 57, 0, []), ("tlsa", "example.net", 57, 0, [])]),
    "mailru-like.eml": ("5b0c7e2a-91d4-4f3e-8a6b-2c9d0e1f3a47@sender-r.example", "Sender R", 1793923200,
                        1794009600, [("sts", "example.org", 0, 1,
                                      ["sts-policy-fetch-error", "sts-policy-fetch-error"])]),
}


def sample(name):
    with open(os.path.join(SAMPLES, name), "rb") as f:
        data = f.read()
    # SMTP wants CRLF; the LF samples (Mail.ru) are sent with CRLF too.
    return re.sub(rb"\r?\n", b"\r\n", data)


def plain_message(subject, body_lines=20):
    lines = ["From: Alice <alice@sender.example>", "To: bob@example.test",
             "Subject: %s" % subject, "Message-ID: <%s@sender.example>" % subject.replace(" ", "."),
             "Date: Tue, 03 Nov 2026 10:00:00 +0000", "X-Folded: one", "\ttwo", "", ]
    lines += ["line %d of an ordinary message, nothing to see" % i for i in range(body_lines)]
    return ("\r\n".join(lines) + "\r\n").encode()


def report_message(n, org="Load Org"):
    """A small Google-shaped report message with report-id load-N."""
    rep = {"organization-name": org, "date-range": {"start-datetime": "2026-11-10T00:00:00Z",
                                                    "end-datetime": "2026-11-10T23:59:59Z"},
           "contact-info": "ops@load.example", "report-id": "load-%04d" % n,
           "policies": [{"policy": {"policy-type": "sts", "policy-string": ["version: STSv1", "mode: testing"],
                                    "policy-domain": "example.test", "mx-host": ["mx.example.test"]},
                         "summary": {"total-successful-session-count": n, "total-failure-session-count": 0}}]}
    gz = base64.encodebytes(gzip.compress(json.dumps(rep).encode(), mtime=0)).decode()
    b = "b%04d" % n
    text = ("From: reports@load.example\r\nTo: %s\r\nSubject: Report Domain: example.test Submitter: "
            "load.example Report-ID: <load-%04d>\r\nTLS-Report-Domain: example.test\r\n"
            "TLS-Report-Submitter: load.example\r\nMessage-ID: <load-%04d-%d@load.example>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=tlsrpt; boundary=\"%s\"\r\n\r\n"
            "--%s\r\nContent-Type: text/plain\r\n\r\nreport\r\n--%s\r\n"
            "Content-Type: application/tlsrpt+gzip; name=\"load.example!example.test!1793923200!1794009599.json.gz\"\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n%s\r\n--%s--\r\n"
            % (RUA, n, n, int(time.time() * 1000) % 100000, b, b, b, gz.replace("\n", "\r\n"), b))
    return text.encode()


def expect_250(code_text, what):
    code, text = code_text
    check(code == 250, "%s: want 250, got %s %s" % (what, code, text))


def wait_reports(h, n, timeout=60):
    wait_for(lambda: h.count("SELECT count(*) FROM report") >= n, timeout, "%d report(s) in the database" % n,
             step=0.3)


def check_report(h, sample_name):
    report_id, org, start, end, policies = EXPECTED[sample_name]
    rows = h.query("SELECT id, org_name, start_time, end_time, source, dkim FROM report WHERE report_id = ?",
                   [report_id])
    check(len(rows) == 1, "%s: want one report %s, got %d" % (sample_name, report_id, len(rows)))
    rid, got_org, got_start, got_end, source, _dkim = rows[0]
    check(got_org == org, "%s: org_name %r, want %r" % (sample_name, got_org, org))
    check((got_start, got_end) == (start, end), "%s: range %s-%s, want %s-%s"
          % (sample_name, got_start, got_end, start, end))
    check(source.startswith("spool:"), "%s: source %r, want spool:NAME" % (sample_name, source))
    pol = h.query("SELECT id, policy_type, policy_domain, successful_sessions, failed_sessions FROM policy "
                  "WHERE report = ? ORDER BY idx", [rid])
    check(len(pol) == len(policies), "%s: %d policies, want %d" % (sample_name, len(pol), len(policies)))
    for (pid, ptype, pdom, ok, failed), (wtype, wdom, wok, wfailed, wfail) in zip(pol, policies):
        check((ptype, pdom, ok, failed) == (wtype, wdom, wok, wfailed),
              "%s: policy %s, want %s" % (sample_name, (ptype, pdom, ok, failed), (wtype, wdom, wok, wfailed)))
        types = [r[0] for r in h.query("SELECT result_type FROM failure WHERE policy = ? ORDER BY id", [pid])]
        check(types == wfail, "%s: failures %s, want %s" % (sample_name, types, wfail))
    return rows[0]


# -- scenarios ----------------------------------------------------------------

def sc_capture(milter):
    with Harness(milter) as h:
        sends = [("google-like.eml", [RUA]), ("microsoft-like.eml", ["TLSRPT+ms@Example.TEST"]),
                 ("mailru-like.eml", [RUA])]
        for name, rcpts in sends:
            expect_250(h.send(sample(name), rcpts), name)
        wait_reports(h, 3)
        for name, _ in sends:
            check_report(h, name)
        check(h.count("SELECT count(*) FROM quarantine") == 0, "nothing may be quarantined")
        wait_for(lambda: not h.spool_files(), 20, "the spool to empty")
        h.wait_queue_empty()
        check(len(h.maildir("tlsrpt")) == 3, "Action accept: want 3 messages in the mailbox, got %d"
              % len(h.maildir("tlsrpt")))
        qids = re.findall(r"(\w+): spooled ", h.read_milter_log())
        check(len(qids) == 3 and all(q in h.read_maillog() for q in qids),
              "milter log lines must start with the queue IDs Postfix logs")
        # Modes that keep other users out; a socket the MTA's group can use.
        for path, want in ([(h.spool, 0o700)] + [(os.path.join(h.spool, d), 0o700)
                           for d in ("tmp", "new", "cur", "failed")] + [(h.db, 0o640)]):
            st = os.stat(path)
            check(stat.S_IMODE(st.st_mode) == want and st.st_uid == h.nobody_uid,
                  "%s: mode %o owner %d, want %o owned by the milter's user"
                  % (path, stat.S_IMODE(st.st_mode), st.st_uid, want))
        st = os.stat(h.sock)
        check(stat.S_IMODE(st.st_mode) == 0o770 and st.st_gid == grp.getgrnam("postfix").gr_gid,
              "socket: mode %o group %d, want 0770 and group postfix" % (stat.S_IMODE(st.st_mode), st.st_gid))
        log("3 reports stored with the expected values; mailbox has 3")


def sc_discard(milter):
    with Harness(milter, ["Action discard"]) as h:
        expect_250(h.send(sample("google-like.eml"), [RUA]), "rua only")
        expect_250(h.send(sample("microsoft-like.eml"), [RUA, "alice@example.test"]), "rua + alice")
        wait_reports(h, 2)
        check_report(h, "google-like.eml")
        check_report(h, "microsoft-like.eml")
        h.wait_queue_empty()
        check(h.maildir("tlsrpt") == [], "Action discard: the rua mailbox must stay empty")
        alice = h.maildir("alice")
        check(len(alice) == 1 and b"sender-m.example" in alice[0],
              "alice must get the message sent to her and the rua address")
        log("discarded for the rua address, delivered to alice")


def sc_ordinary(milter):
    with Harness(milter) as h:
        msgs = [(plain_message("hello bob"), ["bob@example.test"]),
                (plain_message("hello both", 200), ["alice@example.test", "bob@example.test"])]
        for m, rcpts in msgs:
            expect_250(h.send(m, rcpts, sender="alice@sender.example"), "ordinary mail")
        h.wait_queue_empty()
        bob, alice = h.maildir("bob"), h.maildir("alice")
        check(len(bob) == 2 and len(alice) == 1, "want 2 messages for bob, 1 for alice")
        for m, got in ((msgs[0][0], bob), (msgs[1][0], bob), (msgs[1][0], alice)):
            sent = m.replace(b"\r\n", b"\n")
            check(any(g.endswith(b"\n" + sent) for g in got), "delivered message differs from what was sent")
        check(h.spool_files() == [], "ordinary mail left spool files: %s" % h.spool_files())
        check(h.count("SELECT count(*) FROM report") == 0, "ordinary mail reached the database")
        check(" spooled " not in h.read_milter_log(), "the milter spooled ordinary mail")
        log("ordinary mail delivered byte-identical, spool empty")


def sc_oversize(milter):
    with Harness(milter, ["MaxMessageSize 100K"]) as h:
        big = sample("google-like.eml").replace(b"\r\n\r\n", b"\r\nX-Pad: " + b"p" * 900 + b"\r\n\r\n", 1)
        big = big + b"".join(b"padding line %06d %s\r\n" % (i, b"x" * 60) for i in range(2000))
        code, text = h.send(big, [RUA])
        check(code == 552 and "5.3.4" in text, "oversized report: want 552 5.3.4, got %s %s" % (code, text))
        expect_250(h.send(sample("google-like.eml"), [RUA]), "a report under the limit")
        wait_reports(h, 1)
        log("oversized: %s %s" % (code, text))


def sc_spoolfail(milter):
    with Harness(milter) as h:
        tmp = os.path.join(h.spool, "tmp")
        os.chmod(tmp, 0o500)                     # the milter runs as nobody: no more writes
        code, text = h.send(sample("google-like.eml"), [RUA])
        check(code == 451 and "4.3.0" in text, "spool not writable: want 451 4.3.0, got %s %s" % (code, text))
        check(h.spool_files("new") == [], "nothing may reach new/")
        check("cannot spool the report" in h.read_milter_log(), "the failure must be logged")
        os.chmod(tmp, 0o700)
        expect_250(h.send(sample("google-like.eml"), [RUA]), "resent")
        wait_reports(h, 1)
        time.sleep(1)
        check(h.count("SELECT count(*) FROM report") == 1, "stored more than once")
        log("451 4.3.0 while the spool was broken, stored once after")


def sc_dblocked(milter):
    with Harness(milter) as h:
        wait_for(h.db_ready, 20, "the database to be created")
        locker = h.lock_db()
        try:
            # Postfix drops Return-Path (message_drop_headers); the rest must
            # reach the spool byte for byte.
            # Odd spacing after the colon must survive too (SMFIP_HDR_LEADSPC).
            msg = re.sub(rb"Return-Path:[^\r]*\r\n", b"X-Tight:tight\r\nX-Wide:   wide \r\n",
                         sample("google-like.eml"), count=1)
            t0 = time.monotonic()
            expect_250(h.send(msg, [RUA]), "database locked")
            log("250 after %.2fs with the database locked" % (time.monotonic() - t0))
            wait_for(lambda: "stays in the spool" in h.read_milter_log(), 30, "a failed drain")
            files = h.spool_files("new") + h.spool_files("cur")
            check(len(files) == 1, "want the report waiting in the spool, got %s" % files)
            with open(files[0], "rb") as f:
                entry = f.read()
            check(entry.startswith(b"TLSRPT-SPOOL 1\n"), "spool entry format")
            check(entry.endswith(msg), "the spooled message must end with the bytes sent")
            check(h.count("SELECT count(*) FROM report") == 0, "nothing stored while locked")
        finally:
            locker.stdin.close()
            locker.wait(30)
        t1 = time.monotonic()
        wait_reports(h, 1, timeout=60)
        log("landed %.1fs after the lock was released" % (time.monotonic() - t1))
        wait_for(lambda: not h.spool_files(), 20, "the spool to empty")
        check_report(h, "google-like.eml")


def sc_stall(milter):
    with Harness(milter, ["DrainRetryMax 60"]) as h:
        wait_for(h.db_ready, 20, "the database to be created")
        locker = h.lock_db()
        try:
            expect_250(h.send(sample("google-like.eml"), [RUA]), "database locked")
            wait_for(lambda: "1 waiting in " in h.read_milter_log(), 30, "the backlog in the log")
            expect_250(h.send(sample("microsoft-like.eml"), [RUA]), "database locked, second report")
            # Each try waits out SQLite's busy timeout (5 s): about 30 s to the 8 s step.
            wait_for(lambda: "next try in 8 s" in h.read_milter_log(), 90, "the 8 s back-off step")
            steps = re.findall(r"reports are NOT being stored: .*; (\d+) waiting in .*; next try in (\d+) s",
                               h.read_milter_log())
            log("back-off steps (backlog, seconds): %s" % steps)
            check([int(b) for _, b in steps] == [1, 2, 4, 8], "want one log line per back-off step, got %s" % steps)
            check(steps[-1][0] == "2", "the last step must count both reports waiting")
        finally:
            locker.stdin.close()
            locker.wait(30)
        t0 = time.monotonic()
        expect_250(h.send(sample("mailru-like.eml"), [RUA]), "database back")
        wait_reports(h, 3, timeout=60)
        took = time.monotonic() - t0
        log("all 3 stored %.1fs after the database came back (the back-off step was 8 s)" % took)
        check(took < 4, "a new report must wake the worker during a back-off: took %.1fs" % took)
        wait_for(lambda: "spool drained again" in h.read_milter_log(), 10, "the recovery in the log")


def sc_milterdown(milter):
    with Harness(milter) as h:
        expect_250(h.send(sample("google-like.eml"), [RUA]), "milter up")
        took = h.stop_milter()
        log("milter stopped in %.1fs" % took)
        code, text = h.send(sample("microsoft-like.eml"), [RUA])
        check(400 <= code < 500, "milter down: want 4xx, got %s %s" % (code, text))
        code2, _ = h.send(plain_message("while down"), ["bob@example.test"])
        check(400 <= code2 < 500, "milter down: ordinary mail must be deferred too (tempfail)")
        log("milter down: %s %s" % (code, text))
        h.start_milter()
        expect_250(h.send(sample("microsoft-like.eml"), [RUA]), "milter up again")
        wait_reports(h, 2)
        check_report(h, "google-like.eml")
        check_report(h, "microsoft-like.eml")


def sc_reload(milter):
    with Harness(milter) as h:
        expect_250(h.send(sample("google-like.eml"), ["alice@example.test"]), "before reload")
        h.wait_queue_empty()
        check(h.spool_files() == [] and " spooled " not in h.read_milter_log(), "alice is no rua address yet")
        h.write_milter_conf(["RuaAddress alice@example.test"])
        h.milter.send_signal(signal.SIGHUP)
        wait_for(lambda: "configuration reloaded" in h.read_milter_log(), 10, "the reload")
        expect_250(h.send(sample("google-like.eml"), ["alice@example.test"]), "after reload")
        wait_reports(h, 1)
        h.write_milter_conf(["RuaAddress alice@example.test", "NoSuchKey 1"])
        h.milter.send_signal(signal.SIGUSR1)
        wait_for(lambda: "reload failed" in h.read_milter_log(), 10, "the failed reload")
        check(re.search(r"milter.conf:\d+: NoSuchKey: unknown key", h.read_milter_log()) is not None,
              "the error must name file, line, key")
        check(h.milter.poll() is None, "a bad reload must not stop the milter")
        expect_250(h.send(sample("microsoft-like.eml"), ["alice@example.test"]), "after a failed reload")
        wait_reports(h, 2)
        log("reloaded on SIGHUP, kept the running config on a bad SIGUSR1")


def sc_dkim(milter):
    with Harness(milter, ["TrustedAuthservIDs mx.example.net", "RequireDKIM yes"]) as h:
        expect_250(h.send(sample("google-like.eml"), [RUA]), "dkim pass")
        forged = sample("mailru-like.eml").replace(
            b"\r\n\r\n", b"\r\nAuthentication-Results: evil.example; dkim=pass header.d=sender-r.example\r\n\r\n", 1)
        expect_250(h.send(forged, [RUA]), "forged authserv-id")
        stripped = re.sub(rb"Authentication-Results:[^\r]*\r\n(?:[ \t][^\r]*\r\n)*", b"",
                          sample("microsoft-like.eml"), count=1)
        expect_250(h.send(stripped, [RUA]), "no Authentication-Results")
        wait_for(lambda: h.count("SELECT count(*) FROM report") + h.count("SELECT count(*) FROM quarantine") >= 3,
                 60, "three outcomes")
        row = check_report(h, "google-like.eml")
        check(row[5] == "pass", "dkim column %r, want 'pass'" % row[5])
        reasons = sorted(r[0] for r in h.query("SELECT reason FROM quarantine"))
        check(reasons == ["unauthenticated", "unauthenticated"], "quarantine reasons %s" % reasons)
        check(h.count("SELECT count(*) FROM report") == 1, "only the authenticated report may be stored")


def sc_parallel(milter, clients=20, per_client=50, distinct=700):
    with Harness(milter, ["Action discard"]) as h:
        total = clients * per_client
        results, errors = [], []

        def client(k):
            s = h.smtp()
            try:
                for i in range(per_client):
                    n = (k * per_client + i) % distinct
                    results.append(h.send(report_message(n), [RUA], sender="reports@load.example", conn=s))
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(repr(e))
            finally:
                s.quit()
        ingest_counts = []
        ingest = None
        if INGEST:
            # Run as nobody, who may not reach the build tree (a clone under
            # /root): a copy in the harness root.
            ingest = os.path.join(h.root, "tlsrpt-ingest")
            shutil.copy(INGEST, ingest)
            os.chmod(ingest, 0o755)

        def other_drainer():
            # tlsrpt-ingest --spool on the same spool while the milter's
            # worker drains it: no entry may be processed twice.
            while not done.is_set():
                r = subprocess.run([ingest, "--db", h.db, "--spool", h.spool, "--json"],
                                   user=h.nobody_uid, group=h.nobody_gid, capture_output=True, text=True,
                                   timeout=120, cwd="/")
                if r.returncode not in (0, 1):
                    errors.append("tlsrpt-ingest: exit %d: %s" % (r.returncode, r.stderr.strip()))
                    return
                ingest_counts.append(json.loads(r.stdout.strip().splitlines()[-1]))
                time.sleep(0.2)
        done = threading.Event()
        t0 = time.monotonic()
        threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
        drainer = threading.Thread(target=other_drainer) if INGEST else None
        for t in threads + ([drainer] if drainer else []):
            t.start()
        for t in threads:
            t.join()
        sent_s = time.monotonic() - t0
        check(not errors, "client errors: %s" % errors[:3])
        bad = [r for r in results if r[0] != 250]
        check(len(results) == total and not bad, "want %d x 250, got %d, failures %s"
              % (total, len(results), bad[:3]))
        log("%d messages accepted by %d clients in %.1fs (%.0f msg/s)" % (total, clients, sent_s, total / sent_s))
        wait_for(lambda: h.count("SELECT count(*) FROM report WHERE org_name = 'Load Org'") >= distinct
                 and not h.spool_files(), 120, "%d distinct reports and an empty spool" % distinct, step=0.5)
        stored_s = time.monotonic() - t0
        done.set()
        if drainer:
            drainer.join()
        check(not errors, "errors: %s" % errors[:3])
        time.sleep(1)
        n = h.count("SELECT count(*) FROM report WHERE org_name = 'Load Org'")
        ids = h.count("SELECT count(DISTINCT report_id) FROM report WHERE org_name = 'Load Org'")
        check(n == distinct and ids == distinct, "want %d reports stored once each, got %d rows, %d ids"
              % (distinct, n, ids))
        lines = re.findall(r"stored (\d+), duplicates (\d+), quarantined (\d+)", h.read_milter_log())
        stored = sum(int(a) for a, _, _ in lines)
        dups = sum(int(b) for _, b, _ in lines)
        quar = sum(int(c) for _, _, c in lines)
        i_stored = sum(c["stored"] for c in ingest_counts)
        i_dups = sum(c["duplicates"] for c in ingest_counts)
        i_quar = sum(c["quarantined"] for c in ingest_counts)
        check((stored + i_stored, dups + i_dups, quar + i_quar) == (distinct, total - distinct, 0),
              "milter + tlsrpt-ingest counted stored %d+%d, duplicates %d+%d, quarantined %d+%d; "
              "want %d, %d, 0" % (stored, i_stored, dups, i_dups, quar, i_quar, distinct, total - distinct))
        log("all %d in the database %.1fs after the first message: %d stored, %d duplicates "
            "(milter worker %d+%d, tlsrpt-ingest --spool %d+%d in %d runs)"
            % (distinct, stored_s, stored + i_stored, dups + i_dups, stored, dups, i_stored, i_dups,
               len(ingest_counts)))


def sc_summary(milter):
    check(REPORT is not None, "summary needs --report")
    with Harness(milter, ["Action discard"]) as h:
        for name in ("google-like.eml", "microsoft-like.eml", "mailru-like.eml"):
            expect_250(h.send(sample(name), [RUA]), name)
        wait_reports(h, 3)
        # Postfix's sendmail, pointed at this private instance: postdrop,
        # pickup, cleanup, qmgr, virtual - the path cron's mail takes.
        env = dict(os.environ, MAIL_CONFIG=os.path.join(h.root, "etc"))
        p = subprocess.run([REPORT, "--db", h.db, "--now", "2026-11-23T00:00:00Z", "email", "--since", "1970-01-01",
                            "--to", "Post Master <alice@example.test>", "--from", "TLS Reports <tlsrpt-report@example.test>",
                            "--sendmail", "/usr/sbin/sendmail"], env=env, capture_output=True, timeout=60)
        check(p.returncode == 0, "tlsrpt-report email --sendmail: exit %d %s" % (p.returncode, p.stderr))
        wait_for(lambda: len(h.maildir("alice")) == 1, 60, "the summary in alice's mailbox")
        raw = h.maildir("alice")[0]
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        check(not msg.defects, "delivered summary: defects %r" % msg.defects)
        check(msg["To"].addresses[0].addr_spec == "alice@example.test" and
              msg["From"].addresses[0].display_name == "TLS Reports", "addresses as sent: %s / %s"
              % (msg["To"], msg["From"]))
        check(str(msg["Subject"]).startswith("TLS-RPT ") and "sessions" in str(msg["Subject"]),
              "Subject: %s" % msg["Subject"])
        check(any("mx.example.test" in str(r) for r in msg.get_all("Received", [])),
              "delivered through this Postfix (Received by mx.example.test)")
        check([x.get_content_type() for x in msg.iter_parts()] == ["text/plain", "text/html"], "parts")
        text = msg.get_body(("plain",)).get_content()
        html = msg.get_body(("html",)).get_content()
        orgs = [r[0] for r in h.query("SELECT DISTINCT org_name FROM report")]
        check(len(orgs) == 3 and all(o in text for o in orgs), "the text names the 3 organizations %r" % orgs)
        check(str(msg["Subject"]) == text.split("\n")[0], "the text starts with the Subject")
        check(html.lstrip().lower().startswith("<!doctype html") and "</html>" in html, "an HTML document")
        dbdir = os.path.dirname(h.db)
        owners = {n: os.stat(os.path.join(dbdir, n)).st_uid for n in os.listdir(dbdir)}
        check(all(u == h.nobody_uid for u in owners.values()),
              "tlsrpt-report (run as root, read-only) left every database file the milter's: %r" % owners)
        log("summary of 3 captured reports delivered through Postfix's sendmail: %d bytes" % len(raw))


def sc_throughput(milter, n=600, clients=10):
    def run(h):
        msg = plain_message("bench", 20)
        per = n // clients

        def client():
            s = h.smtp()
            for _ in range(per):
                expect_250(h.send(msg, ["bob@example.test"], sender="alice@sender.example", conn=s), "bench")
            s.quit()
        t0 = time.monotonic()
        ts = [threading.Thread(target=client) for _ in range(clients)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        return per * clients / (time.monotonic() - t0)
    with Harness(milter) as h:
        with_m = run(h)
    with Harness(milter, use_milter=False) as h:
        without = run(h)
    log("ordinary mail, %d clients: %.0f msg/s with the milter, %.0f msg/s without" % (clients, with_m, without))


SCENARIOS = {
    "capture": sc_capture, "discard": sc_discard, "ordinary": sc_ordinary, "oversize": sc_oversize,
    "spoolfail": sc_spoolfail, "dblocked": sc_dblocked, "stall": sc_stall, "milterdown": sc_milterdown, "reload": sc_reload, "dkim": sc_dkim,
    "parallel": sc_parallel, "summary": sc_summary, "throughput": sc_throughput,
}


def main():
    global SAMPLES, INGEST, REPORT
    ap = argparse.ArgumentParser()
    ap.add_argument("--milter", required=True)
    ap.add_argument("--ingest")
    ap.add_argument("--report")
    ap.add_argument("--samples", required=True)
    ap.add_argument("scenario", choices=sorted(SCENARIOS))
    a = ap.parse_args()
    SAMPLES = a.samples
    INGEST = a.ingest and os.path.abspath(a.ingest)
    REPORT = a.report and os.path.abspath(a.report)
    return run_scenario(SCENARIOS, a.scenario, a.milter, SCENARIO_TIMEOUT)


if __name__ == "__main__":
    sys.exit(main())
