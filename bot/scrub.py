"""The one scrubber: removes secrets from text before it is logged or sent to Slack.

It masks what looks like a credential, whatever produced the text (shipbot, a playbook's task
output, a pipeline's job log, an Argo CD message), and keeps the words around it readable:

- Slack tokens (``xoxb-``, ``xoxp-``, ``xoxa-``, ``xoxr-``, ``xoxs-``, ``xoxe-``, ``xapp-``)
  and the secret path of Slack webhook URLs;
- GitLab tokens by their documented prefixes (``glpat-`` personal/project/group access,
  ``gldt-`` deploy, ``glptt-`` pipeline trigger, ``glrt-`` and ``glrtr-`` runner
  authentication, ``glcbt-`` CI/CD job, ``gloas-`` OAuth application secret, ``glft-`` feed,
  ``glimt-`` incoming mail, ``glagent-`` agent for Kubernetes, ``glsoat-`` SCIM, ``glffct-``
  feature flags client, ``glwt-`` workspace, and ``gltst-``; see
  https://docs.gitlab.com/security/tokens/#token-prefixes), also behind an instance prefix
  (``acme-glpat-…``), and legacy runner registration tokens (``GR1348941…``);
- JSON Web Tokens (Argo CD and Kubernetes tokens) and PEM private keys;
- the credential after ``Bearer`` (also URL-encoded: ``Bearer%20…``) and ``Basic``, and the
  value of an ``Authorization``, ``PRIVATE-TOKEN``, ``JOB-TOKEN``, ``X-Gitlab-Token``,
  ``X-Api-Key`` or ``Cookie`` header;
- the ``user:password@`` of a URL, or a long ``user@`` alone (a token given as the user name;
  a short one such as ``git@`` stays);
- the value of ``…token=``, ``…password=``, ``…secret=``, ``…api_key=`` (a query parameter, a
  command-line option) and of such keys quoted in JSON or a Python dict.

Names stay (``Authorization: Bearer [redacted]``, ``private_token=[redacted]``) so that a
message still says what was wrong. Scrubbing twice changes nothing more.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import Any

MASK = "[redacted]"

_GITLAB_PREFIXES = "pat|dt|ptt|rt|rtr|cbt|oas|ft|imt|agent|soat|ffct|wt|tst"
_SECRET_KEY = r"[\w-]{0,30}?(?:token|password|passwd|secret|api_?key)"  # noqa: S105 (a pattern)

# Masked whole.
_TOKENS = re.compile(
    "|".join(
        f"(?:{pattern})"
        for pattern in (
            r"\b(?:xox[abposre]|xapp)-[A-Za-z0-9.-]+",
            rf"(?<![A-Za-z0-9])(?:[A-Za-z0-9]+-)?gl(?:{_GITLAB_PREFIXES})-[A-Za-z0-9_.-]{{8,}}",
            r"\bGR1348941[A-Za-z0-9_-]{8,}",
            r"\beyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*",
            r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----[\s\S]*?"
            r"(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----|\Z)",
        )
    )
)

# The ``keep`` group stays, what follows it is masked.
_AFTER_NAME = [
    re.compile(r"(?P<keep>https://hooks\.slack\.com/(?:services|workflows|triggers)/)[\w/-]+"),
    re.compile(r"(?P<keep>\b[A-Za-z][A-Za-z0-9+.-]*://)(?:[^/\s]*:[^/\s]*|[^/\s:@]{16,})(?=@)"),
    re.compile(r"(?P<keep>(?i:\b(?:proxy-)?authorization)\s*:\s*(?:[A-Za-z-]+\s+)?)[^\s,;'\"]{8,}"),
    re.compile(r"(?P<keep>(?i:\b(?:(?:private|job|x-gitlab)-token|x-api-key))\s*:\s*)[^\s,;'\"]+"),
    re.compile(r"(?P<keep>(?i:\b(?:set-)?cookie)\s*:\s*)[^\s'\"][^\r\n'\"]*"),
    re.compile(r"(?P<keep>(?i:\bbearer(?:\s+|%20|\+)))[A-Za-z0-9+/=._~-]{8,}"),
    re.compile(rf"(?P<keep>(?i:\b{_SECRET_KEY})=)[^&\s'\"]+"),
    re.compile(
        rf"(?P<keep>(?P<q>[\"'])(?i:{_SECRET_KEY})(?P=q)\s*:\s*(?P<v>[\"']))(?:(?!(?P=v)).)+"
    ),
]
_BASIC = re.compile(r"(?P<keep>\bBasic\s+)(?P<value>[A-Za-z0-9+/]{8,}={0,2})")


# What every pattern above needs to match, lower-cased: a text that, lower-cased, holds none of
# these has nothing to mask and skips the patterns (most of what shipbot says). Each is implied
# by a pattern's match (tests/test_scrub_fast.py checks it); a few substring tests cost far
# less than one search of an alternation.
_MARKERS = (
    "xox", "xapp-",  # Slack tokens
    *(f"gl{prefix}-" for prefix in _GITLAB_PREFIXES.split("|")),  # GitLab tokens
    "gr1348941", "eyj", "-----begin ",  # runner registration, JWT, PEM
    "://",  # Slack webhooks, user:password@ in URLs
    "authorization", "token", "x-api-key", "cookie", "bearer", "password", "passwd", "secret",
    "api_key", "apikey", "basic",
)  # fmt: skip
# The letters that a case-insensitive pattern also matches to an ASCII letter and that
# str.lower() leaves alone or turns into more than one character (re's own equivalences).
_ASCII_FOLDS = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"})


def scrub(text: str) -> str:
    """``text`` with every credential it seems to hold replaced by ``[redacted]``."""
    folded = (text if text.isascii() else text.translate(_ASCII_FOLDS)).lower()
    if not any(marker in folded for marker in _MARKERS):
        return text
    return _masked(text)


def _masked(text: str) -> str:
    """Every pattern applied (what :func:`scrub` does unless no pattern can match)."""
    text = _TOKENS.sub(MASK, text)
    for pattern in _AFTER_NAME:
        text = pattern.sub(lambda found: found["keep"] + MASK, text)
    return _BASIC.sub(_basic, text)


def scrub_all(value: Any) -> Any:
    """``value`` (a string, or JSON-like lists and mappings of them) with every string in it
    scrubbed; keys and other values are kept as they are."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, Mapping):
        return {key: scrub_all(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_all(item) for item in value]
    return value


def _basic(found: re.Match[str]) -> str:
    """Masks a ``Basic`` credential: base64 of ``user:password``; prose ("Basic auth") stays."""
    value = found["value"]
    try:
        decoded = base64.b64decode(value + "=" * (-len(value) % 4), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return found[0]
    return found["keep"] + MASK if ":" in decoded and decoded.isprintable() else found[0]


_CONTROL = {c: f"\\x{c:02x}" for c in [*range(0x20), *range(0x7F, 0xA0)]} | {
    ord("\n"): "\\n",
    ord("\r"): "\\r",
    ord("\t"): "\\t",
    0x2028: "\\u2028",  # line and paragraph separators: new lines to some log viewers
    0x2029: "\\u2029",
}


def escaped(text: str) -> str:
    """``text`` on one line: control characters spelled out."""
    return text.translate(_CONTROL)
