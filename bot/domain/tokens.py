"""The words of a command: names, versions, reasons, and the messages that quote them.

Pure: no I/O. Every failure is a :class:`UsageError` whose message names the bad token and is
Slack mrkdwn; tokens quoted in messages are re-escaped so they cannot become mentions or links.
"""

from __future__ import annotations

import re
import unicodedata

NAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")
MAX_REASON = 500
_NAME_CHAR = re.compile(r"[a-z0-9._-]")
_VERSION_CHAR = re.compile(r"[A-Za-z0-9._+/-]")
_ENTITY = re.compile(r"&(amp|lt|gt);")
_UNESCAPED = {"amp": "&", "lt": "<", "gt": ">"}
_VERSION_CHARS = "a version may only contain letters, digits and . _ + - /"
_MARKUP = "it looks like a Slack mention, link or &lt;placeholder&gt;: type the plain {}"


def code(text: str) -> str:
    """`text` as inline code, escaped for Slack mrkdwn, which reserves & < >."""
    return "`" + text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") + "`"


class UsageError(ValueError):
    """The command text cannot be parsed; `message` tells the person what to fix."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def validate_name(kind: str, token: str) -> str:
    """Return `token` if it is a valid service or environment name."""
    if NAME_RE.fullmatch(token):
        return token
    if not token:
        raise UsageError(f"The {kind} name is empty.")
    raise UsageError(f"{show(token)} is not a valid {kind} name: {_name_problem(token)}.")


def validate_version(token: str) -> str:
    """Return `token` if it is a valid version, tag, commit or branch-like ref."""
    problem = _version_problem(token)
    if problem:
        raise UsageError(f"{show(token)} is not a valid version: {problem}.")
    return token


def words_of(text: str) -> list[str]:
    """Undo Slack's escaping (in one pass), then split on any Unicode whitespace."""
    return _ENTITY.sub(lambda m: _UNESCAPED[m.group(1)], text).split()


def reason_of(words: list[str]) -> str:
    reason = " ".join(words)
    if len(reason) > MAX_REASON:
        raise UsageError(f"The reason is {len(reason)} characters long; keep it to {MAX_REASON}.")
    bad = next((c for c in reason if unicodedata.category(c) == "Cc"), None)
    if bad is not None:
        raise UsageError(f"The reason contains {_describe(bad)}; retype it as plain text.")
    return reason


def missing(what: str, usage_line: str) -> UsageError:
    return UsageError(f"Missing {what}.\nUsage: {usage_line}")


def _name_problem(token: str) -> str:
    if token.startswith("<"):
        return _MARKUP.format("name")
    if any(c.isupper() for c in token):
        lower = token.lower()
        if NAME_RE.fullmatch(lower):
            return f"names are lowercase, try {show(lower)}"
        return "names are lowercase letters, digits and . _ - only"
    if len(token) > 63:
        return "names are at most 63 characters"
    if not NAME_RE.fullmatch(token[0]):
        return "names start with a lowercase letter or digit"
    bad = next(c for c in token if not _NAME_CHAR.fullmatch(c))
    return f"names may only contain lowercase letters, digits and . _ - (found {_describe(bad)})"


def _version_problem(token: str) -> str | None:
    if not token:
        return "it is empty"
    bad = next((c for c in token if not _VERSION_CHAR.fullmatch(c)), None)
    if bad is not None:
        hint = "; " + _MARKUP.format("version") if token.startswith("<") else ""
        return f"{_VERSION_CHARS} (found {_describe(bad)}){hint}"
    if len(token) > 128:
        return "a version is at most 128 characters"
    if not token[0].isalnum():
        return "a version starts with a letter or digit"
    for part in ("..", "//"):
        if part in token:
            return f"a version may not contain `{part}`"
    for end in ("/", ".lock"):
        if token.endswith(end):
            return f"a version may not end with `{end}`"
    return None


def _describe(char: str) -> str:
    if char.isspace():
        return "whitespace"
    if not char.isprintable():
        return f"the invisible character U+{ord(char):04X}"
    return show(char)


def show(token: str) -> str:
    """`token` as inline code: shortened, invisible characters spelled out, Slack-escaped."""
    short = token if len(token) <= 40 else token[:40] + "…"
    text = "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in short)
    return code(text.replace("`", "'"))
