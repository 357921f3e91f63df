"""End to end: what the commands answer that is not a request: help from the catalog, the
services, and a /deploy missing a piece."""

from __future__ import annotations

from pathlib import Path

from bot.catalog.model import load_catalog
from bot.domain.grammar import help_text
from bot.domain.reports import examples
from tests.stack import Stack, reply_text

CATALOG = """
notify: {releases_channel: C0RELEASES}
services:
  pay-api:
    deployer: ansible
    playbook: site.yml
    environments:
      uat: {approvals: 0}
      production: {approvals: 1, approvers: [U0ALICE]}
      dr: {approvals: 0}
"""


def test_help_examples_use_the_catalogs_first_service_and_its_production(
    tmp_path: Path,
) -> None:
    """A catalog whose first service is pay-api with `production`: help's examples name them,
    never a service the catalog lacks."""
    (tmp_path / "site.yml").write_text("- hosts: all\n  tasks: []\n")
    (tmp_path / "catalog.yaml").write_text(CATALOG)
    catalog = load_catalog(tmp_path / "catalog.yaml")
    text = help_text(examples(catalog))
    assert "`/deploy pay-api v2.3.1 to production fix login bug`" in text
    assert "`/rollback pay-api production`" in text
    assert "web-h5" not in text and "order-service" not in text


def test_help_over_slack_shows_the_catalogs_names(bot: Stack) -> None:
    """`/shipbot help` answers with examples from the running catalog."""
    text = reply_text(bot.command("help", command="/shipbot"))
    assert "`/deploy web-h5 v2.3.1 to prod fix login bug`" in text


def test_services_lists_each_service_and_environment(bot: Stack) -> None:
    """`/shipbot services` names each service's deployer and each environment's rule."""
    answer = reply_text(bot.command("services", command="/shipbot"))
    line = next(line for line in answer.splitlines() if line.startswith("• `web-h5`"))
    assert "• `web-h5` (ansible): `staging` no approval needed; `prod` 2 approvals from " in line
    assert line.endswith("<!subteam^S0CHANGE>, dc-a → dc-b")
    assert "• `trade` (kubernetes)" in answer


def test_deploy_with_an_environment_but_no_version_names_the_version(bot: Stack) -> None:
    """`/deploy web-h5 prod`: prod is one of web-h5's environments, so the version is missing,
    and the answer shows the form of the command."""
    text = reply_text(bot.command("web-h5 prod"))
    expected = (
        "Missing the version: `prod` is an environment of `web-h5`, and the version goes "
        "before it, as in `/deploy web-h5 v1.2.3 to prod`."
    )
    assert text.startswith(expected) and "Usage: `/deploy &lt;service&gt;" in text


def test_deploy_with_a_version_but_no_environment_names_the_environments(bot: Stack) -> None:
    """`/deploy web-h5 latest`: not an environment, so the environment is missing; its
    environments are listed."""
    text = reply_text(bot.command("web-h5 latest"))
    assert text.startswith("Missing the environment. Environments of `web-h5`: `prod`, `staging`.")
