-- stop: A.actor asks the worker running the request to stop (stop); it stays running until
-- the worker ends it.
-- Answers {outcome = stopping | duplicate (by) | closed (state) | missing | replay}.
if replayed() then return answer({outcome = 'replay'}) end
local state = redis.call('HGET', K.req, 'state')
if not state then return answer({outcome = 'missing'}) end
if not can(state, 'stop') then return answer({outcome = 'closed', state = state}) end
local by = redis.call('HGET', K.req, 'stop_requested_by')
if by and by ~= '' then return answer({outcome = 'duplicate', by = by}) end
redis.call('HSET', K.req, 'stop_requested_by', A.actor)
move(K.req, 'stop', '')
return answer({outcome = 'stopping'})
