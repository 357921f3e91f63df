"""Catalog checks of approval rules and break-glass: rules that list only users need enough of
them, alone and together (one person counts for one rule); an emergency needs approvers."""

from __future__ import annotations

from pathlib import Path

from bot.catalog.governance import Freeze
from bot.catalog.model import check_catalog, load_catalog
from tests.test_catalog import issues_of, with_prod, write


def test_a_rule_of_users_needs_as_many_as_its_approvals(tmp_path: Path) -> None:
    """A rule asking two approvals of one listed user is an error at its approvers."""
    rules = "{approval_rules: [{approvals: 2, approvers: [U0CTO]}]}"
    assert [(11, "approvals is 2 but only 1 can approve")] == issues_of(
        write(tmp_path, with_prod(rules))
    )


def test_rules_sharing_their_only_user_cannot_both_be_met(tmp_path: Path) -> None:
    """Two one-person rules that list only U0CTO: one person counts for one rule."""
    rules = (
        "{approval_rules: [{approvals: 1, approvers: [U0CTO]}, "
        "{approvals: 1, approvers: [U0CTO, S0BIZ]}, {approvals: 1, approvers: [U0CTO]}]}"
    )
    expected = "the rules that list only users need 2 distinct people, but at most 1"
    issues = issues_of(write(tmp_path, with_prod(rules)))
    assert 1 == len(issues) and expected in issues[0][1]


def test_rules_with_groups_or_enough_people_are_valid(tmp_path: Path) -> None:
    """A group may stand for anyone; distinct users for each rule are enough."""
    rules = (
        "{approvals: 1, approvers: [U0ALICE, U0BOB], approval_rules: ["
        "{approvals: 1, approvers: [U0BOB, U0CTO]}, {approvals: 2, approvers: [S0CHANGE]}]}"
    )
    assert [] == issues_of(write(tmp_path, with_prod(rules)))


def test_an_emergency_needs_approvers(tmp_path: Path) -> None:
    """An emergency key where neither it nor the environment names approvers is an error."""
    body = "{approvals: 0, emergency: {approvals: 1}}"
    issues = issues_of(write(tmp_path, with_prod(body)))
    assert 1 == len(issues) and "an emergency needs approvers" in issues[0][1]


def test_an_emergency_whose_extra_approver_is_taken_is_refused(tmp_path: Path) -> None:
    """One approver, one approval, and break-glass adding one more from the same person."""
    body = "{approvals: 1, approvers: [U0ALICE], emergency: {approvers: [U0ALICE]}}"
    issues = issues_of(write(tmp_path, with_prod(body)))
    assert 1 == len(issues) and "an emergency can't be approved" in issues[0][1]


def test_the_brokers_example_catalog_is_valid() -> None:
    """examples/broker/catalog.yaml, the README's governance reference, passes `shipbot check`,
    and holds what it shows: approval rules, an emergency rule, a trading-hours freeze."""
    path = Path(__file__).parent.parent / "examples" / "broker" / "catalog.yaml"
    assert [] == check_catalog(path)
    prod = load_catalog(path).services["trade-api"].environments["prod"]
    freeze = prod.freeze or Freeze()
    assert (1, "XSHG", 15) == (len(prod.approval_rules), freeze.calendar, freeze.margin_minutes)
