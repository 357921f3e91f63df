"""Approval rules: which rules a request gets, who counts for which, and the matching in
approve.lua (on a real redis-server) that decides the quorum: distinct people, one rule each,
whatever the order of the clicks."""

from __future__ import annotations

import inspect
import itertools
import time
from collections.abc import Callable

import pytest
from pydantic import ValidationError

from bot.catalog.model import Environment
from bot.domain.rules import eligible, groups_to_ask, rules_for
from bot.models import DeployRequest, Rule, State, Step
from bot.ports.store import Approval, ApprovalOutcome, Store
from bot.store.requests import RedisStore
from handlers.rule_blocks import rule_lines

CHANGE_AND_BIZ = [
    Rule(approvals=1, approvers=["S0CHANGE"], kind="rule"),
    Rule(approvals=1, approvers=["S0BIZ", "U0CTO"], kind="rule"),
]


def request(rules: list[Rule], rid: str = "d-1") -> DeployRequest:
    return DeployRequest(
        id=rid, service="web", environment="prod", version="v1", requester="U0DEV",
        channel="C0DEPLOY", catalog_revision="abc", rules=rules,
        approvals_needed=sum(r.approvals for r in rules), expires_at=time.time() + 3600,
        steps=[Step(target="")],
    )  # fmt: skip


async def approve_all(
    store: RedisStore, r: DeployRequest, clicks: list[tuple[str, list[int]]]
) -> list[ApprovalOutcome]:
    return [(await store.approve(r, who, eligible=rules)).outcome for who, rules in clicks]


async def test_one_person_eligible_for_two_rules_counts_once(store: RedisStore) -> None:
    """Someone in both S0CHANGE and S0BIZ meets one rule, not both: still pending."""
    r = request(CHANGE_AND_BIZ)
    await store.create(r)
    result = await store.approve(r, "U0BOTH", eligible=[0, 1])
    stored = await store.get(r.id)
    assert Approval(ApprovalOutcome.RECORDED, count=1) == result
    assert stored is not None and State.PENDING == stored.state


async def test_a_second_approver_of_a_met_rule_counts_for_nothing(store: RedisStore) -> None:
    """Two approvers of the same one-person rule: the second is recorded, not counted."""
    r = request(CHANGE_AND_BIZ)
    await store.create(r)
    await store.approve(r, "U0BIZ1", eligible=[1])
    result = await store.approve(r, "U0BIZ2", eligible=[1])
    stored = await store.get(r.id)
    assert Approval(ApprovalOutcome.RECORDED, count=1, counted=False) == result
    assert stored is not None and ["U0BIZ1", "U0BIZ2"] == sorted(stored.approvers)
    assert {"U0BIZ1": 1} == stored.assigned


async def test_someone_eligible_for_both_moves_over_to_let_a_later_approver_count(
    store: RedisStore,
) -> None:
    """The first approver (both rules) met rule 0; a CTO (rule 1 only) approves, then a change
    manager (rule 0 only): the first moves to whichever rule is left, and the quorum is met."""
    r = request(CHANGE_AND_BIZ)
    await store.create(r)
    outcomes = await approve_all(store, r, [("U0BOTH", [0, 1]), ("U0CHG", [0])])
    stored = await store.get(r.id)
    assert [ApprovalOutcome.RECORDED, ApprovalOutcome.QUEUED] == outcomes
    assert stored is not None and {"U0BOTH": 1, "U0CHG": 0} == stored.assigned


@pytest.mark.parametrize(
    "order", list(itertools.permutations([("U0BOTH", [0, 1]), ("U0CHG", [0]), ("U0BIZ", [1])]))
)
async def test_order_of_clicks_does_not_matter(
    store: RedisStore, order: tuple[tuple[str, list[int]], ...]
) -> None:
    """Three approvers for two one-person rules: the quorum is met at the second click that
    leaves both rules met, in any order; never before two distinct people."""
    r = request(CHANGE_AND_BIZ)
    await store.create(r)
    outcomes = await approve_all(store, r, list(order[:2]))
    assert [ApprovalOutcome.RECORDED, ApprovalOutcome.QUEUED] == outcomes


async def test_counts_per_rule_must_all_be_met(store: RedisStore) -> None:
    """A rule of two and a rule of one: three distinct people, two of them from the first."""
    r = request([Rule(approvals=2, approvers=["S0A"]), Rule(approvals=1, approvers=["S0B"])])
    await store.create(r)
    clicks = [("U1", [0, 1]), ("U2", [1]), ("U3", [1]), ("U4", [0])]
    outcomes = await approve_all(store, r, clicks)
    expected = [ApprovalOutcome.RECORDED] * 3 + [ApprovalOutcome.QUEUED]
    assert expected == outcomes


def test_rules_of_an_environment() -> None:
    """approvals/approvers is a rule when above 0; approval_rules follow; an emergency adds
    one more from emergency.approvers (default: the approvers)."""
    env = Environment.model_validate(
        {"approvals": 1, "approvers": ["U0A", "U0B"],
         "approval_rules": [{"approvals": 1, "approvers": ["S0CHANGE"]}],
         "emergency": {"approvers": ["S0ONCALL"]}}
    )  # fmt: skip
    kinds = [(r.kind, r.approvals, r.approvers) for r in rules_for(env, False, emergency=True)]
    expected = [
        ("approvers", 1, ["U0A", "U0B"]),
        ("rule", 1, ["S0CHANGE"]),
        ("emergency", 1, ["S0ONCALL"]),
    ]
    assert expected == kinds


def test_emergency_with_a_count_replaces_the_usual_rules() -> None:
    """emergency.approvals N: N in all, one from emergency.approvers, the rest from anyone who
    approves there."""
    env = Environment.model_validate(
        {"approvals": 2, "approvers": ["U0A", "U0B", "U0C"],
         "emergency": {"approvals": 2, "approvers": ["S0ONCALL"]}}
    )  # fmt: skip
    kinds = [(r.kind, r.approvals, r.approvers) for r in rules_for(env, False, emergency=True)]
    expected = [("approvers", 1, ["U0A", "U0B", "U0C", "S0ONCALL"]), ("emergency", 1, ["S0ONCALL"])]
    assert expected == kinds


def test_emergency_approvers_default_to_the_environments() -> None:
    """Without an emergency key: one more approval, from the environment's approvers."""
    env = Environment.model_validate({"approvals": 1, "approvers": ["U0A", "U0B"]})
    rules = rules_for(env, False, emergency=True)
    assert [(1, ["U0A", "U0B"]), (1, ["U0A", "U0B"])] == [(r.approvals, r.approvers) for r in rules]


def test_rollback_uses_rollback_approvals_for_the_base_rule() -> None:
    """rollback_approvals: 0 drops the base rule of a rollback; approval_rules still apply."""
    env = Environment.model_validate(
        {"approvals": 2, "approvers": ["U0A", "U0B"], "rollback_approvals": 0,
         "approval_rules": [{"approvals": 1, "approvers": ["S0CHANGE"]}]}
    )  # fmt: skip
    assert [(1, ["S0CHANGE"])] == [(r.approvals, r.approvers) for r in rules_for(env, True, False)]


def test_eligibility_by_id_or_group() -> None:
    """A listed user or a member of a listed group is eligible; only the groups of rules that
    do not list the user need asking."""
    rules = [Rule(approvals=1, approvers=["U0CTO", "S0CHANGE"]), *CHANGE_AND_BIZ]
    assert ["S0CHANGE"] == groups_to_ask(rules, "U0CTO")
    assert [0, 2] == eligible(rules, "U0CTO", set())
    assert [0, 1] == eligible(rules, "U0X", {"S0CHANGE"})


@pytest.mark.parametrize("approve", [RedisStore.approve, Store.approve])
def test_which_rules_an_approval_counts_for_is_never_assumed(
    approve: Callable[..., object],
) -> None:
    """The store's approve has no default for ``eligible``: a caller that forgot to say which
    rules the person may count for fails, rather than counting them for the first (fail
    closed)."""
    assert inspect.Parameter.empty == inspect.signature(approve).parameters["eligible"].default


async def test_an_approval_eligible_for_no_rule_counts_for_nothing(store: RedisStore) -> None:
    r = request(CHANGE_AND_BIZ)
    await store.create(r)
    assert Approval(ApprovalOutcome.RECORDED, count=0, counted=False) == await store.approve(
        r, "U0X", eligible=[]
    )


def test_a_rules_name_is_carried_to_the_card() -> None:
    """approval_rules' optional name (1-40 characters) is kept on the request's rule and the
    card calls the rule by it (escaped), the others by their number."""
    env = Environment.model_validate(
        {"approvals": 1, "approvers": ["U0A", "U0B"],
         "approval_rules": [{"name": "Change & release", "approvals": 1, "approvers": ["S0CHANGE"]},
                            {"approvals": 1, "approvers": ["S0BIZ"]}]}
    )  # fmt: skip
    rules = rules_for(env, False, emergency=False)
    assert ["", "Change & release", ""] == [r.name for r in rules]
    lines = rule_lines(request(rules))
    assert lines[1].startswith("• *Change &amp; release* (<!subteam^S0CHANGE>): 0 of 1")
    assert lines[2].startswith("• *Rule 3* (<!subteam^S0BIZ>)")


@pytest.mark.parametrize("name", ["", "x" * 41])
def test_a_rules_name_is_1_to_40_characters(name: str) -> None:
    rule = {"name": name, "approvals": 1, "approvers": ["S0CHANGE"]}
    with pytest.raises(ValidationError, match="name"):
        Environment.model_validate({"approval_rules": [rule]})
