#!/usr/bin/env python3
"""dashboard_test.py - tlsrpt-report html, the dashboard page.

  dashboard   builds a database of generated reports (seeded: several
              policy domains, organizations, failure types and MX hosts
              over ten days, a multi-day report, an sts+tlsa pair, a
              hostile organization, domain, MX and failure type) plus the
              samples, writes the page with -o and to stdout, and checks:
              every bar and point of the SVG charts against `summary --by
              domain,day,type` and `trend --domain D --interval day` (value
              and geometry: bar heights proportional to the values on the
              plot's own scale, stacked segments touching, rate points on
              the right axis), the MX and organization tables against
              summary, the findings those of `findings` in the same order,
              no remote resource and no script, the hostile
              strings escaped, the page free of HTML5 parse errors
              (html5lib), -o atomic (no temporary file left), usage errors.
  screenshot  the page of plant.py's planted problems, the capture pipeline
              stopped, rendered by headless Chromium to a PNG that must be
              non-blank, with session bars and red (critical) marks; the
              stopped pipeline is the first finding, open (exit 77 = skipped
              without /usr/bin/chromium).
"""
import html.parser
import json
import os
import random
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from report_test import png_pixels, render_png, test_main  # noqa: E402

NOW = "2026-11-23T12:00:00Z"
SINCE = "2026-11-16"                       # the default window: the 7 complete days before today
UNTIL = "2026-11-23T00:00:00Z"
HOSTILE_ORG = 'Evil <script>alert("x")</script> \'Org\'\nSecond & Line'
HOSTILE_DOMAIN = 'h<i>"q\'.example'
HOSTILE_MX = '<b>mx</b>"&.example'
HOSTILE_TYPE = 'bad<type>"&'
FAILS = []


def check(cond, what):
    if not cond:
        FAILS.append(what)
        print("FAIL:", what)


def env():
    return dict(os.environ, TLSRPT_NOW=NOW, NO_COLOR="1", COLUMNS="200")


def report_json(org, rid, start, days, policies):
    end = "2026-11-%02dT23:59:59Z" % (int(start[8:10]) + days - 1)
    return {"organization-name": org, "date-range": {"start-datetime": start[:10] + "T00:00:00Z",
                                                     "end-datetime": end},
            "contact-info": "tlsrpt@sender.example", "report-id": rid, "policies": policies}


def policy(domain, ok, failures, ptype="sts", mode="enforce"):
    strings = ["version: STSv1", "mode: " + mode, "mx: *." + domain, "max_age: 86400"] if ptype == "sts" else \
        ["3 1 1 0123456789abcdef"]
    return {"policy": {"policy-type": ptype, "policy-string": strings, "policy-domain": domain,
                       "mx-host": ["*." + domain]},
            "summary": {"total-successful-session-count": ok,
                        "total-failure-session-count": sum(f["failed-session-count"] for f in failures)},
            "failure-details": failures}


def generate(work):
    """Seeded reports into work/gen; returns the directory."""
    rnd = random.Random(15)
    out = os.path.join(work, "gen")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    domains = ["alpha.example", "beta.example", "gamma.example"]
    orgs = ["Google Inc.", "Microsoft Corporation", "Mail.ru", "Comcast"]
    types = ["certificate-expired", "starttls-not-supported", "certificate-host-mismatch",
             "validation-failure", "sts-policy-fetch-error"]
    n = 0

    def write(rep):
        nonlocal n
        n += 1
        with open(os.path.join(out, "r%04d.json" % n), "w") as f:
            json.dump(rep, f)

    for day in range(14, 24):
        for org in orgs:
            for dom in domains:
                if rnd.random() < 0.3:
                    continue
                fails = []
                for ty in rnd.sample(types, rnd.randint(0, 3)):
                    mx = "mx%d.%s" % (rnd.randint(1, 2), dom)
                    fails.append({"result-type": ty, "sending-mta-ip": "192.0.2.%d" % rnd.randint(1, 9),
                                  "receiving-mx-hostname": mx, "failed-session-count": rnd.randint(1, 40),
                                  "failure-reason-code": "code-%d" % rnd.randint(1, 3)})
                mode = "testing" if dom == "gamma.example" and day > 19 else "enforce"
                write(report_json(org, "%s-%d-%s" % (org, day, dom), "2026-11-%02d" % day, 1,
                                  [policy(dom, rnd.randint(50, 3000), fails, mode=mode)]))
    # A week-long report: counted whole on its start day.
    write(report_json("Week Sender", "week-1", "2026-11-16", 7,
                      [policy("alpha.example", 5000, [{"result-type": "certificate-expired",
                                                      "receiving-mx-hostname": "mx1.alpha.example",
                                                      "failed-session-count": 77}])]))
    # The same sessions under sts and tlsa (counted once).
    f = [{"result-type": "validation-failure", "receiving-mx-hostname": "mx2.beta.example",
          "failed-session-count": 9}]
    write(report_json("Microsoft Corporation", "pair-1", "2026-11-20", 1,
                      [policy("beta.example", 300, f), policy("beta.example", 300, f, ptype="tlsa")]))
    # Hostile strings everywhere they are shown.
    for day in (18, 22):
        write(report_json(HOSTILE_ORG, "hostile-%d" % day, "2026-11-%02d" % day, 1,
                          [policy(HOSTILE_DOMAIN, 40, [{"result-type": HOSTILE_TYPE, "receiving-mx-hostname":
                                                        HOSTILE_MX, "failed-session-count": 3 + day % 5}]),
                           policy("alpha.example", 10, [{"result-type": HOSTILE_TYPE,
                                                        "receiving-mx-hostname": "mx1.alpha.example",
                                                        "failed-session-count": 2}])]))
    return out


def build_db(a):
    db = os.path.join(a.work, "dash.db")
    for s in ("", "-wal", "-shm"):
        if os.path.exists(db + s):
            os.unlink(db + s)
    gen = generate(a.work)
    p = subprocess.run([a.ingest, "--db", db, gen, os.path.join(a.source, "samples")], capture_output=True,
                       env=env())
    check(os.path.exists(db), "ingest built the database: %s" % p.stderr[-300:])
    return db


def report(a, db, args):
    p = subprocess.run([a.report, "--db", db] + args, capture_output=True, env=env(), timeout=120)
    return p.returncode, p.stdout, p.stderr


def report_json_out(a, db, args):
    rc, out, err = report(a, db, args + ["--format", "json"])
    check(rc == 0, "%s: exit %d %s" % (args, rc, err[-300:]))
    return json.loads(out)


class Page(html.parser.HTMLParser):
    """Collects the charts' elements, the tables' cells and every tag."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.attrs_seen = [], []
        self.svgs = []                 # {"attrs", "plot", "rate_min", "rects", "circles"}
        self.tables = []               # (class, rows of cell texts)
        self.stack = []
        self.cell = None
        self.elem = None               # the rect/circle being read, for its <title>
        self.title = None
        self.findings = []             # [severity, code]
        self.code = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        self.attrs_seen.extend(attrs)
        if tag not in ("rect", "circle", "line", "polyline", "br", "meta", "i"):
            self.stack.append(tag)
        if tag == "svg":
            self.svgs.append({"attrs": a, "plot": None, "rate_min": None, "rects": [], "circles": [], "nr": 0})
        elif tag == "text" and a.get("class") == "nr":
            self.svgs[-1]["nr"] += 1
        elif tag == "g" and a.get("class") == "plot":
            self.svgs[-1]["plot"] = a
        elif tag == "g" and a.get("class") == "rate-axis":
            self.svgs[-1]["rate_min"] = float(a["data-rate-min"])
        elif tag in ("rect", "circle"):
            self.elem = dict(a, title="")
            self.svgs[-1]["rects" if tag == "rect" else "circles"].append(self.elem)
        elif tag == "table":
            self.tables.append((a.get("class"), []))
        elif tag == "tr" and self.tables:
            self.tables[-1][1].append([])
        elif tag in ("td", "th"):
            self.cell = ""
        elif tag == "title":
            self.title = ""
        elif tag == "details" and a.get("class", "").startswith("finding "):
            self.findings.append([a["class"].split()[1], None])
        elif tag == "code" and self.findings and self.findings[-1][1] is None:
            self.code = ""

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag in ("rect", "circle"):
            self.elem = None

    def handle_endtag(self, tag):
        if self.stack and self.stack[-1] == tag:
            self.stack.pop()
        if tag in ("td", "th") and self.cell is not None:
            self.tables[-1][1][-1].append(self.cell)
            self.cell = None
        elif tag == "title" and self.title is not None:
            if self.elem is not None:
                self.elem["title"] = self.title
            self.title = None
        elif tag in ("rect", "circle"):
            self.elem = None
        elif tag == "code" and self.code is not None:
            self.findings[-1][1] = self.code
            self.code = None

    def handle_data(self, data):
        if self.code is not None:
            self.code += data
        if self.cell is not None:
            self.cell += data
        if self.title is not None:
            self.title += data


def near(x, y):
    return abs(x - y) <= 0.011


def check_charts(a, db, page):
    summary_t = report_json_out(a, db, ["summary", "--by", "domain,day,type", "--since", SINCE, "--until", UNTIL])
    summary_d = report_json_out(a, db, ["summary", "--by", "domain,day", "--since", SINCE, "--until", UNTIL])
    domains = {d["domain"]: d for d in summary_t["totals"]["domains"]}
    want_t = {(r["domain"], r["day"], r["type"]): r["failed_sessions"] for r in summary_t["rows"]}
    want_d = {(r["domain"], r["day"]): r["failed_sessions"] for r in summary_d["rows"]
              if r["failed_sessions"] > 0}
    sess = {s["attrs"]["data-domain"]: s for s in page.svgs if s["attrs"].get("class") == "sessions"}
    fail = {s["attrs"]["data-domain"]: s for s in page.svgs if s["attrs"].get("class") == "failures"}
    check(set(sess) == set(domains), "a sessions chart per domain: %s vs %s" % (sorted(sess), sorted(domains)))
    check(set(fail) == {k[0] for k in want_t}, "a failures chart per domain with failures: %s" % sorted(fail))
    check(HOSTILE_DOMAIN in sess, "the hostile domain has its chart, its name intact in data-domain")
    got_t, got_d, bars, points, nr_days = {}, {}, 0, 0, 0
    for dom, svg in fail.items():
        g = svg["plot"]
        x0, y0, w, h, mx = (float(g[k]) for k in ("data-x", "data-y", "data-width", "data-height", "data-max"))
        days = {}
        for r in svg["rects"]:
            v = int(r["data-value"])
            got_t[(dom, r["data-day"], r["data-type"])] = v
            got_d[(dom, r["data-day"])] = got_d.get((dom, r["data-day"]), 0) + v
            days.setdefault(r["data-day"], []).append(r)
            ht, y = float(r["height"]), float(r["y"])
            check(near(ht, v / mx * h), "%s %s %s: height %s for %d of %s" % (dom, r["data-day"], r["data-type"],
                                                                               ht, v, mx))
            check(x0 <= float(r["x"]) and float(r["x"]) + float(r["width"]) <= x0 + w, "bar inside the plot")
            check(str(v) in r["title"] or "{:,}".format(v) in r["title"], "bar title names its value")
            bars += 1
        for day, segs in days.items():          # stacked from the axis up, touching
            bottom = y0 + h
            for r in sorted(segs, key=lambda r: -float(r["y"])):
                check(near(float(r["y"]) + float(r["height"]), bottom), "%s %s: segments touch" % (dom, day))
                bottom = float(r["y"])
            check(sum(int(r["data-value"]) for r in segs) <= mx, "stack within the scale")
    check(got_t == want_t, "failure bars equal summary --by domain,day,type: %s" %
          sorted(set(got_t.items()) ^ set(want_t.items()))[:6])
    check(got_d == want_d, "failure stacks equal summary --by domain,day")
    for dom, svg in sess.items():
        trend = report_json_out(a, db, ["trend", "--interval", "day", "--since", SINCE, "--until", UNTIL,
                                        "--domain", dom])
        g = svg["plot"]
        x0, y0, w, h, mx = (float(g[k]) for k in ("data-x", "data-y", "data-width", "data-height", "data-max"))
        lo = svg["rate_min"]
        want_s = {b["bucket"]: b["sessions"] for b in trend["buckets"]}
        want_r = {b["bucket"]: b["success_rate"] for b in trend["buckets"] if b["sessions"] > 0}
        got_s = {r["data-day"]: int(r["data-value"]) for r in svg["rects"]}
        got_r = {c["data-day"]: float(c["data-value"]) for c in svg["circles"]}
        check(got_s == want_s, "%s: session bars equal trend: %s vs %s" % (dom, got_s, want_s))
        check(svg["nr"] == sum(1 for b in trend["buckets"] if b["reports"] == 0),
              "%s: 'no report' on each day without a report (%d)" % (dom, svg["nr"]))
        nr_days += svg["nr"]
        check(got_r == want_r, "%s: rate points equal trend: %s vs %s" % (dom, got_r, want_r))
        check(sum(want_s.values()) == domains[dom]["successful_sessions"] + domains[dom]["failed_sessions"],
              "%s: the days add up to summary's total" % dom)
        for r in svg["rects"]:
            v = int(r["data-value"])
            check(v <= mx and near(float(r["height"]), v / mx * h) and
                  near(float(r["y"]) + float(r["height"]), y0 + h),
                  "%s %s: session bar geometry" % (dom, r["data-day"]))
            bars += 1
        for c in svg["circles"]:
            v = float(c["data-value"])
            check(lo <= v and near(float(c["cy"]), y0 + (100 - v) / (100 - lo) * h),
                  "%s %s: rate point at %s for %s%% (axis from %s%%)" % (dom, c["data-day"], c["cy"], v, lo))
            points += 1
        check(len(svg["rects"]) == 7 and not any(r["class"].endswith("part") for r in svg["rects"]),
              "%s: 7 complete days" % dom)
    check(nr_days > 0, "some day without a report was marked")
    print("checked %d bars, %d points and %d days without a report against summary and trend"
          % (bars, points, nr_days))


def check_tables(a, db, page):
    by_mx = report_json_out(a, db, ["summary", "--by", "domain,mx", "--since", SINCE, "--until", UNTIL])
    by_org = report_json_out(a, db, ["summary", "--by", "org,domain", "--since", SINCE, "--until", UNTIL])
    want_mx = {r["mx"]: r["failed_sessions"] for r in by_mx["rows"] if r["domain"] == HOSTILE_DOMAIN}
    mx_rows = [row for cls, rows in page.tables if cls == "mx" for row in rows[1:]]
    got = {row[0]: int(row[1].replace(",", "")) for row in mx_rows if row[0] in want_mx}
    check(got == want_mx and HOSTILE_MX in got, "hostile MX row equals summary: %s vs %s" % (got, want_mx))
    org_rows = [row for cls, rows in page.tables if cls == "org" for row in rows[1:]]
    hostile = [row for row in org_rows if row[0].startswith('Evil <script>alert("x")</script> \'Org\'')]
    check(len(hostile) == 2, "the hostile organization appears as text in two reporter tables: %d" % len(hostile))
    check(all("\n" not in row[0] and "Second & Line" in row[0] for row in hostile),
          "its newline made visible, not a line break: %r" % [r[0] for r in hostile])
    want_org = sum(r["failed_sessions"] for r in by_org["rows"] if r["org"] == HOSTILE_ORG)
    check(sum(int(r[4].replace(",", "")) for r in hostile) == want_org,
          "hostile organization's failures equal summary (%d)" % want_org)


def check_findings(a, db, page):
    rc, out, err = report(a, db, ["findings", "--format", "json"])
    check(rc in (0, 1, 2), "findings: exit %d %s" % (rc, err[-300:]))
    want = [[f["severity"], f["code"]] for f in json.loads(out)["findings"]]
    check(len(want) > 0 and page.findings == want,
          "the page lists the findings of `findings`, in order: %d vs %d" % (len(page.findings), len(want)))


def check_safety(text, page):
    low = text.lower()
    for bad in ("<script", "<link", "<img", "<iframe", "<object", "<embed", "<base", "@import", "url(",
                "javascript:"):
        check(bad not in low, "no %s in the page" % bad)
    check("script" not in page.tags, "no script element parsed")
    for k, v in page.attrs_seen:
        check(k != "src" and not k.startswith("on"), "no %s attribute" % k)
        if k == "href":
            check(v.startswith("#"), "links stay in the page: %s" % v)
        check(v is None or ("http:" not in v.lower() and "https:" not in v.lower() and "//" not in v),
              "no address in an attribute: %s=%r" % (k, v))
    check("&lt;script&gt;" in text, "the hostile organization is escaped")
    check("<i>" not in text and "h&lt;i&gt;&quot;q&#39;.example" in text,
          "the hostile domain's <i> never became a tag")


def html5_errors(path):
    code = ("import html5lib, sys\np = html5lib.HTMLParser()\np.parse(open(sys.argv[1], 'rb'))\n"
            "print('\\n'.join(repr(e) for e in p.errors))\n")
    for py in (sys.executable, "/usr/bin/python3"):
        p = subprocess.run([py, "-c", code, path], capture_output=True, text=True)
        if p.returncode == 0:
            return p.stdout.strip()
    return "html5lib not available (tests/install-deps.sh installs python3-html5lib)"


def dashboard(a):
    db = build_db(a)
    out = os.path.join(a.work, "www", "tlsrpt.html")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        f.write("old page")
    rc, _, err = report(a, db, ["html", "-o", out])
    check(rc == 0, "html -o: exit %d %s" % (rc, err))
    text = open(out, encoding="utf-8").read()
    check(os.listdir(os.path.dirname(out)) == ["tlsrpt.html"], "no temporary file left beside the page")
    rc, stdout, _ = report(a, db, ["html"])
    check(rc == 0 and stdout.decode() == text, "stdout and -o write the same page")
    page = Page()
    page.feed(text)
    page.close()
    check_charts(a, db, page)
    check_tables(a, db, page)
    check_findings(a, db, page)
    check_safety(text, page)
    errs = html5_errors(out)
    check(errs == "", "HTML5 parse errors: %s" % errs[:500])
    rc, _, err = report(a, db, ["html", "--spool", a.work])
    check(rc == 2, "--spool is not an html option: exit %d" % rc)
    rc, _, err = report(a, db, ["html", "--since", "2024-01-01"])
    check(rc == 2 and b"366" in err, "a window over 366 days is refused: %d %s" % (rc, err))
    rc, _, err = report(a, db, ["html", "-o", os.path.join(a.work, "missing", "x.html")])
    check(rc == 1 and b"missing" in err, "-o into a missing directory: exit %d %s" % (rc, err))
    rc, _, err = report(a, db, ["html", "--warn-rate", "10", "--crit-rate", "5"])
    check(rc == 2, "--warn-rate above --crit-rate: exit %d" % rc)
    rc, stdout, _ = report(a, db, ["html", "--since", SINCE, "--until", "now"])
    p2 = Page()
    p2.feed(stdout.decode())
    s2 = [s for s in p2.svgs if s["attrs"].get("class") == "sessions"]
    check(rc == 0 and s2 and all(len(s["rects"]) == 8 and s["rects"][-1]["class"] == "s part" and
                                 not s["rects"][0]["class"].endswith("part") for s in s2),
          "--until now: 8 days, today's marked incomplete")
    rc, stdout, _ = report(a, db, ["html", "--domain", "beta.example"])
    check(rc == 0 and b'data-domain="alpha.example"' not in stdout and b'data-domain="beta.example"' in stdout,
          "--domain narrows the page")
    print("page: %s (%d bytes)" % (out, len(text)))


def plant_db(a):
    """plant.py's planted problems (one per domain, clean domains) as spool
    entries whose reports stopped arriving three days ago, ingested."""
    spool, db = os.path.join(a.work, "plant-spool"), os.path.join(a.work, "plant.db")
    shutil.rmtree(spool, ignore_errors=True)
    for s in ("", "-wal", "-shm"):
        if os.path.exists(db + s):
            os.unlink(db + s)
    p = subprocess.run([sys.executable, os.path.join(a.source, "tests", "report", "plant.py"), "--spool", spool,
                        "--now", "2026-11-23", "--stopped"], capture_output=True, text=True)
    check(p.returncode == 0, "plant.py: %s" % p.stderr[-300:])
    p = subprocess.run([a.ingest, "--db", db, "--spool", spool], capture_output=True, env=env())
    check(os.path.exists(db), "ingest --spool: %s" % p.stderr[-300:])
    return db


def screenshot(a):
    chromium = "/usr/bin/chromium"
    if not os.path.exists(chromium):
        print("SKIP: %s not installed" % chromium)
        sys.exit(77)
    db = plant_db(a)
    page = os.path.join(a.work, "dashboard.html")
    png = os.path.join(a.work, "dashboard.png")
    rc, _, err = report(a, db, ["html", "--now", "2026-11-23T06:00:00Z", "-o", page])
    check(rc == 0, "html: exit %d %s" % (rc, err))
    text = open(page, encoding="utf-8").read()
    check('<details class="finding critical" open><summary><span class="sev">critical</span> '
          '<code>capture-stopped</code>' in text, "the stopped pipeline is the first thing on the page")
    rc_png, err_png = render_png(page, png, 1000, 3200)
    check(os.path.exists(png), "chromium wrote %s (exit %d): %s" % (png, rc_png, err_png[-500:]))
    if not os.path.exists(png):
        return
    dec = png_pixels(png)
    check(dec is not None, "PNG decodes")
    if dec is None:
        return
    w, h, bpp, rows = dec
    colours, blue, red = set(), 0, 0
    for y in range(0, h, 3):
        r = rows[y]
        for x in range(0, w * bpp, bpp * 3):
            px = tuple(r[x:x + 3])
            colours.add(px)
            blue += abs(px[0] - 0x93) < 12 and abs(px[1] - 0xc5) < 12 and abs(px[2] - 0xfd) < 12
            red += px[0] > 150 and px[1] < 60 and px[2] < 60
    check((w, h) == (1000, 3200), "screenshot size %dx%d" % (w, h))
    check(len(colours) > 50, "screenshot is not blank (%d colours)" % len(colours))
    check(blue > 100, "session bars drawn (%d light-blue samples)" % blue)
    check(red > 50, "failure bars drawn in red (%d samples)" % red)
    print("screenshot: %s (%dx%d, %d colours)" % (png, w, h, len(colours)))


if __name__ == "__main__":
    test_main({"dashboard": dashboard, "screenshot": screenshot}, FAILS)
