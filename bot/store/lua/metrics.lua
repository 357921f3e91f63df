-- metrics: adds one run that ended to the delivery metrics (see _metrics.lua), for a deploy
-- run outside shipbot and for a rebuild replaying history. Answers nothing.
record_metrics(cjson.decode(A.metrics))
return 0
