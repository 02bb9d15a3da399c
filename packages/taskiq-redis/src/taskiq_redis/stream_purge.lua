-- Delete up to ARGV[2] ready entries of the streams KEYS (one queue's priority
-- levels): those after the group's last delivered id, which no consumer has
-- seen. Pending entries (in flight) stay with the worker holding them.
-- ARGV[1]: the consumer group. Returns how many entries were deleted; the
-- caller repeats until 0, so a huge queue never blocks Redis for long.
local limit = tonumber(ARGV[2])
local deleted = 0
for _, stream in ipairs(KEYS) do
    if deleted >= limit then
        break
    end
    if redis.call('EXISTS', stream) == 1 then
        local start = '-'
        local groups = redis.pcall('XINFO', 'GROUPS', stream)
        if type(groups) == 'table' and groups.err == nil then
            for _, group in ipairs(groups) do
                local name, last = nil, nil
                for j = 1, #group, 2 do
                    if group[j] == 'name' then name = group[j + 1] end
                    if group[j] == 'last-delivered-id' then last = group[j + 1] end
                end
                if name == ARGV[1] and last ~= nil then
                    start = '(' .. last
                end
            end
        end
        local entries = redis.call('XRANGE', stream, start, '+', 'COUNT', limit - deleted)
        for _, entry in ipairs(entries) do
            deleted = deleted + redis.call('XDEL', stream, entry[1])
        end
    end
end
return deleted
