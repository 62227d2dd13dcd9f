-- tlsrpt schema: the results of `tlsrpt-report check`, one row per domain
-- and run, so that the next check compares the MTA-STS id and policy text
-- with the last one (a policy edited without a new id is caught) and shows
-- the history.  Times are UTC seconds.
CREATE TABLE check_run (
    id          INTEGER PRIMARY KEY,
    domain      TEXT    NOT NULL,
    time        INTEGER NOT NULL,
    worst       TEXT    NOT NULL,   -- ok, warn or fail
    sts_id      TEXT,               -- id= of the one v=STSv1 record, NULL when none
    policy_text TEXT,               -- the policy file as fetched (HTTP 200 only), NULL otherwise
    results     TEXT    NOT NULL    -- JSON array of {check, status, subject, detail, fix}
);
CREATE INDEX check_run_domain ON check_run (domain, time);
