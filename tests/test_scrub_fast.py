"""The scrubber's short cut: text that holds none of the markers every secret pattern needs is
returned as it is, and the short cut never changes what is masked (bot/scrub.py)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.scrub import _masked, scrub

PIECES = [
    "xoxb-", "xoxb-1234-abcd", "xapp-1-A0", "glpat-", "glpat-abcdefgh1234",
    "acme-glrt-x1y2z3w4v5", "GR1348941abcdefgh", "eyJhbGciOiJIUzI1", ".eyJzdWIiOiIx", ".c2ln",
    "-----BEGIN PRIVATE KEY-----",
    "-----END PRIVATE KEY-----", "https://", "git://", "hooks.slack.com/services/T0/B0/x",
    "user:hunter2@", "a" * 16 + "@", "Authorization: ", "PROXY-AUTHORIZATION:", "Bearer ",
    "bearer%20", "Basic ", "dXNlcjpwYXNzd29yZA==", "token=", "PASSWORD=", "api_key=", "ApiKey=",
    '"secret": "', "'passwd': '", "Cookie: ", "set-cookie:", "x-api-key: ", "Private-Token: ",
    "\u212a", "\u017f", "to\u212aen=", "pa\u017f\u017fword=", "\u0130", "\u0131",
    "Author\u0131zation: ", "AUTHOR\u0130ZATION: ", "Pr\u0131vate-Token: ", " ", "\n", "=",
    ":", "@", "/", "'", '"',
]  # fmt: skip

ACK = (
    "Request `d-abcdefgh` (web-h5 v3.0.1 to prod) recorded; it needs 2 approvals. "
    "Its card in this channel will track approvals and progress."
)


@given(st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=12)), max_size=14))
def test_the_short_cut_masks_what_every_pattern_masks(parts: list[str]) -> None:
    """Whatever the text, scrub() gives what applying every pattern gives."""
    text = "".join(parts)
    assert _masked(text) == scrub(text)


def test_an_answer_without_markers_is_returned_as_it_is() -> None:
    """shipbot's usual ack holds no marker: the same string comes back, unsearched further."""
    assert scrub(ACK) is ACK


def test_letters_that_patterns_fold_to_ascii_do_not_slip_past_the_short_cut() -> None:
    """A dotless or dotted i, a long s and the Kelvin sign match i, s and k in the patterns'
    case-insensitive names; the short cut lets such text through to them."""
    for text in (
        "Author\u0131zation: Bearer abcdefghijk",
        "AUTHOR\u0130ZATION: abcdefghijkl",
        "pa\u017f\u017fword=hunter2",
        "to\u212aen=abcdef",
    ):
        assert "[redacted]" in scrub(text)
