-- renew: worker A.worker extends its lease on a running request by A.lease_seconds.
-- Answers 'held', or 'lost' when the request is no longer this worker's to run (the sweep
-- ended it): the worker must stop.
if redis.call('HGET', K.req, 'state') ~= 'running' then return 'lost' end
if redis.call('HGET', K.req, 'worker') ~= A.worker then return 'lost' end
redis.call('SET', K.lease, A.worker, 'EX', A.lease_seconds)
return 'held'
