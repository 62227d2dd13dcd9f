-- tlsrpt schema, version 1.
-- Applied by tr_db_open() inside one transaction; PRAGMA user_version is set
-- to the number in this file's name afterwards.  Times are UTC seconds since
-- the epoch.  Report ranges are half-open: [start_time, end_time).

-- One row per distinct report.  Dedup key: organization name + report-id +
-- date range (some senders reuse a report-id across days).
CREATE TABLE report (
    id                   INTEGER PRIMARY KEY,
    org_name             TEXT    NOT NULL,
    report_id            TEXT    NOT NULL,
    start_time           INTEGER NOT NULL,
    end_time             INTEGER NOT NULL,
    contact_info         TEXT,
    -- provenance
    received_time        INTEGER NOT NULL,
    source               TEXT    NOT NULL,  -- file path, 'stdin', or spool entry
    message_id           TEXT,              -- Message-ID of the carrying mail
    hdr_report_domain    TEXT,              -- TLS-Report-Domain header
    hdr_report_submitter TEXT,              -- TLS-Report-Submitter header
    attachment_name      TEXT,
    dkim                 TEXT,              -- 'pass', 'fail', 'none', NULL = not checked (files)
    warnings             TEXT,              -- space-separated stable warning codes, NULL when none
    -- the report as sent: the JSON bytes, zlib-compressed
    raw_json_z           BLOB    NOT NULL,
    raw_json_size        INTEGER NOT NULL,
    parser_version       INTEGER NOT NULL,
    UNIQUE (org_name, report_id, start_time, end_time)
);
CREATE INDEX report_start ON report (start_time);

-- One row per policy in a report, with its summary counts.
CREATE TABLE policy (
    id                  INTEGER PRIMARY KEY,
    report              INTEGER NOT NULL REFERENCES report (id) ON DELETE CASCADE,
    idx                 INTEGER NOT NULL,   -- position in the report's array
    policy_type         TEXT    NOT NULL,   -- sts, tlsa, no-policy-found, or as sent
    policy_domain       TEXT,               -- NULL only if no source could supply it
    policy_strings      TEXT,               -- JSON array of strings, NULL when absent
    mx_hosts            TEXT,               -- JSON array of strings, NULL when absent
    successful_sessions INTEGER NOT NULL,
    failed_sessions     INTEGER NOT NULL,
    UNIQUE (report, idx)
);
CREATE INDEX policy_domain ON policy (policy_domain);

-- One row per failure-details entry.
CREATE TABLE failure (
    id                     INTEGER PRIMARY KEY,
    policy                 INTEGER NOT NULL REFERENCES policy (id) ON DELETE CASCADE,
    result_type            TEXT    NOT NULL,
    sending_mta_ip         TEXT,
    receiving_mx_hostname  TEXT,
    receiving_mx_helo      TEXT,
    receiving_ip           TEXT,
    failed_sessions        INTEGER NOT NULL,
    additional_information TEXT,
    failure_reason_code    TEXT
);
CREATE INDEX failure_policy ON failure (policy);

-- Inputs that did not yield a stored report.  raw is the input as received
-- (a whole message, or one decoded report part), zlib-compressed, capped at
-- the message-size limit; raw_truncated says the cap was hit.
CREATE TABLE quarantine (
    id                   INTEGER PRIMARY KEY,
    first_seen           INTEGER NOT NULL,
    last_seen            INTEGER NOT NULL,
    times_seen           INTEGER NOT NULL DEFAULT 1,
    source               TEXT    NOT NULL,
    message_id           TEXT,
    hdr_report_domain    TEXT,
    hdr_report_submitter TEXT,
    attachment_name      TEXT,
    reason               TEXT    NOT NULL,  -- stable code, see tlsrpt-ingest(1)
    message              TEXT    NOT NULL,  -- human explanation
    digest               TEXT    NOT NULL UNIQUE, -- of the raw input (full, before capping)
    raw_z                BLOB    NOT NULL,
    raw_size             INTEGER NOT NULL,  -- size of the full input
    raw_truncated        INTEGER NOT NULL DEFAULT 0,
    resolved_time        INTEGER            -- set when a retry stored it
);
CREATE INDEX quarantine_reason ON quarantine (reason);
