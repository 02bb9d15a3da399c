-- Put one dead letter back on its queue as a fresh entry (deliveries reset)
-- and remove it from the dead-letter stream.
-- KEYS[1] dead-letter stream; KEYS[2] target stream; ARGV[1] dead-letter id.
-- copied_fields: stream_entry.lua, prepended by stream_scripts.py.
-- Returns the new entry id, or false if there is no such dead letter.
local entry = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
if not entry[1] then
    return false
end
local fields = copied_fields(entry[1][2],
    {reason = true, origin = true, origin_id = true, dead_at_ms = true})
if #fields == 0 then
    fields = {'data', ''}
end
local id = redis.call('XADD', KEYS[2], '*', unpack(fields))
redis.call('XDEL', KEYS[1], ARGV[1])
return id
