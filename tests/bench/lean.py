#!/usr/bin/env python3
"""lean.py - the lean baseline: what a small script stores (issue 18).

gzip + json + sqlite3 and nothing else: three tables (report, policy,
failure), a UNIQUE dedup key, WAL, synchronous=NORMAL, one transaction per
batch of 1,000 reports, no JSON kept, no provenance, no rollups, no
quarantine (a bad input is skipped and counted).  A .json.gz or .json file
is read as a report; anything else as a mail message parsed with Python's
`email` package (the compat32 parser, the fastest), whose
application/tlsrpt+gzip or +json parts are the reports.  This is what a
parsedmarc-like tool or a 40-line script does; tlsrpt does more per report
(baseline.py does that same work in Python).

Usage: lean.py --db FILE [--batch N] PATH...   (files or directories)
"""

import argparse
import datetime
import email
import gzip
import json
import os
import sqlite3
import sys

SCHEMA = """
CREATE TABLE IF NOT EXISTS report (id INTEGER PRIMARY KEY, org TEXT NOT NULL, report_id TEXT NOT NULL,
  start_time INTEGER NOT NULL, end_time INTEGER NOT NULL, UNIQUE (org, report_id, start_time, end_time));
CREATE TABLE IF NOT EXISTS policy (id INTEGER PRIMARY KEY, report INTEGER NOT NULL, policy_type TEXT,
  policy_domain TEXT, ok INTEGER, failed INTEGER);
CREATE TABLE IF NOT EXISTS failure (policy INTEGER NOT NULL, result_type TEXT, sending_ip TEXT,
  mx TEXT, helo TEXT, receiving_ip TEXT, sessions INTEGER, info TEXT, code TEXT);
"""


def epoch(s):
    return int(datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp())


def store(cur, raw):
    """One report's rows; False when it is not a usable report."""
    try:
        doc = json.loads(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw)
        dr = doc["date-range"]
        cur.execute("INSERT INTO report (org, report_id, start_time, end_time) VALUES (?,?,?,?)"
                    " ON CONFLICT DO NOTHING", (doc["organization-name"], doc["report-id"],
                                                epoch(dr["start-datetime"]), epoch(dr["end-datetime"])))
    except (OSError, EOFError, ValueError, KeyError, TypeError, AttributeError):
        return False
    if cur.rowcount == 0:
        return True                                  # a duplicate
    rid = cur.lastrowid
    for p in doc.get("policies") or ():
        pol, summ = p.get("policy") or {}, p.get("summary") or {}
        cur.execute("INSERT INTO policy (report, policy_type, policy_domain, ok, failed) VALUES (?,?,?,?,?)",
                    (rid, pol.get("policy-type"), pol.get("policy-domain"),
                     summ.get("total-successful-session-count"), summ.get("total-failure-session-count")))
        pid = cur.lastrowid
        cur.executemany("INSERT INTO failure VALUES (?,?,?,?,?,?,?,?,?)",
                        [(pid, d.get("result-type"), d.get("sending-mta-ip"), d.get("receiving-mx-hostname"),
                          d.get("receiving-mx-helo"), d.get("receiving-ip"), d.get("failed-session-count"),
                          d.get("additional-information"), d.get("failure-reason-code"))
                         for d in p.get("failure-details") or ()])
    return True


def parts(data):
    """The report bytes in one input: the file itself, or a message's report parts."""
    if data[:2] == b"\x1f\x8b" or data.lstrip()[:1] == b"{":
        return [data]
    msg = email.message_from_bytes(data)
    return [p.get_payload(decode=True) for p in msg.walk()
            if p.get_content_type() in ("application/tlsrpt+gzip", "application/tlsrpt+json")]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", required=True)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("paths", nargs="+")
    a = ap.parse_args()
    c = sqlite3.connect(a.db, isolation_level=None)
    c.execute("PRAGMA journal_mode = WAL")
    c.execute("PRAGMA synchronous = NORMAL")
    c.executescript(SCHEMA)
    cur = c.cursor()
    files = [os.path.join(d, n) for p in a.paths
             for d, n in ([(p, n) for n in sorted(os.listdir(p))] if os.path.isdir(p) else [os.path.split(p)])]
    done = bad = 0
    cur.execute("BEGIN")
    for f in files:
        with open(f, "rb") as fh:
            data = fh.read()
        for raw in parts(data) or [b""]:
            if store(cur, raw):
                done += 1
            else:
                bad += 1
            if (done + bad) % a.batch == 0:
                cur.execute("COMMIT")
                cur.execute("BEGIN")
    cur.execute("COMMIT")
    c.close()
    print("%d reports, %d skipped" % (done, bad))
    return 0


if __name__ == "__main__":
    sys.exit(main())
