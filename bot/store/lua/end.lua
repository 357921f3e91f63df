-- end: reject or cancel (A.event) by A.actor. A pending request is cancelled only by its
-- requester (the table's who); a queued one only with A.queued_too = '1' (the caller checked
-- that the actor may), and it leaves its lane. A rejection keeps A.reason on the request
-- (reject_reason) and in the audit detail, and A.entry (its history entry) in K.rejected.
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
local rejected = A.event == 'reject'
redis.call('HSET', K.req, rejected and 'rejected_by' or 'cancelled_by', A.actor)
local start, behind = '', ''
if state == 'queued' then
  local id = redis.call('HGET', K.req, 'id')
  local at = redis.call('LPOS', K.lane, id)
  behind = at and redis.call('LINDEX', K.lane, at + 1) or ''
  redis.call('LREM', K.lane, 0, id)
  redis.call('SREM', K.urgent, id)
  start = at == 0 and (redis.call('LINDEX', K.lane, 0) or '') or ''
end
if rejected then
  redis.call('HSET', K.req, 'reject_reason', A.reason)
  redis.call('LPUSH', K.rejected, A.entry)
  redis.call('LTRIM', K.rejected, 0, HISTORY_KEEP - 1)
end
close(A.event, rejected and A.reason or (state == 'queued' and 'while queued' or ''))
return answer({outcome = 'ended', start = start, behind = behind})
