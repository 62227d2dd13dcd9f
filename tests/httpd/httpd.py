#!/usr/bin/env python3
"""httpd.py - tlsrpt-httpd against curl and hostile Python clients.

Usage: httpd.py TLSRPT-HTTPD CASE

Each case starts its own tlsrpt-httpd in a temporary directory, listening
on 127.0.18.1 (clients use source addresses in 127.0.18.0/24 only), and
stops it at the end even on failure.  Every wait is bounded.  Cases:

  config     -n on good and bad files, --help
  refusals   404, 405, 415, 413 (Content-Length and a chunked body counted
             as it streams), 400 for a body that is not what its type says
             (truncated gzip, JSON sent as gzip, gzip sent as JSON, not
             JSON) or that the ingest refuses (a NUL byte, a duplicate key,
             invalid UTF-8, no report, a missing field), a gzip bomb (413):
             each kept in the quarantine with its reason, none stored as a
             report; a report after a byte order mark stored
  load       1000 posts from 20 parallel clients: every 200 stored once
  slow       a client sending one byte a second, one dripping its headers,
             one silent: all cut off in bounded time while others are served;
             MaxConnectionsPerClient enforced
  spoolfail  the spool unwritable: 503 with Retry-After; after it is
             writable again the same post is stored
  kill9      kill -9 under load, restart: every 200 stored exactly once
  tls        TLS by itself with a test CA made by openssl; curl verifies it
"""
import gzip
import http.client
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from pycheck import check, tally  # noqa: E402

HTTPD = os.path.abspath(sys.argv[1])
CASE = sys.argv[2]
HOST = "127.0.18.1"
PORT = 18461
SKIP = 77


def note(msg):
    print("  " + msg, flush=True)


def report(i, tag="h"):
    r = {"organization-name": "HTTP Org %d" % (i % 5), "report-id": "%s-%06d" % (tag, i),
         "date-range": {"start-datetime": "2026-02-01T00:00:00Z", "end-datetime": "2026-02-01T23:59:59Z"},
         "contact-info": "tls@example.org",
         "policies": [{"policy": {"policy-type": "sts", "policy-domain": "example.net",
                                  "mx-host": ["mx.example.net"]},
                       "summary": {"total-successful-session-count": i, "total-failure-session-count": 0}}]}
    return json.dumps(r).encode()


class Daemon:
    """One tlsrpt-httpd in tmp, with conf lines extra."""

    def __init__(self, tmp, extra=()):
        self.tmp = tmp
        self.spool = os.path.join(tmp, "spool")
        self.db = os.path.join(tmp, "db", "tlsrpt.db")
        self.conf = os.path.join(tmp, "httpd.conf")
        self.log = os.path.join(tmp, "httpd.log")
        lines = ["Listen %s:%d" % (HOST, PORT), "SpoolDir " + self.spool, "Database " + self.db,
                 "DrainInterval 1", "DrainRetryMax 1", "MaxBodySize 1M", "MaxInflatedSize 4M",
                 "MaxConnections 64", "MaxConnectionsPerClient 8", "IdleTimeout 2", "RequestTimeout 4",
                 "RetryAfter 7"]
        if os.geteuid() == 0:
            lines.append("UserID nobody")
        with open(self.conf, "w") as f:
            f.write("\n".join(lines + list(extra)) + "\n")
        self.proc = None

    def start(self):
        self.logf = open(self.log, "ab")
        self.proc = subprocess.Popen([HTTPD, "-f", "-c", self.conf], stdout=self.logf, stderr=self.logf)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection((HOST, PORT), timeout=1).close()
                return True
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.05)
        note("did not start; log:\n" + open(self.log, errors="replace").read())
        return False

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.logf.close()
        rc = self.proc.returncode if self.proc else None
        self.proc = None
        return rc

    def pending(self):
        n = 0
        for sub in ("new", "cur"):
            try:
                n += len(os.listdir(os.path.join(self.spool, sub)))
            except OSError:
                pass
        return n

    def drained(self, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.pending() == 0 and os.path.exists(self.db):
                return True
            time.sleep(0.1)
        return False

    def stats(self):
        """<SpoolDir>/tlsrpt-httpd.stats as a dict (written after each drain)."""
        out = {}
        with open(os.path.join(self.spool, "tlsrpt-httpd.stats")) as f:
            for line in f:
                k, v = line.split()
                out[k] = int(v)
        return out

    def rows(self, sql, args=()):
        c = sqlite3.connect("file:%s?mode=ro" % self.db, uri=True, timeout=10)
        try:
            return c.execute(sql, args).fetchall()
        finally:
            c.close()


def post(body, ctype="application/tlsrpt+json", path="/", src="127.0.18.2", timeout=10, headers=None,
         method="POST", tls=None):
    """One request; returns (status, headers dict, body) or (None, None, error)."""
    try:
        if tls:
            c = http.client.HTTPSConnection(HOST, PORT, timeout=timeout, context=tls)
        else:
            c = http.client.HTTPConnection(HOST, PORT, timeout=timeout,
                                           source_address=(src, 0) if src else None)
        h = {"Content-Type": ctype} if ctype else {}
        h.update(headers or {})
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, dict(r.getheaders()), data
    except (OSError, http.client.HTTPException) as e:
        return None, None, str(e)


# ---- cases ----

def case_config(tmp):
    d = Daemon(tmp)
    p = subprocess.run([HTTPD, "-n", "-c", d.conf], capture_output=True, text=True, timeout=10)
    check(p.returncode == 0 and "OK" in p.stdout, "-n on a good file: %d %s%s" % (p.returncode, p.stdout, p.stderr))
    bad = os.path.join(tmp, "bad.conf")
    for text, words in (("Listen nowhere\n", ":1: Listen:"), ("Bogus 1\n", ":1: Bogus: unknown key"),
                        ("Path /\nPath /x\n", ":2: Path: set twice"),
                        ("TLSCertificate /x.pem\n", "needs TLSKey"),
                        ("MaxBodySize lots\n", ":1: MaxBodySize:"),
                        ("RequestTimeout 0\n", ":1: RequestTimeout:")):
        with open(bad, "w") as f:
            f.write(text)
        p = subprocess.run([HTTPD, "-n", "-c", bad], capture_output=True, text=True, timeout=10)
        check(p.returncode == 78 and words in p.stderr, "-n on %r: %d %s" % (text, p.returncode, p.stderr))
    with open(bad, "w") as f:
        f.write("SpoolDir /proc/tlsrpt-httpd-test/spool\nDatabase %s\n%s" % (d.db, "UserID nobody\n" if os.geteuid() == 0 else ""))
    p = subprocess.run([HTTPD, "-n", "-c", bad], capture_output=True, text=True, timeout=10)
    check(p.returncode == 78 and "SpoolDir" in p.stderr, "-n with a SpoolDir nobody can make: %d %s" % (p.returncode, p.stderr))
    p = subprocess.run([HTTPD, "--help"], capture_output=True, text=True, timeout=10)
    check(p.returncode == 0 and "-n" in p.stdout and "tlsrpt-httpd(8)" in p.stdout, "--help")


def stream_until_answer(head, chunks, src="127.0.18.3"):
    """Sends head, then chunks while no answer has come; the status or None."""
    s = socket.create_connection((HOST, PORT), timeout=10, source_address=(src, 0))
    got = b""
    try:
        s.sendall(head)
        for c in [b""] + chunks:
            try:
                if c:
                    s.sendall(c)
            except OSError:
                break
            s.settimeout(0.05)
            try:
                got += s.recv(4096)
            except socket.timeout:
                pass
            except OSError:
                break
            if got:
                break
        s.settimeout(5)
        while b"\r\n" not in got:
            more = s.recv(4096)
            if not more:
                break
            got += more
    except OSError:
        pass
    finally:
        s.close()
    parts = got.split(b" ", 2)
    return int(parts[1]) if len(parts) > 2 and parts[0].startswith(b"HTTP/") else None


def case_refusals(tmp):
    d = Daemon(tmp)
    if not check(d.start(), "daemon starts"):
        return
    try:
        good = report(1)
        st, _, _ = post(good, path="/other")
        check(st == 404, "other path: 404, got %s" % st)
        st, h, _ = post(None, method="GET", ctype=None)
        check(st == 405 and h.get("Allow") == "POST", "GET: 405 with Allow, got %s" % st)
        st, _, _ = post(good, ctype="application/json")
        check(st == 415, "application/json: 415, got %s" % st)
        st, _, _ = post(good, ctype=None)
        check(st == 415, "no Content-Type: 415, got %s" % st)
        # Content-Length over the limit: answered from the headers alone.
        st = stream_until_answer(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/tlsrpt+json\r\n"
                                 b"Content-Length: %d\r\n\r\n" % (2 << 20), [])
        check(st == 413, "Content-Length over MaxBodySize: 413 before the body, got %s" % st)
        # A chunked body (no Content-Length) is counted as it streams.
        chunk = b"%x\r\n%s\r\n" % (65536, b"x" * 65536)
        st = stream_until_answer(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/tlsrpt+json\r\n"
                                 b"Transfer-Encoding: chunked\r\n\r\n", [chunk] * 24 + [b"0\r\n\r\n"])
        check(st == 413, "chunked body over MaxBodySize: 413 as it streams, got %s" % st)
        big = os.path.join(tmp, "big.json")
        with open(big, "wb") as f:
            f.write(b"{" + b" " * (3 << 20) + b"}")
        p = subprocess.run(["curl", "-sS", "--max-time", "10", "-o", "/dev/null", "-w", "%{http_code}",
                            "--interface", "127.0.18.2", "-H", "Content-Type: application/tlsrpt+json",
                            "--data-binary", "@" + big, "http://%s:%d/" % (HOST, PORT)],
                           capture_output=True, text=True, timeout=20)
        check(p.stdout == "413", "curl with a body over MaxBodySize: 413, got %s %s" % (p.stdout, p.stderr))
        gz = gzip.compress(report(2))
        bodies = [("truncated gzip", gz[:len(gz) // 2], "application/tlsrpt+gzip", 400, "bad-gzip"),
                  ("JSON sent as gzip", report(3), "application/tlsrpt+gzip", 400, "bad-gzip"),
                  ("gzip sent as JSON", gzip.compress(report(4)), "application/tlsrpt+json", 400, "not-a-report"),
                  ("not JSON", b"hello, world", "application/tlsrpt+json", 400, "not-a-report"),
                  ("a JSON array", b"[1,2]", "application/tlsrpt+json", 400, "not-a-report"),
                  ("gzip bomb", gzip.compress(b" " * (64 << 20)), "application/tlsrpt+gzip", 413,
                   "limit-inflated-size")]
        # Bodies jansson's own loader takes but the ingest refuses: answered
        # 400 with the ingest's reason at once, not 200 and quarantined later.
        nul = b'"total-failure-session-count": 0'
        r5, r6, r7, r8 = report(5), report(6), report(7), report(8)
        check(nul in r5 and b'"report-id": "h-000006"' in r6 and b'"date-range": ' in r8, "test bodies as meant")
        bodies += [("a NUL byte after a number", r5.replace(nul, nul + b"\0"), "application/tlsrpt+json", 400,
                    "invalid-utf8"),
                   ("the same, gzipped", gzip.compress(r5.replace(nul, nul + b"\0")), "application/tlsrpt+gzip",
                    400, "invalid-utf8"),
                   ("a duplicate key", r6.replace(b'"report-id": "h-000006"',
                                                  b'"report-id": "h-000006", "report-id": "h-000006"'),
                    "application/tlsrpt+json", 400, "bad-json"),
                   ("invalid UTF-8 in a string", r7.replace(b"HTTP Org", b"HTTP \xff Org"),
                    "application/tlsrpt+json", 400, "invalid-utf8"),
                   ("a JSON object that is no report", b'{"hello": "world"}', "application/tlsrpt+json", 400,
                    "not-a-report"),
                   ("a report without date-range",
                    json.dumps({k: v for k, v in json.loads(r8).items() if k != "date-range"}).encode(),
                    "application/tlsrpt+json", 400, "missing-field")]
        for what, body, ctype, want, code in bodies:
            st, _, text = post(body, ctype=ctype, timeout=20)
            check(st == want, "%s: %d, got %s %s" % (what, want, st, text))
            check(want == 413 or text == b"refused: %s (kept for inspection)\n" % code.encode(),
                  "%s: answered with its reason %s: %s" % (what, code, text))
        st, _, _ = post(gz, ctype="application/tlsrpt+gzip; charset=binary")
        check(st == 200, "a good gzip report with a parameter: 200, got %s" % st)
        # A byte order mark in front of the JSON text: the ingest ignores it
        # (RFC 8259 section 8.1), so the httpd takes it too.
        st, _, text = post(b"\xef\xbb\xbf" + report(9), ctype="application/tlsrpt+json")
        check(st == 200, "a report after a byte order mark: 200, got %s %s" % (st, text))
        check(d.drained(), "spool drained")
        time.sleep(0.5)
        q = d.rows("SELECT reason FROM quarantine ORDER BY id")
        reasons = [r[0] for r in q]
        check(reasons == [b[4] for b in bodies], "each refused body quarantined with its reason: %s" % reasons)
        ids = [r[0] for r in d.rows("SELECT report_id FROM report")]
        check(ids == ["h-000002", "h-000009"], "only the good reports stored: %s" % ids)
    finally:
        d.stop()
    st = d.stats()
    want = {"posts_stored_total": 2, "posts_bad_request_total": 11, "posts_too_large_total": 4,
            "posts_bad_type_total": 2, "posts_not_found_total": 1, "posts_bad_method_total": 1,
            "posts_unavailable_total": 0, "reports_quarantined_total": 12}
    check(all(st.get(k) == v for k, v in want.items()), "counters %s, want %s" % (st, want))


def case_load(tmp):
    d = Daemon(tmp)
    if not check(d.start(), "daemon starts"):
        return
    ok, bad, lock = [], [], threading.Lock()
    n_clients, per = 20, 50

    def client(k):
        src = "127.0.18.%d" % (10 + k)
        for j in range(per):
            i = k * per + j
            body = report(i, "load")
            ctype = "application/tlsrpt+json"
            if i % 2:
                body, ctype = gzip.compress(body), "application/tlsrpt+gzip"
            st = None
            for _ in range(5):                # a 503 or a reset: the sender retries
                st, _, _ = post(body, ctype=ctype, src=src)
                if st == 200:
                    break
                time.sleep(0.05)
            with lock:
                (ok if st == 200 else bad).append(i)

    t0 = time.time()
    threads = [threading.Thread(target=client, args=(k,)) for k in range(n_clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    took = time.time() - t0
    note("%d posts answered 200 in %.1f s (%.0f/s), %d not" % (len(ok), took, len(ok) / took, len(bad)))
    check(len(ok) == n_clients * per, "every post answered 200 (not: %d)" % len(bad))
    check(d.drained(60), "spool drained")
    rows = d.rows("SELECT report_id, count(*) FROM report GROUP BY report_id")
    got = {r[0]: r[1] for r in rows}
    missing = [i for i in ok if got.get("load-%06d" % i) != 1]
    check(not missing, "every 200 stored exactly once (%d not)" % len(missing))
    check(len(got) == len(ok), "nothing else stored: %d reports for %d 200s" % (len(got), len(ok)))
    check(d.stop() == 0, "SIGTERM: exit 0")
    st = d.stats()                    # written by the final drain
    check(st.get("posts_stored_total") == len(ok) and st.get("reports_stored_total") == len(ok)
          and st.get("spool_backlog") == 0 and st.get("last_drain_time", 0) > 0,
          "counters: %s" % st)


def raw_conn(src):
    s = socket.create_connection((HOST, PORT), timeout=15, source_address=(src, 0))
    return s


def closed_within(s, seconds):
    """Waits for the server to close s; the time it took, or None."""
    t0 = time.time()
    s.settimeout(0.2)
    while time.time() - t0 < seconds:
        try:
            if s.recv(4096) == b"":
                return time.time() - t0
        except socket.timeout:
            pass
        except OSError:
            return time.time() - t0
    return None


def case_slow(tmp):
    d = Daemon(tmp)
    if not check(d.start(), "daemon starts"):
        return
    results = {}

    def dribble_body():
        s = raw_conn("127.0.18.40")
        body = report(7)
        s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/tlsrpt+json\r\n"
                  b"Content-Length: %d\r\n\r\n" % len(body))
        t0 = time.time()
        cut = None
        for b in body:
            try:
                s.send(bytes([b]))
            except OSError:
                cut = time.time() - t0
                break
            if closed_within(s, 1.0) is not None:
                cut = time.time() - t0
                break
        results["body"] = cut
        s.close()

    def dribble_headers():
        s = raw_conn("127.0.18.41")
        t0 = time.time()
        cut = None
        for b in b"POST / HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200:
            try:
                s.send(bytes([b]))
            except OSError:
                cut = time.time() - t0
                break
            if closed_within(s, 1.0) is not None:
                cut = time.time() - t0
                break
        results["headers"] = cut
        s.close()

    def silent():
        s = raw_conn("127.0.18.42")
        results["silent"] = closed_within(s, 15)
        s.close()

    threads = [threading.Thread(target=f) for f in (dribble_body, dribble_headers, silent)]
    for t in threads:
        t.start()
    time.sleep(1)
    st, _, _ = post(report(8), src="127.0.18.43")
    check(st == 200, "a normal post is served while slow clients hang on: %s" % st)
    for t in threads:
        t.join(timeout=30)
    note("cut off after: %s" % results)
    # RequestTimeout 4 (the reaper looks every 0.25 s), IdleTimeout 2.
    for k in ("body", "headers"):
        check(results.get(k) is not None and results[k] < 8, "one byte a second (%s): cut off by RequestTimeout" % k)
    check(results.get("silent") is not None and results["silent"] < 6, "a silent client: cut off by IdleTimeout")

    # MaxConnectionsPerClient 8: the ninth from one address is closed at once.
    conns = [raw_conn("127.0.18.44") for _ in range(8)]
    time.sleep(0.3)
    extra = raw_conn("127.0.18.44")
    extra.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/tlsrpt+json\r\nContent-Length: 2\r\n\r\n{}")
    t = closed_within(extra, 3)
    check(t is not None, "a ninth connection from one client is refused")
    st, _, _ = post(report(9), src="127.0.18.45")
    check(st == 200, "another client is still served: %s" % st)
    for s in conns + [extra]:
        s.close()
    check(d.drained(), "spool drained")
    ids = sorted(r[0] for r in d.rows("SELECT report_id FROM report"))
    check(ids == ["h-000008", "h-000009"], "only the complete posts stored: %s" % ids)
    d.stop()


def case_spoolfail(tmp):
    d = Daemon(tmp)
    if not check(d.start(), "daemon starts"):
        return
    try:
        tmpdir = os.path.join(d.spool, "tmp")
        os.chmod(tmpdir, 0o500)
        st, h, _ = post(report(20))
        check(st == 503 and h.get("Retry-After") == "7", "spool unwritable: 503 with Retry-After 7, got %s %s" % (st, h))
        os.chmod(tmpdir, 0o700)
        st, _, _ = post(report(20))
        check(st == 200, "spool writable again: the retry gets 200, got %s" % st)
        check(d.drained(), "spool drained")
        ids = [r[0] for r in d.rows("SELECT report_id FROM report")]
        check(ids == ["h-000020"], "stored once after the recovery: %s" % ids)
    finally:
        d.stop()


def case_kill9(tmp):
    d = Daemon(tmp)
    if not check(d.start(), "daemon starts"):
        return
    ok, lock, stop = set(), threading.Lock(), threading.Event()
    counter = iter(range(10 ** 6))

    def client(k):
        src = "127.0.18.%d" % (60 + k)
        while not stop.is_set():
            with lock:
                i = next(counter)
            st, _, _ = post(report(i, "k9"), src=src, timeout=5)
            if st == 200:
                with lock:
                    ok.add(i)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(10)]
    for t in threads:
        t.start()
    time.sleep(2.0)
    d.proc.kill()
    d.proc.wait()
    stop.set()
    for t in threads:
        t.join(timeout=30)
    d.stop()
    note("%d posts answered 200 before kill -9; %d entries left in the spool" % (len(ok), d.pending()))
    check(len(ok) > 20, "load before the kill (%d)" % len(ok))
    if not check(d.start(), "restarts after kill -9"):
        return
    check(d.drained(60), "spool drained after the restart")
    rows = d.rows("SELECT report_id, count(*) FROM report GROUP BY report_id")
    got = {r[0]: r[1] for r in rows}
    missing = [i for i in ok if got.get("k9-%06d" % i) != 1]
    check(not missing, "every 200 stored exactly once (%d not: %s)" % (len(missing), missing[:5]))
    check(all(v == 1 for v in got.values()), "no report stored twice")
    tmpdir = os.path.join(d.spool, "tmp")
    check(os.listdir(tmpdir) == [], "the dead writer's tmp/ files removed at restart")
    d.stop()


def case_tls(tmp):
    if shutil.which("openssl") is None or shutil.which("curl") is None:
        print("openssl or curl missing")
        return SKIP
    ca_key, ca, key, csr, crt = (os.path.join(tmp, n) for n in ("ca.key", "ca.pem", "srv.key", "srv.csr", "srv.pem"))
    ext = os.path.join(tmp, "ext.cnf")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n" % HOST)

    def ossl(*a):
        p = subprocess.run(["openssl"] + list(a), capture_output=True, text=True, timeout=30)
        check(p.returncode == 0, "openssl %s: %s" % (a[0], p.stderr[-300:]))
    ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca, "-days", "2",
         "-subj", "/CN=tlsrpt test CA")
    ossl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=%s" % HOST)
    ossl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out", crt, "-days", "2",
         "-extfile", ext)
    for f in (ca_key, key):
        os.chmod(f, 0o600)            # read as root, before the drop
    d = Daemon(tmp, ["TLSCertificate " + crt, "TLSKey " + key, "Path /tlsrpt"])
    if not check(d.start(), "daemon starts with TLS"):
        return
    try:
        body = os.path.join(tmp, "r.gz")
        with open(body, "wb") as f:
            f.write(gzip.compress(report(30)))
        url = "https://%s:%d/tlsrpt" % (HOST, PORT)
        base = ["curl", "-sS", "--max-time", "10", "-o", "/dev/null", "-w", "%{http_code}",
                "--interface", "127.0.18.50", "-H", "Content-Type: application/tlsrpt+gzip",
                "--data-binary", "@" + body]
        p = subprocess.run(base + ["--cacert", ca, url], capture_output=True, text=True, timeout=20)
        check(p.stdout == "200", "curl over TLS, verified with the test CA: %s %s" % (p.stdout, p.stderr))
        p = subprocess.run(base + [url], capture_output=True, text=True, timeout=20)
        check(p.returncode != 0, "curl without the CA refuses the certificate: rc %d" % p.returncode)
        p = subprocess.run(base + [url.replace("https", "http")], capture_output=True, text=True, timeout=20)
        check(p.stdout != "200", "plain HTTP to the TLS port is not accepted: %s" % p.stdout)
        check(d.drained(), "spool drained")
        ids = [r[0] for r in d.rows("SELECT report_id FROM report")]
        check(ids == ["h-000030"], "the TLS post stored: %s" % ids)
    finally:
        d.stop()


CASES = {"config": case_config, "refusals": case_refusals, "load": case_load, "slow": case_slow,
         "spoolfail": case_spoolfail, "kill9": case_kill9, "tls": case_tls}


def main():
    if CASE not in CASES:
        print("unknown case %s; cases: %s" % (CASE, " ".join(CASES)))
        return 2
    tmp = tempfile.mkdtemp(prefix="tlsrpt-httpd-")
    os.chmod(tmp, 0o755)              # the daemon runs as nobody under root
    try:
        r = CASES[CASE](tmp)
    finally:
        if CASE != "config" and os.path.exists(os.path.join(tmp, "httpd.log")) and tally()[1]:
            print(open(os.path.join(tmp, "httpd.log"), errors="replace").read()[-4000:])
        shutil.rmtree(tmp, ignore_errors=True)
    passed, failed = tally()
    if r == SKIP and failed == 0:
        print("%s: skipped" % CASE)
        return SKIP
    print("%s: %d passed, %d failed" % (CASE, passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
