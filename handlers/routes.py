"""Every slash command and action_id shipbot answers, in one place."""

DEPLOY = "/deploy"
ROLLBACK = "/rollback"
SHIPBOT = "/shipbot"

APPROVE = "shipbot_approve"
REJECT = "shipbot_reject"
CANCEL = "shipbot_cancel"
STOP = "shipbot_stop"
