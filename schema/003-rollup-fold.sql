-- tlsrpt schema, version 3: rollups folded in once per transaction, not
-- row by row.
--
-- Version 2 kept the rollups right with triggers on every inserted policy
-- and failure row: correct, but it made a bulk import ~6x slower (470
-- instead of 2,860 reports/s on one thread, BENCHMARKS.md), because each
-- failure row ran five upserts and several lookups.  Now an inserted report
-- is only queued in roll_pending (one row), and a writer folds the queue
-- into the rollups with set-based statements just before it commits:
--
--     UPDATE roll_state SET folds = folds + 1
--     WHERE id = 1 AND EXISTS (SELECT 1 FROM roll_pending);
--
-- which fires roll_fold below.  tlsrpt-ingest and the milter's worker do the
-- same work in C instead (ingest/rollup.c: sums kept in memory, one upsert
-- per rollup key at commit, their reports taken off the queue; checked
-- against roll_fold by tests/report's rollup test), and run the statement
-- too, for reports another writer left queued.  Another tool that inserts reports
-- should run the same statement before committing; until someone does,
-- tlsrpt-report sees a non-empty queue and reads the raw rows (right, only
-- slower).
--
-- The counting rules are those of 002 (and of tlsrpt-report(1)); the
-- statements are 002's backfill restricted to the queued reports and
-- turned into upserts.  Deleting a report still subtracts it (002's
-- roll_report_bd); a queued report contributed nothing yet, so it is only
-- taken off the queue.  The fold's joins start from roll_pending (CROSS
-- JOIN fixes the order): its cost follows the reports folded, not the
-- size of the database.  Policy and failure rows are inserted with their
-- report, in the same transaction, before the fold: adding a policy to a
-- report that is already folded is refused.

DROP TRIGGER roll_report_ai;
DROP TRIGGER roll_policy_ai;
DROP TRIGGER roll_failure_bi;
-- Scratch state of those triggers: roll_cur is dead; roll_fdup stays (002's
-- delete trigger still names it) but is never filled again.
DROP TABLE roll_cur;
DELETE FROM roll_fdup;

ALTER TABLE roll_state ADD COLUMN folds INTEGER NOT NULL DEFAULT 0;

-- Reports inserted and not yet folded into the rollups.
CREATE TABLE roll_pending (report INTEGER PRIMARY KEY);

CREATE TRIGGER roll_pending_ai AFTER INSERT ON report BEGIN
    INSERT INTO roll_pending (report) VALUES (NEW.id);
END;
CREATE TRIGGER roll_pending_bd BEFORE DELETE ON report BEGIN
    DELETE FROM roll_pending WHERE report = OLD.id;
END;

CREATE TRIGGER roll_policy_bi BEFORE INSERT ON policy
WHEN NOT EXISTS (SELECT 1 FROM roll_pending WHERE report = NEW.report) BEGIN
    SELECT RAISE(ABORT, 'policy rows are inserted with their report only (rollups)');
END;
-- A failure row added to a report that is already folded is not caught
-- here: a trigger on every failure row cost 15% of a bulk import.  Insert a
-- report's policy and failure rows in the transaction that inserts it.

CREATE TRIGGER roll_fold AFTER UPDATE OF folds ON roll_state BEGIN
    INSERT INTO dim_org (name)
        SELECT DISTINCT r.org_name FROM roll_pending q CROSS JOIN report r ON r.id = q.report
        WHERE true ON CONFLICT DO NOTHING;
    INSERT INTO dim_domain (name)
        SELECT DISTINCT p.policy_domain FROM roll_pending q CROSS JOIN policy p ON p.report = q.report
        WHERE p.policy_domain IS NOT NULL ON CONFLICT DO NOTHING;
    INSERT INTO dim_ptype (name)
        SELECT DISTINCT p.policy_type FROM roll_pending q CROSS JOIN policy p ON p.report = q.report
        WHERE true ON CONFLICT DO NOTHING;
    INSERT INTO dim_type (name)
        SELECT DISTINCT f.result_type FROM roll_pending q CROSS JOIN policy p ON p.report = q.report
        CROSS JOIN failure f ON f.policy = p.id
        WHERE true ON CONFLICT DO NOTHING;
    INSERT INTO dim_mx (name)
        SELECT DISTINCT CASE WHEN f.receiving_mx_hostname <> '' THEN f.receiving_mx_hostname
                             WHEN f.receiving_ip <> '' THEN '[' || f.receiving_ip || ']' ELSE '(none)' END
        FROM roll_pending q CROSS JOIN policy p ON p.report = q.report CROSS JOIN failure f ON f.policy = p.id
        WHERE true ON CONFLICT DO NOTHING;
    INSERT INTO dim_ip (name)
        SELECT DISTINCT coalesce(nullif(f.sending_mta_ip, ''), '(none)')
        FROM roll_pending q CROSS JOIN policy p ON p.report = q.report CROSS JOIN failure f ON f.policy = p.id
        WHERE true ON CONFLICT DO NOTHING;

    INSERT INTO roll_policy (id, report, day, wk, mo, org, dom, pt, multi, first)
        SELECT id, report, day, day - (day + 3) % 7,
               CAST(strftime('%s', day * 86400, 'unixepoch', 'start of month') AS INTEGER) / 86400,
               org, dom, pt, multi, first
        FROM (SELECT p.id AS id, p.report AS report,
                     (r.start_time - ((r.start_time % 86400) + 86400) % 86400) / 86400 AS day,
                     o.id AS org, coalesce(d.id, 0) AS dom, t.id AS pt,
                     COUNT(*) OVER (PARTITION BY p.report, p.policy_domain) > 1 AS multi,
                     p.id = MIN(p.id) OVER (PARTITION BY p.report) AS first
              FROM roll_pending q CROSS JOIN report r ON r.id = q.report CROSS JOIN policy p ON p.report = q.report
                   JOIN dim_org o ON o.name = r.org_name
                   LEFT JOIN dim_domain d ON d.name = p.policy_domain
                   JOIN dim_ptype t ON t.name = p.policy_type);

    INSERT INTO roll_multidom (report, day)
        SELECT rp.report, MIN(rp.day)
        FROM roll_pending q CROSS JOIN policy p ON p.report = q.report CROSS JOIN roll_policy rp ON rp.id = p.id
        GROUP BY rp.report HAVING COUNT(DISTINCT rp.dom) > 1;

    INSERT INTO roll_sess (dom, g, t, org, n, r, ok, bad)
        SELECT dom, g, t, org, COUNT(*), SUM(r), SUM(ok), SUM(bad) FROM
            (SELECT rp.dom AS dom, g.g AS g, CASE g.g WHEN 0 THEN rp.day WHEN 1 THEN rp.wk ELSE rp.mo END AS t,
                    rp.org AS org, MAX(rp.first) AS r, MAX(p.successful_sessions) AS ok,
                    MAX(p.failed_sessions) AS bad
             FROM roll_pending q CROSS JOIN policy p ON p.report = q.report CROSS JOIN roll_policy rp ON rp.id = p.id
                  CROSS JOIN (SELECT 0 AS g UNION ALL SELECT 1 UNION ALL SELECT 2) g
             GROUP BY p.report, rp.dom, g.g)
        WHERE true GROUP BY dom, g, t, org
        ON CONFLICT (dom, g, t, org) DO UPDATE SET n = n + excluded.n, r = r + excluded.r,
            ok = ok + excluded.ok, bad = bad + excluded.bad;

    -- Each failure detail's contribution (002's roll_contrib, for the
    -- queued reports), gathered once and summed into the three rollups.
    DELETE FROM roll_tmp;
    -- (Written out, not read from the view with a WHERE: SQLite does not
    -- push that condition into the view's compound and window subqueries,
    -- and would scan every failure row.)
    INSERT INTO roll_tmp (day, wk, mo, org, dom, pt, mx, ty, ip, c, n, d)
        SELECT rp.day, rp.wk, rp.mo, rp.org, rp.dom, rp.pt, mx.id, ty.id, ip.id, 1, f.failed_sessions,
               f.failed_sessions
        FROM roll_pending q CROSS JOIN policy p ON p.report = q.report CROSS JOIN roll_policy rp ON rp.id = p.id
             CROSS JOIN failure f ON f.policy = p.id
             JOIN dim_mx mx ON mx.name = CASE WHEN f.receiving_mx_hostname <> '' THEN f.receiving_mx_hostname
                                              WHEN f.receiving_ip <> '' THEN '[' || f.receiving_ip || ']'
                                              ELSE '(none)' END
             JOIN dim_type ty ON ty.name = f.result_type
             JOIN dim_ip ip ON ip.name = coalesce(nullif(f.sending_mta_ip, ''), '(none)')
        WHERE rp.multi = 0
        UNION ALL
        SELECT day, wk, mo, org, dom, pt, mx, ty, ip, c, n,
               CASE WHEN row_number() OVER (PARTITION BY report, dom, k ORDER BY smax DESC, pt) = 1
                    THEN max(smax) OVER (PARTITION BY report, dom, k) ELSE 0 END
        FROM (SELECT report, day, wk, mo, org, dom, pt, mx, ty, ip, k, SUM(c) AS c, SUM(s) AS n,
                     MAX(s) AS smax
              FROM (SELECT p.report AS report, rp.day AS day, rp.wk AS wk, rp.mo AS mo, rp.org AS org,
                           rp.dom AS dom, rp.pt AS pt, mx.id AS mx, ty.id AS ty, ip.id AS ip,
                           quote(f.result_type) || ',' || quote(f.sending_mta_ip) || ',' ||
                           quote(f.receiving_mx_hostname) || ',' || quote(f.receiving_ip) || ',' ||
                           quote(f.failure_reason_code) AS k,
                           COUNT(*) AS c, SUM(f.failed_sessions) AS s
                    FROM roll_pending q CROSS JOIN policy p ON p.report = q.report
                         CROSS JOIN roll_policy rp ON rp.id = p.id CROSS JOIN failure f ON f.policy = p.id
                         JOIN dim_mx mx ON mx.name = CASE WHEN f.receiving_mx_hostname <> ''
                                                          THEN f.receiving_mx_hostname
                                                          WHEN f.receiving_ip <> ''
                                                          THEN '[' || f.receiving_ip || ']'
                                                          ELSE '(none)' END
                         JOIN dim_type ty ON ty.name = f.result_type
                         JOIN dim_ip ip ON ip.name = coalesce(nullif(f.sending_mta_ip, ''), '(none)')
                    WHERE rp.multi = 1
                    GROUP BY p.id, k)
              GROUP BY report, dom, k, pt);
    INSERT INTO roll_fail (dom, t, org, mx, ty, pt, c, n, d)
        SELECT dom, day, org, mx, ty, pt, SUM(c), SUM(n), SUM(d) FROM roll_tmp WHERE true
        GROUP BY dom, day, org, mx, ty, pt
        ON CONFLICT DO UPDATE SET c = c + excluded.c, n = n + excluded.n, d = d + excluded.d;
    -- Days first, then weeks and months from the (much fewer) day sums.
    INSERT INTO roll_fail_mx (dom, g, t, mx, ty, pt, c, n, d)
        SELECT dom, g.g, CASE g.g WHEN 0 THEN day WHEN 1 THEN wk ELSE mo END AS t, mx, ty, pt,
               SUM(c), SUM(n), SUM(d)
        FROM (SELECT dom, day, wk, mo, mx, ty, pt, SUM(c) AS c, SUM(n) AS n, SUM(d) AS d FROM roll_tmp
              GROUP BY dom, day, mx, ty, pt) x,
             (SELECT 0 AS g UNION ALL SELECT 1 UNION ALL SELECT 2) g
        WHERE true GROUP BY dom, g.g, t, mx, ty, pt
        ON CONFLICT DO UPDATE SET c = c + excluded.c, n = n + excluded.n, d = d + excluded.d;
    INSERT INTO roll_fail_ip (g, t, org, ip, ty, pt, c, n, d)
        SELECT g.g, CASE g.g WHEN 0 THEN day ELSE mo END AS t, org, ip, ty, pt, SUM(c), SUM(n), SUM(d)
        FROM (SELECT day, mo, org, ip, ty, pt, SUM(c) AS c, SUM(n) AS n, SUM(d) AS d FROM roll_tmp
              GROUP BY day, org, ip, ty, pt) x,
             (SELECT 0 AS g UNION ALL SELECT 2) g
        WHERE true GROUP BY g.g, t, org, ip, ty, pt
        ON CONFLICT DO UPDATE SET c = c + excluded.c, n = n + excluded.n, d = d + excluded.d;
    DELETE FROM roll_tmp;
    DELETE FROM roll_pending;
END;
