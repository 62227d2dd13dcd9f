#!/usr/bin/env python3
"""tests/report/report_test.py - tests of tlsrpt-report (CTest label "report").

Usage: report_test.py TEST --report BIN --ingest BIN --source DIR --work DIR
                      [--mailfmt BIN]

TEST is one of:
  golden      every case in cases.txt against golden/NAME.out, over a database
              built from samples/*.json and samples/*.eml with tlsrpt-ingest
              (TLSRPT_UPDATE_GOLDEN=1 rewrites the golden files instead)
  escaping    a database with hostile strings (ESC, OSC, C1, bidi, HTML,
              formula prefixes): table, CSV, JSON and HTML output are inert;
              names with forged lines (LF, CR, NEL, U+2028/9) and invisible
              characters are one line, escaped, in the table and the email
  email       the email parsed back with Python's email package: headers,
              both parts, HTML escaping, --only-if-failures, --sendmail;
              and report/mailfmt.c's quoted-printable, encoded words and
              address lists (through --mailfmt) decoded back to the input
  screenshot  the email's HTML rendered by headless Chromium to a PNG that
              must be non-trivial (exit 77 = skipped without /usr/bin/chromium)
  cli         usage errors, exit codes, --help, --version, dates
  rollup      a seeded random database (sts+tlsa duplicates, repeated details,
              missing fields, multi-domain reports, deletions): every query
              that reads the rollups of schema/002-rollups.sql gives the same
              output as with TLSRPT_NO_ROLLUP=1 (raw rows), on a database
              folded every 37 reports, on one folded once (and read before
              the fold: pending reports are counted), on one upgraded
              from version 1 (backfill), and on a version-4 one with names
              differing in case and trailing dots (005's renormalization)
Python standard library only.  The reference date is fixed with TLSRPT_NOW.
"""
import argparse
import base64
import binascii
import csv
import email
import email.header
import email.policy
import glob
import io
import json
import os
import quopri
import random
import re
import shutil
import sqlite3
import struct
import subprocess
import sys
import tempfile
import zlib

NOW = "2026-11-23T00:00:00Z"
FAILURES = []


def check(cond, what):
    if not cond:
        FAILURES.append(what)
        print("FAIL: " + what, file=sys.stderr)


def env():
    e = dict(os.environ)
    e["TLSRPT_NOW"] = NOW
    e["NO_COLOR"] = "1"
    e.pop("COLUMNS", None)
    e.pop("TLSRPT_DB", None)
    e["TZ"] = "America/New_York"   # output must not depend on the local zone
    return e


def run(a, args, stdin=None, extra_env=None):
    e = env()
    if extra_env:
        e.update(extra_env)
    p = subprocess.run([a.report] + args, input=stdin, capture_output=True, env=e, timeout=120)
    return p.returncode, p.stdout, p.stderr


def sample_db(a):
    """The database of the bundled samples, built once per work dir."""
    db = os.path.join(a.work, "samples.db")
    if getattr(a, "built", False):
        return db
    a.built = True
    files = sorted(os.path.relpath(f, a.source) for pat in ("*.json", "*.eml")
                   for f in glob.glob(os.path.join(a.source, "samples", pat)))
    tmp = db + ".tmp"
    for f in (tmp, tmp + "-wal", tmp + "-shm"):
        if os.path.exists(f):
            os.unlink(f)
    p = subprocess.run([a.ingest, "--db", tmp] + files, cwd=a.source, capture_output=True, env=env())
    if p.returncode not in (0, 1) or not os.path.exists(tmp):
        sys.exit("tlsrpt-ingest failed: " + p.stderr.decode(errors="replace"))
    # Ingest stamps the real clock on received_time: fix it for the goldens.
    con = sqlite3.connect(tmp)
    con.execute("UPDATE report SET received_time = 1795348800")   # 2026-11-22T12:00:00Z
    con.commit()
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    for f in (db, db + "-wal", db + "-shm"):
        if os.path.exists(f):
            os.unlink(f)
    os.rename(tmp, db)
    return db


def schema_db(a, path):
    """An empty database at the current schema version, from schema/*.sql."""
    if os.path.exists(path):
        os.unlink(path)
    files = sorted(glob.glob(os.path.join(a.source, "schema", "[0-9][0-9][0-9]-*.sql")))
    con = sqlite3.connect(path)
    for f in files:
        con.executescript(open(f).read())
    con.execute("PRAGMA user_version = %d" % len(files))
    con.commit()
    return con


# ---------------------------------------------------------------- golden

def golden(a):
    db = sample_db(a)
    cases = os.path.join(a.source, "tests", "report", "cases.txt")
    gdir = os.path.join(a.source, "tests", "report", "golden")
    update = os.environ.get("TLSRPT_UPDATE_GOLDEN") == "1"
    n = 0
    for line in open(cases):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, args = line.split(None, 1)
        argv = ["--db", db] + json.loads(args)
        rc, out, err = run(a, argv)
        got = b"exit %d\n" % rc + out
        path = os.path.join(gdir, name + ".out")
        if update:
            os.makedirs(gdir, exist_ok=True)
            open(path, "wb").write(got)
            continue
        if not os.path.exists(path):
            check(False, "%s: no golden file %s" % (name, path))
            continue
        want = open(path, "rb").read()
        if got != want:
            check(False, "%s: output differs from %s" % (name, path))
            sys.stderr.write(got.decode(errors="replace")[:3000] + "\n")
        n += 1
    check(n > 40 or update, "at least 40 golden cases ran (%d)" % n)
    # JSON outputs must parse, CSV must have a header row.
    for path in glob.glob(os.path.join(gdir, "*json*.out")):
        body = open(path, "rb").read().split(b"\n", 1)[1]
        try:
            json.loads(body)
        except ValueError as ex:
            check(False, "%s: invalid JSON: %s" % (path, ex))


# ---------------------------------------------------------------- escaping

HOSTILE_ORG = "<script>alert('x')</script>\"Q\" \x1b[31mRED\x1b]0;title\x07 \u009b2J \u202eevil"
HOSTILE_MX = "=cmd|' /C calc'!A0"
HOSTILE_TYPE = "@SUM(1+1)\x1b[2J"


def hostile_db(a):
    path = os.path.join(a.work, "hostile.db")
    con = schema_db(a, path)
    raw = json.dumps({"organization-name": HOSTILE_ORG}).encode()
    t0 = 1795305600   # 2026-11-22T00:00:00Z
    con.execute("INSERT INTO report (id, org_name, report_id, start_time, end_time, received_time, source,"
                " raw_json_z, raw_json_size, parser_version, dkim) VALUES (1, ?, 'r1', ?, ?, ?, ?, ?, ?, 1, 'pass')",
                (HOSTILE_ORG, t0, t0 + 86400, t0 + 90000, "-src\x1b[1m", zlib.compress(raw), len(raw)))
    con.execute("INSERT INTO policy (id, report, idx, policy_type, policy_domain, policy_strings, mx_hosts,"
                " successful_sessions, failed_sessions) VALUES (1, 1, 0, 'sts', 'example.net', ?, NULL, 90, 10)",
                (json.dumps(["version: STSv1", "mx: <b>x</b>\x1b[5m"]),))
    con.execute("INSERT INTO policy (id, report, idx, policy_type, policy_domain, successful_sessions,"
                " failed_sessions) VALUES (2, 1, 1, 'tlsa', 'example.net', 90, 10)")
    for pid in (1, 2):   # the same detail under sts and tlsa: counted once
        con.execute("INSERT INTO failure (policy, result_type, sending_mta_ip, receiving_mx_hostname,"
                    " receiving_ip, failed_sessions, failure_reason_code) VALUES (?, ?, '+1.2.3.4', ?,"
                    " '192.0.2.1', 10, '-reason')", (pid, HOSTILE_TYPE, HOSTILE_MX))
    q = b"From: x\n\nnot a report \x1b[31m\xff\n"
    con.execute("INSERT INTO quarantine (id, first_seen, last_seen, source, reason, message, digest, raw_z,"
                " raw_size) VALUES (1, ?, ?, 'spool:q1', 'not-a-report', ?, 'd1', ?, ?)",
                (t0, t0 + 60, "no report part \x1b[31m", zlib.compress(q), len(q)))
    con.commit()
    con.close()
    return path


def no_raw_controls(data, what):
    bad = [c for c in data if (c < 0x20 and c not in (0x0a, 0x0d, 0x09)) or c == 0x7f]
    check(not bad, "%s: raw control bytes %r" % (what, bad[:5]))
    txt = data.decode("utf-8", errors="replace")
    check("\u009b" not in txt and "\u202e" not in txt, "%s: C1/bidi control passed through" % what)


def escaping(a):
    db = hostile_db(a)
    since = ["--since", "2026-11-01"]
    for cmd in (["summary", "--by", "org,mx,type,ip"], ["failures"], ["reports"], ["trend"],
                ["show", "1"], ["quarantine"], ["quarantine", "show", "1"]):
        for fmt in ("table", "csv", "json"):
            argv = ["--db", db, "--format", fmt] + cmd + (since if cmd[0] not in ("show", "quarantine") else [])
            rc, out, err = run(a, argv)
            what = " ".join(cmd) + " " + fmt
            check(rc == 0, "%s: exit %d %s" % (what, rc, err))
            if fmt != "csv":   # CSV carries the data exactly, quoted
                no_raw_controls(out, what)
            if fmt == "json":
                try:
                    json.loads(out)
                except ValueError:
                    check(False, what + ": invalid JSON")
                check(all(b < 0x80 for b in out), what + ": JSON not ASCII-only")
            if fmt == "table" and cmd[0] in ("summary", "failures", "reports"):
                check(b"\\x1b[31m" in out, what + ": ESC not shown as \\x1b")
                check(b"\\u202e" in out, what + ": bidi override not shown as \\u202e")
            if fmt == "csv" and cmd[0] in ("summary", "failures"):
                lines = out.decode().split("\r\n")
                check(lines[0].count(",") >= 1 and out.endswith(b"\r\n"), what + ": CSV header/CRLF")
                check("\"'=cmd|' /C calc'!A0\"" in out.decode(), what + ": formula cell not made inert")
                check("\"'@SUM(1+1)" in out.decode(), what + ": @ cell not made inert")
                for cell in ("=cmd", "@SUM", "+1.2.3.4", "-reason"):
                    check(",%s" % cell not in out.decode() and "\n%s" % cell not in out.decode(),
                          what + ": bare " + cell)
    # sts and tlsa copies of one detail count once, in rows and totals.
    rc, out, err = run(a, ["--db", db, "--format", "json", "summary", "--by", "type"] + since)
    doc = json.loads(out)
    check(doc["rows"][0]["failed_sessions"] == 10, "duplicate detail counted once: %r" % doc["rows"])
    check(doc["totals"]["failed_sessions"] == 10 and doc["totals"]["successful_sessions"] == 90,
          "sts+tlsa summaries counted once: %r" % doc["totals"])
    rc, out, err = run(a, ["--db", db, "--format", "json", "summary", "--by", "policy"] + since)
    doc = json.loads(out)
    check(sorted((r["policy"], r["failed_sessions"]) for r in doc["rows"]) == [("sts", 10), ("tlsa", 10)],
          "--by policy keeps sts and tlsa apart: %r" % doc["rows"])
    # HTML of the email escapes everything.
    rc, out, err = run(a, ["--db", db, "email", "--to", "pm@example.net", "--from", "r@example.net"])
    check(rc == 0, "email exit %d %s" % (rc, err))
    msg = email.message_from_bytes(out, policy=email.policy.default)
    html = msg.get_body(("html",)).get_content()
    check("<script>" not in html and "&lt;script&gt;" in html, "HTML: <script> escaped")
    check("<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html, "HTML: policy string escaped")
    check("\x1b" not in html and "\\x1b[31m" in html, "HTML: ESC neutralized")
    check("&quot;Q&quot;" in html and "&#39;x&#39;" in html, "HTML: quotes escaped")
    no_raw_controls(html.encode(), "email html")
    no_raw_controls(msg.get_body(("plain",)).get_content().encode(), "email text")
    one_line_names(a)


# A sender's name with nine forged lines, and every other line break and
# invisible character a renderer may honour.
FORGED_ORG = "Evil Org" + "".join("\nFORGED-%d Subject: pay here" % i for i in range(1, 10)) + "\u200b\ufeffX"
FORGED_MX = "mx1.example.net\rR\u0085N\u2028L\u2029P\u202eB\u2066I\u200dZ\u2060W"
FORGED_DOMAIN = "example.net\u2028FORGED-DOMAIN"


def ingest_reports(a, db, docs, name):
    """docs (report dicts) as JSON files through tlsrpt-ingest into db."""
    d = os.path.join(a.work, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for i, doc in enumerate(docs):
        with open(os.path.join(d, "r%03d.json" % i), "w") as f:
            json.dump(doc, f)
    p = subprocess.run([a.ingest, "--db", db, "-q", d], capture_output=True, env=env())
    check(p.returncode == 0, "%s: tlsrpt-ingest exit %d %s" % (name, p.returncode, p.stderr))


def report_doc(org, rid, day, policies):
    return {"organization-name": org, "report-id": rid, "contact-info": "tls@example.com",
            "date-range": {"start-datetime": day + "T00:00:00Z", "end-datetime": day + "T23:59:59Z"},
            "policies": policies}


def policy_doc(ptype, domain, ok, details, strings=None):
    pol = {"policy-type": ptype, "policy-domain": domain}
    if strings is not None:
        pol["policy-string"] = strings
    return {"policy": pol, "summary": {"total-successful-session-count": ok,
                                       "total-failure-session-count": sum(d[2] for d in details)},
            "failure-details": [{"result-type": t, "receiving-mx-hostname": mx, "failed-session-count": n,
                                 "sending-mta-ip": "192.0.2.9"} for (t, mx, n) in details]}


def one_line_names(a):
    """Names from reports are one line in every output, and invisible or
    reordering characters in them are shown escaped."""
    db = os.path.join(a.work, "forged.db")
    for f in (db, db + "-wal", db + "-shm"):
        if os.path.exists(f):
            os.unlink(f)
    ingest_reports(a, db, [report_doc(FORGED_ORG, "forged-1", "2026-11-22", [
        policy_doc("sts", FORGED_DOMAIN, 5, [("starttls-not-supported", FORGED_MX, 2)],
                   ["version: STSv1", "mode: enforce", "mx: " + FORGED_MX])])], "forged-json")

    def one_line(txt, what):
        for line in txt.split("\n"):
            check(not re.match(r"\s*FORGED", line), "%s: a forged line: %r" % (what, line))
        for raw in ("\r", "\u0085", "\u2028", "\u2029", "\u200b", "\u200d", "\u2060", "\ufeff",
                    "\u202e", "\u2066"):
            check(raw not in txt, "%s: raw U+%04X" % (what, ord(raw)))
        check("Evil Org\\x0aFORGED-1" in txt, "%s: the org name's LF shown as \\x0a" % what)
        check("\\u200b\\ufeffX" in txt, "%s: zero-width space and BOM shown escaped" % what)
    since = ["--since", "2026-11-01"]
    for cmd in (["summary", "--by", "org,domain,mx"], ["failures"], ["reports"], ["show", "1"]):
        rc, out, err = run(a, ["--db", db] + cmd + (since if cmd[0] != "show" else []))
        txt = out.decode()
        check(rc == 0, "%s: exit %d %s" % (cmd[0], rc, err))
        for line in txt.split("\n"):
            check(not re.match(r"\s*FORGED", line), "%s: a forged line: %r" % (cmd[0], line))
        check("\u2028" not in txt and "\u200b" not in txt and "\ufeff" not in txt,
              "%s: U+2028/U+200B/U+FEFF escaped" % cmd[0])
    rc, out, err = run(a, ["--db", db, "email", "--to", "pm@example.net", "--from", "r@example.net"])
    check(rc == 0, "forged email: exit %d %s" % (rc, err))
    msg = email.message_from_bytes(out, policy=email.policy.default)
    text = msg.get_body(("plain",)).get_content()
    one_line(text, "email text")
    check("mx1.example.net\\x0dR\\u0085N\\u2028L\\u2029P" in text, "email text: MX line breaks escaped")
    html = msg.get_body(("html",)).get_content()
    one_line(html, "email html")
    # (host names are drawn label by label: compared without the tags)
    pre = [re.sub(r"<[^>]*>", "", p) for p in re.findall(r"<pre[^>]*>(.*?)</pre>", html, re.S)]
    check(pre and "mx: mx1.example.net\\x0dR" in pre[0] and pre[0].count("\n") == 2,
          "email html: the policy lines are three lines: %r" % pre[:1])


# ---------------------------------------------------------------- email

def email_test(a):
    db = sample_db(a)
    base = ["--db", db, "email", "--to", "Post Master <pm@example.net>", "--from", "TLS Reports <r@example.net>"]
    rc, out, err = run(a, base + ["--since", "2026-11-19", "--until", "2026-11-20"])
    check(rc == 0, "email exit %d: %s" % (rc, err))
    msg = email.message_from_bytes(out, policy=email.policy.default)
    check(not msg.defects, "message defects: %r" % msg.defects)
    for h in ("From", "To", "Subject", "Date", "Message-ID", "MIME-Version"):
        check(msg[h] is not None, "header %s present" % h)
    check(msg["Date"].datetime.isoformat() == "2026-11-23T00:00:00+00:00", "Date is --now: %s" % msg["Date"])
    check(msg["Message-ID"].startswith("<") and "@" in msg["Message-ID"], "Message-ID form")
    check(msg["To"].addresses[0].addr_spec == "pm@example.net", "To parsed")
    check(msg.get_content_type() == "multipart/alternative", "multipart/alternative")
    parts = [p.get_content_type() for p in msg.iter_parts()]
    check(parts == ["text/plain", "text/html"], "parts: %r" % parts)
    for p in msg.iter_parts():
        check(p.get_content_charset() == "utf-8", "charset utf-8")
        check(p["Content-Transfer-Encoding"] == "quoted-printable", "QP encoding")
    subj = str(msg["Subject"])
    # domains worst first; the findings of the 7 days ending 2026-11-20 counted
    check(subj == "TLS-RPT example.org, example.net 2026-11-19 to 2026-11-20: %s; 6 failed of 104 sessions "
                  "(94.23%% TLS)" % findings_status(a, db, "2026-11-14", "2026-11-20"), "Subject: %s" % subj)
    check(all(b < 0x80 for b in out), "message is 7-bit")
    text = msg.get_body(("plain",)).get_content()
    for want in ("TLS success rate by policy domain", "Failures by type, sending organization and MX",
                 "New since the previous period", "Reporters gone silent", "Policies reported",
                 "starttls-not-supported", "Draft Mailer Ltd."):
        check(want in text, "text body has %r" % want)
    html = msg.get_body(("html",)).get_content()
    check("<script" not in html.lower().replace("&lt;script", ""), "no <script> element in HTML")
    check("&lt;script&gt;alert(1)&lt;/script&gt;" in html, "hostile org escaped in HTML")
    check("\x1b" not in html, "no ESC in HTML")
    check("http://" not in html and "https://" not in html and "<img" not in html, "no remote content")
    check("<style" not in html and "<link" not in html, "inline styles only")
    # a single day with one domain: the Subject of the shape
    rc, out, err = run(a, ["--db", db, "email", "--since", "2026-11-21", "--until", "2026-11-21"])
    msg = email.message_from_bytes(out, policy=email.policy.default)
    check(str(msg["Subject"]) == "TLS-RPT example.com 2026-11-21: %s; 6 failed of 6 sessions (0.00%% TLS)"
          % findings_status(a, db, "2026-11-15", "2026-11-21"), "one-day Subject: %s" % msg["Subject"])
    # default period: yesterday (2026-11-22) had no reports
    rc, out, err = run(a, ["--db", db, "email"])
    msg = email.message_from_bytes(out, policy=email.policy.default)
    check(rc == 0 and str(msg["Subject"]) == "TLS-RPT 2026-11-22: %s; no reports received"
          % findings_status(a, db, "2026-11-16", "2026-11-22"), "default period Subject: %s" % msg["Subject"])
    # --only-if-failures: a clean day sends nothing, a day with failures does.
    rc, out, err = run(a, ["--db", db, "email", "--only-if-failures", "--since", "2026-11-11", "--until", "2026-11-11"])
    check(rc == 0 and out == b"", "--only-if-failures on a clean day: rc %d, %d bytes" % (rc, len(out)))
    rc, out, err = run(a, ["--db", db, "email", "--only-if-failures", "--since", "2026-11-21", "--until", "2026-11-21"])
    check(rc == 0 and out.startswith(b"Date:") or b"\nSubject:" in out, "--only-if-failures sends on failures")
    # --sendmail: the message arrives on stdin of PATH -t -i
    sm = os.path.join(a.work, "fake-sendmail")
    cap = os.path.join(a.work, "sent.eml")
    with open(sm, "w") as f:
        f.write("#!/bin/sh\necho \"$@\" > '%s.args'\ncat > '%s'\n" % (cap, cap))
    os.chmod(sm, 0o755)
    rc, out, err = run(a, base + ["--sendmail", sm, "--since", "2026-11-21", "--until", "2026-11-21"])
    check(rc == 0 and out == b"", "--sendmail: rc %d, stdout %d bytes" % (rc, len(out)))
    check(open(cap + ".args").read().strip() == "-t -i", "--sendmail args")
    sent = email.message_from_bytes(open(cap, "rb").read(), policy=email.policy.default)
    check(sent.get_content_type() == "multipart/alternative", "--sendmail got the message")
    with open(sm, "w") as f:
        f.write("#!/bin/sh\ncat >/dev/null\nexit 75\n")
    rc, out, err = run(a, base + ["--sendmail", sm])
    check(rc == 1 and b"status 75" in err, "--sendmail failure reported: rc %d %s" % (rc, err))
    email_addresses(a, db)
    email_hostile_subjects(a)
    check(a.mailfmt is not None, "--mailfmt given")
    if a.mailfmt:
        email_encoders(a)


def findings_status(a, db, since, until):
    """What the email's Subject says of the findings of [since, until]:
    "2 critical, 1 warning", "3 warnings", "all clean"."""
    rc, out, err = run(a, ["--db", db, "findings", "--since", since, "--until", until, "--format", "json"])
    check(rc in (0, 1, 2), "findings exit %d %s" % (rc, err))
    c = json.loads(out)["counts"]
    parts = (["%d critical" % c["critical"]] if c["critical"] else []) + \
        (["%d warning%s" % (c["warning"], "" if c["warning"] == 1 else "s")] if c["warning"] else [])
    return ", ".join(parts) or "all clean"


def parse_email(out, what):
    """The message parsed back; 7-bit, no defects, lines within 76 columns
    (78 for a header without encoded words, longer only for a long word)."""
    check(all(b < 0x80 for b in out), "%s: 7-bit" % what)
    msg = email.message_from_bytes(out, policy=email.policy.default)
    head, _, body = out.partition(b"\n\n")
    check(not msg.defects, "%s: no defects %r" % (what, msg.defects))
    check(all(len(l) <= 76 for l in body.split(b"\n")), "%s: body lines <= 76" % what)
    check_header_syntax(head, what)
    return msg


def email_addresses(a, db):
    """--to/--from round-trip through a real parser; bad ones are refused."""
    base = ["--db", db, "email", "--since", "2026-11-21", "--until", "2026-11-21"]
    rc, out, err = run(a, base + ["--to", "J\u00fcrgen M\u00fcller <jm@example.net>, \"Doe, John\" <jd@example.org>,"
                                          " x@example.com, \"A<B \\\"q\\\"\" <ab@example.net>",
                                  "--from", "TLS \"Re ports\" <r@example.net>"])
    check(rc == 0, "addresses: exit %d %s" % (rc, err))
    msg = parse_email(out, "addresses")
    got = [(x.display_name, x.addr_spec) for x in msg["To"].addresses]
    want = [("J\u00fcrgen M\u00fcller", "jm@example.net"), ("Doe, John", "jd@example.org"), ("", "x@example.com"),
            ("A<B \"q\"", "ab@example.net")]
    check(got == want, "To round-trips: %r" % got)
    check([(x.display_name, x.addr_spec) for x in msg["From"].addresses] == [("TLS Re ports", "r@example.net")],
          "From round-trips: %r" % msg["From"])
    check(not msg["To"].defects and not msg["From"].defects, "address headers without defects")
    for bad in ("a@b\nBcc: x@y", "<unclosed", "a b@c", "", "x@y,", "Name <a@b> trailing", "\"open <a@b>",
                "a@b>", "a@-b", "n\u00e4me@example.net", "a" * 300 + "@example.net"):
        rc, out, err = run(a, base + ["--to", bad])
        check(rc == 2 and out == b"" and b"--to" in err and b"\n" not in err.rstrip(b"\n"),
              "--to %r refused: rc %d %s" % (bad[:40], rc, err))


def email_hostile_subjects(a):
    """Subjects carrying a hostile policy domain (not ASCII, an encoded-word
    look-alike, a control character, a long label) come back from the
    parser as the digest wrote them (its text part's first line)."""
    d = os.path.join(a.work, "hostile-subjects")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    doms = ["ex\u00e4mple.org", "x" * 150 + ".example", "evil\u001b[31m.example", "\u65e5\u672c\u8a9e" * 12 + ".example",
            "a=?utf-8?q?x?=.example", "\u00e9" * 100]
    for i, dom in enumerate(doms):
        doc = {"organization-name": "Org %d" % i, "report-id": "hs%d" % i, "contact-info": "x@example.org",
               "date-range": {"start-datetime": "2026-11-19T00:00:00Z", "end-datetime": "2026-11-19T23:59:59Z"},
               "policies": [{"policy": {"policy-type": "sts", "policy-domain": dom},
                             "summary": {"total-successful-session-count": 5, "total-failure-session-count": 1},
                             "failure-details": [{"result-type": "starttls-not-supported", "failed-session-count": 1}]}]}
        with open(os.path.join(d, "hs%d.json" % i), "w", encoding="utf-8") as f:
            json.dump(doc, f, ensure_ascii=False)
    db = os.path.join(a.work, "hostile-subjects.db")
    for f in (db, db + "-wal", db + "-shm"):
        if os.path.exists(f):
            os.unlink(f)
    p = subprocess.run([a.ingest, "--db", db, "-q", d], capture_output=True, env=env())
    check(p.returncode == 0, "hostile subjects ingested: %s" % p.stderr)
    for dom in doms:
        rc, out, err = run(a, ["--db", db, "email", "--since", "2026-11-19", "--until", "2026-11-19", "--domain", dom])
        check(rc == 0, "email --domain %r: exit %d %s" % (dom[:30], rc, err))
        msg = parse_email(out, "subject %r" % dom[:30])
        first = msg.get_body(("plain",)).get_content().split("\n")[0]
        check(str(msg["Subject"]) == first and first.startswith("TLS-RPT "),
              "Subject round-trips: %r vs %r" % (str(msg["Subject"])[:60], first[:60]))


def check_header_syntax(head, what, strict=False):
    """Header lines within 76 columns when they hold encoded words, else 78
    (unless strict, longer only for one word that cannot be folded: a long
    address), continuation lines folded with a space, each encoded word at
    most 75 long and whole UTF-8 (RFC 2047 2 and 5: a parser may join
    neighbours, so decoding the whole header is not enough)."""
    for i, line in enumerate(head.split(b"\n")):
        rest = line.lstrip(b" \t") if i > 0 else line.partition(b": ")[2]
        check(len(line) <= (76 if b"=?" in line else 78) or (not strict and b" " not in rest),
              "%s: header line of %d: %r" % (what, len(line), line[:80]))
        check(i == 0 or line[:1] in (b" ", b"\t") or b":" in line, "%s: folded line %r" % (what, line[:40]))
        check(line.strip() != b"" or line == b"", "%s: a header line of white space only" % what)
    for ew in re.findall(rb"=\?utf-8\?B\?([A-Za-z0-9+/=]*)\?=", head):
        check(len(ew) + 12 <= 75, "%s: encoded word of %d" % (what, len(ew) + 12))
        try:
            base64.b64decode(ew, validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            check(False, "%s: encoded word %r is not whole UTF-8" % (what, ew))


def mailfmt(a, args, data):
    p = subprocess.run([a.mailfmt] + args, input=data, capture_output=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def qp_cases():
    """Inputs that trip a careless quoted-printable encoder: long lines,
    '=', an escape or a multibyte character at each column around the
    wrap, white space before a line end or the end, CR, "From ", every
    byte value; then seeded random mixes of those."""
    cases = [b"", b"a", b"=", b"a=b\n", b"x" * 200, b"x" * 200 + b"\n", b"trailing   \nspace\t\n",
             b"ends in a space ", b"ends in a tab\t", b"crlf\r\ncrlf\r\n", b"From the start\nFrom\nFrom x\n",
             bytes(range(256)), bytes(range(256)) * 3 + b"\n", b" \n \n\t\n", b"\n\n\n", b".\n.\n"]
    for k in range(66, 80):
        cases += [b"x" * k + b"=yz", b"x" * k + "\u00e9\u20ac\U0001f600".encode() * 3, b"x" * k + b" " + b"y" * 5,
                  b"x" * k + b" \n", b"x" * k + b"\t", b"x" * k + b"\x00" + b"y" * 3]
    rnd = random.Random(2045)
    alphabet = [b"a", b"b", b" ", b"\t", b"=", b"\n", b"\r", b"\x00", b"\xff", "\u00e9".encode(), b"From ", b"."]
    for _ in range(300):
        cases.append(b"".join(rnd.choice(alphabet) for _ in range(rnd.randrange(0, 400))))
    return cases


def text_cases():
    """Subjects: plain ASCII to fold, and what must be encoded words (not
    ASCII, a control, "=?", white space at an end, a run too long to
    fold), with 2-, 3- and 4-byte characters at every split offset."""
    cases = ["TLS-RPT example.com 2026-11-21: 6 failed of 6 sessions (0.00% TLS)", "", "a",
             " ".join("word%d" % i for i in range(60)), "double  spaces   inside", " leading", "trailing ",
             "x" * 200, "x" * 201, ("x" * 150 + " ") * 3 + "end", "=?utf-8?q?x?=", "a =? b", "tab\there",
             "esc\x1b[31m", "\u00e9" * 100, "\u65e5\u672c\u8a9e" * 40, "caf\u00e9 " * 30]
    for k in range(8):
        cases += ["a" * k + "\U0001f600" * 40, "a" * k + "\u20ac" * 60, "a" * k + "\u00e9" * 70]
    for k in range(66, 81):   # a word that just fits, first on the line or after a fold
        cases += ["x" * k + " b", "a " + "x" * k, "a " + "x" * k + " b"]
    rnd = random.Random(2046)
    for _ in range(100):      # plain ASCII words of every length, folds at every column
        cases.append(" ".join("w" * rnd.randrange(1, 30) for _ in range(rnd.randrange(1, 25))))
    rnd = random.Random(2047)
    alphabet = ["a", " ", "\u00e9", "\u20ac", "\U0001f600", "=?", "x" * 30, "\x1b", "\t"]
    for _ in range(100):
        cases.append("".join(rnd.choice(alphabet) for _ in range(rnd.randrange(1, 60))))
    return cases


def email_encoders(a):
    """report/mailfmt.c through tests/report/mailfmt_drv: the output decoded
    by Python (quopri, binascii, the email package) is the input again,
    and has the shape RFC 2045 and 2047 ask for."""
    for inp in qp_cases():
        what = "qp %r" % inp[:30]
        rc, out, err = mailfmt(a, ["qp"], inp)
        check(rc == 0, "%s: exit %d %s" % (what, rc, err))
        lines = out.split(b"\n")
        check(all(0x20 <= b < 0x7f or b in (0x09, 0x0a) for b in out), "%s: printable ASCII only" % what)
        check(all(len(l) <= 76 for l in lines), "%s: lines <= 76: %r" % (what, max(lines, key=len)[:80]))
        check(not any(l.endswith((b" ", b"\t")) for l in lines), "%s: white space before a line end" % what)
        check(re.fullmatch(rb"(?:[^=]|=[0-9A-F]{2}|=\n)*", out) is not None, "%s: '=' not an escape" % what)
        check(b"=_" not in out, "%s: holds the boundary prefix" % what)
        check(not any(l.startswith(b"From ") for l in lines), "%s: a line starts with From" % what)
        check(quopri.decodestring(out) == inp and binascii.a2b_qp(out) == inp, "%s: decodes back" % what)
    for s in text_cases():
        what = "Subject %r" % s[:30]
        rc, out, err = mailfmt(a, ["text", "Subject"], s.encode())
        check(rc == 0 and out.startswith(b"Subject: ") and out.endswith(b"\n"), "%s: exit %d %s" % (what, rc, err))
        check(all(b < 0x80 for b in out), "%s: 7-bit" % what)
        check_header_syntax(out[:-1], what, strict=True)
        msg = email.message_from_bytes(out + b"\n", policy=email.policy.default)
        check(str(msg["Subject"]) == s and not msg.defects, "%s: parsed back as %r" % (what, str(msg["Subject"])))
        value = out[len(b"Subject: "):-1].replace(b"\n", b"").decode("ascii")
        got = "".join(t if isinstance(t, str) else t.decode(c or "ascii") for t, c in email.header.decode_header(value))
        check(got == s, "%s: decode_header gives %r" % (what, got[:40]))
    good = [("J\u00fcrgen M\u00fcller <jm@example.net>", [("J\u00fcrgen M\u00fcller", "jm@example.net")]),
            ("\"Doe, John\" <jd@example.org>, x@example.com", [("Doe, John", "jd@example.org"), ("", "x@example.com")]),
            ("\"Back\\\\slash \\\"q\\\"\" <b@example.org>", [("Back\\slash \"q\"", "b@example.org")]),
            ("postmaster", [("", "postmaster")]),
            ("a.b+c_d@[192.0.2.1]", [("", "a.b+c_d@[192.0.2.1]")]),
            ("J. R. Smith <jrs@example.org>", [("J. R. Smith", "jrs@example.org")]),
            ("\"=?utf-8?B?QUJD?=\" <e@example.org>", [("=?utf-8?B?QUJD?=", "e@example.org")]),
            ("\u00c4" * 60 + " <long@example.org>", [("\u00c4" * 60, "long@example.org")]),
            ("x\U0001f600" * 25 + " <emoji@example.org>", [("x\U0001f600" * 25, "emoji@example.org")]),
            (" ".join(["Word"] * 30) + " <w@example.org>", [(" ".join(["Word"] * 30), "w@example.org")]),
            ("\"" + "quoted, " * 12 + "end\" <q@example.org>", [("quoted, " * 12 + "end", "q@example.org")]),
            ("\"two  spaces\" <t@example.org>", [("two  spaces", "t@example.org")]),
            ("<bare@example.org>", [("", "bare@example.org")]),
            ("Name <" + "l" * 64 + "@" + "d" * 60 + ".example.org>", [("Name", "l" * 64 + "@" + "d" * 60 + ".example.org")]),
            ("A <a@example.org>, " * 5 + "b@x-y.example.org", [("A", "a@example.org")] * 5 + [("", "b@x-y.example.org")])]
    for value, want in good:
        what = "To %r" % value[:30]
        rc, out, err = mailfmt(a, ["addresses", "To", "to"], value.encode())
        check(rc == 0 and all(b < 0x80 for b in out), "%s: exit %d %s" % (what, rc, err))
        check_header_syntax(out[:-1], what)
        msg = email.message_from_bytes(out + b"\n", policy=email.policy.default)
        got = [(x.display_name, x.addr_spec) for x in msg["To"].addresses]
        if out.count(b"=?") > 1:
            # Python's address parser keeps the white space between the
            # encoded words of a phrase, which RFC 2047 6.2 drops (its
            # decode_header drops it): the name as RFC 2047 reads it.
            value = out[len(b"To: "):-1].replace(b"\n", b"").decode("ascii")
            phrase = value[:value.rindex(" <")]
            name = "".join(t.decode(c) for t, c in email.header.decode_header(phrase))
            got = [(name, got[0][1])]
        check(got == want, "%s: parsed back as %r" % (what, got))
        check(not msg["To"].defects or any("@" not in w[1] for w in want),   # a bare local part is one
              "%s: defects %r" % (what, msg["To"].defects))
    bad = ["", " ", ",", "a@b,", ",a@b", "a@b,,c@d", "a..b@example.org", ".a@example.org", "a.@example.org",
           "a@example.org.", "a@example..org", "a@-example.org", "a@example-.org", "a@", "@example.org", "a@b@c",
           "a b@c", "a\"b@c", "<unclosed@example.org", "Name <a@b", "Name a@b>", "a@b>", "\"open <a@b>",
           "Na\\me <a@b>", "(comment) a@b", "a@b (comment)", "Name <a@b> trailing", "Name <<a@b>>", "Name <a@b\x7f>",
           "Ctl\x01 <a@b>", "C1 \u0085 <a@b>", "a@b\rBcc: x@y", "a@b\nBcc: x@y", "n\u00e4me@example.net",
           "a@[1.2.3.4", "a@[1 2]", "x" * 300 + "@example.net", "a@b, " * 250 + "c@d", b"\xff <a@b>"]
    for value in bad:
        data = value if isinstance(value, bytes) else value.encode()
        rc, out, err = mailfmt(a, ["addresses", "To", "to"], data)
        check(rc == 2 and out == b"" and b"--to: " in err and b"\n" not in err.rstrip(b"\n"),
              "address %r refused: rc %d %s" % (value[:40], rc, err))


# ---------------------------------------------------------------- screenshot

def render_png(html_path, png, width, height):
    """Renders html_path in headless Debian Chromium to png (width x height),
    removing an older png first.  Returns (exit status, stderr bytes)."""
    if os.path.exists(png):
        os.unlink(png)
    profile = tempfile.mkdtemp(prefix="tlsrpt-chromium-")
    try:
        p = subprocess.run(["/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                            "--no-first-run", "--disable-background-networking", "--disable-component-update",
                            "--disable-sync", "--user-data-dir=" + profile, "--screenshot=" + png,
                            "--window-size=%d,%d" % (width, height), "file://" + os.path.abspath(html_path)],
                           capture_output=True, timeout=120)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    return p.returncode, p.stderr


def png_pixels(path):
    """Decodes an 8-bit RGB/RGBA non-interlaced PNG: (width, height, rows)."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    pos, idat = 8, b""
    w = h = ctype = 0
    while pos < len(data):
        (n,), kind = struct.unpack(">I", data[pos:pos + 4]), data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
            if depth != 8 or ctype not in (2, 6) or body[12] != 0:
                return None
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    bpp = 4 if ctype == 6 else 3
    stride = w * bpp
    rows, prev = [], bytearray(stride)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            left = line[x - bpp] if x >= bpp else 0
            up = prev[x]
            ul = prev[x - bpp] if x >= bpp else 0
            if f == 1:
                line[x] = (line[x] + left) & 255
            elif f == 2:
                line[x] = (line[x] + up) & 255
            elif f == 3:
                line[x] = (line[x] + (left + up) // 2) & 255
            elif f == 4:
                p = left + up - ul
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - ul)
                line[x] = (line[x] + (left if pa <= pb and pa <= pc else up if pb <= pc else ul)) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, bpp, rows


def screenshot(a):
    chromium = "/usr/bin/chromium"
    if not os.path.exists(chromium):
        print("SKIP: %s not installed" % chromium)
        sys.exit(77)
    db = sample_db(a)
    rc, out, err = run(a, ["--db", db, "email", "--since", "2026-11-19", "--until", "2026-11-20"])
    check(rc == 0, "email exit %d" % rc)
    msg = email.message_from_bytes(out, policy=email.policy.default)
    html_path = os.path.join(a.work, "email.html")
    png = os.path.join(a.work, "email.png")
    open(html_path, "w", encoding="utf-8").write(msg.get_body(("html",)).get_content())
    rc_png, err_png = render_png(html_path, png, 900, 1400)
    check(os.path.exists(png), "chromium wrote %s (exit %d): %s" % (png, rc_png, err_png[-500:]))
    if not os.path.exists(png):
        return
    check(os.path.getsize(png) > 20000, "screenshot is not trivial (%d bytes)" % os.path.getsize(png))
    dec = png_pixels(png)
    check(dec is not None, "PNG decodes")
    if dec is None:
        return
    w, h, bpp, rows = dec
    check((w, h) == (900, 1400), "screenshot size %dx%d" % (w, h))
    colours = set()
    red = 0
    for y in range(0, h, 4):
        r = rows[y]
        for x in range(0, w * bpp, bpp * 4):
            px = tuple(r[x:x + 3])
            colours.add(px)
            if px[0] > 150 and px[1] < 60 and px[2] < 60:
                red += 1
    check(len(colours) > 50, "screenshot has many colours (%d)" % len(colours))
    check(red > 20, "failure bars/headline drawn in red (%d samples)" % red)
    print("screenshot: %s (%dx%d, %d colours)" % (png, w, h, len(colours)))


# ---------------------------------------------------------------- cli

def cli(a):
    db = sample_db(a)
    cases = [
        (["--version"], 0, b"tlsrpt-report "),
        (["--help"], 0, b"Usage: tlsrpt-report"),
        (["summary", "--help"], 0, b"--by"),
        (["help", "email"], 0, b"--only-if-failures"),
        ([], 2, b""),
        (["bogus"], 2, b""),
        (["--db", db, "summary", "--by", "nope"], 2, b""),
        (["--db", db, "summary", "--by", "org,org"], 2, b""),
        (["--db", db, "summary", "--since", "2026-13-01"], 2, b""),
        (["--db", db, "summary", "--since", "2026-02-30"], 2, b""),
        (["--db", db, "summary", "--since", "2026-11-10", "--until", "2026-11-01"], 2, b""),
        (["--db", db, "summary", "--format", "xml"], 2, b""),
        (["--db", db, "trend", "--interval", "year"], 2, b""),
        (["--db", db, "reports", "--by", "org"], 2, b""),
        (["--db", db, "show"], 2, b""),
        (["--db", db, "show", "x"], 2, b""),
        (["--db", db, "show", "99999"], 3, b""),
        (["--db", db, "quarantine", "show", "99999"], 3, b""),
        (["--db", os.path.join(a.work, "missing.db"), "summary"], 1, b""),
        (["--db", db, "summary", "--since", "7d"], 0, b"Totals"),
        (["--db", db, "summary", "--since", "friday"], 0, b"Totals 2026-11-20 to 2026-11-22"),
        (["--db", db, "summary", "--since", "monday", "--until", "today"], 0, b"Totals 2026-11-23 (UTC)"),
        (["--db", db, "summary", "--since", "2026-11-01T00:00:00+01:00"], 0, b"2026-10-31T23:00:00Z"),
        (["--db", db, "summary", "--since", "3m"], 0, b"2026-08-23"),
        (["--db", db, "summary", "--since", "1w", "--until", "yesterday"], 0, b"2026-11-16 to 2026-11-22"),
    ]
    for argv, want_rc, want_out in cases:
        rc, out, err = run(a, argv)
        check(rc == want_rc, "%r: exit %d, want %d (%s)" % (argv, rc, want_rc, err.decode(errors="replace")))
        check(want_out in out, "%r: output lacks %r" % (argv, want_out))
        if want_rc == 2:
            check(err.startswith(b"tlsrpt-report: ") or err.startswith(b"Usage:"), "%r: error on stderr" % argv)
    # TLSRPT_DB is honoured
    rc, out, err = run(a, ["reports", "--format", "csv"], extra_env={"TLSRPT_DB": db})
    check(rc == 0 and out.startswith(b"id,org,domains"), "TLSRPT_DB")
    # a terminal width squeezes text columns
    rc, out, err = run(a, ["--db", db, "reports"], extra_env={"COLUMNS": "110"})
    check(rc == 0 and max(len(l) for l in out.decode().splitlines()) < 110, "COLUMNS=110 respected")
    # --limit
    rc, out, err = run(a, ["--db", db, "failures", "--limit", "2", "--format", "csv"])
    check(rc == 0 and out.count(b"\r\n") == 3 and b"--limit 0" in err, "--limit 2")
    stored_dates_and_names(a)


def stored_dates_and_names(a):
    """Every output prints every date it stored (a year-9999 report ends
    10000-01-01), flagged implausible; names sent in several spellings
    are one name, and an sts and a tlsa copy of a detail whose MX names
    differ in case count once."""
    db = os.path.join(a.work, "dates-names.db")
    for f in (db, db + "-wal", db + "-shm"):
        if os.path.exists(f):
            os.unlink(f)
    far = report_doc("Far Future", "y9999", "9999-12-31", [policy_doc("sts", "example.net", 1, [])])
    case = report_doc("Case Org", "case-1", "2026-11-20", [
        policy_doc("sts", "Example.NET.", 10, [("certificate-expired", "MX1.EXAMPLE.NET", 1)]),
        policy_doc("tlsa", " example.net ", 10, [("certificate-expired", "mx1.example.net.", 1)])])
    idn = report_doc("Idn Org", "idn-1", "2026-11-21", [
        policy_doc("sts", "b\u00fccher.example", 5, [("starttls-not-supported", "MX.B\u00dcCHER.example", 2)])])
    alabel = report_doc("Idn Org", "idn-2", "2026-11-22", [
        policy_doc("sts", "XN--BCHER-KVA.example", 5, [("starttls-not-supported", "mx.xn--bcher-kva.example", 2)])])
    ingest_reports(a, db, [far, case, idn, alabel], "dates-names-json")
    window = ["--since", "2026-01-01", "--until", "9999-12-31"]
    rc, out, err = run(a, ["--db", db, "reports", "--format", "csv"] + window)
    rows = list(csv.DictReader(io.StringIO(out.decode())))
    far_rows = [r for r in rows if r["org"] == "Far Future"]
    check(rc == 0 and far_rows and far_rows[0]["end"] == "10000-01-01T00:00:00Z",
          "reports CSV prints the year-10000 end: %r" % far_rows)
    rc, out, err = run(a, ["--db", db, "reports", "--format", "json"] + window)
    far_rows = [r for r in json.loads(out)["rows"] if r["org"] == "Far Future"] if rc == 0 else []
    check(far_rows and far_rows[0]["end"] == "10000-01-01T00:00:00Z" and far_rows[0]["start"] == "9999-12-31T00:00:00Z",
          "reports JSON prints the year-10000 end: %r" % far_rows)
    rc, out, err = run(a, ["--db", db, "reports"] + window)
    check(rc == 0 and b"9999-12-31" in out, "reports table shows the year-9999 days: %r" % out)
    far_id = [r["id"] for r in rows if r["org"] == "Far Future"]
    rc, out, err = run(a, ["--db", db, "show", str(far_id[0] if far_id else 1)])
    check(rc == 0 and b"end: 10000-01-01T00:00:00Z" in out and b"date-range-implausible" in out,
          "show: the end and the warning: %r" % out[:400])
    since = ["--since", "2026-11-01"]
    rc, out, err = run(a, ["--db", db, "--format", "json", "summary", "--by", "domain,mx"] + since)
    got = sorted((r["domain"], r["mx"], r["failed_sessions"]) for r in json.loads(out)["rows"]) if rc == 0 else []
    check(got == [("example.net", "mx1.example.net", 1), ("xn--bcher-kva.example", "mx.xn--bcher-kva.example", 4)],
          "names in several spellings are one name, sts+tlsa counted once: %r" % got)


# ---------------------------------------------------------------- rollup

def random_rows(seed, n_reports):
    """Report, policy and failure rows of a random database, in the order
    tlsrpt-ingest writes them.  Built to exercise the counting rules: sts and
    tlsa copies of the same details (some with a larger count), details
    repeated within a policy, NULL and empty fields, a missing policy
    domain, reports with several domains, starts at any hour."""
    import random
    rng = random.Random(seed)
    orgs = ["Google Inc.", "Microsoft Corporation", "Mail.Ru", "Yahoo", "Org_%", "org*star"]
    doms = ["example.com", "example.net", "example.org", "mx-only.example", "a_b.example"]
    types = ["starttls-not-supported", "certificate-expired", "certificate-host-mismatch",
             "sts-policy-fetch-error", "validation-failure"]
    t0 = 1787097600   # 2026-08-19T00:00:00Z
    reports, policies, failures = [], [], []
    pid = 0

    def detail():
        mxh = rng.choice(["mx1.%s" % rng.choice(doms), "mx2.example.net", "", None])
        rip = rng.choice(["192.0.2.1", "192.0.2.2", "", None])
        return [rng.choice(types), rng.choice(["198.51.100.1", "198.51.100.2", "", None]), mxh,
                rng.choice([None, "helo.example"]), rip, rng.randint(0, 20),
                rng.choice([None, "X509_V_ERR", ""])]

    for rid in range(1, n_reports + 1):
        start = t0 + 86400 * rng.randrange(96) + (0 if rng.random() < 0.8 else 3600 * rng.randrange(24))
        org = rng.choice(orgs)
        reports.append((rid, org, "r%d" % rid, start, start + 86400 * rng.choice([1, 1, 1, 7])))
        dom = rng.choice(doms + [None]) if rng.random() < 0.05 else rng.choice(doms)
        shape = rng.random()
        pols = []
        if shape < 0.3:      # sts + tlsa, same sessions and details
            base = [detail() for _ in range(rng.randrange(6))]
            base += [list(base[0])] if base and rng.random() < 0.3 else []   # repeated within the policy
            copy = [list(d) for d in base]
            for d in copy:
                if rng.random() < 0.3:
                    d[5] += rng.randint(1, 5)
            if copy and rng.random() < 0.3:
                copy.append(detail())
            ok, bad = rng.randint(0, 500), rng.randint(0, 50)
            pols = [("sts", dom, ok, bad, base), ("tlsa", dom, ok + rng.choice([0, 0, 3]), bad, copy)]
        else:
            for k in range(rng.choice([1, 1, 1, 2, 3])):
                d2 = dom if rng.random() < 0.85 else rng.choice(doms)
                pols.append((rng.choice(["sts", "tlsa", "no-policy-found", "sts"]), d2, rng.randint(0, 500),
                             rng.randint(0, 50), [detail() for _ in range(rng.randrange(5))]))
        for idx, (pt, d, ok, bad, fds) in enumerate(pols):
            pid += 1
            policies.append((pid, rid, idx, pt, d, ok, bad))
            for f in fds:
                failures.append((pid, f[0], f[1], f[2], f[3], f[4], f[5], f[6]))
    return reports, policies, failures


# What a writer runs before it commits (schema/003-rollup-fold.sql).
FOLD = "UPDATE roll_state SET folds = folds + 1 WHERE id = 1 AND EXISTS (SELECT 1 FROM roll_pending)"


def write_rows(con, rows, order, fold_every=0):
    reports, policies, failures = rows
    raw = zlib.compress(b"{}")
    ins_r = ("INSERT INTO report (id, org_name, report_id, start_time, end_time, received_time, source,"
             " raw_json_z, raw_json_size, parser_version) VALUES (?, ?, ?, ?, ?, 0, 'test', ?, 2, 1)")
    ins_p = ("INSERT INTO policy (id, report, idx, policy_type, policy_domain, successful_sessions,"
             " failed_sessions) VALUES (?, ?, ?, ?, ?, ?, ?)")
    ins_f = ("INSERT INTO failure (policy, result_type, sending_mta_ip, receiving_mx_hostname,"
             " receiving_mx_helo, receiving_ip, failed_sessions, failure_reason_code) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
    if order == "ingest":          # report, then each policy followed by its details
        by_pol = {}
        for f in failures:
            by_pol.setdefault(f[0], []).append(f)
        by_rep = {}
        for p in policies:
            by_rep.setdefault(p[1], []).append(p)
        for i, r in enumerate(reports):
            con.execute(ins_r, r + (raw,))
            for p in by_rep.get(r[0], []):
                con.execute(ins_p, p)
                con.executemany(ins_f, by_pol.get(p[0], []))
            if fold_every and (i + 1) % fold_every == 0:
                con.execute(FOLD)
                con.commit()
    else:                          # all reports, then all policies, then all details, shuffled
        import random
        fs = list(failures)
        random.Random(7).shuffle(fs)
        con.executemany(ins_r, [r + (raw,) for r in reports])
        con.executemany(ins_p, policies)
        con.executemany(ins_f, fs)


def rollup_queries():
    keys = ["org", "domain", "mx", "type", "ip", "policy", "day", "week", "month"]
    windows = [["--since", "2026-08-01"], ["--since", "2026-09-03", "--until", "2026-10-20"],
               ["--since", "2026-09-03T05:00:00Z", "--until", "2026-10-20T17:30:00Z"],
               ["--since", "2026-10-05T10:00:00Z", "--until", "2026-10-05T20:00:00Z"]]
    filters = [[], ["--domain", "example.com"], ["--domain", "*.example", "--domain", "example.org"],
               ["--org", "Google*"], ["--org", "org_%"], ["--mx", "mx1.*"], ["--mx", "[192.0.2.1]"],
               ["--type", "certificate-*"], ["--domain", "example.net", "--org", "M*", "--type", "*-expired"]]
    qs = []
    for i, w in enumerate(windows):
        for k in keys:
            qs.append(["summary", "--by", k] + w)
        for k1, k2 in [("org", "day"), ("mx", "type"), ("domain", "org"), ("org", "mx"), ("ip", "type"),
                       ("policy", "domain"), ("week", "org"), ("month", "type"), ("day", "ip"),
                       ("domain", "week"), ("policy", "month")]:
            qs.append(["summary", "--by", "%s,%s" % (k1, k2)] + w)
        for f in filters:
            qs.append(["summary", "--by", ["org", "domain", "mx", "ip"][i] + ",type"] + w + f)
            qs.append(["summary", "--by", "org,domain"] + w + f)
            qs.append(["summary", "--by", "ip"] + w + f)
            qs.append(["trend", "--interval", ["day", "week", "month"][i % 3]] + w + f)
        qs.append(["summary", "--by", "org,domain,mx,type,ip,policy,day"] + w)
    qs.append(["summary", "--by", "week,month,org"])
    qs += all_time_queries()
    qs.append(["trend", "--interval", "week", "--since", "2026-08-01", "--domain", "example.com"])
    qs.append(["email", "--since", "2026-10-01", "--until", "2026-10-31", "--to", "a@example.net",
               "--from", "b@example.net"])
    qs.append(["email", "--since", "2026-10-10", "--until", "2026-10-10", "--domain", "example.org"])
    return qs


def all_time_queries():
    """Windows holding every report (schema/004's roll_fail_tot; without a
    filter's dimension the rollup rows are not grouped again) and one that
    leaves the first day's reports out."""
    qs = []
    for w in (["--since", "1970-01-01"], ["--since", "2026-08-19", "--until", "2026-11-24"],
              ["--since", "2026-08-20"]):
        for k in ("org,domain,type", "org,mx", "domain,org", "org,domain,mx,type,policy", "policy,org,domain",
                  "domain,type", "type"):
            qs.append(["summary", "--by", k] + w)
        for f in (["--type", "certificate-*"], ["--domain", "example.com"], ["--mx", "mx1.*"], ["--org", "M*"]):
            qs.append(["summary", "--by", "org,domain"] + w + f)
    return qs


def check_fail_tot(db, label):
    """roll_fail_tot holds roll_fail summed over days (004's triggers)."""
    con = sqlite3.connect(db)
    q_days = ("SELECT dom, org, mx, ty, pt, SUM(c), SUM(n), SUM(d) FROM roll_fail GROUP BY dom, org, mx, ty, pt"
              " HAVING SUM(c) <> 0 OR SUM(n) <> 0 OR SUM(d) <> 0")
    q_tot = "SELECT dom, org, mx, ty, pt, c, n, d FROM roll_fail_tot WHERE c <> 0 OR n <> 0 OR d <> 0"
    days, tot = sorted(con.execute(q_days).fetchall()), sorted(con.execute(q_tot).fetchall())
    con.close()
    check(days == tot and tot, "%s: roll_fail_tot equals roll_fail summed over days (%d vs %d rows)"
          % (label, len(tot), len(days)))


def add_none_domain(db):
    """A report whose policy domain is literally "(none)", what a missing
    domain shows as: the two must be summed together."""
    con = sqlite3.connect(db)
    rid = con.execute("SELECT MAX(id) + 1 FROM report").fetchone()[0]
    pid = con.execute("SELECT MAX(id) + 1 FROM policy").fetchone()[0]
    write_rows(con, ([(rid, "Yahoo", "r%d" % rid, 1787097600 + 5 * 86400, 1787097600 + 6 * 86400)],
                     [(pid, rid, 0, "sts", "(none)", 10, 5)],
                     [(pid, "starttls-not-supported", "198.51.100.1", "mx1.example.com", None, None, 5, None)]),
               "ingest")
    con.execute(FOLD)
    con.commit()
    con.close()


def widen_ids(db):
    """Unused names with ids past RPT_ROLLSUM_CELLS_MAX (report/rollsum.h,
    2^18) in every dim table: queries without a time key then leave the
    sums to SQL's GROUP BY instead of the table in C, so both paths are
    compared with the raw rows."""
    con = sqlite3.connect(db)
    for t in ("dim_org", "dim_domain", "dim_mx", "dim_type", "dim_ip", "dim_ptype"):
        con.execute("INSERT INTO %s (id, name) VALUES (?, ?)" % t, ((1 << 18) + 1, "unused.widen.invalid"))
    con.commit()
    con.close()


def check_trend_type_order(a, db, label, q):
    """trend's type columns come in the order of summary --by type (most
    failed sessions first, ties by name): trend computes that order itself
    from its per-bucket rows, summary is asked of SQLite."""
    argv = ["--db", db, "--format", "csv"]
    rc1, out1, err1 = run(a, argv + q)
    window = [x for x in q[1:] if x not in ("--interval", "day", "week", "month")]
    rc2, out2, err2 = run(a, argv + ["summary", "--by", "type"] + window)
    check(rc1 == 0 and rc2 == 0, "%s %r: exit %d/%d %s%s" % (label, q, rc1, rc2, err1, err2))
    head = next(csv.reader(io.StringIO(out1.decode())), [])
    cols = head[head.index("sessions_change") + 1:] if "sessions_change" in head else []
    totals = [(r[0], int(r[1])) for r in list(csv.reader(io.StringIO(out2.decode())))[1:]]
    want = [t for t, _ in sorted(totals, key=lambda x: (-x[1], x[0].encode()))]
    check(cols == want, "%s %r: trend types %r, summary --by type gives %r" % (label, q, cols, want))
    return bool(want)


def compare_rollup(a, db, label, queries=None):
    n = ordered = 0
    for q in queries or rollup_queries():
        if q[0] == "trend":
            ordered += check_trend_type_order(a, db, label, q)
        argv = ["--db", db, "--format", "json"] + q if q[0] != "email" else ["--db", db] + q
        rc1, out1, err1 = run(a, argv)
        rc2, out2, err2 = run(a, argv, extra_env={"TLSRPT_NO_ROLLUP": "1"})
        check(rc1 == 0 and rc2 == 0, "%s %r: exit %d/%d %s%s" % (label, q, rc1, rc2, err1, err2))
        if q[0] == "email":   # Message-ID and boundaries are random
            skip = (b"message-id", b"--", b"content-type", b" boundary=")
            out1 = b"\n".join(l for l in out1.split(b"\n") if not l.lower().startswith(skip))
            out2 = b"\n".join(l for l in out2.split(b"\n") if not l.lower().startswith(skip))
        if out1 != out2:
            check(False, "%s %r: rollup and raw differ" % (label, q))
            sys.stderr.write("rollup:\n%s\nraw:\n%s\n" % (out1.decode()[:1500], out2.decode()[:1500]))
        n += 1
    print("%s: %d queries equal with and without rollups; trend's type order checked on %d windows"
          % (label, n, ordered))
    check_fail_tot(db, label)


def rows_as_json_files(rows, out):
    """The random rows as RFC 8460 report files, for tlsrpt-ingest (absent
    and empty values left out: the parser stores both as NULL)."""
    import datetime
    reports, policies, failures = rows
    os.makedirs(out, exist_ok=True)
    by_pol, by_rep = {}, {}
    for f in failures:
        by_pol.setdefault(f[0], []).append(f)
    for p in policies:
        by_rep.setdefault(p[1], []).append(p)

    def iso(t):
        return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

    def present(d):
        return {k: v for k, v in d.items() if v not in (None, "")}
    for rid, org, report_id, start, end in reports:
        pols = []
        for pid, _, idx, pt, dom, ok, bad in by_rep.get(rid, []):
            fds = [present({"result-type": f[1], "sending-mta-ip": f[2], "receiving-mx-hostname": f[3],
                            "receiving-mx-helo": f[4], "receiving-ip": f[5], "failed-session-count": f[6],
                            "failure-reason-code": f[7]}) for f in by_pol.get(pid, [])]
            pol = {"policy": present({"policy-type": pt, "policy-domain": dom}),
                   "summary": {"total-successful-session-count": ok, "total-failure-session-count": bad}}
            if fds:
                pol["failure-details"] = fds
            pols.append(pol)
        doc = {"organization-name": org, "date-range": {"start-datetime": iso(start), "end-datetime": iso(end)},
               "contact-info": "tlsrpt@example.org", "report-id": report_id, "policies": pols}
        with open(os.path.join(out, "r%05d.json" % rid), "w") as fh:
            json.dump(doc, fh)


# Every rollup row by names (ids differ between ways of writing).
ROLLUP_BY_NAME = {
    "roll_sess": "SELECT coalesce(d.name, '-'), g, t, o.name, n, r, ok, bad FROM roll_sess s"
                 " LEFT JOIN dim_domain d ON d.id = s.dom JOIN dim_org o ON o.id = s.org"
                 " WHERE n <> 0 OR r <> 0 OR ok <> 0 OR bad <> 0",
    "roll_fail": "SELECT coalesce(d.name, '-'), t, o.name, m.name, y.name, p.name, c, s.n, s.d FROM roll_fail s"
                 " LEFT JOIN dim_domain d ON d.id = s.dom JOIN dim_org o ON o.id = s.org JOIN dim_mx m"
                 " ON m.id = s.mx JOIN dim_type y ON y.id = s.ty JOIN dim_ptype p ON p.id = s.pt WHERE c <> 0",
    "roll_fail_mx": "SELECT coalesce(d.name, '-'), g, t, m.name, y.name, p.name, c, s.n, s.d FROM roll_fail_mx s"
                    " LEFT JOIN dim_domain d ON d.id = s.dom JOIN dim_mx m ON m.id = s.mx JOIN dim_type y"
                    " ON y.id = s.ty JOIN dim_ptype p ON p.id = s.pt WHERE c <> 0",
    "roll_fail_ip": "SELECT g, t, o.name, i.name, y.name, p.name, c, s.n, s.d FROM roll_fail_ip s"
                    " JOIN dim_org o ON o.id = s.org JOIN dim_ip i ON i.id = s.ip JOIN dim_type y ON y.id = s.ty"
                    " JOIN dim_ptype p ON p.id = s.pt WHERE c <> 0",
    "roll_policy": "SELECT r.id, report, day, wk, mo, o.name, coalesce(d.name, '-'), p.name, multi, first"
                   " FROM roll_policy r JOIN dim_org o ON o.id = r.org LEFT JOIN dim_domain d ON d.id = r.dom"
                   " JOIN dim_ptype p ON p.id = r.pt",
    "roll_multidom": "SELECT report, day FROM roll_multidom",
    "roll_fail_tot": "SELECT coalesce(d.name, '-'), o.name, m.name, y.name, p.name, c, s.n, s.d FROM roll_fail_tot s"
                     " LEFT JOIN dim_domain d ON d.id = s.dom JOIN dim_org o ON o.id = s.org JOIN dim_mx m"
                     " ON m.id = s.mx JOIN dim_type y ON y.id = s.ty JOIN dim_ptype p ON p.id = s.pt WHERE c <> 0",
}


def rollups_by_name(path):
    con = sqlite3.connect(path)
    out = {t: sorted(con.execute(q).fetchall(), key=repr) for t, q in ROLLUP_BY_NAME.items()}
    con.close()
    return out


def check_fold_equals_sql(a, db, label):
    """The rollups tlsrpt-ingest wrote (ingest/rollup.c) equal what 003's
    roll_fold computes from the same rows."""
    c_rows = rollups_by_name(db)
    again = db + ".sqlfold"
    shutil.copyfile(db, again)
    con = sqlite3.connect(again, isolation_level=None)
    con.executescript("BEGIN; DELETE FROM roll_sess; DELETE FROM roll_fail; DELETE FROM roll_fail_mx;"
                      " DELETE FROM roll_fail_ip; DELETE FROM roll_policy; DELETE FROM roll_multidom;"
                      " INSERT INTO roll_pending SELECT id FROM report; " + FOLD + "; COMMIT;")
    con.close()
    sql_rows = rollups_by_name(again)
    for t in ROLLUP_BY_NAME:
        check(c_rows[t] == sql_rows[t], "%s: %s written by tlsrpt-ingest equals roll_fold's (%d vs %d rows)"
              % (label, t, len(c_rows[t]), len(sql_rows[t])))
    check(sum(len(v) for v in c_rows.values()) > 0, "%s: rollups not empty" % label)
    os.unlink(again)


def mixed_case(rows, seed):
    """rows with their DNS names as senders wrote them before version 5
    normalized them: upper case, a trailing dot, blanks around."""
    import random
    rng = random.Random(seed)
    reports, policies, failures = rows

    def mess(name):
        if not name:
            return name
        k = rng.randrange(4)
        return [name, name.upper(), name + ".", " %s.\t" % name.title()][k]
    return (reports, [p[:4] + (mess(p[4]),) + p[5:] for p in policies],
            [f[:3] + (mess(f[3]), mess(f[4])) + f[5:] for f in failures])


def migrated_names(a, files_all):
    """schema/005-names.sql on a version-4 database whose names differ in
    case, trailing dot and blanks: the summaries merge them (equal to a
    database written with the normalized names), the interned names are
    merged, and the rollups stay equal to the raw rows."""
    clean = random_rows(20261203, 600)
    rows = mixed_case(clean, 5)
    reports, policies, failures = rows
    # An sts and a tlsa copy of one detail whose MX names differ in case
    # (and a trailing dot): counted once after the migration.
    rid, pid = len(reports) + 1, len(policies) + 1
    reports = reports + [(rid, "Case Org", "case-1", 1790380800, 1790467200)]     # 2026-09-26
    policies = policies + [(pid, rid, 0, "sts", "Example.NET.", 10, 3), (pid + 1, rid, 1, "tlsa", "example.net", 10, 3)]
    failures = failures + [(pid, "certificate-expired", "198.51.100.9", "MX9.EXAMPLE.NET", None, None, 3, None),
                           (pid + 1, "certificate-expired", "198.51.100.9", "mx9.example.net.", None, None, 3, None)]
    rows = (reports, policies, failures)
    db = os.path.join(a.work, "rollup-names.db")
    for f in (db, db + "-wal", db + "-shm"):
        if os.path.exists(f):
            os.unlink(f)
    con = sqlite3.connect(db)
    for f in files_all[:4]:
        con.executescript(open(f).read())
    con.execute("PRAGMA user_version = 4")
    write_rows(con, rows, "ingest", fold_every=50)
    con.execute(FOLD)
    con.commit()
    before = con.execute("SELECT COUNT(*) FROM dim_domain").fetchone()[0]
    con.close()
    empty = os.path.join(a.work, "empty-dir")
    os.makedirs(empty, exist_ok=True)
    p = subprocess.run([a.ingest, "--db", db, empty], capture_output=True, env=env())
    con = sqlite3.connect(db)
    ver = con.execute("PRAGMA user_version").fetchone()[0]
    doms = [r[0] for r in con.execute("SELECT name FROM dim_domain")]
    mxs = [r[0] for r in con.execute("SELECT name FROM dim_mx")]
    raw_doms = set(r[0] for r in con.execute("SELECT DISTINCT policy_domain FROM policy WHERE policy_domain"
                                             " IS NOT NULL"))
    con.close()
    check(ver == len(files_all), "names: migrated to %d (%d): %s" % (len(files_all), ver, p.stderr))
    check(before > len(doms) and sorted(doms) == sorted(set(d.lower() for d in doms)),
          "names: interned domains merged (%d -> %d: %r)" % (before, len(doms), doms))
    check(raw_doms == set(doms) and all(d == d.strip().lower().rstrip(".") for d in raw_doms),
          "names: raw policy domains normalized: %r" % sorted(raw_doms))
    check(all(m == m.strip().lower().rstrip(".") for m in mxs), "names: interned MX names merged: %r" % mxs)
    # The summaries equal those of the same rows written with clean names.
    ref = os.path.join(a.work, "rollup-names-ref.db")
    con = schema_db(a, ref)
    cr, cp, cf = clean
    cp = cp + [(pid, rid, 0, "sts", "example.net", 10, 3), (pid + 1, rid, 1, "tlsa", "example.net", 10, 3)]
    cf = cf + [(pid, "certificate-expired", "198.51.100.9", "mx9.example.net", None, None, 3, None),
               (pid + 1, "certificate-expired", "198.51.100.9", "mx9.example.net", None, None, 3, None)]
    write_rows(con, (cr + [reports[-1]], cp, cf), "ingest")
    con.execute(FOLD)
    con.commit()
    con.close()
    for q in (["summary", "--by", "domain"], ["summary", "--by", "mx,type"], ["summary", "--by", "org,domain,mx"],
              ["trend", "--interval", "week"], ["summary", "--by", "mx", "--mx", "mx9.*"]):
        argv = ["--format", "json"] + q + ["--since", "2026-08-01"]
        rc1, out1, _ = run(a, ["--db", db] + argv)
        rc2, out2, _ = run(a, ["--db", ref] + argv)
        check(rc1 == 0 and out1 == out2, "names: %s after the migration equals clean names" % " ".join(q))
    rc, out, _ = run(a, ["--db", db, "--format", "json", "summary", "--by", "mx", "--mx", "mx9.*",
                         "--since", "2026-08-01"])
    got = json.loads(out)["rows"] if rc == 0 else None
    check(got and len(got) == 1 and got[0]["failed_sessions"] == 3,
          "names: sts+tlsa details with MX names differing in case counted once: %r" % got)
    compare_rollup(a, db, "names migrated", all_time_queries() + [
        ["summary", "--by", "domain,mx", "--since", "2026-08-01"],
        ["summary", "--by", "mx,type", "--since", "2026-09-03", "--until", "2026-10-20"]])


def rollup(a):
    rows = random_rows(20261123, 3000)
    files = sorted(glob.glob(os.path.join(a.source, "schema", "[0-9][0-9][0-9]-*.sql")))
    # 1. Written in ingest order and folded every 37 reports (the folds
    #    meet the same rollup keys again), then some reports deleted.
    db1 = os.path.join(a.work, "rollup-batches.db")
    con = schema_db(a, db1)
    con.execute("PRAGMA foreign_keys = ON")
    write_rows(con, rows, "ingest", fold_every=37)
    con.execute(FOLD)
    con.commit()
    check(con.execute("SELECT COUNT(*) FROM roll_pending").fetchone()[0] == 0, "roll_pending empty after a fold")
    con.execute("DELETE FROM report WHERE id % 97 = 0")
    con.commit()
    try:
        con.execute("INSERT INTO policy (report, idx, policy_type, successful_sessions, failed_sessions)"
                    " VALUES (1, 99, 'sts', 1, 1)")
        check(False, "adding a policy to a folded report is refused")
    except sqlite3.DatabaseError:
        pass
    try:
        con.execute("DELETE FROM failure WHERE id = 5")
        check(False, "deleting a failure row alone is refused")
    except sqlite3.DatabaseError:
        pass
    try:
        con.execute("UPDATE report SET start_time = start_time + 86400 WHERE id = 1")
        check(False, "moving a report in time is refused")
    except sqlite3.DatabaseError:
        pass
    con.rollback()
    con.close()
    compare_rollup(a, db1, "folded per batch")
    add_none_domain(db1)
    compare_rollup(a, db1, "a domain named (none)", all_time_queries())
    widen_ids(db1)
    compare_rollup(a, db1, "id ranges past the C sums (SQL groups)", all_time_queries())
    # 2. Written in another order (all policies before any detail), by a
    #    tool that does not fold: tlsrpt-report must not read the stale
    #    rollups (a pending report is counted); then folded at once.
    db2 = os.path.join(a.work, "rollup-order.db")
    con = schema_db(a, db2)
    write_rows(con, rows, "shuffled")
    con.commit()
    q = ["--db", db2, "--format", "json", "summary", "--by", "org,type", "--since", "2026-08-01"]
    rc1, out1, _ = run(a, q)
    rc2, out2, _ = run(a, q, extra_env={"TLSRPT_NO_ROLLUP": "1"})
    check(rc1 == 0 and out1 == out2 and b"failed_sessions" in out1, "reports not folded yet are counted")
    con.execute(FOLD)
    con.commit()
    con.close()
    compare_rollup(a, db2, "other order, one fold")
    # 3. Version 1 with the rows, upgraded by tlsrpt-ingest (the backfill).
    db3 = os.path.join(a.work, "rollup-backfill.db")
    for f in (db3, db3 + "-wal", db3 + "-shm"):
        if os.path.exists(f):
            os.unlink(f)
    con = sqlite3.connect(db3)
    con.executescript(open(files[0]).read())
    con.execute("PRAGMA user_version = 1")
    write_rows(con, rows, "ingest")
    con.commit()
    con.close()
    empty = os.path.join(a.work, "empty-dir")
    os.makedirs(empty, exist_ok=True)
    p = subprocess.run([a.ingest, "--db", db3, empty], capture_output=True, env=env())
    con = sqlite3.connect(db3)
    ver = con.execute("PRAGMA user_version").fetchone()[0]
    con.close()
    check(ver == len(files), "tlsrpt-ingest upgraded the database to %d (%d): %s" % (len(files), ver, p.stderr))
    compare_rollup(a, db3, "backfill")
    # 4. The same rows as report files through tlsrpt-ingest, which sums the
    #    rollups in C: equal to roll_fold's, and to the raw rows.  Twice
    #    over, the second run all duplicates; batches of 50.
    db4 = os.path.join(a.work, "rollup-ingest.db")
    files = os.path.join(a.work, "rollup-json")
    shutil.rmtree(files, ignore_errors=True)
    rows_as_json_files(rows, files)
    for f in (db4, db4 + "-wal", db4 + "-shm"):
        if os.path.exists(f):
            os.unlink(f)
    for _ in range(2):
        p = subprocess.run([a.ingest, "--db", db4, "-q", "--batch", "50", files], capture_output=True, env=env())
        check(p.returncode == 0, "tlsrpt-ingest of the random reports: exit %d %s" % (p.returncode, p.stderr))
    con = sqlite3.connect(db4)
    n = con.execute("SELECT COUNT(*) FROM report").fetchone()[0]
    con.close()
    check(n == len(rows[0]), "all %d random reports stored (%d)" % (len(rows[0]), n))
    check_fold_equals_sql(a, db4, "ingest")
    compare_rollup(a, db4, "ingest")
    migrated_names(a, files_all=sorted(glob.glob(os.path.join(a.source, "schema", "[0-9][0-9][0-9]-*.sql"))))
    # The backfilled rollups equal the ones the fold wrote.
    con = sqlite3.connect(db3)
    con.execute("ATTACH ? AS t", (db2,))
    for table, cols in (("roll_sess", "dom, g, t, org, n, r, ok, bad"),
                        ("roll_fail_ip", "g, t, org, ip, ty, pt, c, n")):
        # ids differ between the databases: compare by name
        if table == "roll_sess":
            q = ("SELECT d.name, g, t, o.name, n, r, ok, bad FROM %s.roll_sess s LEFT JOIN %s.dim_domain d"
                 " ON d.id = s.dom JOIN %s.dim_org o ON o.id = s.org WHERE n <> 0 ORDER BY 1, 2, 3, 4")
        else:
            q = ("SELECT g, t, o.name, i.name, y.name, p.name, c, n FROM %s.roll_fail_ip s JOIN %s.dim_org o"
                 " ON o.id = s.org JOIN %s.dim_ip i ON i.id = s.ip JOIN %s.dim_type y ON y.id = s.ty"
                 " JOIN %s.dim_ptype p ON p.id = s.pt WHERE c <> 0 ORDER BY 1, 2, 3, 4, 5, 6")
        got = con.execute(q % tuple(["main"] * q.count("%s"))).fetchall()
        want = con.execute(q % tuple(["t"] * q.count("%s"))).fetchall()
        check(got == want, "%s: backfill equals the fold's rows (%d vs %d rows)" % (table, len(got), len(want)))
    con.close()


def test_main(tests, failures=FAILURES, options=()):
    """The main() of every report test script.  Parses --report BIN,
    --ingest BIN, --source DIR and --work DIR (made if missing), and each
    (option, help) of options; runs tests with the parsed arguments: a dict
    {TEST: function} the one named by the first argument, else each
    function of the sequence in turn.  Then exits 1 after "N failed" when
    failures (the list the script's check() appends to) is not empty, else
    prints "passed"."""
    ap = argparse.ArgumentParser()
    if isinstance(tests, dict):
        ap.add_argument("test", choices=list(tests))
    for name in ("--report", "--ingest", "--source", "--work"):
        ap.add_argument(name, required=True)
    for name, what in options:
        ap.add_argument(name, help=what)
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    for t in [tests[a.test]] if isinstance(tests, dict) else tests:
        t(a)
    if failures:
        print("%d failed" % len(failures))
        sys.exit(1)
    print("passed")


if __name__ == "__main__":
    test_main({"golden": golden, "escaping": escaping, "email": email_test, "screenshot": screenshot, "cli": cli,
               "rollup": rollup}, options=[("--mailfmt", "tests/report/mailfmt_drv (the email test)")])
