-- Delivery metrics, shared by finish, external and replay (bot/store/scripts.py puts it after
-- the prelude). record_metrics(M) adds a run that ended to the running totals (K.tally) and,
-- in a production environment, to the day aggregates: K.day and K.day_all (this day, of the
-- service and of all services), K.marked_day and K.marked_day_all (the day of the earlier
-- deploy it shows failed), K.mstate (latest release, open failure), K.flagged (deploys
-- counted as failed changes, each once). M (JSON, bot/store/metrics.py): service,
-- environment, id, action, state, version, at, started_at, created_at, production, not_run,
-- hotfix, outside, tally, day, marks, marks_at, why, and the Prometheus bounds.

local function bucket(seconds)
  if seconds < 1 then return 0 end
  local i = math.floor(PER_DOUBLING * math.log(seconds) / math.log(2))
  if i > BUCKETS - 1 then return BUCKETS - 1 end
  return i
end

local SPANS = {{K.day, K.week}, {K.day_all, K.week_all}}  -- the service's, all services'

local function both(field, n)
  for _, span in ipairs(SPANS) do
    redis.call('HINCRBY', span[1], field, n)
    redis.call('HINCRBY', span[2], field, n)
  end
end

local function both_float(field, x)
  for _, span in ipairs(SPANS) do
    redis.call('HINCRBYFLOAT', span[1], field, x)
    redis.call('HINCRBYFLOAT', span[2], field, x)
  end
end

-- A successful deploy; the day's first also counts as a deploy day of its week.
local function succeeded()
  for _, span in ipairs(SPANS) do
    redis.call('HINCRBY', span[2], 'succeeded', 1)
    if redis.call('HINCRBY', span[1], 'succeeded', 1) == 1 then
      redis.call('HINCRBY', span[1], 'deploy_days', 1)
      redis.call('HINCRBY', span[2], 'deploy_days', 1)
    end
  end
end

-- A Prometheus histogram in K.tally: one count per bound (index #bounds: above them all).
local function observe(name, labels, value, bounds)
  local index = #bounds
  for i, bound in ipairs(bounds) do
    if value <= bound then index = i - 1 break end
  end
  redis.call('HINCRBY', K.tally, name .. '|' .. labels .. '|' .. index, 1)
  redis.call('HINCRBYFLOAT', K.tally, name .. '_sum|' .. labels, value)
end

-- The failure that started at `at` stays open until the next success (the earliest one wins).
local function open_failure(at)
  local open = tonumber(redis.call('HGET', K.mstate, 'open_failure_at') or '')
  if not open or at < open then redis.call('HSET', K.mstate, 'open_failure_at', at) end
end

-- An earlier deploy this run shows failed (undone by a rollback, mended by a hotfix), counted
-- once, on its own day; answers when it ended (its failure started then), or nil.
local function mark_earlier(M)
  if M.marks == '' then return nil end
  if M.why == 'hotfixed' then
    if redis.call('HGET', K.mstate, 'last_id') ~= M.marks then
      return nil  -- another release came in between: the hotfix mends that one, not this
    end
    if redis.call('HEXISTS', K.mstate, 'open_failure_at') == 1 then
      return nil  -- a failed deploy since: the hotfix mends that failure, already counted
    end
  end
  if redis.call('SADD', K.flagged, M.marks) == 0 then return nil end
  for _, key in ipairs({K.marked_day, K.marked_day_all, K.marked_week, K.marked_week_all}) do
    redis.call('HINCRBY', key, M.why, 1)
    redis.call('HINCRBY', key, 'change_failed', 1)
  end
  return tonumber(M.marks_at)
end

-- A success ends the open failure, if any: its recovery time goes in today's buckets.
local function recovered(M)
  local open = tonumber(redis.call('HGET', K.mstate, 'open_failure_at') or '')
  if not open then return end
  local took = math.max(0, tonumber(M.at) - open)
  both('rec:' .. bucket(took), 1)
  both_float('rec_sum', took)
  redis.call('HDEL', K.mstate, 'open_failure_at')
end

local function tally(M)
  local labels = M.service .. '|' .. M.environment
  redis.call('HINCRBY', K.tally, 'deploys|' .. labels .. '|' .. M.action .. '|' .. M.state, 1)
  if tonumber(M.started_at) > 0 then
    observe('duration', labels, tonumber(M.at) - tonumber(M.started_at), M.duration_bounds)
  end
  if K.approvers ~= '' and tonumber(M.created_at) > 0 then
    local last = redis.call('ZRANGE', K.approvers, -1, -1, 'WITHSCORES')
    if last[2] then
      observe('wait', labels, math.max(0, tonumber(last[2]) - tonumber(M.created_at)),
        M.wait_bounds)
    end
  end
end

local function record_metrics(M)
  if M.tally then tally(M) end
  if not M.production or M.not_run then return end
  if M.action == 'rollback' then
    both('rollbacks', 1)
    local since = mark_earlier(M)
    if since then open_failure(since) end
    if M.state == 'succeeded' then recovered(M) end
    return
  end
  both('ended', 1)
  if M.state == 'succeeded' then succeeded() else both(M.state, 1) end  -- failed | rolled_back
  if M.outside then both('outside', 1) end
  if M.hotfix then both('hotfix', 1) end
  local since = mark_earlier(M)
  if since then open_failure(since) end
  if M.state ~= 'succeeded' then
    redis.call('SADD', K.flagged, M.id)
    both('change_failed', 1)
    open_failure(tonumber(M.at))
    return
  end
  recovered(M)
  redis.call('HSET', K.mstate, 'last_id', M.id, 'last_day', M.day, 'last_at', M.at,
    'last_version', M.version)
end
