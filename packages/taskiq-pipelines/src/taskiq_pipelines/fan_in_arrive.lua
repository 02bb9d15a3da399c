-- KEYS[1]: the set of arrived members; KEYS[2]: the member that completed it.
-- ARGV: member, total, ttl in ms. Returns 1 when ARGV[1] is (or was) the completing member.
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
if redis.call('SCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[3])
end
if redis.call('GET', KEYS[2]) == ARGV[1] then
  return 1
end
return 0
