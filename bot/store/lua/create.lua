-- create: a new request, pending; with no approval needed, approved by shipbot and queued at
-- once (create, quorum, enqueue; an emergency ahead of what does not run yet). Also says which
-- workers are alive (heartbeats within A.gone_after seconds, by Redis's clock).
-- Answers {outcome = 'created', state, head, ahead, alive, newest} or {outcome = 'replay'}.
if replayed() then return answer({outcome = 'replay'}) end
if state_of(K.req) ~= '' then error('shipbot: request id ' .. A.id .. ' exists') end
redis.call('HSET', K.req, unpack(A.fields))
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
return answer(created)
