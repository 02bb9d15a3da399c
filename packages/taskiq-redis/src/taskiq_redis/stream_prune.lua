-- Forget consumers that hold nothing and have not been seen for a while (workers
-- that exited or died and whose entries were already taken over), so the group
-- does not accumulate one consumer per process ever started. Deleting a consumer
-- without pending entries loses nothing: a live one is recreated on its next read.
-- KEYS[1] stream; ARGV[1] group; ARGV[2] min idle ms; ARGV[3] the caller's consumer.
-- Returns how many consumers were deleted.
local deleted = 0
for _, consumer in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
    local info = {}
    for i = 1, #consumer, 2 do
        info[consumer[i]] = consumer[i + 1]
    end
    if info['pending'] == 0 and info['idle'] > tonumber(ARGV[2]) and info['name'] ~= ARGV[3] then
        redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], info['name'])
        deleted = deleted + 1
    end
end
return deleted
