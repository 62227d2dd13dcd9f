-- oversize.lua: a message to the rua address over MaxMessageSize (64K
-- here) is rejected with 552 5.3.4 as soon as it grows too big.
dofile((debug.getinfo(1, "S").source:match("^@?(.*/)") or "./") .. "common.lua")

local conn = open()
envelope(conn, "BIG1", "<reports@sender.example>", { "<tlsrpt@example.net>" })
message(conn, "start\r\n")
local chunk = string.rep("x", 1000) .. "\r\n"
local reply = SMFIR_CONTINUE
for i = 1, 80 do
    check(mt.bodystring(conn, chunk) == nil, "body failed")
    reply = mt.getreply(conn)
    if reply ~= SMFIR_CONTINUE then
        break
    end
end
check(reply == SMFIR_REPLYCODE, "oversized message: want a reply code (552), got " .. tostring(reply))
mt.disconnect(conn)

-- A message just under the limit is fine.
conn = open()
envelope(conn, "FITS1", "<reports@sender.example>", { "<tlsrpt@example.net>" })
message(conn, string.rep(string.rep("y", 998) .. "\r\n", 60))
check(mt.eom(conn) == nil, "eom failed")
check(mt.getreply(conn) == SMFIR_ACCEPT, "message under the limit: want ACCEPT")
mt.disconnect(conn)
