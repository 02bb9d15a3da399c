-- Store one task's result together with the task-state transitions of the same turn.
-- One command instead of SET, PUBLISH, RPUSH and EXPIRE: a worker's drain parses a
-- reply per command, so this keeps task states nearly free (benchmarks/README.md).
-- KEYS[1] result key, KEYS[2] state list key
-- ARGV[1] serialized result, ARGV[2] "EX" or "PX", ARGV[3] expiry, ARGV[4] channel,
-- ARGV[5] task id, ARGV[6..] JSON transitions (oldest first)
redis.call('SET', KEYS[1], ARGV[1], ARGV[2], ARGV[3])
redis.call('RPUSH', KEYS[2], unpack(ARGV, 6))
if ARGV[2] == 'PX' then
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
else
  redis.call('EXPIRE', KEYS[2], ARGV[3])
end
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 1
