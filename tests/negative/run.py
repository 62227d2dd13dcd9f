#!/usr/bin/env python3
"""Negative tests: every item of "Things a parser must survive"
(REAL-WORLD-REPORTS.md), built at test time, fed to tlsrpt-ingest.  Each
must end as expected (a quarantine entry with the right reason, or stored
when the input is odd but valid), with no crash and bounded memory.

usage: run.py TLSRPT-INGEST"""
import gzip, json, os, resource, sqlite3, subprocess, sys, tempfile, zlib
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from pycheck import check, tally, exit_status  # noqa: E402

ingest = sys.argv[1]
# Peak RSS allowed for one run (KiB).  Generous: sanitizer builds roughly
# double memory use; what matters is that a 256 MiB bomb or a 100,000-deep
# nesting does not translate into memory of that order.
MAX_RSS_KIB = 400 * 1024


def report(**over):
    r = {"organization-name": "Neg Test", "date-range": {"start-datetime": "2026-11-10T00:00:00Z",
         "end-datetime": "2026-11-10T23:59:59Z"}, "contact-info": "x@example.com",
         "report-id": "neg-1", "policies": [{"policy": {"policy-type": "sts",
         "policy-domain": "example.net"}, "summary": {"total-successful-session-count": 5,
         "total-failure-session-count": 1}, "failure-details": [{"result-type":
         "certificate-expired", "failed-session-count": 1}]}]}
    r.update(over)
    return json.dumps(r).encode()

def message(parts, headers=""):
    b = "=-=neg-boundary=-="
    out = (f"From: tlsrpt@sender.example\r\nTo: rua@example.net\r\nSubject: Report\r\n"
           f"TLS-Report-Domain: example.net\r\nTLS-Report-Submitter: sender.example\r\n{headers}"
           f"MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=tlsrpt; boundary=\"{b}\"\r\n\r\n")
    out = out.encode()
    for hdr, body in parts:
        out += f"--{b}\r\n{hdr}\r\n\r\n".encode() + body + b"\r\n"
    return out + f"--{b}--\r\n".encode()

def b64(data):
    import base64
    return base64.encodebytes(data).replace(b"\n", b"\r\n")

zeros = b"\0" * (256 << 20)
bomb = gzip.compress(zeros, 9)
del zeros
nested = b'{"organization-name":"x","report-id":"y","policies":' + b"[" * 100000 + b"]" * 100000 + b"}"
many_parts = message([("Content-Type: text/plain", b"part %d" % i) for i in range(10000)])
bounce = (b"From: MAILER-DAEMON@example.net\r\nTo: rua@example.net\r\nSubject: Undelivered Mail\r\n"
          b"MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n"
          b"--b\r\nContent-Type: text/plain\r\n\r\nsorry\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\n"
          b"Reporting-MTA: dns; mx.example.net\r\n\r\nFinal-Recipient: rfc822; x@example.org\r\nAction: failed\r\n"
          b"Status: 5.1.1\r\n--b--\r\n")
failures = lambda n: report(policies=[{"policy": {"policy-type": "sts", "policy-domain": "example.net"},
    "summary": {"total-successful-session-count": 0, "total-failure-session-count": n},
    "failure-details": [{"result-type": "starttls-not-supported", "sending-mta-ip": "192.0.2.%d" % (i % 250),
                         "failed-session-count": 1} for i in range(n)]}])

# name, file name, bytes, extra args, expected: ("stored", n) or ("quarantined", reason)
cases = [
    ("truncated gzip", "t.json.gz", gzip.compress(report())[:-20], [], ("quarantined", "bad-gzip")),
    ("corrupt gzip", "c.json.gz", gzip.compress(report())[:12] + b"\xff" * 40, [], ("quarantined", "bad-gzip")),
    ("gzip of gzip", "gg.json.gz.gz", gzip.compress(gzip.compress(report())), [], ("stored", 1)),
    ("gzip bomb 256 MiB", "bomb.json.gz", bomb, [], ("quarantined", "limit-inflated-size")),
    ("gzip-of-gzip bomb", "bomb2.json.gz", gzip.compress(bomb, 9), [], ("quarantined", "limit-inflated-size")),
    ("bomb in a message", "bomb.eml", message([("Content-Type: application/tlsrpt+gzip\r\n"
        "Content-Transfer-Encoding: base64", b64(bomb))]), [], ("quarantined", "limit-inflated-size")),
    ("JSON 100,000 deep", "deep.json", nested, [], ("quarantined", "limit-json-depth")),
    ("truncated JSON", "trunc.json", report()[:-10], [], ("quarantined", "bad-json")),
    ("2,000 policies", "pol.json", report(policies=[{"policy": {"policy-type": "sts", "policy-domain": "example.net"},
        "summary": {"total-successful-session-count": 1, "total-failure-session-count": 0}}] * 2000), [],
        ("quarantined", "limit-policies")),
    ("failure details at limit", "f1000.json", failures(1000), ["--limit", "failure-details=1000"], ("stored", 1)),
    ("failure details over limit", "f1001.json", failures(1001), ["--limit", "failure-details=1000"],
        ("quarantined", "limit-failure-details")),
    ("count as string", "str.json", report().replace(b'"total-successful-session-count": 5',
        b'"total-successful-session-count": "5"'), [], ("quarantined", "bad-field")),
    ("negative count", "neg.json", report().replace(b'"total-successful-session-count": 5',
        b'"total-successful-session-count": -5'), [], ("quarantined", "bad-field")),
    ("fractional count", "frac.json", report().replace(b'"total-successful-session-count": 5',
        b'"total-successful-session-count": 5.5'), [], ("quarantined", "bad-field")),
    ("count 2^63", "big.json", report().replace(b'"total-successful-session-count": 5',
        b'"total-successful-session-count": 9223372036854775808'), [], ("quarantined", "bad-field")),
    ("NUL byte in a string", "nul.json", report().replace(b"Neg Test", b"Neg\0Test"), [], ("quarantined", "invalid-utf8")),
    ("escaped NUL in a string", "nul2.json", report().replace(b"Neg Test", b"Neg\\u0000Test"), [],
        ("quarantined", "invalid-utf8")),
    ("invalid UTF-8", "utf8.json", report().replace(b"Neg Test", b"Neg \xc3\x28 Test"), [], ("quarantined", "invalid-utf8")),
    ("string over limit", "long.json", report(**{"organization-name": "x" * 70000}), [],
        ("quarantined", "limit-string-length")),
    ("range ends before start", "range.json", report(**{"date-range": {"start-datetime": "2026-11-10T00:00:00Z",
        "end-datetime": "2026-11-09T00:00:00Z"}}), [], ("quarantined", "bad-date-range")),
    ("unparsable date", "date.json", report(**{"date-range": {"start-datetime": "yesterday",
        "end-datetime": "2026-11-09T00:00:00Z"}}), [], ("quarantined", "bad-date")),
    ("missing report-id", "noid.json", json.dumps({k: v for k, v in json.loads(report()).items()
        if k != "report-id"}).encode(), [], ("quarantined", "missing-field")),
    ("10,000 MIME parts", "parts.eml", many_parts, [], ("quarantined", "limit-mime-parts")),
    ("no transfer encoding", "raw.eml", message([("Content-Type: application/tlsrpt+json", report())]), [],
        ("stored", 1)),
    ("8bit gzip, no transfer encoding", "bin.eml", message([("Content-Type: application/tlsrpt+gzip",
        gzip.compress(report()))]), [], ("stored", 1)),
    ("spam", "spam.eml", b"From: win@spam.example\r\nTo: rua@example.net\r\nSubject: You won\r\n\r\nClick here.\r\n",
        [], ("quarantined", "not-a-report")),
    ("bounce", "bounce.eml", bounce, [], ("quarantined", "not-a-report")),
    ("binary junk", "junk.bin", bytes(range(256)) * 4, [], ("quarantined", "not-a-report")),
    ("message over size limit", "big.eml", message([("Content-Type: text/plain", b"x" * 300000)]),
        ["--limit", "message-size=100K"], ("quarantined", "limit-message-size")),
    ("attachment name with ../ and /", "evil.eml", message([("Content-Type: application/tlsrpt+gzip; "
        "name=\"../../etc/passwd.json.gz\"\r\nContent-Disposition: attachment; filename=\"/etc/x!evil.org!1!2.json.gz\"\r\n"
        "Content-Transfer-Encoding: base64", b64(gzip.compress(report())))]), [], ("stored", 1)),
]

with tempfile.TemporaryDirectory() as tmp:
    for name, fname, data, args, (outcome, want) in cases:
        path = os.path.join(tmp, fname)
        with open(path, "wb") as f:
            f.write(data)
        db = os.path.join(tmp, fname + ".db")
        # A wrapper process, so ru_maxrss of its children is this run alone.
        probe = subprocess.run([sys.executable, "-c",
            "import resource, subprocess, sys\n"
            "p = subprocess.run(sys.argv[1:], capture_output=True)\n"
            "sys.stderr.buffer.write(p.stdout + p.stderr)\n"
            "print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)",
            ingest, "--db", db, "--json", *args, path], capture_output=True, text=True, timeout=300)
        rc, rss = map(int, probe.stdout.split())
        out = probe.stderr
        check(rc in (0, 1), f"{name}: exit {rc} (crash?): {out[-500:]}")
        check(rss < MAX_RSS_KIB, f"{name}: peak RSS {rss} KiB over {MAX_RSS_KIB}")
        con = sqlite3.connect(db)
        reports = con.execute("SELECT count(*) FROM report").fetchone()[0]
        quar = con.execute("SELECT reason FROM quarantine").fetchall()
        if outcome == "stored":
            check(rc == 0 and reports == want and quar == [], f"{name}: want {want} stored, got {reports}, quarantine {quar}")
        else:
            check(rc == 1 and reports == 0 and quar == [(want,)], f"{name}: want quarantine {want}, got {quar}, {reports} reports")
        if fname == "evil.eml":
            att = con.execute("SELECT attachment_name FROM report").fetchone()
            check(att is not None and "/" not in (att[0] or "") and ".." not in (att[0] or "").split("/"),
                  f"{name}: attachment name sanitized: {att}")
        con.close()
        print(f"ok   {name}: rc={rc} rss={rss // 1024} MiB")

print("%d passed, %d failed" % tally())
sys.exit(exit_status())
