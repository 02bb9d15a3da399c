-- Give deliveries that were fetched but never started back to the queue at once
-- (worker shutdown, nack): re-add each entry at the end of its stream and remove
-- the pending original. The returned delivery is not counted against max
-- deliveries. Only entries this consumer still owns are touched: after a lost
-- lease another consumer runs the entry, and re-adding it would make a copy.
-- KEYS[1] stream; ARGV[1] group; ARGV[2] consumer; ARGV[3..] entry ids.
-- Field names: see keys.py.
-- without_deliveries: stream_entry.lua, prepended by stream_scripts.py.
-- Returns how many entries were re-added.
local moved = 0
for i = 3, #ARGV do
    local pending = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
    if pending[1] and pending[1][2] == ARGV[2] then
        local entry = redis.call('XRANGE', KEYS[1], ARGV[i], ARGV[i])
        if entry[1] then
            local fields, before = without_deliveries(entry[1][2])
            table.insert(fields, 'deliveries')
            table.insert(fields, before + pending[1][4] - 1)
            redis.call('XADD', KEYS[1], '*', unpack(fields))
            moved = moved + 1
        end
        redis.call('XACK', KEYS[1], ARGV[1], ARGV[i])
        redis.call('XDEL', KEYS[1], ARGV[i])
    end
end
return moved
