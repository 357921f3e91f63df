"""POST /gitlab/webhook when GITLAB_WEBHOOK_SECRET is not set: it says it is not configured."""

from __future__ import annotations

from typing import cast

import httpx
from starlette.applications import Starlette
from starlette.routing import Route

from bot.domain.services import Services
from handlers.webhooks import gitlab_webhook


async def test_webhook_without_a_secret_says_it_is_not_configured() -> None:
    """With no secret set, every hook gets 401 saying webhooks are not configured, rather
    than that the token does not match."""
    unused = cast(Services, None)  # the answer comes before anything is looked up
    app = Starlette(routes=[Route("/gitlab/webhook", gitlab_webhook(unused, ""), methods=["POST"])])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://shipbot") as client:
        answer = await client.post(
            "/gitlab/webhook", json={"object_kind": "pipeline"}, headers={"X-Gitlab-Token": "x"}
        )
    expected = {
        "message": "GitLab webhooks are not configured on this shipbot (GITLAB_WEBHOOK_SECRET "
        "is not set)"
    }
    assert (401, expected) == (answer.status_code, answer.json())
