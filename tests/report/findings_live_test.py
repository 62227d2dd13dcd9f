#!/usr/bin/env python3
"""tests/report/findings_live_test.py - `tlsrpt-report findings` with the
stored live checks (table check_run, what `tlsrpt-report check` writes)
(CTest report.findings-live, label "report").

Usage: findings_live_test.py --report BIN --ingest BIN --source DIR --work DIR

plant.py's reports go into a database with tlsrpt-ingest --spool; then
check_run rows are inserted with sqlite3 as `check` would store them
(fresh and stale runs, fail and warn, hostile strings, bad and oversized
JSON, a domain that is only checked, a run after --now), and the findings
(--format json) are compared by value with what this test expects from the
rows it inserted: code, severity, domain, the evidence naming every failed
and warned check with its subject and detail, the fixes, the check's time;
stale runs and runs after now absent; the newest run of a domain used; bad
JSON a note, never a crash; the notes on the report-based diagnoses
(agrees, fixed since?, reported after the check); --check-days, --domain,
--org, --mx; exit statuses; the table, email and html outputs escape the
hostile strings.
Python standard library only.
"""
import datetime
import json
import os
import sqlite3
import sys

sys.dont_write_bytecode = True          # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report_test as rt  # noqa: E402  (test_main(): the arguments, the verdict)

# The planted database, check(), run() and findings() of report.findings.
import findings_test as ft  # noqa: E402
from findings_test import FAILURES, NOW, check, run  # noqa: E402


def ts(s):
    return int(datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc).timestamp())


def iso(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


NOW_TS = ts(NOW)
HOUR = 3600
DAY = 86400


def findings(a, db, *extra):
    rc, doc, err = ft.findings(a, db, *extra)
    if doc is None:
        print(err.decode(errors="replace"), file=sys.stderr)
    return rc, doc


def build(a):
    return ft.build(a, "db", 3)[0]


def item(check_, status, subject, detail, fix=""):
    return {"check": check_, "status": status, "subject": subject, "detail": detail, "fix": fix}


HOSTILE = "HTTP 404 <script>alert(1)</script> \x1b[31mred\x1b[0m \u00e9t\u00e9"

# The runs inserted: (domain, time, worst, results as stored: a list is
# dumped as JSON, a str is stored as it is).
RUNS = {
    # fetch404: reports show sts-policy-fetch-error until 2026-11-30; an
    # older fresh run still failed, the newest fetches the policy but the
    # TLS-RPT record is broken.
    "fetch404-old": ("fetch404.example", NOW_TS - 3 * DAY, "fail",
                     [item("policy-fetch", "fail", "mta-sts.fetch404.example", "OLD-RUN HTTP 404",
                           "Serve the policy with status 200.")]),
    "fetch404": ("fetch404.example", NOW_TS - 2 * HOUR, "fail",
                 [item("sts-record", "ok", "fetch404.example", "v=STSv1; id=20261201"),
                  item("policy-fetch", "ok", "mta-sts.fetch404.example", "HTTP 200, 120 bytes from 127.0.0.1"),
                  item("tlsrpt-record", "fail", "_smtp._tls.fetch404.example", HOSTILE,
                       "Publish exactly one v=TLSRPTv1 record."),
                  item("policy-max-age", "warn", "fetch404.example", "max_age 86400 is under a week",
                       "Use a max_age of at least 604800.")]),
    # expired: the live check agrees (the certificate is still expired).
    "expired": ("expired.example", NOW_TS - 5 * HOUR, "fail",
                [item("mx-cert-expiry", "fail", "mx1.expired.example", "expired on 2026-11-27",
                      "Renew the certificate and reload the MX."),
                 item("mx-starttls", "ok", "mx1.expired.example", "STARTTLS offered and accepted")]),
    # starttls: checked during the last day with failures: passed, yet
    # senders still reported; a warning of its own.
    "starttls": ("starttls.example", ts("2026-11-30T06:00:00Z"), "warn",
                 [item("mx-starttls", "ok", "mx1.starttls.example", "STARTTLS offered and accepted"),
                  item("policy-mode", "warn", "starttls.example", "mode testing: senders deliver even when TLS fails",
                       "When the reports show no failures, switch to 'mode: enforce' and change the id."),
                  item("policy-max-age", "warn", "starttls.example", "max_age 3600 is under a week",
                       "Use a max_age of at least 604800.")]),
    # a domain left in testing on purpose: the mode warning alone is what
    # the reports' mode-* rules say (info): no live finding.
    "testing": ("testing-only.example", NOW_TS - 3 * HOUR, "warn",
                [item("mx-starttls", "ok", "mx1.testing-only.example", "STARTTLS offered and accepted"),
                 item("policy-mode", "warn", "testing-only.example", "mode testing: MODE-WARNING-ONLY",
                      "Switch to 'mode: enforce'.")]),
    # a clean domain with a warning only.
    "clean1": ("clean1.example", NOW_TS - 1 * DAY, "warn",
               [item("mx-cert-expiry", "warn", "mx1.clean1.example", "12 days left",
                     "Renew the certificate now (automate renewal)."),
                item("mx-tls", "ok", "mx1.clean1.example", "TLSv1.3")]),
    # a stale run (8 days): never used.
    "clean2-stale": ("clean2.example", NOW_TS - 8 * DAY, "fail",
                     [item("mx-connect", "fail", "mx1.clean2.example", "STALE-RUN refused", "Open port 25.")]),
    # a run after --now: not used either.
    "clean3-future": ("clean3.example", NOW_TS + 2 * HOUR, "fail",
                      [item("mx-connect", "fail", "mx1.clean3.example", "FUTURE-RUN refused", "Open port 25.")]),
    # a domain without reports, only checked.
    "only": ("only-checked.example", NOW_TS - 6 * HOUR, "fail",
             [item("mx-records", "fail", "only-checked.example", "no MX records", "Publish MX records.")]),
    # bad JSON with worst fail: critical with a note.
    "badjson": ("badjson.example", NOW_TS - 1 * HOUR, "fail", '[{"check": "mx-tls", "status": "fail",'),
    # a JSON object, worst ok: info, unreadable.
    "notarray": ("notarray.example", NOW_TS - 1 * HOUR, "ok", '{"check": "mx-tls", "status": "fail"}'),
    # results of the wrong shape mixed with one good one; worst unknown.
    "shapes": ("shapes.example", NOW_TS - 1 * HOUR, "bogus",
               [1, "x", None, {"check": "mx-tls", "status": "maybe"}, {"status": "fail"},
                {"check": "mx-tls", "status": "fail", "subject": 7, "detail": ["no"], "fix": None}]),
    # nested 100000 deep (jansson's depth limit), a NUL escape, bytes that
    # are not UTF-8 (stored as a BLOB): unreadable, worst fail.
    "deep": ("deep.example", NOW_TS - 1 * HOUR, "fail", "[" * 100000 + "]" * 100000),
    "nul": ("nul.example", NOW_TS - 1 * HOUR, "fail",
            '[{"check": "mx-tls", "status": "fail", "detail": "a\\u0000b"}]'),
    "blob": ("blob.example", NOW_TS - 1 * HOUR, "warn", b'[{"check": "mx-tls", "status": "warn", "detail": "\xff\xfe"}]'),
    # results over the 1 MiB limit: not read.
    "huge": ("huge.example", NOW_TS - 1 * HOUR, "warn",
             [item("mx-tls", "warn", "mx1.huge.example", "x" * 4000)] * 300),
}


def insert(db):
    con = sqlite3.connect(db)
    for key, (dom, t, worst, res) in RUNS.items():
        text = res if isinstance(res, (str, bytes)) else json.dumps(res)
        con.execute("INSERT INTO check_run (domain, time, worst, sts_id, policy_text, results) "
                    "VALUES (?, ?, ?, NULL, NULL, ?)", (dom, t, worst, text))
    con.commit()
    con.close()


def live(doc, domain):
    return [f for f in doc["findings"] if f["domain"] == domain and f["code"].startswith("live-check-")]


def by(doc, domain, code):
    return [f for f in doc["findings"] if f["domain"] == domain and f["code"] == code]


def expect_run(doc, key, code, severity, read=True):
    """The one live finding of run key: its code, severity, and (read:
    the results were read) evidence and fix built from the inserted
    results."""
    dom, t, worst, res = RUNS[key]
    got = live(doc, dom)
    check(len(got) == 1, "%s: one live finding (got %d)" % (key, len(got)))
    if len(got) != 1:
        return None
    f = got[0]
    check(f["code"] == code, "%s: code %s (got %s)" % (key, code, f["code"]))
    check(f["severity"] == severity, "%s: severity %s (got %s)" % (key, severity, f["severity"]))
    ev = f["evidence"] or ""
    check(("Live check of %s:" % iso(t)) in ev, "%s: evidence names the check's time %s" % (key, iso(t)))
    check(f["last_day"] == iso(t)[:10], "%s: last_day is the check's day" % key)
    if read and isinstance(res, list):
        good = [r for r in res if isinstance(r, dict) and isinstance(r.get("check"), str) and r["check"]
                and r.get("status") in ("ok", "warn", "fail")]
        # A policy-mode warning is left to the reports' mode-* rules.
        bad = [r for r in good if r["status"] != "ok" and (r["check"], r["status"]) != ("policy-mode", "warn")]
        nf = sum(1 for r in bad if r["status"] == "fail")
        check(("%d failed and %d warned of %d checks read" % (nf, len(bad) - nf, len(good))) in ev,
              "%s: counts %d failed, %d warned of %d" % (key, nf, len(bad) - nf, len(good)))
        for r in bad:
            subj = r["subject"] if isinstance(r.get("subject"), str) else ""
            det = r["detail"] if isinstance(r.get("detail"), str) else ""
            line = "%s %s%s%s" % (r["status"], r["check"], " (%s)" % subj if subj else "", ": " + det if det else "")
            check(line in ev, "%s: evidence has %r" % (key, line[:80]))
            if isinstance(r.get("fix"), str) and r["fix"]:
                check(("%s: %s" % (r["check"], r["fix"])) in (f["fix"] or ""), "%s: fix of %s" % (key, r["check"]))
        for r in res:
            if isinstance(r, dict) and r.get("status") == "ok" and isinstance(r.get("detail"), str):
                check(r["detail"] not in ev, "%s: an ok check is not listed" % key)
    return f


def all_checks(a):
    db = build(a)

    rc0, base = findings(a, db)
    check(base is not None and not any(f["code"].startswith("live-check-") for f in base["findings"]),
          "no check_run row: no live finding")
    base_ev = {(f["domain"], f["code"], f["mx"], f["reasons"]): f["evidence"] for f in base["findings"]}
    insert(db)
    rc, doc = findings(a, db)
    check(doc is not None, "findings --format json parses")
    if doc is None:
        return

    f = expect_run(doc, "fetch404", "live-check-failed", "critical")
    if f:
        check("OLD-RUN" not in json.dumps(doc), "the older run of a domain is not used")
        check(HOSTILE in f["evidence"], "the hostile detail is kept as it is in JSON")
    expect_run(doc, "expired", "live-check-failed", "critical")
    f = expect_run(doc, "starttls", "live-check-failed", "warning")
    if f:
        check("The check ran before the end of 2026-11-30, the last day with a problem in the reports." in f["evidence"],
              "starttls: the check is older than the last reported problem, said so")
    expect_run(doc, "clean1", "live-check-failed", "warning")
    check(not live(doc, "testing-only.example") and "MODE-WARNING-ONLY" not in json.dumps(doc),
          "a policy-mode warning alone makes no live finding")
    f = live(doc, "starttls.example")
    check(bool(f) and "policy-mode" not in f[0]["evidence"], "a policy-mode warning is not listed")
    expect_run(doc, "only", "live-check-failed", "critical")
    check(not live(doc, "clean2.example"), "a run older than --check-days is ignored")
    check("STALE-RUN" not in json.dumps(doc), "the stale run's detail is nowhere")
    check(not live(doc, "clean3.example") and "FUTURE-RUN" not in json.dumps(doc), "a run after --now is ignored")

    f = expect_run(doc, "badjson", "live-check-failed", "critical")
    if f:
        check("its stored results could not be read (not JSON (line 1" in f["evidence"]
              and "; its worst status was fail." in f["evidence"], "bad JSON: noted, severity from worst")
    f = expect_run(doc, "notarray", "live-check-unreadable", "info")
    if f:
        check("could not be read (not a JSON array)" in f["evidence"], "a JSON object: noted as not an array")
    f = expect_run(doc, "shapes", "live-check-failed", "critical")
    if f:
        check("5 more results skipped (not of the expected form, or past 256)." in f["evidence"], "shapes: 5 malformed results skipped")
        check("fail mx-tls." in f["evidence"], "shapes: the non-string subject and detail read as empty")
    for key, sev in (("deep", "critical"), ("nul", "critical"), ("blob", "warning")):
        f = expect_run(doc, key, "live-check-failed", sev)
        if f:
            check("its stored results could not be read (not JSON (line 1" in f["evidence"], "%s: noted" % key)
    f = expect_run(doc, "huge", "live-check-failed", "warning", read=False)
    if f:
        n = len(json.dumps(RUNS["huge"][3]))
        check(("could not be read (%d bytes, over the limit of 1048576)" % n) in f["evidence"],
              "results over 1 MiB are not read (%d bytes)" % n)

    # The notes on the report-based diagnoses.
    for x in by(doc, "fetch404.example", "sts-policy-fetch-error"):
        check(x["evidence"].endswith("The live check of %s passed policy-fetch (HTTP 200, 120 bytes from 127.0.0.1): "
                                     "fixed since?" % iso(RUNS["fetch404"][1])),
              "sts-policy-fetch-error %s: fixed since? note" % x["reasons"])
    check(len(by(doc, "fetch404.example", "sts-policy-fetch-error")) == 3, "fetch404: its three diagnoses kept")
    for x in by(doc, "expired.example", "certificate-expired"):
        check(x["evidence"].endswith("The live check of %s agrees: mx-cert-expiry fails (expired on 2026-11-27)."
                                     % iso(RUNS["expired"][1])), "certificate-expired: the live check agrees")
    for x in by(doc, "starttls.example", "starttls-not-supported"):
        check(x["evidence"].endswith("The live check of 2026-11-30T06:00:00Z passed mx-starttls (STARTTLS offered and "
                                     "accepted), but senders still reported this on 2026-11-30, the day of the check "
                                     "or later."), "starttls-not-supported: reported after the check, said so")
    # Everything else as before the check rows.
    for f in doc["findings"]:
        k = (f["domain"], f["code"], f["mx"], f["reasons"])
        if f["code"].startswith("live-check-") or f["domain"] in ("fetch404.example", "expired.example",
                                                                   "starttls.example"):
            continue
        check(base_ev.get(k, "missing") == f["evidence"], "unchanged: %s %s" % (f["domain"], f["code"]))
    n_live = sum(1 for f in doc["findings"] if f["code"].startswith("live-check-"))
    check(len(doc["findings"]) == len(base["findings"]) + n_live, "only live findings added")
    check(n_live == 12, "twelve live findings (got %d)" % n_live)
    check(rc == 2 and rc0 == 2, "exit 2 with critical findings")

    # --check-days.
    rc, d0 = findings(a, db, "--check-days", "0")
    check(d0 is not None and not any(f["code"].startswith("live-check-") for f in d0["findings"])
          and "The live check" not in json.dumps(d0), "--check-days 0: the live checks are not read")
    rc, d1 = findings(a, db, "--check-days", "1")
    check(d1 is not None and not live(d1, "starttls.example") and live(d1, "fetch404.example")
          and live(d1, "clean1.example"), "--check-days 1: only runs of the last 24 hours, the 24th included")
    rc, d9 = findings(a, db, "--check-days", "9")
    check(d9 is not None and live(d9, "clean2.example") and live(d9, "clean2.example")[0]["severity"] == "critical",
          "--check-days 9: the 8-day-old run is used")
    rc, _ = findings(a, db, "--check-days", "x")
    check(rc == 3, "--check-days x: usage error")
    rc, _, err = run(a, ["--db", db, "summary", "--check-days", "3"])
    check(rc != 0 and b"--check-days" in err, "--check-days is an option of findings only")

    # The domain filter, --org, --mx; exit statuses by severity.
    rc, d = findings(a, db, "--domain", "clean1.example")
    check(d is not None and [f["code"] for f in d["findings"]] == ["live-check-failed"] and rc == 1,
          "--domain clean1.example: the warning only, exit 1 (rc %d)" % rc)
    rc, d = findings(a, db, "--domain", "only-checked.example")
    check(d is not None and [(f["code"], f["severity"]) for f in d["findings"]] == [("live-check-failed", "critical")]
          and rc == 2, "--domain of a domain only checked: critical, exit 2")
    rc, _, err = run(a, ["--db", db, "--now", NOW, "findings", "--domain", "only-checked.example"])
    check(b"matches no" not in err, "a domain only checked is known to the filter hints (stderr %r)" % err[:200])
    rc, _, err = run(a, ["--db", db, "--now", NOW, "findings", "--domain", "nowhere-at-all.example"])
    check(b"--domain 'nowhere-at-all.example' matches no policy domain" in err,
          "a domain neither reported nor checked still gets its hint")
    rc, d = findings(a, db, "--domain", "notarray.example")
    check(d is not None and [f["code"] for f in d["findings"]] == ["live-check-unreadable"] and rc == 0,
          "unreadable results with worst ok: info, exit 0")
    rc, d = findings(a, db, "--domain", "*.example", "--domain", "x")
    check(d is not None and live(d, "only-checked.example"), "--domain with a wildcard matches checked domains")
    rc, d = findings(a, db, "--domain", "clean2.example")
    check(d is not None and d["findings"] == [] and rc == 0, "--domain with only a stale run: nothing, exit 0")
    rc, d = findings(a, db, "--org", "Google Inc.")
    check(d is not None and live(d, "fetch404.example") and not live(d, "only-checked.example")
          and not live(d, "badjson.example"), "--org: only domains the organization reported on")
    rc, d = findings(a, db, "--mx", "mx1.expired.example")
    check(d is not None and not any(f["code"].startswith("live-check-") for f in d["findings"])
          and "The live check" not in json.dumps(d), "--mx: no live finding (a check is about a domain)")

    # The table, the email and the dashboard escape the hostile detail.
    rc, out, err = run(a, ["--db", db, "--now", NOW, "findings", "--domain", "fetch404.example"])
    check(b"\x1b" not in out and b"live-check-failed" in out and b"<script>" in out,
          "table: the ESC of the detail escaped, the text kept")
    rc, out, err = run(a, ["--db", db, "--now", NOW, "email", "--to", "p@example.com", "--from", "t@example.com"])
    check(rc == 0 and b"live-check-failed" in out and b"\x1b" not in out, "email: the live finding, no raw ESC")
    rc, out, err = run(a, ["--db", db, "--now", NOW, "html", "--domain", "fetch404.example"])
    check(rc == 0 and b"live-check-failed" in out and b"<script>alert" not in out and b"&lt;script&gt;" in out,
          "html: the live finding, its detail HTML-escaped")


if __name__ == "__main__":
    rt.test_main([all_checks], FAILURES)
