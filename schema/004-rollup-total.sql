-- tlsrpt schema, version 4: failed sessions over all time, by every key of
-- roll_fail but the day.
--
-- A summary over all time whose keys need roll_fail (an organization with a
-- domain or MX: the default --by org,mx,type, say) summed every day row of
-- it: 4,828,870 rows at 1,000,000 reports, 22 s for the default summary
-- (BENCHMARKS.md).  roll_fail_tot holds SUM over t of roll_fail per
-- (organization, MX, type, domain, policy type): 833,579 rows there, +21
-- bytes a report.  The key's order is the default summary's, which is then
-- summed in key order, unsorted (a covering index for --by org,domain,type
-- too saved 0.5 s of its 1.2 s, for 3.7% more instructions per ingested
-- report: not kept).  tlsrpt-report reads it when a query has no time key
-- and its window holds every stored report (report/query.c).
--
-- It has no counting rules of its own: the triggers below keep it equal to
-- that sum whenever roll_fail changes, whoever writes it (ingest/rollup.c,
-- 003's roll_fold, 002's delete trigger).  An upsert into roll_fail fires
-- the INSERT trigger when it adds a row and the UPDATE trigger when it adds
-- to one.  Like roll_fail, a group exists while c > 0 (a deleted report
-- leaves rows of zeros).

CREATE TABLE roll_fail_tot (
    dom INTEGER NOT NULL, org INTEGER NOT NULL, mx INTEGER NOT NULL, ty INTEGER NOT NULL,
    pt INTEGER NOT NULL,
    c INTEGER NOT NULL, n INTEGER NOT NULL, d INTEGER NOT NULL,
    PRIMARY KEY (org, mx, ty, dom, pt)
) WITHOUT ROWID;

INSERT INTO roll_fail_tot (dom, org, mx, ty, pt, c, n, d)
    SELECT dom, org, mx, ty, pt, SUM(c), SUM(n), SUM(d) FROM roll_fail GROUP BY dom, org, mx, ty, pt;

CREATE TRIGGER roll_fail_tot_ai AFTER INSERT ON roll_fail BEGIN
    INSERT INTO roll_fail_tot (dom, org, mx, ty, pt, c, n, d)
        VALUES (NEW.dom, NEW.org, NEW.mx, NEW.ty, NEW.pt, NEW.c, NEW.n, NEW.d)
        ON CONFLICT DO UPDATE SET c = c + excluded.c, n = n + excluded.n, d = d + excluded.d;
END;

-- An update adds the difference (the upsert's path); one that moves a row
-- to another key (nothing in tlsrpt does) moves its sums too.
CREATE TRIGGER roll_fail_tot_au AFTER UPDATE ON roll_fail
WHEN NEW.dom = OLD.dom AND NEW.org = OLD.org AND NEW.mx = OLD.mx AND NEW.ty = OLD.ty AND NEW.pt = OLD.pt
BEGIN
    UPDATE roll_fail_tot SET c = c + NEW.c - OLD.c, n = n + NEW.n - OLD.n, d = d + NEW.d - OLD.d
        WHERE dom = NEW.dom AND org = NEW.org AND mx = NEW.mx AND ty = NEW.ty AND pt = NEW.pt;
END;

CREATE TRIGGER roll_fail_tot_ak AFTER UPDATE ON roll_fail
WHEN NOT (NEW.dom = OLD.dom AND NEW.org = OLD.org AND NEW.mx = OLD.mx AND NEW.ty = OLD.ty AND NEW.pt = OLD.pt)
BEGIN
    INSERT INTO roll_fail_tot (dom, org, mx, ty, pt, c, n, d)
        VALUES (OLD.dom, OLD.org, OLD.mx, OLD.ty, OLD.pt, -OLD.c, -OLD.n, -OLD.d)
        ON CONFLICT DO UPDATE SET c = c + excluded.c, n = n + excluded.n, d = d + excluded.d;
    INSERT INTO roll_fail_tot (dom, org, mx, ty, pt, c, n, d)
        VALUES (NEW.dom, NEW.org, NEW.mx, NEW.ty, NEW.pt, NEW.c, NEW.n, NEW.d)
        ON CONFLICT DO UPDATE SET c = c + excluded.c, n = n + excluded.n, d = d + excluded.d;
END;

CREATE TRIGGER roll_fail_tot_ad AFTER DELETE ON roll_fail BEGIN
    INSERT INTO roll_fail_tot (dom, org, mx, ty, pt, c, n, d)
        VALUES (OLD.dom, OLD.org, OLD.mx, OLD.ty, OLD.pt, -OLD.c, -OLD.n, -OLD.d)
        ON CONFLICT DO UPDATE SET c = c + excluded.c, n = n + excluded.n, d = d + excluded.d;
END;
