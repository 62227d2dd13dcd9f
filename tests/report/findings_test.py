#!/usr/bin/env python3
"""tests/report/findings_test.py - `tlsrpt-report findings` (CTest
report.findings, label "report").

Usage: findings_test.py --report BIN --ingest BIN --source DIR --work DIR

plant.py writes reports with planted problems (one domain each, plus clean
domains) as spool entries; tlsrpt-ingest --spool stores them with their
arrival times.  Then:
  - every planted problem is found: per planted domain the findings' (code,
    severity, mx, type[, reason]) equal plant.py's manifest exactly, for two
    seeds;
  - the evidence equals what this test computes from the report files
    themselves with the counting rules of tlsrpt-report(1) (sessions per
    (report, domain) at the maximum over its policies; failure details
    deduplicated the same way): failed and total sessions, rate, the
    organizations, the reason codes with their counts, first and last day,
    the policy strings; and it agrees with `summary`;
  - clean domains give nothing;
  - exit statuses 0 (nothing or info), 1 (warning), 2 (critical), 3 (usage)
    and 5 (no database), thresholds and --silent-days/--ready-days options;
  - a stopped capture pipeline (plant.py --stopped) is critical and sets
    pipeline_stopped;
  - golden outputs in the table, CSV and JSON formats
    (golden/findings-*.out; TLSRPT_UPDATE_GOLDEN=1 rewrites them).
Python standard library only.
"""
import collections
import datetime
import gzip
import json
import os
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True          # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report_test as rt  # noqa: E402  (test_main(): the arguments, the verdict)

NOW_DAY = "2026-12-01"
NOW = NOW_DAY + "T12:00:00Z"          # findings --now: the window is 2026-11-24 .. 2026-11-30
FAILURES = []


def check(ok, what):
    if ok:
        print("ok: " + what)
    else:
        FAILURES.append(what)
        print("FAIL: " + what, file=sys.stderr)


def env():
    e = dict(os.environ)
    e["NO_COLOR"] = "1"
    e.pop("COLUMNS", None)
    e.pop("TLSRPT_DB", None)
    e.pop("TLSRPT_NOW", None)
    e["TLSRPT_SPOOL"] = "/nonexistent-spool"      # no backlog warning on stderr
    e["TZ"] = "America/New_York"
    return e


def run(a, args, extra_env=None):
    e = env()
    e.update(extra_env or {})
    p = subprocess.run([a.report] + args, capture_output=True, env=e, timeout=120)
    return p.returncode, p.stdout, p.stderr


def day_ts(s):
    return int(datetime.datetime.strptime(s, "%Y-%m-%d").replace(tzinfo=datetime.timezone.utc).timestamp())


def day_str(ts):
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime("%Y-%m-%d")


def build(a, name, seed, stopped=False):
    """plant.py into a spool, tlsrpt-ingest --spool into a database: (db,
    manifest, the reports as plant.py wrote them)."""
    d = os.path.join(a.work, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    spool, db, man = os.path.join(d, "spool"), os.path.join(d, "t.db"), os.path.join(d, "manifest.json")
    cmd = [sys.executable, os.path.join(a.source, "tests", "report", "plant.py"), "--spool", spool,
           "--now", NOW_DAY, "--seed", str(seed), "--manifest", man] + (["--stopped"] if stopped else [])
    subprocess.run(cmd, check=True, capture_output=True)
    reports = []
    for f in sorted(os.listdir(os.path.join(spool, "new"))):
        raw = open(os.path.join(spool, "new", f), "rb").read()
        head, body = raw.split(b"\n\n", 1)
        if body[:2] == b"\x1f\x8b":
            reports.append(json.loads(gzip.decompress(body)))
    p = subprocess.run([a.ingest, "--db", db, "--spool", spool], capture_output=True, env=env())
    if p.returncode not in (0, 1):
        sys.exit("tlsrpt-ingest failed: " + p.stderr.decode(errors="replace"))
    return db, json.load(open(man)), reports


def findings(a, db, *extra):
    rc, out, err = run(a, ["--db", db, "--now", NOW, "findings", "--format", "json"] + list(extra))
    try:
        doc = json.loads(out)
    except ValueError:
        doc = None
    return rc, doc, err


# ---------------------------------------------------------------- the counting rules, independently

def mx_shown(fd):
    if fd.get("receiving-mx-hostname"):
        return fd["receiving-mx-hostname"]
    if fd.get("receiving-ip"):
        return "[%s]" % fd["receiving-ip"]
    return "(none)"


class Truth:
    """Counts of the reports that start in [since, until)."""

    def __init__(self, reports, since, until):
        self.sessions = collections.Counter()       # domain -> sessions
        self.failed_sum = collections.Counter()     # domain -> failed (summaries)
        self.group = collections.Counter()          # (domain, mx, type) -> failed (details)
        self.reason = collections.Counter()         # (domain, mx, type, rc) -> failed
        self.days = collections.defaultdict(set)    # (domain, mx, type) -> days
        self.orgs = collections.defaultdict(set)    # (domain, mx, type) -> orgs
        self.org_sessions = collections.Counter()   # (domain, org, policy type) -> sessions
        self.org_days = collections.defaultdict(set)  # (domain, org) -> days with a report
        self.policies = collections.defaultdict(lambda: collections.defaultdict(set))  # dom -> text -> {(org, day)}
        for r in reports:
            start = r["date-range"]["start-datetime"][:10]
            t = day_ts(start)
            if not since <= t < until:
                continue
            by_dom = collections.defaultdict(list)
            for p in r["policies"]:
                by_dom[p["policy"]["policy-domain"]].append(p)
            for dom, pols in by_dom.items():
                ok = max(p["summary"]["total-successful-session-count"] for p in pols)
                bad = max(p["summary"]["total-failure-session-count"] for p in pols)
                self.sessions[dom] += ok + bad
                self.failed_sum[dom] += bad
                self.org_days[(dom, r["organization-name"])].add(start)
                for p in pols:
                    self.org_sessions[(dom, r["organization-name"], p["policy"]["policy-type"])] += ok + bad
                    if p["policy"]["policy-type"] == "sts":
                        text = "; ".join(p["policy"]["policy-string"])
                        self.policies[dom][text].add((r["organization-name"], start))
                # per detail identity: the maximum over the policies of the per-policy sum
                best = collections.Counter()
                for p in pols:
                    per = collections.Counter()
                    for fd in p.get("failure-details", []):
                        k = (fd["result-type"], fd.get("sending-mta-ip"), mx_shown(fd), fd.get("receiving-ip"),
                             fd.get("failure-reason-code"))
                        per[k] += fd["failed-session-count"]
                    for k, n in per.items():
                        best[k] = max(best[k], n)
                for (ty, sip, mx, rip, rc), n in best.items():
                    self.group[(dom, mx, ty)] += n
                    self.days[(dom, mx, ty)].add(start)
                    self.orgs[(dom, mx, ty)].add(r["organization-name"])
                    if rc:
                        self.reason[(dom, mx, ty, rc)] += n


def rate(failed, sessions):
    return round(100.0 * failed / sessions, 2)


# ---------------------------------------------------------------- the checks

def key_of(f):
    k = (f["code"], f["severity"], f["mx"], f["type"])
    if f["code"] == "sts-policy-fetch-error":
        k += (f["reasons"],)
    return k


def expected_keys(d):
    out = []
    for e in d["expect"]:
        k = (e["code"], e["severity"], e["mx"], e["type"])
        if "reason" in e:
            k += (e["reason"],)
        out.append(k)
    return sorted(out, key=repr)


def check_planted(a, label, db, man, reports):
    rc, doc, err = findings(a, db)
    check(rc == 2 and doc is not None, "%s: findings exit 2 (critical) with JSON (%d, %s)" % (label, rc, err[:200]))
    if doc is None:
        return None
    now = day_ts(NOW_DAY)
    since, until, prev_since = now - 7 * 86400, now, now - 14 * 86400
    check(doc["since"] == "2026-11-24T00:00:00Z" and doc["until"] == "2026-12-01T00:00:00Z"
          and doc["previous_since"] == "2026-11-17T00:00:00Z", "%s: the window is the 7 days before now" % label)
    win, prev = Truth(reports, since, until), Truth(reports, prev_since, since)
    by_dom = collections.defaultdict(list)
    for f in doc["findings"]:
        by_dom[f["domain"]].append(f)
    counts = collections.Counter(f["severity"] for f in doc["findings"])
    check(doc["counts"] == {"critical": counts["critical"], "warning": counts["warning"], "info": counts["info"],
                            "dropped": 0}, "%s: counts match the findings" % label)
    sev_rank = {"critical": 2, "warning": 1, "info": 0}
    ranks = [sev_rank[f["severity"]] for f in doc["findings"]]
    check(ranks == sorted(ranks, reverse=True), "%s: sorted by severity" % label)

    for d in man["domains"]:
        dom = d["domain"]
        got = sorted((key_of(f) for f in by_dom.get(dom, [])), key=repr)
        want = expected_keys(d)
        check(got == want, "%s: %s (%s): findings %s" % (label, dom, d["kind"], "as planted" if got == want else
                                                         "%r, want %r" % (got, want)))
    for dom in man["clean"]:
        check(dom not in by_dom, "%s: clean domain %s gives no finding" % (label, dom))

    # The evidence of every finding against the reports.
    bad = []
    for f in doc["findings"]:
        dom, code = f["domain"], f["code"]
        if dom is None:
            continue
        sess = win.sessions[dom]
        if code == "domain-failure-rate":
            groups = [k for k in win.group if k[0] == dom]
            want = (win.failed_sum[dom], sess, sorted({o for k in groups for o in win.orgs[k]}),
                    min(d for k in groups for d in win.days[k]), max(d for k in groups for d in win.days[k]))
            got = (f["failed"], f["sessions"], f["orgs"].split(", "), f["first_day"], f["last_day"])
        elif code == "mx-failure-rate" or code == "mx-not-in-policy" or code == "new-failing-mx":
            groups = [k for k in win.group if k[0] == dom and k[1] == f["mx"]]
            want = (sum(win.group[k] for k in groups), sess, sorted({o for k in groups for o in win.orgs[k]}),
                    min(d for k in groups for d in win.days[k]), max(d for k in groups for d in win.days[k]))
            got = (f["failed"], f["sessions"], f["orgs"].split(", "), f["first_day"], f["last_day"])
        elif code == "new-failure-type":
            groups = [k for k in win.group if k[0] == dom and k[2] == f["type"]]
            want = (sum(win.group[k] for k in groups), sess, not any(k[0] == dom and k[2] == f["type"]
                                                                     for k in prev.group))
            got = (f["failed"], f["sessions"], True)
        elif code == "sts-policy-fetch-error":
            k = (dom, "(none)", f["type"], f["reasons"])
            want = (win.reason[k], sess)
            got = (f["failed"], f["sessions"])
        elif f["type"] is not None and f["failed"] is not None and code not in ("mode-testing-failures",):
            k = (dom, f["mx"] or "(none)", f["type"])
            if f["mx"] is None:            # a policy-host type: over the MX hosts
                groups = [g for g in win.group if g[0] == dom and g[2] == f["type"]]
            else:
                groups = [k]
            reasons = sorted("%s (%d)" % (r[3], n) for r, n in win.reason.items()
                             if (r[0], r[1], r[2]) in groups and f["mx"] is not None)
            want = (sum(win.group[g] for g in groups), sess, sorted({o for g in groups for o in win.orgs[g]}),
                    min(d for g in groups for d in win.days[g]), max(d for g in groups for d in win.days[g]),
                    "; ".join(reasons) if reasons else None)
            got = (f["failed"], f["sessions"], f["orgs"].split(", "), f["first_day"], f["last_day"],
                   f["reasons"] if f["mx"] is not None else None)
        else:
            continue
        if got != want:
            bad.append("%s %s %s: %r, want %r" % (code, dom, f["mx"], got, want))
        if f["failed"] is not None and f["sessions"]:
            if abs(f["rate"] - rate(f["failed"], f["sessions"])) > 0.0051:
                bad.append("%s %s: rate %r, want %r" % (code, dom, f["rate"], rate(f["failed"], f["sessions"])))
        for field in ("meaning", "fix", "evidence"):
            if not f[field]:
                bad.append("%s %s: no %s" % (code, dom, field))
    check(not bad, "%s: failed, sessions, rate, senders, reasons and days equal the reports' (%s)"
          % (label, "; ".join(bad[:5])))

    def one(dom, code):
        l = [f for f in by_dom.get(dom, []) if f["code"] == code]
        return l[0] if len(l) == 1 else None

    f = one("expired.example", "certificate-expired")
    first = day_str(now - 4 * 86400)
    check(f is not None and f["first_day"] == first and ("expired since %s" % first) in f["evidence"],
          "%s: certificate-expired says since when (%s)" % (label, first))
    f = one("drift.example", "policy-drift")
    vers = win.policies["drift.example"]
    ok = f is not None and sorted(f["policies"].split("\n")) == sorted(vers)
    for text, seen in vers.items():
        orgs = ", ".join(sorted({o for o, _ in seen}))
        first, last = min(d for _, d in seen), max(d for _, d in seen)
        ok = ok and ("seen by %s from %s to %s" % (orgs, first, last)) in f["evidence"]
    check(ok and "id" in f["meaning"], "%s: policy-drift names each version, who saw it, first and last day, "
          "and the unchanged id" % label)
    f = one("policy-switch.example", "policy-drift")
    check(f is not None and "moved to the new version" in f["meaning"],
          "%s: a clean switch of every sender is an info drift" % label)
    f = one("maxage.example", "policy-drift")
    check(f is not None and "max_age" in f["meaning"] and len(f["policies"].split("\n")) == 2,
          "%s: a max_age-only drift is explained by caching" % label)
    f = one("silent.example", "reporter-silent")
    check(f is not None and f["orgs"] == "Comcast" and f["last_day"] == day_str(now - 5 * 86400),
          "%s: the silent reporter and its last report day" % label)
    f = one("nopolicy.example", "policy-not-found-by-some")
    check(f is not None and f["orgs"] == "Mail.Ru"
          and f["sessions"] == win.org_sessions[("nopolicy.example", "Mail.Ru", "no-policy-found")],
          "%s: policy-not-found-by-some names the sender and its sessions" % label)
    f = one("rate-warn.example", "validation-failure")
    check(f is not None and "matches an mx pattern" in f["evidence"], "%s: validation-failure: the MX is in the policy"
          % label)
    f = one("stale-mx.example", "validation-failure")
    check(f is not None and "matches no mx pattern" in f["evidence"],
          "%s: validation-failure: the MX is not in the policy" % label)
    f = one("stale-mx.example", "mx-not-in-policy")
    check(f is not None and "mx-old.stale-mx.example" in f["evidence"] and "mode: enforce" in f["policies"],
          "%s: mx-not-in-policy shows the patterns senders saw" % label)
    f = one("fetch404.example", "domain-failure-rate")
    fs = [x for x in by_dom.get("fetch404.example", []) if x["code"] == "sts-policy-fetch-error"]
    m404 = [x for x in fs if x["reasons"].startswith("bad https response code: 404")]
    mto = [x for x in fs if "deadline" in x["reasons"]]
    mtls = [x for x in fs if x["reasons"].startswith("TLS handshake")]
    check(len(m404) == 1 and "/.well-known/mta-sts.txt" in m404[0]["meaning"] and len(mto) == 1
          and "in time" in mto[0]["meaning"] and len(mtls) == 1 and "TLS connection" in mtls[0]["meaning"],
          "%s: sts-policy-fetch-error: 404, timeout and TLS error told apart" % label)
    f = one("testing-ready.example", "mode-testing-ready")
    ready = Truth(reports, now - 14 * 86400, now).sessions["testing-ready.example"]
    check(f is not None and f["sessions"] == ready and f["failed"] == 0,
          "%s: mode-testing-ready over 14 clean days (%s sessions)" % (label, ready))
    q = [x for x in doc["findings"] if x["code"] == "quarantine-new"]
    rc2, out, _ = run(a, ["--db", db, "quarantine", "--format", "json"])
    reasons = sorted(r["reason"] for r in json.loads(out)["rows"]) if rc2 == 0 else None
    check(len(q) == 1 and [q[0]["type"]] == reasons and q[0]["severity"] == "warning"
          and q[0]["first_day"] == day_str(now - 2 * 86400),
          "%s: the quarantined input is a quarantine-new warning with its reason %s" % (label, reasons))
    check(not doc["pipeline_stopped"] and not any(x["code"] == "capture-stopped" for x in doc["findings"]),
          "%s: a running pipeline is not reported stopped" % label)

    # summary counts the same.
    rc2, out, _ = run(a, ["--db", db, "--now", NOW, "--since", "2026-11-24", "--until", "2026-11-30",
                          "summary", "--by", "domain,mx,type", "--format", "json"])
    s = json.loads(out)
    sums = {(r["domain"], r["mx"], r["type"]): r["failed_sessions"] for r in s["rows"]}
    doms = {r["domain"]: r for r in s["totals"]["domains"]}
    bad = []
    for f in doc["findings"]:
        if f["code"] == "domain-failure-rate":
            r = doms[f["domain"]]
            if (f["failed"], f["sessions"]) != (r["failed_sessions"], r["successful_sessions"] + r["failed_sessions"]):
                bad.append(f["domain"])
        elif f["code"] in ("starttls-not-supported", "certificate-expired", "certificate-not-trusted",
                           "certificate-host-mismatch", "validation-failure", "tlsa-invalid", "dnssec-invalid",
                           "dane-required", "failure-type-other"):
            if sums.get((f["domain"], f["mx"], f["type"])) != f["failed"]:
                bad.append("%s %s" % (f["domain"], f["type"]))
    check(rc2 == 0 and not bad, "%s: findings agree with summary --by domain,mx,type (%s)" % (label, bad))
    # The rollups and the raw rows give the same findings.
    args = ["--db", db, "--now", NOW, "findings", "--format", "json"]
    same = run(a, args)[1] == run(a, args, {"TLSRPT_NO_ROLLUP": "1"})[1]
    check(same, "%s: the same findings without the rollups (TLSRPT_NO_ROLLUP=1)" % label)
    return doc


def check_exit_codes(a, db):
    rc, doc, _ = findings(a, db, "--domain", "clean1.example")
    check(rc == 0 and doc["findings"] == [] and doc["worst"] is None, "a clean domain alone: exit 0, no finding")
    rc, doc, _ = findings(a, db, "--domain", "testing-ready.example")
    check(rc == 0 and [f["code"] for f in doc["findings"]] == ["mode-testing-ready"],
          "info only: exit 0 (%d)" % rc)
    rc, doc, _ = findings(a, db, "--domain", "starttls.example")
    check(rc == 1 and doc["worst"] == "warning", "the worst a warning: exit 1 (%d)" % rc)
    rc, doc, _ = findings(a, db, "--domain", "rate-crit.example")
    check(rc == 2 and doc["worst"] == "critical", "a critical finding: exit 2 (%d)" % rc)
    # Thresholds.
    rc, doc, _ = findings(a, db, "--domain", "rate-crit.example", "--crit-rate", "10")
    check(rc == 1 and {f["severity"] for f in doc["findings"]} == {"warning"},
          "--crit-rate 10: an 8%% failure rate is a warning (%d)" % rc)
    rc, doc, _ = findings(a, db, "--domain", "starttls.example", "--warn-rate", "0.1")
    check(rc == 1 and "domain-failure-rate" in [f["code"] for f in doc["findings"]],
          "--warn-rate 0.1: a 0.4% failure rate is a warning")
    # --mx and --type narrow the failure details, as for summary.
    rc, doc, _ = findings(a, db, "--mx", "mx2.mx-rate.example")
    rc2, out, _ = run(a, ["--db", db, "--now", NOW, "--since", "2026-11-24", "--until", "2026-11-30", "summary",
                          "--by", "domain", "--mx", "mx2.mx-rate.example", "--format", "json"])
    srow = json.loads(out)["rows"][0] if rc2 == 0 else {}
    rate_f = [f for f in doc["findings"] if f["code"] == "domain-failure-rate"]
    check(sorted(f["code"] for f in doc["findings"]) == ["domain-failure-rate", "starttls-not-supported"]
          and rate_f[0]["failed"] == srow.get("failed_sessions") and rate_f[0]["mx"] == "mx2.mx-rate.example",
          "--mx: the domain's failure rate from the details of that MX (as summary --mx), no policy findings")
    rc, doc, _ = findings(a, db, "--type", "certificate-host-mismatch")
    check({f["type"] for f in doc["findings"]} == {"certificate-host-mismatch"}
          and {f["domain"] for f in doc["findings"]} == {"mismatch.example", "mx-rate.example"},
          "--type: only findings of that type")
    rc, doc, _ = findings(a, db, "--domain", "silent.example", "--since", "2026-11-30", "--until", "2026-11-30")
    check(doc is not None and [f["code"] for f in doc["findings"]] == ["reporter-silent"],
          "a one-day window (the email's) still finds the silent reporter")
    rc, doc, _ = findings(a, db, "--domain", "silent.example", "--silent-days", "0")
    check(rc == 0 and doc["findings"] == [], "--silent-days 0 turns the silent-reporter rule off")
    rc, doc, _ = findings(a, db, "--domain", "testing-ready.example", "--ready-days", "30")
    check(rc == 0 and doc["findings"] == [], "--ready-days 30: 21 days of reports are not enough")
    # Usage errors (3) and a missing database (5).
    for args in (["--warn-rate", "0"], ["--crit-rate", "101"], ["--warn-rate", "6"], ["--silent-days", "x"],
                 ["--stopped-days", "-1"], ["--by", "org"], ["--limit", "5"], ["--bogus"], ["extra"]):
        rc, out, err = run(a, ["--db", db, "findings"] + args)
        check(rc == 3 and out == b"" and err != b"", "usage error %s: exit 3 (%d)" % (" ".join(args), rc))
    rc, out, err = run(a, ["--db", db, "--warn-rate", "2", "summary"])
    check(rc == 2, "--warn-rate is not an option of summary (exit 2, %d)" % rc)
    rc, out, err = run(a, ["--db", os.path.join(a.work, "no-such-dir", "x.db"), "findings"])
    check(rc == 5, "no database: exit 5 (%d)" % rc)
    rc, out, err = run(a, ["findings", "--help"])
    check(rc == 0 and b"--warn-rate" in out and b"Exit:" in out, "findings --help")


def check_stopped(a):
    db, man, reports = build(a, "stopped", 1, stopped=True)
    rc, doc, err = findings(a, db)
    stop = [f for f in doc["findings"] if f["code"] == "capture-stopped"] if doc else []
    last = max(r["date-range"]["start-datetime"][:10] for r in reports)
    check(rc == 2 and doc["pipeline_stopped"] and len(stop) == 1 and stop[0]["severity"] == "critical",
          "a stopped pipeline: capture-stopped, critical, pipeline_stopped, exit 2")
    check(not any(f["code"] == "reporter-silent" for f in doc["findings"]),
          "a stopped pipeline: not one reporter-silent finding per sender")
    check(stop and stop[0]["last_day"] > last and stop[0]["last_day"] <= day_str(day_ts(NOW_DAY) - 3 * 86400),
          "capture-stopped: the day of the last stored report (%s)" % (stop[0]["last_day"] if stop else None))
    rc, doc, err = findings(a, db, "--domain", "clean1.example")
    check(rc == 2 and [f["code"] for f in doc["findings"]] == ["capture-stopped"],
          "capture-stopped shows whatever the filters")
    rc, doc, err = findings(a, db, "--stopped-days", "5")
    check(not doc["pipeline_stopped"], "--stopped-days 5: three and a half days are not a stop yet")


def check_colour(a, db):
    """On a terminal the severities are coloured (unless NO_COLOR)."""
    import pty
    out = {}
    for name, nc in (("colour", None), ("no colour", "1")):
        master, slave = pty.openpty()
        e = env()
        e.pop("NO_COLOR", None)
        if nc:
            e["NO_COLOR"] = nc
        p = subprocess.Popen([a.report, "--db", db, "--now", NOW, "findings", "--domain", "expired.example"],
                             stdout=slave, stderr=subprocess.DEVNULL, env=e)
        os.close(slave)
        buf = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
        p.wait()
        os.close(master)
        out[name] = buf
    check(b"\x1b[31mcritical" in out["colour"] and b"\x1b[33mwarning" in out["colour"],
          "a terminal: critical in red, warning in yellow")
    check(b"\x1b[" not in out["no colour"] and b"critical" in out["no colour"], "NO_COLOR: no colour")


def check_golden(a, db):
    gdir = os.path.join(a.source, "tests", "report", "golden")
    update = os.environ.get("TLSRPT_UPDATE_GOLDEN") == "1"
    for fmt in ("table", "csv", "json"):
        rc, out, err = run(a, ["--db", db, "--now", NOW, "findings", "--format", fmt])
        got = b"exit %d\n" % rc + out
        path = os.path.join(gdir, "findings-%s.out" % fmt)
        if update:
            open(path, "wb").write(got)
            continue
        want = open(path, "rb").read() if os.path.exists(path) else None
        check(got == want, "golden %s" % os.path.basename(path))
        if got != want:
            sys.stderr.write(got.decode(errors="replace")[:2000] + "\n")


def check_hostile(a):
    """The bundled samples hold hostile names and reason codes (ESC
    sequences, formula prefixes, HTML): every format keeps them inert."""
    import csv
    import glob
    import io
    db = os.path.join(a.work, "samples.db")
    for f in (db, db + "-wal", db + "-shm"):
        if os.path.exists(f):
            os.unlink(f)
    files = sorted(glob.glob(os.path.join(a.source, "samples", "*.json")))
    subprocess.run([a.ingest, "--db", db] + files, capture_output=True, env=env())
    base = ["--db", db, "--now", "2026-11-22T00:00:00Z", "--since", "2026-11-01", "findings"]
    rc, out, _ = run(a, base)
    check(rc in (1, 2) and b"\x1b" not in out and b"\\x1b" in out,
          "hostile strings: the table shows ESC as \\x1b, never the byte")
    rc, out, _ = run(a, base + ["--format", "csv"])
    cells = [c for row in csv.reader(io.StringIO(out.decode())) for c in row]
    check(not any(c[:1] in ("=", "+", "@") for c in cells if c) and len(cells) > 16,
          "hostile strings: CSV cells are inert (no formula prefix)")
    rc, out, _ = run(a, base + ["--format", "json"])
    check(all(b < 0x80 for b in out) and json.loads(out)["findings"], "hostile strings: JSON is ASCII, parses")


def check_find_max(a):
    """Past RPT_FIND_MAX (1000) findings the least severe are left out and
    counted: 600 failing domains, 300 named a* failing half their sessions
    (critical), 300 named b* failing 2% (warning); each half alone stays
    under the cap, so their sum is the uncut count, and the cut keeps every
    critical finding."""
    d = os.path.join(a.work, "many")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(os.path.join(d, "in"))
    for half in "ab":
        for i in range(300):
            dom = "%s%03d.example" % (half, i)
            doc = {"organization-name": "Org %s" % dom, "contact-info": "tlsrpt@sender.example",
                   "report-id": "many-" + dom,
                   "date-range": {"start-datetime": "2026-11-25T00:00:00Z", "end-datetime": "2026-11-25T23:59:59Z"},
                   "policies": [{"policy": {"policy-type": "no-policy-found", "policy-domain": dom},
                                 "summary": {"total-successful-session-count": 10 if half == "a" else 490,
                                             "total-failure-session-count": 10},
                                 "failure-details": [{"result-type": "starttls-not-supported",
                                                      "receiving-mx-hostname": "mx." + dom,
                                                      "failed-session-count": 10}]}]}
            with open(os.path.join(d, "in", dom + ".json"), "w") as f:
                json.dump(doc, f)
    db = os.path.join(d, "t.db")
    p = subprocess.run([a.ingest, "--db", db, os.path.join(d, "in")], capture_output=True, env=env())
    check(p.returncode == 0, "600 reports stored: %s" % p.stderr[-300:])
    halves = []
    for half in "ab":
        rc, doc, err = findings(a, db, "--domain", half + "*")
        per = doc["findings"] if doc else []
        check(doc is not None and doc["counts"]["dropped"] == 0 and 300 <= len(per) < 1000
              and all(f["domain"] is not None and f["domain"].startswith(half) for f in per),
              "domains %s*: %d findings, all about those domains, none dropped" % (half, len(per)))
        halves.append(per)
    check(all(f["severity"] == "critical" for f in halves[0]) and
          all(f["severity"] != "critical" for f in halves[1]), "a* critical, b* not")
    rc, doc, err = findings(a, db)
    per = doc["findings"] if doc else []
    want = len(halves[0]) + len(halves[1])
    check(doc is not None and len(per) == 1000 and doc["counts"]["dropped"] == want - 1000,
          "all 600 domains: 1000 findings kept, %d dropped (got %d kept, %s)"
          % (want - 1000, len(per), doc and doc["counts"]))
    sev = {"critical": 2, "warning": 1, "info": 0}
    ranks = [sev[f["severity"]] for f in per]
    check(ranks == sorted(ranks, reverse=True) and rc == 2 and doc["counts"]["critical"] == len(halves[0]),
          "kept worst first, every critical one kept, exit 2: %d %s" % (rc, doc and doc["counts"]))
    rc, out, err = run(a, ["--db", db, "--now", NOW, "findings"])
    check(out.rstrip().endswith(b"... and %d more findings (the least severe) left out." % (want - 1000)),
          "the terminal form says how many were left out: %r" % out[-120:])


def all_checks(a):
    db, man, reports = build(a, "seed1", 1)
    check_planted(a, "seed 1", db, man, reports)
    check_golden(a, db)
    check_colour(a, db)
    check_exit_codes(a, db)
    db2, man2, reports2 = build(a, "seed2", 20261201)
    check_planted(a, "seed 20261201", db2, man2, reports2)
    check_stopped(a)
    check_hostile(a)
    check_find_max(a)


if __name__ == "__main__":
    rt.test_main([all_checks], FAILURES)
