-- tlsrpt schema: the port in imap_state's key.
--
-- 010 keyed a mailbox USER@HOST/MAILBOX, so two IMAP servers on one host
-- (other ports) shared one UIDVALIDITY and last UID.  The key is now
-- USER@HOST:PORT/MAILBOX (ingest/imap.c; the scheme's default port when the
-- URL has none).  An old key does not say which port it was used with; the
-- messages it fetched do: every report and quarantine row from --imap has
-- the source SCHEME://USER@HOST:PORT/MAILBOX;UIDVALIDITY=V;UID=N.  Each key
-- takes the port of the latest such row of its mailbox and UIDVALIDITY, or
-- 993 (imaps://, the usual form) when there is none; a run that then uses
-- another port starts from UID 0, its reports counted as duplicates.  An old
-- key is split at its first '/' (a host holds none; a user name with one is
-- not split right and starts from UID 0 the same way).

UPDATE imap_state SET mailbox =
    substr(mailbox, 1, instr(mailbox, '/') - 1) || ':' || coalesce((
        SELECT CAST(port AS INTEGER) FROM (
            SELECT substr(t, 1, instr(t, '/') - 1) AS port, substr(t, instr(t, '/')) AS rest, at FROM (
                SELECT substr(source, instr(source, '://') + 3 + instr(imap_state.mailbox, '/')) AS t,
                       substr(source, 1, instr(source, '://') - 1) AS scheme,
                       substr(source, instr(source, '://') + 3, instr(imap_state.mailbox, '/')) AS userhost,
                       received_time AS at
                FROM report WHERE substr(source, 1, 4) = 'imap'
                UNION ALL
                SELECT substr(source, instr(source, '://') + 3 + instr(imap_state.mailbox, '/')),
                       substr(source, 1, instr(source, '://') - 1),
                       substr(source, instr(source, '://') + 3, instr(imap_state.mailbox, '/')),
                       last_seen
                FROM quarantine WHERE substr(source, 1, 4) = 'imap')
            WHERE scheme IN ('imaps', 'imap')
              AND userhost = substr(imap_state.mailbox, 1, instr(imap_state.mailbox, '/') - 1) || ':')
        WHERE port <> '' AND port NOT GLOB '*[^0-9]*'
          AND substr(rest, 1, length(substr(imap_state.mailbox, instr(imap_state.mailbox, '/'))
                                     || ';UIDVALIDITY=' || imap_state.uidvalidity || ';UID='))
              = substr(imap_state.mailbox, instr(imap_state.mailbox, '/'))
                || ';UIDVALIDITY=' || imap_state.uidvalidity || ';UID='
        ORDER BY at DESC LIMIT 1), 993)
    || substr(mailbox, instr(mailbox, '/'))
WHERE instr(mailbox, '/') > 0;
