"""The one scrubber: removes secrets from text before it is logged or sent to Slack.

It masks what looks like a credential, whatever produced the text (shipbot, a playbook's task
output, a pipeline's job log, an Argo CD message):

- Slack tokens (``xoxb-``, ``xoxp-``, ``xoxa-``, ``xoxr-``, ``xoxs-``, ``xoxe-``, ``xapp-``);
- GitLab tokens by their documented prefixes (``glpat-`` personal/project/group access,
  ``gldt-`` deploy, ``glptt-`` pipeline trigger, ``glrt-`` runner, ``glcbt-`` CI/CD job,
  ``gloas-``, ``glft-``, ``glimt-``, ``glagent-``, ``glsoat-``, ``glffct-``, ``glwt-``), also
  behind an instance prefix (``acme-glpat-…``);
- ``Bearer …`` and ``Basic …`` credentials, JSON Web Tokens (Argo CD and Kubernetes tokens);
- the ``user:password@`` part of a URL, and ``token=``/``private_token=``/``password=`` values.
"""

from __future__ import annotations

import re

MASK = "[redacted]"

_GITLAB_PREFIXES = "pat|dt|ptt|rt|rtr|cbt|oas|ft|imt|agent|soat|ffct|wt"
_PATTERNS = [
    r"\b(?:xox[abposre]|xapp)-[A-Za-z0-9.-]+",
    rf"(?<![A-Za-z0-9])(?:[A-Za-z0-9]+-)?gl(?:{_GITLAB_PREFIXES})-[A-Za-z0-9_.-]{{8,}}",
    r"\beyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*",
    r"(?i:\bbearer\s+)[A-Za-z0-9+/=._~-]{8,}",
    r"\bBasic\s+[A-Za-z0-9+/]{8,}={0,2}",
]
_SECRET = re.compile("|".join(f"(?:{p})" for p in _PATTERNS))
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@:]*:[^/\s@]*@")
_SECRET_PARAM = re.compile(r"(?i)\b((?:private_|access_)?token|password|secret)=[^&\s'\"]+")


def scrub(text: str) -> str:
    """``text`` with every credential it seems to hold replaced by ``[redacted]``."""
    text = _URL_USERINFO.sub(rf"\1{MASK}@", text)
    text = _SECRET_PARAM.sub(rf"\1={MASK}", text)
    return _SECRET.sub(MASK, text)
