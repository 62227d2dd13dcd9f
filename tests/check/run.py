#!/usr/bin/env python3
"""run.py - tlsrpt-report check against real servers on 127.0.16.0/24.

Starts, in a temporary directory with their own configuration:
  unbound   authoritative for check.test on 127.0.16.53:53 (local-data),
            one domain per pitfall
  nginx     HTTPS on 127.0.16.10:443, a server block per mta-sts.D name,
            certificates from a test CA made here with openssl
  Postfix   one private instance, smtpd on 127.0.16.25-29,31:25 with a
            valid, expired, wrong-name, self-signed, soon-expiring
            certificate or no STARTTLS
  a socket  on 127.0.16.30:25 that accepts and never answers
then runs `tlsrpt-report check --resolver 127.0.16.53 --ca-file CA` and
checks each pitfall's code, status and fix, the healthy domain all ok, the
exit statuses, the stored history (a policy edited without a new id), and
a database of reports that disagrees with the live policy.

Root only (ports 25, 443, 53); exits 77 (skipped) otherwise.
Usage: run.py --report PATH --ingest PATH
"""

import argparse
import base64
import datetime
import hashlib
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

NET = "127.0.16."
DNS_IP = NET + "53"
WEB_IP = NET + "10"
ZONE = "check.test"
MX = {  # host -> (address, certificate kind)
    "mx-good": (NET + "25", "good"),
    "mx-alt": (NET + "25", "good"),
    "mx-tlsabad": (NET + "25", "good"),
    "mx-expired": (NET + "26", "expired"),
    "mx-wrongname": (NET + "27", "wrongname"),
    "mx-self": (NET + "28", "self"),
    "mx-plain": (NET + "29", None),
    "mx-hang": (NET + "30", None),
    "mx-soon": (NET + "31", "soon"),
}
# The MX names each certificate kind carries.
CERT_NAMES = {"good": ["mx-good", "mx-alt", "mx-tlsabad"], "expired": ["mx-expired"],
              "wrongname": ["mx-somewhere-else"], "self": ["mx-self"], "soon": ["mx-soon"]}
POLICY = "version: STSv1\nmode: enforce\nmx: {mx}\nmax_age: 604800\n"
FAILURES = []


def fqdn(label):
    return "%s.%s" % (label, ZONE)


# One domain per pitfall: label -> settings.
#   mx: MX labels; policy: text (None: the healthy one with the first MX);
#   web: "ok", "404", "500", "redirect", "html"; sts: list of TXT strings
DOMAINS = {
    "healthy": {},
    "notfound": {"web": "404"},
    "err500": {"web": "500"},
    "redirect": {"web": "redirect"},
    "html": {"web": "html"},
    "norecord": {"sts": []},
    "tworecords": {"sts": ["v=STSv1; id=2026120101;", "v=STSv1; id=2026120102;"]},
    "badid": {"sts": ["v=STSv1; id=2026-12-01;"]},
    "tesing": {"policy": "version: STSv1\nmode: tesing\nmx: mx-good.check.test\nmax_age: 604800\n"},
    "maxage": {"policy": "version: STSv1\nmode: enforce\nmx: mx-good.check.test\nmax_age: 40000000\n"},
    "testing": {"policy": "version: STSv1\r\nmode: testing\r\nmx: mx-good.check.test\r\nmax_age: 86400\r\n"},
    "mxmissing": {"mx": ["mx-good", "mx-alt"]},
    "stale": {"policy": POLICY.format(mx="mx-good.check.test") + "mx: *.old.check.test\n"},
    "nostarttls": {"mx": ["mx-plain"]},
    "expired": {"mx": ["mx-expired"]},
    "wrongname": {"mx": ["mx-wrongname"]},
    "selfsigned": {"mx": ["mx-self"]},
    "hang": {"mx": ["mx-hang"]},
    "soon": {"mx": ["mx-soon"]},
    "tlsabad": {"mx": ["mx-tlsabad"]},
    "reported": {},
}


def log(msg):
    print(msg, flush=True)


def check(cond, what):
    if cond:
        log("ok   " + what)
    else:
        log("FAIL " + what)
        FAILURES.append(what)


def run(cmd, **kw):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)
    if p.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(cmd), p.returncode, p.stderr.decode(errors="replace")))
    return p


def wait_listen(addr, port, proto="tcp", timeout=15):
    end = time.time() + timeout
    flag = "-ltnH" if proto == "tcp" else "-lunH"
    while time.time() < end:
        out = subprocess.run(["ss", flag, "src", "%s:%d" % (addr, port)], stdout=subprocess.PIPE,
                             text=True).stdout
        if out.strip():
            return
        time.sleep(0.1)
    raise RuntimeError("nothing listens on %s:%d/%s" % (addr, port, proto))


class Pki:
    """A test CA and the certificates the servers present."""

    def __init__(self, root):
        self.d = os.path.join(root, "pki")
        os.makedirs(os.path.join(self.d, "new"))
        open(os.path.join(self.d, "index.txt"), "w").close()
        with open(os.path.join(self.d, "serial"), "w") as f:
            f.write("1000\n")
        self.cnf = os.path.join(self.d, "ca.cnf")
        with open(self.cnf, "w") as f:
            f.write("[ca]\ndefault_ca = c\n[c]\ndatabase = %s/index.txt\nnew_certs_dir = %s/new\n"
                    "serial = %s/serial\ndefault_md = sha256\npolicy = p\nunique_subject = no\n"
                    "[p]\ncommonName = supplied\n" % (self.d, self.d, self.d))
        self.ca = os.path.join(self.d, "ca.pem")
        self.cakey = os.path.join(self.d, "ca.key")
        run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", self.cakey, "-out", self.ca, "-days", "30", "-subj", "/CN=tlsrpt check test CA"])

    def leaf(self, name, dns_names, start, end, self_signed=False):
        key, crt = os.path.join(self.d, name + ".key"), os.path.join(self.d, name + ".pem")
        san = ",".join("DNS:" + n for n in dns_names)
        if self_signed:
            run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-keyout", key, "-out", crt, "-days", "30", "-subj", "/CN=" + dns_names[0],
                 "-addext", "subjectAltName=" + san])
            return key, crt
        csr, ext = os.path.join(self.d, name + ".csr"), os.path.join(self.d, name + ".ext")
        run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", key, "-out", csr, "-subj", "/CN=" + dns_names[0]])
        with open(ext, "w") as f:
            f.write("subjectAltName = %s\nbasicConstraints = CA:FALSE\n" % san)
        fmt = "%Y%m%d%H%M%SZ"
        run(["openssl", "ca", "-batch", "-notext", "-config", self.cnf, "-cert", self.ca, "-keyfile", self.cakey,
             "-in", csr, "-out", crt, "-extfile", ext, "-startdate", start.strftime(fmt),
             "-enddate", end.strftime(fmt)])
        return key, crt


def spki_sha256(crt):
    pub = run(["openssl", "x509", "-in", crt, "-noout", "-pubkey"]).stdout
    der = run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pub).stdout
    return hashlib.sha256(der).hexdigest()


class Servers:
    def __init__(self, root):
        self.root = root
        self.procs = []
        self.postfix_etc = None
        self.hang_sock = None

    # -- DNS --
    def start_unbound(self, records):
        conf = os.path.join(self.root, "unbound.conf")
        with open(conf, "w") as f:
            f.write('server:\n  interface: %s\n  port: 53\n  do-daemonize: no\n  chroot: ""\n  username: ""\n'
                    '  directory: "%s"\n  pidfile: "%s/unbound.pid"\n  use-syslog: no\n  logfile: ""\n'
                    '  verbosity: 0\n  do-ip6: no\n  access-control: 127.0.0.0/8 allow\n'
                    '  module-config: "iterator"\n  local-zone: "%s." static\n'
                    % (DNS_IP, self.root, self.root, ZONE))
            for r in records:
                f.write("  local-data: '%s'\n" % r)     # single quotes: TXT data has "
            f.write("remote-control:\n  control-enable: no\n")
        run(["unbound-checkconf", conf])
        self.procs.append(subprocess.Popen(["unbound", "-d", "-c", conf], stdout=open(conf + ".log", "w"),
                                           stderr=subprocess.STDOUT))
        wait_listen(DNS_IP, 53, "udp")

    # -- HTTPS --
    def start_nginx(self, crt, key):
        www = os.path.join(self.root, "www")
        blocks = []
        for label, s in DOMAINS.items():
            d = os.path.join(www, label)
            os.makedirs(os.path.join(d, ".well-known"))
            web = s.get("web", "ok")
            text = s.get("policy") or POLICY.format(mx=fqdn(s.get("mx", ["mx-good"])[0]))
            # 404: the file is there, but under the wrong name and path.
            path = os.path.join(d, "mta-sts.txt" if web == "404" else ".well-known/mta-sts.txt")
            with open(path, "w", newline="") as f:
                f.write(text)
            extra = {"500": "location / { return 500; }",
                     "redirect": "location / { return 301 https://www.check.test/mta-sts.txt; }",
                     "html": "default_type text/html;"}.get(web, "")
            blocks.append("server { listen %s:443 ssl; server_name mta-sts.%s; root %s; %s }"
                          % (WEB_IP, fqdn(label), d, extra))
        conf = os.path.join(self.root, "nginx.conf")
        t = self.root
        with open(conf, "w") as f:
            f.write("worker_processes 1; pid %s/nginx.pid; error_log %s/nginx-error.log;\n"
                    "events { worker_connections 64; }\n"
                    "http { access_log %s/nginx-access.log; default_type text/plain; types { }\n"
                    "client_body_temp_path %s/nb; proxy_temp_path %s/np; fastcgi_temp_path %s/nf;\n"
                    "uwsgi_temp_path %s/nu; scgi_temp_path %s/ns;\n"
                    "ssl_certificate %s; ssl_certificate_key %s;\n%s\n}\n"
                    % (t, t, t, t, t, t, t, t, crt, key, "\n".join(blocks)))
        run(["nginx", "-t", "-c", conf, "-p", self.root])
        self.procs.append(subprocess.Popen(["nginx", "-c", conf, "-p", self.root, "-g", "daemon off;"],
                                           stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT))
        wait_listen(WEB_IP, 443)
        return www

    # -- SMTP --
    def start_postfix(self, certs):
        root = os.path.join(self.root, "pf")
        pf = pwd.getpwnam("postfix")
        for d in ("etc", "spool", "data"):
            os.makedirs(os.path.join(root, d), 0o755)
        os.chown(os.path.join(root, "data"), pf.pw_uid, pf.pw_gid)
        with open(os.path.join(root, "maillog"), "a"):
            pass
        os.chown(os.path.join(root, "maillog"), pf.pw_uid, pf.pw_gid)
        good_key, good_crt = certs["good"]
        with open(os.path.join(root, "etc", "main.cf"), "w") as f:
            f.write("compatibility_level = 3.6\nqueue_directory = {r}/spool\ndata_directory = {r}/data\n"
                    "maillog_file = {r}/maillog\nmaillog_file_prefixes = {r}\nmyhostname = mx-good.check.test\n"
                    "mydestination =\n# only for services without an address; each smtpd names its own\ninet_interfaces = {ip}\ninet_protocols = ipv4\nmynetworks = 127.0.0.0/8\n"
                    "smtpd_peername_lookup = no\nsmtp_dns_support_level = disabled\nalias_maps =\n"
                    "alias_database =\nlocal_recipient_maps =\ndefault_transport = discard:test\n"
                    "smtpd_tls_security_level = may\nsmtpd_tls_cert_file = {c}\nsmtpd_tls_key_file = {k}\n"
                    "smtpd_client_connection_rate_limit = 0\nsmtpd_error_sleep_time = 0\n"
                    .format(r=root, ip="127.0.0.1", c=good_crt, k=good_key))
        lines = []
        for host, (addr, kind) in MX.items():
            if host in ("mx-alt", "mx-tlsabad", "mx-hang"):
                continue
            opts = ["myhostname=" + fqdn(host)]
            if kind is None:
                opts.append("smtpd_tls_security_level=none")
            else:
                key, crt = certs[kind]
                opts += ["smtpd_tls_cert_file=" + crt, "smtpd_tls_key_file=" + key]
            lines.append("%s:25 inet n - n - - smtpd %s" % (addr, " ".join("-o " + o for o in opts)))
        services = """pickup unix n - n 60 1 pickup
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
showq unix n - n - - showq
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
tlsmgr unix - - n 1000? 1 tlsmgr
"""
        with open(os.path.join(root, "etc", "master.cf"), "w") as f:
            f.write("\n".join(lines) + "\n" + services)
        self.postfix_etc = os.path.join(root, "etc")
        self.postfix_root = root
        run(["postfix", "-c", self.postfix_etc, "check"])
        run(["postfix", "-c", self.postfix_etc, "start"])
        for host, (addr, kind) in MX.items():
            if host not in ("mx-alt", "mx-tlsabad", "mx-hang"):
                wait_listen(addr, 25)

    def start_hang(self):
        """Accepts on 127.0.16.30:25 and never answers (the timeout case)."""
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((MX["mx-hang"][0], 25))
        s.listen(8)
        self.hang_sock = s
        self.hang_conns = []

        def loop():
            while True:
                try:
                    c, _ = s.accept()
                except OSError:
                    return
                self.hang_conns.append(c)
        threading.Thread(target=loop, daemon=True).start()

    def stop(self):
        if self.postfix_etc:
            pidf = os.path.join(self.postfix_root, "spool", "pid", "master.pid")
            pid = None
            try:
                pid = int(open(pidf).read().strip())
            except (OSError, ValueError):
                pass
            subprocess.run(["postfix", "-c", self.postfix_etc, "stop"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            end = time.time() + 10
            while pid and time.time() < end:
                try:
                    os.kill(pid, 0)
                except OSError:
                    break
                time.sleep(0.1)
            else:
                if pid:
                    subprocess.run(["postfix", "-c", self.postfix_etc, "abort"], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if self.hang_sock:
            self.hang_sock.close()
            for c in self.hang_conns:
                c.close()


def zone_records(tlsa_good):
    recs = ["%s. A %s" % (fqdn(h), a) for h, (a, _) in MX.items()]
    recs.append("www.%s. A %s" % (ZONE, WEB_IP))
    recs.append("_25._tcp.%s. TLSA 3 1 1 %s" % (fqdn("mx-good"), tlsa_good))
    recs.append("_25._tcp.%s. TLSA 3 1 1 %s" % (fqdn("mx-tlsabad"), "00" * 32))
    for label, s in DOMAINS.items():
        d = fqdn(label)
        recs.append("mta-sts.%s. A %s" % (d, WEB_IP))
        for i, m in enumerate(s.get("mx", ["mx-good"])):
            recs.append("%s. MX %d %s." % (d, 10 * (i + 1), fqdn(m)))
        for t in s.get("sts", ["v=STSv1; id=2026120301;"]):
            recs.append('_mta-sts.%s. TXT "%s"' % (d, t))
        recs.append('_smtp._tls.%s. TXT "v=TLSRPTv1; rua=mailto:tlsrpt@%s"' % (d, d))
    return recs


def reports(tmp):
    """Reports for reported.check.test that disagree with the live policy."""
    day = (datetime.datetime.utcnow() - datetime.timedelta(days=2)).strftime("%Y-%m-%d")
    dom = fqdn("reported")
    doc = {
        "organization-name": "Google Inc.",
        "date-range": {"start-datetime": day + "T00:00:00Z", "end-datetime": day + "T23:59:59Z"},
        "contact-info": "smtp-tls-reporting@google.com",
        "report-id": day + "_" + dom,
        "policies": [
            {"policy": {"policy-type": "sts", "policy-domain": dom,
                        "policy-string": ["version: STSv1", "mode: testing", "mx: *.old.check.test",
                                          "max_age: 86400"],
                        "mx-host": ["*.old.check.test"]},
             "summary": {"total-successful-session-count": 10, "total-failure-session-count": 7},
             "failure-details": [
                 {"result-type": "certificate-expired", "receiving-mx-hostname": fqdn("mx-good"),
                  "sending-mta-ip": "192.0.2.1", "failed-session-count": 3},
                 {"result-type": "starttls-not-supported", "receiving-mx-hostname": fqdn("mx-gone"),
                  "sending-mta-ip": "192.0.2.1", "failed-session-count": 2},
                 {"result-type": "sts-policy-fetch-error", "sending-mta-ip": "192.0.2.1",
                  "failure-reason-code": "bad https response code: 404", "failed-session-count": 2}]},
            {"policy": {"policy-type": "no-policy-found", "policy-domain": dom},
             "summary": {"total-successful-session-count": 4, "total-failure-session-count": 0}}],
    }
    path = os.path.join(tmp, "report.json")
    with open(path, "w") as f:
        json.dump(doc, f)
    return path


def results(doc, label):
    for d in doc["domains"]:
        if d["domain"] == fqdn(label):
            return d["checks"]
    return None


def find(checks, code, status=None, subject=None):
    return [c for c in checks or [] if c["check"] == code and (status is None or c["status"] == status)
            and (subject is None or c.get("subject") == subject)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--report", required=True)
    ap.add_argument("--ingest", required=True)
    a = ap.parse_args()
    if os.geteuid() != 0:
        log("skipped: needs root (ports 25, 53, 443)")
        return 77
    for prog in ("unbound", "nginx", "postfix", "openssl"):
        if shutil.which(prog) is None and not os.path.exists("/usr/sbin/" + prog):
            log("%s not installed (tests/install-deps.sh installs it)" % prog)
            return 1
    tmp = tempfile.mkdtemp(prefix="tlsrpt-check-")
    os.chmod(tmp, 0o755)
    srv = Servers(tmp)
    t0 = time.time()
    finished = False
    try:
        pki = Pki(tmp)
        now = datetime.datetime.utcnow()
        day = datetime.timedelta(days=1)
        certs = {
            "good": pki.leaf("good", [fqdn(n) for n in CERT_NAMES["good"]], now - day, now + 365 * day),
            "expired": pki.leaf("expired", [fqdn("mx-expired")], now - 60 * day, now - 5 * day),
            "wrongname": pki.leaf("wrongname", [fqdn("mx-somewhere-else")], now - day, now + 365 * day),
            "self": pki.leaf("self", [fqdn("mx-self")], None, None, self_signed=True),
            "soon": pki.leaf("soon", [fqdn("mx-soon")], now - day, now + 10 * day),
        }
        web = pki.leaf("web", ["mta-sts." + fqdn(l) for l in DOMAINS], now - day, now + 365 * day)
        for k, c in list(certs.items()) + [("web", web)]:
            os.chmod(c[0], 0o644)
        srv.start_unbound(zone_records(spki_sha256(certs["good"][1])))
        www = srv.start_nginx(web[1], web[0])
        srv.start_postfix(certs)
        srv.start_hang()
        log("servers up in %.1f s" % (time.time() - t0))

        db = os.path.join(tmp, "tlsrpt.db")
        run([a.ingest, "--db", db, reports(tmp)])
        base = [a.report, "check", "--db", db, "--resolver", DNS_IP, "--ca-file", pki.ca]

        def check_run(args, timeout=120):
            t = time.time()
            p = subprocess.run(base + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               timeout=timeout)
            log("  (%s: exit %d in %.1f s)" % (" ".join(args[-3:]), p.returncode, time.time() - t))
            if p.stderr:
                log(p.stderr.rstrip())
            return p

        # Everything at once, JSON; --timeout 3 bounds the hanging MX.
        p = check_run(["--timeout", "3", "--format", "json"] + [fqdn(l) for l in DOMAINS])
        doc = json.loads(p.stdout)
        check(p.returncode == 2, "all domains: exit 2 (a failure)")
        check(set(doc) >= {"domains"} and all(set(c) >= {"check", "status", "detail", "fix"}
                                               for d in doc["domains"] for c in d["checks"]),
              "JSON has domains[].checks[] with check, status, detail, fix")
        check(all((c["fix"] is None) == (c["status"] == "ok") for d in doc["domains"] for c in d["checks"]),
              "a fix for every warn and fail, none for ok")

        h = results(doc, "healthy")
        check(h and all(c["status"] == "ok" for c in h), "healthy: every result ok")
        for code in ("sts-record", "sts-record-id", "tlsrpt-record", "tlsrpt-rua", "mx-records", "mx-address",
                     "policy-fetch", "policy-webpki", "policy-content-type", "policy-syntax", "policy-mode",
                     "policy-max-age", "policy-mx-missing", "mx-starttls", "mx-tls", "mx-cert-chain",
                     "mx-cert-name", "mx-cert-expiry", "mx-tlsa"):
            check(find(h, code, "ok"), "healthy: %s ok" % code)

        def expect(label, code, status, word=None, subject=None):
            hits = find(results(doc, label), code, status, subject)
            ok = bool(hits) and (word is None or any(word in c["detail"] for c in hits))
            ok = ok and all(c["fix"] for c in hits if status != "ok")
            check(ok, "%s: %s %s%s" % (label, code, status, " ('%s')" % word if word else ""))
            if not ok:
                log("    got: " + json.dumps(results(doc, label), indent=1)[:3000])

        expect("notfound", "policy-fetch", "fail", "HTTP 404")
        expect("err500", "policy-fetch", "fail", "HTTP 500")
        expect("redirect", "policy-fetch", "fail", "redirect")
        expect("html", "policy-content-type", "fail", "text/html")
        expect("norecord", "sts-record", "fail", "no v=STSv1")
        expect("tworecords", "sts-record", "fail", "2 v=STSv1")
        expect("badid", "sts-record-id", "fail", "2026-12-01")
        expect("tesing", "policy-mode", "fail", "tesing")
        expect("maxage", "policy-max-age", "fail", "40000000")
        expect("testing", "policy-mode", "warn", "testing")
        expect("testing", "policy-max-age", "warn", "under a week")
        expect("testing", "policy-syntax", "ok", "CRLF")
        expect("mxmissing", "policy-mx-missing", "fail", "mx-alt", fqdn("mx-alt"))
        expect("mxmissing", "policy-mx-missing", "ok", None, fqdn("mx-good"))
        expect("stale", "policy-mx-stale", "warn", "*.old.check.test")
        expect("nostarttls", "mx-starttls", "fail", "does not offer STARTTLS")
        expect("expired", "mx-cert-expiry", "fail", "expired")
        expect("expired", "mx-cert-chain", "ok")
        expect("wrongname", "mx-cert-name", "fail", "does not name")
        expect("wrongname", "mx-cert-chain", "ok")
        expect("selfsigned", "mx-cert-chain", "fail", "self")
        expect("hang", "mx-banner", "fail", "no greeting within 3 s")
        expect("soon", "mx-cert-expiry", "warn", "expires in")
        expect("tlsabad", "mx-tlsa", "fail", "none matches")
        for label in DOMAINS:
            if label not in ("healthy", "reported", "soon", "testing", "stale"):
                check(any(c["status"] == "fail" for c in results(doc, label)), "%s: has a failure" % label)

        # Next to the reports.
        r = results(doc, "reported")
        expect("reported", "reports-policy-strings", "warn", "mode testing")
        check(any("Google Inc." in c["detail"] and "mx-good.check.test" in c["detail"]
                  for c in find(r, "reports-policy-strings")), "reported: who saw what, and the live mx")
        expect("reported", "reports-mx-failures", "ok", "fixed now", fqdn("mx-good"))
        check(any("valid until" in c["detail"] for c in find(r, "reports-mx-failures", subject=fqdn("mx-good"))),
              "reported: certificate-expired set against the certificate's date now")
        expect("reported", "reports-mx-failures", "ok", "no longer an MX", fqdn("mx-gone"))
        expect("reported", "reports-policy-fetch", "ok", "fetches and parses fine now")
        expect("reported", "reports-no-policy", "ok", "fetches fine now")

        # Exit statuses, and the stored history.
        p = check_run([fqdn("healthy")])
        check(p.returncode == 0, "healthy alone: exit 0")
        check("mx-cert-expiry" in p.stdout and "fix:" not in p.stdout, "table output, no fix for ok")
        p = check_run([fqdn("soon")])
        check(p.returncode == 1, "soon-expiring certificate alone: exit 1")
        check("fix: Renew" in p.stdout, "table output shows the fix")
        # The policy edited, the id not changed.
        with open(os.path.join(www, "healthy", ".well-known", "mta-sts.txt"), "a") as f:
            f.write("mx: mx-new.check.test\n")
        p = check_run(["--format", "json", fqdn("healthy")])
        doc = json.loads(p.stdout)
        expect("healthy", "policy-id-unchanged", "fail", "2026120301")
        expect("healthy", "check-history", "ok", "2026120301 ok")
        check(p.returncode == 2, "policy edited without a new id: exit 2")
        rows = run(["sqlite3", db, "SELECT count(*) FROM check_run WHERE domain = 'healthy.check.test'"]).stdout
        check(rows.strip() == b"3", "each run stored (3 for healthy)")

        # Without DOMAIN: the policy domains with reports in the last 30 days.
        p = check_run(["--format", "json"])
        doc = json.loads(p.stdout)
        log(check_run([fqdn("reported")]).stdout)      # the table, for the log
        check([d["domain"] for d in doc["domains"]] == [fqdn("reported")], "no DOMAIN: the reported domain")

        p = check_run(["--timeout", "0", "x.check.test"])
        check(p.returncode == 3, "bad --timeout: exit 3 (usage)")
        p = check_run(["not a domain"])
        check(p.returncode == 3, "bad domain: exit 3 (usage)")
        p = subprocess.run([a.report, "check", "--db", db, "--resolver", NET + "54", "--timeout", "1",
                            fqdn("healthy")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=60)
        check(p.returncode == 4, "resolver that never answers: exit 4 (got %d)" % p.returncode)
        finished = True
    finally:
        srv.stop()
        if FAILURES or not finished:
            log("kept for inspection: " + tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    log("%d failure(s), %.1f s" % (len(FAILURES), time.time() - t0))
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
