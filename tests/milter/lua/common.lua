-- common.lua: helpers shared by the tlsrpt-milter miltertest scripts.
-- Globals from run-lua.sh: sock, spool.

function check(cond, what)
    if not cond then
        mt.echo("FAIL: " .. what)
        error(what)
    end
end

-- Connects (retrying while the milter starts) and sends the connection.
function open()
    local conn = mt.connect(sock, 40, 0.05)
    check(conn, "mt.connect() failed")
    check(mt.conninfo(conn, "sender.example", "192.0.2.7") == nil, "conninfo failed")
    check(mt.getreply(conn) == SMFIR_CONTINUE, "conninfo: unexpected reply")
    return conn
end

-- Sends MAIL FROM and each RCPT TO with queue ID qid; expects CONTINUE.
function envelope(conn, qid, from, rcpts)
    check(mt.mailfrom(conn, from) == nil, "mailfrom failed")
    check(mt.getreply(conn) == SMFIR_CONTINUE, "mailfrom: unexpected reply")
    -- after MAIL: mt.mailfrom() discards macros of later stages
    mt.macro(conn, SMFIC_RCPT, "i", qid)
    for _, r in ipairs(rcpts) do
        check(mt.rcptto(conn, r) == nil, "rcptto failed")
        check(mt.getreply(conn) == SMFIR_CONTINUE, "rcptto " .. r .. ": unexpected reply")
    end
end

-- Sends the headers and a body; expects CONTINUE all along.
function message(conn, body)
    check(mt.data(conn) == nil, "data failed")
    check(mt.getreply(conn) == SMFIR_CONTINUE, "data: unexpected reply")
    for _, h in ipairs({ { "From", "reports@sender.example" }, { "Subject", "Report Domain: example.net" },
                         { "TLS-Report-Domain", "example.net" } }) do
        check(mt.header(conn, h[1], h[2]) == nil, "header failed")
        check(mt.getreply(conn) == SMFIR_CONTINUE, "header " .. h[1] .. ": unexpected reply")
    end
    check(mt.eoh(conn) == nil, "eoh failed")
    check(mt.getreply(conn) == SMFIR_CONTINUE, "eoh: unexpected reply")
    check(mt.bodystring(conn, body) == nil, "body failed")
    check(mt.getreply(conn) == SMFIR_CONTINUE, "body: unexpected reply")
end

-- Number of files in a spool subdirectory.
function count(sub)
    local p = io.popen("ls -A '" .. spool .. "/" .. sub .. "' 2>/dev/null | wc -l")
    local n = tonumber(p:read("*l"))
    p:close()
    return n
end
