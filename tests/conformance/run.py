#!/usr/bin/env python3
"""Conformance over ../shared/external-samples: every genuine report stored
with the values in expected.tsv, every non-report quarantined with the
expected reason, a second run all duplicates.

usage: run.py TLSRPT-INGEST SAMPLES-DIR EXPECTED-TSV
Exits 77 (CTest: skipped) when SAMPLES-DIR does not exist."""
import json, os, sqlite3, subprocess, sys, tempfile
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from pycheck import check, tally, exit_status  # noqa: E402

ingest, samples, expected_path = sys.argv[1:4]
if not os.path.isdir(samples):
    print(f"SKIP: {samples} not found; conformance needs ../shared/external-samples")
    sys.exit(77)


def run(db, *paths):
    p = subprocess.run([ingest, "--db", db, "--json", *paths], capture_output=True, text=True)
    try:
        counts = json.loads(p.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        counts = {}
        print("no JSON summary from", paths, p.stdout, p.stderr)
    return p.returncode, counts, p.stderr

rows = []
for line in open(expected_path, encoding="utf-8"):
    if line.startswith("#") or not line.strip():
        continue
    rows.append(line.rstrip("\n").split("\t"))

listed = {r[0] for r in rows}
for d, _, files in os.walk(samples):
    for f in files:
        rel = os.path.relpath(os.path.join(d, f), samples)
        if rel != "PROVENANCE.md":
            check(rel in listed, f"{rel}: present in external-samples but not in expected.tsv")

with tempfile.TemporaryDirectory() as tmp:
    for i, row in enumerate(rows):
        path = os.path.join(samples, row[0])
        db = os.path.join(tmp, f"{i}.db")
        rc, counts, err = run(db, path)
        con = sqlite3.connect(db)
        if row[1] == "stored":
            org, rid, start, end, npol, ok, fail, ndet, doms, warns = row[2:12]
            check(rc == 0 and counts.get("stored") == 1, f"{row[0]}: stored once (rc={rc}, {counts}, {err.strip()})")
            r = con.execute("SELECT id, org_name, report_id, strftime('%Y-%m-%dT%H:%M:%SZ', start_time, 'unixepoch'),"
                            " strftime('%Y-%m-%dT%H:%M:%SZ', end_time, 'unixepoch'), coalesce(warnings, '')"
                            " FROM report").fetchall()
            if len(r) != 1:
                check(False, f"{row[0]}: one report row, found {len(r)}")
                continue
            id_, got_org, got_rid, got_start, got_end, got_warn = r[0]
            check((got_org, got_rid, got_start, got_end) == (org, rid, start, end),
                  f"{row[0]}: {(got_org, got_rid, got_start, got_end)} != {(org, rid, start, end)}")
            p = con.execute("SELECT count(*), sum(successful_sessions), sum(failed_sessions),"
                            " group_concat(DISTINCT coalesce(policy_domain, '-')) FROM policy WHERE report = ?",
                            (id_,)).fetchone()
            got_doms = ",".join(sorted(set(p[3].split(","))))
            check((p[0], p[1], p[2], got_doms) == (int(npol), int(ok), int(fail), doms),
                  f"{row[0]}: policies {p} != {(npol, ok, fail, doms)}")
            nd = con.execute("SELECT count(*) FROM failure JOIN policy ON policy.id = failure.policy"
                             " WHERE policy.report = ?", (id_,)).fetchone()[0]
            check(nd == int(ndet), f"{row[0]}: {nd} failure details, want {ndet}")
            for w in ([] if warns == "-" else warns.split()):
                check(w in got_warn.split(), f"{row[0]}: warning {w} missing from '{got_warn}'")
            rc2, counts2, _ = run(db, path)
            check(rc2 == 0 and counts2.get("duplicates") == 1 and counts2.get("stored") == 0,
                  f"{row[0]}: second run is a duplicate ({counts2})")
        else:
            reason = row[2]
            check(rc == 1 and counts.get("quarantined") == 1, f"{row[0]}: quarantined (rc={rc}, {counts})")
            q = con.execute("SELECT reason, times_seen FROM quarantine").fetchall()
            check(q == [(reason, 1)], f"{row[0]}: quarantine rows {q}, want [({reason!r}, 1)]")
            run(db, path)
            q = con.execute("SELECT reason, times_seen FROM quarantine").fetchall()
            check(q == [(reason, 2)], f"{row[0]}: quarantined again counts, not a second row: {q}")
        con.close()

    # The whole directory into one database, twice.
    db = os.path.join(tmp, "all.db")
    distinct = {(r[2], r[3], r[4], r[5]) for r in rows if r[1] == "stored"}
    n_stored = sum(1 for r in rows if r[1] == "stored")
    # PROVENANCE.md is walked too: it is not a report.
    n_quar = sum(1 for r in rows if r[1] == "quarantined") + 1
    # stalwart-mail-auth/rpt01.eml carries the RFC 8460 example report that
    # danmarg-tlsrpt_processor/sample.json is, with one additional-information
    # URL mangled (blanks inserted): the same dedup key, different content,
    # so whichever comes second is a conflicting resend, not a duplicate.
    n_conflicting = 1
    rc, counts, err = run(db, samples)
    check(counts.get("stored") == len(distinct) and
          counts.get("duplicates") == n_stored - len(distinct) - n_conflicting and
          counts.get("conflicting") == n_conflicting and counts.get("quarantined") == n_quar,
          f"whole directory: {counts}, want stored={len(distinct)} duplicates="
          f"{n_stored - len(distinct) - n_conflicting} conflicting={n_conflicting} quarantined={n_quar}")
    rc, counts, err = run(db, samples)
    check(counts.get("stored") == 0 and counts.get("duplicates") == n_stored - n_conflicting and
          counts.get("conflicting") == n_conflicting,
          f"whole directory again: {counts}, want {n_stored - n_conflicting} duplicates, {n_conflicting} conflicting")
    con = sqlite3.connect(db)
    check(con.execute("PRAGMA integrity_check").fetchone()[0] == "ok", "integrity_check")
    check(con.execute("SELECT count(*) FROM report").fetchone()[0] == len(distinct), "distinct report rows")

print("%d passed, %d failed" % tally())
sys.exit(exit_status())
