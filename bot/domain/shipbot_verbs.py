"""The /shipbot verbs of governance: freeze, unfreeze, lock, unlock, hold and unhold.

Each takes names first (a service or ``all``, an environment, a data centre), then what it
needs: a duration or ``until`` a time, a reason, ``for`` a duration. Pure, like the grammar.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.catalog.governance import duration_seconds
from bot.domain.tokens import UsageError, missing, reason_of, show, validate_name

GOVERNANCE_VERBS = ("freeze", "unfreeze", "lock", "unlock", "hold", "unhold")


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
        raise missing(f"the {kinds[len(words)]}", syntax)
    names = tuple(_name_or_all(kind, word) for kind, word in zip(kinds, words, strict=False))
    rest = words[len(kinds) :]
    if not tail and rest:
        raise UsageError(f"`/shipbot {verb}` does not take {show(rest[0])}.\nUsage: {syntax}")
    seconds, until = None, ""
    if tail == "when":
        seconds, until, rest = _when(rest, syntax)
    if tail == "reason, for" and len(rest) >= 2 and rest[-2].lower() == "for":
        seconds, rest = _duration_of(rest[-1], syntax), rest[:-2]
    reason = reason_of(rest)
    if tail in ("when", "reason, for") and not reason:
        raise missing("the reason (who reads the card will ask why)", syntax)
    return ShipbotCommand(verb, names, reason, seconds, until)


def _name_or_all(kind: str, word: str) -> str:
    if word.lower() == "all" and "`all`" in kind:
        return "all"
    return validate_name(kind.replace(" or `all`", ""), word)


def _when(words: list[str], syntax: str) -> tuple[int | None, str, list[str]]:
    """``2h`` or ``until 15:30`` / ``until 2027-01-04 09:00``, then the rest."""
    if not words:
        raise missing("how long (`2h`) or until when (`until 15:30`)", syntax)
    if words[0].lower() != "until":
        return _duration_of(words[0], syntax), "", words[1:]
    for size in (2, 1):
        typed = " ".join(words[1 : 1 + size])
        if len(words) > size and _TIME.fullmatch(typed):
            return None, typed, words[1 + size :]
    shown = show(" ".join(words[1:3]) or "until")
    raise UsageError(
        f"{shown} is not a time: use `until 15:30` or `until 2027-01-04 09:00` "
        f"(the catalog's time zone).\nUsage: {syntax}"
    )


def _duration_of(word: str, syntax: str) -> int:
    seconds = duration_seconds(word.lower())
    if seconds is None:
        hint = "use `30m`, `2h`, `1d` or `1h30m`"
        raise UsageError(f"{show(word)} is not a duration: {hint}.\nUsage: {syntax}")
    return seconds
