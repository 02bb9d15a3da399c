-- Settle one delivery for good: acknowledge it and delete the entry, so an
-- acknowledged task leaves no trace in the stream (bounded storage).
-- KEYS[1] stream; ARGV[1] group; ARGV[2] entry id.
local acked = redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
return acked
