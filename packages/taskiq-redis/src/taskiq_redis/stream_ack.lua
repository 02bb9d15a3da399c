-- Settle deliveries for good: acknowledge them and delete their entries, so an
-- acknowledged task leaves no trace in the stream (bounded storage).
-- KEYS[1] stream; ARGV[1] group; ARGV[2..] entry ids (the worker batches the acks
-- of tasks that finish together, see coalesce.py). Ids go to XACK and XDEL in
-- chunks: Lua passes at most ~8,000 values to one redis.call.
local acked = 0
for first = 2, #ARGV, 1000 do
    local last = math.min(first + 999, #ARGV)
    acked = acked + redis.call('XACK', KEYS[1], ARGV[1], unpack(ARGV, first, last))
    redis.call('XDEL', KEYS[1], unpack(ARGV, first, last))
end
return acked
