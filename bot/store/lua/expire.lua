-- expire: a pending request whose approval window has passed (expire).
-- Answers {outcome = expired | not_pending | not_due}.
if not can(state_of(K.req), 'expire') then return answer({outcome = 'not_pending'}) end
if tonumber(A.now) <= tonumber(redis.call('HGET', K.req, 'expires_at')) then
  return answer({outcome = 'not_due'})
end
close('expire', 'no quorum before expiry')
return answer({outcome = 'expired'})
