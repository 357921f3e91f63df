-- approve: A.actor approves (approve); A.eligible is a JSON list of the request's rules they may
-- count for (0-based indices into its `rules`). Each rule needs its own count of distinct
-- approvers and each approver counts for at most one rule, so whether the approvals meet every
-- rule is a matching of approvers to rule seats: the largest one is found by augmenting paths
-- (a few people, a few rules). When it fills every seat the request is approved and queued
-- (quorum, enqueue: an emergency ahead of what does not run yet). Who met which rule is kept
-- in `assigned`, each approver's rules in `eligible` (both JSON in the request's hash). A request without `rules` (made before they
-- were kept) has one rule of `approvals_needed`, which every approver may count for.
-- Past its window the request expires instead (expire).
-- Answers {outcome = recorded (count, counted: whether this approval counted for a rule)
-- | queued (head, passed: the request an emergency went ahead of) | duplicate | expired | closed (state) | missing | replay}.
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

local seats, total = {}, 0 -- seats[rule] = approvals it needs (rules 1-based here)
local kept = redis.call('HGET', K.req, 'rules')
local legacy = not kept or kept == '' or kept == '[]'
if legacy then
  seats[1] = tonumber(redis.call('HGET', K.req, 'approvals_needed'))
else
  for i, rule in ipairs(cjson.decode(kept)) do seats[i] = tonumber(rule.approvals) end
end
for _, n in ipairs(seats) do total = total + n end

local eligible = cjson.decode(redis.call('HGET', K.req, 'eligible') or '{}')
eligible[A.actor] = cjson.decode(A.eligible)
redis.call('HSET', K.req, 'eligible', cjson.encode(eligible))

local holders, assigned = {}, {}
for i = 1, #seats do holders[i] = {} end

-- Seat `who` in a rule they may count for, moving others along an augmenting path if need be.
local function seat(who, seen)
  local rules = eligible[who] or (legacy and {0}) or {}
  for _, index in ipairs(rules) do
    local r = tonumber(index) + 1
    if seats[r] and not seen[r] then
      seen[r] = true
      if #holders[r] < seats[r] then
        table.insert(holders[r], who)
        assigned[who] = r
        return true
      end
      for k, other in ipairs(holders[r]) do
        if seat(other, seen) then
          holders[r][k] = who
          assigned[who] = r
          return true
        end
      end
    end
  end
  return false
end

local count = 0
for _, who in ipairs(redis.call('ZRANGE', K.approvers, 0, -1)) do
  if who ~= A.actor and seat(who, {}) then count = count + 1 end
end
local counted = seat(A.actor, {})
if counted then count = count + 1 end
local met = {}
for who, r in pairs(assigned) do met[who] = r - 1 end
redis.call('HSET', K.req, 'assigned', next(met) and cjson.encode(met) or '{}')

local detail = ''
if #seats > 1 then
  detail = counted and ('counts for rule ' .. assigned[A.actor]) or 'counts for no rule not met'
end
move(K.req, 'approve', detail)
if count < total then return answer({outcome = 'recorded', count = count, counted = counted}) end
local head, _, passed = enqueue(count .. ' of ' .. total .. ' approvals')
return answer({outcome = 'queued', head = head, passed = passed or ''})
