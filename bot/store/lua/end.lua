-- end: reject or cancel (A.event) by A.actor. A pending request is cancelled only by its
-- requester (the table's who); a queued one only with A.queued_too = '1' (the caller checked
-- that the actor may), and it leaves its lane.
-- Answers {outcome = ended (start: the lane's new head when it headed it, to be started;
-- behind: the request just behind it) | not_requester | closed (state) | missing | replay}.
if replayed() then return answer({outcome = 'replay'}) end
local state = redis.call('HGET', K.req, 'state')
if not state then return answer({outcome = 'missing'}) end
if not can(state, A.event) or (state == 'queued' and A.queued_too ~= '1') then
  return answer({outcome = 'closed', state = state})
end
if only(state, A.event, 'requester') and redis.call('HGET', K.req, 'requester') ~= A.actor then
  return answer({outcome = 'not_requester'})
end
redis.call('HSET', K.req, A.event == 'reject' and 'rejected_by' or 'cancelled_by', A.actor)
local start, behind = '', ''
if state == 'queued' then
  local id = redis.call('HGET', K.req, 'id')
  local at = redis.call('LPOS', K.lane, id)
  behind = at and redis.call('LINDEX', K.lane, at + 1) or ''
  redis.call('LREM', K.lane, 0, id)
  start = at == 0 and (redis.call('LINDEX', K.lane, 0) or '') or ''
end
close(A.event, state == 'queued' and 'while queued' or '')
return answer({outcome = 'ended', start = start, behind = behind})
