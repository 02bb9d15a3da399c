-- Move one delivery to the dead-letter stream, atomically: copy the entry with
-- why and when it died and how often it was delivered, then ack and delete it.
-- KEYS[1] stream; KEYS[2] dead-letter stream; ARGV[1] group; ARGV[2] entry id;
-- ARGV[3] reason; ARGV[4] dead-letter stream max length (approximate).
-- Field names: see keys.py. Returns 1 if an entry was moved.
-- without_deliveries: stream_entry.lua, prepended by stream_scripts.py.
local entry = redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2])
local pending = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)
local moved = 0
if entry[1] then
    local fields, before = without_deliveries(entry[1][2])
    local times = 0
    if pending[1] then times = pending[1][4] end
    local now = redis.call('TIME')
    for _, value in ipairs({'deliveries', before + times, 'reason', ARGV[3],
            'origin', KEYS[1], 'origin_id', ARGV[2], 'dead_at_ms',
            now[1] * 1000 + math.floor(now[2] / 1000)}) do
        table.insert(fields, value)
    end
    redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*', unpack(fields))
    moved = 1
end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
return moved
