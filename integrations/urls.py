"""URLs as people may see them: every URL a deployer puts into a message or a link (GitLab's,
Argo CD's ``server``, a Kubernetes ``api_url``, a health check) loses its ``user:password@``.

Plain string work (RFC 3986's authority ends at the first ``/``, ``?`` or ``#``; its userinfo
at the last ``@``), so that a malformed URL is still shown without its credentials, never an
exception.
"""

from __future__ import annotations

import re

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_AUTHORITY_END = re.compile(r"[/?#]")


def without_credentials(url: str) -> str:
    """``url`` without the user name and password of its authority, if it has any."""
    scheme = _SCHEME.match(url)
    start = scheme.end() if scheme else 0
    end = _AUTHORITY_END.search(url, start)
    stop = end.start() if end else len(url)
    at = url.rfind("@", start, stop)
    return url if at < 0 else url[:start] + url[at + 1 :]


def has_credentials(url: str) -> bool:
    """Whether ``url`` carries a user name (and perhaps a password)."""
    return without_credentials(url) != url
