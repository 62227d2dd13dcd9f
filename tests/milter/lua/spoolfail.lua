-- spoolfail.lua: when the spool cannot be written, the answer is 451 4.3.0
-- , so the sender keeps the report and retries.
dofile((debug.getinfo(1, "S").source:match("^@?(.*/)") or "./") .. "common.lua")

local conn = open()
check(os.execute("rm -rf '" .. spool .. "/tmp'"), "could not break the spool")
envelope(conn, "FAIL1", "<reports@sender.example>", { "<tlsrpt@example.net>" })
message(conn, "report\r\n")
check(mt.eom(conn) == nil, "eom failed")
check(mt.getreply(conn) == SMFIR_REPLYCODE, "spool failure: want a reply code")
-- (the reply text itself, 451 4.3.0, is checked through Postfix in e2e.py:
-- this miltertest does not capture it)
check(count("new") == 0, "nothing may be left in new/")
mt.disconnect(conn)
