"""End to end, locks and holds: signed slash commands over HTTP to `shipbot serve`, a
`shipbot worker`, a private redis-server, FakeSlack, and real playbooks against localhost.

The stack here is this module's own: its catalog names admins and approver groups."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from bot.store.keys import Keys
from tests.conftest import flush_keeping_workers, marker_lines
from tests.fakes import FakeSlack, RedisServer
from tests.stack import PLAYBOOKS, Stack, reply_text


def _catalog(directory: Path) -> Path:
    marker = directory / "marker.log"
    path = directory / "catalog.yaml"
    path.write_text(f"""
timezone: Asia/Shanghai
notify:
  releases_channel: C0RELEASES
services:
  web:
    deployer: ansible
    playbook: {PLAYBOOKS / "ok.yml"}
    vars: {{marker_file: "{marker}"}}
    environments:
      staging: {{approvals: 0, datacenters: [dc-a, dc-b], admins: [U0ADMIN]}}
      prod:
        approvals: 1
        approvers: [U0ALICE, S0OPS]
        deployers: [U0DEV]
        datacenters: [dc-a, dc-b]
  api:
    deployer: ansible
    playbook: {PLAYBOOKS / "ok.yml"}
    vars: {{marker_file: "{marker}"}}
    environments:
      staging: {{approvals: 0, datacenters: [dc-a, dc-b], admins: [U0ADMIN]}}
""")
    return path


@pytest.fixture(scope="module")
def locks_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("locks")
    with RedisServer() as server, FakeSlack() as slack:
        running = Stack(workdir, server, slack, _catalog(workdir)).start()
        yield running
        running.stop()


@pytest.fixture
def bot(locks_stack: Stack) -> Stack:
    flush_keeping_workers(locks_stack.redis.url)
    locks_stack.slack.reset()
    (locks_stack.workdir / "marker.log").unlink(missing_ok=True)
    return locks_stack


def shipbot(bot: Stack, text: str, user: str) -> str:
    return reply_text(bot.command(text, user, command="/shipbot"))


def test_a_lock_refuses_others_and_names_its_holder(bot: Stack) -> None:
    """While U0DEV holds web staging, U0OTHER's deploy is refused with who, why, since and
    until; nothing is recorded or run."""
    said = shipbot(bot, "lock web staging migrating the db for 2h", "U0DEV")
    assert "Locked `web` in `staging`" in said
    refused = reply_text(bot.command("web v1 to staging", "U0OTHER"))
    expected = "🔒 `web` in `staging` is locked by <@U0DEV> since "
    assert refused.startswith(expected)
    assert " until " in refused and ": migrating the db." in refused
    assert [] == bot.slack.messages("C0DEPLOY") and [] == marker_lines(bot)


def test_status_says_lock_and_hold_times_in_the_catalogs_time_zone(bot: Stack) -> None:
    """`/shipbot status` says until when as the lock and hold answers did: Asia/Shanghai."""
    locked = shipbot(bot, "lock web staging migrating the db", "U0DEV")
    held = shipbot(bot, "hold web staging dc-a rack 4 maintenance", "U0ADMIN")
    lock_until = re.search(r"until (\S+ \S+ Asia/Shanghai)", locked)
    hold_until = re.search(r"until (\S+ \S+ Asia/Shanghai)", held)
    assert lock_until and hold_until
    status = shipbot(bot, "status web", "U0DEV")
    assert f"locked by <@U0DEV> until {lock_until[1]}: migrating the db" in status
    assert f"`dc-a` held by <@U0ADMIN> until {hold_until[1]}: rack 4 maintenance" in status


def test_a_lock_lets_its_holder_deploy(bot: Stack) -> None:
    """The holder's own deploy runs as usual."""
    shipbot(bot, "lock web staging migrating the db", "U0DEV")
    request_id = bot.deploy("web v1 to staging", "U0DEV")
    bot.wait_card(request_id, "Deployed in")
    assert 2 == len(marker_lines(bot))


def test_a_lock_does_not_reach_other_services(bot: Stack) -> None:
    """Locking web staging leaves api staging open to everyone."""
    shipbot(bot, "lock web staging migrating the db", "U0DEV")
    request_id = bot.deploy("api v1 to staging", "U0OTHER")
    assert "Deployed in" in bot.wait_card(request_id, "Deployed in")


def test_a_locked_environment_cannot_be_locked_by_another(bot: Stack) -> None:
    """A second person's lock is refused naming the holder; the holder's own re-lock renews."""
    shipbot(bot, "lock web staging migrating the db", "U0DEV")
    refused = shipbot(bot, "lock web staging my turn", "U0OTHER")
    assert "locked by <@U0DEV>" in refused and "Ask them to unlock it" in refused
    assert "Still locked" in shipbot(bot, "lock web staging migrating slowly for 6h", "U0DEV")


def test_the_holder_unlocks_and_others_may_deploy_again(bot: Stack) -> None:
    """After `/shipbot unlock` by its holder, anyone's deploy is accepted."""
    shipbot(bot, "lock web staging migrating the db", "U0DEV")
    assert "Unlocked `web` in `staging`" in shipbot(bot, "unlock web staging", "U0DEV")
    request_id = bot.deploy("web v1 to staging", "U0OTHER")
    bot.wait_card(request_id, "Deployed in")


def test_only_the_holder_or_an_admin_unlocks(bot: Stack) -> None:
    """Someone else's unlock is refused, naming the environment's admins; the lock stays."""
    shipbot(bot, "lock web staging migrating the db", "U0DEV")
    refused = shipbot(bot, "unlock web staging", "U0OTHER")
    assert "Only they, or an admin of `staging` (<@U0ADMIN>), may unlock it." in refused
    assert "locked by <@U0DEV>" in shipbot(bot, "status web", "U0OTHER")


def test_an_admin_breaks_a_lock_with_a_reason_and_the_holder_is_told(bot: Stack) -> None:
    """Without a reason the admin is asked for one; with it the lock ends, the holder hears
    who broke it and why, the audit trail says so, and others may deploy again."""
    shipbot(bot, "lock web staging migrating the db", "U0DEV")
    assert "say why" in shipbot(bot, "unlock web staging", "U0ADMIN")
    said = shipbot(bot, "unlock web staging incident 42 needs a fix out", "U0ADMIN")
    assert "Broke <@U0DEV>'s lock" in said
    told = bot.slack.wait_for(lambda: bot.ephemerals("U0DEV"))
    expected = "🔓 <@U0ADMIN> broke your lock on `web` in `staging`: incident 42 needs a fix out"
    assert [expected] == told
    audit = shipbot(bot, "audit web", "U0ADMIN")
    assert "<@U0ADMIN> *lock_broken* web staging: incident 42 needs a fix out" in audit
    assert "<@U0DEV> *lock* web staging: migrating the db" in audit
    bot.wait_card(bot.deploy("web v1 to staging", "U0OTHER"), "Deployed in")


def test_a_lock_ends_when_its_time_is_up(bot: Stack) -> None:
    """A lock whose time to live runs out (shortened here in Redis) refuses nobody."""
    shipbot(bot, "lock web staging migrating the db", "U0DEV")
    client = redis.Redis.from_url(bot.redis.url)
    key = Keys().lock("web", "staging")
    assert client.pexpire(key, 1)
    bot.slack.wait_for(lambda: not client.exists(key))
    client.close()
    bot.wait_card(bot.deploy("web v1 to staging", "U0OTHER"), "Deployed in")


def test_only_deployers_and_approvers_may_lock(bot: Stack) -> None:
    """prod lists deployers: an outsider may not lock it; an approver may."""
    bot.slack.usergroups["S0OPS"] = ["U0OPS"]
    refused = shipbot(bot, "lock web prod quiet please", "U0MALLORY")
    assert refused.startswith("You may not lock `web` in `prod`")
    assert "Locked" in shipbot(bot, "lock web prod quiet please", "U0ALICE")


def test_a_held_datacenter_is_skipped_and_the_others_deployed(bot: Stack) -> None:
    """dc-a held: the deploy succeeds, dc-a skipped with who held it and why, dc-b deployed."""
    said = shipbot(bot, "hold web staging dc-a rack 4 maintenance", "U0ADMIN")
    assert "Held `dc-a` of `web` in `staging`" in said
    request_id = bot.deploy("web v2 to staging", "U0DEV")
    card = bot.wait_card(request_id, "Deployed in")
    assert "`dc-a` skipped — held by <@U0ADMIN> until " in card
    assert ": rack 4 maintenance" in card and "`dc-b` succeeded" in card
    assert [f"web v2 staging dc-b deploy {request_id}"] == marker_lines(bot)
    assert "`dc-a` held by <@U0ADMIN>" in shipbot(bot, "status web", "U0DEV")
    assert "<@U0ADMIN> *hold* web staging: dc-a: rack 4 maintenance" in shipbot(
        bot, "audit web", "U0DEV"
    )


def test_a_hold_of_all_services_is_skipped_by_each(bot: Stack) -> None:
    """`all` holds dc-b of every service in staging; unhold releases it."""
    shipbot(bot, "hold all staging dc-b network change", "U0ADMIN")
    request_id = bot.deploy("api v3 to staging", "U0DEV")
    card = bot.wait_card(request_id, "Deployed in")
    assert "`dc-b` skipped — held by <@U0ADMIN>" in card
    assert "Released `dc-b` of every service" in shipbot(bot, "unhold all staging dc-b", "U0ADMIN")
    again = bot.deploy("api v4 to staging", "U0DEV")
    assert "skipped" not in bot.wait_card(again, "Deployed in")


def test_a_request_whose_every_datacenter_is_held_is_not_run(bot: Stack) -> None:
    """Both data centres held: nothing runs, and the card names the holds."""
    shipbot(bot, "hold web staging dc-a rack 4", "U0ADMIN")
    shipbot(bot, "hold web staging dc-b rack 5", "U0ADMIN")
    request_id = bot.deploy("web v2 to staging", "U0DEV")
    card = bot.wait_card(request_id, "Not run")
    assert "every data centre is held" in card and "rack 5" in card
    assert [] == marker_lines(bot)


def test_hold_needs_an_approver_or_admin_and_a_real_datacenter(bot: Stack) -> None:
    """Others are refused; an unknown data centre is refused naming the real ones."""
    refused = shipbot(bot, "hold web staging dc-a rack 4", "U0DEV")
    assert refused.startswith("You may not hold `dc-a` of `web` in `staging`")
    unknown = shipbot(bot, "hold web staging dc-z rack 4", "U0ADMIN")
    assert "`dc-z` is not a data centre of `web` in `staging`" in unknown
    assert "`dc-a`, `dc-b`" in unknown


def test_hold_fails_closed_when_groups_cannot_be_checked(bot: Stack) -> None:
    """prod's approvers include S0OPS: when Slack can't list it, the hold is refused; a
    member may hold once it can."""
    refused = shipbot(bot, "hold web prod dc-a rack 4", "U0OPS")
    assert refused.startswith("shipbot couldn't check your user groups with Slack")
    bot.slack.usergroups["S0OPS"] = ["U0OPS"]
    assert "Held `dc-a`" in shipbot(bot, "hold web prod dc-a rack 4", "U0OPS")
