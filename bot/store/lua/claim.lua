-- claim: worker A.actor starts running the request (claim) when it heads its lane, and holds
-- its lease for A.lease_seconds.
-- Answers {outcome = running | waiting (head) | not_queued (state, '' when missing)}.
local state = state_of(K.req)
if not can(state, 'claim') then return answer({outcome = 'not_queued', state = state}) end
local id = redis.call('HGET', K.req, 'id')
local head = redis.call('LINDEX', K.lane, 0)
if head ~= id then return answer({outcome = 'waiting', head = head or ''}) end
redis.call('HSET', K.req, 'started_at', A.now, 'worker', A.actor)
redis.call('SET', K.lease, A.actor, 'EX', A.lease_seconds)
redis.call('SADD', K.running, id)
move(K.req, 'claim', '')
return answer({outcome = 'running'})
