-- tlsrpt schema: drop the policy_domain index (issue 18, BENCHMARKS.md).
--
-- No query reads through it: tlsrpt-report compares policy domains with
-- COLLATE NOCASE (= or LIKE, report/sql.c), which a BINARY index cannot
-- serve, and every trigger and fold finds a report's policies by
-- (report, idx), the UNIQUE key.  It cost every stored policy one more
-- B-tree insert and ~30 bytes.
DROP INDEX IF EXISTS policy_domain;
