#!/usr/bin/env python3
"""metrics_test.py - tlsrpt-report metrics: the samples' database and a
daemon's stats file as exposition text, checked by `promtool check
metrics`, its session and failure figures compared with `summary` (all
reports and the last day), the daemon counters and a malformed stats file
seen, hostile label values escaped, and -o writing the file."""
import argparse, json, os, re, shutil, sqlite3, subprocess, sys, tempfile

ap = argparse.ArgumentParser()
ap.add_argument("--report", required=True)
ap.add_argument("--ingest", required=True)
ap.add_argument("--source", required=True)
a = ap.parse_args()
fails = 0


def check(cond, what):
    global fails
    if not cond:
        fails += 1
        print("FAIL:", what)


promtool = shutil.which("promtool")
if promtool is None:
    print("promtool not installed (apt-get install prometheus)")
    sys.exit(1)
work = tempfile.mkdtemp(prefix="tlsrpt-metrics.")
db = os.path.join(work, "t.db")
spool = os.path.join(work, "spool")
os.mkdir(spool)
dups = 0                 # duplicates as the ingests counted them (--json)


def ingest(args):
    global dups
    p = subprocess.run([a.ingest, "--db", db, "--json"] + args, capture_output=True, text=True)
    dups += json.loads(p.stdout)["duplicates"]


ingest([os.path.join(a.source, "samples")])
# Again, in batches of 3: every report a duplicate, counted over several commits.
ingest(["--batch", "3", os.path.join(a.source, "samples")])
# A report whose strings need escaping in a label.
hostile = {"organization-name": 'Evil "Org"\\\nX', "date-range": {"start-datetime": "2026-11-22T00:00:00Z",
           "end-datetime": "2026-11-22T23:59:59Z"}, "contact-info": "x", "report-id": "m1",
           "policies": [{"policy": {"policy-type": "sts", "policy-domain": 'q"uote.example'},
                         "summary": {"total-successful-session-count": 5, "total-failure-session-count": 2},
                         "failure-details": [{"result-type": "bad\\type", "failed-session-count": 2}]}]}
with open(os.path.join(work, "h.json"), "w") as f:
    json.dump(hostile, f)
ingest([os.path.join(work, "h.json")])
# A report whose policies have no policy domain ("" is stored as none) and
# one without policies (quarantined).
nodomain = {"organization-name": "NoDomain Org", "date-range": {"start-datetime": "2026-11-21T00:00:00Z",
            "end-datetime": "2026-11-21T23:59:59Z"}, "contact-info": "x", "report-id": "nd1",
            "policies": [{"policy": {"policy-type": "sts", "policy-domain": ""},
                          "summary": {"total-successful-session-count": 1, "total-failure-session-count": 0}},
                         {"policy": {"policy-type": "tlsa"},
                          "summary": {"total-successful-session-count": 1, "total-failure-session-count": 0}}]}
nopolicy = dict(nodomain, **{"organization-name": "NoPolicy Org", "report-id": "np1", "policies": []})
for name, rep in (("nd.json", nodomain), ("np.json", nopolicy)):
    with open(os.path.join(work, name), "w") as f:
        json.dump(rep, f)
    ingest([os.path.join(work, name)])
# Received times spread out, not in the order of the reports, so that each
# last-received sample has its own value.
con = sqlite3.connect(db)
con.execute("UPDATE report SET received_time = 1764000000 + ((id * 7919) % 101) * 60")
con.commit()


def add_report(rid, org, received, domains):
    """A report written as rows (as another writer would), then folded
    into the rollups (schema/003-rollup-fold.sql)."""
    con.execute("INSERT INTO report (id, org_name, report_id, start_time, end_time, received_time, source,"
                " raw_json_z, raw_json_size, parser_version) VALUES (?, ?, ?, 1795219200, 1795305599, ?, 'test',"
                " x'', 0, 1)", (rid, org, "r%d" % rid, received))
    for i, dom in enumerate(domains):
        con.execute("INSERT INTO policy (report, idx, policy_type, policy_domain, successful_sessions,"
                    " failed_sessions) VALUES (?, ?, 'sts', ?, 1, 0)", (rid, i, dom))
    con.execute("UPDATE roll_state SET folds = folds + 1 WHERE id = 1 AND EXISTS (SELECT 1 FROM roll_pending)")
    con.commit()


# A report without policies (tlsrpt-ingest quarantines those; another writer may not).
add_report(con.execute("SELECT max(id) + 1 FROM report").fetchone()[0], "Bare Org", 1764000000 + 7200, [])
with open(os.path.join(spool, "tlsrpt-milter.stats"), "w") as f:
    f.write("messages_captured_total 5\nlast_drain_time 1764720000\nspool_backlog 2\n")
with open(os.path.join(spool, "tlsrpt-httpd.stats"), "w") as f:
    f.write("messages_captured_total 3\nbroken line\n")

env = dict(os.environ, TLSRPT_NOW="2026-11-23T12:00:00Z")
out = os.path.join(work, "tlsrpt.prom")
r = subprocess.run([a.report, "--db", db, "metrics", "--spool", spool, "-o", out], env=env,
                   capture_output=True, text=True)
check(r.returncode == 0, "metrics -o exit %d: %s" % (r.returncode, r.stderr))
text = open(out).read()
p = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True)
check(p.returncode == 0, "promtool: " + p.stdout + p.stderr)

SAMPLE = re.compile(r'^([a-z_]+)(?:\{(.*)\})? (-?\d+)$')
LABEL = re.compile(r'([a-z_]+)="((?:[^"\\]|\\.)*)"')


def unescape(v):
    return re.sub(r'\\(.)', lambda m: "\n" if m.group(1) == "n" else m.group(1), v)


def parse(text):
    samples = {}
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        check(m is not None, "sample line: " + line)
        if m:
            labels = tuple(sorted((k, unescape(v)) for k, v in LABEL.findall(m.group(2) or "")))
            samples[(m.group(1), labels)] = int(m.group(3))
    return samples


samples = parse(text)


def summary(since, until):
    s = subprocess.run([a.report, "--db", db, "summary", "--format", "json", "--by", "domain,type",
                        "--since", since, "--until", until], env=env, capture_output=True, text=True)
    return json.loads(s.stdout)


for name, since, until in (("total", "2000-01-01", "2100-01-01"), ("last_day", "2026-11-22", "2026-11-22")):
    d = summary(since, until)
    n = 0
    for dom in d["totals"]["domains"]:
        for res in ("successful", "failed"):
            key = ("tlsrpt_sessions_" + name, (("policy_domain", dom["domain"] or ""), ("result", res)))
            check(samples.get(key) == dom[res + "_sessions"], "%s %s" % (key, dom))
            n += 1
    check(n == sum(1 for k in samples if k[0] == "tlsrpt_sessions_" + name), name + ": extra domains")
    for row in d["rows"]:
        key = ("tlsrpt_failed_sessions_" + name, (("policy_domain", row["domain"] or ""), ("result_type", row["type"])))
        check(samples.get(key) == row["failed_sessions"], "%s %s" % (key, row))
    check(n > 0, name + ": no domains")
check(samples.get(("tlsrpt_sessions_last_day", (("policy_domain", 'q"uote.example'), ("result", "failed")))) == 2,
      "hostile domain label")
check(("tlsrpt_reporter_last_report_timestamp_seconds", (("organization", 'Evil "Org"\\\nX'),)) in samples,
      "hostile organization label")
check(samples.get(("tlsrpt_daemon_messages_captured_total", (("program", "tlsrpt-milter"),))) == 5, "milter counter")
check(samples.get(("tlsrpt_daemon_last_drain_timestamp_seconds", (("program", "tlsrpt-milter"),))) == 1764720000,
      "milter time")
check(samples.get(("tlsrpt_daemon_stats_unreadable", (("program", "tlsrpt-httpd"),))) == 1, "malformed stats file")
check(("tlsrpt_daemon_messages_captured_total", (("program", "tlsrpt-httpd"),)) not in samples,
      "nothing from a malformed file")
# The last-received families against SQL over the raw rows (metrics.c
# folds them per name in C from one pass).  Control characters in a name
# are shown as \xHH (rpt_prom_label).


def shown(name):
    return "".join("\\x%02x" % ord(c) if (ord(c) < 32 and c != "\n") or ord(c) == 127 else c for c in name)


def check_latest(samples, label):
    want = {}
    for dom, t in con.execute("SELECT coalesce(p.policy_domain, ''), max(r.received_time) FROM policy p"
                              " JOIN report r ON r.id = p.report GROUP BY 1"):
        want[("tlsrpt_last_report_timestamp_seconds", (("policy_domain", shown(dom)),))] = t
    for org, t in con.execute("SELECT org_name, max(received_time) FROM report GROUP BY 1"):
        want[("tlsrpt_reporter_last_report_timestamp_seconds", (("organization", shown(org)),))] = t
    want[("tlsrpt_last_ingest_timestamp_seconds", ())] = con.execute(
        "SELECT max(coalesce((SELECT max(received_time) FROM report), 0),"
        " coalesce((SELECT max(last_seen) FROM quarantine), 0))").fetchone()[0]
    got = {k: v for k, v in samples.items() if k[0] in {w[0] for w in want}}
    check(got == want, "%s: last-received families differ from SQL's %d samples: %r"
          % (label, len(want), sorted(set(got.items()) ^ set(want.items()))))
    check(len(set(v for k, v in want.items() if k[0] == "tlsrpt_reporter_last_report_timestamp_seconds")) > 3,
          "organizations' last-received times differ")
    check(("tlsrpt_last_report_timestamp_seconds", (("policy_domain", ""),)) in want, "a report without a policy domain")
    check(("tlsrpt_reporter_last_report_timestamp_seconds", (("organization", "NoPolicy Org"),)) not in want,
          "the report without policies quarantined")
    check(("tlsrpt_reporter_last_report_timestamp_seconds", (("organization", "Bare Org"),)) in want,
          "a report without policies")


check_latest(samples, "report and policy read in table order")
nrep = subprocess.run([a.report, "--db", db, "reports", "--format", "json", "--limit", "0", "--since", "2000-01-01"],
                      env=env, capture_output=True, text=True)
# `reports` lists reports by their policies: "Bare Org"'s is not listed.
bare = con.execute("SELECT count(*) FROM report r WHERE NOT EXISTS (SELECT 1 FROM policy WHERE report = r.id)")
check(samples.get(("tlsrpt_reports", ())) == len(json.loads(nrep.stdout)["rows"]) + bare.fetchone()[0],
      "reports stored")
check(samples.get(("tlsrpt_database_size_bytes", ()), 0) > 0, "database size")
check(dups > 10 and samples.get(("tlsrpt_duplicates_total", ())) == dups,
      "tlsrpt_duplicates_total %r, the ingests counted %d" % (samples.get(("tlsrpt_duplicates_total", ())), dups))
r = subprocess.run([a.report, "--db", db, "summary", "-o", out], capture_output=True, text=True)
check(r.returncode == 2, "-o outside metrics is a usage error")
# A report id more than METRICS_ID_SPAN_MAX (2^24) past the others: metrics.c
# reads through one join instead.
add_report(1 << 25, "Far Org", 1764000000 + 9000, ["far.example", None])
r = subprocess.run([a.report, "--db", db, "metrics"], env=env, capture_output=True, text=True)
check(r.returncode == 0, "metrics exit %d: %s" % (r.returncode, r.stderr))
check_latest(parse(r.stdout), "report ids far apart")
con.close()
# An empty database, no --spool: every family empty or 0.
empty = os.path.join(work, "empty")
os.mkdir(empty)
subprocess.run([a.ingest, "--db", os.path.join(work, "e.db"), empty], capture_output=True)
r = subprocess.run([a.report, "--db", os.path.join(work, "e.db"), "metrics"], env=env, capture_output=True, text=True)
check(r.returncode == 0 and r.stderr == "", "empty database: exit %d: %s" % (r.returncode, r.stderr))
e = parse(r.stdout)
check(e.get(("tlsrpt_reports", ())) == 0 and e.get(("tlsrpt_last_ingest_timestamp_seconds", ())) == 0
      and not [k for k in e if "last_report" in k[0] or k[0].endswith("sessions_total")], "empty database: %r" % e)
shutil.rmtree(work)
print("%s" % ("ok" if fails == 0 else "%d failed" % fails))
sys.exit(1 if fails else 0)
