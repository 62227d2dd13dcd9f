#!/usr/bin/env python3
"""report_db.py - builds a large tlsrpt database directly (no JSON parsing),
for measuring tlsrpt-report's queries at 1,000,000 reports.

Rows are what tlsrpt-ingest would store for the generated reports: the
report row with its JSON compressed (zlib level 6, as db.c), one policy row
per policy (policy strings and MX hosts as JSON arrays), one failure row per
failure detail.  Shape (seeded, so the output is a pure function of the
arguments):

  - about 50 sending organizations, weighted (a few big senders, a long tail),
    each with its own pool of 8 sending IPs;
  - --domains policy domains, each with 1 to 3 MX hosts;
  - reports spread evenly over --days days ending at --end;
  - 1 to 3 policies per report for its policy domain; about --pairs (10%)
    of the reports are Microsoft-style sts+tlsa pairs: the same summary and
    the same failure details under both policies (some with a larger count
    in the tlsa copy), which the counting rules count once;
  - 0 to 50 failure details per report, about 10 on average, with the RFC
    8460 result types, a receiving IP on 70% of them, a reason code on some.

The schema comes from schema/NNN-*.sql (up to --schema-version, default
all), so a database at version 1 can be built and upgraded later by opening
it with tlsrpt-ingest (which applies the later migrations, backfill
included).

Usage: report_db.py --db FILE [--reports N] [--seed S] [--days D]
                    [--end YYYY-MM-DD] [--domains K] [--schema-version V]
Python 3 standard library only.
"""
import argparse
import datetime
import glob
import json
import os
import random
import sqlite3
import sys
import time
import zlib

RESULT_TYPES = (
    "starttls-not-supported", "certificate-host-mismatch", "certificate-expired",
    "certificate-not-trusted", "validation-failure", "tlsa-invalid", "dnssec-invalid",
    "dane-required", "sts-policy-fetch-error", "sts-policy-invalid", "sts-webpki-invalid",
)
RESULT_WEIGHTS = (30, 12, 10, 14, 8, 2, 2, 1, 12, 5, 4)
REASON_CODES = (None, None, None, "X509_V_ERR_CERT_HAS_EXPIRED", "X509_V_ERR_HOSTNAME_MISMATCH",
                "connection refused", "TLS handshake timeout", "450 4.7.0 no STARTTLS")
HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))


def orgs(rng):
    named = [("Google Inc.", 400), ("Microsoft Corporation", 250), ("Mail.Ru", 40), ("Yahoo", 40),
             ("Mimecast", 30), ("comcast.net", 20), ("Stalwart Mail Server", 10)]
    out = list(named)
    for i in range(50 - len(named)):
        out.append(("Sender %02d Mail" % i, max(1, int(40 / (i + 1)) + 1)))
    return out


def n_failures(rng):
    if rng.random() < 0.4:
        return 0
    return int(50 * rng.random() ** 2.1) + 1


def failure(rng, mxs, mx_ips, ips):
    i = rng.randrange(len(mxs))
    rip = mx_ips[i] if rng.random() < 0.7 else None
    mx = mxs[i] if rng.random() < 0.95 else None      # some senders omit the hostname
    return [rng.choices(RESULT_TYPES, RESULT_WEIGHTS)[0], rng.choice(ips), mx,
            mx if rng.random() < 0.4 else None, rip, rng.randint(1, 100),
            "https://tls-reports.example/why/%d" % rng.randrange(10**6) if rng.random() < 0.1 else None,
            rng.choice(REASON_CODES)]


def build(path, n, seed=1, days=365, end="2026-12-01", n_domains=500, schema_version=None,
          pairs=0.10, quiet=False):
    rng = random.Random(seed)
    org_list = orgs(rng)
    weights = [w for _, w in org_list]
    ip_pool = {o: ["%d.%d.%d.%d" % (rng.choice((192, 198, 203, 100)), rng.randrange(256),
                                    rng.randrange(256), rng.randrange(1, 255)) for _ in range(8)]
               for o, _ in org_list}
    doms = []
    for i in range(n_domains):
        d = "d%05d.example.net" % i
        k = rng.choice((1, 2, 2, 3))
        doms.append((d, ["mx%d.%s" % (j + 1, d) for j in range(k)],
                     ["203.0.%d.%d" % (i % 256, j + 1) for j in range(k)]))
    end_ts = int(datetime.datetime.strptime(end, "%Y-%m-%d")
                 .replace(tzinfo=datetime.timezone.utc).timestamp())

    for f in (path, path + "-wal", path + "-shm"):
        if os.path.exists(f):
            os.unlink(f)
    con = sqlite3.connect(path, isolation_level=None)
    files = sorted(glob.glob(os.path.join(SOURCE, "schema", "[0-9][0-9][0-9]-*.sql")))
    if schema_version is not None:
        files = files[:schema_version]
    for f in files:
        con.executescript("BEGIN;\n" + open(f).read() + "\nCOMMIT;")
    con.execute("PRAGMA user_version = %d" % len(files))
    con.execute("PRAGMA journal_mode = OFF")
    con.execute("PRAGMA synchronous = OFF")
    con.execute("PRAGMA cache_size = -262144")
    t0 = time.time()
    rid = pid = 0
    n_fail = 0
    reps, pols, fails = [], [], []

    def flush():
        con.execute("BEGIN")
        con.executemany("INSERT INTO report (id, org_name, report_id, start_time, end_time, contact_info,"
                        " received_time, source, dkim, raw_json_z, raw_json_size, parser_version)"
                        " VALUES (?,?,?,?,?,?,?,?,?,?,?,1)", reps)
        con.executemany("INSERT INTO policy (id, report, idx, policy_type, policy_domain, policy_strings,"
                        " mx_hosts, successful_sessions, failed_sessions) VALUES (?,?,?,?,?,?,?,?,?)", pols)
        con.executemany("INSERT INTO failure (policy, result_type, sending_mta_ip, receiving_mx_hostname,"
                        " receiving_mx_helo, receiving_ip, failed_sessions, additional_information,"
                        " failure_reason_code) VALUES (?,?,?,?,?,?,?,?,?)", fails)
        con.execute("COMMIT")
        reps.clear()
        pols.clear()
        fails.clear()

    for i in range(n):
        org = rng.choices(org_list, weights)[0][0]
        dom, mxs, mx_ips = doms[rng.randrange(n_domains)]
        # Evenly over the days, a random hour within the day.
        day = end_ts - 86400 * (days - (i * days) // n)
        start = day if rng.random() < 0.9 else day + 3600 * rng.randrange(24)
        total = n_failures(rng)
        ips = ip_pool[org]
        policies = []   # (type, strings, mx_hosts, ok, bad, [failures])
        if rng.random() < pairs:
            fds = [failure(rng, mxs, mx_ips, ips) for _ in range(total)]
            bad = sum(f[5] for f in fds)
            ok = rng.randint(1, 5000)
            tl = []
            for f in fds:
                g = list(f)
                if rng.random() < 0.1:
                    g[5] += rng.randint(1, 5)          # the tlsa copy saw more
                tl.append(g)
            policies.append(("sts", ["version: STSv1", "mode: enforce"] + ["mx: " + m for m in mxs],
                             mxs, ok, bad, fds))
            policies.append(("tlsa", ["3 1 1 %064X" % rng.getrandbits(256)], mxs, ok,
                             sum(f[5] for f in tl), tl))
        else:
            npol = rng.choices((1, 2, 3), (80, 15, 5))[0]
            first = rng.choices(("sts", "no-policy-found", "tlsa"), (60, 25, 15))[0]
            kinds = [first] + [k for k in ("sts", "tlsa", "no-policy-found") if k != first][:npol - 1]
            split = [[] for _ in kinds]
            for _ in range(total):
                split[rng.randrange(npol)].append(failure(rng, mxs, mx_ips, ips))
            for kind, fds in zip(kinds, split):
                strings = None
                if kind == "sts":
                    strings = ["version: STSv1", "mode: enforce"] + ["mx: " + m for m in mxs]
                elif kind == "tlsa":
                    strings = ["3 1 1 %064X" % rng.getrandbits(256)]
                policies.append((kind, strings, mxs if strings else None, rng.randint(1, 5000),
                                 sum(f[5] for f in fds), fds))
        rid += 1
        doc = {"organization-name": org, "date-range": {
            "start-datetime": datetime.datetime.fromtimestamp(start, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "end-datetime": datetime.datetime.fromtimestamp(start + 86400, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")},
            "contact-info": "tlsrpt@example.com", "report-id": "r%08d" % rid, "policies": []}
        for idx, (kind, strings, mxh, ok, bad, fds) in enumerate(policies):
            pid += 1
            pol = {"policy-type": kind, "policy-domain": dom}
            if strings:
                pol["policy-string"] = strings
                pol["mx-host"] = mxh
            fd_json = []
            for f in fds:
                d = {"result-type": f[0], "sending-mta-ip": f[1], "failed-session-count": f[5]}
                if f[2]:
                    d["receiving-mx-hostname"] = f[2]
                if f[4]:
                    d["receiving-ip"] = f[4]
                if f[7]:
                    d["failure-reason-code"] = f[7]
                fd_json.append(d)
                fails.append((pid, f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7]))
            n_fail += len(fds)
            doc["policies"].append({"policy": pol, "summary": {"total-successful-session-count": ok,
                                    "total-failure-session-count": bad}, "failure-details": fd_json})
            pols.append((pid, rid, idx, kind, dom, json.dumps(strings) if strings else None,
                         json.dumps(mxh) if mxh else None, ok, bad))
        text = json.dumps(doc, separators=(",", ":")).encode()
        reps.append((rid, org, "r%08d" % rid, start, start + 86400, "tlsrpt@example.com", start + 90000,
                     "/var/spool/tlsrpt/new/%d.json.gz" % rid, None, zlib.compress(text, 6), len(text)))
        if len(reps) >= 20000:
            flush()
            if not quiet:
                print("%d reports, %d failure details, %.0f s" % (rid, n_fail, time.time() - t0),
                      file=sys.stderr)
    flush()
    con.execute("PRAGMA journal_mode = DELETE")
    con.close()
    return {"reports": rid, "policies": pid, "failure_details": n_fail, "seconds": round(time.time() - t0, 1)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", required=True)
    ap.add_argument("--reports", type=int, default=1000000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--end", default="2026-12-01")
    ap.add_argument("--domains", type=int, default=500)
    ap.add_argument("--pairs", type=float, default=0.10)
    ap.add_argument("--schema-version", type=int, default=None)
    a = ap.parse_args()
    print(json.dumps(build(a.db, a.reports, a.seed, a.days, a.end, a.domains, a.schema_version, a.pairs)))


if __name__ == "__main__":
    main()
