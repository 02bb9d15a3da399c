-- Park an entry until its delay has passed, timed by the Redis clock so that
-- clients and workers with skewed clocks agree.
-- KEYS[1] delayed sorted set; ARGV[1] delay in ms; ARGV[2] member
-- ("<level>\n<nonce>\n<task id>\n<task name>\n<payload>").
local now = redis.call('TIME')
local due = now[1] * 1000 + math.floor(now[2] / 1000) + tonumber(ARGV[1])
return redis.call('ZADD', KEYS[1], due, ARGV[2])
