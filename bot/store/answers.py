"""What the Lua scripts answer, as the typed results of :mod:`bot.ports.store`.

A script answers a JSON object whose keys are the fields of the result it stands for (see the
comment at the top of each bot/store/lua/*.lua); this module is the only place that reads it.
An unknown key or a missing field without a default is an error, not a silent misreading.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import typing
from typing import Any, TypeVar

from bot.models import RESTRAINED, Created, Restrained, State, Workers

T = TypeVar("T")


def decode(raw: str | bytes, kind: type[T]) -> T:
    """The answer ``raw`` as a ``kind``, a frozen dataclass with an ``outcome`` enum field."""
    hints = _hints(kind)  # type: ignore[arg-type]  # a class is hashable
    data = json.loads(raw)
    unknown = set(data) - set(hints)
    if unknown:
        raise ValueError(f"{kind.__name__} has no fields {sorted(unknown)}: {data}")
    return kind(**{name: _typed(hints[name], value) for name, value in data.items()})


def outcome(raw: str | bytes, kind: type[T]) -> T:
    """The answer ``raw`` (``{"outcome": ...}``) as the enum ``kind``."""
    data = json.loads(raw)
    if set(data) != {"outcome"}:
        raise ValueError(f"{kind.__name__}: expected only an outcome, got {data}")
    return kind(data["outcome"])  # type: ignore[call-arg]


def created(raw: str | bytes) -> Created | Restrained | None:
    """create.lua's answer; None when the Slack delivery was seen before, RESTRAINED when
    told to record only an unrestrained request and there is a lock or a chat freeze."""
    data = json.loads(raw)
    if data["outcome"] == "replay":
        return None
    if data["outcome"] == "restrained":
        return RESTRAINED
    newest = data["newest"]
    workers = Workers(int(data["alive"]), float(newest) if newest else None)
    handed_over = bool(data.get("handed_over"))
    return Created(State(data["state"]), data["head"], data["ahead"], workers, handed_over)


@functools.cache
def _hints(kind: type[Any]) -> dict[str, Any]:
    """The types of ``kind``'s fields, by name (read once per kind)."""
    hints = typing.get_type_hints(kind)
    return {f.name: hints[f.name] for f in dataclasses.fields(kind)}


def _typed(hint: Any, value: Any) -> Any:
    """``value`` (a JSON scalar) as the field's type: an enum, ``State | None`` ("" is None),
    int or str."""
    options = typing.get_args(hint) or (hint,)
    if type(None) in options and value in ("", None):
        return None
    kind = next(option for option in options if option is not type(None))
    return kind(value)
