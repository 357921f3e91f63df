-- claim: worker A.actor starts running the request (claim) when it heads its lane, and holds
-- its lease for A.lease_seconds. A.attempt names this try to run it: the same attempt again
-- (a retry whose answer was lost) is answered running again and changes nothing.
-- Answers {outcome = running | waiting (head) | not_queued (state, '' when missing)}.
local state = state_of(K.req)
local claimed = redis.call('HMGET', K.req, 'worker', 'attempt')
if state == 'running' and A.attempt ~= '' and claimed[1] == A.actor and claimed[2] == A.attempt then
  return answer({outcome = 'running'})
end
if not can(state, 'claim') then return answer({outcome = 'not_queued', state = state}) end
local id = redis.call('HGET', K.req, 'id')
local head = redis.call('LINDEX', K.lane, 0)
if head ~= id then return answer({outcome = 'waiting', head = head or ''}) end
redis.call('HSET', K.req, 'started_at', A.now, 'worker', A.actor, 'attempt', A.attempt)
redis.call('SET', K.lease, A.actor, 'EX', A.lease_seconds)
redis.call('SADD', K.running, id)
redis.call('SREM', K.urgent, id)
move(K.req, 'claim', '')
return answer({outcome = 'running'})
