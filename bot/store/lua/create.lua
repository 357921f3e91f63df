-- create: a new request, pending; with no approval needed, approved by shipbot and queued at
-- once (create, quorum, enqueue; an emergency ahead of what does not run yet). Also says which
-- workers are alive (heartbeats within A.gone_after seconds, by Redis's clock). Given its jobs
-- (A.job_expires not ''), it also hands the request to the workers, in the same step: its run
-- job when it heads its lane, else its announce job (post its card), written as arq's
-- enqueue_job writes a job: data under the job key (PX A.job_expires), its id in K.jobs scored
-- A.run_at (ms), unless that job or its result exists already.
-- With A.unrestrained, a new delivery is recorded only while the environment has no lock and
-- no chat freeze (the usual case, so the ack path reads them in this same round trip);
-- otherwise nothing is written and the caller judges them (bot/domain/admission.py).
-- Answers {outcome = 'created', state, head, ahead, alive, newest, handed_over},
-- {outcome = 'replay'} or {outcome = 'restrained'}.
if A.unrestrained ~= '' and (K.seen == '' or redis.call('EXISTS', K.seen) == 0)
    and redis.call('EXISTS', K.lock, K.freeze_all, K.freeze_service) > 0 then
  return answer({outcome = 'restrained'})
end
if replayed() then return answer({outcome = 'replay'}) end
if state_of(K.req) ~= '' then error('shipbot: request id ' .. A.id .. ' exists') end
local fields = {}  -- A.fields: one JSON object of strings, field -> value
for name, value in pairs(cjson.decode(A.fields)) do
  fields[#fields + 1] = name
  fields[#fields + 1] = value
end
redis.call('HSET', K.req, unpack(fields))
redis.call('ZADD', K.open, A.now, A.id)
local hotfix = redis.call('HGET', K.req, 'hotfix') == '1' and ' (hotfix)' or ''
local emergency = redis.call('HGET', K.req, 'emergency') or ''
emergency = emergency ~= '' and (' (emergency, freeze broken: ' .. emergency .. ')') or ''
move(K.req, 'create', redis.call('HGET', K.req, 'version') .. hotfix .. emergency)
local created = {outcome = 'created', state = 'pending', head = '', ahead = ''}
created.alive = redis.call('ZCOUNT', K.workers, redis.call('TIME')[1] - A.gone_after, '+inf')
created.newest = redis.call('ZREVRANGE', K.workers, 0, 0, 'WITHSCORES')[2] or ''
if tonumber(redis.call('HGET', K.req, 'approvals_needed')) == 0 then
  created.head, created.ahead = enqueue('no approval needed', 'shipbot')
  created.state = 'queued'
end
created.handed_over = A.job_expires ~= ''
if created.handed_over then
  local key, result, id, data = K.announce_job, K.announce_result, A.announce_id, A.announce_data
  if created.state == 'queued' and created.head == A.id then
    key, result, id, data = K.start_job, K.start_result, A.start_id, A.start_data
  end
  if redis.call('EXISTS', key, result) == 0 then
    redis.call('PSETEX', key, A.job_expires, data)
    redis.call('ZADD', K.jobs, A.run_at, id)
  end
end
return answer(created)
