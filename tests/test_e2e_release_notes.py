"""End to end: release notes over signed HTTP, `shipbot serve` and `shipbot worker`, real
playbooks, FakeSlack and FakeGitLab. `shop` names its code (SHOP_PROJECT, tags
``release-<version>``); its prod needs one approval and has two data centres."""

from __future__ import annotations

import json
import time

from tests.conftest import SHOP_PROJECT
from tests.fakes import FakeGitLab, Message
from tests.stack import RELEASES, Stack

APPROVE = "shipbot_approve"
HOUR = 3600.0


def history(gitlab: FakeGitLab) -> int:
    """release-v1: Add cart (alice); release-v2: Fix totals (bob) and Bump deps (carol)."""
    pid = gitlab.add_project(SHOP_PROJECT, refs=["main"])
    gitlab.merge(pid, "Add cart", "alice", at=time.time() - 3 * HOUR)
    gitlab.tag(pid, "release-v1")
    gitlab.merge(pid, "Fix totals", "bob", at=time.time() - 2 * HOUR)
    gitlab.commit(pid, "Bump deps", "carol", at=time.time() - HOUR)
    gitlab.tag(pid, "release-v2")
    return pid


def released(bot: Stack, version: str) -> str:
    """/deploy shop <version> to prod, approved by Alice, done; its request id."""
    request_id = bot.deploy(f"shop {version} to prod")
    bot.click(APPROVE, request_id, "U0ALICE")
    bot.wait_card(request_id, "Deployed in")
    return request_id


def note(bot: Stack, request_id: str, title: str, timeout: float = 30.0) -> Message:
    """The release note of the request, once it reads ``title``."""

    def reads_title() -> Message | None:
        notes = [m for m in bot.releases(request_id) if m.thread_ts is None]
        return next((m for m in notes if m.text == title), None)

    return bot.slack.wait_for(reads_title, timeout)


def replies(bot: Stack, message: Message) -> list[Message]:
    return [m for m in bot.slack.messages(RELEASES) if m.thread_ts == message.ts]


def text_of(message: Message) -> str:
    return json.dumps(message.blocks, ensure_ascii=False)


def test_a_release_has_one_note_updated_in_place(bot: Stack, gitlab: FakeGitLab) -> None:
    """v2 after v1: one note for v2, posted as it started and updated as it went (not a
    second message), reading Released at the end."""
    history(gitlab)
    released(bot, "v1")
    request_id = released(bot, "v2")
    final = note(bot, request_id, "Released shop v2 to prod")
    assert [final.ts] == [m.ts for m in bot.releases(request_id) if m.thread_ts is None]
    assert len(bot.slack.updates_of(RELEASES, final.ts)) >= 2


def test_the_note_lists_merge_requests_commits_and_the_compare(
    bot: Stack, gitlab: FakeGitLab
) -> None:
    """Titles linked, authors named, and the full compare of release-v1...release-v2."""
    pid = history(gitlab)
    released(bot, "v1")
    request_id = released(bot, "v2")
    text = text_of(note(bot, request_id, "Released shop v2 to prod"))
    tags = gitlab.repositories[pid].tags
    expected = [
        "*Changes since `v1`* (1 merge request, 2 commits):",
        f"<{gitlab.url}/{SHOP_PROJECT}/-/merge_requests/2|!2 Fix totals> — @bob",
        "Bump deps> — Carol Danvers",
        "Fix totals (1)> — Bob Marley",
        f"<{gitlab.url}/{SHOP_PROJECT}/-/compare/{tags['release-v1']}...{tags['release-v2']}|",
    ]
    for fragment in expected:
        assert fragment in text, fragment


def test_the_note_thread_summarises_the_run(bot: Stack, gitlab: FakeGitLab) -> None:
    """Under the note: how it ended, who approved, and per data centre its duration and what
    its playbook did last."""
    history(gitlab)
    request_id = released(bot, "v1")
    final = note(bot, request_id, "Released shop v1 to prod")
    (summary,) = bot.slack.wait_for(lambda: replies(bot, final))
    lines = (summary.text or "").splitlines()
    assert lines[0].startswith("*Released shop v1 to prod* in ")
    assert "approved by <@U0ALICE>" in lines[0]
    assert [("dc-a", True), ("dc-b", True)] == [
        (line.split("`")[1], " succeeded in " in line and " — TASK [" in line) for line in lines[1:]
    ]


def test_a_rollback_updates_the_note_it_undoes_and_posts_its_own(
    bot: Stack, gitlab: FakeGitLab
) -> None:
    history(gitlab)
    released(bot, "v1")
    undone = released(bot, "v2")
    note(bot, undone, "Released shop v2 to prod")
    rollback = bot.rollback("shop prod", user="U0BOB")
    bot.click(APPROVE, rollback, "U0ALICE")
    bot.wait_card(rollback, "Rolled back to")
    marked = note(bot, undone, "Released shop v2 to prod, since rolled back")
    assert "↩️ *Rolled back* at <!date^" in text_of(marked) and "by <@U0BOB>." in text_of(marked)
    own = note(bot, rollback, "Rolled back shop in prod to v1 (from v2)")
    assert "*Changes taken out* (`v2` → `v1`) (1 merge request, 2 commits)" in text_of(own)


def test_gitlab_down_the_note_says_so_and_the_deploy_succeeds(
    bot: Stack, gitlab: FakeGitLab
) -> None:
    history(gitlab)
    released(bot, "v1")
    gitlab.down = True
    request_id = released(bot, "v2")
    text = text_of(note(bot, request_id, "Released shop v2 to prod"))
    assert "*Changes since `v1`*: unknown (GitLab unreachable)." in text


def test_an_unknown_version_the_note_names_the_tag(bot: Stack, gitlab: FakeGitLab) -> None:
    history(gitlab)
    request_id = released(bot, "v7")
    text = text_of(note(bot, request_id, "Released shop v7 to prod"))
    assert "unknown (tag release-v7 not found)." in text
