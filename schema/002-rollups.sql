-- tlsrpt schema, version 2: rollups for tlsrpt-report.
--
-- Kept right by triggers, so every writer (tlsrpt-ingest, the milter's
-- worker, any other tool that inserts report/policy/failure rows) maintains
-- them without code of its own.  The counting rules of tlsrpt-report(1)
-- (COUNTING) are applied at write time:
--
--  - sessions: per (report, policy domain) the maximum successful and the
--    maximum failed count over its policies (sts and tlsa copies count once);
--  - failure details: per (report, policy domain, detail key) the maximum
--    over its policies of the per-policy sum, where the detail key is (result
--    type, sending IP, receiving MX, receiving IP, reason code);
--  - --by policy keeps each policy type apart: the plain per-policy sums.
--
-- Rollup rows are keyed by small integer ids interned in the dim_* tables
-- and by a time bucket t (a UTC day number, start_time / 86400) at a
-- granularity g: 0 = the report's day, 1 = its ISO week (t = the Monday),
-- 2 = its calendar month (t = the 1st).  A report counts in the buckets of
-- its start time.  Measures of the failure rollups:
--   c  failure-detail rows (a group exists while c > 0),
--   n  failed sessions summed per policy type (for --by policy),
--   d  failed sessions with the dedup rule (for everything else); the dedup
--      value of a detail key is attributed to one policy type's row, so d is
--      only meaningful summed over policy types.
--
-- Rows are written by reports being inserted.  Deleting a report (ON DELETE
-- CASCADE to its policies and failures) subtracts it; deleting or changing
-- policy or failure rows of a report that stays, or changing a report's
-- organization or start time, is refused (delete and re-insert the report).
-- tlsrpt-report falls back to the raw rows where no rollup covers a query,
-- and ignores the rollups with TLSRPT_NO_ROLLUP=1 (a debugging aid).

-- Interned strings.  dim_domain has no row for a missing policy domain: it
-- is id 0 in the rollups.  dim_mx holds the MX as tlsrpt-report shows it
-- (receiving-mx-hostname, else "[receiving-ip]", else "(none)"), dim_ip the
-- sending IP as shown ("(none)" when missing).
CREATE TABLE dim_org    (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE dim_domain (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE dim_ptype  (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE dim_mx     (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE dim_type   (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE dim_ip     (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);

-- One row per policy: its report's buckets and ids, so that a failure
-- detail finds them with one lookup.  multi: another policy of the report
-- has the same policy domain (the dedup rule applies); first: the report's
-- first policy (it counts the report once in roll_sess.r).
CREATE TABLE roll_policy (
    id     INTEGER PRIMARY KEY,          -- policy.id
    report INTEGER NOT NULL,
    day    INTEGER NOT NULL,
    wk     INTEGER NOT NULL,
    mo     INTEGER NOT NULL,
    org    INTEGER NOT NULL,
    dom    INTEGER NOT NULL,
    pt     INTEGER NOT NULL,
    multi  INTEGER NOT NULL,
    first  INTEGER NOT NULL
);

-- Reports with policies for more than one policy domain (rare): a report
-- count under a --domain filter cannot be summed from roll_sess for them.
CREATE TABLE roll_multidom (report INTEGER PRIMARY KEY, day INTEGER NOT NULL);
CREATE INDEX roll_multidom_day ON roll_multidom (day);

-- Per-policy sums per detail key of the (report, domain) pairs being
-- written that have several policies.  Scratch state: emptied whenever a
-- report is inserted, rebuilt from the raw rows when needed.
CREATE TABLE roll_fdup (
    report INTEGER NOT NULL,
    dom    INTEGER NOT NULL,
    k      TEXT    NOT NULL,              -- the detail key, quote()d
    policy INTEGER NOT NULL,
    n      INTEGER NOT NULL,
    PRIMARY KEY (report, dom, k, policy)
) WITHOUT ROWID;

-- Scratch rows of the triggers (always empty between statements).
CREATE TABLE roll_cur (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    day INTEGER, wk INTEGER, mo INTEGER, org INTEGER, dom INTEGER, pt INTEGER,
    mx INTEGER, ty INTEGER, ip INTEGER, n INTEGER, d INTEGER
);
CREATE TABLE roll_tmp (
    day INTEGER, wk INTEGER, mo INTEGER, org INTEGER, dom INTEGER, pt INTEGER,
    mx INTEGER, ty INTEGER, ip INTEGER, c INTEGER, n INTEGER, d INTEGER
);
CREATE TABLE roll_state (id INTEGER PRIMARY KEY CHECK (id = 1), deleting INTEGER);
INSERT INTO roll_state (id, deleting) VALUES (1, NULL);

-- Sessions per (policy domain, bucket, organization): n (report, domain)
-- pairs, r reports (each counted at its first policy's domain), ok and bad
-- the sums of the per-(report, domain) maxima.  g 0, 1 and 2.
CREATE TABLE roll_sess (
    dom INTEGER NOT NULL, g INTEGER NOT NULL, t INTEGER NOT NULL, org INTEGER NOT NULL,
    n INTEGER NOT NULL, r INTEGER NOT NULL, ok INTEGER NOT NULL, bad INTEGER NOT NULL,
    PRIMARY KEY (dom, g, t, org)
) WITHOUT ROWID;

-- Failed sessions, every key but the sending IP; days only.
CREATE TABLE roll_fail (
    dom INTEGER NOT NULL, t INTEGER NOT NULL, org INTEGER NOT NULL, mx INTEGER NOT NULL,
    ty INTEGER NOT NULL, pt INTEGER NOT NULL,
    c INTEGER NOT NULL, n INTEGER NOT NULL, d INTEGER NOT NULL,
    PRIMARY KEY (dom, t, org, mx, ty, pt)
) WITHOUT ROWID;

-- Failed sessions without the organization: domain, MX, type, policy; g 0, 1, 2.
CREATE TABLE roll_fail_mx (
    dom INTEGER NOT NULL, g INTEGER NOT NULL, t INTEGER NOT NULL, mx INTEGER NOT NULL,
    ty INTEGER NOT NULL, pt INTEGER NOT NULL,
    c INTEGER NOT NULL, n INTEGER NOT NULL, d INTEGER NOT NULL,
    PRIMARY KEY (dom, g, t, mx, ty, pt)
) WITHOUT ROWID;

-- Failed sessions without domain and MX: organization, sending IP, type,
-- policy; g 0 and 2.
CREATE TABLE roll_fail_ip (
    g INTEGER NOT NULL, t INTEGER NOT NULL, org INTEGER NOT NULL, ip INTEGER NOT NULL,
    ty INTEGER NOT NULL, pt INTEGER NOT NULL,
    c INTEGER NOT NULL, n INTEGER NOT NULL, d INTEGER NOT NULL,
    PRIMARY KEY (g, t, org, ip, ty, pt)
) WITHOUT ROWID;

-- Every failure detail's contribution, by report: single-policy (report,
-- domain) pairs row by row (d = n); the others per (report, domain, key,
-- policy type) with the key's maximum as d on one policy type's row.
-- Used by the backfill below and when a report is deleted.
CREATE VIEW roll_contrib AS
SELECT p.report AS report, rp.day AS day, rp.wk AS wk, rp.mo AS mo, rp.org AS org, rp.dom AS dom,
       rp.pt AS pt, mx.id AS mx, ty.id AS ty, ip.id AS ip,
       1 AS c, f.failed_sessions AS n, f.failed_sessions AS d
FROM policy p JOIN roll_policy rp ON rp.id = p.id JOIN failure f ON f.policy = p.id
JOIN dim_mx mx ON mx.name = CASE WHEN f.receiving_mx_hostname <> '' THEN f.receiving_mx_hostname
                                 WHEN f.receiving_ip <> '' THEN '[' || f.receiving_ip || ']' ELSE '(none)' END
JOIN dim_type ty ON ty.name = f.result_type
JOIN dim_ip ip ON ip.name = coalesce(nullif(f.sending_mta_ip, ''), '(none)')
WHERE rp.multi = 0
UNION ALL
SELECT report, day, wk, mo, org, dom, pt, mx, ty, ip, c, n,
       CASE WHEN row_number() OVER (PARTITION BY report, dom, k ORDER BY smax DESC, pt) = 1
            THEN max(smax) OVER (PARTITION BY report, dom, k) ELSE 0 END
FROM (SELECT report, day, wk, mo, org, dom, pt, mx, ty, ip, k, SUM(c) AS c, SUM(s) AS n, MAX(s) AS smax
      FROM (SELECT p.report AS report, rp.day AS day, rp.wk AS wk, rp.mo AS mo, rp.org AS org,
                   rp.dom AS dom, rp.pt AS pt, mx.id AS mx, ty.id AS ty, ip.id AS ip,
                   quote(f.result_type) || ',' || quote(f.sending_mta_ip) || ',' ||
                   quote(f.receiving_mx_hostname) || ',' || quote(f.receiving_ip) || ',' ||
                   quote(f.failure_reason_code) AS k,
                   COUNT(*) AS c, SUM(f.failed_sessions) AS s
            FROM policy p JOIN roll_policy rp ON rp.id = p.id JOIN failure f ON f.policy = p.id
            JOIN dim_mx mx ON mx.name = CASE WHEN f.receiving_mx_hostname <> '' THEN f.receiving_mx_hostname
                                             WHEN f.receiving_ip <> '' THEN '[' || f.receiving_ip || ']'
                                             ELSE '(none)' END
            JOIN dim_type ty ON ty.name = f.result_type
            JOIN dim_ip ip ON ip.name = coalesce(nullif(f.sending_mta_ip, ''), '(none)')
            WHERE rp.multi = 1
            GROUP BY p.id, k)
      GROUP BY report, dom, k, pt);

-- ---------------------------------------------------------------- triggers

CREATE TRIGGER roll_report_ai AFTER INSERT ON report BEGIN
    DELETE FROM roll_fdup;
END;

CREATE TRIGGER roll_policy_ai AFTER INSERT ON policy BEGIN
    INSERT INTO dim_org (name) SELECT org_name FROM report WHERE id = NEW.report ON CONFLICT DO NOTHING;
    INSERT INTO dim_domain (name) SELECT NEW.policy_domain WHERE NEW.policy_domain IS NOT NULL
        ON CONFLICT DO NOTHING;
    INSERT INTO dim_ptype (name) VALUES (NEW.policy_type) ON CONFLICT DO NOTHING;
    UPDATE roll_policy SET multi = 1 WHERE multi = 0 AND id IN
        (SELECT id FROM policy WHERE report = NEW.report AND policy_domain IS NEW.policy_domain AND id <> NEW.id);
    INSERT INTO roll_policy (id, report, day, wk, mo, org, dom, pt, multi, first)
        SELECT NEW.id, NEW.report, x.day, x.day - (x.day + 3) % 7,
               CAST(strftime('%s', x.day * 86400, 'unixepoch', 'start of month') AS INTEGER) / 86400,
               (SELECT id FROM dim_org WHERE name = x.org_name),
               coalesce((SELECT id FROM dim_domain WHERE name = NEW.policy_domain), 0),
               (SELECT id FROM dim_ptype WHERE name = NEW.policy_type),
               EXISTS (SELECT 1 FROM policy WHERE report = NEW.report AND policy_domain IS NEW.policy_domain
                       AND id <> NEW.id),
               NOT EXISTS (SELECT 1 FROM policy WHERE report = NEW.report AND id <> NEW.id)
        FROM (SELECT (start_time - ((start_time % 86400) + 86400) % 86400) / 86400 AS day, org_name
              FROM report WHERE id = NEW.report) x;
    INSERT INTO roll_multidom (report, day)
        SELECT NEW.report, day FROM roll_policy WHERE id = NEW.id AND EXISTS
            (SELECT 1 FROM policy WHERE report = NEW.report AND policy_domain IS NOT NEW.policy_domain)
        ON CONFLICT DO NOTHING;
    -- A second policy for the domain: the sibling's details so far become
    -- per-policy sums (unless already there).
    INSERT INTO roll_fdup (report, dom, k, policy, n)
        SELECT NEW.report, rp.dom,
               quote(f.result_type) || ',' || quote(f.sending_mta_ip) || ',' ||
               quote(f.receiving_mx_hostname) || ',' || quote(f.receiving_ip) || ',' ||
               quote(f.failure_reason_code) AS k, f.policy, SUM(f.failed_sessions)
        FROM roll_policy rp JOIN policy p ON p.report = NEW.report AND p.policy_domain IS NEW.policy_domain
             AND p.id <> NEW.id
             JOIN failure f ON f.policy = p.id
        WHERE rp.id = NEW.id AND rp.multi = 1
          AND NOT EXISTS (SELECT 1 FROM roll_fdup WHERE report = NEW.report AND dom = rp.dom)
        GROUP BY f.policy, k;
    INSERT INTO roll_sess (dom, g, t, org, n, r, ok, bad)
        SELECT rp.dom, g.g, CASE g.g WHEN 0 THEN rp.day WHEN 1 THEN rp.wk ELSE rp.mo END, rp.org,
               1 - rp.multi, rp.first,
               max(coalesce(s.ok, 0), NEW.successful_sessions) - coalesce(s.ok, 0),
               max(coalesce(s.bad, 0), NEW.failed_sessions) - coalesce(s.bad, 0)
        FROM roll_policy rp,
             (SELECT 0 AS g UNION ALL SELECT 1 UNION ALL SELECT 2) g,
             (SELECT MAX(successful_sessions) AS ok, MAX(failed_sessions) AS bad FROM policy
              WHERE report = NEW.report AND policy_domain IS NEW.policy_domain AND id <> NEW.id) s
        WHERE rp.id = NEW.id
        ON CONFLICT (dom, g, t, org) DO UPDATE SET n = n + excluded.n, r = r + excluded.r,
            ok = ok + excluded.ok, bad = bad + excluded.bad;
END;

CREATE TRIGGER roll_failure_bi BEFORE INSERT ON failure BEGIN
    INSERT INTO dim_mx (name) VALUES (CASE WHEN NEW.receiving_mx_hostname <> '' THEN NEW.receiving_mx_hostname
        WHEN NEW.receiving_ip <> '' THEN '[' || NEW.receiving_ip || ']' ELSE '(none)' END) ON CONFLICT DO NOTHING;
    INSERT INTO dim_type (name) VALUES (NEW.result_type) ON CONFLICT DO NOTHING;
    INSERT INTO dim_ip (name) VALUES (coalesce(nullif(NEW.sending_mta_ip, ''), '(none)')) ON CONFLICT DO NOTHING;
    -- Several policies for the domain and no per-policy sums (emptied since):
    -- rebuild them from the raw rows (this detail is not among them yet).
    INSERT INTO roll_fdup (report, dom, k, policy, n)
        SELECT rp.report, rp.dom,
               quote(f.result_type) || ',' || quote(f.sending_mta_ip) || ',' ||
               quote(f.receiving_mx_hostname) || ',' || quote(f.receiving_ip) || ',' ||
               quote(f.failure_reason_code) AS k, f.policy, SUM(f.failed_sessions)
        FROM roll_policy rp JOIN policy p ON p.report = rp.report
             JOIN roll_policy rq ON rq.id = p.id AND rq.dom = rp.dom
             JOIN failure f ON f.policy = p.id
        WHERE rp.id = NEW.policy AND rp.multi = 1
          AND NOT EXISTS (SELECT 1 FROM roll_fdup WHERE report = rp.report AND dom = rp.dom)
        GROUP BY f.policy, k;
    INSERT OR REPLACE INTO roll_cur (id, day, wk, mo, org, dom, pt, mx, ty, ip, n, d)
        SELECT 1, rp.day, rp.wk, rp.mo, rp.org, rp.dom, rp.pt,
               (SELECT id FROM dim_mx WHERE name = CASE WHEN NEW.receiving_mx_hostname <> ''
                    THEN NEW.receiving_mx_hostname WHEN NEW.receiving_ip <> ''
                    THEN '[' || NEW.receiving_ip || ']' ELSE '(none)' END),
               (SELECT id FROM dim_type WHERE name = NEW.result_type),
               (SELECT id FROM dim_ip WHERE name = coalesce(nullif(NEW.sending_mta_ip, ''), '(none)')),
               NEW.failed_sessions,
               CASE WHEN rp.multi = 0 THEN NEW.failed_sessions ELSE
                   (SELECT max(coalesce(MAX(n), 0),
                               coalesce(MAX(CASE WHEN policy = NEW.policy THEN n END), 0) + NEW.failed_sessions)
                           - coalesce(MAX(n), 0)
                    FROM roll_fdup WHERE report = rp.report AND dom = rp.dom
                      AND k = quote(NEW.result_type) || ',' || quote(NEW.sending_mta_ip) || ',' ||
                              quote(NEW.receiving_mx_hostname) || ',' || quote(NEW.receiving_ip) || ',' ||
                              quote(NEW.failure_reason_code)) END
        FROM roll_policy rp WHERE rp.id = NEW.policy;
    INSERT INTO roll_fail (dom, t, org, mx, ty, pt, c, n, d)
        SELECT dom, day, org, mx, ty, pt, 1, n, d FROM roll_cur WHERE id = 1
        ON CONFLICT DO UPDATE SET c = c + 1, n = n + excluded.n, d = d + excluded.d;
    INSERT INTO roll_fail_mx (dom, g, t, mx, ty, pt, c, n, d)
        SELECT dom, 0, day, mx, ty, pt, 1, n, d FROM roll_cur WHERE id = 1
        UNION ALL SELECT dom, 1, wk, mx, ty, pt, 1, n, d FROM roll_cur WHERE id = 1
        UNION ALL SELECT dom, 2, mo, mx, ty, pt, 1, n, d FROM roll_cur WHERE id = 1
        ON CONFLICT DO UPDATE SET c = c + 1, n = n + excluded.n, d = d + excluded.d;
    INSERT INTO roll_fail_ip (g, t, org, ip, ty, pt, c, n, d)
        SELECT 0, day, org, ip, ty, pt, 1, n, d FROM roll_cur WHERE id = 1
        UNION ALL SELECT 2, mo, org, ip, ty, pt, 1, n, d FROM roll_cur WHERE id = 1
        ON CONFLICT DO UPDATE SET c = c + 1, n = n + excluded.n, d = d + excluded.d;
    DELETE FROM roll_cur;
    INSERT INTO roll_fdup (report, dom, k, policy, n)
        SELECT rp.report, rp.dom,
               quote(NEW.result_type) || ',' || quote(NEW.sending_mta_ip) || ',' ||
               quote(NEW.receiving_mx_hostname) || ',' || quote(NEW.receiving_ip) || ',' ||
               quote(NEW.failure_reason_code), NEW.policy, NEW.failed_sessions
        FROM roll_policy rp WHERE rp.id = NEW.policy AND rp.multi = 1
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;

-- Deleting a report subtracts what it contributed (computed from its rows,
-- which are still there in a BEFORE trigger).
CREATE TRIGGER roll_report_bd BEFORE DELETE ON report BEGIN
    UPDATE roll_state SET deleting = OLD.id;
    INSERT INTO roll_sess (dom, g, t, org, n, r, ok, bad)
        SELECT dom, g, t, org, -COUNT(*), -SUM(r), -SUM(ok), -SUM(bad) FROM
            (SELECT rp.dom AS dom, g.g AS g, CASE g.g WHEN 0 THEN rp.day WHEN 1 THEN rp.wk ELSE rp.mo END AS t,
                    rp.org AS org, MAX(rp.first) AS r, MAX(p.successful_sessions) AS ok,
                    MAX(p.failed_sessions) AS bad
             FROM policy p JOIN roll_policy rp ON rp.id = p.id,
                  (SELECT 0 AS g UNION ALL SELECT 1 UNION ALL SELECT 2) g
             WHERE p.report = OLD.id GROUP BY rp.dom, g.g)
        WHERE true GROUP BY dom, g, t, org
        ON CONFLICT (dom, g, t, org) DO UPDATE SET n = n + excluded.n, r = r + excluded.r,
            ok = ok + excluded.ok, bad = bad + excluded.bad;
    DELETE FROM roll_tmp;
    INSERT INTO roll_tmp (day, wk, mo, org, dom, pt, mx, ty, ip, c, n, d)
        SELECT day, wk, mo, org, dom, pt, mx, ty, ip, c, n, d FROM roll_contrib WHERE report = OLD.id;
    INSERT INTO roll_fail (dom, t, org, mx, ty, pt, c, n, d)
        SELECT dom, day, org, mx, ty, pt, -SUM(c), -SUM(n), -SUM(d) FROM roll_tmp WHERE true
        GROUP BY dom, day, org, mx, ty, pt
        ON CONFLICT DO UPDATE SET c = c + excluded.c, n = n + excluded.n, d = d + excluded.d;
    INSERT INTO roll_fail_mx (dom, g, t, mx, ty, pt, c, n, d)
        SELECT dom, g, t, mx, ty, pt, -SUM(c), -SUM(n), -SUM(d) FROM
            (SELECT dom, 0 AS g, day AS t, mx, ty, pt, c, n, d FROM roll_tmp
             UNION ALL SELECT dom, 1, wk, mx, ty, pt, c, n, d FROM roll_tmp
             UNION ALL SELECT dom, 2, mo, mx, ty, pt, c, n, d FROM roll_tmp)
        WHERE true GROUP BY dom, g, t, mx, ty, pt
        ON CONFLICT DO UPDATE SET c = c + excluded.c, n = n + excluded.n, d = d + excluded.d;
    INSERT INTO roll_fail_ip (g, t, org, ip, ty, pt, c, n, d)
        SELECT g, t, org, ip, ty, pt, -SUM(c), -SUM(n), -SUM(d) FROM
            (SELECT 0 AS g, day AS t, org, ip, ty, pt, c, n, d FROM roll_tmp
             UNION ALL SELECT 2, mo, org, ip, ty, pt, c, n, d FROM roll_tmp)
        WHERE true GROUP BY g, t, org, ip, ty, pt
        ON CONFLICT DO UPDATE SET c = c + excluded.c, n = n + excluded.n, d = d + excluded.d;
    DELETE FROM roll_tmp;
    DELETE FROM roll_fdup WHERE report = OLD.id;
    DELETE FROM roll_multidom WHERE report = OLD.id;
    DELETE FROM roll_sess WHERE n = 0 AND dom IN (SELECT dom FROM roll_policy WHERE report = OLD.id);
    DELETE FROM roll_policy WHERE id IN (SELECT id FROM policy WHERE report = OLD.id);
END;

-- Rows of a stored report are not changed in place.
CREATE TRIGGER roll_policy_bd BEFORE DELETE ON policy
WHEN OLD.report IS NOT (SELECT deleting FROM roll_state WHERE id = 1) BEGIN
    SELECT RAISE(ABORT, 'policy rows are deleted with their report only (rollups)');
END;
CREATE TRIGGER roll_failure_bd BEFORE DELETE ON failure
WHEN EXISTS (SELECT 1 FROM policy WHERE id = OLD.policy
             AND report IS NOT (SELECT deleting FROM roll_state WHERE id = 1)) BEGIN
    SELECT RAISE(ABORT, 'failure rows are deleted with their report only (rollups)');
END;
CREATE TRIGGER roll_report_bu BEFORE UPDATE OF org_name, start_time ON report BEGIN
    SELECT RAISE(ABORT, 'a report''s organization and start time are not changed in place (rollups)');
END;
CREATE TRIGGER roll_policy_bu BEFORE UPDATE OF id, report, policy_type, policy_domain, successful_sessions,
    failed_sessions ON policy BEGIN
    SELECT RAISE(ABORT, 'policy rows are not changed in place (rollups)');
END;
CREATE TRIGGER roll_failure_bu BEFORE UPDATE OF id, policy, result_type, sending_mta_ip, receiving_mx_hostname,
    receiving_ip, failed_sessions, failure_reason_code ON failure BEGIN
    SELECT RAISE(ABORT, 'failure rows are not changed in place (rollups)');
END;

-- ---------------------------------------------------------------- backfill

INSERT INTO dim_org (name) SELECT DISTINCT org_name FROM report ORDER BY 1;
INSERT INTO dim_domain (name) SELECT DISTINCT policy_domain FROM policy WHERE policy_domain IS NOT NULL ORDER BY 1;
INSERT INTO dim_ptype (name) SELECT DISTINCT policy_type FROM policy ORDER BY 1;
INSERT INTO dim_type (name) SELECT DISTINCT result_type FROM failure ORDER BY 1;
INSERT INTO dim_mx (name) SELECT DISTINCT CASE WHEN receiving_mx_hostname <> '' THEN receiving_mx_hostname
    WHEN receiving_ip <> '' THEN '[' || receiving_ip || ']' ELSE '(none)' END FROM failure ORDER BY 1;
INSERT INTO dim_ip (name) SELECT DISTINCT coalesce(nullif(sending_mta_ip, ''), '(none)') FROM failure ORDER BY 1;

INSERT INTO roll_policy (id, report, day, wk, mo, org, dom, pt, multi, first)
    SELECT id, report, day, day - (day + 3) % 7,
           CAST(strftime('%s', day * 86400, 'unixepoch', 'start of month') AS INTEGER) / 86400,
           org, dom, pt, multi, first
    FROM (SELECT p.id AS id, p.report AS report,
                 (r.start_time - ((r.start_time % 86400) + 86400) % 86400) / 86400 AS day,
                 o.id AS org, coalesce(d.id, 0) AS dom, t.id AS pt,
                 COUNT(*) OVER (PARTITION BY p.report, p.policy_domain) > 1 AS multi,
                 p.id = MIN(p.id) OVER (PARTITION BY p.report) AS first
          FROM policy p JOIN report r ON r.id = p.report JOIN dim_org o ON o.name = r.org_name
               LEFT JOIN dim_domain d ON d.name = p.policy_domain JOIN dim_ptype t ON t.name = p.policy_type);

INSERT INTO roll_multidom (report, day)
    SELECT report, MIN(day) FROM roll_policy GROUP BY report HAVING COUNT(DISTINCT dom) > 1;

INSERT INTO roll_sess (dom, g, t, org, n, r, ok, bad)
    SELECT dom, g, t, org, COUNT(*), SUM(r), SUM(ok), SUM(bad) FROM
        (SELECT rp.dom AS dom, g.g AS g, CASE g.g WHEN 0 THEN rp.day WHEN 1 THEN rp.wk ELSE rp.mo END AS t,
                rp.org AS org, MAX(rp.first) AS r, MAX(p.successful_sessions) AS ok,
                MAX(p.failed_sessions) AS bad
         FROM policy p JOIN roll_policy rp ON rp.id = p.id,
              (SELECT 0 AS g UNION ALL SELECT 1 UNION ALL SELECT 2) g
         GROUP BY p.report, rp.dom, g.g)
    GROUP BY dom, g, t, org;

INSERT INTO roll_fail (dom, t, org, mx, ty, pt, c, n, d)
    SELECT dom, day, org, mx, ty, pt, SUM(c), SUM(n), SUM(d) FROM roll_contrib
    GROUP BY dom, day, org, mx, ty, pt;
INSERT INTO roll_fail_mx (dom, g, t, mx, ty, pt, c, n, d)
    SELECT dom, 0, day, mx, ty, pt, SUM(c), SUM(n), SUM(d) FROM roll_contrib GROUP BY dom, day, mx, ty, pt;
INSERT INTO roll_fail_mx (dom, g, t, mx, ty, pt, c, n, d)
    SELECT dom, 1, t, mx, ty, pt, SUM(c), SUM(n), SUM(d) FROM
        (SELECT dom, t - (t + 3) % 7 AS t, mx, ty, pt, c, n, d FROM roll_fail_mx WHERE g = 0)
    GROUP BY dom, t, mx, ty, pt;
INSERT INTO roll_fail_mx (dom, g, t, mx, ty, pt, c, n, d)
    SELECT dom, 2, t, mx, ty, pt, SUM(c), SUM(n), SUM(d) FROM
        (SELECT dom, CAST(strftime('%s', t * 86400, 'unixepoch', 'start of month') AS INTEGER) / 86400 AS t,
                mx, ty, pt, c, n, d FROM roll_fail_mx WHERE g = 0)
    GROUP BY dom, t, mx, ty, pt;
INSERT INTO roll_fail_ip (g, t, org, ip, ty, pt, c, n, d)
    SELECT 0, day, org, ip, ty, pt, SUM(c), SUM(n), SUM(d) FROM roll_contrib GROUP BY day, org, ip, ty, pt;
INSERT INTO roll_fail_ip (g, t, org, ip, ty, pt, c, n, d)
    SELECT 2, t, org, ip, ty, pt, SUM(c), SUM(n), SUM(d) FROM
        (SELECT CAST(strftime('%s', t * 86400, 'unixepoch', 'start of month') AS INTEGER) / 86400 AS t,
                org, ip, ty, pt, c, n, d FROM roll_fail_ip WHERE g = 0)
    GROUP BY t, org, ip, ty, pt;
