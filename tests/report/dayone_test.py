#!/usr/bin/env python3
"""tests/report/dayone_test.py - what a postmaster meets on the first day
with tlsrpt-report (CTest report.dayone, labels report and cli).

Usage: dayone_test.py --report BIN --ingest BIN --source DIR --work DIR

Over the samples database and a generated one whose numbers this script
knows (every expected value is computed here from the generated reports,
not read back from tlsrpt-report):
  - reports and failures list newest first; a cut listing (quarantine too)
    counts the rows left out on stderr (and in JSON) and says how to see
    them
  - summary --limit N keeps the N rows with the most failed sessions and
    says "... and M more rows"; a terminal gets 50 rows by default, a pipe
    every row; --by org rows carry reports, sessions and the success rate;
    the domain totals are worst first
  - trend marks a bucket the window cuts ('*' and a footnote, "partial" in
    CSV and JSON) and never compares it as if complete
  - at COLUMNS=80 and 100, trend and failures keep failure types apart and
    show a cut name with an ellipsis
  - a filter that matches nothing names the nearest known values; --by ''
    is an error; a missing database is named and not created; a file that
    is not SQLite is named
Python standard library only; reuses report_test.py's helpers.
"""
import csv
import io
import json
import os
import pty
import re
import select
import sqlite3
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report_test as rt  # noqa: E402

check = rt.check

ORGS = ["Org %02d" % i for i in range(60)]
DOMAINS = ["alpha.example", "bravo.example", "charlie.example", "delta.example"]
TYPES = ["certificate-expired", "certificate-host-mismatch", "certificate-not-trusted",
         "starttls-not-supported", "validation-failure"]


def generated():
    """The generated reports as (org, report id, day, domain, ok, [(type, mx, n)])."""
    out = []
    for i, org in enumerate(ORGS):
        dom = DOMAINS[i % len(DOMAINS)]
        day = "2026-11-%02d" % (1 + i % 22)
        fails = [] if i % 10 == 9 else [(TYPES[i % len(TYPES)], "mx%d.%s" % (i % 3, dom), 1 + i % 7)]
        out.append((org, "gen-%d" % i, day, dom, 100 + 13 * i, fails))
    return out


def gen_db(a):
    db = os.path.join(a.work, "generated.db")
    if getattr(a, "gen_built", False):
        return db
    a.gen_built = True
    for f in (db, db + "-wal", db + "-shm"):
        if os.path.exists(f):
            os.unlink(f)
    docs = [rt.report_doc(org, rid, day, [rt.policy_doc("sts", dom, ok, fails)])
            for (org, rid, day, dom, ok, fails) in generated()]
    rt.ingest_reports(a, db, docs, "generated-json")
    return db


def rate(ok, bad):
    """tlsrpt-report's success rate: floored to 2 decimals."""
    return (ok * 10000 // (ok + bad)) / 100.0 if ok + bad else None


def run_json(a, argv):
    rc, out, err = rt.run(a, argv)
    check(rc == 0, "%r: exit %d %s" % (argv, rc, err))
    return json.loads(out) if rc == 0 else {}


def run_on_terminal(a, argv, columns=None):
    """argv with stdout on a pseudo-terminal; returns (exit, output)."""
    e = rt.env()
    if columns:
        e["COLUMNS"] = str(columns)
    master, slave = pty.openpty()
    p = subprocess.Popen([a.report] + argv, stdout=slave, stderr=subprocess.PIPE, env=e)
    os.close(slave)
    chunks = []
    while True:
        r, _, _ = select.select([master], [], [], 60)
        if not r:
            break
        try:
            data = os.read(master, 65536)
        except OSError:          # EIO: the other side closed
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    p.wait(timeout=60)
    return p.returncode, b"".join(chunks).replace(b"\r\n", b"\n")


# ---------------------------------------------------------------- listings

def check_limits(a, db, command, rows, limits):
    """command --limit N for each N of limits: the newest N of rows (all of
    them, newest first) and on stderr how many older rows were left out."""
    total = len(rows)
    for limit in limits:
        rc, out, err = rt.run(a, ["--db", db, command, "--format", "csv", "--limit", str(limit)])
        got = list(csv.DictReader(io.StringIO(out.decode())))
        check([r["id"] for r in got] == [r["id"] for r in rows[:limit]], "%s --limit %d: the newest" % (command, limit))
        left = total - limit
        want = "%d older %s left out" % (left, "row was" if left == 1 else "rows were")
        check(want.encode() in err and b"--limit 0" in err and b"--limit N" in err,
              "%s --limit %d: stderr counts %d left out: %r" % (command, limit, left, err))


def listings(a):
    db = rt.sample_db(a)
    rc, out, err = rt.run(a, ["--db", db, "reports", "--format", "csv", "--limit", "0"])
    rows = list(csv.DictReader(io.StringIO(out.decode())))
    keys = [(r["start"], int(r["id"])) for r in rows]
    check(rc == 0 and len(rows) > 10 and keys == sorted(keys, reverse=True),
          "reports: newest first (start, then ID, descending): %r" % keys[:5])
    check(err == b"", "reports --limit 0: nothing on stderr: %r" % err)
    total = len(rows)
    check_limits(a, db, "reports", rows, (1, 5, total - 1))
    doc = run_json(a, ["--db", db, "reports", "--format", "json", "--limit", "3"])
    check(doc.get("more") is True and doc.get("left_out") == total - 3, "reports JSON left_out: %r" % doc.get("left_out"))
    rc, out, err = rt.run(a, ["--db", db, "reports", "--limit", str(total)])
    check(rc == 0 and err == b"", "reports --limit = all: no note: %r" % err)

    rc, out, err = rt.run(a, ["--db", db, "failures", "--format", "csv", "--limit", "0"])
    frows = list(csv.DictReader(io.StringIO(out.decode())))
    days = [r["day"] for r in frows]
    check(len(frows) > 10 and days == sorted(days, reverse=True), "failures: newest day first: %r" % days[:5])
    by_day = [(r["day"], int(r["report"])) for r in frows]
    check(by_day == sorted(by_day, reverse=True), "failures: within a day the latest report first")
    # a filtered listing counts the filtered rows only
    sts = [r for r in frows if r["type"].startswith("sts-")]
    rc, out, err = rt.run(a, ["--db", db, "failures", "--type", "sts-*", "--format", "csv", "--limit", "2"])
    got = list(csv.DictReader(io.StringIO(out.decode())))
    check(got == sts[:2], "failures --type sts-* --limit 2: the newest two")
    check(("%d older rows were left out" % (len(sts) - 2)).encode() in err,
          "failures --type sts-* --limit 2 counts %d: %r" % (len(sts) - 2, err))
    doc = run_json(a, ["--db", db, "failures", "--format", "json", "--limit", "4"])
    check(doc.get("left_out") == len(frows) - 4, "failures JSON left_out: %r" % doc.get("left_out"))
    quarantine_listing(a)


def quarantine_listing(a):
    """quarantine --limit counts the inputs left out as reports does."""
    db = os.path.join(a.work, "quarantine.db")
    for f in (db, db + "-wal", db + "-shm"):
        if os.path.exists(f):
            os.unlink(f)
    src = os.path.join(a.work, "quarantine-in")
    os.makedirs(src, exist_ok=True)
    files = []
    for i in range(7):                      # seven different broken reports
        files.append(os.path.join(src, "broken-%d.json" % i))
        with open(files[-1], "w") as f:
            f.write('{"organization-name": "Broken %d", "report-id": ' % i)
    p = subprocess.run([a.ingest, "--db", db] + files, capture_output=True, env=rt.env(), timeout=120)
    con = sqlite3.connect(db)
    total = con.execute("SELECT COUNT(*) FROM quarantine").fetchone()[0]
    # last seen one a day from 2026-11-01 (id order), for a window
    con.execute("UPDATE quarantine SET last_seen = 1793491200 + 86400 * (id - 1)")
    con.commit()
    in_window = con.execute("SELECT COUNT(*) FROM quarantine WHERE last_seen >= 1793577600"
                            " AND last_seen < 1793923200").fetchone()[0]
    con.close()
    check(total == len(files), "quarantine: %d broken inputs, %d rows (ingest exit %d)"
          % (len(files), total, p.returncode))
    rc, out, err = rt.run(a, ["--db", db, "quarantine", "--format", "csv", "--limit", "0"])
    rows = list(csv.DictReader(io.StringIO(out.decode())))
    check(rc == 0 and len(rows) == total and err == b"", "quarantine --limit 0: all %d, no note: %r" % (total, err))
    check_limits(a, db, "quarantine", rows, (1, 3, total - 1))
    # with a window (2026-11-02 to 2026-11-06 UTC) only the rows in it count
    rc, out, err = rt.run(a, ["--db", db, "quarantine", "--since", "2026-11-02T00:00:00Z",
                              "--until", "2026-11-06T00:00:00Z", "--limit", "2"])
    check(in_window == 4 and ("%d older rows were left out" % (in_window - 2)).encode() in err,
          "quarantine --since --until --limit 2 counts %d: %r" % (in_window - 2, err))
    doc = run_json(a, ["--db", db, "quarantine", "--format", "json", "--limit", "3"])
    check(doc.get("more") is True and doc.get("left_out") == total - 3,
          "quarantine JSON left_out: %r" % doc.get("left_out"))
    rc, out, err = rt.run(a, ["--db", db, "quarantine", "--limit", str(total)])
    check(rc == 0 and err == b"", "quarantine --limit = all: no note: %r" % err)


# ---------------------------------------------------------------- summary

def summary(a):
    db = gen_db(a)
    gen = generated()
    since = ["--since", "2026-11-01", "--until", "2026-11-23"]
    # --by org: every org, with reports, sessions and the success rate
    doc = run_json(a, ["--db", db, "summary", "--by", "org", "--format", "json"] + since)
    want = by_org = {}
    for (org, rid, day, dom, ok, fails) in gen:
        bad = sum(f[2] for f in fails)
        want[org] = {"org": org, "failed_sessions": bad, "reports": 1, "sessions": ok + bad,
                     "success_rate": rate(ok, bad)}
    got = {r["org"]: r for r in doc.get("rows", [])}
    check(got == want, "summary --by org: sessions and rate per org, orgs without failures too (%d rows, %r)"
          % (len(got), [r for k, r in got.items() if want.get(k) != r][:2]))
    order = [r["org"] for r in doc.get("rows", [])]
    check(order == [o for o, _ in sorted(want.items(), key=lambda kv: (-kv[1]["failed_sessions"], kv[0]))],
          "summary --by org: most failed first, then by name")
    check("more" not in doc, "summary JSON without --limit: every row")
    # worst-first domain totals
    dom = {}
    for (org, rid, day, d, ok, fails) in gen:
        t = dom.setdefault(d, [0, 0])
        t[0] += ok
        t[1] += sum(f[2] for f in fails)
    want_order = sorted(dom, key=lambda d: (rate(*dom[d]), -dom[d][1], d))
    got_order = [d["domain"] for d in doc.get("totals", {}).get("domains", [])]
    check(got_order == want_order, "summary: domains worst first: %r, want %r" % (got_order, want_order))
    rc, out, err = rt.run(a, ["--db", db, "summary", "--by", "org"] + since)
    tail = out.decode().split("DOMAIN", 1)[-1].splitlines()[1:]
    check([l.split()[0] for l in tail if l.strip()] == want_order, "summary table: domains worst first")
    # --limit N: the N rows with the most failed sessions, in order, then "... and M more"
    full = run_json(a, ["--db", db, "summary", "--by", "org,type", "--format", "json"] + since)["rows"]
    for n in (1, 7, 20):
        ranked = sorted(range(len(full)), key=lambda i: (-full[i]["failed_sessions"], i))
        keep = sorted(ranked[:n])
        rc, out, err = rt.run(a, ["--db", db, "summary", "--by", "org,type", "--limit", str(n)] + since)
        lines = out.decode().splitlines()
        body = lines[1:1 + n]
        check([l.split("  ")[0] for l in body] == [full[i]["org"] for i in keep],
              "summary --limit %d: the top %d rows by failed sessions, in order" % (n, n))
        left = len(full) - n
        left_failed = sum(full[i]["failed_sessions"] for i in ranked[n:])
        want = "... and %d more rows (%d failed sessions); --limit N shows N, --limit 0 all" % (left, left_failed)
        check(len(lines) > n + 1 and lines[n + 1] == want, "summary --limit %d: %r, want %r"
              % (n, lines[n + 1] if len(lines) > n + 1 else None, want))
        doc = run_json(a, ["--db", db, "summary", "--by", "org,type", "--limit", str(n), "--format", "json"] + since)
        check(doc.get("left_out") == left and doc.get("left_out_failed_sessions") == left_failed
              and len(doc.get("rows", [])) == n, "summary JSON --limit %d: left_out" % n)
    rc, out, err = rt.run(a, ["--db", db, "summary", "--by", "org", "--limit", "2"] + since)
    tail = out.decode().split("\nDOMAIN", 1)[-1].splitlines()[1:]
    check([l.split()[0] for l in tail[:2]] == want_order[:2] and tail[2:3] == ["... and 2 more domains; --limit 0 shows all"],
          "summary --limit 2: the two worst domains, then the count: %r" % tail)
    rc, out, err = rt.run(a, ["--db", db, "summary", "--by", "org,type", "--limit", "3", "--format", "csv"] + since)
    check(out.count(b"\r\n") == 4 and b"more rows" in err, "summary CSV --limit 3: 3 rows, the rest on stderr")
    # on a terminal: 50 rows by default; through a pipe every row
    ranked = sorted(by_org.values(), key=lambda r: (-r["failed_sessions"], r["org"]))
    rc, out = run_on_terminal(a, ["--db", db, "summary", "--by", "org"] + since, columns=200)
    lines = out.decode().splitlines()
    want_line = ("... and 10 more rows (%d failed sessions); --limit N shows N, --limit 0 all"
                 % sum(r["failed_sessions"] for r in ranked[50:]))
    check(rc == 0 and lines[51:52] == [want_line] and [l.split("  ")[0] for l in lines[1:51]]
          == [r["org"] for r in ranked[:50]],
          "summary on a terminal: 50 rows and '... and 10 more rows': %r" % lines[49:53])
    rc, out = run_on_terminal(a, ["--db", db, "summary", "--by", "org", "--limit", "0"] + since, columns=200)
    check(rc == 0 and b"more rows" not in out and out.decode().count("Org ") == 60, "summary --limit 0 on a terminal: all")
    rc, out, err = rt.run(a, ["--db", db, "summary", "--by", "org"] + since)
    check(b"more rows" not in out and out.decode().count("Org ") == 60, "summary through a pipe: every row")
    # keys that are not report-level: failed sessions only
    doc = run_json(a, ["--db", db, "summary", "--by", "org,mx", "--format", "json"] + since)
    check(doc["rows"] and all(set(r) == {"org", "mx", "failed_sessions"} for r in doc["rows"]),
          "summary --by org,mx: no sessions columns")
    doc = run_json(a, ["--db", db, "summary", "--by", "org", "--type", "validation-failure", "--format", "json"] + since)
    check(doc["rows"] and all("sessions" not in r for r in doc["rows"]), "summary --by org --type: no sessions columns")


# ---------------------------------------------------------------- trend

def day_sessions():
    """Sessions and failed sessions per day of the generated reports."""
    days = {}
    for (org, rid, day, dom, ok, fails) in generated():
        t = days.setdefault(day, [0, 0])
        bad = sum(f[2] for f in fails)
        t[0] += ok + bad
        t[1] += bad
    return days


def trend(a):
    db = gen_db(a)
    days = day_sessions()
    now = {"TLSRPT_NOW": "2026-11-22T10:00:00Z"}      # 11-22 cut by the window, 11-21 still filling
    rc, out, err = rt.run(a, ["--db", db, "trend", "--since", "2026-11-10", "--format", "json"], extra_env=now)
    doc = json.loads(out) if rc == 0 else {"buckets": []}
    partial = {b["bucket"]: b["partial"] for b in doc["buckets"]}
    want = {"2026-11-%02d" % d: d >= 21 for d in range(10, 23)}
    check(partial == want, "trend: today and yesterday partial, the rest complete: %r" % partial)
    for i, b in enumerate(doc["buckets"]):
        s = days.get(b["bucket"], [0, 0])[0]
        check(b["sessions"] == s, "trend %s: sessions %r, want %d" % (b["bucket"], b["sessions"], s))
        prev = doc["buckets"][i - 1] if i else None
        if b["partial"] or prev is None or prev["partial"]:
            check(b["sessions_change"] is None and b["rate_change"] is None,
                  "trend %s: a partial bucket (or the one after it) is not compared: %r" % (b["bucket"], b))
        else:
            p = days.get(prev["bucket"], [0, 0])[0]
            want_change = round((s - p) * 1000 / p) / 10 if p else None
            check(b["sessions_change"] == want_change, "trend %s: sessions change %r, want %r"
                  % (b["bucket"], b["sessions_change"], want_change))
    rc, out, err = rt.run(a, ["--db", db, "trend", "--since", "2026-11-10"], extra_env=now)
    text = out.decode()
    check(re.search(r"^2026-11-22\* ", text, re.M) and re.search(r"^2026-11-21\* ", text, re.M)
          and not re.search(r"^2026-11-20\*", text, re.M), "trend table: partial buckets marked '*'")
    check("* partial: the window covers only part of the bucket" in text, "trend table: the footnote")
    line = [l for l in text.splitlines() if l.startswith("sessions ")]
    fmt = lambda n: "{:,}".format(n)
    s19, s20 = days["2026-11-19"][0], days["2026-11-20"][0]
    want = [fmt(s19), fmt(s20), "%+.1f%%" % ((s20 - s19) * 100.0 / s19)]
    check(line and line[0].split()[-3:] == want, "trend series: previous and latest are the last complete days: %r, want %r"
          % (line, want))
    # a week cut at the start (since a Thursday), CSV's partial column
    rc, out, err = rt.run(a, ["--db", db, "trend", "--interval", "week", "--since", "2026-11-05", "--until",
                              "2026-11-15", "--format", "csv"])
    rows = list(csv.DictReader(io.StringIO(out.decode())))
    check([(r["bucket"], r["partial"], r["sessions_change"]) for r in rows] ==
          [("2026-11-02", "1", ""), ("2026-11-09", "0", "")],
          "trend weeks: the week cut by --since is partial, the next one not compared with it: %r" % rows)
    # no complete bucket at all: every bucket drawn, no change
    rc, out, err = rt.run(a, ["--db", db, "trend", "--since", "today"], extra_env=now)
    line = [l for l in out.decode().splitlines() if l.startswith("sessions ")]
    check(rc == 0 and line and not line[0].rstrip().endswith("%"), "trend of today only: no change: %r" % line)


# ---------------------------------------------------------------- errors

def errors(a):
    db = rt.sample_db(a)
    for by in ("", ",", "org,", "org,,type"):
        rc, out, err = rt.run(a, ["--db", db, "summary", "--by", by])
        check(rc == 2 and b"--by: empty key" in err and out == b"", "--by %r: usage error: %r" % (by, err))
    for limit in ("1000000001", "9223372036854775807", "99999999999999999999"):
        rc, out, err = rt.run(a, ["--db", db, "reports", "--limit", limit])
        check(rc == 2 and b"is over 1000000000 (0 shows all)" in err and out == b"",
              "--limit %s: over RPT_MAX_LIMIT, a usage error: %r" % (limit, err))
    rc, out, err = rt.run(a, ["--db", db, "reports", "--since", "2026-01-01", "--limit", "1000000000"])
    check(rc == 0 and out.count(b"\n") > 20, "--limit 1000000000: every report: %d %r" % (rc, err))
    missing = os.path.join(a.work, "no-such-dir-or-db.db")
    for argv in (["summary"], ["reports"], ["trend"], ["check", "--resolver", "127.0.0.1:1", "--timeout", "1",
                                                        "x.invalid"]):
        rc, out, err = rt.run(a, ["--db", missing] + argv)
        check(("no database at %s (run tlsrpt-ingest first)" % missing).encode() in err,
              "%s: a missing database is named: %r" % (argv[0], err))
        check(not os.path.exists(missing), "%s: no database created at %s" % (argv[0], missing))
        if argv[0] != "check":
            check(rc == 1, "%s on a missing database: exit 1 (%d)" % (argv[0], rc))
    rc, out, err = rt.run(a, ["summary"], extra_env={"TLSRPT_DB": missing})
    check(rc == 1 and ("no database at %s" % missing).encode() in err, "$TLSRPT_DB missing: named")
    text = os.path.join(a.work, "notes.txt")
    with open(text, "w") as f:
        f.write("these are my notes, not a database\n" * 200)
    rc, out, err = rt.run(a, ["--db", text, "summary"])
    check(rc == 1 and err.startswith(("tlsrpt-report: %s: " % text).encode()) and b"not a database" in err,
          "a file that is not SQLite is named: %r" % err)
    check(open(text).read().startswith("these are my notes"), "the text file is left alone")


# ---------------------------------------------------------------- narrow terminals

def shown_as(cells, names, what):
    """Each displayed cell is a whole name or a cut one ending in an
    ellipsis, and stands for exactly one of the names: no two names look
    the same.  Returns the number of cut cells."""
    cut = 0
    for cell in set(cells):
        if cell.endswith("\u2026"):
            cut += 1
            match = [n for n in names if n.startswith(cell[:-1]) and n != cell[:-1]]
        else:
            match = [n for n in names if n == cell]
        check(len(match) == 1, "%s: %r stands for %r, not one name" % (what, cell, match))
    check(len(set(cells)) == len(names), "%s: %d names shown as %d" % (what, len(names), len(set(cells))))
    return cut


def table_cells(text, column):
    """The cells of a column of a terminal table, by the position of its
    name among the last header line's names (cells split at 2+ blanks)."""
    lines = text.splitlines()
    head = [i for i, l in enumerate(lines) if re.search(r"\b%s\b" % column, l)]
    if not head:
        return []
    names = re.split(r" {2,}", lines[head[0]].strip())
    k = names.index(column)
    cells = []
    for l in lines[head[0] + 1:]:
        if not l.strip() or l.startswith("(") or l.startswith("*"):
            break
        parts = re.split(r" {2,}", l.strip())
        if len(parts) == len(names) or k == 0:
            cells.append(parts[k])
    return cells


def narrow(a):
    db = rt.sample_db(a)
    rc, out, err = rt.run(a, ["--db", db, "failures", "--format", "csv"])
    rows = list(csv.DictReader(io.StringIO(out.decode())))
    types = sorted({r["type"] for r in rows})
    mxs = sorted({r["mx"] for r in rows})
    check(len([t for t in types if t.startswith("certificate-")]) >= 3, "the samples have several certificate-* types")
    for columns in (80, 100):
        cols = {"COLUMNS": str(columns)}
        rc, out, err = rt.run(a, ["--db", db, "failures"], extra_env=cols)
        text = out.decode()
        width = max(len(l) for l in text.splitlines())
        check(rc == 0 and width < columns, "failures at %d columns: widest line %d" % (columns, width))
        cells = table_cells(text, "TYPE")
        check(len(cells) == len(rows), "failures at %d: a row per detail (%d of %d)" % (columns, len(cells), len(rows)))
        shown_as(cells, types, "failures at %d, types" % columns)
        cut = shown_as(table_cells(text, "MX"), mxs, "failures at %d, MX" % columns)
        if columns == 80:
            check(cut > 0, "failures at 80: an MX name is cut, with an ellipsis")
            check("(left out to fit 80 columns:" in text and "RECEIVING IP" in text, "failures at 80: the note")
        rc, out, err = rt.run(a, ["--db", db, "trend"], extra_env=cols)
        text = out.decode()
        width = max(len(l) for l in text.splitlines())
        check(rc == 0 and width < columns, "trend at %d columns: widest line %d" % (columns, width))
        series = ["sessions", "failed sessions", "success rate"] + types
        cut = shown_as(table_cells(text, "SERIES"), series, "trend at %d, series" % columns)
        if columns == 80:
            check(cut > 0, "trend at 80: a failure type is cut, with an ellipsis")
        check(re.search(r"^2026-11-22\*", text, re.M), "trend at %d: the partial mark" % columns)
        rc, out, err = rt.run(a, ["--db", db, "summary"], extra_env=cols)
        text = out.decode()
        check(max(len(l) for l in text.splitlines()) < columns, "summary at %d columns" % columns)
        shown_as(table_cells(text, "TYPE"), types, "summary at %d, types" % columns)


# ---------------------------------------------------------------- hints

def levenshtein(a, b):
    a, b = a.lower(), b.lower()
    row = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        prev, row[0] = row[0], i
        for j in range(1, len(b) + 1):
            cur = min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] != b[j - 1]))
            prev, row[j] = row[j], cur
    return row[len(b)]


def hints(a):
    db = rt.sample_db(a)
    con = sqlite3.connect(db)
    types = sorted(r[0] for r in con.execute("SELECT DISTINCT result_type FROM failure"))
    domains = sorted(r[0] for r in con.execute("SELECT DISTINCT policy_domain FROM policy WHERE policy_domain IS NOT NULL"))
    orgs = sorted(r[0] for r in con.execute("SELECT DISTINCT org_name FROM report"))
    con.close()
    for opt, typo, names, what in (("--type", "certficate-expired", types, "failure type"),
                                   ("--domain", "exampel.net", domains, "policy domain"),
                                   ("--org", "Gogle Inc.", orgs, "organization")):
        best = min(names, key=lambda n: (levenshtein(typo, n), n))
        for cmd in (["summary"], ["failures"], ["reports"], ["trend"]):
            rc, out, err = rt.run(a, ["--db", db] + cmd + [opt, typo])
            line = [l for l in err.decode().splitlines() if "matches no" in l]
            want = "tlsrpt-report: %s '%s' matches no %s in the database; nearest: %s" % (opt, typo, what, best)
            check(rc == 0 and line and line[0].startswith(want), "%s %s %s: %r, want %r" % (cmd[0], opt, typo, line, want))
    # a value that matches (in any ASCII case, or as a pattern) says nothing
    for argv in (["--type", "certificate-expired"], ["--type", "CERTIFICATE-EXPIRED"], ["--mx", "mx1.*"],
                 ["--org", "google*"]):
        rc, out, err = rt.run(a, ["--db", db, "summary"] + argv)
        check(rc == 0 and b"matches no" not in err, "%r: no hint: %r" % (argv, err))
    # a hostile stored name and a hostile value are shown escaped
    hostile = [o for o in orgs if "\x1b" in o]
    check(hostile, "the samples have an organization with an ESC")
    if hostile:
        typo = hostile[0].replace("Evil", "Evl")
        rc, out, err = rt.run(a, ["--db", db, "summary", "--org", typo])
        check(b"matches no organization" in err and b"\x1b" not in err and b"\\x1b[31m" in err,
              "hint with a hostile name: escaped: %r" % err)
    # a pattern that matches nothing: said, with every name of a small dimension
    rc, out, err = rt.run(a, ["--db", db, "failures", "--type", "dane-*", "--type", "zz-*"])
    line = [l for l in err.decode().splitlines() if "matches no" in l]
    check(len(line) == 1 and ("known: " + ", ".join(types)) in line[0], "--type zz-*: the known types: %r" % line)


if __name__ == "__main__":
    rt.test_main([listings, summary, trend, narrow, hints, errors])
