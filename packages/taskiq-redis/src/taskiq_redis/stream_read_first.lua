-- Read new entries from the most urgent non-empty priority stream only, so a
-- lower priority is never fetched while a higher one has work waiting.
-- KEYS: streams, most urgent first; ARGV[1] group; ARGV[2] consumer; ARGV[3] count.
-- Returns {stream, {{id, fields}, ...}} or false when every stream is empty.
for _, stream in ipairs(KEYS) do
    local reply = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', ARGV[3],
        'STREAMS', stream, '>')
    if reply and reply[1] and #reply[1][2] > 0 then
        return reply[1]
    end
end
return false
