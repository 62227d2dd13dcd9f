-- tlsrpt schema: where `tlsrpt-ingest --imap` stopped in each mailbox.
-- A message's UID is recorded in the same transaction as its reports, so a
-- run killed at any point goes on from the last committed message; a new
-- UIDVALIDITY (the server renumbered the mailbox) starts again from UID 0,
-- reports already stored counting as duplicates.
CREATE TABLE imap_state (
    mailbox     TEXT    PRIMARY KEY,  -- USER@HOST/MAILBOX, host in lower case
    uidvalidity INTEGER NOT NULL,     -- the mailbox's UIDVALIDITY that last_uid belongs to
    last_uid    INTEGER NOT NULL,     -- highest UID whose message is committed (0: none yet)
    updated     INTEGER NOT NULL      -- UTC seconds of the last change
);
