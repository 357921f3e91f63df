-- trim_audit: drop up to A.chunk audit entries older than the stream id A.before (retention),
-- with their request-index members, and leave K.audit_anchor: the seq, hash and stream id of
-- the last entry dropped, and when (A.now), so the entries kept still verify from there.
-- Answers how many went (fewer than A.chunk: none older is left).
local old = redis.call('XRANGE', K.audit, '-', '(' .. A.before, 'COUNT', A.chunk)
if #old == 0 then return 0 end
local last = old[#old]
local fields
for _, entry in ipairs(old) do
  local f = entry[2]
  fields = {}
  for i = 1, #f, 2 do fields[f[i]] = f[i + 1] end
  if (fields.request_id or '') ~= '' then
    redis.call('ZREM', K.audit_index, fields.request_id .. '|' .. entry[1])
  end
end
local kept = redis.call('XRANGE', K.audit, '(' .. last[1], '+', 'COUNT', 1)[1]
if kept then
  redis.call('XTRIM', K.audit, 'MINID', kept[1])
else
  -- every entry was due: the stream is left empty, its head key still names the last
  for _, entry in ipairs(old) do redis.call('XDEL', K.audit, entry[1]) end
end
redis.call('HSET', K.audit_anchor, 'seq', fields.seq or '', 'hash', fields.hash or '',
  'id', last[1], 'trimmed_at', A.now)
return #old
