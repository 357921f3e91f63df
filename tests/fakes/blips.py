"""Redis blips, on purpose: proxies around the store (and the queue and the notifier, which
reach Redis too in production) whose chosen calls fail with StoreUnavailable, as they would
while Redis is briefly away.

    blips = Blips(Blip("finish", lost_answer=True))
    store = blips.around(RedisStore(...))
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot.ports.store import StoreUnavailable


@dataclass(frozen=True)
class Blip:
    """The ``nth`` call of ``method`` fails: counting the calls made once ``after`` has been
    called (if given), and only those whose first argument is ``arg`` (if given).
    ``lost_answer``: it fails after doing its work, as when Redis ran a script but its
    answer never came back."""

    method: str
    nth: int = 1
    after: str = ""
    arg: str = ""
    lost_answer: bool = False


class Blips:
    """The blips planned, shared by every proxy ``around`` something; counts every call."""

    def __init__(self, *blips: Blip) -> None:
        self.calls: Counter[str] = Counter()  # calls per method name, failed or not
        self.failed: Counter[str] = Counter()
        self.down: set[str] = set()  # methods failing until removed (a longer outage)
        self._seen: Counter[Blip] = Counter()
        self._blips: list[Blip] = []
        self.add(*blips)

    def add(self, *blips: Blip) -> None:
        """Plan more blips; their calls are counted from now on."""
        self._blips += blips

    def around(self, inner: Any) -> Any:
        return _Proxy(self, inner)

    async def call(self, name: str, method: Callable[..., Awaitable[Any]], *args: Any) -> Any:
        blip = self._due(name, args)
        self.calls[name] += 1
        if name in self.down or (blip and not blip.lost_answer):
            self._fail(name, "before")
        answer = await method(*args)
        if blip and blip.lost_answer:
            self._fail(name, "after")
        return answer

    def _due(self, name: str, args: tuple[Any, ...]) -> Blip | None:
        due = None
        for blip in self._blips:
            if self._counts(blip, name, args):
                self._seen[blip] += 1
                due = blip if self._seen[blip] == blip.nth else due
        return due

    def _counts(self, blip: Blip, name: str, args: tuple[Any, ...]) -> bool:
        started = not blip.after or self.calls[blip.after] > 0
        matches = not blip.arg or (bool(args) and args[0] == blip.arg)
        return blip.method == name and started and matches

    def _fail(self, name: str, when: str) -> None:
        self.failed[name] += 1
        raise StoreUnavailable(f"Redis blipped {when} {name}")


class _Proxy:
    def __init__(self, blips: Blips, inner: Any) -> None:
        self._blips, self._inner = blips, inner

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._inner, name)
        if not callable(attribute):
            return attribute

        async def call(*args: Any, **kwargs: Any) -> Any:
            bound = (lambda *a: attribute(*a, **kwargs)) if kwargs else attribute
            return await self._blips.call(name, bound, *args)

        return call
