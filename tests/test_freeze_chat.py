"""`/shipbot freeze` in the domain, over a real redis-server and the Slack directory against
FakeSlack: the freezers of every service of `freeze all` are asked of Slack at once, within one
budget; a second freeze never shortens the first; and a time that is no time is refused
saying what is accepted."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.catalog.model import load_catalog
from bot.domain.freezes import chat
from bot.domain.grammar import parse_shipbot
from bot.domain.lookup import Refused
from bot.domain.services import Services
from bot.store.requests import RedisStore, connect
from handlers.directory import SlackDirectory
from tests.fakes import DEFAULT_BOT_TOKEN, FakeSlack, RedisServer
from tests.fakes.deployers import RecordingDeployer, ScriptedHealth
from tests.fakes.recorders import RecordingNotifier, RecordingQueue
from tests.stack import PLAYBOOKS
from tests.waiting import until

CATALOG = f"""
timezone: Asia/Shanghai
notify:
  releases_channel: C0RELEASES
services:
  web:
    deployer: ansible
    playbook: {PLAYBOOKS / "ok.yml"}
    environments:
      prod: {{approvals: 1, approvers: [U0ALICE], freezers: [S0OPS]}}
  risk:
    deployer: ansible
    playbook: {PLAYBOOKS / "ok.yml"}
    environments:
      prod: {{approvals: 1, approvers: [U0ALICE], freezers: [S0RISK]}}
"""


@pytest.fixture
def slack(fake_slack: FakeSlack) -> FakeSlack:
    fake_slack.reset()
    fake_slack.usergroups.update({"S0OPS": ["U0OPS"], "S0RISK": ["U0OPS"]})
    return fake_slack


@pytest.fixture
async def services(
    redis_server: RedisServer, slack: FakeSlack, tmp_path: Path
) -> AsyncIterator[Services]:
    client = connect(redis_server.url)
    await client.flushdb()
    store = RedisStore(client)
    path = tmp_path / "catalog.yaml"
    path.write_text(CATALOG)
    yield Services(
        catalog=load_catalog(path),
        store=store,
        notifier=RecordingNotifier(),
        directory=SlackDirectory(AsyncWebClient(DEFAULT_BOT_TOKEN, slack.base_url), store),
        queue=RecordingQueue(),
        deployer_for=RecordingDeployer(),
        health=ScriptedHealth(),
    )
    await client.aclose()


async def freeze(services: Services, text: str, user: str = "U0OPS") -> chat.FreezeMade:
    return await chat.freeze(services, parse_shipbot(text), user)


async def test_freeze_all_asks_slack_for_every_freezer_group_at_once(
    services: Services, slack: FakeSlack
) -> None:
    """web's freezers are S0OPS, risk's S0RISK, Slack holding its answers: both groups are
    asked before either answers, and the freeze is made."""
    slack.usergroups_held = True
    making = asyncio.create_task(freeze(services, "freeze all prod 1h month end"))
    await until(lambda: slack.usergroups_outstanding() == 2, "both groups asked at once")
    slack.usergroups_held = False
    await making
    frozen = await services.store.chat_freezes("prod", ["web", "risk"])
    assert ["all"] == [f.service for f in frozen]


async def test_freeze_all_is_refused_naming_a_service_whose_freezers_exclude_them(
    services: Services, slack: FakeSlack
) -> None:
    slack.usergroups["S0RISK"] = []
    with pytest.raises(Refused, match="You may not freeze or unfreeze `risk` in `prod`"):
        await freeze(services, "freeze all prod 1h month end")
    assert [] == await services.store.chat_freezes("prod", ["web", "risk"])


@pytest.mark.parametrize("until", ["25:00", "12:60", "2027-02-30 09:00", "2027-13-01 09:00"])
async def test_a_time_that_is_no_time_is_refused_saying_what_is_accepted(
    services: Services, until: str
) -> None:
    with pytest.raises(Refused) as refused:
        await freeze(services, f"freeze web prod until {until} release")
    said = str(refused.value)
    assert f"`until {until}` is not a time" in said
    assert "`until HH:MM`" in said and "`until YYYY-MM-DD HH:MM`" in said
    assert "Asia/Shanghai" in said
    assert [] == await services.store.chat_freezes("prod", ["web"])


async def test_a_shorter_second_freeze_keeps_the_first(services: Services) -> None:
    """Frozen for 2h, a freeze for 1h keeps the 2h one (and its reason); nothing is audited."""
    first = await freeze(services, "freeze web prod 2h incident 42")
    second = await freeze(services, "freeze web prod 1h rehearsal", user="U0OPS")
    assert (True, first.made) == (second.kept, second.made)
    assert [first.made] == await services.store.chat_freezes("prod", ["web"])
    assert ["freeze"] == [e.event for e in await services.store.audit_trail()]


async def test_a_longer_second_freeze_replaces_the_first_and_says_so(services: Services) -> None:
    first = await freeze(services, "freeze web prod 1h incident 42")
    second = await freeze(services, "freeze web prod 3h incident 42 goes on")
    assert (False, first.made) == (second.kept, second.replaced)
    assert [second.made] == await services.store.chat_freezes("prod", ["web"])
    newest = (await services.store.audit_trail())[0]
    assert "incident 42 goes on" in newest.detail
    assert "(replaced the freeze until " in newest.detail and ": incident 42)" in newest.detail
