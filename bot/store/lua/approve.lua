-- approve: A.actor approves (approve); the last approval needed also approves and queues
-- (quorum, enqueue). Past its window the request expires instead (expire).
-- Answers {outcome = recorded (count) | queued (head) | duplicate | expired | closed (state)
-- | missing | replay}.
if replayed() then return answer({outcome = 'replay'}) end
local state = redis.call('HGET', K.req, 'state')
if not state then return answer({outcome = 'missing'}) end
if not can(state, 'approve') then return answer({outcome = 'closed', state = state}) end
if tonumber(A.now) > tonumber(redis.call('HGET', K.req, 'expires_at')) then
  close('expire', 'no quorum before expiry')
  return answer({outcome = 'expired'})
end
if redis.call('ZADD', K.approvers, 'NX', A.now, A.actor) == 0 then
  return answer({outcome = 'duplicate'})
end
move(K.req, 'approve', '')
local count = redis.call('ZCARD', K.approvers)
local needed = tonumber(redis.call('HGET', K.req, 'approvals_needed'))
if count < needed then return answer({outcome = 'recorded', count = count}) end
return answer({outcome = 'queued', head = enqueue(count .. ' of ' .. needed .. ' approvals')})
