-- finish: a run ended, in one step. A.event is succeed, fail or void (nothing run), by the
-- worker that claimed it (A.actor), or orphan, by the sweep (A.actor), whoever claimed it, once
-- its lease lapsed. Saves the final steps and failure, audits the end with A.detail (each data
-- centre's result, and the failure), ends the request (closed, out of its lane, its lease and
-- the running set), appends A.entry to the history, and when a rollback succeeded, rolls back
-- the release it undid (A.undoes, K.undone_req; by A.undoer). Idempotent: the same actor again
-- writes nothing. Adds the run to the delivery metrics (A.metrics, see _metrics.lua) in the
-- same step.
-- Answers {outcome = finished | already | not_running, next: the lane's head, to be started
-- ('' when none; always '' when not_running), state: the request's state now}.
local state = state_of(K.req)
local id = redis.call('HGET', K.req, 'id')
if state ~= 'running' then
  if state ~= '' and redis.call('HGET', K.req, 'finished_by') == A.actor then
    local head = redis.call('LINDEX', K.lane, 0) or ''
    return answer({outcome = 'already', next = head, state = state})
  end
  return answer({outcome = 'not_running', next = '', state = state})
end
if A.event ~= 'orphan' and redis.call('HGET', K.req, 'worker') ~= A.actor then
  return answer({outcome = 'not_running', next = '', state = state})
end
if A.event == 'orphan' and redis.call('EXISTS', K.lease) == 1 then
  -- its worker renewed the lease since the sweep found it lapsed: it is alive after all
  return answer({outcome = 'not_running', next = '', state = state})
end
redis.call('HSET', K.req, 'steps', A.steps, 'failure', A.failure, 'finished_by', A.actor)
local final = close(A.event, A.detail)
redis.call('LREM', K.lane, 0, id)
redis.call('DEL', K.lease)
redis.call('SREM', K.running, id)
redis.call('LPUSH', K.history, A.entry)
redis.call('LTRIM', K.history, 0, HISTORY_KEEP - 1)
if final == 'succeeded' and A.undoes ~= '' then
  local why = 'by rollback ' .. id
  if can(state_of(K.undone_req), 'roll_back') then
    move(K.undone_req, 'roll_back', why, A.undoer)
  else
    noted(K.undone_req, 'roll_back', why, A.undoer)
  end
  redis.call('SADD', K.undone, A.undoes)
end
local M = cjson.decode(A.metrics)
if final ~= 'succeeded' and M.state == 'succeeded' then M.state = final end
record_metrics(M)
return answer({outcome = 'finished', next = redis.call('LINDEX', K.lane, 0) or '', state = final})
