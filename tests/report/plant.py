#!/usr/bin/env python3
"""plant.py - a seeded generator of TLS-RPT reports with planted problems,
for `tlsrpt-report findings` and everything that shows findings (the email,
the dashboard).

Each kind of finding lives on its own policy domain, next to clean domains
that must give no finding.  Reports cover the 21 days before --now (one a
day per sending organization and domain, RFC 8460 JSON, gzip), so that
`findings --now NOW` sees a 7-day window, the 7 days before it, and 7 more
days of history.  The counts are random (--seed) but the planted rates are
far from the thresholds (1% warning, 5% critical), so a finding's severity
does not depend on the seed.

Output, one of:
  --out DIR     report files DIR/NNNNN-DOMAIN-ORG-DAY.json.gz plus one file
                that is not a report (it ends in the quarantine); the
                database gets them with `tlsrpt-ingest --db DB DIR` (their
                received time is then the clock's)
  --spool DIR   the same as spool entries (DIR/new/, the tlsrpt-milter
                spool format) whose Time line is when the report would have
                arrived (two hours after its day), so that received times
                are relative to --now; `tlsrpt-ingest --db DB --spool DIR`
                stores them.  With --stopped the reports that would have
                arrived in the last three days never came: the capture
                pipeline stopped.
--manifest FILE writes what was planted: per domain the findings expected
(code, severity, mx, type) and the kind of problem, plus the clean domains;
the report data itself is the ground truth (a test recomputes every number
from the files).

Usage: plant.py (--out DIR | --spool DIR) --now YYYY-MM-DD [--seed N]
                [--stopped] [--manifest FILE]
Python 3 standard library only.
"""
import argparse
import datetime
import gzip
import json
import os
import random
import sys

DAYS = 21                      # days of reports before --now
ORGS = {                       # organization -> (contact, sending IP prefix)
    "Google Inc.": ("smtp-tls-reporting@google.com", "192.0.2."),
    "Microsoft Corporation": ("tlsrpt-noreply@microsoft.com", "198.51.100."),
    "Mail.Ru": ("tlsrpt@mail.ru", "203.0.113."),
    "Yahoo": ("tlsrpt@yahoo.com", "192.0.2.1"),
    "Comcast": ("tlsrpt@comcast.net", "198.51.100.2"),
}
ALL_ORGS = ["Google Inc.", "Microsoft Corporation", "Mail.Ru"]

# Reason codes senders give (shapes seen in real reports).
R404 = "bad https response code: 404"
RTLS = "TLS handshake failed: certificate verify failed (unable to get local issuer certificate)"
RTIMEOUT = ('unable to do http request: Get "https://mta-sts.fetch404.example/.well-known/mta-sts.txt": '
            "context deadline exceeded")


def policy(mode, mx, max_age=604800):
    return ["version: STSv1", "mode: " + mode] + ["mx: " + m for m in mx] + ["max_age: %d" % max_age]


# The planted domains.  Each: mode/mx of its policy; failures: list of
# (mx, type, rate in percent of the day's sessions, reason code or None,
# days as offsets before now (1 = yesterday) or None for every day);
# expect: the findings (code, severity, mx, type); extra keys per kind.
def plan():
    every = None
    win = list(range(1, 8))             # the window: the 7 days before now
    p = []

    def dom(name, kind, expect, mode="enforce", mx=None, failures=(), **kw):
        d = {"domain": name, "kind": kind, "mode": mode, "mx": mx or ["mx1." + name],
             "failures": list(failures), "expect": [dict(zip(("code", "severity", "mx", "type", "reason"), e))
                                                    for e in expect]}
        d.update(kw)
        p.append(d)

    dom("rate-crit.example", "failure rate over the critical threshold",
        [("domain-failure-rate", "critical", "mx1.rate-crit.example", "certificate-not-trusted"),
         ("certificate-not-trusted", "critical", "mx1.rate-crit.example", "certificate-not-trusted")],
        failures=[("mx1.rate-crit.example", "certificate-not-trusted", 8.0, None, every)])
    dom("rate-warn.example", "failure rate over the warning threshold, MX in the policy",
        [("domain-failure-rate", "warning", "mx1.rate-warn.example", "validation-failure"),
         ("validation-failure", "warning", "mx1.rate-warn.example", "validation-failure")],
        failures=[("mx1.rate-warn.example", "validation-failure", 2.0, None, every)])
    dom("mx-rate.example", "one of two MX hosts fails",
        [("domain-failure-rate", "critical", None, None),
         ("mx-failure-rate", "critical", "mx2.mx-rate.example", "starttls-not-supported"),
         ("starttls-not-supported", "critical", "mx2.mx-rate.example", "starttls-not-supported"),
         ("certificate-host-mismatch", "warning", "mx1.mx-rate.example", "certificate-host-mismatch")],
        mx=["mx1.mx-rate.example", "mx2.mx-rate.example"],
        failures=[("mx2.mx-rate.example", "starttls-not-supported", 7.0, "450 4.7.0 TLS not available", every),
                  ("mx1.mx-rate.example", "certificate-host-mismatch", 0.4, None, every)])
    dom("starttls.example", "an MX without STARTTLS (low rate)",
        [("starttls-not-supported", "warning", "mx1.starttls.example", "starttls-not-supported")],
        failures=[("mx1.starttls.example", "starttls-not-supported", 0.4, None, every)])
    dom("expired.example", "a certificate expired four days ago",
        [("domain-failure-rate", "critical", "mx1.expired.example", "certificate-expired"),
         ("certificate-expired", "critical", "mx1.expired.example", "certificate-expired"),
         ("new-failure-type", "warning", "mx1.expired.example", "certificate-expired"),
         ("new-failing-mx", "warning", "mx1.expired.example", "certificate-expired")],
        failures=[("mx1.expired.example", "certificate-expired", 20.0, "X509_V_ERR_CERT_HAS_EXPIRED", [1, 2, 3, 4])],
        since_offset=4)
    dom("mismatch.example", "certificate names do not match the MX (sts+tlsa copies from Microsoft)",
        [("domain-failure-rate", "warning", "mx1.mismatch.example", "certificate-host-mismatch"),
         ("certificate-host-mismatch", "warning", "mx1.mismatch.example", "certificate-host-mismatch")],
        failures=[("mx1.mismatch.example", "certificate-host-mismatch", 3.0, "X509_V_ERR_HOSTNAME_MISMATCH", every)],
        tlsa_copy=True)
    dom("stale-mx.example", "the MX moved, the policy's mx list did not",
        [("validation-failure", "info", "mx-new.stale-mx.example", "validation-failure"),
         ("mx-not-in-policy", "critical", "mx-new.stale-mx.example", "validation-failure"),
         ("policy-pattern-unused", "info", "mx-old.stale-mx.example", None)],
        mx=["mx-old.stale-mx.example"],
        failures=[("mx-new.stale-mx.example", "validation-failure", 0.5, None, every)])
    dom("fetch404.example", "policy file not found (404), timeouts and TLS errors on the mta-sts host",
        [("domain-failure-rate", "warning", None, "sts-policy-fetch-error"),
         ("sts-policy-fetch-error", "warning", None, "sts-policy-fetch-error", R404),
         ("sts-policy-fetch-error", "warning", None, "sts-policy-fetch-error", RTIMEOUT),
         ("sts-policy-fetch-error", "warning", None, "sts-policy-fetch-error", RTLS)],
        failures=[("", "sts-policy-fetch-error", 2.0, R404, every),
                  ("", "sts-policy-fetch-error", 0.4, RTIMEOUT, every),
                  ("", "sts-policy-fetch-error", 0.3, RTLS, every)])
    dom("policy-host.example", "webpki and policy syntax errors on the mta-sts host",
        [("sts-webpki-invalid", "warning", None, "sts-webpki-invalid"),
         ("sts-policy-invalid", "warning", None, "sts-policy-invalid")],
        failures=[("", "sts-webpki-invalid", 0.3, None, every), ("", "sts-policy-invalid", 0.3, None, every)])
    dom("dane.example", "DANE failures (tlsa policy)",
        [("tlsa-invalid", "warning", "mx1.dane.example", "tlsa-invalid"),
         ("dnssec-invalid", "warning", "mx1.dane.example", "dnssec-invalid"),
         ("dane-required", "warning", "mx1.dane.example", "dane-required")],
        ptype="tlsa",
        failures=[("mx1.dane.example", "tlsa-invalid", 0.2, None, every),
                  ("mx1.dane.example", "dnssec-invalid", 0.2, None, every),
                  ("mx1.dane.example", "dane-required", 0.2, None, every)])
    dom("unknown-type.example", "a failure type RFC 8460 does not define",
        [("failure-type-other", "info", "mx1.unknown-type.example", "certificate-revoked")],
        failures=[("mx1.unknown-type.example", "certificate-revoked", 0.3, "OCSP: revoked", every)])
    dom("newtype.example", "a new failure type on an MX that failed before",
        [("starttls-not-supported", "warning", "mx1.newtype.example", "starttls-not-supported"),
         ("certificate-not-trusted", "warning", "mx1.newtype.example", "certificate-not-trusted"),
         ("new-failure-type", "warning", "mx1.newtype.example", "certificate-not-trusted")],
        failures=[("mx1.newtype.example", "starttls-not-supported", 0.3, None, every),
                  ("mx1.newtype.example", "certificate-not-trusted", 0.3, None, win)])
    dom("drift.example", "senders saw testing and enforce; the id was not changed",
        [("policy-drift", "warning", None, None)],
        drift={"Google Inc.": 4}, old_mode="testing", old_max_age=86400)
    dom("maxage.example", "only max_age differs between the versions senders saw",
        [("policy-drift", "info", None, None)],
        drift={"Google Inc.": 4}, old_mode="enforce", old_max_age=86400)
    dom("policy-switch.example", "every sender moved from testing to enforce on the same day",
        [("policy-drift", "info", None, None)],
        drift={"Google Inc.": 4, "Microsoft Corporation": 4, "Mail.Ru": 4}, old_mode="testing", old_max_age=604800)
    dom("testing-ready.example", "mode testing, clean for 21 days",
        [("mode-testing-ready", "info", None, None)], mode="testing")
    dom("testing-fail.example", "mode testing with failures",
        [("starttls-not-supported", "warning", "mx1.testing-fail.example", "starttls-not-supported"),
         ("mode-testing-failures", "info", None, None)], mode="testing",
        failures=[("mx1.testing-fail.example", "starttls-not-supported", 0.4, None, every)])
    dom("mode-none.example", "mode none", [("mode-none", "info", None, None)], mode="none")
    dom("nopolicy.example", "Mail.Ru finds no policy while others do",
        [("policy-not-found-by-some", "warning", None, None)], no_policy_org="Mail.Ru")
    dom("silent.example", "Comcast reported daily and stopped five days ago",
        [("reporter-silent", "warning", None, None)], orgs=ALL_ORGS + ["Comcast"],
        silent={"Comcast": 5})
    for i in (1, 2, 3):
        dom("clean%d.example" % i, "clean", [], tlsa_copy=(i == 2))
    return p


def iso(day, end=False):
    return day.strftime("%Y-%m-%d") + ("T23:59:59Z" if end else "T00:00:00Z")


def build_reports(rng, now, plan_):
    """Yields (day offset, day, org, domain, report dict, arrival epoch)."""
    for off in range(DAYS, 0, -1):
        day = now - datetime.timedelta(days=off)
        for d in plan_:
            orgs = d.get("orgs", ALL_ORGS)
            for org in orgs:
                if org in d.get("silent", {}) and off < d["silent"][org]:
                    continue
                total = rng.randint(2000, 4000)
                details, failed = [], 0
                for mx, rtype, rate, reason, days in d["failures"]:
                    if days is not None and off not in days:
                        continue
                    n = max(1, int(round(total * rate / 100.0)))
                    # split over two sending IPs, as senders do
                    a = n // 2
                    for k, part in enumerate((a, n - a)):
                        if part == 0:
                            continue
                        fd = {"result-type": rtype, "sending-mta-ip": ORGS[org][1] + str(10 + k),
                              "failed-session-count": part}
                        if mx:
                            fd["receiving-mx-hostname"] = mx
                            fd["receiving-ip"] = "203.0.113.%d" % (100 + len(mx) % 50)
                        if reason:
                            fd["failure-reason-code"] = reason
                        details.append(fd)
                    failed += n
                mode, max_age = d["mode"], 604800
                if "drift" in d:
                    # the old version everywhere, the new one at the drift org from offset on
                    switch = d["drift"].get(org)
                    if switch is None or off > switch:
                        mode, max_age = d["old_mode"], d["old_max_age"]
                ptype = d.get("ptype", "sts")
                if d.get("no_policy_org") == org:
                    pol = {"policy-type": "no-policy-found", "policy-domain": d["domain"]}
                elif ptype == "tlsa":
                    pol = {"policy-type": "tlsa", "policy-domain": d["domain"],
                           "policy-string": ["3 1 1 %064x" % rng.getrandbits(256)], "mx-host": d["mx"]}
                else:
                    pol = {"policy-type": "sts", "policy-domain": d["domain"],
                           "policy-string": policy(mode, d["mx"], max_age), "mx-host": d["mx"]}
                entry = {"policy": pol,
                         "summary": {"total-successful-session-count": total - failed,
                                     "total-failure-session-count": failed}}
                if details:
                    entry["failure-details"] = details
                policies = [entry]
                if d.get("tlsa_copy") and org == "Microsoft Corporation":
                    copy = json.loads(json.dumps(entry))
                    copy["policy"] = {"policy-type": "tlsa", "policy-domain": d["domain"],
                                      "policy-string": ["3 1 1 %064x" % 7], "mx-host": d["mx"]}
                    policies.append(copy)
                rep = {"organization-name": org,
                       "date-range": {"start-datetime": iso(day), "end-datetime": iso(day, True)},
                       "contact-info": ORGS[org][0],
                       "report-id": "%s_%s_%s" % (iso(day), d["domain"], org.split()[0].lower()),
                       "policies": policies}
                arrival = int((day + datetime.timedelta(days=1, hours=2)).timestamp()) + rng.randint(0, 3600)
                yield off, day, org, d["domain"], rep, arrival


NOT_A_REPORT = b'{"organization-name": "Broken Sender", "report-id": "no-date-range", "policies": []}\n'


def write_spool_entry(spool, name, when, data):
    body = b"TLSRPT-SPOOL 1\nSender: tlsrpt@sender.example\nRecipient: tlsrpt@planted.example\n" \
           b"Time: %d\nSize: %d\n\n" % (when, len(data)) + data
    tmp = os.path.join(spool, "tmp", name)
    with open(tmp, "wb") as f:
        f.write(body)
    os.rename(tmp, os.path.join(spool, "new", name))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    out = ap.add_mutually_exclusive_group(required=True)
    out.add_argument("--out", help="directory for the report files")
    out.add_argument("--spool", help="spool directory (tlsrpt-milter format) to fill")
    ap.add_argument("--now", required=True, help="YYYY-MM-DD: the day findings run (reports end the day before)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--stopped", action="store_true", help="--spool: no report arrives in the last 3 days")
    ap.add_argument("--manifest", help="write what was planted (JSON) to this file")
    a = ap.parse_args()
    if a.stopped and not a.spool:
        ap.error("--stopped needs --spool")
    now = datetime.datetime.strptime(a.now, "%Y-%m-%d").replace(tzinfo=datetime.timezone.utc)
    now_ts = int(now.timestamp())
    rng = random.Random(a.seed)
    plan_ = plan()
    target = a.out or a.spool
    if a.spool:
        for sub in ("tmp", "new", "cur", "failed"):
            os.makedirs(os.path.join(a.spool, sub), exist_ok=True)
    else:
        os.makedirs(a.out, exist_ok=True)
    n = 0
    for off, day, org, domain, rep, arrival in build_reports(rng, now, plan_):
        if a.stopped and arrival > now_ts - 3 * 86400:
            continue
        data = gzip.compress(json.dumps(rep, indent=1).encode(), mtime=0)
        name = "%05d-%s-%s-%s.json.gz" % (n, domain, org.split()[0].lower().replace(".", ""), day.strftime("%Y%m%d"))
        if a.spool:
            write_spool_entry(a.spool, name, arrival, data)
        else:
            with open(os.path.join(a.out, name), "wb") as f:
                f.write(data)
        n += 1
    # One input that is not a report: quarantined, two days before now.
    if a.spool:
        write_spool_entry(a.spool, "zz-not-a-report.json", now_ts - 2 * 86400 + 600, NOT_A_REPORT)
    else:
        with open(os.path.join(a.out, "zz-not-a-report.json"), "wb") as f:
            f.write(NOT_A_REPORT)
    if a.manifest:
        man = {"now": a.now, "seed": a.seed, "days": DAYS, "stopped": a.stopped,
               "domains": [{k: v for k, v in d.items() if k in ("domain", "kind", "expect", "mode", "mx")}
                           for d in plan_],
               "clean": [d["domain"] for d in plan_ if not d["expect"]],
               "quarantined": ["zz-not-a-report.json"]}
        with open(a.manifest, "w") as f:
            json.dump(man, f, indent=1)
            f.write("\n")
    print("plant.py: %d reports and 1 non-report into %s" % (n, target))
    return 0


if __name__ == "__main__":
    sys.exit(main())
