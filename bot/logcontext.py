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
from contextvars import Token
from typing import Any, Protocol

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
    structlog.contextvars.bind_contextvars(
        request_id=request.id, service=request.service, environment=request.environment
    )


@contextmanager
def scope(**fields: str) -> Iterator[None]:
    """Records logged in the block carry ``fields``; what is bound inside (``fields``, and the
    request :func:`bind` binds) is unbound when the block ends (what was bound before stays).

    Cheap on the ack path: it sets those few context variables here and resets them by their
    tokens at the end. A reset restores the value from before the set that made the token,
    whatever was set in between, so the whole context is neither copied nor cleared."""
    tokens = structlog.contextvars.bind_contextvars(**{**_UNSET_REQUEST, **fields})
    kept = {k: _before(tokens[k]) for k in _UNSET_REQUEST if k not in fields}
    structlog.contextvars.bind_contextvars(**kept)  # the request bound before stays inside
    try:
        yield
    finally:
        structlog.contextvars.reset_contextvars(**tokens)


_UNSET_REQUEST: dict[str, Any] = dict.fromkeys(("request_id", "service", "environment"), ...)


def _before(token: Token[Any]) -> Any:
    """The value a variable had before the set that made ``token`` (structlog's "unbound",
    ``...``, if it had none)."""
    return ... if token.old_value is Token.MISSING else token.old_value


@contextmanager
def bound(request: _Request) -> Iterator[None]:
    """Records logged in the block carry the request's id, service and environment."""
    with scope(request_id=request.id, service=request.service, environment=request.environment):
        yield
