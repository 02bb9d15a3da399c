-- Settle deliveries for good: acknowledge them and delete their entries, so an
-- acknowledged task leaves no trace in the stream (bounded storage).
-- KEYS[1] stream; ARGV[1] group; ARGV[2..] entry ids (the worker batches the acks
-- of tasks that finish together, see coalesce.py).
local acked = redis.call('XACK', KEYS[1], ARGV[1], unpack(ARGV, 2))
redis.call('XDEL', KEYS[1], unpack(ARGV, 2))
return acked
