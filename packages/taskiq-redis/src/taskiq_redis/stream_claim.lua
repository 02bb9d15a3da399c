-- Take over entries whose consumer stopped extending their lease (a dead worker),
-- and report how often each has now been delivered so the caller can
-- dead-letter the ones over the limit.
-- KEYS[1] stream; ARGV[1] group; ARGV[2] consumer; ARGV[3] min idle ms;
-- ARGV[4] cursor; ARGV[5] count.
-- Returns {next cursor, {{id, fields, times delivered}, ...}}.
local claimed = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4],
    'COUNT', ARGV[5])
local out = {}
for _, entry in ipairs(claimed[2]) do
    if type(entry) == 'table' and type(entry[2]) == 'table' then
        local pending = redis.call('XPENDING', KEYS[1], ARGV[1], entry[1], entry[1], 1)
        local times = 1
        if pending[1] then times = pending[1][4] end
        table.insert(out, {entry[1], entry[2], times})
    end
end
return {claimed[1], out}
