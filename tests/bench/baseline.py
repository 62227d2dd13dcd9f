#!/usr/bin/env python3
"""baseline.py - the reference ingest, Python 3 standard library only.

The kind of pipeline Python report tools (parsedmarc and friends) are built
on: json, gzip, email and sqlite3.  It stores the same normalized rows as
tlsrpt-ingest into the same schema (schema/*.sql applied with
executescript): report (dedup on org + report-id + range, INSERT .. ON
CONFLICT DO NOTHING, the JSON as sent zlib-compressed at level 6),
policy, failure, and quarantine for inputs that yield no report.  The
database is set up like ours (WAL, synchronous=FULL, foreign keys on) and
written like ours: one transaction per batch of --batch reports, each
report a savepoint so it is stored whole or not at all, and the batch
folded into the rollups before each commit.

It is written to be fast, not to be a strawman: one connection, prepared
(cached) statements via executemany-free execute with constant SQL,
compact json.dumps, the C-accelerated json and zlib modules, the compat32
email parser (the fastest in the stdlib).  Normalization covers what the
benchmark corpora exercise and the common real-world quirks: empty strings
and null are absent, missing zone = UTC, inclusive 23:59:59 ends made
exclusive, mx-host as one string, draft field names, domains lower-cased,
missing counts.

Usage: baseline.py --db FILE [--batch N] PATH...   (files or directories)
Prints "N reports stored, N duplicates, N quarantined" like tlsrpt-ingest.
"""

import argparse
import datetime
import email.parser
import email.policy
import gzip
import hashlib
import json
import os
import sqlite3
import sys
import time
import zlib

PARSER_VERSION = 1
FOLD = "UPDATE roll_state SET folds = folds + 1 WHERE id = 1 AND EXISTS (SELECT 1 FROM roll_pending)"
SCHEMA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "schema")
REPORT_TYPES = ("application/tlsrpt+gzip", "application/tlsrpt+json", "application/tlsrpt",
                "application/gzip", "application/x-gzip", "application/json",
                "application/octet-stream")
WARNING_NAMES = ("no-timezone", "policy-domain-from-header", "policy-domain-from-filename",
                 "policy-domain-missing", "mx-host-string", "tlsa-policy-string-expanded",
                 "draft-field-name", "unknown-result-type", "unknown-policy-type",
                 "failure-count-exceeds-total", "summary-count-missing", "end-inclusive-adjusted")
W = {n: 1 << i for i, n in enumerate(WARNING_NAMES)}
RESULT_TYPES = frozenset((
    "starttls-not-supported", "certificate-host-mismatch", "certificate-expired",
    "certificate-not-trusted", "validation-failure", "tlsa-invalid", "dnssec-invalid",
    "dane-required", "sts-policy-fetch-error", "sts-policy-invalid", "sts-webpki-invalid"))
POLICY_TYPES = frozenset(("sts", "tlsa", "no-policy-found"))

SQL_REPORT = (
    "INSERT INTO report (org_name, report_id, start_time, end_time, contact_info,"
    " received_time, source, message_id, hdr_report_domain, hdr_report_submitter,"
    " attachment_name, dkim, warnings, raw_json_z, raw_json_size, parser_version)"
    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
    " ON CONFLICT (org_name, report_id, start_time, end_time) DO NOTHING")
SQL_POLICY = (
    "INSERT INTO policy (report, idx, policy_type, policy_domain, policy_strings, mx_hosts,"
    " successful_sessions, failed_sessions) VALUES (?,?,?,?,?,?,?,?)")
SQL_FAILURE = (
    "INSERT INTO failure (policy, result_type, sending_mta_ip, receiving_mx_hostname,"
    " receiving_mx_helo, receiving_ip, failed_sessions, additional_information,"
    " failure_reason_code) VALUES (?,?,?,?,?,?,?,?,?)")
SQL_QUARANTINE = (
    "INSERT INTO quarantine (first_seen, last_seen, source, message_id, hdr_report_domain,"
    " hdr_report_submitter, attachment_name, reason, message, digest, raw_z, raw_size)"
    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (digest) DO UPDATE SET"
    " last_seen = excluded.last_seen, times_seen = times_seen + 1")


class Reject(Exception):
    """An input that yields no report: (code, detail)."""


def s(v):
    """A string field: None/"" -> None; other types are an error."""
    if v is None or v == "":
        return None
    if not isinstance(v, str):
        raise Reject("bad-field", "expected a string")
    return v


def count(v, warn):
    if v is None:
        warn[0] |= W["summary-count-missing"]
        return 0, False
    if not isinstance(v, int) or isinstance(v, bool) or v < 0:
        raise Reject("bad-field", "bad count")
    return v, True


def when(v, warn):
    v = s(v)
    if v is None:
        raise Reject("missing-field", "date-range")
    try:
        t = datetime.datetime.fromisoformat(v)
    except ValueError:
        raise Reject("bad-date", v)
    if t.tzinfo is None:
        warn[0] |= W["no-timezone"]
        t = t.replace(tzinfo=datetime.timezone.utc)
    return int(t.timestamp())


def strings(v, warn, single_ok):
    if v is None:
        return None
    if isinstance(v, str):
        if not single_ok:
            raise Reject("bad-field", "expected an array")
        if v == "":
            return None
        warn[0] |= W["mx-host-string"]
        return [v]
    if not isinstance(v, list):
        raise Reject("bad-field", "expected an array")
    out = [s(e) for e in v]
    out = [e for e in out if e is not None]
    return out or None


def normalize(doc, hint_domain):
    """The report as rows: (report fields, [(policy fields, [failure rows])], warnings)."""
    if not isinstance(doc, dict):
        raise Reject("not-a-report", "not an object")
    warn = [0]
    org, rid = s(doc.get("organization-name")), s(doc.get("report-id"))
    if org is None or rid is None:
        raise Reject("missing-field", "organization-name or report-id")
    dr = doc.get("date-range")
    if not isinstance(dr, dict):
        raise Reject("missing-field", "date-range")
    start, end = when(dr.get("start-datetime"), warn), when(dr.get("end-datetime"), warn)
    if end % 60 == 59:
        end += 1
        warn[0] |= W["end-inclusive-adjusted"]
    if end <= start:
        raise Reject("bad-date-range", "end before start")
    pols = doc.get("policies")
    if not isinstance(pols, list) or not pols:
        raise Reject("missing-field", "policies")
    out = []
    for e in pols:
        pol = e.get("policy") if isinstance(e, dict) else None
        if not isinstance(pol, dict):
            raise Reject("missing-field", "policy")
        ptype = s(pol.get("policy-type"))
        if ptype is None:
            raise Reject("missing-field", "policy-type")
        if ptype not in POLICY_TYPES:
            warn[0] |= W["unknown-policy-type"]
        dom = s(pol.get("policy-domain"))
        if dom is None:
            dom = hint_domain
            warn[0] |= W["policy-domain-from-header"] if dom else W["policy-domain-missing"]
        if dom:
            dom = dom.lower()
        pstr = strings(pol.get("policy-string"), warn, False)
        mx = pol.get("mx-host")
        if mx is None:
            mx = pol.get("mx-host-pattern")
            if mx is not None:
                warn[0] |= W["draft-field-name"]
        mx = strings(mx, warn, True)
        summ = e.get("summary") or {}
        ok, _ = count(summ.get("total-successful-session-count"), warn)
        failed, have_failed = count(summ.get("total-failure-session-count"), warn)
        rows, total = [], 0
        for d in e.get("failure-details") or ():
            rt = s(d.get("result-type"))
            if rt is None:
                raise Reject("missing-field", "result-type")
            if rt not in RESULT_TYPES:
                warn[0] |= W["unknown-result-type"]
            n, _ = count(d.get("failed-session-count"), warn)
            total += n
            info = s(d.get("additional-information"))
            if info is None and s(d.get("additional-info-uri")) is not None:
                info = d["additional-info-uri"]
                warn[0] |= W["draft-field-name"]
            code = s(d.get("failure-reason-code"))
            if code is None and s(d.get("failure-error-code")) is not None:
                code = d["failure-error-code"]
                warn[0] |= W["draft-field-name"]
            rows.append((rt, s(d.get("sending-mta-ip")), s(d.get("receiving-mx-hostname")),
                         s(d.get("receiving-mx-helo")), s(d.get("receiving-ip")), n, info, code))
        if not have_failed:
            failed = total
        elif total > failed:
            warn[0] |= W["failure-count-exceeds-total"]
        out.append(((ptype, dom,
                     json.dumps(pstr, ensure_ascii=False, separators=(",", ":")) if pstr else None,
                     json.dumps(mx, ensure_ascii=False, separators=(",", ":")) if mx else None,
                     ok, failed), rows))
    return (org, rid, start, end, s(doc.get("contact-info"))), out, warn[0]


def warnings_text(bits):
    return " ".join(n for i, n in enumerate(WARNING_NAMES) if bits & (1 << i)) or None


class Store:
    def __init__(self, path, batch):
        new = not os.path.exists(path)
        self.c = sqlite3.connect(path, isolation_level=None, cached_statements=16)
        self.c.execute("PRAGMA journal_mode = WAL")
        self.c.execute("PRAGMA foreign_keys = ON")
        self.c.execute("PRAGMA synchronous = FULL")
        if new or self.c.execute("PRAGMA user_version").fetchone()[0] == 0:
            for name in sorted(os.listdir(SCHEMA_DIR)):
                if name.endswith(".sql"):
                    with open(os.path.join(SCHEMA_DIR, name)) as f:
                        self.c.executescript("BEGIN;" + f.read() + ";PRAGMA user_version = %d;COMMIT;"
                                             % int(name.split("-")[0]))
        self.fold = self.c.execute("SELECT 1 FROM sqlite_schema WHERE name = 'roll_pending'").fetchone() is not None
        self.batch, self.pending = batch, 0
        self.stored = self.duplicates = self.quarantined = 0
        self.cur = self.c.cursor()
        self.cur.execute("BEGIN IMMEDIATE")

    def roll(self, final=False):
        # What every writer of the schema does before it commits
        # (schema/003-rollup-fold.sql): fold the batch into the rollups.
        if self.fold:
            self.cur.execute(FOLD)
        self.cur.execute("COMMIT")
        self.pending = 0
        if not final:
            self.cur.execute("BEGIN IMMEDIATE")

    def report(self, raw, prov, hint_domain):
        try:
            doc = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as e:
            return self.reject(raw, prov, "bad-json", str(e))
        try:
            rep, pols, warn = normalize(doc, hint_domain)
        except (Reject, AttributeError) as e:
            code, detail = e.args if isinstance(e, Reject) else ("bad-field", str(e))
            return self.reject(raw, prov, code, detail)
        cur = self.cur
        cur.execute("SAVEPOINT report")
        try:
            cur.execute(SQL_REPORT, rep + (prov["received"], prov["source"], prov.get("message_id"),
                                          prov.get("domain"), prov.get("submitter"),
                                          prov.get("attachment"), None, warnings_text(warn),
                                          zlib.compress(raw, 6), len(raw), PARSER_VERSION))
            if cur.rowcount == 0:
                self.duplicates += 1
            else:
                rid = cur.lastrowid
                for idx, (prow, frows) in enumerate(pols):
                    cur.execute(SQL_POLICY, (rid, idx) + prow)
                    pid = cur.lastrowid
                    cur.executemany(SQL_FAILURE, [(pid,) + f for f in frows])
                self.stored += 1
            cur.execute("RELEASE report")
        except sqlite3.Error:
            cur.execute("ROLLBACK TO report")
            cur.execute("RELEASE report")
            raise
        self.tick()

    def reject(self, raw, prov, code, detail):
        now = prov["received"]
        self.cur.execute(SQL_QUARANTINE, (now, now, prov["source"], prov.get("message_id"),
                                          prov.get("domain"), prov.get("submitter"),
                                          prov.get("attachment"), code, detail,
                                          hashlib.sha256(raw).hexdigest(), zlib.compress(raw, 6),
                                          len(raw)))
        self.quarantined += 1
        self.tick()

    def tick(self):
        self.pending += 1
        if self.pending >= self.batch:
            self.roll()


def report_bytes(store, data, prov, hint_domain):
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as e:
            return store.reject(data, prov, "bad-gzip", str(e))
    store.report(data, prov, hint_domain)


MSG_PARSER = email.parser.BytesParser(policy=email.policy.compat32)


def ingest_message(store, data, prov):
    msg = MSG_PARSER.parsebytes(data)
    prov["message_id"] = (msg.get("Message-ID") or "").strip().strip("<>") or None
    prov["domain"] = (msg.get("TLS-Report-Domain") or "").strip() or None
    prov["submitter"] = (msg.get("TLS-Report-Submitter") or "").strip() or None
    found = False
    for part in msg.walk():
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        name = part.get_filename()
        if ctype in REPORT_TYPES or (name and (name.endswith(".json") or name.endswith(".gz"))):
            payload = part.get_payload(decode=True)
            if not payload:
                continue
            found = True
            prov["attachment"] = name
            report_bytes(store, payload, prov, prov["domain"])
    if not found:
        store.reject(data, prov, "not-a-report", "message has no report part")


def ingest_file(store, path):
    with open(path, "rb") as f:
        data = f.read()
    prov = {"source": path, "received": int(time.time()), "attachment": os.path.basename(path)}
    head = data[:64].lstrip()
    if data[:2] == b"\x1f\x8b" or head[:1] in (b"{", b"["):
        report_bytes(store, data, prov, None)
    else:
        prov["attachment"] = None
        ingest_message(store, data, prov)


def walk(path):
    if os.path.isdir(path):
        for name in sorted(os.listdir(path)):
            if not name.startswith("."):
                yield from walk(os.path.join(path, name))
    else:
        yield path


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", required=True)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("paths", nargs="+")
    a = ap.parse_args()
    store = Store(a.db, a.batch)
    for p in a.paths:
        for f in walk(p):
            ingest_file(store, f)
    store.roll(final=True)
    store.c.close()
    print("%d reports stored, %d duplicates, %d quarantined"
          % (store.stored, store.duplicates, store.quarantined))
    return 1 if store.quarantined else 0


if __name__ == "__main__":
    sys.exit(main())
