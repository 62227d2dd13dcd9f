-- rua.lua: a message to the rua address (any case, +detail) is buffered
-- to the end and accepted; one to anyone else is accepted at DATA.
dofile((debug.getinfo(1, "S").source:match("^@?(.*/)") or "./") .. "common.lua")

local conn = open()

-- Not for us: ACCEPT at DATA, nothing spooled.
check(mt.mailfrom(conn, "<a@sender.example>") == nil, "mailfrom failed")
mt.macro(conn, SMFIC_RCPT, "i", "PLAIN1")
check(mt.rcptto(conn, "<postmaster@example.net>") == nil, "rcptto failed")
check(mt.getreply(conn) == SMFIR_CONTINUE, "rcptto: unexpected reply")
check(mt.data(conn) == nil, "data failed")
check(mt.getreply(conn) == SMFIR_ACCEPT, "non-rua mail must be accepted at DATA")

-- For us, on the same connection: case and +detail do not matter.
envelope(conn, "RUA1", "<reports@sender.example>", { "<TLSRPT+google@Example.NET>" })
message(conn, "report body\r\n")
check(mt.eom(conn) == nil, "eom failed")
check(mt.getreply(conn) == SMFIR_ACCEPT, "eom: want ACCEPT")
check(not mt.eom_check(conn, MT_RCPTDELETE, "<TLSRPT+google@Example.NET>"), "accept must not delete recipients")

-- The second rua address, no angle brackets.
envelope(conn, "RUA2", "<>", { "tls-reports@EXAMPLE.org" })
message(conn, "another\r\n")
check(mt.eom(conn) == nil, "eom failed")
check(mt.getreply(conn) == SMFIR_ACCEPT, "eom: want ACCEPT")

-- Near misses are not rua addresses.
for _, r in ipairs({ "<tlsrpt@example.net.evil>", "<xtlsrpt@example.net>", "<tlsrptx@example.net>",
                     "<tlsrpt@sub.example.net>" }) do
    check(mt.mailfrom(conn, "<a@sender.example>") == nil, "mailfrom failed")
    mt.macro(conn, SMFIC_RCPT, "i", "MISS")
    check(mt.rcptto(conn, r) == nil, "rcptto failed")
    check(mt.data(conn) == nil, "data failed")
    check(mt.getreply(conn) == SMFIR_ACCEPT, r .. " must not count as a rua address")
end
mt.disconnect(conn)
