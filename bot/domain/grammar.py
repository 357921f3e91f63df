"""Parse the text Slack sends with /deploy, /rollback and /shipbot into commands.

Pure: no I/O and no catalog knowledge (whether a service exists is checked elsewhere).
Every failure is a `UsageError` whose message names the bad token and is Slack mrkdwn;
tokens quoted in messages are re-escaped so they cannot become mentions or links.
Parsed values are plain text (Slack's &amp; &lt; &gt; already undone).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from bot.domain.shipbot_verbs import GOVERNANCE_VERBS, governance_command
from bot.domain.shipbot_verbs import ShipbotCommand as ShipbotCommand  # re-exported
from bot.domain.tokens import UsageError as UsageError  # re-exported
from bot.domain.tokens import code, missing, reason_of, show, words_of
from bot.domain.tokens import validate_name as validate_name  # re-exported
from bot.domain.tokens import validate_version as validate_version  # re-exported

_VERSION_LIKE = re.compile(r"[vV]?\d+\.\d+\S*")
_DASHES = re.compile(r"^[\u2014\u2013]")  # an em or en dash typed for "--"
_OPTION = re.compile(r"--[a-z][a-z-]*")


DEPLOY_LINE = code(
    "/deploy <service> <version> [to] <environment> [--hotfix] [reason...] [--emergency <why>]"
)
HOTFIX = "--hotfix"  # marks a deploy unplanned: it mends what an earlier release broke
EMERGENCY = "--emergency"  # break-glass: may run during a freeze, with one more approval
ROLLBACK_LINE = code(
    "/rollback <service> <environment> [to <version>] [reason...] [--emergency <why>]"
)
METRICS_LINE = code("/metrics [service] [period]")
_SHIPBOT_VERBS = {
    "help": (code("/shipbot help"), "this help"),
    "services": (code("/shipbot services"), "the services and environments shipbot deploys"),
    "status": (code("/shipbot status [service]"), "what runs where, pending and running requests"),
    "history": (code("/shipbot history <service> [environment]"), "recent deploys"),
    "audit": (code("/shipbot audit [request-id|service]"), "who asked, approved and ran what"),
    "cancel": (code("/shipbot cancel <request-id>"), "withdraw a pending or queued request"),
    "freezes": (code("/shipbot freezes [environment]"), "freezes in force and the next ones"),
    "freeze": (
        code("/shipbot freeze <service|all> <environment> <duration|until time> <reason...>"),
        "freeze an environment: no deploy starts until it ends (e.g. `2h`, `until 15:30`)",
    ),
    "unfreeze": (code("/shipbot unfreeze <service|all> <environment>"), "end freezes from chat"),
    "lock": (
        code("/shipbot lock <service> <environment> <reason...> [for <duration>]"),
        "only you may deploy there until you unlock it (default 4h)",
    ),
    "unlock": (
        code("/shipbot unlock <service> <environment> [reason...]"),
        "end your lock (an admin breaking another's gives a reason)",
    ),
    "hold": (
        code("/shipbot hold <service|all> <environment> <datacenter> <reason...> [for <duration>]"),
        "deploys skip that data centre until it is released (default 24h)",
    ),
    "unhold": (
        code("/shipbot unhold <service|all> <environment> <datacenter>"),
        "release a held data centre",
    ),
}
VERBS = tuple(_SHIPBOT_VERBS)


@dataclass(frozen=True)
class Examples:
    """Names the help's examples use: the catalog's own, when the caller knows them."""

    service: str = "web-h5"
    environment: str = "prod"
    version: str = "v2.3.1"
    earlier: str = "v2.3.0"


def deploy_usage(ex: Examples = Examples()) -> str:
    return (
        f"*Deploy:* {DEPLOY_LINE}\n"
        f"• `/deploy {ex.service} {ex.version} to {ex.environment} fix login bug`\n"
        f"• `/deploy {ex.service} {ex.version} {ex.environment}` (the word `to` is optional)\n"
        f"• `/deploy {ex.service} {ex.version} to {ex.environment} --hotfix login broken` "
        "(unplanned: it mends what an earlier release broke)"
    )


def rollback_usage(ex: Examples = Examples()) -> str:
    return (
        f"*Roll back:* {ROLLBACK_LINE}\n"
        f"• `/rollback {ex.service} {ex.environment}` (to the version before the current one)\n"
        f"• `/rollback {ex.service} {ex.environment} to {ex.earlier} broken checkout`"
    )


def metrics_usage(ex: Examples = Examples()) -> str:
    return (
        f"*Delivery metrics:* {METRICS_LINE}\n"
        "• `/metrics` (all services, the last 30 days, against the 30 before)\n"
        f"• `/metrics {ex.service} 90d` (periods: `7d`, `30d`, `90d`, `quarter`, "
        "or days `2026-10-01..2026-12-01`)"
    )


SHIPBOT_USAGE = f"*Shipbot:* {code('/shipbot <command> ...')}\n" + "\n".join(
    f"• {syntax}: {what}" for syntax, what in _SHIPBOT_VERBS.values()
)


def help_text(ex: Examples = Examples()) -> str:
    """Every command, with examples that use ``ex``'s names."""
    return "\n\n".join([deploy_usage(ex), rollback_usage(ex), metrics_usage(ex), SHIPBOT_USAGE])


DEPLOY_USAGE, ROLLBACK_USAGE, HELP_TEXT = deploy_usage(), rollback_usage(), help_text()
METRICS_USAGE = metrics_usage()


@dataclass(frozen=True)
class DeployCommand:
    """``environment`` is "" when only one word followed the service: that word is the
    version or the environment, which only the catalog can tell."""

    service: str
    version: str
    environment: str
    reason: str
    hotfix: bool = False
    emergency: str = ""  # break-glass: why ("" : not an emergency)


@dataclass(frozen=True)
class RollbackCommand:
    service: str
    environment: str
    to_version: str | None
    reason: str
    emergency: str = ""  # break-glass: why ("" : not an emergency)


def parse_deploy(text: str) -> DeployCommand:
    """`<service> <version> [to] <environment> [--hotfix] [reason...]`."""
    words, emergency = _emergency(words_of(text), DEPLOY_LINE)
    if not words:
        raise UsageError(DEPLOY_USAGE)
    hotfix = any(_is_hotfix(w) for w in words[2:])
    words = words[:2] + [w for w in words[2:] if not _is_hotfix(w)]
    _no_options(words)
    service = validate_name("service", words[0])
    if len(words) < 2:
        raise missing("the version and environment", DEPLOY_LINE)
    version = _deploy_version(words[1])
    rest, after_to = _skip_to(words[2:])
    if not rest and not after_to:  # a version or an environment is missing: the catalog knows
        return DeployCommand(service, version, "", "", hotfix, emergency)
    if not rest:
        raise missing("the environment after `to`" if after_to else "the environment", DEPLOY_LINE)
    environment = validate_name("environment", rest[0])
    return DeployCommand(service, version, environment, reason_of(rest[1:]), hotfix, emergency)


def _emergency(words: list[str], usage_line: str) -> tuple[list[str], str]:
    """The words before ``--emergency``, and the reason after it (required)."""
    at = next((i for i, w in enumerate(words) if _DASHES.sub("--", w) == EMERGENCY), None)
    if at is None:
        return words, ""
    why = reason_of(words[at + 1 :])
    if not why:
        raise missing("the reason after `--emergency` (the audit trail keeps it)", usage_line)
    return words[:at], why


def _is_hotfix(word: str) -> bool:
    """``--hotfix``, also as phones and Macs retype its dashes (an em or en dash)."""
    return _DASHES.sub("--", word) == HOTFIX


def _no_options(words: list[str], line: str = DEPLOY_LINE, command: str = "/deploy") -> None:
    """Only ``--hotfix`` and ``--emergency`` are options: any other ``--word`` is a mistake,
    not a reason (a reason may still hold ``--`` or ``-->``)."""
    unknown = next((w for w in words if _OPTION.fullmatch(_DASHES.sub("--", w))), None)
    if unknown is not None:
        raise UsageError(f"{show(unknown)} is not an option of {command}.\nUsage: {line}")


def parse_rollback(text: str) -> RollbackCommand:
    """`<service> <environment> [to <version>] [reason...]`."""
    words, emergency = _emergency(words_of(text), ROLLBACK_LINE)
    if not words:
        raise UsageError(ROLLBACK_USAGE)
    service = validate_name("service", words[0])
    if len(words) < 2:
        raise missing("the environment", ROLLBACK_LINE)
    environment = validate_name("environment", words[1])
    to_version, rest = _rollback_target(words[2:])
    _no_options(rest, ROLLBACK_LINE, "/rollback")
    return RollbackCommand(service, environment, to_version, reason_of(rest), emergency)


def parse_shipbot(text: str) -> ShipbotCommand:
    """`<verb> [args...]`; empty text is `help`."""
    words = words_of(text)
    if not words:
        return ShipbotCommand("help", ())
    verb = words[0].lower()
    check = _VERB_ARGS.get(verb)
    if check is None:
        verbs = ", ".join(f"`{v}`" for v in VERBS)
        raise UsageError(f"{show(words[0])} is not a shipbot command; try one of {verbs}.")
    if verb in GOVERNANCE_VERBS:
        return governance_command(verb, words[1:], _SHIPBOT_VERBS[verb][0])
    return ShipbotCommand(verb, check(words[1:]))


def _skip_to(words: list[str]) -> tuple[list[str], bool]:
    if words and words[0].lower() == "to":
        return words[1:], True
    return words, False


def _deploy_version(word: str) -> str:
    if word.lower() == "to":
        raise missing("the version (it goes before `to`)", DEPLOY_LINE)
    return validate_version(word)


def _rollback_target(words: list[str]) -> tuple[str | None, list[str]]:
    rest, after_to = _skip_to(words)
    if after_to and not rest:
        raise missing("the version after `to`", ROLLBACK_LINE)
    if after_to:
        return validate_version(rest[0]), rest[1:]
    if rest and _VERSION_LIKE.fullmatch(rest[0]):
        hint = f"to {rest[0]}"
        raise UsageError(
            f"Did you mean {show(hint)}? Put `to` before the version to roll back to it, "
            f"or start the reason with a word.\nUsage: {ROLLBACK_LINE}"
        )
    return None, rest


_ArgCheck = Callable[[list[str]], tuple[str, ...]]


def _positional(verb: str, kinds: tuple[str, ...], required: int) -> _ArgCheck:
    """A checker for `verb` taking names of `kinds`, the first `required` of them required."""
    syntax = _SHIPBOT_VERBS[verb][0]

    def check(args: list[str]) -> tuple[str, ...]:
        if len(args) < required:
            raise missing(f"the {kinds[len(args)]}", syntax)
        if len(args) > len(kinds):
            extra = show(args[len(kinds)])
            raise UsageError(f"`/shipbot {verb}` does not take {extra}.\nUsage: {syntax}")
        return tuple(validate_name(kind, arg) for kind, arg in zip(kinds, args, strict=False))

    return check


_VERB_ARGS: dict[str, _ArgCheck] = {
    "help": lambda args: (),
    "services": _positional("services", (), 0),
    "cancel": _positional("cancel", ("request id",), 1),
    "status": _positional("status", ("service",), 0),
    "history": _positional("history", ("service", "environment"), 1),
    "audit": _positional("audit", ("request id or service",), 0),
    "freezes": _positional("freezes", ("environment",), 0),
    **{verb: lambda args: () for verb in GOVERNANCE_VERBS},  # see governance_command
}
