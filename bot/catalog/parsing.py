"""What is wrong with a catalog as a YAML document, before pydantic sees it.

A syntax error is one issue at the line and column to fix, said plainly: an unclosed ``{``
is reported where it was opened, not where PyYAML gave up (often lines later). Also here:
a document that is not a mapping, and keys given twice.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import yaml

from bot.catalog.issues import CatalogIssue, Loc, dotted

BRACKETS = {"flow mapping": ("{", "}"), "flow sequence": ("[", "]")}
TOKENS = {  # PyYAML's names for what it found, in words
    "<stream end>": "the end of the file",
    "<scalar>": "a value",
    "<block mapping start>": "a key",
    "?": "a key",
    "-": "a list item",
}


def not_a_mapping(root: yaml.Node | None) -> CatalogIssue:
    expected = "expected a mapping with keys notify, services"
    if root is None:
        return CatalogIssue(None, None, "", f"{expected}; the file is empty")
    kind = "sequence" if isinstance(root, yaml.SequenceNode) else "scalar"
    mark = root.start_mark
    return CatalogIssue(mark.line + 1, mark.column + 1, "", f"{expected}; found a {kind}")


def yaml_issue(exc: yaml.YAMLError, raw: bytes) -> CatalogIssue:
    """A YAML error as one issue at the place to fix."""
    if isinstance(exc, yaml.reader.ReaderError):
        return _unreadable(exc, raw)
    if not isinstance(exc, yaml.MarkedYAMLError) or exc.problem_mark is None:
        return CatalogIssue(None, None, "", f"invalid YAML: {exc}")
    mark, message = _explained(exc, exc.problem_mark)
    return CatalogIssue(mark.line + 1, mark.column + 1, "", f"invalid YAML: {message}")


def _explained(exc: yaml.MarkedYAMLError, at: yaml.Mark) -> tuple[yaml.Mark, str]:
    """Where to point, and what to say, for PyYAML's problem (and context) there."""
    problem, context, opened = exc.problem or "", exc.context or "", exc.context_mark
    kind = context.removeprefix("while parsing a ")
    if kind in BRACKETS and opened is not None:
        return _unclosed(BRACKETS[kind], _found(problem), opened, at)
    if context == "expected a single document in the stream":
        return at, "a second YAML document starts here; a catalog is one document"
    if context == "while scanning a quoted scalar" and opened is not None:
        return opened, f"this quote is never closed (the file ends at line {at.line + 1})"
    if problem.startswith("expected <block end>") and opened is not None:
        return at, _misplaced(kind, _found(problem), opened)
    return at, _token(problem) or _plain(problem, context, opened, at)


def _misplaced(block: str, found: str, opened: yaml.Mark) -> str:
    """Something that does not belong to the block (mapping or list) around it."""
    where = f"line {opened.line + 1}, column {opened.column + 1}"
    if found in ("'}'", "']'"):
        return f"this {found} closes nothing"
    if block == "block mapping" and found == "a key":
        return f"bad indentation: this key lines up with no key above it (see {where})"
    if block == "block mapping" and found == "a list item":
        return f"a list item among keys (the mapping starts at {where}); put the list under a key"
    if found == "a key":
        return f"a key among list items (the list starts at {where}); start the item with '- '"
    return f"bad indentation: unexpected {found} (the block above starts at {where})"


def _token(problem: str) -> str:
    """PyYAML's scanner problems that have a usual cause, said with it; else ''."""
    if "'\\t' that cannot start any token" in problem:
        return "a tab character; indent with spaces"
    if "that cannot start any token" in problem:
        return f"{problem.split()[2]} cannot start a value; put the value in quotes"
    if problem == "mapping values are not allowed here":
        return "unexpected ':'; quote a value that contains ': ', or align this line's key"
    return ""


def _unclosed(
    brackets: tuple[str, str], found: str, opened: yaml.Mark, at: yaml.Mark
) -> tuple[yaml.Mark, str]:
    """A flow mapping or list not closed: on one line, point at what broke it; across
    lines, at the bracket that was opened (the mistake is rarely where PyYAML stopped)."""
    start, end = brackets
    if found == TOKENS["<stream end>"]:
        return opened, f"this {start!r} is never closed (the file ends first)"
    expected = f"expected ',' or {end!r} but found {found}"
    if at.line == opened.line:
        return at, f"{expected} (inside the {start!r} at column {opened.column + 1})"
    return opened, (
        f"this {start!r} is never closed ({expected} at line {at.line + 1}, column {at.column + 1})"
    )


def _found(problem: str) -> str:
    """What PyYAML found, from "..., but found X" or "..., but got X"."""
    match = re.search(r"but (?:found|got) (.+)$", problem)
    token = match.group(1) if match else ""
    return TOKENS.get(token.strip("'"), token)


def _plain(problem: str, context: str, opened: yaml.Mark | None, at: yaml.Mark) -> str:
    """PyYAML's own words, with where its context began when that is elsewhere."""
    if not context:
        return problem
    if opened is None or (opened.line, opened.column) == (at.line, at.column):
        return f"{problem} ({context})"
    return f"{problem} ({context} at line {opened.line + 1}, column {opened.column + 1})"


def _unreadable(exc: yaml.reader.ReaderError, raw: bytes) -> CatalogIssue:
    """A byte that is not UTF-8, or a control character: its line and column."""
    if exc.encoding == "unicode":  # a character PyYAML refuses; position counts characters
        before = raw.decode("utf-8", "replace")[: exc.position]
        what = f"character U+{exc.character:04X} is not allowed in YAML"
    else:  # a byte that does not decode; position counts bytes
        before = raw[: exc.position].decode("utf-8", "replace")
        what = f"byte 0x{exc.character:02x} is not {exc.encoding.upper()}"
    line, column = before.count("\n") + 1, len(before) - before.rfind("\n")
    return CatalogIssue(line, column, "", f"invalid YAML: {what}")


def duplicate_keys(node: yaml.Node, loc: Loc, visited: set[int]) -> Iterator[CatalogIssue]:
    """Keys given twice in one mapping (PyYAML would silently keep the last)."""
    if id(node) in visited:  # an alias to a node already walked
        return
    visited.add(id(node))
    items = node.value if isinstance(node, yaml.MappingNode) else []
    seen: set[tuple[str, str]] = set()
    for key, value in items:
        if isinstance(key, yaml.ScalarNode) and (key.tag, key.value) in seen:
            line, column = key.start_mark.line + 1, key.start_mark.column + 1
            where = dotted((*loc, key.value))
            yield CatalogIssue(line, column, where, f"duplicate key {key.value!r}")
        seen.add((key.tag, str(key.value)))
        yield from duplicate_keys(value, (*loc, str(key.value)), visited)
    for index, item in enumerate(node.value if isinstance(node, yaml.SequenceNode) else []):
        yield from duplicate_keys(item, (*loc, index), visited)
