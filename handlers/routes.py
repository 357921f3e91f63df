"""Every slash command and action_id shipbot answers, in one place."""

DEPLOY = "/deploy"
ROLLBACK = "/rollback"
SHIPBOT = "/shipbot"
METRICS = "/metrics"
COMMANDS = (DEPLOY, ROLLBACK, METRICS, SHIPBOT)
PLANNED: dict[str, str] = {}  # commands in the contract, not built yet (none now)

APPROVE = "shipbot_approve"
REJECT = "shipbot_reject"
CANCEL = "shipbot_cancel"
STOP = "shipbot_stop"
