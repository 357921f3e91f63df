"""The slash-command grammar: what parses, what is refused, and what the refusal says."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from bot.domain.grammar import (
    DEPLOY_USAGE,
    HELP_TEXT,
    METRICS_USAGE,
    ROLLBACK_USAGE,
    SHIPBOT_USAGE,
    DeployCommand,
    RollbackCommand,
    ShipbotCommand,
    UsageError,
    parse_deploy,
    parse_rollback,
    parse_shipbot,
    validate_name,
    validate_version,
)

VERSION_CHARS = "a version may only contain letters, digits and . _ + - /"
METACHARACTERS = ";&|$`()<>\\'\"*?[]{}!~#%^=,:"
VERSION_LIKE = re.compile(r"[vV]?\d+\.\d+\S*")  # a reason starting so is refused as a typo
PARSERS = [parse_deploy, parse_rollback, parse_shipbot]


def message_of(parse: Callable[[str], object], text: str) -> str:
    with pytest.raises(UsageError) as caught:
        parse(text)
    return caught.value.message


# --- /deploy ------------------------------------------------------------------------------

DEPLOYS = [
    pytest.param(
        "web-h5 v2.3.1 to prod fix login bug",
        DeployCommand("web-h5", "v2.3.1", "prod", "fix login bug"),
        id="with-to-and-reason",
    ),
    pytest.param("web-h5 v2.3.1 prod", DeployCommand("web-h5", "v2.3.1", "prod", ""), id="no-to"),
    pytest.param(
        "web-h5 prod", DeployCommand("web-h5", "prod", "", ""), id="one-word-left-for-the-catalog"
    ),
    pytest.param("web-h5 1.4.0 TO prod", DeployCommand("web-h5", "1.4.0", "prod", ""), id="TO"),
    pytest.param(
        "web-h5 feature/login-fix staging",
        DeployCommand("web-h5", "feature/login-fix", "staging", ""),
        id="branch-like-ref",
    ),
    pytest.param(
        "web-h5 v1 to prod to fix bug",
        DeployCommand("web-h5", "v1", "prod", "to fix bug"),
        id="second-to-is-reason",
    ),
    pytest.param("web-h5 v1 to to", DeployCommand("web-h5", "v1", "to", ""), id="env-named-to"),
    pytest.param(
        "\u00a0web-h5\tv1\u2003to\nprod   fix\u00a0\u00a0login\n\nbug ",
        DeployCommand("web-h5", "v1", "prod", "fix login bug"),
        id="unicode-whitespace-separates",
    ),
    pytest.param(
        "web-h5 v1 prod \u201cfix\u201d it",
        DeployCommand("web-h5", "v1", "prod", "\u201cfix\u201d it"),
        id="smart-quotes-in-reason-kept",
    ),
    pytest.param(
        "web-h5 v1 prod a &amp; b &lt;c&gt; &amp;lt;",
        DeployCommand("web-h5", "v1", "prod", "a & b <c> &lt;"),
        id="slack-escapes-undone-once",
    ),
    pytest.param(
        "web-h5 v1 prod ping <@U123>",
        DeployCommand("web-h5", "v1", "prod", "ping <@U123>"),
        id="mention-in-reason-allowed",
    ),
    pytest.param(
        "web-h5 v1 prod " + "x" * 500,
        DeployCommand("web-h5", "v1", "prod", "x" * 500),
        id="reason-of-500",
    ),
]


@pytest.mark.parametrize(("text", "expected"), DEPLOYS)
def test_parse_deploy_accepts(text: str, expected: DeployCommand) -> None:
    """Well-formed /deploy text becomes the DeployCommand it describes."""
    assert expected == parse_deploy(text)


DEPLOY_ERRORS = [
    pytest.param("web-h5", "Missing the version and environment.", id="only-service"),
    pytest.param("web-h5 v1 to", "Missing the environment after `to`.", id="nothing-after-to"),
    pytest.param("web-h5 to prod", "Missing the version", id="to-in-version-place"),
    pytest.param("Web-H5 v1 prod", "names are lowercase, try `web-h5`", id="uppercase-service"),
    pytest.param("web-h5 v1 PROD", "`PROD` is not a valid environment name", id="uppercase-env"),
    pytest.param("<@U123> v1 prod", "Slack mention", id="mention-as-service"),
    pytest.param("<#C123|chan> v1 prod", "Slack mention", id="channel-as-service"),
    pytest.param("web-h5 <http://x|y> prod", "`&lt;http://x|y&gt;`", id="link-as-version"),
    pytest.param(
        "web-h5 v1;rm prod", f"`v1;rm` is not a valid version: {VERSION_CHARS}", id="meta"
    ),
    pytest.param("web-h5 v1 prod " + "x" * 501, "501 characters", id="reason-too-long"),
    pytest.param("web-h5 v1 prod a\x1bb", "U+001B", id="control-char-in-reason"),
    pytest.param("web-h5 v1\u200b prod", "U+200B", id="zero-width-space-in-version"),
]


@pytest.mark.parametrize(("text", "fragment"), DEPLOY_ERRORS)
def test_parse_deploy_refuses(text: str, fragment: str) -> None:
    """Malformed /deploy text raises UsageError saying what is wrong."""
    assert fragment in message_of(parse_deploy, text)


@pytest.mark.parametrize("text", ["", "   ", "\u00a0\n\t"])
def test_deploy_without_arguments_is_the_usage(text: str) -> None:
    """/deploy with nothing after it answers with the usage text and its examples."""
    assert message_of(parse_deploy, text) == DEPLOY_USAGE


def test_missing_piece_messages_carry_the_usage_line() -> None:
    """A missing-piece message ends with the /deploy syntax so the fix is obvious."""
    assert message_of(parse_deploy, "web-h5").endswith(
        "Usage: `/deploy &lt;service&gt; &lt;version&gt; [to] &lt;environment&gt; "
        "[--hotfix] [reason...] [--emergency &lt;why&gt;]`"
    )


@pytest.mark.parametrize(
    ("text", "hotfix", "reason"),
    [
        ("web-h5 v2 to prod --hotfix login broken", True, "login broken"),
        ("web-h5 v2 prod login --hotfix broken", True, "login broken"),
        ("web-h5 v2 prod --hotfix", True, ""),
        ("web-h5 v2 prod login broken", False, "login broken"),
        ("web-h5 v2 prod \u2014hotfix login", True, "login"),
        ("web-h5 v2 prod login -- urgent", False, "login -- urgent"),
    ],
)
def test_hotfix_marks_a_deploy_unplanned(text: str, hotfix: bool, reason: str) -> None:
    """--hotfix anywhere after the version marks the deploy unplanned; it is not the reason."""
    cmd = parse_deploy(text)
    assert (hotfix, reason, "prod") == (cmd.hotfix, cmd.reason, cmd.environment)


def test_an_unknown_option_is_refused_not_taken_as_the_reason() -> None:
    """/deploy takes two options; any other --word names itself and the usage."""
    assert message_of(parse_deploy, "web-h5 v2 prod --urgent x").startswith(
        "`--urgent` is not an option of /deploy."
    )


def test_emergency_takes_the_rest_as_its_reason() -> None:
    """``--emergency`` ends the command: what follows is why the freeze may be broken."""
    expected = DeployCommand("web-h5", "v2", "prod", "fix", False, "payments down")
    assert expected == parse_deploy("web-h5 v2 to prod fix --emergency payments down")


def test_emergency_needs_its_reason() -> None:
    """Break-glass without a reason is refused: the audit trail must say why."""
    assert message_of(parse_rollback, "web-h5 prod --emergency").startswith(
        "Missing the reason after `--emergency`"
    )


def test_rollback_refuses_an_unknown_option() -> None:
    """/rollback knows only --emergency; ``--force`` is a mistake, not a reason."""
    assert message_of(parse_rollback, "web-h5 prod --force").startswith(
        "`--force` is not an option of /rollback."
    )


# --- /rollback ----------------------------------------------------------------------------

ROLLBACKS = [
    pytest.param("web-h5 prod", RollbackCommand("web-h5", "prod", None, ""), id="previous"),
    pytest.param(
        "web-h5 prod to v2.3.0", RollbackCommand("web-h5", "prod", "v2.3.0", ""), id="to-version"
    ),
    pytest.param(
        "web-h5 prod to v2.3.0 broken checkout",
        RollbackCommand("web-h5", "prod", "v2.3.0", "broken checkout"),
        id="to-version-with-reason",
    ),
    pytest.param(
        "web-h5 prod checkout broken",
        RollbackCommand("web-h5", "prod", None, "checkout broken"),
        id="reason-without-to",
    ),
]


@pytest.mark.parametrize(("text", "expected"), ROLLBACKS)
def test_parse_rollback_accepts(text: str, expected: RollbackCommand) -> None:
    """Well-formed /rollback text becomes the RollbackCommand it describes."""
    assert expected == parse_rollback(text)


ROLLBACK_ERRORS = [
    pytest.param("web-h5", "Missing the environment.", id="no-env"),
    pytest.param("web-h5 prod to", "Missing the version after `to`.", id="nothing-after-to"),
    pytest.param(
        "web-h5 prod to v1|x", f"`v1|x` is not a valid version: {VERSION_CHARS}", id="bad"
    ),
    pytest.param("web-h5 prod v2.3.0", "Did you mean `to v2.3.0`?", id="forgot-to"),
    pytest.param("web-h5 Prod", "names are lowercase, try `prod`", id="uppercase-env"),
]


@pytest.mark.parametrize(("text", "fragment"), ROLLBACK_ERRORS)
def test_parse_rollback_refuses(text: str, fragment: str) -> None:
    """Malformed /rollback text raises UsageError saying what is wrong."""
    assert fragment in message_of(parse_rollback, text)


def test_rollback_without_arguments_is_the_usage() -> None:
    """/rollback with nothing after it answers with the usage text and its examples."""
    assert message_of(parse_rollback, "") == ROLLBACK_USAGE


# --- /shipbot -----------------------------------------------------------------------------

SHIPBOTS = [
    pytest.param("", ShipbotCommand("help", ()), id="empty-is-help"),
    pytest.param("help me please", ShipbotCommand("help", ()), id="help-ignores-args"),
    pytest.param("STATUS", ShipbotCommand("status", ()), id="verb-any-case"),
    pytest.param("status web-h5", ShipbotCommand("status", ("web-h5",)), id="status-service"),
    pytest.param("history web-h5", ShipbotCommand("history", ("web-h5",)), id="history"),
    pytest.param(
        "history web-h5 prod", ShipbotCommand("history", ("web-h5", "prod")), id="history-env"
    ),
    pytest.param("audit", ShipbotCommand("audit", ()), id="audit"),
    pytest.param("audit d-abcd2345", ShipbotCommand("audit", ("d-abcd2345",)), id="audit-id"),
    pytest.param("services", ShipbotCommand("services", ()), id="services"),
    pytest.param("cancel d-abcd2345", ShipbotCommand("cancel", ("d-abcd2345",)), id="cancel"),
]


@pytest.mark.parametrize(("text", "expected"), SHIPBOTS)
def test_parse_shipbot_accepts(text: str, expected: ShipbotCommand) -> None:
    """Well-formed /shipbot text becomes the verb and its validated arguments."""
    assert expected == parse_shipbot(text)


SHIPBOT_ERRORS = [
    pytest.param("deploy web-h5", "`deploy` is not a shipbot command", id="unknown-verb"),
    pytest.param("frob", "`help`, `services`, `status`, `history`, `audit`, `cancel`", id="lists"),
    pytest.param("cancel", "Missing the request id.", id="cancel-without-id"),
    pytest.param("services web-h5", "`/shipbot services` does not take `web-h5`", id="svc-arg"),
    pytest.param("status a b", "`/shipbot status` does not take `b`", id="status-extra"),
    pytest.param("history", "Missing the service.", id="history-no-service"),
    pytest.param("history", "Missing the service.", id="history-no-service"),
    pytest.param("status web-h5 prod", "does not take `prod`", id="status-extra"),
    pytest.param("audit a;b", "`a;b` is not a valid request id or service name", id="audit-bad"),
    pytest.param("status Web", "names are lowercase", id="status-uppercase"),
]


@pytest.mark.parametrize(("text", "fragment"), SHIPBOT_ERRORS)
def test_parse_shipbot_refuses(text: str, fragment: str) -> None:
    """Malformed /shipbot text raises UsageError saying what is wrong."""
    assert fragment in message_of(parse_shipbot, text)


# --- tokens -------------------------------------------------------------------------------

NAME_ERRORS = [
    pytest.param("_web", "start with a lowercase letter or digit", id="leading-underscore"),
    pytest.param("web!h5", "(found `!`)", id="bad-char"),
    pytest.param("a" * 64, "at most 63 characters", id="too-long"),
    pytest.param("WEB_\u00e9", "names are lowercase letters", id="uppercase-and-more"),
    pytest.param("", "The service name is empty.", id="empty"),
]


@pytest.mark.parametrize(("token", "fragment"), NAME_ERRORS)
def test_validate_name_refuses(token: str, fragment: str) -> None:
    """An invalid name is refused with the reason."""
    assert fragment in message_of(lambda t: validate_name("service", t), token)


VERSIONS = ["v2.3.1", "1.4.0-rc.1+build.5", "release/2024-06", "a1b2c3d", "V1_2", "x" * 128]


@pytest.mark.parametrize("token", VERSIONS)
def test_validate_version_accepts(token: str) -> None:
    """Tags, semver with build metadata, branch-like refs and commit SHAs are versions."""
    assert token == validate_version(token)


VERSION_ERRORS = [
    pytest.param("v1 .2", f"`v1 .2` is not a valid version: {VERSION_CHARS} (found whitespace)"),
    pytest.param("-rf", "starts with a letter or digit", id="leading-dash"),
    pytest.param("a..b", "may not contain `..`", id="dot-dot"),
    pytest.param("a//b", "may not contain `//`", id="double-slash"),
    pytest.param("feature/", "may not end with `/`", id="trailing-slash"),
    pytest.param("main.lock", "may not end with `.lock`", id="dot-lock"),
    pytest.param("x" * 129, "at most 128 characters", id="too-long"),
    pytest.param("v1\u00e9", "(found `\u00e9`)", id="non-ascii"),
    pytest.param("", "it is empty", id="empty"),
    pytest.param("`x`", "(found `'`)", id="backtick-shown-safely"),
]


@pytest.mark.parametrize(("token", "fragment"), VERSION_ERRORS)
def test_validate_version_refuses(token: str, fragment: str) -> None:
    """An invalid version is refused with the reason."""
    assert fragment in message_of(validate_version, token)


def test_usage_error_str_is_its_message() -> None:
    """str(UsageError) is exactly the human message, and it is a ValueError."""
    err = UsageError("nope")
    expected = ("nope", True)
    assert expected == (str(err), isinstance(err, ValueError))


@pytest.mark.parametrize("usage", [DEPLOY_USAGE, ROLLBACK_USAGE, METRICS_USAGE, SHIPBOT_USAGE])
def test_help_text_contains_every_usage(usage: str) -> None:
    """HELP_TEXT covers the commands shipbot serves: /deploy, /rollback, /metrics, /shipbot."""
    assert usage in HELP_TEXT


def test_help_text_is_slack_escaped() -> None:
    """Placeholders like <service> are escaped so Slack does not read them as links."""
    assert ("<" in HELP_TEXT, "&lt;service&gt;" in HELP_TEXT) == (False, True)


# --- properties ---------------------------------------------------------------------------

names = st.from_regex(r"[a-z0-9][a-z0-9._-]{0,62}", fullmatch=True)
versions = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._+/-]{0,127}", fullmatch=True).filter(
    lambda v: (
        not ({"..", "//"} & {v[i : i + 2] for i in range(len(v))})
        and not v.endswith(("/", ".lock"))
        and v.lower() != "to"
    )
)
OPTION_LIKE = re.compile(r"(?:--|[\u2014\u2013])[a-z][a-z-]*")  # `--hotfix`, `—x`: options
words = st.text(st.characters(exclude_categories=("Cc", "Cs")), min_size=1, max_size=12).filter(
    lambda w: not any(c.isspace() for c in w) and not OPTION_LIKE.fullmatch(w)
)
reasons = st.lists(words, max_size=6).map(" ".join)
separators = st.lists(
    st.sampled_from([" ", "\u00a0", "\t", "\n", "\u2003", "\u3000", "\r\n"]), min_size=1
).map("".join)
odd_tokens = st.sampled_from(
    [
        *("to", "TO", "lock", "<@U123>", "<#C1|chan>", "<http://x|y>", "&amp;", "&lt;", "v1;rm"),
        *("\u201cfix\u201d", "Web-H5", "a..b", "x.lock", "\u200b", "-x", "\x00", "`", "1.2"),
    ]
)
shaped = st.lists(
    st.tuples(st.one_of(names, versions, odd_tokens, st.text(max_size=8)), separators),
    max_size=8,
).map(lambda pairs: "".join(token + sep for token, sep in pairs))


def slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def assert_parses_or_explains(parse: Callable[[str], object], text: str) -> None:
    try:
        parse(text)
    except UsageError as err:
        assert err.message and str(err) == err.message
        assert not {"<", ">"} & set(err.message), "messages must be safe Slack mrkdwn"


@pytest.mark.parametrize("parse", PARSERS)
@given(text=st.text())
def test_any_text_parses_or_explains(parse: Callable[[str], object], text: str) -> None:
    """Arbitrary Unicode never raises anything but a UsageError with a Slack-safe message."""
    assert_parses_or_explains(parse, text)


@pytest.mark.parametrize("parse", PARSERS)
@given(text=shaped)
def test_grammar_shaped_text_parses_or_explains(parse: Callable[[str], object], text: str) -> None:
    """Near-miss commands never raise anything but a UsageError with a Slack-safe message."""
    assert_parses_or_explains(parse, text)


@given(
    cmd=st.builds(DeployCommand, names, versions, names, reasons),
    say_to=st.booleans(),
    seps=st.lists(separators, min_size=12, max_size=12),
)
def test_deploy_round_trips(cmd: DeployCommand, say_to: bool, seps: list[str]) -> None:
    """A deploy written out as Slack would send it parses back to the same command."""
    to = ["to"] if say_to or cmd.environment == "to" else []
    parts = [cmd.service, cmd.version, *to, cmd.environment, *cmd.reason.split()]
    text = "".join(part + sep for part, sep in zip(parts, seps, strict=False))
    assert cmd == parse_deploy(slack_escape(text))


@given(
    cmd=st.builds(RollbackCommand, names, names, st.none() | versions, reasons),
    seps=st.lists(separators, min_size=12, max_size=12),
)
def test_rollback_round_trips(cmd: RollbackCommand, seps: list[str]) -> None:
    """A rollback written out as Slack would send it parses back to the same command."""
    first = cmd.reason.split(" ")[0]
    assume(cmd.to_version or not (first.lower() == "to" or VERSION_LIKE.fullmatch(first)))
    target = ["to", cmd.to_version] if cmd.to_version else []
    parts = [cmd.service, cmd.environment, *target, *cmd.reason.split()]
    text = "".join(part + sep for part, sep in zip(parts, seps, strict=False))
    assert cmd == parse_rollback(slack_escape(text))


@given(
    version=versions,
    where=st.integers(min_value=0),
    bad=st.sampled_from(METACHARACTERS) | st.characters(categories=("Zs", "Zl", "Zp", "Cc")),
)
def test_version_with_metacharacter_or_whitespace_is_refused(
    version: str, where: int, bad: str
) -> None:
    """A shell metacharacter, whitespace or control character anywhere makes a bad version."""
    at = where % (len(version) + 1)
    assert VERSION_CHARS in message_of(validate_version, version[:at] + bad + version[at:])


@given(name=names)
def test_valid_names_are_accepted(name: str) -> None:
    """Every name matching the documented pattern is accepted unchanged."""
    assert name == validate_name("service", name)


@given(version=versions)
def test_valid_versions_are_accepted(version: str) -> None:
    """Every version matching the documented rules is accepted unchanged."""
    assert version == validate_version(version)
