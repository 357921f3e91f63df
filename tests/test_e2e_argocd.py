"""End to end: a service deployed by Argo CD, one Argo CD and Application per data centre
(FakeArgoCD over HTTP, driven by the worker through Argo CD's REST API)."""

from __future__ import annotations

from tests.fakes import FakeArgoCD
from tests.stack import Stack

APPS = {"dc-a": "risk-dc-a", "dc-b": "risk-dc-b"}


def live(argo: dict[str, FakeArgoCD]) -> dict[str, str]:
    """The revision each data centre's Application runs."""
    return {dc: argo[dc].revision(app) for dc, app in APPS.items()}


def posts(server: FakeArgoCD, app: str) -> list[tuple[str, object]]:
    """(action, body) of each sync or rollback posted for ``app``."""
    prefix = f"/api/v1/applications/{app}/"
    return [
        (path.removeprefix(prefix), body)
        for method, path, body in server.calls
        if method == "POST" and path.startswith(prefix)
    ]


def with_v1(bot: Stack, argo: dict[str, FakeArgoCD]) -> None:
    """Both Applications exist and shipbot has deployed v1 to them."""
    for dc, app in APPS.items():
        argo[dc].add_application(app, revision="v1")
    bot.deployed("risk v1 to prod")


def test_each_datacenter_syncs_its_application(bot: Stack, argo: dict[str, FakeArgoCD]) -> None:
    """v2 is synced in dc-a, then dc-b, each on its own Argo CD; the card links the app."""
    with_v1(bot, argo)
    request_id = bot.deployed("risk v2 to prod")
    assert {"dc-a": "v2", "dc-b": "v2"} == live(argo)
    assert f"{argo['dc-b'].url}/applications/risk-dc-b|details>" in bot.card_text(request_id)


def test_degraded_second_datacenter_rolls_the_first_back(
    bot: Stack, argo: dict[str, FakeArgoCD]
) -> None:
    """v2 turns Degraded in dc-b: dc-a is rolled back to v1 by its history id."""
    with_v1(bot, argo)
    v1_id = argo["dc-a"].history("risk-dc-a")[-1]["id"]
    argo["dc-b"].degraded_revisions.add("v2")
    request_id = bot.deploy("risk v2 to prod")
    card = bot.wait_card(request_id, "Failed")
    assert "v1" == live(argo)["dc-a"]
    action, body = posts(argo["dc-a"], "risk-dc-a")[-1]
    assert ("rollback", v1_id) == (action, body["id"] if isinstance(body, dict) else None)
    assert "Degraded" in card and "dc-a rolled back to v1" in card


def test_rollback_is_refused_while_auto_sync_is_on(bot: Stack, argo: dict[str, FakeArgoCD]) -> None:
    """/rollback with auto-sync on in dc-a: refused with the reason, nothing posted."""
    with_v1(bot, argo)
    bot.deployed("risk v2 to prod")
    argo["dc-a"].set_automated("risk-dc-a", True)
    before = posts(argo["dc-a"], "risk-dc-a")
    request_id = bot.rollback("risk prod")
    card = bot.wait_card(request_id, "Rollback failed")
    assert "auto-sync" in card
    assert before == posts(argo["dc-a"], "risk-dc-a")
    assert {"dc-a": "v2", "dc-b": "v2"} == live(argo)
