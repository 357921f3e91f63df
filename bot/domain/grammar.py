"""Parse the text Slack sends with /deploy, /rollback and /shipbot into commands.

Pure: no I/O and no catalog knowledge (whether a service exists is checked elsewhere).
Every failure is a `UsageError` whose message names the bad token and is Slack mrkdwn;
tokens quoted in messages are re-escaped so they cannot become mentions or links.
Parsed values are plain text (Slack's &amp; &lt; &gt; already undone).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from bot.catalog.governance import duration_seconds

NAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")
MAX_REASON = 500
_NAME_CHAR = re.compile(r"[a-z0-9._-]")
_VERSION_CHAR = re.compile(r"[A-Za-z0-9._+/-]")
_VERSION_LIKE = re.compile(r"[vV]?\d+\.\d+\S*")
_ENTITY = re.compile(r"&(amp|lt|gt);")
_DASHES = re.compile(r"^[\u2014\u2013]")  # an em or en dash typed for "--"
_OPTION = re.compile(r"--[a-z][a-z-]*")
_UNESCAPED = {"amp": "&", "lt": "<", "gt": ">"}
_VERSION_CHARS = "a version may only contain letters, digits and . _ + - /"
_MARKUP = "it looks like a Slack mention, link or &lt;placeholder&gt;: type the plain {}"


def _code(text: str) -> str:
    """`text` as inline code, escaped for Slack mrkdwn, which reserves & < >."""
    return "`" + text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") + "`"


DEPLOY_LINE = _code(
    "/deploy <service> <version> [to] <environment> [--hotfix] [reason...] [--emergency <why>]"
)
HOTFIX = "--hotfix"  # marks a deploy unplanned: it mends what an earlier release broke
EMERGENCY = "--emergency"  # break-glass: may run during a freeze, with one more approval
ROLLBACK_LINE = _code(
    "/rollback <service> <environment> [to <version>] [reason...] [--emergency <why>]"
)
METRICS_LINE = _code("/metrics [service] [period]")
_SHIPBOT_VERBS = {
    "help": (_code("/shipbot help"), "this help"),
    "services": (_code("/shipbot services"), "the services and environments shipbot deploys"),
    "status": (_code("/shipbot status [service]"), "what runs where, pending and running requests"),
    "history": (_code("/shipbot history <service> [environment]"), "recent deploys"),
    "audit": (_code("/shipbot audit [request-id|service]"), "who asked, approved and ran what"),
    "cancel": (_code("/shipbot cancel <request-id>"), "withdraw a pending or queued request"),
    "freezes": (_code("/shipbot freezes [environment]"), "freezes in force and the next ones"),
    "freeze": (
        _code("/shipbot freeze <service|all> <environment> <duration|until time> <reason...>"),
        "freeze an environment: no deploy starts until it ends (e.g. `2h`, `until 15:30`)",
    ),
    "unfreeze": (_code("/shipbot unfreeze <service|all> <environment>"), "end freezes from chat"),
    "lock": (
        _code("/shipbot lock <service> <environment> <reason...> [for <duration>]"),
        "only you may deploy there until you unlock it (default 4h)",
    ),
    "unlock": (
        _code("/shipbot unlock <service> <environment> [reason...]"),
        "end your lock (an admin breaking another's gives a reason)",
    ),
    "hold": (
        _code(
            "/shipbot hold <service|all> <environment> <datacenter> <reason...> [for <duration>]"
        ),
        "deploys skip that data centre until it is released (default 24h)",
    ),
    "unhold": (
        _code("/shipbot unhold <service|all> <environment> <datacenter>"),
        "release a held data centre",
    ),
}
VERBS = tuple(_SHIPBOT_VERBS)
GOVERNANCE_VERBS = ("freeze", "unfreeze", "lock", "unlock", "hold", "unhold")


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


SHIPBOT_USAGE = f"*Shipbot:* {_code('/shipbot <command> ...')}\n" + "\n".join(
    f"• {syntax}: {what}" for syntax, what in _SHIPBOT_VERBS.values()
)


def help_text(ex: Examples = Examples()) -> str:
    """Every command, with examples that use ``ex``'s names."""
    return "\n\n".join([deploy_usage(ex), rollback_usage(ex), metrics_usage(ex), SHIPBOT_USAGE])


DEPLOY_USAGE, ROLLBACK_USAGE, HELP_TEXT = deploy_usage(), rollback_usage(), help_text()
METRICS_USAGE = metrics_usage()


class UsageError(ValueError):
    """The command text cannot be parsed; `message` tells the person what to fix."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


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


@dataclass(frozen=True)
class ShipbotCommand:
    """`args` are validated tokens (names, ``all``); ``reason`` the free text after them;
    ``seconds`` a duration asked for (``2h``, ``for 4h``); ``until`` a local time asked for
    (``until 15:30``, ``until 2027-01-04 09:00``), as typed."""

    verb: str
    args: tuple[str, ...]
    reason: str = ""
    seconds: int | None = None
    until: str = ""


def parse_deploy(text: str) -> DeployCommand:
    """`<service> <version> [to] <environment> [--hotfix] [reason...]`."""
    words, emergency = _emergency(_words(text), DEPLOY_LINE)
    if not words:
        raise UsageError(DEPLOY_USAGE)
    hotfix = any(_is_hotfix(w) for w in words[2:])
    words = words[:2] + [w for w in words[2:] if not _is_hotfix(w)]
    _no_options(words)
    service = validate_name("service", words[0])
    if len(words) < 2:
        raise _missing("the version and environment", DEPLOY_LINE)
    version = _deploy_version(words[1])
    rest, after_to = _skip_to(words[2:])
    if not rest and not after_to:  # a version or an environment is missing: the catalog knows
        return DeployCommand(service, version, "", "", hotfix, emergency)
    if not rest:
        raise _missing("the environment after `to`" if after_to else "the environment", DEPLOY_LINE)
    environment = validate_name("environment", rest[0])
    return DeployCommand(service, version, environment, _reason(rest[1:]), hotfix, emergency)


def _emergency(words: list[str], usage_line: str) -> tuple[list[str], str]:
    """The words before ``--emergency``, and the reason after it (required)."""
    at = next((i for i, w in enumerate(words) if _DASHES.sub("--", w) == EMERGENCY), None)
    if at is None:
        return words, ""
    why = _reason(words[at + 1 :])
    if not why:
        raise _missing("the reason after `--emergency` (the audit trail keeps it)", usage_line)
    return words[:at], why


def _is_hotfix(word: str) -> bool:
    """``--hotfix``, also as phones and Macs retype its dashes (an em or en dash)."""
    return _DASHES.sub("--", word) == HOTFIX


def _no_options(words: list[str], line: str = DEPLOY_LINE, command: str = "/deploy") -> None:
    """Only ``--hotfix`` and ``--emergency`` are options: any other ``--word`` is a mistake,
    not a reason (a reason may still hold ``--`` or ``-->``)."""
    unknown = next((w for w in words if _OPTION.fullmatch(_DASHES.sub("--", w))), None)
    if unknown is not None:
        raise UsageError(f"{_show(unknown)} is not an option of {command}.\nUsage: {line}")


def parse_rollback(text: str) -> RollbackCommand:
    """`<service> <environment> [to <version>] [reason...]`."""
    words, emergency = _emergency(_words(text), ROLLBACK_LINE)
    if not words:
        raise UsageError(ROLLBACK_USAGE)
    service = validate_name("service", words[0])
    if len(words) < 2:
        raise _missing("the environment", ROLLBACK_LINE)
    environment = validate_name("environment", words[1])
    to_version, rest = _rollback_target(words[2:])
    _no_options(rest, ROLLBACK_LINE, "/rollback")
    return RollbackCommand(service, environment, to_version, _reason(rest), emergency)


def parse_shipbot(text: str) -> ShipbotCommand:
    """`<verb> [args...]`; empty text is `help`."""
    words = _words(text)
    if not words:
        return ShipbotCommand("help", ())
    verb = words[0].lower()
    check = _VERB_ARGS.get(verb)
    if check is None:
        verbs = ", ".join(f"`{v}`" for v in VERBS)
        raise UsageError(f"{_show(words[0])} is not a shipbot command; try one of {verbs}.")
    if verb in GOVERNANCE_VERBS:
        return governance_command(verb, words[1:], _SHIPBOT_VERBS[verb][0])
    return ShipbotCommand(verb, check(words[1:]))


def validate_name(kind: str, token: str) -> str:
    """Return `token` if it is a valid service or environment name."""
    if NAME_RE.fullmatch(token):
        return token
    if not token:
        raise UsageError(f"The {kind} name is empty.")
    raise UsageError(f"{_show(token)} is not a valid {kind} name: {_name_problem(token)}.")


def validate_version(token: str) -> str:
    """Return `token` if it is a valid version, tag, commit or branch-like ref."""
    problem = _version_problem(token)
    if problem:
        raise UsageError(f"{_show(token)} is not a valid version: {problem}.")
    return token


def _words(text: str) -> list[str]:
    """Undo Slack's escaping (in one pass), then split on any Unicode whitespace."""
    return _ENTITY.sub(lambda m: _UNESCAPED[m.group(1)], text).split()


def _skip_to(words: list[str]) -> tuple[list[str], bool]:
    if words and words[0].lower() == "to":
        return words[1:], True
    return words, False


def _deploy_version(word: str) -> str:
    if word.lower() == "to":
        raise _missing("the version (it goes before `to`)", DEPLOY_LINE)
    return validate_version(word)


def _rollback_target(words: list[str]) -> tuple[str | None, list[str]]:
    rest, after_to = _skip_to(words)
    if after_to and not rest:
        raise _missing("the version after `to`", ROLLBACK_LINE)
    if after_to:
        return validate_version(rest[0]), rest[1:]
    if rest and _VERSION_LIKE.fullmatch(rest[0]):
        hint = f"to {rest[0]}"
        raise UsageError(
            f"Did you mean {_show(hint)}? Put `to` before the version to roll back to it, "
            f"or start the reason with a word.\nUsage: {ROLLBACK_LINE}"
        )
    return None, rest


def _reason(words: list[str]) -> str:
    reason = " ".join(words)
    if len(reason) > MAX_REASON:
        raise UsageError(f"The reason is {len(reason)} characters long; keep it to {MAX_REASON}.")
    bad = next((c for c in reason if unicodedata.category(c) == "Cc"), None)
    if bad is not None:
        raise UsageError(f"The reason contains {_describe(bad)}; retype it as plain text.")
    return reason


def _missing(what: str, usage_line: str) -> UsageError:
    return UsageError(f"Missing {what}.\nUsage: {usage_line}")


def _name_problem(token: str) -> str:
    if token.startswith("<"):
        return _MARKUP.format("name")
    if any(c.isupper() for c in token):
        lower = token.lower()
        if NAME_RE.fullmatch(lower):
            return f"names are lowercase, try {_show(lower)}"
        return "names are lowercase letters, digits and . _ - only"
    if len(token) > 63:
        return "names are at most 63 characters"
    if not NAME_RE.fullmatch(token[0]):
        return "names start with a lowercase letter or digit"
    bad = next(c for c in token if not _NAME_CHAR.fullmatch(c))
    return f"names may only contain lowercase letters, digits and . _ - (found {_describe(bad)})"


def _version_problem(token: str) -> str | None:
    if not token:
        return "it is empty"
    bad = next((c for c in token if not _VERSION_CHAR.fullmatch(c)), None)
    if bad is not None:
        hint = "; " + _MARKUP.format("version") if token.startswith("<") else ""
        return f"{_VERSION_CHARS} (found {_describe(bad)}){hint}"
    if len(token) > 128:
        return "a version is at most 128 characters"
    if not token[0].isalnum():
        return "a version starts with a letter or digit"
    for part in ("..", "//"):
        if part in token:
            return f"a version may not contain `{part}`"
    for end in ("/", ".lock"):
        if token.endswith(end):
            return f"a version may not end with `{end}`"
    return None


def _describe(char: str) -> str:
    if char.isspace():
        return "whitespace"
    if not char.isprintable():
        return f"the invisible character U+{ord(char):04X}"
    return _show(char)


def _show(token: str) -> str:
    """`token` as inline code: shortened, invisible characters spelled out, Slack-escaped."""
    short = token if len(token) <= 40 else token[:40] + "…"
    text = "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in short)
    return _code(text.replace("`", "'"))


_ArgCheck = Callable[[list[str]], tuple[str, ...]]


def _positional(verb: str, kinds: tuple[str, ...], required: int) -> _ArgCheck:
    """A checker for `verb` taking names of `kinds`, the first `required` of them required."""
    syntax = _SHIPBOT_VERBS[verb][0]

    def check(args: list[str]) -> tuple[str, ...]:
        if len(args) < required:
            raise _missing(f"the {kinds[len(args)]}", syntax)
        if len(args) > len(kinds):
            extra = _show(args[len(kinds)])
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


_TIME = re.compile(r"(?:\d{4}-\d{2}-\d{2} )?\d{1,2}:\d{2}")
_SHAPES = {  # the names each verb takes first, then whether a reason follows and is required
    "freeze": (("service or `all`", "environment"), "when"),
    "unfreeze": (("service or `all`", "environment"), ""),
    "lock": (("service", "environment"), "reason, for"),
    "unlock": (("service", "environment"), "optional reason"),
    "hold": (("service or `all`", "environment", "datacenter"), "reason, for"),
    "unhold": (("service or `all`", "environment", "datacenter"), ""),
}


def governance_command(verb: str, words: list[str], syntax: str) -> ShipbotCommand:
    """freeze, unfreeze, lock, unlock, hold and unhold: names, then what each takes."""
    kinds, tail = _SHAPES[verb]
    if len(words) < len(kinds):
        raise _missing(f"the {kinds[len(words)]}", syntax)
    names = tuple(_name_or_all(kind, word) for kind, word in zip(kinds, words, strict=False))
    rest = words[len(kinds) :]
    if not tail and rest:
        raise UsageError(f"`/shipbot {verb}` does not take {_show(rest[0])}.\nUsage: {syntax}")
    seconds, until = None, ""
    if tail == "when":
        seconds, until, rest = _when(rest, syntax)
    if tail == "reason, for" and len(rest) >= 2 and rest[-2].lower() == "for":
        seconds, rest = _duration_of(rest[-1], syntax), rest[:-2]
    reason = _reason(rest)
    if tail in ("when", "reason, for") and not reason:
        raise _missing("the reason (who reads the card will ask why)", syntax)
    return ShipbotCommand(verb, names, reason, seconds, until)


def _name_or_all(kind: str, word: str) -> str:
    if word.lower() == "all" and "`all`" in kind:
        return "all"
    return validate_name(kind.replace(" or `all`", ""), word)


def _when(words: list[str], syntax: str) -> tuple[int | None, str, list[str]]:
    """``2h`` or ``until 15:30`` / ``until 2027-01-04 09:00``, then the rest."""
    if not words:
        raise _missing("how long (`2h`) or until when (`until 15:30`)", syntax)
    if words[0].lower() != "until":
        return _duration_of(words[0], syntax), "", words[1:]
    for size in (2, 1):
        typed = " ".join(words[1 : 1 + size])
        if len(words) > size and _TIME.fullmatch(typed):
            return None, typed, words[1 + size :]
    shown = _show(" ".join(words[1:3]) or "until")
    raise UsageError(
        f"{shown} is not a time: use `until 15:30` or `until 2027-01-04 09:00` "
        f"(the catalog's time zone).\nUsage: {syntax}"
    )


def _duration_of(word: str, syntax: str) -> int:
    seconds = duration_seconds(word.lower())
    if seconds is None:
        hint = "use `30m`, `2h`, `1d` or `1h30m`"
        raise UsageError(f"{_show(word)} is not a duration: {hint}.\nUsage: {syntax}")
    return seconds
