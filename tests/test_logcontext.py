"""bot/logcontext.py's scopes nest: a request bound in a scope ends with it, one bound around
it stays, and a task started inside cannot change the scope's fields."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from structlog.contextvars import get_contextvars

from bot import logcontext


@dataclass(frozen=True)
class Request:
    id: str
    service: str = "web-h5"
    environment: str = "prod"


OUTER, INNER = Request("d-outer"), Request("d-inner", "api", "staging")


def fields(request: Request) -> dict[str, str]:
    return {
        "request_id": request.id,
        "service": request.service,
        "environment": request.environment,
    }


def test_a_request_bound_around_a_scope_is_seen_inside_and_back_after_it() -> None:
    """bound(OUTER), then a scope that binds INNER: OUTER inside until the bind, INNER after
    it, OUTER again once the scope ends, and nothing once bound() ends."""
    with logcontext.bound(OUTER):
        with logcontext.scope(user="U0DEV"):
            first = get_contextvars()
            logcontext.bind(INNER)
            second = get_contextvars()
        third = get_contextvars()
    assert (
        fields(OUTER) | {"user": "U0DEV"},
        fields(INNER) | {"user": "U0DEV"},
        fields(OUTER),
        {},
    ) == (first, second, third, get_contextvars())


async def test_a_task_binding_a_request_leaves_the_scope_that_started_it_alone() -> None:
    """A task spawned in a scope binds another request: the scope still has its own, and it
    ends cleanly."""

    async def other() -> dict[str, str]:
        logcontext.bind(INNER)
        return get_contextvars()

    with logcontext.scope(user="U0DEV"):
        logcontext.bind(OUTER)
        in_task = await asyncio.create_task(other())
        inside = get_contextvars()
    assert (fields(INNER) | {"user": "U0DEV"}, fields(OUTER) | {"user": "U0DEV"}, {}) == (
        in_task,
        inside,
        get_contextvars(),
    )
