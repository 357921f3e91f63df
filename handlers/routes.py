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

REJECT_VIEW = "shipbot_reject_view"  # callback_id of Reject's modal, asking why
REASON_BLOCK = "reject_reason"  # its input block
REASON_INPUT = "reason"  # the plain_text_input in it
