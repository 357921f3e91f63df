-- trim_audit: drop up to A.chunk audit entries older than the stream id A.before (retention),
-- with their request-index members, and leave K.audit_anchor: the seq, hash and stream id of
-- the last entry dropped, and when (A.now), so the entries kept still verify from there. In
-- the same step, a `retention` entry by shipbot, which names that anchor and how many went
-- (bot/ports/audit.py RETENTION), goes to the trail's inbox, to be chained like any other
-- (Store.trim_audit chains the inbox before and after): an anchor moved by hand names no
-- retention entry, so deleting the oldest entries is caught. Answers how many went (fewer
-- than A.chunk: none older is left).
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
  for _, entry in ipairs(old) do redis.call('XDEL', K.audit, entry[1]) end
end
local seq, hash = fields.seq or '', fields.hash or ''
if seq == '' then return #old end  -- written before the chain: nothing chained to anchor to
redis.call('HSET', K.audit_anchor, 'seq', seq, 'hash', hash, 'id', last[1], 'trimmed_at', A.now)
local detail = string.format('trimmed %d entries (retention); anchor seq %s, hash %s, entry %s',
  #old, seq, hash, last[1])
chain_append({at = A.now, actor = 'shipbot', event = 'retention', request_id = '', service = '',
  environment = '', detail = detail})
return #old
