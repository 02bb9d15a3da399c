-- Take over entries whose consumer stopped extending their lease (a dead worker),
-- and report how often each has now been delivered so the caller can
-- dead-letter the ones over the limit. XAUTOCLAIM scans only COUNT * 10 pending
-- entries per call, so keep scanning (at most 50 calls) until something was
-- claimed or the whole pending list was seen: live leases ahead of a dead
-- worker's entries must not delay their recovery.
-- KEYS[1] stream; ARGV[1] group; ARGV[2] consumer; ARGV[3] min idle ms;
-- ARGV[4] cursor; ARGV[5] count.
-- Returns {next cursor, {{id, fields, times delivered}, ...}}.
local cursor = ARGV[4]
local out = {}
for _ = 1, 50 do
    local claimed = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], cursor,
        'COUNT', ARGV[5])
    cursor = claimed[1]
    for _, entry in ipairs(claimed[2]) do
        if type(entry) == 'table' and type(entry[2]) == 'table' then
            local pending = redis.call('XPENDING', KEYS[1], ARGV[1], entry[1], entry[1], 1)
            local times = 1
            if pending[1] then times = pending[1][4] end
            table.insert(out, {entry[1], entry[2], times})
        end
    end
    if #out > 0 or cursor == '0-0' then
        break
    end
end
return {cursor, out}
