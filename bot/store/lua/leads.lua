-- leads: the lead times (A.leads, a JSON list of seconds, or '' when its commits could not be
-- told) of the commits request A.id shipped, into its day's aggregates (K.day, K.day_all) and
-- the Prometheus histogram (A.bounds), once: A.record is kept in K.records under A.id for
-- rebuilds. Answers 1 when recorded, 0 when it had been. A.replay = '1': a rebuild's, into the
-- day aggregates only (its record stays as it is; the histogram counted it when recorded).
local replay = A.replay == '1'
if not replay and redis.call('HSETNX', K.records, A.id, A.record) == 0 then return 0 end
if A.leads == '' then
  both('lead_unknown', 1)
  return 1
end
local bounds = cjson.decode(A.bounds)
both('lead_deploys', 1)
for _, seconds in ipairs(cjson.decode(A.leads)) do
  local took = math.max(0, tonumber(seconds))
  both('lead:' .. bucket(took), 1)
  both_float('lead_sum', took)
  if not replay then observe('lead', A.labels, took, bounds) end
end
return 1
