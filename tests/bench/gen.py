#!/usr/bin/env python3
"""gen.py - seeded generator of realistic TLS-RPT (RFC 8460) corpora.

Writes N reports from about 50 sending organizations (weighted like real
traffic: a few big senders, a long tail) to many policy domains, one report
per (organization, domain, day) as senders do.  Each report has 1 to 3
policies (sts, tlsa, no-policy-found with policy strings and MX lists) and
0 to 50 failure details in all (about 10 on average, so 1,000,000 reports
hold about 10,000,000 failure details) with the RFC 8460 result types.
About 2% of the files are duplicates: a report received a second time
(same JSON, gzipped again, another file or message).

Formats:
  gz    DIR/sender!domain!begin!end!id.json.gz   (what senders attach)
  eml   DIR/NNNNNNN.eml: a whole message, multipart/report with a
        base64 application/tlsrpt+gzip part, as a Maildir file would hold
  large one report with --failures failure details (default 20,000)

Output is a pure function of the arguments (seed included).  A manifest
(DIR.manifest.json, beside DIR) gives the counts: files, unique reports,
duplicates, failure details.  Python 3 standard library only.

Usage: gen.py --out DIR --reports N [--format gz|eml|large] [--seed S]
              [--days D] [--end YYYY-MM-DD] [--domains K] [--first I]
"""

import argparse
import base64
import datetime
import gzip
import json
import os
import random
import sys
import zlib

RESULT_TYPES = (
    "starttls-not-supported", "certificate-host-mismatch", "certificate-expired",
    "certificate-not-trusted", "validation-failure", "tlsa-invalid", "dnssec-invalid",
    "dane-required", "sts-policy-fetch-error", "sts-policy-invalid", "sts-webpki-invalid",
)
# Real reports are dominated by a few types.
RESULT_WEIGHTS = (30, 12, 10, 14, 8, 2, 2, 1, 12, 5, 4)
REASON_CODES = ("", "", "", "X509_V_ERR_CERT_HAS_EXPIRED", "X509_V_ERR_HOSTNAME_MISMATCH",
                "connection refused", "TLS handshake timeout", "450 4.7.0 no STARTTLS")

N_ORGS = 50
DEFAULT_DOMAINS = 500
DEFAULT_END = "2026-12-01"
DUP_RATE = 0.02
MAX_FAILURES = 50
LARGE_FAILURES = 20000


def orgs(rng):
    """The ~50 sending organizations: (name, submitter domain, contact, style, weight).
    style: 'google' compact + 23:59:59 ends, 'microsoft' indented without a zone,
    'plain' compact with Z ends."""
    named = [
        ("Google Inc.", "google.com", "smtp-tls-reporting@google.com", "google", 400),
        ("Microsoft Corporation", "microsoft.com", "tlsrpt-noreply@microsoft.com", "microsoft", 250),
        ("Mail.Ru", "mail.ru", "tlsrpt@mail.ru", "plain", 40),
        ("Yahoo", "yahoo.com", "tlsrpt@yahoo.com", "plain", 40),
        ("Mimecast", "mimecast.com", "tlsrpt@mimecast.com", "plain", 30),
        ("comcast.net", "comcast.net", "postmaster@comcast.net", "plain", 20),
        ("Stalwart Mail Server", "stalw.art", None, "plain", 10),
    ]
    out = list(named)
    for i in range(N_ORGS - len(named)):
        d = "sender%02d.example" % i
        out.append(("Sender %02d Mail" % i, d, "tlsrpt@" + d, rng.choice(("plain", "google")),
                    max(1, int(40 / (i + 1)) + 1)))
    return out


def domains(k):
    return ["d%04d.example.net" % i for i in range(k)]


def rand_ip(rng):
    return "%d.%d.%d.%d" % (rng.choice((192, 198, 203, 100)), rng.randrange(256),
                            rng.randrange(256), rng.randrange(1, 255))


def sts_policy(dom, mxs):
    return (["version: STSv1", "mode: enforce"] + ["mx: " + m for m in mxs] +
            ["max_age: 604800"])


def tlsa_policy(rng, n):
    return ["3 1 1 %064X" % rng.getrandbits(256) for _ in range(n)]


def failure(rng, mxs, ip_pool):
    mx = rng.choice(mxs)
    f = {"result-type": rng.choices(RESULT_TYPES, RESULT_WEIGHTS)[0],
         "sending-mta-ip": rng.choice(ip_pool),
         "receiving-mx-hostname": mx,
         "failed-session-count": rng.randint(1, 100)}
    if rng.random() < 0.7:
        f["receiving-ip"] = "203.0.%d.%d" % (zlib.crc32(mx.encode()) % 256, rng.randrange(1, 255))
    if rng.random() < 0.4:
        f["receiving-mx-helo"] = mx
    code = rng.choice(REASON_CODES)
    if code:
        f["failure-reason-code"] = code
    if rng.random() < 0.1:
        f["additional-information"] = "https://tls-reports.example/why/%d" % rng.randrange(10**6)
    return f


def n_failures(rng):
    """0..MAX_FAILURES details per report, mean about 10: most reports say
    everything went well; a few carry many details."""
    if rng.random() < 0.4:
        return 0
    return int(MAX_FAILURES * rng.random() ** 2.1) + 1


def iso(ts, style, end=False):
    t = datetime.datetime.fromtimestamp(ts, datetime.timezone.utc)
    if end and style != "plain":
        t -= datetime.timedelta(seconds=1)           # inclusive 23:59:59 ends
    s = t.strftime("%Y-%m-%dT%H:%M:%S")
    return s if style == "microsoft" else s + "Z"


def report(rng, org, dom, day_ts, seq, ip_pool, nfail=None):
    name, sub, contact, style, _ = org
    mxs = ["mx%d.%s" % (i + 1, dom) for i in range(rng.choice((1, 2, 2, 3)))]
    total = n_failures(rng) if nfail is None else nfail
    npol = rng.choices((1, 2, 3), (70, 22, 8))[0]
    first = rng.choices(("sts", "no-policy-found", "tlsa"), (60, 25, 15))[0]
    kinds = [first] + [k for k in ("sts", "tlsa", "no-policy-found") if k != first][:npol - 1]
    # Split the details between the policies.
    split = [0] * npol
    for _ in range(total if nfail is None else 0):
        split[rng.randrange(npol)] += 1
    if nfail is not None:
        split[0] = nfail
    pols = []
    for kind, nf in zip(kinds, split):
        pol = {"policy-type": kind, "policy-domain": dom}
        if kind == "sts":
            pol["policy-string"] = sts_policy(dom, mxs)
            pol["mx-host"] = list(mxs)
        elif kind == "tlsa":
            pol["policy-string"] = tlsa_policy(rng, rng.choice((1, 2)))
            pol["mx-host"] = list(mxs)
        fds = [failure(rng, mxs, ip_pool) for _ in range(nf)]
        fail_sessions = sum(f["failed-session-count"] for f in fds)
        entry = {"policy": pol,
                 "summary": {"total-successful-session-count": rng.randint(1, 5000),
                             "total-failure-session-count": fail_sessions}}
        if fds or style != "google":
            entry["failure-details"] = fds
        pols.append(entry)
    if style == "google":
        rid = "%s_%s_%d" % (iso(day_ts, "plain")[:10], dom, seq)
    elif style == "microsoft":
        rid = "%d+%s" % (133000000000000000 + seq, dom)
    else:
        rid = "%016x" % rng.getrandbits(64)
    rep = {"organization-name": name,
           "date-range": {"start-datetime": iso(day_ts, style),
                          "end-datetime": iso(day_ts + 86400, style, end=True)},
           "contact-info": contact,
           "report-id": rid,
           "policies": pols}
    if contact is None:
        rep["contact-info"] = None
    if style == "microsoft":
        text = json.dumps(rep, indent=4)
    else:
        text = json.dumps(rep, separators=(",", ":"))
    fname = "%s!%s!%d!%d!%d.json.gz" % (sub, dom, day_ts, day_ts + 86399, seq)
    return text.encode(), fname, sum(split)


def eml(rng, org, dom, gz, fname, seq, day_ts):
    name, sub, _, _, _ = org
    date = datetime.datetime.fromtimestamp(day_ts + 86400 + rng.randrange(3 * 3600),
                                           datetime.timezone.utc)
    b64 = base64.encodebytes(gz).decode()      # 76-column lines
    bnd = "%032x" % rng.getrandbits(128)
    mid = "%d.%x@%s" % (seq, rng.getrandbits(48), sub)
    return ("Return-Path: <noreply-smtp-tls-reporting@{sub}>\n"
            "Received: from out1.{sub} (out1.{sub} [198.51.100.{ip}])\n"
            "\tby mx1.{dom} (Postfix) with ESMTPS id {qid};\n\t{date}\n"
            "MIME-Version: 1.0\n"
            "From: noreply-smtp-tls-reporting@{sub}\n"
            "To: tlsrpt@{dom}\n"
            "Date: {date}\n"
            "Message-ID: <{mid}>\n"
            "Subject: Report Domain: {dom} Submitter: {sub} Report-ID: <{seq}@{sub}>\n"
            "TLS-Report-Domain: {dom}\n"
            "TLS-Report-Submitter: {sub}\n"
            "Content-Type: multipart/report; boundary=\"{b}\"; report-type=tlsrpt\n"
            "\n"
            "--{b}\n"
            "Content-Type: text/plain; charset=\"UTF-8\"\n"
            "\n"
            "This is an aggregate TLS report from {name}\n"
            "\n"
            "--{b}\n"
            "Content-Type: application/tlsrpt+gzip; name=\"{fn}\"\n"
            "Content-Disposition: attachment; filename=\"{fn}\"\n"
            "Content-Transfer-Encoding: base64\n"
            "\n"
            "{b64}"
            "--{b}--\n").format(sub=sub, dom=dom, ip=rng.randrange(1, 255), qid="%010X" % seq,
                                date=date.strftime("%a, %d %b %Y %H:%M:%S +0000"), mid=mid,
                                seq=seq, b=bnd, name=name, fn=fname, b64=b64).encode()


def generate(out, n, fmt="gz", seed=1, days=30, end=DEFAULT_END, n_domains=DEFAULT_DOMAINS,
             first=0, failures=LARGE_FAILURES):
    """Writes the corpus into out (created).  first offsets sequence numbers
    so chunks of one big corpus (same seed, first = 0, N, 2N...) never
    collide.  Returns the manifest dict."""
    os.makedirs(out, exist_ok=True)
    rng = random.Random("%s/%s/%s" % (seed, first, fmt))
    org_list = orgs(random.Random(seed))
    weights = [o[4] for o in org_list]
    doms = domains(n_domains)
    end_ts = int(datetime.datetime.strptime(end, "%Y-%m-%d")
                 .replace(tzinfo=datetime.timezone.utc).timestamp())
    pools = {o[1]: [rand_ip(random.Random(o[1] + str(i))) for i in range(8)] for o in org_list}
    man = {"format": fmt, "seed": seed, "files": 0, "unique": 0, "duplicates": 0,
           "failure_details": 0, "days": days, "end": end, "domains": n_domains}
    if fmt == "large":
        org = org_list[0]
        text, fname, nf = report(rng, org, doms[0], end_ts - 86400, first, pools[org[1]], nfail=failures)
        path = os.path.join(out, "large-" + fname)
        with open(path, "wb") as f:
            f.write(gzip.compress(text, 6, mtime=0))
        man.update(files=1, unique=1, failure_details=nf, path=path, json_bytes=len(text))
        write_manifest(out, man)
        return man
    kept = []                      # recent reports, candidates for resending
    for i in range(n):
        seq = first + i
        if kept and rng.random() < DUP_RATE:
            org, dom, day_ts, text, fname = rng.choice(kept)
            fname = fname.replace(".json.gz", ".resent.json.gz")
            man["duplicates"] += 1
            nf = 0
        else:
            org = rng.choices(org_list, weights)[0]
            dom = rng.choice(doms)
            day_ts = end_ts - 86400 * (1 + rng.randrange(days))
            text, fname, nf = report(rng, org, dom, day_ts, seq, pools[org[1]])
            man["unique"] += 1
            man["failure_details"] += nf
            kept.append((org, dom, day_ts, text, fname))
            if len(kept) > 200:
                kept.pop(0)
        gz = gzip.compress(text, 6, mtime=0)
        if fmt == "eml":
            data, name = eml(rng, org, dom, gz, fname, seq, day_ts), "%08d.eml" % seq
        else:
            data, name = gz, "%08d-%s" % (seq, fname)
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        man["files"] += 1
    write_manifest(out, man)
    return man


def write_manifest(out, man):
    """The manifest goes next to the corpus (OUT.manifest.json), not in it."""
    with open(out.rstrip("/") + ".manifest.json", "w") as f:
        json.dump(man, f, indent=1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--reports", type=int, default=10000)
    ap.add_argument("--format", choices=("gz", "eml", "large"), default="gz")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--end", default=DEFAULT_END)
    ap.add_argument("--domains", type=int, default=DEFAULT_DOMAINS)
    ap.add_argument("--first", type=int, default=0)
    ap.add_argument("--failures", type=int, default=LARGE_FAILURES)
    a = ap.parse_args()
    man = generate(a.out, a.reports, a.format, a.seed, a.days, a.end, a.domains, a.first, a.failures)
    json.dump(man, sys.stdout)
    print()


if __name__ == "__main__":
    main()
