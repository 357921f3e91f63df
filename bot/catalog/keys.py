"""Unknown keys in a catalog, each with the key it was probably meant to be.

Left to pydantic, a misspelt key (``enviroments``) is two errors, an unknown key and a
missing one, and nothing beneath it is checked. `spelled` walks the data along the models
first: it reports each unknown key once, naming the nearest allowed key not already given
("did you mean 'environments'?"), and returns a copy in which that key is renamed, so
validation goes on beneath it and reports no "missing" for it. An unknown key with no near
match is reported with the keys allowed there, and left out of the copy.
"""

from __future__ import annotations

import difflib
import types
from dataclasses import dataclass, field
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel

from bot.catalog.issues import Loc

NEAR = 0.75  # difflib's similarity from which a key is taken for a misspelling (aprovals)


@dataclass(frozen=True)
class UnknownKey:
    """A key the model at `loc[:-1]` does not have; `loc` as validated (see `as_written`)."""

    loc: Loc
    meant: str | None
    allowed: tuple[str, ...]

    @property
    def message(self) -> str:
        if self.meant:
            return f"unknown key {self.loc[-1]!r} (did you mean {self.meant!r}?)"
        return f"unknown key {self.loc[-1]!r} (allowed: {', '.join(self.allowed)})"


@dataclass
class Spelling:
    """The data with misspelt keys renamed, the unknown keys, and how to map back."""

    data: Any
    unknown: list[UnknownKey] = field(default_factory=list)
    renamed: dict[Loc, Any] = field(default_factory=dict)  # loc as validated -> as written

    def as_written(self, loc: Loc) -> Loc:
        """`loc` (from validating `data`) with each renamed key spelt as in the file."""
        return tuple(self.renamed.get(loc[: i + 1], part) for i, part in enumerate(loc))


def spelled(model: type[BaseModel], data: Any) -> Spelling:
    """Check the keys of `data` against `model` and the models its fields hold."""
    spelling = Spelling(None)
    spelling.data = _walk(model, data, (), spelling)
    return spelling


def _walk(kind: Any, data: Any, loc: Loc, spelling: Spelling) -> Any:
    kind = _bare(kind)
    if isinstance(kind, type) and issubclass(kind, BaseModel) and isinstance(data, dict):
        return _keys(kind, data, loc, spelling)
    args = get_args(kind)
    if get_origin(kind) is dict and isinstance(data, dict):
        return {key: _walk(args[1], value, (*loc, key), spelling) for key, value in data.items()}
    if get_origin(kind) is list and isinstance(data, list):
        return [_walk(args[0], item, (*loc, i), spelling) for i, item in enumerate(data)]
    return data


def _keys(model: type[BaseModel], data: dict[Any, Any], loc: Loc, spelling: Spelling) -> Any:
    fields = {field.alias or name: field for name, field in model.model_fields.items()}
    checked: dict[str, Any] = {}
    for key, value in data.items():
        name = key if key in fields else _meant(str(key), fields, data, checked)
        if key not in fields:
            spelling.unknown.append(UnknownKey((*loc, key), name, tuple(fields)))
        if name is not None and name != key:
            spelling.renamed[(*loc, name)] = key
        if name is not None:
            checked[name] = _walk(fields[name].annotation, value, (*loc, name), spelling)
    return checked


def _meant(key: str, fields: Any, data: dict[Any, Any], taken: dict[str, Any]) -> str | None:
    """The allowed key nearest to `key` that the mapping does not already give, if any."""
    free = [name for name in fields if name not in data and name not in taken]
    return next(iter(difflib.get_close_matches(key, free, n=1, cutoff=NEAR)), None)


def _bare(kind: Any) -> Any:
    """``Annotated[X, ...]`` and ``X | None`` -> X; anything else unchanged."""
    if get_origin(kind) is Annotated:
        return _bare(get_args(kind)[0])
    if get_origin(kind) in (Union, types.UnionType):
        args = [a for a in get_args(kind) if a is not type(None)]
        return _bare(args[0]) if len(args) == 1 else kind
    return kind
