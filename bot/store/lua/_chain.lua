-- The audit trail's hash chain (after _sha256.lua). chain_append adds one entry to K.audit
-- with its place in the chain: seq (1, 2, 3, ...), prev (the hash of the entry before it, 64
-- zeros for the first) and hash, the SHA-256 of its canonical content: for each field below,
-- in this order, `name=<length in bytes>:<value>` and a newline (bot/domain/audit_chain.py
-- computes the same in Python). K.audit_head keeps the chain's head (seq, hash, stream id);
-- K.audit_index gets `<request id>|<stream id>` (score 0) for an entry about a request.
local CHAIN_FIELDS = {
  'seq', 'at', 'actor', 'event', 'request_id', 'service', 'environment', 'detail', 'prev',
}
local ZERO_HASH = string.rep('0', 64)

local function canonical(entry)
  local out = {}
  for i, name in ipairs(CHAIN_FIELDS) do
    local value = tostring(entry[name])
    out[i] = name .. '=' .. #value .. ':' .. value .. '\n'
  end
  return table.concat(out)
end

-- entry: at, actor, event, request_id, service, environment, detail (strings). Returns the
-- stream id.
local function chain_append(entry)
  local head = redis.call('HMGET', K.audit_head, 'seq', 'hash')
  entry.seq = string.format('%d', (tonumber(head[1]) or 0) + 1)
  entry.prev = head[2] or ZERO_HASH
  local hash = sha256_hex(canonical(entry))
  local id = redis.call('XADD', K.audit, '*', 'at', entry.at, 'actor', entry.actor,
    'event', entry.event, 'request_id', entry.request_id, 'service', entry.service,
    'environment', entry.environment, 'detail', entry.detail, 'seq', entry.seq,
    'prev', entry.prev, 'hash', hash)
  redis.call('HSET', K.audit_head, 'seq', entry.seq, 'hash', hash, 'id', id)
  if entry.request_id ~= '' then
    redis.call('ZADD', K.audit_index, 0, entry.request_id .. '|' .. id)
  end
  return id
end
