"""The one scrubber (the log records that pass through it: tests/test_logs.py)."""

from __future__ import annotations

import pytest

from bot.scrub import scrub, scrub_all

SECRETS = [
    "xoxb-1234-5678-abcdefABCDEF",
    "xoxp-1-2-3-abc",
    "xoxe.xoxp-1-abcdef",
    "xapp-1-A0SHIPBOT-123-abcdef",
    "glpat-AbCdEf0123456789_-xy",
    "glpat-z_sxgtrfAxKr8q1TPY8Y.01.0w1abc",
    "gldt-0123456789abcdefABCD",
    "glptt-0123456789abcdef0123",
    "glrt-0123456789abcdef0123",
    "glcbt-64_0123456789abcdef",
    "glrtr-0123456789abcdef0123",
    "glrt-t1_AbCdEf0123456789xyz",  # a routable runner token
    "gloas-0123456789abcdef0123",
    "glsoat-0123456789abcdef0123",
    "glft-0123456789abcdef0123",
    "glimt-0123456789abcdef0123",
    "glagent-0123456789abcdef0123",
    "glwt-0123456789abcdef0123",
    "glffct-0123456789abcdef0123",
    "gltst-0123456789abcdef0123",
    "acme-glpat-0123456789abcdef",
    "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJzdWIiOiJzaGlwYm90In0.c2lnbmF0dXJl",
    "GR1348941AbCdEf0123456789xyz",
    "https://hooks.slack.com/services/T0FAKE/B0FAKE/AbCdEf0123456789",
]


@pytest.mark.parametrize("secret", SECRETS)
def test_tokens_are_masked_wherever_they_sit(secret: str) -> None:
    """A token is masked at the start, middle or end of a line."""
    for text in (secret, f"token {secret} leaked", f"TOKEN={secret}\n"):
        assert secret not in scrub(text)
        assert "[redacted]" in scrub(text)


def test_bearer_and_basic_credentials_are_masked() -> None:
    """The credential after Bearer or Basic goes; the scheme's name stays."""
    text = "Authorization: Bearer abc.def-ghi_jkl and Basic dXNlcjpwYXNzd29yZA=="
    expected = "Authorization: Bearer [redacted] and Basic [redacted]"
    assert expected == scrub(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: Bearer eyJhbGciOi.x-y_z", "Authorization: Bearer [redacted]"),
        ("authorization: bearer 0123456789abcdef", "authorization: bearer [redacted]"),
        ("Proxy-Authorization: Bearer a+b/c=d~e.f", "Proxy-Authorization: Bearer [redacted]"),
        ('{"Authorization": "Bearer s3cr3t-t0k3n"}', '{"Authorization": "Bearer [redacted]"}'),
        ("{'headers': {'authorization': 'BEARER s3cr3t-t0k3n'}}", None),
        ("GET /x?access=Bearer%20s3cr3t-t0k3n&y=1", "GET /x?access=Bearer%20[redacted]&y=1"),
    ],
)
def test_bearer_tokens_are_masked_however_they_are_written(text: str, expected: str | None) -> None:
    """A bearer token goes whether in a header, a JSON or dict dump, or URL-encoded; the
    scheme's name stays."""
    expected = expected or text.replace("s3cr3t-t0k3n", "[redacted]")
    assert expected == scrub(text)


def test_credential_headers_are_masked() -> None:
    """The value of a credential header goes, whatever its scheme; the header's name stays."""
    text = (
        "curl -H 'PRIVATE-TOKEN: 0123456789abcdefghij' -H 'Authorization: Negotiate YIIGhgYG'"
        " -H 'Cookie: _gitlab_session=abc123; theme=dark'"
    )
    expected = (
        "curl -H 'PRIVATE-TOKEN: [redacted]' -H 'Authorization: Negotiate [redacted]'"
        " -H 'Cookie: [redacted]'"
    )
    assert expected == scrub(text)


def test_url_credentials_and_token_parameters_are_masked() -> None:
    """user:password@ in a URL and ?private_token= are masked; the host stays readable."""
    scrubbed = scrub("cloning https://deploy:s3cret@git.example.com/a.git?private_token=abc&x=1")
    expected = "cloning https://[redacted]@git.example.com/a.git?private_token=[redacted]&x=1"
    assert expected == scrubbed


def test_a_token_given_as_the_url_user_is_masked() -> None:
    """``https://<token>@host`` (a token used as the user name) hides the token, not the host."""
    scrubbed = scrub("git clone https://ghp_0123456789abcdefABCDEF@github.com/acme/app.git")
    assert "git clone https://[redacted]@github.com/acme/app.git" == scrubbed


def test_password_holding_an_at_sign_is_masked_whole() -> None:
    """The user:password@ of a URL is masked up to its last @, so no part of it shows."""
    expected = "git clone https://[redacted]@git.example.com/a.git"
    assert expected == scrub("git clone https://deploy:p@ss@git.example.com/a.git")


def test_secret_options_and_parameters_are_masked_whatever_their_prefix() -> None:
    """job_token=, --client_secret=, --password= lose their values; PWD= and tokens= do not."""
    text = "job_token=abc --client_secret=xyz --password=hunter2 PWD=/srv tokens=5"
    expected = (
        "job_token=[redacted] --client_secret=[redacted] --password=[redacted] PWD=/srv tokens=5"
    )
    assert expected == scrub(text)


def test_secret_keys_quoted_in_json_or_a_dict_are_masked() -> None:
    """A tool that prints its arguments as JSON or a Python dict shows no password."""
    text = """{'password': 'hunter2', "api_key": "k-123", 'user': 'deploy'}"""
    expected = """{'password': '[redacted]', "api_key": "[redacted]", 'user': 'deploy'}"""
    assert expected == scrub(text)


def test_private_keys_are_masked_from_begin_to_end() -> None:
    """A PEM private key is masked whole, across its lines; the text after it stays."""
    key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk\n-----END OPENSSH PRIVATE KEY-----"
    assert "key: [redacted]\ndone" == scrub(f"key: {key}\ndone")


def test_ordinary_words_survive() -> None:
    """Service names, versions, URLs and prose that merely look alike are left alone."""
    text = (
        "glance-service v1.2.3 deployed; basic auth is off; bearer of news; Basic Authentication;"
        " ssh://git@gitlab.example.com/a.git https://argocd.example:8443/x; refused the token"
    )
    assert text == scrub(text)


def test_scrubbing_twice_changes_nothing_more() -> None:
    """What the scrubber returns passes through it unchanged (text scrubbed on its way to
    Redis is scrubbed again on its way to Slack)."""
    text = (
        "Authorization: Bearer abcdefghij https://u:p@h/x?token=t 'password': 'x' glpat-0123456789"
    )
    once = scrub(text)
    assert once == scrub(once)


def test_every_string_in_a_message_is_scrubbed() -> None:
    """scrub_all scrubs the strings nested in Block Kit JSON; keys, numbers and flags stay."""
    blocks = {"type": "section", "text": {"text": "xoxb-1-abc"}, "fields": [("glpat-0123456789",)]}
    expected = {"type": "section", "text": {"text": "[redacted]"}, "fields": [["[redacted]"]]}
    assert expected == scrub_all(blocks)
    assert [3, True, None] == scrub_all([3, True, None])
