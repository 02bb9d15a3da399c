-- Put one dead letter back on its queue as a fresh entry (deliveries reset)
-- and remove it from the dead-letter stream.
-- KEYS[1] dead-letter stream; KEYS[2] target stream; ARGV[1] dead-letter id.
-- Returns the new entry id, or false if there is no such dead letter.
local entry = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
if not entry[1] then
    return false
end
local dropped = {deliveries = true, reason = true, origin = true, origin_id = true,
    dead_at_ms = true}
local fields = {}
local source = entry[1][2]
for j = 1, #source, 2 do
    if not dropped[source[j]] then
        table.insert(fields, source[j])
        table.insert(fields, source[j + 1])
    end
end
if #fields == 0 then
    fields = {'data', ''}
end
local id = redis.call('XADD', KEYS[2], '*', unpack(fields))
redis.call('XDEL', KEYS[1], ARGV[1])
return id
