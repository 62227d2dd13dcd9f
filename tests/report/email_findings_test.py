#!/usr/bin/env python3
"""tests/report/email_findings_test.py - report.email-findings: the summary
email's "What needs attention" section, Subject, --only-if-findings,
per-day chart and name wrapping, against what the other commands say.

Usage: email_findings_test.py --report BIN --ingest BIN --source DIR --work DIR

A database with planted problems (a domain failing 10% of its sessions on
an MX with a long hyphenated name, one failing 2%, a clean one, daily
reports from two senders) goes through `email`, whose message is parsed
back with Python's email package and checked:
  - the attention section (text and HTML) lists the findings of
    `findings --format json` for the same 7 days: severity, code, domain,
    MX, in order, each with its fix;
  - the Subject counts the critical and warning findings;
  - the per-day table (text) and bars (HTML) equal `trend --interval day`
    and `summary --by day` for those days;
  - the domain table is ordered worst first, as `summary` counts;
  - every domain and MX name in the HTML is kept whole per label, with a
    <wbr> only after a dot, and whole in the text part;
  - --only-if-findings sends nothing on a clean database, and sends when
    the capture pipeline has stopped or the spool has a backlog (where
    --only-if-failures stays silent);
  - the HTML part renders in headless Chromium (a PNG left in the work
    directory for a look; skipped without /usr/bin/chromium).
Python standard library only; the reference date is fixed with TLSRPT_NOW.
"""
import calendar
import email
import email.policy
import html as htmlmod
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time

sys.dont_write_bytecode = True          # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report_test as rt  # noqa: E402  (run(), check(), ingest helpers, png_pixels())

check = rt.check
WINDOW = ("2026-11-16", "2026-11-22")          # the 7 days ending with yesterday (NOW is 2026-11-23)
LONG_MX = "very-long-mx-host-name-number-one.broken-mail.example"
RECEIVED = calendar.timegm((2026, 11, 22, 12, 0, 0))


def days(first, n):
    t0 = calendar.timegm(time.strptime(first, "%Y-%m-%d"))
    return [time.strftime("%Y-%m-%d", time.gmtime(t0 + 86400 * i)) for i in range(n)]


def policy(domain, mode, mx):
    return ["version: STSv1", "mode: " + mode, "mx: " + mx, "max_age: 604800"]


def planted_docs(last_day):
    """Daily reports from two senders from 2026-11-01 up to last_day."""
    docs = []
    for i, day in enumerate(days("2026-11-01", 22)):
        if day > last_day:
            break
        for org in ("Google LLC", "Microsoft Corporation"):
            pols = [rt.policy_doc("sts", "clean.example", 200, [], policy("clean.example", "enforce", "mx1.clean.example"))]
            if last_day == "2026-11-22":      # the planted problems
                bad = 40 + 30 * (i % 4) if day >= "2026-11-10" else 0      # uneven days for the chart
                pols.append(rt.policy_doc("sts", "broken-domain.example", 1000 - bad,
                                          [("certificate-expired", LONG_MX, bad)] if bad else [],
                                          policy("broken-domain.example", "enforce", "*.broken-mail.example")))
                pols.append(rt.policy_doc("sts", "warn.example", 980, [("starttls-not-supported", "mx2.warn.example", 20)],
                                          policy("warn.example", "enforce", "mx2.warn.example")))
            docs.append(rt.report_doc(org, "%s-%d" % (org.split()[0], i), day, pols))
    return docs


def build_db(a, name, docs, received):
    db = os.path.join(a.work, name + ".db")
    for f in (db, db + "-wal", db + "-shm"):
        if os.path.exists(f):
            os.unlink(f)
    rt.ingest_reports(a, db, docs, name)
    con = sqlite3.connect(db)
    con.execute("UPDATE report SET received_time = ?", (received,))
    con.commit()
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return db


def run(a, args, spool=""):
    return rt.run(a, args, extra_env={"TLSRPT_SPOOL": spool})


def json_of(a, args):
    rc, out, err = run(a, args + ["--format", "json"])
    check(rc in (0, 1, 2) and out, "%r: exit %d %s" % (args, rc, err))
    return json.loads(out)


def findings(a, db, extra=()):
    return json_of(a, ["--db", db, "findings", "--since", WINDOW[0], "--until", WINDOW[1]] + list(extra))


def status_of(doc):
    """The Subject's words for the counts of a findings document."""
    c, w = doc["counts"]["critical"], doc["counts"]["warning"]
    parts = []
    if c:
        parts.append("%d critical" % c)
    if w:
        parts.append("%d warning%s" % (w, "" if w == 1 else "s"))
    return ", ".join(parts) if parts else "all clean"


def parse(out, what):
    check(out.startswith(b"From:") or b"\nSubject:" in out, "%s: a message" % what)
    msg = email.message_from_bytes(out, policy=email.policy.default)
    check(not msg.defects, "%s: no defects %r" % (what, msg.defects))
    return msg, msg.get_body(("plain",)).get_content(), msg.get_body(("html",)).get_content()


def visible(h):
    """HTML as the text a reader sees (tags dropped, entities decoded)."""
    return htmlmod.unescape(re.sub(r"<[^>]+>", "", h))


# ---------------------------------------------------------------- the attention section

def check_attention(a, db, text, html, doc, what):
    """The findings of doc, in order, in both parts."""
    want = [(f["severity"].upper(), f["domain"] or "all domains", f["code"], f["mx"], f["fix"])
            for f in doc["findings"]][:40]
    got = re.findall(r"^\d+\. (CRITICAL|WARNING|INFO)  (.+?)  (\S+)$", text, re.M)
    check([w[:3] for w in want] == got, "%s: text findings %r, want %r" % (what, got[:5], [w[:3] for w in want][:5]))
    flat = " ".join(text.split())
    for sev, dom, code, mx, fix in want:
        if mx:
            check(("MX: " + mx) in text, "%s: text names MX %s whole" % (what, mx))
        check(fix is None or " ".join(fix.split()) in flat, "%s: text has the fix of %s" % (what, code))
    # HTML: a badge, the domain, the code, per finding
    cards = re.findall(r">(CRITICAL|WARNING|INFO)</span> <b>(.*?)</b> <span[^>]*>([^<]*)</span>", html)
    got_h = [(s, visible(d), htmlmod.unescape(c)) for s, d, c in cards]
    check([w[:3] for w in want] == got_h, "%s: HTML findings %r" % (what, got_h[:5]))
    vis = " ".join(visible(html).split())
    for sev, dom, code, mx, fix in want:
        check(fix is None or " ".join(fix.split()) in vis, "%s: HTML has the fix of %s" % (what, code))
        check(mx is None or mx in vis, "%s: HTML names MX %s" % (what, mx))
    check("Findings of the 7 days %s to %s (UTC)" % WINDOW in text, "%s: text states the window" % what)
    check("Findings of the 7 days %s to %s (UTC)" % WINDOW in vis, "%s: HTML states the window" % what)


def check_subject(msg, doc, what):
    subj = str(msg["Subject"])
    m = re.match(r"TLS-RPT .*?\d{4}-\d\d-\d\d(?: to \d{4}-\d\d-\d\d)?: (.*?); ", subj)
    check(m is not None and m.group(1) == status_of(doc),
          "%s: Subject %r, want status %r" % (what, subj, status_of(doc)))


# ---------------------------------------------------------------- per-day chart

def check_days(a, db, text, html, what):
    trend = json_of(a, ["--db", db, "trend", "--interval", "day", "--since", WINDOW[0], "--until", WINDOW[1]])
    summ = json_of(a, ["--db", db, "summary", "--by", "day", "--since", WINDOW[0], "--until", WINDOW[1]])
    want = [(b["bucket"], b["reports"], b["sessions"], b["failed_sessions"]) for b in trend["buckets"]]
    check(len(want) == 7, "%s: trend has the 7 days" % what)
    rows = re.findall(r"^(\d{4}-\d\d-\d\d) \w{3} +([\d,]+) +([\d,]+) +([\d,]+) ", text, re.M)
    got = [(d, int(r.replace(",", "")), int(s.replace(",", "")), int(f.replace(",", ""))) for d, r, s, f in rows]
    check(got == want, "%s: text per-day table %r, want %r" % (what, got, want))
    by_day = {r["day"]: r["failed_sessions"] for r in summ["rows"]}
    for d, _, _, f in got:
        check(by_day.get(d, 0) == f, "%s: %s failed %d, summary --by day says %d" % (what, d, f, by_day.get(d, 0)))
    # HTML: per day its label, sessions, a bar, failed, a bar, rate.
    i = html.find("Sessions and failures per day")
    check(i >= 0, "%s: HTML has the per-day chart" % what)
    chart = html[i:html.find("TLS success rate by policy domain", i)]
    got_h, fills = [], []
    cut = re.split(r'<span style="white-space:nowrap;">(\d{4}-\d\d-\d\d) \w{3}</span>', chart)
    for day, rest in zip(cut[1::2], cut[2::2]):
        nums = re.findall(r">([\d,]+)(?:</span>)?</td>", rest)
        bars = re.findall(r"<table[^>]*>(.*?)</table>", rest)
        widths = [int(m.group(1)) if m else 0 for m in (re.search(r"width:(\d+)%;height", b) for b in bars)]
        got_h.append((day, int(nums[0].replace(",", "")), int(nums[1].replace(",", ""))) if len(nums) >= 2 else (day,))
        fills.append(widths)
    check(got_h == [(d, s, f) for d, _, s, f in want], "%s: HTML per-day numbers %r" % (what, got_h))
    max_s = max(w[2] for w in want) or 1
    max_f = max(w[3] for w in want) or 1
    for (d, _, s, f), wd in zip(want, fills):
        exp = [round(s * 100 / max_s), round(f * 100 / max_f)]
        exp = [max(e, 1) if v else 0 for e, v in zip(exp, (s, f))]
        check(wd == exp, "%s: %s bar widths %r, want %r" % (what, d, wd, exp))


# ---------------------------------------------------------------- domain order and names

def check_domain_order(a, db, text, since, until, what):
    """The text part's domain table: the period's domains worst first (most
    failed sessions, then the lowest rate), then those only in the
    previous period (no session now), by name."""
    summ = json_of(a, ["--db", db, "summary", "--by", "domain", "--since", since, "--until", until])
    doms = summ["totals"]["domains"]
    want = [d["domain"] for d in sorted(doms, key=lambda d: (-d["failed_sessions"],
                                                            d["success_rate"] if d["success_rate"] is not None else 101,
                                                            d["domain"]))]
    lines = text.split("\n")
    i = next(k for k, l in enumerate(lines) if l.startswith("TLS success rate by policy domain"))
    got = []
    for l in lines[i + 3:]:
        if not l.strip():
            break
        got.append(l.split()[0])
    check(got[:len(want)] == want and got[len(want):] == sorted(got[len(want):]),
          "%s: domains worst first %r, want %r first" % (what, got, want))
    check(len(want) > 1, "%s: more than one domain to order" % what)


def check_names(html, text, names, what):
    """Every DNS name: in the HTML never as one run of text (so never broken
    inside a label by the browser), only as nowrap spans of one label each
    with a <wbr> after its dot; in the text part whole."""
    body = html[html.find("<body"):]
    runs = re.findall(r'(?:<span style="white-space:nowrap;">[^<]*</span>(?:<wbr>)?)+', body)
    seen = set()
    for r in runs:
        parts = re.findall(r'<span style="white-space:nowrap;">([^<]*)</span>(<wbr>)?', r)
        for k, (label, wbr) in enumerate(parts):
            last = k == len(parts) - 1
            if not last:
                check(label.endswith(".") and label.count(".") == 1 and wbr,
                      "%s: label %r of %r ends with its dot and a <wbr>" % (what, label, r[:80]))
            else:
                check("." not in label[:-1] and not wbr, "%s: last label %r" % (what, label))
        seen.add("".join(p[0] for p in parts))
    check(not any(re.fullmatch(r"[\d.]+", n) for n in seen), "%s: numbers are not drawn as names" % what)
    for n in names:
        check(n in seen, "%s: %s drawn label by label" % (what, n))
        check(n not in body, "%s: %s never one breakable run in the HTML" % (what, n))
        check(re.search(r"(?<![\w.-])%s(?![\w-])" % re.escape(n), text) is not None,
              "%s: %s whole in the text part" % (what, n))


# ---------------------------------------------------------------- --only-if-findings

def check_only_if(a):
    # the planted reports without the problems' policies
    docs = planted_docs("2026-11-22")
    for d in docs:
        d["policies"] = [p for p in d["policies"] if p["policy"]["policy-domain"] == "clean.example"]
    clean = build_db(a, "clean", docs, RECEIVED)
    doc = findings(a, clean)
    check(doc["counts"]["critical"] == 0 and doc["counts"]["warning"] == 0 and not doc["pipeline_stopped"],
          "clean database has no warning: %r" % doc["counts"])
    rc, out, err = run(a, ["--db", clean, "email", "--only-if-findings"])
    check(rc == 0 and out == b"", "--only-if-findings on a clean database: rc %d, %d bytes %s" % (rc, len(out), err))
    rc, out, err = run(a, ["--db", clean, "email"])
    msg, text, html = parse(out, "clean email")
    check(str(msg["Subject"]).startswith("TLS-RPT clean.example 2026-11-22: all clean; 0 failed of 400 sessions"),
          "clean Subject: %s" % msg["Subject"])
    check("Nothing needs attention" in text and "Nothing needs attention" in html, "clean: says nothing needs attention")

    # A backlog in the spool: sends, and says so in the Subject.
    spool = os.path.join(a.work, "spool")
    shutil.rmtree(spool, ignore_errors=True)
    for sub in ("new", "cur", "tmp"):
        os.makedirs(os.path.join(spool, sub))
    old = os.path.join(spool, "new", "waiting")
    open(old, "w").write("x")
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    rc, out, err = run(a, ["--db", clean, "email", "--only-if-findings"], spool=spool)
    msg, text, html = parse(out, "backlog email")
    check(rc == 0 and "1 report waiting in the spool" in str(msg["Subject"]), "backlog: sent, Subject %s" % msg["Subject"])

    # The capture stopped on 2026-11-18: reports up to that day (18 days of
    # two), the last stored that evening.
    stopped = build_db(a, "stopped", docs[:36], calendar.timegm((2026, 11, 18, 23, 0, 0)))
    doc = findings(a, stopped)
    check(doc["pipeline_stopped"] and doc["counts"]["critical"] >= 1, "stopped: findings say so: %r" % doc["counts"])
    rc, out, err = run(a, ["--db", stopped, "email", "--only-if-failures"])
    check(rc == 0 and out == b"", "stopped: --only-if-failures stays silent (no session failed)")
    rc, out, err = run(a, ["--db", stopped, "email", "--only-if-findings"])
    check(rc == 0, "stopped: --only-if-findings exit %d %s" % (rc, err))
    msg, text, html = parse(out, "stopped email")
    check_subject(msg, doc, "stopped")
    check("no reports received" in str(msg["Subject"]), "stopped Subject: %s" % msg["Subject"])
    check_attention(a, stopped, text, html, doc, "stopped")
    check("capture pipeline has stopped" in text and "capture pipeline has stopped" in html, "stopped: said first")
    rc, out, err = run(a, ["--db", stopped, "email", "--only-if-findings", "--only-if-failures"])
    check(rc == 0 and out != b"", "stopped: with both options, either one sends")


# ---------------------------------------------------------------- plant.py

def plant_db(a, name, stopped=False):
    """plant.py's planted problems (every kind of finding, one domain each,
    clean domains) for the 21 days before 2026-11-23, through a spool."""
    d = os.path.join(a.work, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    spool, db = os.path.join(d, "spool"), os.path.join(d, "t.db")
    subprocess.run([sys.executable, os.path.join(a.source, "tests", "report", "plant.py"), "--spool", spool,
                    "--now", "2026-11-23", "--seed", "7"] + (["--stopped"] if stopped else []),
                   check=True, capture_output=True)
    p = subprocess.run([a.ingest, "--db", db, "--spool", spool], capture_output=True, env=rt.env())
    check(p.returncode in (0, 1), "plant.py's reports stored: %s" % p.stderr[-300:])
    return db


def check_plant(a):
    """Every kind of finding rendered in both parts, as findings lists them."""
    db = plant_db(a, "plant")
    doc = findings(a, db)
    check(len(doc["findings"]) >= 10, "plant.py: many findings (%d)" % len(doc["findings"]))
    rc, out, err = run(a, ["--db", db, "email"])
    check(rc == 0, "plant.py email: exit %d %s" % (rc, err))
    msg, text, html = parse(out, "plant.py email")
    check_subject(msg, doc, "plant.py")
    check_attention(a, db, text, html, doc, "plant.py")
    check_days(a, db, text, html, "plant.py")
    check_domain_order(a, db, text, "2026-11-22", "2026-11-22", "plant.py")
    names = {f[k] for f in doc["findings"][:40] for k in ("domain", "mx")
             if f[k] and "." in f[k] and not f[k].startswith("[")}
    check_names(html, text, sorted(names), "plant.py")
    screenshot(a, html, "email-plant", bars=False)    # 40 findings before the chart
    stopped = plant_db(a, "plant-stopped", stopped=True)
    doc = findings(a, stopped)
    check(doc["pipeline_stopped"], "plant.py --stopped: the pipeline has stopped")
    rc, out, err = run(a, ["--db", stopped, "email", "--only-if-findings"])
    msg, text, html = parse(out, "plant.py --stopped email")
    check_subject(msg, doc, "plant.py --stopped")
    check_attention(a, stopped, text, html, doc, "plant.py --stopped")


# ---------------------------------------------------------------- screenshot

def screenshot(a, html_text, name, bars=True):
    """html_text rendered 900x2400; bars: the per-day chart is in that much."""
    chromium = "/usr/bin/chromium"
    if not os.path.exists(chromium):
        print("screenshot skipped: %s not installed" % chromium)
        return
    html_path = os.path.join(a.work, name + ".html")
    png = os.path.join(a.work, name + ".png")
    open(html_path, "w", encoding="utf-8").write(html_text)
    rc_png, err_png = rt.render_png(html_path, png, 900, 2400)
    check(os.path.exists(png), "chromium wrote %s (exit %d)" % (png, rc_png))
    if not os.path.exists(png):
        return
    dec = rt.png_pixels(png)
    check(dec is not None, "PNG decodes")
    if dec is None:
        return
    w, h, bpp, rows = dec
    red = amber = blue = 0
    for y in range(0, h, 3):
        r = rows[y]
        for x in range(0, w * bpp, bpp * 3):
            px = tuple(r[x:x + 3])
            if px[0] > 150 and px[1] < 60 and px[2] < 60:
                red += 1
            elif px[0] > 150 and 60 < px[1] < 140 and px[2] < 40:
                amber += 1
            elif px[2] > 200 and px[0] < 130 and 130 < px[1] < 190:
                blue += 1
    check(red > 50, "screenshot: critical findings and failure bars in red (%d)" % red)
    check(amber > 5, "screenshot: the warning in amber (%d)" % amber)
    check(blue > 20 or not bars, "screenshot: the sessions bars drawn (%d)" % blue)
    print("screenshot: %s (%dx%d)" % (png, w, h))


def email_findings(a):
    planted = build_db(a, "planted", planted_docs("2026-11-22"), RECEIVED)
    doc = findings(a, planted)
    codes = {(f["code"], f["domain"]) for f in doc["findings"]}
    check(doc["counts"]["critical"] >= 1 and doc["counts"]["warning"] >= 1,
          "planted database: a critical and a warning finding: %r" % doc["counts"])
    check(not any(d == "clean.example" for _, d in codes), "clean.example has no finding")
    rc, out, err = run(a, ["--db", planted, "email", "--to", "pm@example.net", "--from", "r@example.net"])
    check(rc == 0, "email exit %d %s" % (rc, err))
    msg, text, html = parse(out, "planted email")
    check_subject(msg, doc, "planted")
    check(str(msg["Subject"]).startswith("TLS-RPT 3 domains 2026-11-22: "), "Subject names: %s" % msg["Subject"])
    check(text.index("What needs attention") < text.index("Sessions and failures per day")
          < text.index("TLS success rate by policy domain"), "text: attention first, then the days")
    check(html.index("What needs attention") < html.index("Sessions and failures per day")
          < html.index("TLS success rate by policy domain"), "HTML: attention first, then the days")
    check_attention(a, planted, text, html, doc, "planted")
    check_days(a, planted, text, html, "planted")
    check_domain_order(a, planted, text, "2026-11-22", "2026-11-22", "planted")
    check_names(html, text, [LONG_MX, "mx2.warn.example", "broken-domain.example", "warn.example"], "planted")
    # a longer period: the findings still cover the 7 days ending with it
    rc, out, err = run(a, ["--db", planted, "email", "--since", "2026-11-01", "--until", "2026-11-22"])
    msg2, text2, html2 = parse(out, "three weeks")
    check_attention(a, planted, text2, html2, doc, "three weeks")
    check_domain_order(a, planted, text2, "2026-11-01", "2026-11-22", "three weeks")
    rc, out, err = run(a, ["--db", planted, "email", "--only-if-findings"])
    check(rc == 0 and out != b"", "--only-if-findings sends on the planted database")
    check_only_if(a)
    # findings' thresholds apply to the email too: at 3% the 2% domain is no warning
    doc3 = findings(a, planted, ["--warn-rate", "3"])
    check(doc3["counts"]["warning"] < doc["counts"]["warning"], "--warn-rate 3: fewer warnings %r" % doc3["counts"])
    rc, out, err = run(a, ["--db", planted, "email", "--warn-rate", "3"])
    msg3, text3, html3 = parse(out, "--warn-rate 3")
    check_subject(msg3, doc3, "--warn-rate 3")
    check_attention(a, planted, text3, html3, doc3, "--warn-rate 3")
    rc, out, err = run(a, ["--db", planted, "email", "--warn-rate", "6"])
    check(rc == 2 and out == b"" and b"--warn-rate" in err, "--warn-rate above --crit-rate refused: %d %s" % (rc, err))
    # the option is documented, and only the email takes it
    rc, out, err = run(a, ["help", "email"])
    check(rc == 0 and b"--only-if-findings" in out and b"all clean" in out, "help email documents it")
    rc, out, err = run(a, ["--db", planted, "summary", "--only-if-findings"])
    check(rc == 2 and b"--only-if-findings" in err, "summary --only-if-findings refused: %d %s" % (rc, err))
    screenshot(a, html, "email-findings")
    check_plant(a)


if __name__ == "__main__":
    rt.test_main([email_findings])
