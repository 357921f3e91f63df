"""End to end: services deployed by GitLab pipelines, one per data centre, followed through
GitLab's webhooks and its API (FakeGitLab, driven by python-gitlab in the worker)."""

from __future__ import annotations

from tests.conftest import GITLAB_PROJECT
from tests.fakes import FakeGitLab
from tests.fakes.http_server import poll
from tests.stack import Stack, reply_text


def pipelines(gitlab: FakeGitLab) -> list[tuple[str, str, str, str]]:
    """(ref, data centre, action, status) of every pipeline, oldest first."""
    return [
        (p.ref, p.variables["SHIPBOT_DATACENTER"], p.variables["SHIPBOT_ACTION"], p.status)
        for p in gitlab.pipelines
    ]


def history(bot: Stack) -> str:
    return reply_text(bot.command("history pay prod", command="/shipbot"))


def history_with(bot: Stack, fragment: str) -> str:
    """/shipbot history pay prod, once it shows ``fragment``."""

    def showing() -> str | None:
        text = history(bot)
        return text if fragment in text else None

    return poll(showing, 20, AssertionError)


def project_id(gitlab: FakeGitLab) -> int:
    return next(p.id for p in gitlab.projects.values() if p.path == GITLAB_PROJECT)


def test_each_datacenter_runs_its_own_pipeline(bot: Stack, gitlab: FakeGitLab) -> None:
    """dc-a, then dc-b: a pipeline each on the version, with shipbot's and the catalog's
    variables; the card links the pipeline."""
    request_id = bot.deployed("pay v1 to prod")
    assert [("v1", "dc-a", "deploy", "success"), ("v1", "dc-b", "deploy", "success")] == (
        pipelines(gitlab)
    )
    variables = gitlab.pipelines[0].variables
    assert ("payments", request_id, "prod") == (
        variables["TEAM"],
        variables["SHIPBOT_REQUEST_ID"],
        variables["SHIPBOT_ENVIRONMENT"],
    )
    last = gitlab.pipelines[1]
    assert f"/{GITLAB_PROJECT}/-/pipelines/{last.id}|details>" in bot.card_text(request_id)


def test_webhooks_reach_the_bot(bot: Stack, gitlab: FakeGitLab) -> None:
    """GitLab's Pipeline and Job hooks for shipbot's pipelines are accepted (200)."""
    bot.deployed("pay v1 to prod")
    kinds = {(hook.event, hook.status) for hook in gitlab.hooks}
    assert {("Pipeline Hook", 200), ("Job Hook", 200)} <= kinds


def test_failed_pipeline_in_second_datacenter_rolls_the_first_back(
    bot: Stack, gitlab: FakeGitLab
) -> None:
    """v2's pipeline fails in dc-b: dc-b, then dc-a, get a rollback pipeline for v1, and the
    card says which job failed and what was rolled back."""
    bot.deployed("pay v1 to prod")
    gitlab.fail_when(datacenter="dc-b", version="v2")
    request_id = bot.deploy("pay v2 to prod")
    card = bot.wait_card(request_id, "Failed")
    expected = [
        ("v2", "dc-a", "deploy", "success"),
        ("v2", "dc-b", "deploy", "failed"),
        ("v1", "dc-b", "rollback", "success"),
        ("v1", "dc-a", "rollback", "success"),
    ]
    assert expected == pipelines(gitlab)[2:]
    assert "dc-b rolled back to v1; dc-a rolled back to v1" in card
    assert "job deploy failed in stage deploy" in card


def test_rollback_runs_a_pipeline_for_the_previous_version(bot: Stack, gitlab: FakeGitLab) -> None:
    """/rollback pay prod: a rollback pipeline for v1 in each data centre."""
    bot.deployed("pay v1 to prod")
    bot.deployed("pay v2 to prod")
    bot.wait_card(bot.rollback("pay prod"), "Rolled back to")
    expected = [("v1", "dc-a", "rollback", "success"), ("v1", "dc-b", "rollback", "success")]
    assert expected == pipelines(gitlab)[4:]


def test_deployment_gitlab_ran_alone_is_recorded(bot: Stack, gitlab: FakeGitLab) -> None:
    """A Deployment hook for `production` that no shipbot pipeline ran lands in history and
    status, credited to the GitLab user."""
    deployment = gitlab.add_deployment(project_id(gitlab), "production", "v3", user="mallory")
    answer = bot.gitlab_hook(gitlab.deployment_hook(deployment), "Deployment Hook")
    assert 202 == answer.status_code
    text = history_with(bot, "v3")
    assert "mallory (GitLab), outside shipbot" in text
    status = reply_text(bot.command("status pay", command="/shipbot"))
    assert "dc-a `v3`" in status and "dc-b `v3`" in status


def test_deployments_shipbot_ran_are_not_recorded_again(bot: Stack, gitlab: FakeGitLab) -> None:
    """GitLab's Deployment hooks for shipbot's own pipelines add nothing to history."""
    request_id = bot.deployed("pay v1 to prod")
    ours = [p.id for p in gitlab.pipelines]
    asked = [f"GET /api/v4/projects/{project_id(gitlab)}/pipelines/{p}/variables" for p in ours]
    poll(lambda: all(a in gitlab.requests for a in asked), 20, AssertionError)
    outside = gitlab.add_deployment(project_id(gitlab), "production", "v3", user="mallory")
    bot.gitlab_hook(gitlab.deployment_hook(outside), "Deployment Hook")
    text = history_with(bot, "v3")
    assert 3 == len(text.splitlines())  # the title, the outside deploy, and ours
    assert request_id in text


def test_deployment_of_an_uncatalogued_environment_is_ignored(
    bot: Stack, gitlab: FakeGitLab
) -> None:
    """A Deployment hook for an environment the catalog doesn't name changes nothing."""
    deployment = gitlab.add_deployment(project_id(gitlab), "review/feature-x", "v3")
    answer = bot.gitlab_hook(gitlab.deployment_hook(deployment), "Deployment Hook")
    assert 200 == answer.status_code
    assert answer.json()["message"].startswith("ignored:")
    assert "No deploys" in history(bot)
