"""Redis blips, on purpose: a proxy around the store (or the queue, or the notifier) whose
chosen calls fail with StoreUnavailable, as they would while Redis is briefly away."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot.ports.store import StoreUnavailable


@dataclass(frozen=True)
class Blip:
    """The ``nth`` call of ``method`` (counting from the first after ``after`` was called, if
    given) fails. ``lost_answer``: it fails after it did its work, as when Redis ran a script
    but its answer never came back."""

    method: str
    nth: int = 1
    after: str = ""
    lost_answer: bool = False


class Blips:
    """Calls ``inner``'s methods, failing the ones the blips name; counts every call."""

    def __init__(self, inner: Any, *blips: Blip) -> None:
        self.inner, self.blips = inner, blips
        self.calls: Counter[str] = Counter()
        self.failed: Counter[str] = Counter()
        self.down: set[str] = set()  # methods failing until removed (a longer outage)
        self._counted: Counter[Blip] = Counter()

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.inner, name)
        return self._wrapped(name, attribute) if callable(attribute) else attribute

    def _wrapped(self, name: str, method: Callable[..., Awaitable[Any]]) -> Callable[..., Any]:
        async def call(*args: Any, **kwargs: Any) -> Any:
            blip = self._due(name)
            self.calls[name] += 1
            if name in self.down or (blip and not blip.lost_answer):
                self._fail(name, "before")
            answer = await method(*args, **kwargs)
            if blip and blip.lost_answer:
                self._fail(name, "after")
            return answer

        return call

    def _due(self, name: str) -> Blip | None:
        due = None
        for blip in self.blips:
            if blip.method == name and (not blip.after or self.calls[blip.after]):
                self._counted[blip] += 1
                due = blip if self._counted[blip] == blip.nth else due
        return due

    def _fail(self, name: str, when: str) -> None:
        self.failed[name] += 1
        raise StoreUnavailable(f"Redis blipped {when} {name}")
