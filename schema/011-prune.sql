-- tlsrpt schema: the bulk delete of tlsrpt-ingest --prune-before.
--
-- Deleting a report one at a time runs 002's roll_report_bd, which
-- computes the report's contributions through the roll_contrib view (a
-- scan of every failure row: 907 reports took 155 s) and subtracts them,
-- and every deleted policy and failure row runs a check; every roll_fail
-- row deleted runs 004's roll_fail_tot_ad.  A prune (ingest/prune.c)
-- instead keeps the rollups right set-based, whole UTC days of rollup rows
-- at a time, and then deletes the raw rows with these per-row triggers
-- off: it sets roll_state.pruning to 1 inside its transaction and back to
-- 0 before it commits.  Every other writer leaves it 0, so the triggers
-- behave as before for them.  SQLite cannot add a WHEN clause to a
-- trigger: the four are dropped and created again, their bodies unchanged
-- (002, 004), each with the one condition in front.

ALTER TABLE roll_state ADD COLUMN pruning INTEGER NOT NULL DEFAULT 0;

DROP TRIGGER roll_report_bd;
DROP TRIGGER roll_policy_bd;
DROP TRIGGER roll_failure_bd;
DROP TRIGGER roll_fail_tot_ad;

-- 002's, unchanged but for the WHEN.
CREATE TRIGGER roll_report_bd BEFORE DELETE ON report
WHEN (SELECT pruning FROM roll_state WHERE id = 1) = 0 BEGIN
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

CREATE TRIGGER roll_policy_bd BEFORE DELETE ON policy
WHEN (SELECT pruning FROM roll_state WHERE id = 1) = 0
     AND OLD.report IS NOT (SELECT deleting FROM roll_state WHERE id = 1) BEGIN
    SELECT RAISE(ABORT, 'policy rows are deleted with their report only (rollups)');
END;
CREATE TRIGGER roll_failure_bd BEFORE DELETE ON failure
WHEN (SELECT pruning FROM roll_state WHERE id = 1) = 0
     AND EXISTS (SELECT 1 FROM policy WHERE id = OLD.policy
                 AND report IS NOT (SELECT deleting FROM roll_state WHERE id = 1)) BEGIN
    SELECT RAISE(ABORT, 'failure rows are deleted with their report only (rollups)');
END;

-- 004's: a prune subtracts the roll_fail rows it deletes from
-- roll_fail_tot itself, in one statement.
CREATE TRIGGER roll_fail_tot_ad AFTER DELETE ON roll_fail
WHEN (SELECT pruning FROM roll_state WHERE id = 1) = 0 BEGIN
    INSERT INTO roll_fail_tot (dom, org, mx, ty, pt, c, n, d)
        VALUES (OLD.dom, OLD.org, OLD.mx, OLD.ty, OLD.pt, -OLD.c, -OLD.n, -OLD.d)
        ON CONFLICT DO UPDATE SET c = c + excluded.c, n = n + excluded.n, d = d + excluded.d;
END;
