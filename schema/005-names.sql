-- tlsrpt schema, version 5: DNS names stored in one normalized form.
--
-- From this version tlsrpt-ingest normalizes every DNS name it stores
-- (ingest/names.c, tlsrpt-ingest(1) NAMES): surrounding blanks trimmed,
-- one trailing dot removed, ASCII lower-cased, U-labels converted to
-- A-labels, invalid names kept as sent.  Before it, "MX1.EXAMPLE.NET" and
-- "mx1.example.net", or "example.net." and "example.net", were two rows
-- of a summary, and an sts and a tlsa copy of one failure detail whose MX
-- names differed in case counted twice.  This migration gives the rows
-- already stored the same form, as far as SQL can:
--
--   - policy.policy_domain, failure.receiving_mx_hostname and
--     failure.receiving_mx_helo, the names in policy.mx_hosts and the
--     "mx:" lines of an STS policy.policy_strings: blanks trimmed, one
--     trailing dot removed, lower-cased, when the result is an ASCII host
--     name, an mx pattern ("*." first) or an address literal; any other
--     value is left as stored (as the C code keeps an invalid name);
--   - policy.policy_strings: the line ends at the end of each element
--     (Google's "\r") removed, elements left empty dropped.
--
-- What SQL cannot do: libidn2's conversion.  A name stored before this
-- version with non-ASCII characters (a U-label) stays as stored; reports
-- stored from now on have the A-label form, so such a domain can appear
-- twice until the old reports age out.  The migration does not guess.
--
-- The rollups are keyed by the names (dim_domain, dim_mx) and the sts+tlsa
-- rule compares them, so they are rebuilt from the raw rows: emptied, every
-- report queued (roll_pending) and folded by 003's roll_fold.  Names that
-- became equal are thereby merged into one interned dim_* row.  004's
-- triggers keep roll_fail_tot equal to roll_fail through the rebuild.

-- 002 refuses changing these columns in place (the rollups would go
-- stale); the rollups are rebuilt below, so the refusals are lifted for
-- this migration and put back unchanged at its end.
DROP TRIGGER roll_policy_bu;
DROP TRIGGER roll_failure_bu;

-- Every name as stored, its normalized form (NULL: only blanks) and
-- whether it is valid (invalid ones are kept as sent).
CREATE TEMP TABLE name_map (sent TEXT PRIMARY KEY, norm TEXT, valid INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
-- "mx:" lines of STS policy strings (element id, its name as stored).
CREATE TEMP TABLE mx_line (policy INTEGER NOT NULL, k INTEGER NOT NULL, sent TEXT NOT NULL,
                           PRIMARY KEY (policy, k)) WITHOUT ROWID;

INSERT INTO mx_line (policy, k, sent)
    SELECT p.id, j.key, trim(substr(j.value, instr(j.value, ':') + 1), ' ' || char(9, 10, 13))
    FROM policy p, json_each(p.policy_strings) j
    WHERE p.policy_type = 'sts' AND json_valid(p.policy_strings) AND j.type = 'text'
      AND instr(j.value, ':') > 0
      AND lower(trim(substr(j.value, 1, instr(j.value, ':') - 1), ' ' || char(9))) = 'mx';

INSERT OR IGNORE INTO name_map (sent)
    SELECT policy_domain FROM policy WHERE policy_domain IS NOT NULL
    UNION SELECT receiving_mx_hostname FROM failure WHERE receiving_mx_hostname IS NOT NULL
    UNION SELECT receiving_mx_helo FROM failure WHERE receiving_mx_helo IS NOT NULL
    UNION SELECT j.value FROM policy p, json_each(p.mx_hosts) j
          WHERE json_valid(p.mx_hosts) AND j.type = 'text'
    UNION SELECT sent FROM mx_line;

-- The rules of names.h in steps: trim, one trailing dot, then lower-case
-- what is a host name, a pattern or an address literal, else as sent.
UPDATE name_map SET norm = trim(sent, ' ' || char(9, 10, 13));
UPDATE name_map SET norm = substr(norm, 1, length(norm) - 1)
    WHERE length(norm) > 1 AND substr(norm, -1) = '.';
UPDATE name_map SET valid = 1 WHERE
    norm GLOB '[[]*]'
    OR (instr(norm, ':') > 0 AND norm NOT GLOB '*[^0-9A-Fa-f:.]*')
    OR (norm <> '' AND length(norm) <= 253 AND instr(norm, '..') = 0 AND norm NOT GLOB '.*'
        AND norm NOT GLOB '*.' AND norm NOT GLOB '*[^ -~]*'
        AND CASE WHEN norm GLOB '[*].?*' THEN substr(norm, 3) ELSE norm END NOT GLOB '*[^A-Za-z0-9._-]*');
UPDATE name_map SET norm = CASE WHEN norm = '' THEN NULL WHEN valid THEN lower(norm) ELSE sent END;

UPDATE policy SET policy_domain = (SELECT norm FROM name_map WHERE sent = policy.policy_domain)
    WHERE policy_domain IN (SELECT sent FROM name_map WHERE norm IS NOT sent);
UPDATE failure SET receiving_mx_hostname = (SELECT norm FROM name_map WHERE sent = failure.receiving_mx_hostname)
    WHERE receiving_mx_hostname IN (SELECT sent FROM name_map WHERE norm IS NOT sent);
UPDATE failure SET receiving_mx_helo = (SELECT norm FROM name_map WHERE sent = failure.receiving_mx_helo)
    WHERE receiving_mx_helo IN (SELECT sent FROM name_map WHERE norm IS NOT sent);

-- mx_hosts: each name normalized, blank ones dropped, [] stored as NULL.
UPDATE policy SET mx_hosts = nullif((
        SELECT json_group_array(coalesce(m.norm, j.value))
        FROM (SELECT key, value FROM json_each(policy.mx_hosts) ORDER BY key) j
             LEFT JOIN name_map m ON m.sent = j.value
        WHERE NOT (m.sent IS NOT NULL AND m.norm IS NULL)), '[]')
    WHERE json_valid(mx_hosts) AND json_type(mx_hosts) = 'array';

-- policy_strings: line ends at element ends removed, empty elements
-- dropped, "mx:" lines of STS policies rewritten as "mx: NAME".
UPDATE policy SET policy_strings = nullif((
        SELECT json_group_array(CASE WHEN m.valid THEN 'mx: ' || m.norm
                                     ELSE rtrim(j.value, char(10, 13)) END)
        FROM (SELECT key, value, type FROM json_each(policy.policy_strings) ORDER BY key) j
             LEFT JOIN mx_line l ON l.policy = policy.id AND l.k = j.key
             LEFT JOIN name_map m ON m.sent = l.sent
        WHERE j.type <> 'text' OR rtrim(j.value, char(10, 13)) <> ''), '[]')
    WHERE json_valid(policy_strings) AND json_type(policy_strings) = 'array';

DROP TABLE mx_line;
DROP TABLE name_map;

CREATE TRIGGER roll_policy_bu BEFORE UPDATE OF id, report, policy_type, policy_domain, successful_sessions,
    failed_sessions ON policy BEGIN
    SELECT RAISE(ABORT, 'policy rows are not changed in place (rollups)');
END;
CREATE TRIGGER roll_failure_bu BEFORE UPDATE OF id, policy, result_type, sending_mta_ip, receiving_mx_hostname,
    receiving_ip, failed_sessions, failure_reason_code ON failure BEGIN
    SELECT RAISE(ABORT, 'failure rows are not changed in place (rollups)');
END;

-- The rollups rebuilt from the (now normalized) raw rows.  roll_fail
-- first: 004's delete trigger subtracts each row from roll_fail_tot,
-- which is then emptied of the zeros left.
DELETE FROM roll_fail;
DELETE FROM roll_fail_tot;
DELETE FROM roll_fail_mx;
DELETE FROM roll_fail_ip;
DELETE FROM roll_sess;
DELETE FROM roll_multidom;
DELETE FROM roll_policy;
DELETE FROM roll_fdup;
DELETE FROM roll_tmp;
DELETE FROM dim_org;
DELETE FROM dim_domain;
DELETE FROM dim_ptype;
DELETE FROM dim_mx;
DELETE FROM dim_type;
DELETE FROM dim_ip;
DELETE FROM roll_pending;
INSERT INTO roll_pending (report) SELECT id FROM report;
UPDATE roll_state SET folds = folds + 1 WHERE id = 1 AND EXISTS (SELECT 1 FROM roll_pending);
