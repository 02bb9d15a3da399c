-- The depth of one stream queue, read atomically (one queue's keys share a slot).
-- KEYS[1..n-2]: its priority streams; KEYS[n-1]: the delayed set; KEYS[n]: the
-- dead-letter stream. ARGV[1]: the consumer group.
-- Acknowledged entries are deleted (ack = XACK + XDEL), so a stream holds only
-- entries not yet delivered (ready) and entries delivered but unsettled (the
-- group's pending list: in flight).
-- Returns {ready, in_flight, delayed, dead, keys that exist}.
local n = #KEYS
local ready, in_flight, found = 0, 0, 0
for i = 1, n - 2 do
    if redis.call('EXISTS', KEYS[i]) == 1 then
        found = found + 1
        local length = redis.call('XLEN', KEYS[i])
        local pending = redis.pcall('XPENDING', KEYS[i], ARGV[1])
        local held = 0
        if type(pending) == 'table' and pending.err == nil then
            held = pending[1]
        end
        in_flight = in_flight + held
        ready = ready + math.max(length - held, 0)
    end
end
found = found + redis.call('EXISTS', KEYS[n - 1]) + redis.call('EXISTS', KEYS[n])
return {ready, in_flight, redis.call('ZCARD', KEYS[n - 1]), redis.call('XLEN', KEYS[n]), found}
