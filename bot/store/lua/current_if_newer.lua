-- current_if_newer: each of A.targets now runs A.what (a Deployed, JSON) put there at A.at,
-- unless what it runs was put there later: a late or repeated webhook never goes back in time.
-- Answers how many targets changed.
local changed = 0
for _, target in ipairs(A.targets) do
  local old = redis.call('HGET', K.current, target)
  if not old or tonumber(cjson.decode(old)['at']) < tonumber(A.at) then
    redis.call('HSET', K.current, target, A.what)
    changed = changed + 1
  end
end
return changed
