"""FakeSlack's file upload, Slack's three steps (files.getUploadURLExternal, the POST of the
bytes, files.completeUploadExternal), as raw HTTP and as slack_sdk's files_upload_v2 makes them."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes import DEFAULT_BOT_TOKEN, FakeSlack

AUTH = {"Authorization": f"Bearer {DEFAULT_BOT_TOKEN}"}
CONTENT = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


@pytest.fixture
def slack(fake_slack: FakeSlack) -> Iterator[FakeSlack]:
    fake_slack.reset()
    yield fake_slack


def api(slack: FakeSlack, method: str, **args: object) -> dict[str, object]:
    response = httpx.post(slack.base_url + method, data=args, headers=AUTH, timeout=5)
    body: dict[str, object] = response.json()
    return body


def step_one(slack: FakeSlack, length: int = len(CONTENT)) -> tuple[str, str]:
    answer = api(slack, "files.getUploadURLExternal", filename="chart.png", length=length)
    assert True is answer["ok"]
    return str(answer["upload_url"]), str(answer["file_id"])


def test_three_steps_share_the_bytes_in_a_thread(slack: FakeSlack) -> None:
    """An upload URL and file id; the POST answers 200 "OK - <length>"; the completion shares
    the file, titled, in the channel's thread, and answers its id and title."""
    url, file_id = step_one(slack)
    posted = httpx.post(url, content=CONTENT, timeout=5)
    assert (200, f"OK - {len(CONTENT)}") == (posted.status_code, posted.text)
    files = f'[{{"id": "{file_id}", "title": "Chart"}}]'
    answer = api(
        slack, "files.completeUploadExternal", files=files, channel_id="C0X", thread_ts="1.2"
    )
    assert {"ok": True, "files": [{"id": file_id, "title": "Chart", "name": "chart.png"}]} == answer
    [upload] = slack.uploads("C0X")
    assert (CONTENT, "Chart", "1.2") == (upload.content, upload.title, upload.thread_ts)


def test_a_multipart_post_is_read_as_the_file(slack: FakeSlack) -> None:
    """Slack also takes the bytes as a multipart form (`-F filename=@chart.png`)."""
    url, _ = step_one(slack)
    posted = httpx.post(url, files={"filename": ("chart.png", CONTENT)}, timeout=5)
    assert (200, f"OK - {len(CONTENT)}") == (posted.status_code, posted.text)


def test_missing_length_is_invalid_arguments(slack: FakeSlack) -> None:
    answer = api(slack, "files.getUploadURLExternal", filename="chart.png")
    assert {"ok": False, "error": "invalid_arguments"} == answer


def test_completing_before_the_bytes_arrive_finds_no_file(slack: FakeSlack) -> None:
    """Nothing posted to the URL yet: no file to share, and nothing recorded as shared."""
    _, file_id = step_one(slack)
    answer = api(slack, "files.completeUploadExternal", files=f'[{{"id": "{file_id}"}}]')
    assert ({"ok": False, "error": "file_not_found"}, []) == (answer, slack.uploads())


def test_an_upload_url_takes_one_post_of_the_announced_length(slack: FakeSlack) -> None:
    """Fewer bytes than announced are refused; a used URL is gone."""
    url, _ = step_one(slack)
    assert 400 == httpx.post(url, content=CONTENT[:10], timeout=5).status_code
    url, _ = step_one(slack)
    assert 200 == httpx.post(url, content=CONTENT, timeout=5).status_code
    assert 404 == httpx.post(url, content=CONTENT, timeout=5).status_code


async def test_files_upload_v2_goes_through_all_three(slack: FakeSlack) -> None:
    """slack_sdk's files_upload_v2 against the fake: the file is shared with its comment."""
    client = AsyncWebClient(token=DEFAULT_BOT_TOKEN, base_url=slack.base_url)
    answer = await client.files_upload_v2(
        channel="C0X", filename="chart.png", content=CONTENT, title="Chart", initial_comment="hi"
    )
    assert "Chart" == answer["file"]["title"]
    assert ["files.getUploadURLExternal", "upload", "files.completeUploadExternal"] == [
        call.method for call in slack.calls()
    ]
    [upload] = slack.uploads()
    assert (CONTENT, "C0X", "hi") == (upload.content, upload.channel, upload.initial_comment)
