"""Which request a log record is about: request id, service and environment on every record.

Each unit of work opens a ``scope()`` where it enters shipbot (a Slack delivery in the guard,
a worker's job, a console deploy); the domain ``bind``s a request as soon as it knows it, and
every record logged until the scope ends, in that task and the tasks it starts, carries the
request's fields. The fields live in structlog's context variables, which bot/app/logs.py merges
into each record.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

import structlog


class _Request(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def service(self) -> str: ...
    @property
    def environment(self) -> str: ...


def bind(request: _Request) -> None:
    """Records logged from here to the end of the scope carry the request's id, service and
    environment."""
    bind_fields(request_id=request.id, service=request.service, environment=request.environment)


def bind_fields(**fields: str) -> None:
    """Records logged from here to the end of the scope carry these fields."""
    structlog.contextvars.bind_contextvars(**fields)


@contextmanager
def scope(**fields: str) -> Iterator[None]:
    """Records logged in the block carry ``fields``; what is bound inside is unbound when the
    block ends (what was bound before stays)."""
    before = structlog.contextvars.get_contextvars()
    try:
        bind_fields(**fields)
        yield
    finally:
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(**before)


@contextmanager
def bound(request: _Request) -> Iterator[None]:
    """Records logged in the block carry the request's id, service and environment."""
    with scope(request_id=request.id, service=request.service, environment=request.environment):
        yield
