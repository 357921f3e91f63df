-- renew: worker A.worker extends its lease on a running request by A.lease_seconds.
-- Answers 'held', or 'lost' when the request is no longer this worker's to run (the sweep
-- ended it): the worker must stop. Each outcome is counted in K.figures, with the A.unreached
-- renewals this process could not send while Redis was away.
if tonumber(A.unreached) > 0 then
  redis.call('HINCRBY', K.figures, 'renewals|redis_unavailable', A.unreached)
end
local held = redis.call('HGET', K.req, 'state') == 'running'
  and redis.call('HGET', K.req, 'worker') == A.worker
if not held then
  redis.call('HINCRBY', K.figures, 'renewals|lost', 1)
  return 'lost'
end
redis.call('SET', K.lease, A.worker, 'EX', A.lease_seconds)
redis.call('HINCRBY', K.figures, 'renewals|renewed', 1)
return 'held'
