"""Problems in a catalog file, each at the YAML line it comes from.

pydantic reports where in the data a value is wrong (``services.web.environments.prod``);
these helpers find that place in the YAML node tree, so `shipbot check` can print
``file:line: location: message``. They also report what pydantic cannot see: YAML syntax
errors, a document that is not a mapping, and keys given twice.
"""

from __future__ import annotations

import reprlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, get_args

import yaml
from pydantic import BaseModel
from pydantic_core import ErrorDetails

Loc = tuple[int | str, ...]


@dataclass(frozen=True)
class CatalogIssue:
    """One problem in a catalog file, at a dotted location and (when known) a line."""

    line: int | None
    location: str
    message: str
    file: str = ""

    def __str__(self) -> str:
        where = ":".join(str(p) for p in (self.file, self.line) if p not in ("", None))
        what = f"{self.location}: {self.message}" if self.location else self.message
        return f"{where}: {what}" if where else what


def not_a_mapping(root: yaml.Node | None) -> CatalogIssue:
    expected = "expected a mapping with keys notify, services"
    if root is None:
        return CatalogIssue(None, "", f"{expected}; the file is empty")
    kind = "sequence" if isinstance(root, yaml.SequenceNode) else "scalar"
    return CatalogIssue(root.start_mark.line + 1, "", f"{expected}; found a {kind}")


def yaml_issue(exc: yaml.YAMLError) -> CatalogIssue:
    if not isinstance(exc, yaml.MarkedYAMLError):
        return CatalogIssue(None, "", f"invalid YAML: {exc}")
    mark = exc.problem_mark or exc.context_mark
    context = f" ({exc.context})" if exc.context else ""
    return CatalogIssue(
        mark.line + 1 if mark else None, "", f"invalid YAML: {exc.problem}{context}"
    )


def duplicate_keys(node: yaml.Node, loc: Loc, visited: set[int]) -> Iterator[CatalogIssue]:
    """Keys given twice in one mapping (PyYAML would silently keep the last)."""
    if id(node) in visited:  # an alias to a node already walked
        return
    visited.add(id(node))
    items = node.value if isinstance(node, yaml.MappingNode) else []
    seen: set[tuple[str, str]] = set()
    for key, value in items:
        if isinstance(key, yaml.ScalarNode) and (key.tag, key.value) in seen:
            line, where = key.start_mark.line + 1, _dotted((*loc, key.value))
            yield CatalogIssue(line, where, f"duplicate key {key.value!r}")
        seen.add((key.tag, str(key.value)))
        yield from duplicate_keys(value, (*loc, str(key.value)), visited)
    for index, item in enumerate(node.value if isinstance(node, yaml.SequenceNode) else []):
        yield from duplicate_keys(item, (*loc, index), visited)


def issue(root: yaml.Node, error: ErrorDetails, model: type[BaseModel]) -> CatalogIssue:
    """One pydantic error as a CatalogIssue at the YAML line it points to."""
    return CatalogIssue(_line(root, error["loc"]), _dotted(error["loc"]), _message(error, model))


def _message(error: ErrorDetails, model: type[BaseModel]) -> str:
    kind, loc = error["type"], error["loc"]
    if kind == "extra_forbidden":
        return f"unknown key {loc[-1]!r} (allowed: {', '.join(_allowed_keys(model, loc[:-1]))})"
    if kind == "missing":
        return f"missing required key {loc[-1]!r}"
    if kind == "too_short":
        return f"at least one entry is required under {loc[-1]!r}"
    if kind == "value_error":
        return str(error.get("ctx", {}).get("error", error["msg"]))
    return f"{error['msg']}, got {reprlib.repr(error['input'])}"


def _allowed_keys(model: type[BaseModel], loc: Loc) -> list[str]:
    """The keys allowed at `loc`, found by walking the model classes along it."""
    kind: Any = model
    for part in loc:
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            field = kind.model_fields.get(str(part))
            kind = _model(field.annotation) if field else None
        else:
            kind = _model((get_args(kind) or (None,))[-1])  # dict[str, X] or list[X]: X
    return list(kind.model_fields) if isinstance(kind, type) and issubclass(kind, BaseModel) else []


def _model(kind: Any) -> Any:
    """``X | None`` -> X; anything else unchanged."""
    args = [a for a in get_args(kind) if a is not type(None)]
    return args[0] if type(None) in get_args(kind) and len(args) == 1 else kind


def _line(root: yaml.Node, loc: Loc) -> int:
    """1-based line of the YAML key (or item) at `loc`, or of its nearest existing parent."""
    node, anchor = root, root
    for part in loc:
        child = None if part == "[key]" else _child(node, part)
        if child is None:
            break
        anchor, node = child
    return anchor.start_mark.line + 1


def _child(node: yaml.Node, part: int | str) -> tuple[yaml.Node, yaml.Node] | None:
    if isinstance(node, yaml.MappingNode):
        return next(((k, v) for k, v in node.value if k.value == str(part)), None)
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        return node.value[part], node.value[part]
    return None


def _dotted(loc: Loc) -> str:
    parts = (f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc if p != "[key]")
    return "".join(parts).removeprefix(".")
