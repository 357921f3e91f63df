-- The audit trail's inbox. chain_append writes one entry to K.audit_inbox, a stream, in the
-- same atomic step as the change it records, and hashes nothing: Store.chain_audit (bot/store/
-- audit_inbox.py) later moves the inbox's entries, oldest first, to the hash chain (K.audit,
-- by chain.lua), each keeping its inbox stream id, with seq, prev and hash computed the way
-- bot/ports/audit.py canonical() says. Workers do so within about a second; every reader of
-- the trail does so first.

-- entry: at, actor, event, request_id, service, environment, detail (strings). Returns the
-- stream id, which the entry keeps in the chain.
local function chain_append(entry)
  return redis.call('XADD', K.audit_inbox, '*', 'at', entry.at, 'actor', entry.actor,
    'event', entry.event, 'request_id', entry.request_id, 'service', entry.service,
    'environment', entry.environment, 'detail', entry.detail)
end
