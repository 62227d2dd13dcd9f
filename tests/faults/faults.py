#!/usr/bin/env python3
"""Fault tests of tlsrpt-ingest: what happens when the database fails under
it, when it is killed, and at every named limit.  One CASE per CTest:

  disk-full    the database's filesystem fills up (a 1 MiB tmpfs when one
               can be mounted, and always RLIMIT_FSIZE with SIGXFSZ at its default)
  read-only    the database file cannot be written (chattr +i, or the
               program run as nobody; chmod when not root)
  locked       another writer holds BEGIN EXCLUSIVE past the 5 s busy timeout
               (and, as a control, for less than it)
  deleted      the database file is unlinked while an import runs
  corrupt      garbage header, truncated file, a garbage page
  kill9        >= 50 kill -9 at random (seeded) points of large imports
  limits       every named limit at limit-1, limit, limit+1
  dates        years 9999 and 1970, a range that ends before it starts
  utf8         invalid UTF-8 and NUL in every string field (and a key)
  hostile      HTML, <script>, quotes, CSV formulas, ANSI escapes, newlines
               in org names, domains, reason codes and file names
  refused      the database refuses some reports' rows (a trigger of its own):
               those are quarantined as db-refused, the rest stored; via
               files, --jobs 2 and a spool (an entry refused even as a
               quarantine row moves to failed/ and blocks nothing)
  attachnames  attachment file names that are paths (../../etc/passwd,
               /etc/passwd, a/b, backslashes), with NUL (raw and RFC 2231
               %00), control characters, encoded-words, 5000 bytes: stored,
               attachment_name inert (a base name without controls, at most
               255 bytes), no file created or changed outside the database
               (the working directory an empty temp dir), via files and via
               a spool drained with --spool (the milter's path)

A database fault must give exit status 3 and a clear message on stderr,
leave the source files untouched, and a rerun after the fault is removed
must store every report exactly once (whole: all its policies and failure
details).  Hostile inputs beyond these live in tests/negative/run.py.

usage: faults.py TLSRPT-INGEST CASE        (FAULTS_SEED=N to vary kill9)
exit: 0 passed, 1 failed, 77 skipped (the case cannot run here)"""
import base64, gzip, hashlib, json, os, random, shutil, signal, sqlite3
import re, subprocess, sys, tempfile, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from pycheck import check, tally  # noqa: E402

INGEST = os.path.abspath(sys.argv[1])
CASE = sys.argv[2]
SKIP = 77




def note(msg):
    print("  " + msg, flush=True)


def run(args, timeout=60, env=None, preexec=None):
    p = subprocess.run([INGEST] + args, capture_output=True, timeout=timeout, env=env,
                       preexec_fn=preexec)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


# ---- reports with a known shape ----

def report_json(i, org=None, npol=None, pad=0):
    """Report number i: i%3+1 policies, policy p with p failure details."""
    npol = (i % 3 + 1) if npol is None else npol
    pols = []
    for p in range(npol):
        pols.append({"policy": {"policy-type": "sts", "policy-domain": "d%d.example" % p,
                                "mx-host": ["mx%d.example" % p]},
                     "summary": {"total-successful-session-count": i, "total-failure-session-count": p},
                     "failure-details": [{"result-type": "certificate-expired", "failed-session-count": 1,
                                          "sending-mta-ip": "192.0.2.%d" % f} for f in range(p)]})
    r = {"organization-name": org or ("Fault Org %d" % (i % 7)), "report-id": "fault-%06d" % i,
         "date-range": {"start-datetime": "2026-01-01T00:00:00Z", "end-datetime": "2026-01-01T23:59:59Z"},
         "contact-info": "tls@example.org", "policies": pols}
    return json.dumps(r).encode() + b" " * pad


def expected_shape(i):
    k = i % 3 + 1
    return k, k * (k - 1) // 2


def message_with(reports):
    """A TLS-RPT message carrying the given report JSONs as gzip attachments."""
    b = "fault-boundary"
    out = ("From: tlsrpt@sender.example\r\nTo: rua@example.net\r\nSubject: Report\r\n"
           "TLS-Report-Domain: example.net\r\nTLS-Report-Submitter: sender.example\r\n"
           "Message-ID: <%s@sender.example>\r\nMIME-Version: 1.0\r\n"
           "Content-Type: multipart/report; report-type=tlsrpt; boundary=\"%s\"\r\n\r\n"
           "--%s\r\nContent-Type: text/plain\r\n\r\nreport\r\n" % (hashlib.sha1(b"".join(reports)).hexdigest(), b, b))
    out = out.encode()
    for n, rj in enumerate(reports):
        out += (("--%s\r\nContent-Type: application/tlsrpt+gzip\r\nContent-Transfer-Encoding: base64\r\n"
                 "Content-Disposition: attachment; filename=\"r%d.json.gz\"\r\n\r\n") % (b, n)).encode()
        out += base64.encodebytes(gzip.compress(rj, mtime=0)).replace(b"\n", b"\r\n")
    return out + ("--%s--\r\n" % b).encode()


def make_source(d, n, bad=0):
    """n reports in d: plain JSON, gzip, and messages with two reports each;
    plus `bad` inputs that are quarantined.  Returns {report-id: i}."""
    os.makedirs(d, exist_ok=True)
    ids = {}
    i = 0
    while i < n:
        kind = i % 10
        if kind == 9 and i + 1 < n:
            data = message_with([report_json(i), report_json(i + 1)])
            name = "m%06d.eml" % i
            ids["fault-%06d" % i] = i
            ids["fault-%06d" % (i + 1)] = i + 1
            i += 2
        else:
            data = report_json(i)
            name = "r%06d.json" % i
            if kind == 4:
                data, name = gzip.compress(data, mtime=0), name + ".gz"
            ids["fault-%06d" % i] = i
            i += 1
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
    for k in range(bad):
        with open(os.path.join(d, "bad%03d.json" % k), "wb") as f:
            f.write(b'{"organization-name": "broken %d", ' % k)
    return ids


def tree_digest(d):
    h = hashlib.sha256()
    for root, dirs, files in sorted(os.walk(d)):
        dirs.sort()
        for fn in sorted(files):
            p = os.path.join(root, fn)
            st = os.stat(p)
            h.update(p.encode() + b"\0%d\0%d\0" % (st.st_size, st.st_mtime_ns))
            with open(p, "rb") as f:
                h.update(f.read())
    return h.hexdigest()


def db_connect(path):
    con = sqlite3.connect(path, timeout=30)
    con.execute("PRAGMA busy_timeout = 30000")
    return con


def integrity_ok(path):
    con = db_connect(path)
    try:
        return con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        con.close()


def stored_shapes(path):
    """{report-id: (policies, failures, copies)} of what the database holds."""
    con = db_connect(path)
    try:
        # A kill during the very first open can leave the file without the
        # schema (the migration's transaction rolled back): nothing stored.
        if con.execute("SELECT count(*) FROM sqlite_master WHERE name = 'report'").fetchone()[0] == 0:
            return {}
        rows = con.execute(
            "SELECT r.report_id, count(DISTINCT p.id), count(f.id), c.n FROM report r"
            " JOIN (SELECT report_id, count(*) AS n FROM report GROUP BY report_id) c USING (report_id)"
            " LEFT JOIN policy p ON p.report = r.id LEFT JOIN failure f ON f.policy = p.id"
            " GROUP BY r.id").fetchall()
    finally:
        con.close()
    return {rid: (p, f, c) for rid, p, f, c in rows}


def no_half_reports(path, ids, what):
    """Every stored report is whole and stored once; none unexpected."""
    shapes = stored_shapes(path)
    bad = [rid for rid, (p, f, c) in shapes.items()
           if rid not in ids or (p, f) != expected_shape(ids[rid]) or c != 1]
    check(not bad, "%s: %d reports half-stored, unexpected or stored twice (e.g. %s)"
          % (what, len(bad), bad[:3]))
    return shapes


def all_once(path, ids, what):
    shapes = no_half_reports(path, ids, what)
    missing = sorted(set(ids) - set(shapes))
    check(not missing, "%s: %d of %d reports lost (e.g. %s)" % (what, len(missing), len(ids), missing[:3]))
    check(integrity_ok(path), "%s: PRAGMA integrity_check" % what)
    return not missing


def db_fault(rc, err, src, digest, what, words=("database",)):
    check(rc == 3, "%s: exit status 3, got %d (stderr: %s)" % (what, rc, err.strip()[:300]))
    check(all(w in err for w in words), "%s: stderr names the problem %s: %r" % (what, words, err.strip()[:300]))
    check(tree_digest(src) == digest, "%s: source files untouched" % what)


def rerun_all(db, src, ids, what, extra=()):
    rc, out, err = run(["--db", db, "-q"] + list(extra) + [src])
    check(rc == 0, "%s: rerun after the fault exits 0, got %d: %s" % (what, rc, err.strip()[:300]))
    all_once(db, ids, what + ": rerun")


# ---- database faults ----

def case_disk_full(tmp):
    src = os.path.join(tmp, "src")
    ids = make_source(src, 3000)
    digest = tree_digest(src)
    ran = 0
    # (a) a real ENOSPC: a 1 MiB tmpfs, when this process may mount one.
    mnt = os.path.join(tmp, "mnt")
    os.mkdir(mnt)
    if os.geteuid() == 0 and subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mnt],
                                            capture_output=True).returncode == 0:
        try:
            ran += 1
            db = os.path.join(mnt, "t.db")
            for batch in ("1000", "1"):
                rc, out, err = run(["--db", db, "-q", "--batch", batch, src])
                db_fault(rc, err, src, digest, "tmpfs full, --batch " + batch, ("database", "full"))
                no_half_reports(db, ids, "tmpfs full, --batch " + batch)
            # The fault removed: the database moves to a disk with room.
            for fn in os.listdir(mnt):
                shutil.copy(os.path.join(mnt, fn), os.path.join(tmp, fn))
        finally:
            subprocess.run(["umount", mnt])
        rerun_all(os.path.join(tmp, "t.db"), src, ids, "tmpfs full")
    else:
        note("tmpfs cannot be mounted here: ENOSPC case skipped, RLIMIT_FSIZE case runs")
    # (b) RLIMIT_FSIZE: writes past 512 KiB fail with EFBIG.
    import resource

    def limit_fsize():
        # SIGXFSZ at its default (Python ignores it, and an ignored signal
        # stays ignored across exec): tlsrpt-ingest must ignore it itself.
        signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
        resource.setrlimit(resource.RLIMIT_FSIZE, (512 << 10, 512 << 10))

    db = os.path.join(tmp, "f.db")
    for batch in ("1000", "7"):
        rc, out, err = run(["--db", db, "-q", "--batch", batch, src], preexec=limit_fsize)
        db_fault(rc, err, src, digest, "RLIMIT_FSIZE, --batch " + batch)
        no_half_reports(db, ids, "RLIMIT_FSIZE, --batch " + batch)
        check(integrity_ok(db), "RLIMIT_FSIZE: integrity_check after the failure")
    rerun_all(db, src, ids, "RLIMIT_FSIZE")


def case_read_only(tmp):
    src = os.path.join(tmp, "src")
    ids = make_source(src, 200)
    digest = tree_digest(src)
    db = os.path.join(tmp, "ro.db")
    first = {k: v for k, v in ids.items() if v < 50}
    # A database with some reports in it already.
    part = os.path.join(tmp, "part")
    os.mkdir(part)
    for fn in os.listdir(src):
        if fn < "r000050":
            shutil.copy(os.path.join(src, fn), part)
    rc, out, err = run(["--db", db, "-q", part])
    check(rc == 0, "read-only: first import")
    before = stored_shapes(db)
    os.chmod(tmp, 0o755)
    os.chmod(src, 0o755)
    ways = []
    if os.geteuid() != 0:
        ways.append("chmod")
    else:
        if subprocess.run(["chattr", "+i", db], capture_output=True).returncode == 0:
            subprocess.run(["chattr", "-i", db])
            ways.append("chattr")
        if shutil.which("setpriv"):
            ways.append("nobody")
    if not ways:
        note("no way to make the database read-only for root here")
        return SKIP
    for way in ways:
        if way == "chmod":
            os.chmod(db, 0o444)
        elif way == "chattr":
            subprocess.run(["chattr", "+i", db], check=True)
        try:
            if way == "nobody":
                # nobody must reach the program and the sources, not write the database.
                os.chmod(db, 0o644)
                prog = os.path.join(tmp, "tlsrpt-ingest")
                shutil.copy(INGEST, prog)
                os.chmod(prog, 0o755)
                subprocess.run(["chmod", "-R", "a+rX", src], check=True)
                digest = tree_digest(src)
                p = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                                    prog, "--db", db, "-q", src], capture_output=True, timeout=60)
                rc, err = p.returncode, p.stderr.decode("utf-8", "replace")
            else:
                rc, out, err = run(["--db", db, "-q", src])
        finally:
            if way == "chattr":
                subprocess.run(["chattr", "-i", db])
            os.chmod(db, 0o640)
        # The message is the database path and the system's reason.
        db_fault(rc, err, src, digest, "read-only (%s)" % way, (db,))
        check(any(w in err for w in ("readonly", "read-only", "Permission denied", "not permitted")),
              "read-only (%s): stderr says why: %r" % (way, err.strip()[:300]))
        check(stored_shapes(db) == before, "read-only (%s): nothing changed in the database" % way)
    rerun_all(db, src, ids, "read-only")
    return None


def case_locked(tmp):
    src = os.path.join(tmp, "src")
    ids = make_source(src, 100)
    digest = tree_digest(src)
    db = os.path.join(tmp, "l.db")
    rc, out, err = run(["--db", db, "-q", os.path.join(src, "r000000.json")])
    check(rc == 0, "locked: database created")
    for hold, must_fail in ((8.0, True), (2.0, False)):
        holder = subprocess.Popen([sys.executable, "-c",
            "import sqlite3, sys, time\n"
            "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
            "c.execute('BEGIN EXCLUSIVE'); c.execute(\"INSERT INTO quarantine (first_seen, last_seen,"
            " source, reason, message, digest, raw_z, raw_size) VALUES (0, 0, 'x', 'x', 'x', 'lock', x'', 0)\")\n"
            "print('locked', flush=True); time.sleep(float(sys.argv[2])); c.execute('ROLLBACK')\n",
            db, str(hold)], stdout=subprocess.PIPE)
        check(holder.stdout.readline().strip() == b"locked", "locked: holder took the lock")
        t0 = time.monotonic()
        rc, out, err = run(["--db", db, "-q", src], timeout=60)
        took = time.monotonic() - t0
        holder.wait(timeout=30)
        if must_fail:
            db_fault(rc, err, src, digest, "locked %gs" % hold, ("database", "locked"))
            check(4.0 <= took < hold + 1, "locked %gs: gave up after the ~5 s busy timeout (took %.1fs)" % (hold, took))
            no_half_reports(db, ids, "locked %gs" % hold)
        else:
            check(rc == 0, "locked %gs (< busy timeout): waited and stored, exit %d: %s" % (hold, rc, err[:200]))
            check(took >= hold - 0.5, "locked %gs: did wait for the lock (took %.1fs)" % (hold, took))
            all_once(db, ids, "locked %gs" % hold)
    rerun_all(db, src, ids, "locked")


def case_deleted(tmp):
    """The database file is unlinked while an import runs.  The import
    must not claim success for reports that went into a deleted file."""
    src = os.path.join(tmp, "src")
    ids = make_source(src, 3000)
    digest = tree_digest(src)
    db = os.path.join(tmp, "d.db")
    for batch in ("1", "100"):
        for fn in ("d.db", "d.db-wal", "d.db-shm"):
            if os.path.exists(os.path.join(tmp, fn)):
                os.unlink(os.path.join(tmp, fn))
        p = subprocess.Popen([INGEST, "--db", db, "--json", "--batch", batch, src],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        # Wait until it has stored something, then delete the database.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and p.poll() is None:
            try:
                con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=5)
                n = con.execute("SELECT count(*) FROM report").fetchone()[0]
                con.close()
                if n > 0:
                    break
            except sqlite3.Error:
                pass
            time.sleep(0.02)
        running = p.poll() is None
        for fn in ("d.db", "d.db-wal", "d.db-shm"):
            if os.path.exists(os.path.join(tmp, fn)):
                os.unlink(os.path.join(tmp, fn))
        out, err = p.communicate(timeout=120)
        out, err = out.decode(), err.decode("utf-8", "replace")
        if not check(running, "deleted (--batch %s): import still running when the file was deleted" % batch):
            continue
        try:
            claimed = json.loads(out.strip().splitlines()[-1])["stored"] if out.strip() else 0
        except (ValueError, KeyError, IndexError):
            claimed = 0
        # Whatever it stored after the unlink went nowhere: it must fail
        # (exit 3, naming the database), not report those as stored.
        check(p.returncode == 3, "deleted (--batch %s): exit 3 when the database file was deleted under it, "
              "got %d after claiming %d reports stored (they went into a deleted file)"
              % (batch, p.returncode, claimed))
        check(tree_digest(src) == digest, "deleted: source files untouched")
    rerun_all(db, src, ids, "deleted")


def case_corrupt(tmp):
    src = os.path.join(tmp, "src")
    ids = make_source(src, 300)
    digest = tree_digest(src)
    good = os.path.join(tmp, "good.db")
    part = os.path.join(tmp, "part")
    os.mkdir(part)
    for fn in sorted(os.listdir(src))[:60]:
        shutil.copy(os.path.join(src, fn), part)
    rc, out, err = run(["--db", good, "-q", part])
    check(rc == 0, "corrupt: first import")
    size = os.path.getsize(good)

    def garbage_header(f):
        f.write(b"this is not an SQLite database\0" * 4)

    def truncated(f):
        f.truncate(size // 2)

    def garbage_page(f):
        f.seek(4096 * 2)
        f.write(b"\xa5" * 4096)

    for name, spoil in (("garbage header", garbage_header), ("truncated", truncated),
                        ("garbage page", garbage_page)):
        db = os.path.join(tmp, name.replace(" ", "-") + ".db")
        shutil.copy(good, db)
        with open(db, "r+b") as f:
            spoil(f)
        spoiled = open(db, "rb").read()
        rc, out, err = run(["--db", db, "-q", src])
        db_fault(rc, err, src, digest, "corrupt (%s)" % name, ("database", "malformed" if name != "garbage header"
                                                                 else "not a database"))
        check(open(db, "rb").read() == spoiled or name != "garbage header",
              "corrupt (%s): the file was not overwritten" % name)
        # The fault removed: the administrator restores the backup.
        shutil.copy(good, db)
        for ext in ("-wal", "-shm"):
            if os.path.exists(db + ext):
                os.unlink(db + ext)
        rerun_all(db, src, ids, "corrupt (%s)" % name)


def case_kill9(tmp):
    seed = int(os.environ.get("FAULTS_SEED", "8460"))
    rnd = random.Random(seed)
    note("seed %d (FAULTS_SEED)" % seed)
    src = os.path.join(tmp, "src")
    ids = make_source(src, 1500, bad=5)
    digest = tree_digest(src)
    kills_wanted, epochs = 50, 5
    kills = 0
    for epoch in range(epochs):
        # Each epoch has its own time budget: a slow one (--batch 1 under
        # ASan on a loaded machine) must not eat the kills of the next.
        deadline = time.monotonic() + 60
        batch = ("1", "3", "50", "1000", "1")[epoch]
        db = os.path.join(tmp, "k%d.db" % epoch)
        # How long a whole import takes with this batch size.
        t0 = time.monotonic()
        rc, out, err = run(["--db", db + ".timing", "-q", "--batch", batch, src], timeout=120)
        full = time.monotonic() - t0
        check(rc == 1, "kill9: timing run exits 1 (bad inputs quarantined), got %d: %s" % (rc, err[:200]))
        t0 = time.monotonic()
        run(["--db", db + ".timing", "-q", "--batch", batch, src], timeout=120)
        again = time.monotonic() - t0          # all duplicates: the floor
        epoch_kills = 0
        while epoch_kills < kills_wanted // epochs and time.monotonic() < deadline:
            # A random point of what this run has left to do.
            left = 1.0
            if os.path.exists(db):
                left = max(0.0, 1 - len(stored_shapes(db)) / len(ids))
            p = subprocess.Popen([INGEST, "--db", db, "-q", "--batch", batch, src],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(rnd.uniform(0, again + (full - again) * left))
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
                epoch_kills += 1
            p.wait()
            if os.path.exists(db):
                no_half_reports(db, ids, "kill9 epoch %d after kill %d" % (epoch, epoch_kills))
                check(integrity_ok(db), "kill9 epoch %d: integrity_check after kill %d" % (epoch, epoch_kills))
        kills += epoch_kills
        note("epoch %d: --batch %s, whole import %.2fs, %d kills" % (epoch, batch, full, epoch_kills))
        rc, out, err = run(["--db", db, "--json", "--batch", batch, src], timeout=120)
        check(rc == 1, "kill9 epoch %d: the complete run exits 1 (quarantined inputs), got %d: %s"
              % (epoch, rc, err[:200]))
        all_once(db, ids, "kill9 epoch %d (batch %s, %d kills)" % (epoch, batch, epoch_kills))
        con = db_connect(db)
        q = con.execute("SELECT count(*) FROM quarantine WHERE source LIKE '%bad%'").fetchone()[0]
        con.close()
        check(q == 5, "kill9 epoch %d: each bad input quarantined once, got %d" % (epoch, q))
    check(kills >= kills_wanted, "kill9: %d kills landed while running, wanted %d" % (kills, kills_wanted))
    check(tree_digest(src) == digest, "kill9: source files untouched")
    note("%d kills" % kills)


# ---- hostile input ----

def ingest_dir(tmp, files, args=(), name="in"):
    """Writes {file: bytes} into a new directory, ingests it into a new
    database with -v; returns (rc, stdout, stderr, db)."""
    d = os.path.join(tmp, name)
    os.makedirs(d)
    for fn, data in files.items():
        with open(os.path.join(d, fn), "wb") as f:
            f.write(data)
    db = os.path.join(tmp, name + ".db")
    rc, out, err = run(["--db", db, "-v"] + list(args) + [d])
    return rc, out, err, db, d


def outcome(db, d, fn):
    """("stored", n) or ("quarantined", reason) for one input file."""
    path = os.path.join(d, fn)
    con = db_connect(db)
    try:
        n = con.execute("SELECT count(*) FROM report WHERE source = ?", (path,)).fetchone()[0]
        q = con.execute("SELECT reason FROM quarantine WHERE source = ?", (path,)).fetchall()
    finally:
        con.close()
    if q:
        return ("quarantined", ",".join(sorted(r for (r,) in q)))
    return ("stored", n)


def padded_to(data, size):
    """data (a report ending in '}') padded with blanks to exactly size bytes."""
    assert len(data) <= size, (len(data), size)
    return data + b" " * (size - len(data))


def nested_report(i, depth):
    """A report whose deepest nesting is exactly depth (the root object is 1)."""
    r = json.loads(report_json(i, npol=1))
    x = 0
    for _ in range(depth - 1):
        x = [x]
    r["x-nesting"] = x
    return json.dumps(r).encode()


def mime_message(i, objects):
    """A message of exactly `objects` MIME objects: the multipart container,
    one report part and objects-2 text parts."""
    b = "parts-boundary"
    out = ("From: a@sender.example\r\nTo: rua@example.net\r\nSubject: parts\r\nMIME-Version: 1.0\r\n"
           "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n" % b).encode()
    for k in range(objects - 2):
        out += ("--%s\r\nContent-Type: text/plain\r\n\r\ntext %d\r\n" % (b, k)).encode()
    out += ("--%s\r\nContent-Type: application/tlsrpt+json\r\n\r\n" % b).encode() + report_json(i, npol=1)
    return out + ("\r\n--%s--\r\n" % b).encode()


def case_limits(tmp):
    L = {"message-size": 2000, "inflated-size": 3000, "json-depth": 8, "policies": 5,
         "failure-details": 6, "string-length": 40, "mime-parts": 6}
    base = 100

    def with_failures(i, n):
        r = json.loads(report_json(i, npol=2))
        for k, pol in enumerate(r["policies"]):
            cnt = n // 2 + (n % 2 if k == 0 else 0)
            pol["failure-details"] = [{"result-type": "validation-failure", "failed-session-count": 1,
                                       "receiving-ip": "192.0.2.%d" % j} for j in range(cnt)]
            pol["summary"]["total-failure-session-count"] = cnt
        return json.dumps(r).encode()

    def with_org(i, nbytes, escaped):
        # Two-byte characters, so bytes and characters differ; the escaped
        # form (\u00e9, 6 bytes of JSON text each) counts decoded bytes.
        org = "\u00e9" * (nbytes // 2) + "a" * (nbytes % 2)
        data = report_json(i, org=org)
        if escaped:
            data = data.replace("\u00e9".encode(), b"\\u00e9")
        else:
            data = json.dumps(json.loads(data), ensure_ascii=False).encode()
        return data

    makers = {
        "message-size": [("r.json", lambda i, n: padded_to(report_json(i, npol=1), n))],
        "inflated-size": [("r.json.gz", lambda i, n: gzip.compress(padded_to(report_json(i, npol=1), n), mtime=0)),
                          ("r.json", lambda i, n: padded_to(report_json(i, npol=1), n))],
        "json-depth": [("r.json", nested_report)],
        "policies": [("r.json", lambda i, n: report_json(i, npol=n))],
        "failure-details": [("r.json", with_failures)],
        "string-length": [("raw.json", lambda i, n: with_org(i, n, False)),
                          ("esc.json", lambda i, n: with_org(i, n, True))],
        "mime-parts": [("m.eml", mime_message)],
    }
    for name, limit in L.items():
        files, expect = {}, {}
        for suffix, make in makers[name]:
            for delta in (-1, 0, 1):
                base += 1
                fn = "%+d-%s" % (delta, suffix)
                files[fn] = make(base, limit + delta)
                expect[fn] = ("stored", 1) if delta <= 0 else ("quarantined", "limit-" + name)
        # message-size and inflated-size apply to the whole file; keep the
        # other limits from getting in the way.
        extra = ["--limit", "%s=%d" % (name, limit)]
        if name == "inflated-size":
            extra += ["--limit", "message-size=1M"]
        rc, out, err, db, d = ingest_dir(tmp, files, extra, name=name)
        check(rc == 1, "limit %s: exit 1 (something quarantined), got %d: %s" % (name, rc, err[:200]))
        for fn in sorted(files):
            got = outcome(db, d, fn)
            check(got == expect[fn], "limit %s=%d, input %s: expected %s, got %s"
                  % (name, limit, fn, expect[fn], got))
        con = db_connect(db)
        msgs = [m for (m,) in con.execute("SELECT message FROM quarantine")]
        con.close()
        check(all(name in m for m in msgs), "limit %s: quarantine messages name the limit: %s" % (name, msgs))


def case_dates(tmp):
    def rep(i, start, end):
        r = json.loads(report_json(i, npol=1))
        r["date-range"] = {"start-datetime": start, "end-datetime": end}
        return json.dumps(r).encode()

    files = {
        "y9999.json": rep(1, "9999-12-30T00:00:00Z", "9999-12-30T23:59:59Z"),
        "y9999-last.json": rep(2, "9999-12-31T00:00:00Z", "9999-12-31T23:59:59Z"),
        "y1970.json": rep(3, "1970-01-01T00:00:00Z", "1970-01-01T23:59:59Z"),
        "y1970-zone.json": rep(4, "1970-01-01T00:00:00+00:00", "1970-01-02T00:00:00+00:00"),
        "backwards.json": rep(5, "2026-01-02T00:00:00Z", "2026-01-01T00:00:00Z"),
        "empty-range.json": rep(6, "2026-01-02T00:00:00Z", "2026-01-02T00:00:00Z"),
    }
    expect_times = {"y9999.json": (253402128000, 253402214400), "y9999-last.json": (253402214400, 253402300800),
                    "y1970.json": (0, 86400), "y1970-zone.json": (0, 86400)}
    rc, out, err, db, d = ingest_dir(tmp, files)
    check(rc == 1, "dates: exit 1 (bad ranges quarantined), got %d: %s" % (rc, err[:200]))
    con = db_connect(db)
    for fn, (s, e) in expect_times.items():
        row = con.execute("SELECT start_time, end_time FROM report WHERE source = ?",
                          (os.path.join(d, fn),)).fetchone()
        check(row == (s, e), "dates: %s stored as [%d, %d), got %s" % (fn, s, e, row))
    con.close()
    for fn in ("backwards.json", "empty-range.json"):
        check(outcome(db, d, fn) == ("quarantined", "bad-date-range"),
              "dates: %s quarantined bad-date-range, got %s" % (fn, outcome(db, d, fn)))
    # --dump of the same: valid JSON lines, the times as stored.
    rc, out, err = run(["--dump", d])
    lines = out.splitlines()
    try:
        objs = [json.loads(x) for x in lines]
        ok = True
    except ValueError:
        objs, ok = [], False
    check(ok and len(objs) == 6, "dates: --dump prints 6 JSON lines, got %r" % out[:500])
    check(rc == 1 and err.count("\n") <= 1, "dates: --dump exit 1, stderr %r" % err[:300])
    dump = json.dumps(objs)
    check("9999-12-31T00:00:00Z" in dump and "1970-01-01T00:00:00Z" in dump,
          "dates: --dump shows the years 9999 and 1970: %s" % dump[:600])


UTF8_BAD = [b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xe2\x82", b"\xf4\x90\x80\x80"]


def case_utf8(tmp):
    fields = ["organization-name", "report-id", "contact-info", "start-datetime", "policy-type",
              "policy-domain", "policy-string", "mx-host", "result-type", "sending-mta-ip",
              "receiving-mx-hostname", "receiving-mx-helo", "receiving-ip", "additional-information",
              "failure-reason-code", "failure-error-code", "KEY"]
    tmpl = {"organization-name": "org @@", "report-id": "id-@@", "contact-info": "c@@@example.org",
            "date-range": {"start-datetime": "2026-01-01T00:00:00Z@@", "end-datetime": "2026-01-01T23:59:59Z"},
            "policies": [{"policy": {"policy-type": "sts@@", "policy-domain": "d@@.example",
                                     "policy-string": ["version: STSv1@@"], "mx-host": ["mx@@.example"]},
                          "summary": {"total-successful-session-count": 1, "total-failure-session-count": 1},
                          "failure-details": [{"result-type": "certificate-expired@@",
                                               "sending-mta-ip": "192.0.2.1@@",
                                               "receiving-mx-hostname": "mx@@.example",
                                               "receiving-mx-helo": "helo @@", "receiving-ip": "192.0.2.2@@",
                                               "additional-information": "info @@",
                                               "failure-reason-code": "code @@",
                                               "failure-error-code": "draft @@",
                                               "KEY@@": "x",
                                               "failed-session-count": 1}]}]}
    text = json.dumps(tmpl).encode()
    files, expect = {}, {}
    for fi, field in enumerate(fields):
        # The fi-th placeholder gets the bad bytes, the others nothing.
        for k, bad in enumerate(UTF8_BAD + [b"\\u0000", b"\\ud800"]):
            parts = text.split(b"@@")
            out = b""
            for pi, piece in enumerate(parts[:-1]):
                out += piece + (bad if pi == fi else b"")
            out += parts[-1]
            fn = "%02d-%s-%d.json" % (fi, field, k)
            files[fn] = out
            expect[fn] = ("invalid-utf8",) if k < len(UTF8_BAD) + 1 else ("invalid-utf8", "bad-json")
    # Control: the template without any bad byte is stored.
    files["control.json"] = text.replace(b"@@", b"")
    rc, out, err, db, d = ingest_dir(tmp, files)
    check(rc == 1, "utf8: exit 1, got %d: %s" % (rc, err[:200]))
    check(outcome(db, d, "control.json") == ("stored", 1), "utf8: the control report is stored")
    con = db_connect(db)
    for fn in sorted(files):
        if fn == "control.json":
            continue
        row = con.execute("SELECT reason, raw_z, raw_truncated FROM quarantine WHERE source = ?",
                          (os.path.join(d, fn),)).fetchone()
        if not check(row is not None and row[0] in expect[fn], "utf8: %s quarantined as %s, got %s"
                     % (fn, "/".join(expect[fn]), row and row[0])):
            continue
        import zlib
        check(zlib.decompress(row[1]) == files[fn] and row[2] == 0,
              "utf8: %s kept byte-exact in quarantine" % fn)
    con.close()
    note("%d inputs" % len(files))


HOSTILE = [
    "<script>alert('x')</script>",
    "\"><img src=x onerror=alert(1)>",
    "O'Brien \"Mail\" & Co <b>bold</b>",
    "=HYPERLINK(\"http://evil.example\",\"click\")",
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\tTab=1+1",
    "\x1b[31mred\x1b[0m \x1b[2J\x1b[H",
    "\x1b]0;owned title\x07",
    "\x1b]8;;http://evil.example\x1b\\link\x1b]8;;\x1b\\",
    "line one\nline two\r\nline three",
    "carriage\rreturn",
    "back\x08space and bell\x07 and del\x7f",
    "\u202eevil-reversed\u202c",
    "\u009b31mC1 CSI",
    "null-looking \\u0000 text",
    "%s%n%x%p",
    "'; DROP TABLE report; --",
]


def case_hostile(tmp):
    files, names = {}, {}
    for i, s in enumerate(HOSTILE):
        r = json.loads(report_json(1000 + i, org=s, npol=1))
        r["policies"][0]["policy"]["policy-domain"] = s
        r["policies"][0]["failure-details"] = [{"result-type": s, "failure-reason-code": s,
                                                "receiving-mx-helo": s, "failed-session-count": 1}]
        r["policies"][0]["summary"]["total-failure-session-count"] = 1
        fn = "h%02d.json" % i
        files[fn] = json.dumps(r).encode()
        names[fn] = s
    # A file name with escape sequences, and a spam message whose Subject
    # (encoded-word) decodes to an escape sequence: both shown by -v.
    files["\x1b[2Jname\x1b[31m.json"] = report_json(1100, npol=1)
    files["spam.eml"] = (b"From: a@spam.example\r\nTo: rua@example.net\r\n"
                         b"Subject: =?utf-8?q?=1B=5B31mRED=1B=5D0=3Btitle=07?=\r\n\r\nbuy now\r\n")
    rc, out, err, db, d = ingest_dir(tmp, files)
    check(rc == 1, "hostile: exit 1 (the spam quarantined), got %d: %s" % (rc, err[:200]))
    con = db_connect(db)
    for fn, s in names.items():
        row = con.execute("SELECT CAST(r.org_name AS BLOB), CAST(p.policy_domain AS BLOB),"
                          " CAST(f.result_type AS BLOB), CAST(f.failure_reason_code AS BLOB),"
                          " CAST(f.receiving_mx_helo AS BLOB) FROM report r JOIN policy p ON p.report = r.id"
                          " JOIN failure f ON f.policy = p.id WHERE r.source = ?",
                          (os.path.join(d, fn),)).fetchone()
        # The policy domain and the HELO name are DNS names (names.c): a
        # valid ASCII host name is stored trimmed and lower-cased, anything
        # else exactly as sent (with the invalid-dns-name warning).
        want = s.encode()
        name = want
        host = want.strip(b" \t\r\n")
        host = host[:-1] if host.endswith(b".") else host
        if re.fullmatch(rb"[A-Za-z0-9_-]{1,63}(\.[A-Za-z0-9_-]{1,63})*", host) and len(host) <= 253:
            name = host.lower()
        check(row is not None and row == (want, name, want, want, name),
              "hostile: %r stored byte-exact in every field, got %r" % (s, row))
    con.close()
    # -v output: one line per outcome plus the summary, no raw control bytes.
    raw = subprocess.run([INGEST, "--db", os.path.join(tmp, "v.db"), "-v", d], capture_output=True).stdout
    lines = raw.split(b"\n")
    check(raw.endswith(b"\n") and len(lines) - 1 == len(files) + 1,
          "hostile: -v prints one line per input and a summary: %d lines for %d inputs"
          % (len(lines) - 1, len(files)))
    bad = sorted({c for c in raw if (c < 0x20 and c != 0x0a) or c == 0x7f})
    check(not bad, "hostile: -v output has no raw control bytes, found %s" % [hex(c) for c in bad])
    check(b"\x1b" not in raw, "hostile: no raw ESC in -v output")
    # --dump: every line is valid JSON giving back the exact strings.
    p = subprocess.run([INGEST, "--dump", d], capture_output=True)
    got = set()
    ok = True
    for line in p.stdout.split(b"\n"):
        if not line:
            continue
        if any(c < 0x20 for c in line):
            ok = False
        try:
            o = json.loads(line)
        except ValueError:
            ok = False
            continue
        got.add(o.get("organization-name") or o.get("organization_name"))
    check(ok, "hostile: --dump lines are JSON without raw control bytes")
    check(set(HOSTILE) <= got, "hostile: --dump gives back every org name exactly (missing %d)"
          % len(set(HOSTILE) - got))
    note("%d hostile strings in 5 fields each, a hostile file name and Subject" % len(HOSTILE))


# ---- attachment file names ----

# (label, the part's header lines, what attachment_name must be: bytes,
# None for "no name", or ... for "anything inert").
ATTACH_NAMES = [
    ("dotdot", b'Content-Disposition: attachment; filename="../../etc/passwd"', b"passwd"),
    ("absolute", b'Content-Disposition: attachment; filename="/etc/passwd"', b"passwd"),
    ("ctype-name", b'Content-Type: application/tlsrpt+gzip; name="a/b"', b"b"),
    ("both", b'Content-Type: application/tlsrpt+gzip; name="/etc/shadow"\r\n'
             b'Content-Disposition: attachment; filename="../../../../../../etc/passwd"', b"passwd"),
    ("rfc2231", b"Content-Disposition: attachment; filename*=utf-8''..%2F..%2Fetc%2Fpasswd", b"passwd"),
    ("rfc2231-nul", b"Content-Disposition: attachment; filename*=utf-8''r.json.gz%00..%2F..%2Fetc%2Fpasswd",
     b"r.json.gz"),
    ("rfc2231-ctl", b"Content-Disposition: attachment; filename*=us-ascii'en'%0D%0A%1B%5B2J..%2Fx%07y.json",
     b"xy.json"),
    ("rfc2231-cont", b"Content-Disposition: attachment;\r\n filename*0*=utf-8''..%2F..%2F;\r\n"
                     b' filename*1="etc/passwd"', b"passwd"),
    ("rfc2231-backslash", b"Content-Disposition: attachment; filename*=utf-8''..%5C..%5Cwindows%5Cwin.ini",
     b"win.ini"),
    # In a quoted-string a backslash escapes the next character (RFC 822
    # quoted-pair): one is dropped, two give one.
    ("backslash-quoted", b'Content-Disposition: attachment; filename="..\\..\\win\\x.ini"', b"....winx.ini"),
    ("backslash", b'Content-Disposition: attachment; filename="..\\\\..\\\\windows\\\\win.ini"', b"win.ini"),
    ("raw-nul", b'Content-Disposition: attachment; filename="r\x00../../etc/passwd"', ...),
    ("raw-ctl", b'Content-Disposition: attachment; filename="a\x01b\x1b[31mc\x7fd\x08.json.gz"',
     b"ab[31mcd.json.gz"),
    ("long", b'Content-Disposition: attachment; filename="' + b"A" * 5000 + b'.json.gz"', b"A" * 255),
    ("long-dotdot", b'Content-Disposition: attachment; filename="' + b"../" * 2000 + b'etc/passwd"', b"passwd"),
    ("long-utf8", b'Content-Disposition: attachment; filename="' + "\u00e9".encode() * 300 + b'"',
     "\u00e9".encode() * 127),
    # Encoded-words in a parameter are not standard; GMime decodes them.
    ("ew-q", b'Content-Disposition: attachment; filename="=?utf-8?q?=2E=2E=2F=2E=2E=2Fetc=2Fpasswd?="', ...),
    ("ew-b", b'Content-Disposition: attachment; filename="=?utf-8?b?'
             + base64.b64encode(b"../x\r\n\x00y/../../etc/passwd\x1b[0m") + b'?="', ...),
    ("dots", b'Content-Disposition: attachment; filename=".."', None),
    ("dot", b'Content-Type: application/tlsrpt+gzip; name="."', None),
    ("bad-utf8", b'Content-Disposition: attachment; filename="caf\xe9\xff.json.gz"', ...),
    ("description", b"Content-Type: application/octet-stream\r\n"
                    b"Content-Description: ../../etc/passwd.json.gz", b"passwd.json.gz"),
]


def attach_message(i, label, part_headers):
    """A report message whose one report part carries part_headers."""
    b = "attach-boundary"
    if not part_headers.lower().startswith(b"content-type:") and b"\r\nContent-Type:" not in part_headers:
        part_headers = b"Content-Type: application/tlsrpt+gzip\r\n" + part_headers
    rep = report_json(3000 + i, npol=1)
    return (("From: tlsrpt@sender.example\r\nTo: rua@example.net\r\nSubject: Report %s\r\n"
             "TLS-Report-Domain: example.net\r\nTLS-Report-Submitter: sender.example\r\n"
             "Message-ID: <attach-%d@sender.example>\r\nMIME-Version: 1.0\r\n"
             "Content-Type: multipart/report; report-type=tlsrpt; boundary=\"%s\"\r\n\r\n"
             "--%s\r\nContent-Type: text/plain\r\n\r\nreport\r\n--%s\r\n" % (label, i, b, b, b)).encode()
            + part_headers + b"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            + base64.encodebytes(gzip.compress(rep, mtime=0)).replace(b"\n", b"\r\n")
            + ("--%s--\r\n" % b).encode())


def inert_name(v):
    """Why attachment_name v (bytes or None) is not inert, or None."""
    if v is None:
        return None
    if not v:
        return "empty"
    bad = [c for c in v if c < 0x20 or c == 0x7f]
    if bad:
        return "control bytes %s" % sorted(set(bad))
    if b"/" in v or b"\\" in v:
        return "a path separator"
    if v in (b".", b".."):
        return "a dot name"
    if len(v) > 255:
        return "%d bytes (over 255)" % len(v)
    try:
        v.decode("utf-8")
    except UnicodeDecodeError:
        return "invalid UTF-8"
    return None


def tree_listing(d, skip=()):
    """{relative path: (size, mtime_ns)} of everything under d."""
    out = {}
    for root, dirs, files in os.walk(d):
        for fn in dirs + files:
            p = os.path.join(root, fn)
            if p in skip:
                continue
            st = os.lstat(p)
            out[os.path.relpath(p, d)] = (st.st_size if not os.path.isdir(p) else 0, st.st_mtime_ns
                                          if not os.path.isdir(p) else 0)
    return out


def case_attachnames(tmp):
    """Hostile attachment file names: stored inert, never used as a path."""
    def passwd_state():
        st = os.stat("/etc/passwd")
        with open("/etc/passwd", "rb") as f:
            return (st.st_ino, st.st_size, st.st_mtime_ns, hashlib.sha256(f.read()).hexdigest())

    src = os.path.join(tmp, "src")
    os.mkdir(src)
    want = {}
    for i, (label, hdrs, expect) in enumerate(ATTACH_NAMES):
        with open(os.path.join(src, "m%02d.eml" % i), "wb") as f:
            f.write(attach_message(i, label, hdrs))
        want["fault-%06d" % (3000 + i)] = (label, expect)
    # The milter's path: the same messages as spool entries, under the
    # names and in the format tr_spool_write() gives them (spool.h).
    spool = os.path.join(tmp, "spool")
    for sub in ("", "tmp", "new", "cur", "failed"):
        os.mkdir(os.path.join(spool, sub), 0o700)
    for i, (label, hdrs, _) in enumerate(ATTACH_NAMES):
        msg = attach_message(i, label, hdrs)
        env = ("TLSRPT-SPOOL 1\nSender: tlsrpt@sender.example\nRecipient: rua@example.net\n"
               "Client: 192.0.2.1\nQueue-ID: ATT%02d\nTime: 1795447625\nSize: %d\n\n" % (i, len(msg))).encode()
        with open(os.path.join(spool, "new", "1795447625.1_%d.%06x.ATT%02d" % (i, i, i)), "wb") as f:
            f.write(env + msg)
    cwd = os.path.join(tmp, "cwd")
    os.mkdir(cwd)
    dbs = {"files": os.path.join(tmp, "a.db"), "spool": os.path.join(tmp, "s.db")}
    db_files = {db + ext for db in dbs.values() for ext in ("", "-wal", "-shm", "-journal")}
    before = tree_listing(tmp)
    pw = passwd_state()
    # The names a careless writer would create, where it would create them.
    spots = [os.path.join(d, n) for d in (cwd, "/", "/etc", os.path.dirname(tmp), src)
             for n in ("b", "win.ini", "x.ini", "xy.json", "r.json.gz", "passwd.json.gz", "shadow", "y")]
    existed = {p for p in spots if os.path.lexists(p)}
    runs = {"files": ["--db", dbs["files"], "-v", src], "spool": ["--db", dbs["spool"], "-v", "--spool", spool]}
    for how, args in runs.items():
        p = subprocess.run([INGEST] + args, capture_output=True, timeout=60, cwd=cwd)
        check(p.returncode == 0, "attachnames (%s): exit 0 (every report stored), got %d: %s"
              % (how, p.returncode, p.stderr.decode("utf-8", "replace")[:300]))
        bad = sorted({c for c in p.stdout + p.stderr if (c < 0x20 and c != 0x0a) or c == 0x7f})
        check(not bad, "attachnames (%s): -v output has no raw control bytes, found %s" % (how, bad))
        con = db_connect(dbs[how])
        rows = {rid: (name, source) for rid, name, source in con.execute(
            "SELECT report_id, CAST(attachment_name AS BLOB), source FROM report")}
        quar = con.execute("SELECT source, reason FROM quarantine").fetchall()
        con.close()
        check(not quar, "attachnames (%s): nothing quarantined, got %s" % (how, quar[:5]))
        check(set(rows) == set(want), "attachnames (%s): %d of %d reports stored, missing %s"
              % (how, len(rows), len(want), sorted(want[r][0] for r in set(want) - set(rows))))
        for rid, (label, expect) in sorted(want.items()):
            if rid not in rows:
                continue
            name, source = rows[rid]
            why = inert_name(name)
            check(why is None, "attachnames (%s) %s: attachment_name %r is not inert: %s" % (how, label, name, why))
            if expect is not ...:
                check(name == expect, "attachnames (%s) %s: attachment_name %r, want %r" % (how, label, name, expect))
            if how == "spool":
                check(source.startswith("spool:1795447625.1_") and "passwd" not in source,
                      "attachnames (spool) %s: source %r is the entry's own name" % (label, source))
        note("%s: %s" % (how, ", ".join("%s=%r" % (want[r][0], rows[r][0] if rows[r][0] is None or len(rows[r][0]) < 24
                                                   else rows[r][0][:20] + b"...") for r in sorted(rows))))
    # Nothing was created, moved or changed outside the databases.
    after = tree_listing(tmp)
    db_rel = {os.path.relpath(p, tmp) for p in db_files}
    spool_entries = {k for k in before if k.startswith("spool" + os.sep + "new" + os.sep)}
    changed = sorted(k for k in set(before) | set(after)
                     if k not in db_rel and k not in spool_entries and before.get(k) != after.get(k))
    check(not changed, "attachnames: files created or changed outside the databases: %s" % changed[:10])
    check(os.listdir(cwd) == [], "attachnames: the working directory stays empty: %s" % os.listdir(cwd)[:10])
    left = [os.path.join(s, n) for s in ("tmp", "new", "cur", "failed") for n in os.listdir(os.path.join(spool, s))]
    check(not left, "attachnames: the spool drained completely, left %s" % left[:5])
    check(sorted(os.listdir(spool)) == ["cur", "failed", "new", "tmp"],
          "attachnames: nothing but the spool's own directories in it: %s" % sorted(os.listdir(spool)))
    check(passwd_state() == pw, "attachnames: /etc/passwd unchanged")
    appeared = [p for p in spots if p not in existed and os.path.lexists(p)]
    check(not appeared, "attachnames: files named after attachments appeared: %s" % appeared)
    note("%d hostile names, via files and via the spool" % len(ATTACH_NAMES))


# ---- rows the database refuses ----

POISON_TRIGGER = ("CREATE TRIGGER poison BEFORE INSERT ON report WHEN NEW.org_name = 'Poison Org'"
                  " BEGIN SELECT RAISE(%s, 'refused by a local rule'); END")


def poison_source(d, n, poison):
    """make_source's n reports, of which those numbered in poison are sent
    by "Poison Org".  Returns ({report-id: i} of the others, of the poison)."""
    ids = make_source(d, n)
    for i in poison:
        with open(os.path.join(d, "r%06d.json" % i), "wb") as f:
            f.write(report_json(i, org="Poison Org"))
    good = {rid: i for rid, i in ids.items() if i not in poison}
    return good, {rid: i for rid, i in ids.items() if i in poison}


def refused_db(tmp, name, action="ABORT", extra=()):
    """A database with a trigger of its own refusing Poison Org's reports
    (and the statements in extra)."""
    db = os.path.join(tmp, name)
    rc, out, err = run(["--db", db, "-q", os.path.join(tmp, "empty")])
    check(rc == 0, "refused: creating %s: %d %s" % (name, rc, err.strip()[:200]))
    con = db_connect(db)
    for sql in (POISON_TRIGGER % action,) + tuple(extra):
        con.execute(sql)
    con.commit()
    con.close()
    return db


def quarantined(db):
    con = db_connect(db)
    try:
        return con.execute("SELECT reason, message, source, resolved_time FROM quarantine ORDER BY id").fetchall()
    finally:
        con.close()


def case_refused(tmp):
    """The database refuses a report's rows (a constraint or a trigger of
    its own): that report is quarantined as db-refused and every other one
    stored, serially, with --jobs 2 and from a spool; a --retry-quarantine
    stores it once the cause is gone.  A refusal that rolls back the whole
    transaction (RAISE(ROLLBACK)) is a database failure: exit 3, nothing
    half-stored.  A spool entry whose quarantine row is refused as well
    moves to failed/ and does not block the entries behind it."""
    os.mkdir(os.path.join(tmp, "empty"))
    src = os.path.join(tmp, "src")
    poison = (3, 11, 12, 45)   # plain .json files (make_source)
    good, bad = poison_source(src, 60, poison)
    digest = tree_digest(src)
    for args in ([], ["--jobs", "2"], ["--batch", "1"]):
        what = "refused %s" % (" ".join(args) or "serial")
        db = refused_db(tmp, "r%d.db" % len(os.listdir(tmp)))
        rc, out, err = run(["--db", db, "--json"] + args + [src])
        check(rc == 1, "%s: exit 1 (something quarantined), got %d: %s" % (what, rc, err.strip()[:300]))
        check(json.loads(out or "{}").get("quarantined") == len(poison) and
              json.loads(out or "{}").get("stored") == len(good), "%s: counts %s" % (what, out.strip()))
        all_once(db, good, what)
        q = quarantined(db)
        check(sorted(r[2] for r in q) == sorted(os.path.join(src, "r%06d.json" % i) for i in poison) and
              all(r[0] == "db-refused" and "refused by a local rule" in r[1] and r[3] is None for r in q),
              "%s: each refused report quarantined as db-refused with SQLite's message: %s" % (what, q[:5]))
        con = db_connect(db)
        con.execute("DROP TRIGGER poison")
        con.commit()
        con.close()
        rc, out, err = run(["--db", db, "--retry-quarantine"])
        check(rc == 0, "%s: --retry-quarantine after the trigger is dropped exits 0, got %d: %s"
              % (what, rc, err.strip()[:300]))
        all_once(db, dict(good, **bad), what + ", after the retry")
        check(all(r[3] is not None for r in quarantined(db)), "%s: the retry resolved the entries" % what)
    check(tree_digest(src) == digest, "refused: source files untouched")

    # RAISE(ROLLBACK) ends the whole transaction: the batch's earlier
    # reports are gone with it, so nothing may be reported as stored.
    db = refused_db(tmp, "rollback.db", "ROLLBACK")
    rc, out, err = run(["--db", db, "-q", src])
    db_fault(rc, err, src, digest, "refused RAISE(ROLLBACK)", words=("refused by a local rule",))
    no_half_reports(db, good, "refused RAISE(ROLLBACK)")
    check(quarantined(db) == [], "refused RAISE(ROLLBACK): nothing quarantined")

    # The spool (the milter's path): Poison Org's quarantine rows refused too.
    spool = os.path.join(tmp, "spool")
    for sub in ("", "tmp", "new", "cur", "failed"):
        os.mkdir(os.path.join(spool, sub), 0o700)
    entries = {}
    for k, i in enumerate(sorted(dict(good, **bad).values())):
        msg = message_with([report_json(i, org="Poison Org" if i in poison else None)])
        env = ("TLSRPT-SPOOL 1\nSender: tlsrpt@sender.example\nRecipient: rua@example.net\n"
               "Client: 192.0.2.1\nQueue-ID: Q%04d\nTime: 1795447625\nSize: %d\n\n" % (i, len(msg))).encode()
        name = "1795447625.%d_%d.%06x.Q%04d" % (k, k, i, i)
        entries[name] = i
        with open(os.path.join(spool, "new", name), "wb") as f:
            f.write(env + msg)
    db = refused_db(tmp, "spool.db", extra=(
        "CREATE TRIGGER poison_q BEFORE INSERT ON quarantine WHEN NEW.source GLOB 'spool:*.Q0011'"
        " OR NEW.source GLOB 'spool:*.Q0045' BEGIN SELECT RAISE(ABORT, 'quarantine refused too'); END",))
    rc, out, err = run(["--db", db, "--json", "--spool", spool])
    check(rc == 1, "refused spool: exit 1, got %d: %s" % (rc, err.strip()[:300]))
    failed = sorted(os.listdir(os.path.join(spool, "failed")))
    check([entries[n] for n in failed] == [11, 45],
          "refused spool: the two entries refused even as quarantine rows are in failed/: %s" % failed)
    check(all(n in err and "quarantine refused too" in err for n in failed),
          "refused spool: stderr names each entry kept in failed/ and why: %r" % err[:400])
    left = [n for s in ("tmp", "new", "cur") for n in os.listdir(os.path.join(spool, s))]
    check(left == [], "refused spool: every other entry drained: %s" % left[:5])
    all_once(db, good, "refused spool")
    q = quarantined(db)
    check(sorted(r[2] for r in q) == ["spool:%s" % n for n in sorted(entries) if entries[n] in (3, 12)]
          and all(r[0] == "db-refused" for r in q), "refused spool: 3 and 12 quarantined as db-refused: %s" % q)
    note("%d refused of %d reports, via files, --jobs 2, --batch 1 and the spool" % (len(poison), len(entries)))


CASES = {"disk-full": case_disk_full, "read-only": case_read_only, "locked": case_locked,
         "deleted": case_deleted, "corrupt": case_corrupt, "kill9": case_kill9, "limits": case_limits,
         "dates": case_dates, "utf8": case_utf8, "hostile": case_hostile, "attachnames": case_attachnames,
         "refused": case_refused}


def main():
    if CASE not in CASES:
        print("unknown case %s; cases: %s" % (CASE, " ".join(CASES)))
        return 2
    tmp = tempfile.mkdtemp(prefix="tlsrpt-faults-")
    os.chmod(tmp, 0o755)
    try:
        r = CASES[CASE](tmp)
    finally:
        subprocess.run(["chattr", "-R", "-i", tmp], capture_output=True)
        mnt = os.path.join(tmp, "mnt")
        if os.path.ismount(mnt):
            subprocess.run(["umount", "-l", mnt])
        shutil.rmtree(tmp, ignore_errors=True)
    passed, failed = tally()
    if r == SKIP and failed == 0:
        print("%s: skipped" % CASE)
        return SKIP
    print("%s: %d passed, %d failed" % (CASE, passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
