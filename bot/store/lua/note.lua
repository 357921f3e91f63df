-- note: one audit entry that changes no request (a refused click, a lock, a freeze, a deploy
-- run outside shipbot), written to the audit trail's inbox (chained soon after, keeping this
-- stream id); once per Slack delivery (K.seen, '' for none). Answers the entry's stream id,
-- or '' for a replay.
if K.seen ~= '' and not redis.call('SET', K.seen, '1', 'NX', 'EX', SEEN_TTL) then return '' end
return chain_append({at = A.at, actor = A.actor, event = A.event, request_id = A.request_id,
  service = A.service, environment = A.environment, detail = A.detail})
