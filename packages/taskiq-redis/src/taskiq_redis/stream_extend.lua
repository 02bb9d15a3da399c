-- Keep the lease of deliveries that are still running: reset their idle time
-- (XCLAIM ... JUSTID does not count a delivery), but only for entries this
-- consumer still owns, so a lease that was already lost is never stolen back.
-- KEYS[1] stream; ARGV[1] group; ARGV[2] consumer; ARGV[3..] entry ids.
-- Returns the ids that are still owned (and now extended).
local kept = {}
for i = 3, #ARGV do
    local pending = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
    if pending[1] and pending[1][2] == ARGV[2] then
        redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
        table.insert(kept, ARGV[i])
    end
end
return kept
