-- discard.lua (Action discard): only rua recipients -> DISCARD; rua and
-- another recipient -> the rua recipient deleted, the message accepted.
dofile((debug.getinfo(1, "S").source:match("^@?(.*/)") or "./") .. "common.lua")

local conn = open()
check(mt.test_action(conn, SMFIF_DELRCPT), "the milter must ask for SMFIF_DELRCPT")
envelope(conn, "DISC1", "<reports@sender.example>", { "<tlsrpt@example.net>", "<tls-reports@example.org>" })
message(conn, "report\r\n")
check(mt.eom(conn) == nil, "eom failed")
check(mt.getreply(conn) == SMFIR_DISCARD, "all-rua message: want DISCARD")

envelope(conn, "MIX1", "<reports@sender.example>", { "<tlsrpt@example.net>", "<alice@example.net>" })
message(conn, "report\r\n")
check(mt.eom(conn) == nil, "eom failed")
check(mt.getreply(conn) == SMFIR_ACCEPT, "mixed message: want ACCEPT")
check(mt.eom_check(conn, MT_RCPTDELETE, "<tlsrpt@example.net>"), "mixed message: rua recipient not deleted")
check(not mt.eom_check(conn, MT_RCPTDELETE, "<alice@example.net>"), "mixed message: other recipient deleted")
mt.disconnect(conn)
