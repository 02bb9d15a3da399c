-- Move delayed entries that are due onto their priority stream, atomically, so
-- that any number of workers can run this without duplicating an entry.
-- KEYS[1] delayed sorted set; KEYS[2..] streams by priority level (0 first);
-- ARGV[1] most entries to move. Member format: see delayed_add.lua.
-- Returns ms until the next entry is due, or -1 when none is waiting.
local now = redis.call('TIME')
local now_ms = now[1] * 1000 + math.floor(now[2] / 1000)
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now_ms, 'LIMIT', 0, ARGV[1])
for _, member in ipairs(due) do
    local a = string.find(member, '\n', 1, true)
    local b = a and string.find(member, '\n', a + 1, true)
    local c = b and string.find(member, '\n', b + 1, true)
    local d = c and string.find(member, '\n', c + 1, true)
    if d then
        local level = tonumber(string.sub(member, 1, a - 1)) or 0
        local stream = KEYS[level + 2] or KEYS[2]
        redis.call('XADD', stream, '*', 'data', string.sub(member, d + 1),
            'task_id', string.sub(member, b + 1, c - 1),
            'task_name', string.sub(member, c + 1, d - 1))
    else
        redis.call('XADD', KEYS[2], '*', 'malformed_delayed', member)
    end
    redis.call('ZREM', KEYS[1], member)
end
local next_entry = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if not next_entry[1] then
    return -1
end
return math.max(0, tonumber(next_entry[2]) - now_ms)
