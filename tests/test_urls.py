"""integrations.urls: URLs shown to people carry no user:password@."""

from __future__ import annotations

import pytest

from integrations.urls import has_credentials, without_credentials


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://admin:s3cret@argocd.example.com", "https://argocd.example.com"),
        ("https://admin:s3cret@argocd.example.com/", "https://argocd.example.com/"),
        ("https://ci:p@ss@git.example.com:8443/a?x=1#y", "https://git.example.com:8443/a?x=1#y"),
        ("https://deploy@k8s.example.com:6443", "https://k8s.example.com:6443"),
        ("admin:s3cret@argocd.example.com/api", "argocd.example.com/api"),
        ("http://[::1]:8080/path@here", "http://[::1]:8080/path@here"),
        ("https://argocd.example.com/applications/a?next=https://u:p@x", None),
    ],
)
def test_credentials_are_dropped_and_the_rest_kept(url: str, shown: str | None) -> None:
    """The authority's userinfo goes, up to its last @; path, query, fragment and ports stay."""
    assert (shown or url) == without_credentials(url)


def test_a_url_without_credentials_is_unchanged() -> None:
    """Nothing to drop: the very same text, trailing slash included."""
    url = "https://gitlab.example.com/"
    assert (url, False) == (without_credentials(url), has_credentials(url))


def test_a_user_name_alone_counts_as_credentials() -> None:
    """``user@`` is userinfo too (an HTTP client would send it)."""
    assert has_credentials("https://deploy@k8s.example.com")
