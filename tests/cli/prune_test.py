#!/usr/bin/env python3
"""tests/cli/prune_test.py - tlsrpt-ingest --prune-before (CTest cli.prune).

Usage: prune_test.py --ingest BIN --report BIN --source DIR --work DIR

A database of samples/ and 1,500 generated reports over 96 days (the
random rows of tests/report's rollup test: sts+tlsa copies, multi-domain
reports, 7-day ranges, starts at any hour), with quarantine entries last
seen on many days, is pruned at a time in the middle of a day.  Checked
against what was computed from the raw tables before the prune:

  - --dry-run changes nothing and its numbers are the expected ones;
  - exactly the reports whose range ends at or before the time are gone,
    and their policy and failure rows; the quarantine entries last seen
    before it are gone, the others stay;
  - the rollups equal a refold of the remaining raw rows (every rollup
    table, roll_fail_tot included), and tlsrpt-report gives the same
    output from the rollups as from the raw rows (TLSRPT_NO_ROLLUP=1);
  - tlsrpt-report summary over the kept window equals what it said before;
  - a prune that fails on its last statement (a trigger injected), or is
    killed with SIGKILL while it runs, leaves the database as it was (or,
    killed after its commit, fully pruned);
  - VACUUM returned the space (no free pages, a smaller file, integrity);
  - usage errors exit 2.
Python standard library only.
"""
import glob
import hashlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "report"))
import report_test as rt  # noqa: E402  (random rows, rollup comparisons)

WHEN = "2026-10-01T06:00:00Z"
WHEN_T = 1790834400                    # the same, in UTC seconds
NOW = "2026-11-23T00:00:00Z"
FAILURES = rt.FAILURES                 # one list: rt's checks count too
check = rt.check


def env():
    e = dict(os.environ)
    e["TLSRPT_NOW"] = NOW
    e.pop("TLSRPT_DB", None)
    return e


def ingest(a, args, **kw):
    return subprocess.run([a.ingest] + args, capture_output=True, env=env(), timeout=600, **kw)


def rm_db(path):
    for f in (path, path + "-wal", path + "-shm"):
        if os.path.exists(f):
            os.unlink(f)


def copy_db(src, dst):
    rm_db(dst)
    con = sqlite3.connect(src)
    out = sqlite3.connect(dst)
    con.backup(out)
    out.close()
    con.close()


TABLES = ("report", "policy", "failure", "quarantine", "roll_sess", "roll_fail", "roll_fail_mx",
          "roll_fail_ip", "roll_fail_tot", "roll_policy", "roll_multidom", "roll_pending")


def content(path):
    """A digest of every row of the tables a prune touches."""
    con = sqlite3.connect(path)
    h = hashlib.sha256()
    for t in TABLES:
        for row in sorted(con.execute("SELECT * FROM %s" % t).fetchall(), key=repr):
            h.update(repr(row).encode())
    con.close()
    return h.hexdigest()


def build(a):
    rows = rt.random_rows(20261206, 1500)
    files = os.path.join(a.work, "json")
    shutil.rmtree(files, ignore_errors=True)
    rt.rows_as_json_files(rows, files)
    db = os.path.join(a.work, "base.db")
    rm_db(db)
    samples = sorted(glob.glob(os.path.join(a.source, "samples", "*")))
    p = ingest(a, ["--db", db, "-q", "--batch", "100", files] + samples)
    check(p.returncode in (0, 1), "building the database: exit %d %s" % (p.returncode, p.stderr))
    # Quarantine entries: junk inputs, last seen on days around WHEN.
    junk = os.path.join(a.work, "junk")
    shutil.rmtree(junk, ignore_errors=True)
    os.makedirs(junk)
    for i in range(40):
        with open(os.path.join(junk, "j%02d.json" % i), "w") as f:
            f.write('{"not a report": %d}' % i)
    p = ingest(a, ["--db", db, "-q", junk])
    con = sqlite3.connect(db)
    ids = [r[0] for r in con.execute("SELECT id FROM quarantine ORDER BY id")]
    for k, qid in enumerate(ids):
        seen = WHEN_T + (k - len(ids) // 2) * 43200 + (k % 3) - 1   # around WHEN, some a second off
        con.execute("UPDATE quarantine SET first_seen = ?, last_seen = ? WHERE id = ?", (seen - 86400, seen, qid))
    con.commit()
    con.close()
    check(len(ids) >= 40, "junk quarantined (%d entries)" % len(ids))
    return db


def expected(db):
    """What the prune must remove, from the raw tables."""
    con = sqlite3.connect(db)
    gone = set(r[0] for r in con.execute("SELECT id FROM report WHERE end_time <= ?", (WHEN_T,)))
    pols = set(r[0] for r in con.execute("SELECT p.id FROM policy p JOIN report r ON r.id = p.report"
                                         " WHERE r.end_time <= ?", (WHEN_T,)))
    fails = con.execute("SELECT COUNT(*) FROM failure f JOIN policy p ON p.id = f.policy JOIN report r"
                        " ON r.id = p.report WHERE r.end_time <= ?", (WHEN_T,)).fetchone()[0]
    quar = set(r[0] for r in con.execute("SELECT id FROM quarantine WHERE last_seen < ?", (WHEN_T,)))
    first, last = con.execute("SELECT MIN(start_time), MAX(end_time) FROM report WHERE end_time <= ?",
                              (WHEN_T,)).fetchone()
    all_ids = set(r[0] for r in con.execute("SELECT id FROM report"))
    all_q = set(r[0] for r in con.execute("SELECT id FROM quarantine"))
    con.close()
    return dict(gone=gone, pols=pols, fails=fails, quar=quar, first=first, last=last, all=all_ids, all_q=all_q)


def day(t):
    return time.strftime("%Y-%m-%d", time.gmtime(t))


def kept_window_summaries(a, db):
    """summary over a window holding only reports that stay (they start
    after WHEN, so none of them can have ended before it)."""
    out = []
    for by in ("org,domain,type", "mx,type", "domain", "ip", "policy,org", "week,org", "month,type"):
        p = subprocess.run([a.report, "--db", db, "--format", "json", "summary", "--by", by,
                            "--since", "2026-10-02"], capture_output=True, env=env(), timeout=120)
        out.append((by, p.returncode, p.stdout))
    return out


def prune(a):
    base = build(a)
    exp = expected(base)
    n_gone, n_kept = len(exp["gone"]), len(exp["all"] - exp["gone"])
    check(n_gone > 300 and n_kept > 300, "WHEN is in the middle: %d reports go, %d stay" % (n_gone, n_kept))
    check(0 < len(exp["quar"]) < len(exp["all_q"]), "some quarantine entries go (%d of %d)"
          % (len(exp["quar"]), len(exp["all_q"])))
    before_window = kept_window_summaries(a, base)
    digest0 = content(base)

    # --dry-run: nothing changes, the numbers are the expected ones.
    db = os.path.join(a.work, "pruned.db")
    copy_db(base, db)
    p = ingest(a, ["--db", db, "--prune-before", WHEN, "--dry-run", "--json"])
    dry = json.loads(p.stdout) if p.returncode == 0 else {}
    check(p.returncode == 0, "--dry-run: exit %d %s" % (p.returncode, p.stderr))
    check(content(db) == digest0, "--dry-run changed nothing")
    want = {"reports": n_gone, "policies": len(exp["pols"]), "failures": exp["fails"],
            "quarantine": len(exp["quar"]), "first_day": day(exp["first"]), "last_day": day(exp["last"] - 1),
            "dry_run": True, "before": WHEN}
    check(dry == want, "--dry-run says %r, expected %r" % (dry, want))
    p = ingest(a, ["--db", db, "--prune-before", WHEN, "--dry-run"])
    check(p.returncode == 0 and b"would prune" in p.stdout and b" %d reports" % n_gone in p.stdout,
          "--dry-run's line: %r" % p.stdout)

    # The prune itself, WHEN given relative to TLSRPT_NOW (53 days before
    # 2026-11-23 is 2026-10-01, 00:00: a second run at the datetime).
    size0 = os.path.getsize(db)
    p = ingest(a, ["--db", db, "--prune-before", WHEN, "--json"])
    got = json.loads(p.stdout) if p.returncode == 0 else {}
    check(p.returncode == 0, "prune: exit %d %s" % (p.returncode, p.stderr))
    check({k: got.get(k) for k in want if k != "dry_run"} == {k: v for k, v in want.items() if k != "dry_run"}
          and got.get("dry_run") is False, "the prune's numbers equal --dry-run's: %r" % got)
    con = sqlite3.connect(db)
    ids = set(r[0] for r in con.execute("SELECT id FROM report"))
    check(ids == exp["all"] - exp["gone"], "exactly the reports ending before WHEN are gone (%d left, %d expected)"
          % (len(ids), n_kept))
    pols = set(r[0] for r in con.execute("SELECT id FROM policy"))
    check(not (pols & exp["pols"]), "their policy rows are gone")
    check(con.execute("SELECT COUNT(*) FROM policy WHERE report NOT IN (SELECT id FROM report)").fetchone()[0] == 0
          and con.execute("SELECT COUNT(*) FROM failure WHERE policy NOT IN (SELECT id FROM policy)")
          .fetchone()[0] == 0, "no policy or failure row left without its report")
    nf = con.execute("SELECT COUNT(*) FROM failure").fetchone()[0]
    cb = sqlite3.connect(base)
    nf0 = cb.execute("SELECT COUNT(*) FROM failure").fetchone()[0]
    cb.close()
    check(nf == nf0 - exp["fails"], "failure rows: %d left of %d, %d expected to go" % (nf, nf0, exp["fails"]))
    q = set(r[0] for r in con.execute("SELECT id FROM quarantine"))
    check(q == exp["all_q"] - exp["quar"], "exactly the quarantine entries last seen before WHEN are gone")
    check(con.execute("PRAGMA freelist_count").fetchone()[0] == 0, "VACUUM left no free pages")
    check(con.execute("PRAGMA integrity_check").fetchone()[0] == "ok", "integrity_check after the prune")
    check(con.execute("SELECT pruning FROM roll_state").fetchone()[0] == 0, "roll_state.pruning back to 0")
    con.close()
    check(os.path.getsize(db) < size0, "the file shrank (%d -> %d bytes)" % (size0, os.path.getsize(db)))

    # The rollups equal the remaining raw rows.
    rt.check_fold_equals_sql(a, db, "after the prune")
    rt.check_fail_tot(db, "after the prune")
    rt.compare_rollup(a, db, "after the prune", rt.all_time_queries() + [
        ["summary", "--by", k, "--since", "2026-08-01"] for k in
        ("org", "domain", "mx", "type", "ip", "policy", "day", "week", "month", "org,domain,mx,type,ip,policy,day")
    ] + [["trend", "--interval", iv, "--since", "2026-08-01"] for iv in ("day", "week", "month")] + [
        ["summary", "--by", "week,org", "--since", "2026-09-28", "--until", "2026-10-12"],
        ["summary", "--by", "month,type", "--since", "2026-10-01"],
        ["summary", "--by", "org,domain", "--since", "2026-10-01", "--domain", "example.com"]])
    check(kept_window_summaries(a, db) == before_window, "summaries over the kept window unchanged")

    # A second prune at the same time, given as 53d from TLSRPT_NOW (00:00
    # of that day, before WHEN): nothing more goes.
    p = ingest(a, ["--db", db, "--prune-before", "53d", "--json", "--no-vacuum"])
    got = json.loads(p.stdout) if p.returncode == 0 else {}
    check(got.get("reports") == 0 and got.get("before") == "2026-10-01T00:00:00Z",
          "53d is 2026-10-01 and finds nothing more: %r" % got)

    # A prune that fails on its last statement changes nothing.
    fail = os.path.join(a.work, "fail.db")
    copy_db(base, fail)
    con = sqlite3.connect(fail)
    con.execute("CREATE TRIGGER injected BEFORE DELETE ON quarantine BEGIN"
                " SELECT RAISE(ABORT, 'injected failure'); END")
    con.commit()
    con.close()
    d1 = content(fail)
    p = ingest(a, ["--db", fail, "--prune-before", WHEN])
    check(p.returncode == 3 and b"injected failure" in p.stderr and b"nothing was changed" in p.stderr,
          "a failing prune exits 3 and says so: %d %r" % (p.returncode, p.stderr))
    check(content(fail) == d1, "a failing prune changed nothing")

    # Killed with SIGKILL while it runs: as before, or (killed after the
    # commit, during VACUUM) fully pruned.
    after = content(db)
    outcomes = set()
    for delay in (0.02, 0.05, 0.1, 0.2, 0.4):
        k = os.path.join(a.work, "kill.db")
        copy_db(base, k)
        proc = subprocess.Popen([a.ingest, "--db", k, "--prune-before", WHEN], env=env(),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        c = content(k)
        state = "unchanged" if c == digest0 else "pruned" if c == after else "other"
        outcomes.add(state)
        check(state != "other", "killed after %.2f s: the database is as before or fully pruned" % delay)
        con = sqlite3.connect(k)
        check(con.execute("PRAGMA integrity_check").fetchone()[0] == "ok", "integrity after a kill")
        con.close()
    print("kill -9 outcomes: %s" % sorted(outcomes))

    # Usage.
    for args, what in ((["--prune-before", "last tuesday"], "a bad date"),
                       (["--dry-run"], "--dry-run alone"),
                       (["--prune-before", "400d", os.path.join(a.work, "json")], "PATHs with --prune-before"),
                       (["--prune-before", "400d", "--dump"], "--dump with --prune-before")):
        p = ingest(a, ["--db", os.path.join(a.work, "usage.db")] + args)
        check(p.returncode == 2, "%s: exit 2 (%d)" % (what, p.returncode))
    p = ingest(a, ["--help"])
    check(b"--prune-before" in p.stdout and b"--dry-run" in p.stdout, "--help names --prune-before")
    print("%d of %d reports pruned, %d quarantine entries" % (n_gone, len(exp["all"]), len(exp["quar"])))


if __name__ == "__main__":
    rt.test_main([prune])
