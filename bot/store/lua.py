"""Lua scripts that make every request transition atomic in Redis.

Each script receives its keys from bot/store/requests.py, named by bot/store/keys.py (the only
module that knows key names), and returns a list whose first element names the outcome. Every
transition appends to the audit stream in the same script, so the audit can never disagree with
the state.

Scripts that act on a person's request (create, approve, reject, cancel) take the Slack
delivery's "seen" key last: the mark and the transition are one step, so a Slack retry or a
replayed request is answered {'replay'} and changes nothing, and a failed transition never
leaves a mark that would swallow the retry.
"""

SEEN_TTL = 600  # seconds; longer than Slack's 5-minute signature window
ENDED_TTL = 90 * 24 * 3600  # an ended request is kept 90 days (history and audit stay longer)

# KEYS[1] request hash, KEYS[2] audit stream, KEYS[#KEYS] seen key or ''; ARGV[1] actor, ARGV[2] now
_AUDIT = f"""
local function replayed()
  local seen = KEYS[#KEYS]
  return seen ~= '' and not redis.call('SET', seen, '1', 'NX', 'EX', {SEEN_TTL})
end
""" + """
local function audit(event, detail, actor)
  local req = redis.call('HMGET', KEYS[1], 'id', 'service', 'environment')
  redis.call('XADD', KEYS[2], '*', 'at', ARGV[2], 'actor', actor or ARGV[1], 'event', event,
    'request_id', req[1] or '', 'service', req[2] or '', 'environment', req[3] or '',
    'detail', detail or '')
end
local function enqueue(lane, id, approver, why)
  redis.call('HSET', KEYS[1], 'state', 'approved')
  audit('approved', why, approver)
  redis.call('HSET', KEYS[1], 'state', 'queued')
  redis.call('RPUSH', lane, id)
  local head = redis.call('LINDEX', lane, 0)
  audit('queued', head == id and '' or ('behind ' .. head))
  return head
end
local function close(open, state, detail)
  redis.call('HSET', KEYS[1], 'state', state, 'finished_at', ARGV[2])
  redis.call('ZREM', open, redis.call('HGET', KEYS[1], 'id'))
  redis.call('EXPIRE', KEYS[1], ENDED_TTL)
  audit(state, detail)
end
""".replace("ENDED_TTL", str(ENDED_TTL))

# KEYS: req, audit, lane, open, workers, seen; ARGV: actor, now, id, gone after (seconds
# without a heartbeat, by Redis's clock, after which a worker counts as gone), then
# field/value pairs.
# {state, lane head or '', the request just ahead or '', workers alive, newest heartbeat or ''}
CREATE = (
    _AUDIT
    + """
if replayed() then return {'replay'} end
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
redis.call('ZADD', KEYS[4], ARGV[2], ARGV[3])
audit('requested', redis.call('HGET', KEYS[1], 'version'))
local alive = redis.call('ZCOUNT', KEYS[5], redis.call('TIME')[1] - ARGV[4], '+inf')
local newest = redis.call('ZREVRANGE', KEYS[5], 0, 0, 'WITHSCORES')[2] or ''
if tonumber(redis.call('HGET', KEYS[1], 'approvals_needed')) == 0 then
  local head = enqueue(KEYS[3], ARGV[3], 'shipbot', 'no approval needed')
  local ahead = head == ARGV[3] and '' or redis.call('LINDEX', KEYS[3], -2)
  return {'queued', head, ahead, alive, newest}
end
return {'pending', '', '', alive, newest}
"""
)

# KEYS: req, audit, approvers, lane, open, seen; ARGV: actor, now
APPROVE = (
    _AUDIT
    + """
if replayed() then return {'replay'} end
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {'missing'} end
if state ~= 'pending' then return {'closed', state} end
if tonumber(ARGV[2]) > tonumber(redis.call('HGET', KEYS[1], 'expires_at')) then
  close(KEYS[5], 'expired', 'no quorum before expiry')
  return {'expired'}
end
if redis.call('ZADD', KEYS[3], 'NX', ARGV[2], ARGV[1]) == 0 then return {'duplicate'} end
audit('approval', '')
local count = redis.call('ZCARD', KEYS[3])
local needed = tonumber(redis.call('HGET', KEYS[1], 'approvals_needed'))
if count < needed then return {'recorded', tostring(count)} end
local quorum = count .. ' of ' .. needed .. ' approvals'
return {'queued', enqueue(KEYS[4], redis.call('HGET', KEYS[1], 'id'), nil, quorum)}
"""
)

# KEYS: req, audit, open, lane, seen; ARGV: actor, now, new state (rejected|cancelled),
# only_requester (a pending request), queued_too (the caller checked that the actor may end a
# queued one). A queued request leaves its lane: {'ended', the lane's new head when it was
# the head (to be started) or '', the request that was just behind it or ''}.
END = (
    _AUDIT
    + """
if replayed() then return {'replay'} end
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {'missing'} end
local queued = state == 'queued' and ARGV[5] == '1'
if state ~= 'pending' and not queued then return {'closed', state} end
if not queued and ARGV[4] == '1' and redis.call('HGET', KEYS[1], 'requester') ~= ARGV[1] then
  return {'not_requester'}
end
local by = ARGV[3] == 'rejected' and 'rejected_by' or 'cancelled_by'
redis.call('HSET', KEYS[1], by, ARGV[1])
local start, behind = '', ''
if queued then
  local id = redis.call('HGET', KEYS[1], 'id')
  local at = redis.call('LPOS', KEYS[4], id)
  behind = at and redis.call('LINDEX', KEYS[4], at + 1) or ''
  redis.call('LREM', KEYS[4], 0, id)
  start = at == 0 and (redis.call('LINDEX', KEYS[4], 0) or '') or ''
end
close(KEYS[3], ARGV[3], queued and 'while queued' or '')
return {'ended', start, behind}
"""
)

# KEYS: req, audit, lane, lease, running; ARGV: actor, now, lease seconds
CLAIM = (
    _AUDIT
    + """
local state = redis.call('HGET', KEYS[1], 'state')
if state ~= 'queued' then return {'not_queued', state or 'missing'} end
local id = redis.call('HGET', KEYS[1], 'id')
local head = redis.call('LINDEX', KEYS[3], 0)
if head ~= id then return {'waiting', head or ''} end
redis.call('HSET', KEYS[1], 'state', 'running', 'started_at', ARGV[2], 'worker', ARGV[1])
redis.call('SET', KEYS[4], ARGV[1], 'EX', ARGV[3])
redis.call('SADD', KEYS[5], id)
audit('running', '')
return {'running'}
"""
)

# KEYS: req, audit, lane, open, lease, running; ARGV: actor, now, final state, failure
FINISH = (
    _AUDIT
    + """
local state = redis.call('HGET', KEYS[1], 'state')
if state ~= 'running' then return {'not_running', state or 'missing'} end
redis.call('HSET', KEYS[1], 'failure', ARGV[4])
close(KEYS[4], ARGV[3], ARGV[4])
local id = redis.call('HGET', KEYS[1], 'id')
redis.call('LREM', KEYS[3], 0, id)
redis.call('DEL', KEYS[5])
redis.call('SREM', KEYS[6], id)
return {'finished', redis.call('LINDEX', KEYS[3], 0) or ''}
"""
)

# KEYS: req, audit, seen; ARGV: actor, now
STOP = (
    _AUDIT
    + """
if replayed() then return {'replay'} end
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {'missing'} end
if state ~= 'running' then return {'closed', state} end
local by = redis.call('HGET', KEYS[1], 'stop_requested_by')
if by and by ~= '' then return {'duplicate', by} end
redis.call('HSET', KEYS[1], 'stop_requested_by', ARGV[1])
audit('stop_requested', '')
return {'stopping'}
"""
)

# KEYS: req, audit, open; ARGV: actor, now
EXPIRE = (
    _AUDIT
    + """
if redis.call('HGET', KEYS[1], 'state') ~= 'pending' then return {'not_pending'} end
if tonumber(ARGV[2]) <= tonumber(redis.call('HGET', KEYS[1], 'expires_at')) then
  return {'not_due'}
end
close(KEYS[3], 'expired', 'no quorum before expiry')
return {'expired'}
"""
)

# KEYS: req, lease; ARGV: worker, lease seconds. 'lost' when the request is no longer this
# worker's to run (the sweep ended it): the worker must stop.
RENEW = """
if redis.call('HGET', KEYS[1], 'state') ~= 'running' then return 'lost' end
if redis.call('HGET', KEYS[1], 'worker') ~= ARGV[1] then return 'lost' end
redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[2])
return 'held'
"""

# KEYS: undone request, audit, undone set; ARGV: actor (who asked for the rollback), now,
# the rollback's id
ROLLED_BACK = (
    _AUDIT
    + """
if redis.call('HGET', KEYS[1], 'state') == 'succeeded' then
  redis.call('HSET', KEYS[1], 'state', 'rolled_back')
end
redis.call('SADD', KEYS[3], redis.call('HGET', KEYS[1], 'id') or '')
audit('rolled_back', 'by rollback ' .. ARGV[3])
return 'ok'
"""
)

# KEYS: current; ARGV: when, what (Deployed JSON), then the targets. A target is only set when
# what it runs now was put there earlier (a late or repeated webhook never goes back in time).
CURRENT_IF_NEWER = """
local changed = 0
for i = 3, #ARGV do
  local old = redis.call('HGET', KEYS[1], ARGV[i])
  if not old or tonumber(cjson.decode(old)['at']) < tonumber(ARGV[1]) then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[2])
    changed = changed + 1
  end
end
return changed
"""
