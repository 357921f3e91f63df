"""Approval rules that can be met: checked on the catalog as written (see bot.catalog.checks).

A rule listing only user IDs can be met only by those people, one person counting for one
rule; a rule listing a user group may stand for any number of people, so it is never found
short. The environment's own ``approvals``/``approvers`` is one rule when its count is above 0.
"""

from __future__ import annotations

from typing import Any

Loc = tuple[str | int, ...]
Problem = tuple[Loc, str]
Seats = tuple[int, list[str]]  # a rule: how many approvals, from whom


def rule_problems(env: dict[Any, Any], base: Seats) -> list[Problem]:
    """Rules with too few listed users, alone or together, and an emergency nobody approves."""
    rules = [r for r in _rules(env.get("approval_rules")) if r is not None]
    problems: list[Problem] = []
    for index, rule in enumerate(_rules(env.get("approval_rules"))):
        if rule and _users_only(rule[1]) and rule[0] > len(set(rule[1])):
            people = len(set(rule[1]))
            at: Loc = ("approval_rules", index, "approvers")
            problems.append((at, f"approvals is {rule[0]} but only {people} can approve"))
    together = [base, *rules] if base[0] else rules
    base_short = _users_only(base[1]) and base[0] > len(set(base[1]))
    if not problems and not base_short and len(together) > 1 and (short := _short(together)):
        problems.append((("approval_rules",), short))
    return problems + _emergency_problems(env, base, together)


def _emergency_problems(env: dict[Any, Any], base: Seats, usual: list[Seats]) -> list[Problem]:
    """An emergency needs one approval more than usual from its approvers (default: the
    environment's), or ``emergency.approvals`` in all, one of them from its approvers."""
    glass = env.get("emergency")
    if not isinstance(glass, dict):
        return []
    oncall = glass.get("approvers") or base[1]
    if not isinstance(oncall, list) or not all(isinstance(a, str) for a in oncall):
        return []
    if not oncall:
        return [
            (("emergency",), "an emergency needs approvers: set emergency.approvers or approvers")
        ]
    count = glass.get("approvals")
    if isinstance(count, int) and not isinstance(count, bool) and count > 0:
        anyone = [*base[1], *(a for _, approvers in usual for a in approvers), *oncall]
        seats = [(count - 1, list(dict.fromkeys(anyone))), (1, oncall)]
    else:
        seats = [*usual, (1, oncall)]
    short = _short([s for s in seats if s[0]])
    return [(("emergency",), f"an emergency can't be approved: {short}")] if short else []


def _rules(value: Any) -> list[Seats | None]:
    """Each rule as (approvals, approvers), None for one that is itself invalid."""
    if not isinstance(value, list):
        return []
    return [_seats(rule) for rule in value]


def _seats(rule: Any) -> Seats | None:
    if not isinstance(rule, dict):
        return None
    count, approvers = rule.get("approvals"), rule.get("approvers")
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        return None
    if not isinstance(approvers, list) or not all(isinstance(a, str) for a in approvers):
        return None
    return count, approvers


def _users_only(approvers: list[str]) -> bool:
    return bool(approvers) and not any(a.startswith("S") for a in approvers)


def _short(rules: list[Seats]) -> str:
    """Why the rules that list only users cannot all be met by distinct people, or ""."""
    seats = [(count, approvers) for count, approvers in rules if _users_only(approvers)]
    needed = sum(count for count, _ in seats)
    found = assignable(seats)
    if found >= needed:
        return ""
    return (
        f"the rules that list only users need {needed} distinct people, but at most {found} "
        "of those listed can approve (one person counts for one rule)"
    )


def assignable(rules: list[Seats]) -> int:
    """How many of the rules' seats distinct people can fill (augmenting paths)."""
    holders: list[list[str]] = [[] for _ in rules]

    def seat(who: str, seen: set[int]) -> bool:
        for index, (count, approvers) in enumerate(rules):
            if who not in approvers or index in seen:
                continue
            seen.add(index)
            if len(holders[index]) < count:
                holders[index].append(who)
                return True
            for k, other in enumerate(holders[index]):
                if seat(other, seen):
                    holders[index][k] = who
                    return True
        return False

    people = dict.fromkeys(a for _, approvers in rules for a in approvers)
    return sum(seat(who, set()) for who in people)
