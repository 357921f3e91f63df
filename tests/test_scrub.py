"""The one scrubber, and the log records that pass through it."""

from __future__ import annotations

import io
import logging

import pytest

from bot import logs
from bot.scrub import scrub

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
    "acme-glpat-0123456789abcdef",
    "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJzdWIiOiJzaGlwYm90In0.c2lnbmF0dXJl",
]


@pytest.mark.parametrize("secret", SECRETS)
def test_tokens_are_masked_wherever_they_sit(secret: str) -> None:
    """A token is masked at the start, middle or end of a line."""
    for text in (secret, f"token {secret} leaked", f"TOKEN={secret}\n"):
        assert secret not in scrub(text)
        assert "[redacted]" in scrub(text)


def test_bearer_and_basic_credentials_are_masked() -> None:
    """The credential after Bearer or Basic goes; the scheme's name may stay."""
    text = "Authorization: Bearer abc.def-ghi_jkl and Basic dXNlcjpwYXNzd29yZA=="
    scrubbed = scrub(text)
    assert "abc.def-ghi_jkl" not in scrubbed and "dXNlcjpwYXNzd29yZA" not in scrubbed


def test_url_credentials_and_token_parameters_are_masked() -> None:
    """user:password@ in a URL and ?private_token= are masked; the host stays readable."""
    scrubbed = scrub("cloning https://deploy:s3cret@git.example.com/a.git?private_token=abc&x=1")
    expected = "cloning https://[redacted]@git.example.com/a.git?private_token=[redacted]&x=1"
    assert expected == scrubbed


def test_ordinary_words_survive() -> None:
    """Service names, versions and prose that merely look alike are left alone."""
    text = "glance-service v1.2.3 deployed; basic auth is off; bearer of news"
    assert text == scrub(text)


def _logged(fn: object) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.ScrubbingFormatter("%(levelname)s %(message)s"))
    log = logging.getLogger("tests.scrub")
    log.addHandler(handler)
    try:
        fn(log)  # type: ignore[operator]
    finally:
        log.removeHandler(handler)
    return stream.getvalue()


def test_log_records_are_scrubbed_and_on_one_line() -> None:
    """A record's message cannot forge another line, and its secrets are masked."""
    out = _logged(lambda log: log.warning("got %s", "xoxb-1-2-abc\nERROR forged line"))
    assert "WARNING got [redacted]\\nERROR forged line\n" == out


def test_tracebacks_are_kept_scrubbed_and_indented() -> None:
    """An internal error's traceback stays in the log for the operator, without secrets."""

    def fail(log: logging.Logger) -> None:
        try:
            raise RuntimeError("called with glpat-0123456789abcdefghij")
        except RuntimeError:
            log.exception("deploy broke off")

    lines = _logged(fail).splitlines()
    assert "ERROR deploy broke off" == lines[0]
    assert lines[1].startswith("    Traceback")
    assert "    RuntimeError: called with [redacted]" == lines[-1]
