-- Shared by every script that changes requests. Before it, bot/store/scripts.py puts K (keys by
-- name), A (arguments by name), the constants, and MOVES and AUDIT: the transition table of
-- bot/machine.py. A request's state changes only through move(), so only as the table says.

-- The answer to the caller, decoded by bot/store/answers.py.
local function answer(fields)
  return cjson.encode(fields)
end

-- True when this Slack delivery (K.seen, '' for none) was seen before: a retry or a replay,
-- which changes nothing. Otherwise marks it seen, in the same step as the transition.
local function replayed()
  return K.seen ~= '' and not redis.call('SET', K.seen, '1', 'NX', 'EX', SEEN_TTL)
end

-- One entry of the hash-chained audit trail (see _chain.lua) about request req.
local function audit(req, event, detail, actor)
  local r = redis.call('HMGET', req, 'id', 'service', 'environment')
  chain_append({at = A.now, actor = actor or A.actor, event = event, request_id = r[1] or '',
    service = r[2] or '', environment = r[3] or '', detail = detail or ''})
end

local function state_of(req)
  return redis.call('HGET', req, 'state') or ''
end

-- Whether the table lets event happen to a request in state ('' for none).
local function can(state, event)
  return MOVES[state] ~= nil and MOVES[state][event] ~= nil
end

-- Whether the table lets only `who` cause event in state.
local function only(state, event, who)
  local allowed = MOVES[state][event].who
  for name in pairs(allowed) do
    if name ~= who then return false end
  end
  return allowed[who] == true
end

-- The one way to change a request's state: event, from the state it is in, to the state the
-- table says, audited under the table's name. A move the table does not list is a bug: the
-- script stops with an error.
local function move(req, event, detail, actor)
  local from = state_of(req)
  local row = MOVES[from] and MOVES[from][event]
  if not row then
    error('shipbot: no transition ' .. event .. ' from "' .. from .. '"')
  end
  redis.call('HSET', req, 'state', row.to)
  audit(req, row.audit, detail, actor)
  return row.to
end

-- Audit event for a release that is no request on record (run outside shipbot, or forgotten):
-- the audit trail says what happened; there is no state to change.
local function noted(req, event, detail, actor)
  audit(req, AUDIT[event], detail, actor)
end

-- Approved (by approver, nil: A.actor) and queued in K.lane, at its end; an emergency goes
-- ahead of the first request there that is neither running (K.running) nor an emergency queued
-- before it (K.urgent), such as a head waiting out a freeze, so that break-glass starts next
-- (emergencies in the order they came) and those it passed keep their order behind it. Returns the lane's head, the request right ahead of this one ('' when none) and
-- the one it passed (nil when none).
local function enqueue(detail, approver)
  local id = redis.call('HGET', K.req, 'id')
  move(K.req, 'quorum', detail, approver)
  local passed = nil
  if (redis.call('HGET', K.req, 'emergency') or '') ~= '' then
    for _, other in ipairs(redis.call('LRANGE', K.lane, 0, -1)) do
      local first = redis.call('SISMEMBER', K.running, other) == 0
      if first and redis.call('SISMEMBER', K.urgent, other) == 0 then passed = other break end
    end
    redis.call('SADD', K.urgent, id)
    redis.call('EXPIRE', K.urgent, ENDED_TTL)
  end
  if passed then
    redis.call('LINSERT', K.lane, 'BEFORE', passed, id)
  else
    redis.call('RPUSH', K.lane, id)
  end
  local head, at = redis.call('LINDEX', K.lane, 0), redis.call('LPOS', K.lane, id)
  local ahead = at > 0 and redis.call('LINDEX', K.lane, at - 1) or ''
  local where = head == id and '' or ('behind ' .. head)
  if passed then
    where = (where == '' and '' or (where .. ', ')) .. 'ahead of ' .. passed .. ' (emergency)'
  end
  move(K.req, 'enqueue', where)
  return head, ahead, passed
end

-- End K.req by event: it leaves the open requests, and it and its approvers are kept ENDED_TTL.
-- Returns its final state.
local function close(event, detail)
  local final = move(K.req, event, detail)
  redis.call('HSET', K.req, 'finished_at', A.now)
  redis.call('ZREM', K.open, redis.call('HGET', K.req, 'id'))
  redis.call('EXPIRE', K.req, ENDED_TTL)
  redis.call('EXPIRE', K.approvers, ENDED_TTL)
  return final
end
