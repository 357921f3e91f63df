"""Problems in a catalog file, each at the YAML line and column it comes from.

pydantic reports where in the data a value is wrong (``services.web.environments.prod``);
these helpers find that place in the YAML node tree, so `shipbot check` can print
``file:line:column: location: message`` as compilers do. A place the file does not have (a
missing key) is reported at its nearest parent that it does have.
"""

from __future__ import annotations

import reprlib
from dataclasses import dataclass

import yaml
from pydantic_core import ErrorDetails

Loc = tuple[int | str, ...]
RULE = "catalog_rule"  # the error type of the catalog's cross-field rules (bot.catalog.checks)


@dataclass(frozen=True)
class CatalogIssue:
    """One problem in a catalog file, at a dotted location and (when known) a line and column."""

    line: int | None
    column: int | None
    location: str
    message: str
    file: str = ""

    def __str__(self) -> str:
        place = (self.file, self.line, self.column)
        where = ":".join(str(p) for p in place if p not in ("", None))
        what = f"{self.location}: {self.message}" if self.location else self.message
        return f"{where}: {what}" if where else what


def at(root: yaml.Node, loc: Loc, message: str) -> CatalogIssue:
    """An issue at `loc`, placed on the YAML key (or list item) found there."""
    mark = _node_at(root, loc).start_mark
    return CatalogIssue(mark.line + 1, mark.column + 1, dotted(loc), message)


def issue(root: yaml.Node, loc: Loc, error: ErrorDetails) -> CatalogIssue:
    """One pydantic error, whose place in the file is `loc` (its own, with keys as written)."""
    return at(root, loc, _message(error))


def _message(error: ErrorDetails) -> str:
    kind, loc = error["type"], error["loc"]
    if kind == "missing":
        return f"missing required key {loc[-1]!r}"
    if kind == "too_short":
        return f"at least one entry is required under {loc[-1]!r}"
    if kind == "value_error":
        return str(error.get("ctx", {}).get("error", error["msg"]))
    if kind == RULE:
        return error["msg"]
    return f"{error['msg']}, got {reprlib.repr(error['input'])}"


def _node_at(root: yaml.Node, loc: Loc) -> yaml.Node:
    """The key (or list item) at `loc`, or that of its nearest parent the file has."""
    node, anchor = root, root
    for part in loc:
        child = None if part == "[key]" else _child(node, part)
        if child is None:
            break
        anchor, node = child
    return anchor


def _child(node: yaml.Node, part: int | str) -> tuple[yaml.Node, yaml.Node] | None:
    """(key, value) of `part` in a mapping; (item, item) in a list, by index or by value."""
    if isinstance(node, yaml.MappingNode):
        return next(((k, v) for k, v in node.value if k.value == str(part)), None)
    if not isinstance(node, yaml.SequenceNode):
        return None
    if isinstance(part, int):
        return (node.value[part],) * 2 if part < len(node.value) else None
    return next(((item, item) for item in node.value if item.value == part), None)


def dotted(loc: Loc) -> str:
    parts = (f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc if p != "[key]")
    return "".join(parts).removeprefix(".")
