"""Log records for operators (bot/app/logs.py, bot/logcontext.py): text or JSON, the request's
fields, tracebacks kept and scrubbed."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from structlog.contextvars import get_contextvars

from bot import logcontext
from bot.app import logs
from handlers.guard import INTERNAL, guarded
from tests.test_guard import Told

TOKEN = "glpat-0123456789abcdefghij"
BEARER = "s3cr3t-b34r3r-t0k3n"
ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


@dataclass(frozen=True)
class Request:
    id: str = "d-ab12cd34"
    service: str = "web-h5"
    environment: str = "prod"


REQUEST = Request()
FIELDS = {"request_id": "d-ab12cd34", "service": "web-h5", "environment": "prod"}


@contextmanager
def captured(log_format: str, name: str = "tests.logs") -> Iterator[io.StringIO]:
    """What logger ``name`` logs at INFO and above, as shipbot formats it."""
    stream, log = io.StringIO(), logging.getLogger(name)
    handler, level = logging.StreamHandler(stream), log.level
    handler.setFormatter(logs.formatter(log_format))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        log.removeHandler(handler)
        log.setLevel(level)


def records(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def lines(stream: io.StringIO) -> list[str]:
    """The text lines, without the time that starts each record's first line."""
    return [re.sub(rf"^{ISO_UTC.pattern} ", "", line) for line in stream.getvalue().splitlines()]


def fail(log: logging.Logger) -> None:
    try:
        raise RuntimeError(f"called with {TOKEN} and Authorization: Bearer {BEARER}")
    except RuntimeError:
        log.exception("deploy broke off")


# JSON ------------------------------------------------------------------------------------


def test_json_records_carry_the_bound_request() -> None:
    """A record logged while a request is bound carries its id, service and environment,
    beside the time (ISO 8601, UTC), level, logger and message; one logged after does not."""
    with captured("json") as out:
        with logcontext.bound(REQUEST):
            logging.getLogger("tests.logs").warning("deploy %s is slow", REQUEST.id)
        logging.getLogger("tests.logs").warning("idle")
    during, after = records(out)
    expected = {"level": "warning", "logger": "tests.logs", "event": "deploy d-ab12cd34 is slow"}
    assert expected | FIELDS == {k: v for k, v in during.items() if k != "timestamp"}
    assert ISO_UTC.fullmatch(during["timestamp"])
    assert {"timestamp", "level", "logger", "event"} == set(after)


def test_json_keeps_the_traceback_scrubbed() -> None:
    """An internal error's traceback is in its record's `exception`, without the GitLab token
    or bearer credential its message held; the record is one line."""
    with captured("json") as out, logcontext.bound(REQUEST):
        fail(logging.getLogger("tests.logs"))
    (record,) = records(out)
    last = record["exception"].splitlines()[-1]
    assert ("error", "d-ab12cd34") == (record["level"], record["request_id"])
    assert record["exception"].startswith("Traceback (most recent call last):")
    assert "RuntimeError: called with [redacted] and Authorization: Bearer [redacted]" == last
    assert [] == [secret for secret in (TOKEN, BEARER) if secret in out.getvalue()]


def test_json_is_one_object_per_line_whatever_the_message_holds() -> None:
    """New lines, line separators and escape characters in a message stay inside its JSON
    string: one line per record, and the message reads back as it was."""
    message = "a\nb\r\u2028c\x1b[31md\u2029"
    with captured("json") as out:
        logging.getLogger("tests.logs").warning(message)
    assert 1 == out.getvalue().count("\n")
    assert message == records(out)[0]["event"]


def test_every_field_is_scrubbed() -> None:
    """A bound field holding a secret reaches the log masked, like the message."""
    with captured("json") as out, logcontext.scope(note=f"cloned with {TOKEN}"):
        logging.getLogger("tests.logs").warning("token=%s", "abc123")
    record = records(out)[0]
    assert ("token=[redacted]", "cloned with [redacted]") == (record["event"], record["note"])


def test_values_of_any_kind_are_scrubbed() -> None:
    """Nested values and objects are scrubbed too (objects by their text); numbers stay."""

    class Header:
        def __str__(self) -> str:
            return "PRIVATE-TOKEN: abcdefgh"

    event = {"event": "x", "headers": {"Authorization": f"Bearer {BEARER}"}, "args": (TOKEN, 3)}
    expected = {
        "event": "x",
        "headers": {"Authorization": "Bearer [redacted]"},
        "args": ["[redacted]", 3],
        "header": "PRIVATE-TOKEN: [redacted]",
    }
    assert expected == logs.scrubbed(None, "warning", event | {"header": Header()})


# text ------------------------------------------------------------------------------------


def test_text_records_are_scrubbed_and_on_one_line() -> None:
    """A record's message cannot forge another line, and its secrets are masked."""
    with captured("text") as out:
        logging.getLogger("tests.logs").warning("got %s", "xoxb-1-2-abc\nERROR forged line")
    assert ["WARNING tests.logs: got [redacted]\\nERROR forged line"] == lines(out)


def test_text_records_carry_the_bound_request_after_the_message() -> None:
    """The request's fields follow the message as key=value; a value with spaces is quoted."""
    with captured("text") as out, logcontext.bound(REQUEST), logcontext.scope(user="U0 DEV"):
        logging.getLogger("tests.logs").info("running")
    expected = (
        "INFO tests.logs: running"
        ' request_id=d-ab12cd34 service=web-h5 environment=prod user="U0 DEV"'
    )
    assert [expected] == lines(out)
    assert ISO_UTC.match(out.getvalue())


def test_text_keeps_tracebacks_scrubbed_and_indented() -> None:
    """An internal error's traceback stays in the log for the operator, indented under its
    record, without secrets."""
    with captured("text") as out:
        fail(logging.getLogger("tests.logs"))
    logged = lines(out)
    assert "ERROR tests.logs: deploy broke off" == logged[0]
    assert logged[1].startswith("    Traceback")
    expected = "    RuntimeError: called with [redacted] and Authorization: Bearer [redacted]"
    assert expected == logged[-1]


def test_a_traceback_cached_by_another_formatter_is_still_scrubbed() -> None:
    """A record whose traceback another handler rendered first gets ours: scrubbed, indented."""
    try:
        raise RuntimeError(f"token {TOKEN}")
    except RuntimeError:
        record = logging.LogRecord("t", logging.ERROR, __file__, 1, "boom", None, sys.exc_info())
    logging.Formatter().format(record)  # caches record.exc_text, unscrubbed
    last = logs.formatter("text").format(record).splitlines()[-1]
    assert "    RuntimeError: token [redacted]" == last


def test_a_record_without_its_exception_keeps_its_traceback_text() -> None:
    """A record that carries only the text of its traceback (unpickled) still shows it,
    scrubbed."""
    record = logging.LogRecord("t", logging.ERROR, __file__, 1, "boom", None, None)
    record.exc_text = f"Traceback (most recent call last):\nRuntimeError: token {TOKEN}"
    last = logs.formatter("text").format(record).splitlines()[-1]
    assert "    RuntimeError: token [redacted]" == last


def test_unicode_line_separators_cannot_forge_a_line() -> None:
    """U+2028 and U+2029, new lines to some log viewers, are spelled out like control characters."""
    with captured("text") as out:
        logging.getLogger("tests.logs").warning("a\u2028b\u2029c\x85d")
    assert ["WARNING tests.logs: a\\u2028b\\u2029c\\x85d"] == lines(out)


def test_a_secret_spanning_lines_is_scrubbed_before_the_message_is_escaped() -> None:
    """A private key over several lines of a message is masked whole, then the line escaped."""
    key = "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----"
    with captured("text") as out:
        logging.getLogger("tests.logs").warning("key %s", key)
    assert ["WARNING tests.logs: key [redacted]"] == lines(out)


# context ---------------------------------------------------------------------------------


def test_what_a_scope_binds_ends_with_it() -> None:
    """Fields bound inside a scope are gone when it ends; those bound before it stay."""
    with logcontext.scope(user="U0DEV"):
        with logcontext.scope():
            logcontext.bind(REQUEST)
            inside = get_contextvars()
        after = get_contextvars()
    assert ({"user": "U0DEV"} | FIELDS, {"user": "U0DEV"}) == (inside, after)


async def test_tasks_started_in_a_scope_carry_its_fields() -> None:
    """Work spawned while a request is bound (a card update, a follow-up) logs its fields."""

    async def later() -> None:
        await asyncio.sleep(0)
        logging.getLogger("tests.logs").warning("follow-up failed")

    with captured("json") as out:
        with logcontext.bound(REQUEST):
            task = asyncio.create_task(later())
        await task
    assert FIELDS.items() <= records(out)[0].items()


async def test_an_internal_error_is_logged_at_error_with_the_request() -> None:
    """When the guard tells someone "the operators have been told", the log has the error
    at ERROR, its scrubbed traceback, the request the domain had bound, and who asked."""

    async def broken(ack: Any, body: dict[str, Any]) -> None:
        logcontext.bind(REQUEST)  # as bot/domain/approvals.py does once it has read the request
        raise RuntimeError(f"bug near {TOKEN}")

    notifier, click = Told(), {"user": {"id": "U0ALICE"}, "channel": {"id": "C0DEPLOY"}}
    with captured("json", "handlers.guard") as out:
        await guarded(broken, notifier)(AsyncAck(), click)
    (record,) = records(out)
    who = {"user": "U0ALICE", "channel": "C0DEPLOY"}
    assert [("C0DEPLOY", "U0ALICE", INTERNAL)] == notifier.told
    assert ("error", "broken failed") == (record["level"], record["event"])
    assert (FIELDS | who).items() <= record.items()
    assert "RuntimeError: bug near [redacted]" == record["exception"].splitlines()[-1]


def test_an_uncaught_exception_is_logged_scrubbed() -> None:
    """An exception that would end the process is logged at CRITICAL, its traceback scrubbed,
    instead of printed raw."""
    with captured("json", "shipbot") as out:
        try:
            raise ValueError(f"token={TOKEN}")
        except ValueError:
            kind, error, traceback = sys.exc_info()
            assert kind is not None and error is not None
            logs.log_uncaught(kind, error, traceback)
    (record,) = records(out)
    assert ("critical", "uncaught ValueError; stopping") == (record["level"], record["event"])
    assert "ValueError: token=[redacted]" == record["exception"].splitlines()[-1]
