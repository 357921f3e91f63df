-- chain: move the oldest entries of K.audit_inbox to the hash chain K.audit, in inbox order,
-- with the hashes the caller computed for them (bot/store/audit_inbox.py, by the rule of
-- bot/ports/audit.py canonical()), provided the chain still ends where the caller read it
-- (A.seq, A.hash: K.audit_head's seq and hash as read, '' for none) and the inbox still
-- starts with the entries it hashed (A.links: id, hash, id, hash, ...). The content chained is
-- the inbox's, read here; only the hashes come from the caller. Each entry gets seq and prev,
-- keeps its inbox stream id (a new one only if the chain already ends past it), goes in
-- K.audit_index when it is about a request, and leaves the inbox; the head moves to the last.
-- All in this one step: a chainer that dies loses nothing. Answers {outcome = 'chained',
-- count, more} (more: entries are still waiting) or {outcome = 'moved'} (another chainer
-- went first: read again).
local ZERO_HASH = string.rep('0', 64)
local moved = cjson.encode({outcome = 'moved'})
local head = redis.call('HMGET', K.audit_head, 'seq', 'hash')
if (head[1] or '') ~= A.seq or (head[2] or '') ~= A.hash then return moved end
local count = #A.links / 2
local waiting = redis.call('XRANGE', K.audit_inbox, '-', '+', 'COUNT', count)
if #waiting < count then return moved end
for i, entry in ipairs(waiting) do
  if entry[1] ~= A.links[2 * i - 1] then return moved end
  if not string.match(A.links[2 * i], '^%x+$') or #A.links[2 * i] ~= 64 then
    error('shipbot: chain: not a SHA-256 hex digest: ' .. A.links[2 * i])
  end
end
local seq, prev, id = tonumber(A.seq) or 0, A.hash ~= '' and A.hash or ZERO_HASH, ''
for i, entry in ipairs(waiting) do
  local f = {}
  for j = 1, #entry[2], 2 do f[entry[2][j]] = entry[2][j + 1] end
  seq = seq + 1
  local hash = A.links[2 * i]
  local fields = {'at', f.at or '', 'actor', f.actor or '', 'event', f.event or '',
    'request_id', f.request_id or '', 'service', f.service or '',
    'environment', f.environment or '', 'detail', f.detail or '',
    'seq', string.format('%d', seq), 'prev', prev, 'hash', hash}
  id = redis.pcall('XADD', K.audit, entry[1], unpack(fields))
  if type(id) == 'table' then  -- the chain ends past this id (a clock set back): a new one
    id = redis.call('XADD', K.audit, '*', unpack(fields))
  end
  if (f.request_id or '') ~= '' then
    redis.call('ZADD', K.audit_index, 0, f.request_id .. '|' .. id)
  end
  redis.call('XDEL', K.audit_inbox, entry[1])
  prev = hash
end
redis.call('HSET', K.audit_head, 'seq', string.format('%d', seq), 'hash', prev, 'id', id)
local more = redis.call('XLEN', K.audit_inbox) > 0
return cjson.encode({outcome = 'chained', count = count, more = more})
