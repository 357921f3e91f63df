"""Every slash command and action_id shipbot answers, in one place."""

DEPLOY = "/deploy"
ROLLBACK = "/rollback"
SHIPBOT = "/shipbot"
COMMANDS = (DEPLOY, ROLLBACK, SHIPBOT)
PLANNED = {"/metrics": "delivery metrics (DORA)"}  # in the contract, not built yet

APPROVE = "shipbot_approve"
REJECT = "shipbot_reject"
CANCEL = "shipbot_cancel"
STOP = "shipbot_stop"
