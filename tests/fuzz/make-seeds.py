#!/usr/bin/env python3
"""Writes the seed inputs of every fuzz target into corpus/NAME/seed-*.

Seeds come from samples/ (and the JSON and gzip parts extracted from its
messages) plus a few hand-made edge cases.  Run again after samples/
changes; files the fuzzers found (crash-*, and any others kept) are left
alone.  usage: make-seeds.py [REPO-ROOT]"""
import email, email.policy, gzip, io, os, struct, sys, zipfile, zlib

here = os.path.dirname(os.path.abspath(__file__))
root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "..")
samples = os.path.join(root, "samples")
corpus = os.path.join(here, "corpus")

def put(target, name, data):
    d = os.path.join(corpus, target)
    os.makedirs(d, exist_ok=True)
    safe = "".join(c if c.isalnum() or c in "-._" else "_" for c in name)
    with open(os.path.join(d, "seed-" + safe), "wb") as f:
        f.write(data)

jsons, emls = {}, {}
for n in sorted(os.listdir(samples)):
    p = os.path.join(samples, n)
    with open(p, "rb") as f:
        b = f.read()
    if n.endswith(".json"):
        jsons[n] = b
    elif n.endswith(".eml"):
        emls[n] = b

# Parts of the sample messages, as sent (compressed) and inflated.
parts = {}
for n, b in emls.items():
    msg = email.message_from_bytes(b, policy=email.policy.compat32)
    for i, part in enumerate(msg.walk()):
        if part.is_multipart():
            continue
        data = part.get_payload(decode=True) or b""
        ct = part.get_content_type()
        if ct.startswith("text/"):
            continue
        parts["%s.%d" % (n, i)] = data

for n, b in jsons.items():
    put("parse", n, b)
    put("ingest", n, b)
    put("gunzip", n + ".gz", gzip.compress(b, 9, mtime=0))
    put("ingest", n + ".gz", gzip.compress(b, 9, mtime=0))
for n, b in emls.items():
    put("mime", n, b)
    put("ingest", n, b)
    put("mime", n + ".lf", b.replace(b"\r\n", b"\n"))
for n, b in parts.items():
    put("gunzip", n, b)
    if b[:2] == b"\x1f\x8b":
        b = gzip.decompress(b)
    elif b[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(b)) as z:
            b = z.read(z.namelist()[0])
    put("parse", n + ".json", b)

# Hints: "REPORT-DOMAIN\nFILENAME\0JSON" (see fuzz_parse.c).
nodomain = jsons.get("google-no-policy-found-compact.json", b"{}")
put("parse", "hint-filename", b"\nsender.example!example.org!1793923200!1794009599!id.json.gz\0" + nodomain)
put("parse", "hint-domain", b"example.net\n\0" + nodomain)
put("parse", "edge-deep", b"[" * 40 + b"]" * 40)
put("parse", "edge-dates", b'{"organization-name":"o","report-id":"r","date-range":{"start-datetime":'
    b'"9999-12-31T00:00:00Z","end-datetime":"9999-12-31T23:59:59Z"},"policies":[{"policy":'
    b'{"policy-type":"sts","policy-domain":"d"},"summary":{"total-successful-session-count":1,'
    b'"total-failure-session-count":0}}]}')
put("parse", "edge-1970", b'{"organization-name":"o","report-id":"r","date-range":{"start-datetime":'
    b'"1970-01-01T00:00:00Z","end-datetime":"1970-01-01T23:59:59+01:00"},"policies":[{"policy":'
    b'{"policy-type":"tlsa","policy-domain":"d","policy-string":["[\\"3 1 1 ab\\"]"]},"summary":'
    b'{"total-successful-session-count":9223372036854775807,"total-failure-session-count":-1.5}}]}')

# The fast JSON reader against jansson (fuzz_jsonfast.c): the samples
# and edge cases on both sides of what it decides itself.
for n, b in jsons.items():
    put("jsonfast", n, b)
for name, b in [
        ("deep-at-limit", b"[" * 2048 + b"]" * 2048),
        ("deep-past-limit", b"[" * 2049 + b"]" * 2049),
        ("deep-objects", b'{"a":' * 300 + b"1" + b"}" * 300),
        ("ints", b"[0,-0,1,-1,123456789012345678,-123456789012345678,1234567890123456789,"
                 b"9223372036854775807,-9223372036854775808,9223372036854775808,"
                 b"99999999999999999999999999999]"),
        ("reals", b"[1.5,-0.0,1e3,1E-3,1e400,-1e-400,0.1e1,01,-01,1.,.5,-]"),
        ("escapes", b'{"e":"\\\"\/\b\f\n\r\t","u":"\u00e9\u20ac\uFFFF\u0001\u001f"}'),
        ("surrogates", b'["\ud83d\ude00","\uD800\uDC00","\udbff\udfff"]'),
        ("lone-surrogates", b'["\ud800","\udc00","\ud800\u0041","\ud800x","\udc00\ud800"]'),
        ("nul-escape", b'{"a\u0000b":"\u0000"}'),
        ("nul-raw", b'{"a":"b\x00c"}'),
        ("duplicate-keys", b'{"a":1,"b":{"c":1,"c":2},"a":3}'),
        ("duplicate-escaped-key", b'{"\u0061":1,"a":2}'),
        ("bom", b"\xef\xbb\xbf{}"),
        ("trailing-garbage", b'{"a":[1,2]} x'),
        ("two-values", b"{}{}"),
        ("whitespace", b' \t\r\n{ "a" : [ 1 , true ,\tfalse\r,\nnull ] }\n'),
        ("odd-whitespace", b'{\x0b\x0c"a":1}'),
        ("utf8", "{\"h\u00e9\":\"\u20ac \U0001f600\"}".encode("utf-8")),
        ("bad-utf8", b'{"a":"\xc3\x28","\xed\xa0\x80":"\xf4\x90\x80\x80"}'),
        ("overlong-utf8", b'["\xc0\xaf","\xe0\x80\xaf"]'),
        ("literals", b"[true,false,null,tru,nul]"),
        ("empty", b""),
        ("scalar", b'"s"'),
        ]:
    put("jsonfast", "edge-" + name, b)

# gzip/zip/zlib edge cases.
inner = jsons.get("google-sts-certificate-expired.json", b"{}")
put("gunzip", "gzip-of-gzip", gzip.compress(gzip.compress(inner, mtime=0), mtime=0))
put("gunzip", "two-members", gzip.compress(b"{", mtime=0) + gzip.compress(b"}", mtime=0))
put("gunzip", "truncated", gzip.compress(inner, mtime=0)[:-9])
put("gunzip", "small-bomb", gzip.compress(b"\0" * (2 << 20), 9, mtime=0))
put("gunzip", "zlib", zlib.compress(inner))
for method in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
    bio = io.BytesIO()
    with zipfile.ZipFile(bio, "w", method) as z:
        z.writestr("report.json", inner)
    put("gunzip", "zip-%d" % method, bio.getvalue())
    put("ingest", "zip-%d" % method, bio.getvalue())

# IMAP answers (fuzz_imap.c): byte 0 chunk seed and STATUS bit, lo, hi
# (big-endian), max, line cap, then what the server sends.
def imap(flags, lo, hi, mx, cap, answer):
    return bytes([flags]) + struct.pack(">II", lo, hi) + bytes([mx, cap]) + answer
put("imap", "status", imap(1, 0, 0, 0, 0, b"* STATUS INBOX (UIDVALIDITY 1700000000 UIDNEXT 42)\r\n"
    b"A003 OK [CLOSED] Status completed (0.001 + 0.000 secs).\r\n"))
put("imap", "status-huge", imap(3, 0, 0, 0, 0, b'* STATUS "a (b" (UIDNEXT 99999999999999999999999 '
    b"UIDVALIDITY 4294967296)\r\n* OK [ALERT] x\r\nA1 NO [TRYCREATE] Mailbox doesn't exist\r\nA2 OK bye\r\n"))
put("imap", "listing", imap(4, 1, 32, 64, 64, b"* 1 FETCH (UID 5 RFC822.SIZE 1234 FLAGS (\\Seen))\r\n"
    b"* 2 FETCH (UID 7 RFC822.SIZE 99 FLAGS ())\r\n* 3 FETCH (FLAGS (\\Deleted \\seen) UID 9)\r\n"
    b"* 4 FETCH (UID 40 RFC822.SIZE 1 FLAGS (\\Seen))\r\n* 9 EXISTS\r\nA004 OK Fetch completed.\r\n"))
put("imap", "listing-max", imap(6, 0, 0xFFFFFFFF, 2, 0, b"".join(
    b"* %d FETCH (UID %d RFC822.SIZE %d FLAGS (\\Recent))\r\n" % (i, i * 7, 18446744073709551615 + i)
    for i in range(1, 6)) + b"A5 OK done\r\n"))
put("imap", "listing-cap", imap(8, 1, 100, 100, 3, b"".join(
    b"* %d FETCH (UID %d RFC822.SIZE 10 FLAGS ())\n" % (i, i) for i in range(1, 6))))
put("imap", "long-line", imap(10, 1, 9, 9, 0, b"* 1 FETCH (UID 1 RFC822.SIZE 5 FLAGS (" + b"x" * 17000
    + b"))\r\n* 2 FETCH (UID 2 RFC822.SIZE 6 FLAGS (\\Seen))\r\n* STATUS x (UIDVALIDITY 7)\r\n"))

# MTA-STS policy text (fuzz_stspol.c): files as --check fetches them and
# policy strings from reports joined with LF.
put("stspol", "enforce", b"version: STSv1\r\nmode: enforce\r\nmx: mx1.example.com\r\n"
    b"mx: *.mail.example.com\r\nmax_age: 604800\r\n")
put("stspol", "report-strings", b"version: STSv1\nmode: testing\nmx: MX.Example.NET.\nmax_age: 86400")
put("stspol", "none", b"version: STSv1\nmode: none\nmax_age: 0\n")
put("stspol", "bad", b"version: STSv2\r\nmode: enforce\nmode: x\nmax_age: 99999999999\nmx: -a.b\n"
    b"mx: *.\nmx: *\nmx: a..b\nfoo: bar\nnocolon\n  \t \nmx: a\rb\n" + b"mx: " + b"a" * 64 + b".c\n")
put("stspol", "many-mx", b"version: STSv1\nmode: enforce\nmax_age: 1\n" + b"".join(
    b"mx: *.m%d.example\n" % i for i in range(70)))

# The milter configuration.
conf_path = os.path.join(root, "milter", "tlsrpt-milter.conf")
if os.path.exists(conf_path):
    with open(conf_path, "rb") as f:
        put("mconf", "example.conf", f.read())
put("mconf", "minimal", b"RuaAddress tlsrpt@example.com\n")
put("mconf", "full", b"Socket inet:8895@127.0.0.1\nRuaAddress TLSRPT@Example.COM., rua+x@b.example\n"
    b"RuaAddress c@d.example\nAction accept\nSpoolDir /tmp/s\nDatabase /tmp/d.db\n"
    b"TrustedAuthservIDs mx.example.net, mx2.example.net\nRequireDKIM yes\n"
    b"SyslogFacility local0\nLogLevel debug # comment\nMaxMessageSize 1K\nMaxInflatedSize 2M\n"
    b"MaxJsonDepth 8\nMaxPolicies 3\nMaxFailureDetails 5\nMaxStringLength 100\nMaxMimeParts 9\n"
    b"DrainInterval 5\nDrainRetryMax 60\nShutdownTimeout 1\nUserID nobody:nogroup\nPidFile /tmp/p\n")
put("mconf", "errors", b"# comment\n\nUnknownKey 1\n")
put("mconf", "twice", b"RuaAddress a@b\nAction accept\nAction discard\n")
put("mconf", "long-line", b"RuaAddress " + b"a" * 5000 + b"@b\n")

# --since/--until: flags, 8 bytes of now, the string, NUL, argv.
now = struct.pack(">Q", 1773576000)  # 2026-03-15T12:00:00Z
for i, s in enumerate([b"now", b"today", b"yesterday", b"monday", b"Sunday", b"7d", b"2w", b"3m",
                       b"2026-02-28", b"2026-02-31", b"2026-03-15T10:00", b"2026-03-15 10:00:00Z",
                       b"2026-03-15T10:00:00.123+02:00", b"9999-12-31", b"1970-01-01", b"5",
                       b"100000m"]):
    put("since", "time-%02d" % i, b"\0" + now + s)
put("since", "argv", b"\1" + now + b"today\0summary\0--since\0" b"7d\0--until\0today\0--by\0org,domain"
    b"\0--format\0csv\0--domain\0example.org\0--limit\0" b"10")
put("since", "argv-bad", b"\1" + now + b"x\0--since\0tomorrow\0-hV\0--by\0org,org")
