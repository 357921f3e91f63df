"""The catalog loader: valid catalogs load, every mistake is reported with its line."""

from __future__ import annotations

import hashlib
import textwrap
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.catalog.model import (
    Catalog,
    CatalogError,
    CatalogIssue,
    Environment,
    check_catalog,
    load_catalog,
)

VALID = """\
notify:
  releases_channel: C0RELEASES
services:
  web-h5:
    deployer: ansible
    playbook: deploy/web-h5.yml
    inventory: deploy/hosts.ini
    vars: {site_root: /srv/web-h5}
    environments:
      staging: {approvals: 0}
      prod:
        approvals: 2
        approvers: [U0ALICE, U0BOB, S0CHANGE]
        datacenters: [dc-a, dc-b]
        expire_after_minutes: 60
"""


def write(tmp_path: Path, text: str) -> Path:
    """Write a catalog (and the files it may refer to) into tmp_path."""
    (tmp_path / "deploy").mkdir(exist_ok=True)
    (tmp_path / "deploy" / "web-h5.yml").write_text("- hosts: all\n")
    (tmp_path / "deploy" / "hosts.ini").write_text("localhost\n")
    path = tmp_path / "catalog.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def issues_of(path: Path) -> list[tuple[int | None, str]]:
    return [(issue.line, issue.message) for issue in check_catalog(path)]


def with_prod(prod: str) -> str:
    """VALID with the prod environment's body replaced by `prod` (a flow mapping)."""
    head = VALID.split("      prod:")[0]
    return f"{head}      prod: {prod}\n"


def test_valid_catalog_resolves_playbook_against_its_directory(tmp_path: Path) -> None:
    """The playbook path becomes absolute, relative to the catalog file's directory."""
    catalog = load_catalog(write(tmp_path, VALID))
    assert (tmp_path / "deploy" / "web-h5.yml").resolve() == catalog.services["web-h5"].playbook


def test_valid_catalog_resolves_inventory(tmp_path: Path) -> None:
    """The inventory path is resolved the same way as the playbook."""
    catalog = load_catalog(write(tmp_path, VALID))
    assert (tmp_path / "deploy" / "hosts.ini").resolve() == catalog.services["web-h5"].inventory


def test_valid_catalog_keeps_environment_settings(tmp_path: Path) -> None:
    """The prod environment carries exactly what the YAML says."""
    prod = load_catalog(write(tmp_path, VALID)).services["web-h5"].environments["prod"]
    expected = Environment(
        approvals=2,
        approvers=["U0ALICE", "U0BOB", "S0CHANGE"],
        datacenters=["dc-a", "dc-b"],
        expire_after_minutes=60,
    )
    assert expected == prod


def test_environment_defaults(tmp_path: Path) -> None:
    """An environment with only `approvals: 0` gets no approvers and a one-day expiry."""
    staging = load_catalog(write(tmp_path, VALID)).services["web-h5"].environments["staging"]
    expected = Environment(approvals=0, approvers=[], datacenters=[], expire_after_minutes=1440)
    assert expected == staging


def test_empty_environment_means_defaults(tmp_path: Path) -> None:
    """`qa:` with no body is an environment with every default."""
    catalog = load_catalog(write(tmp_path, VALID + "      qa:\n"))
    assert Environment() == catalog.services["web-h5"].environments["qa"]


def test_revision_is_sha256_prefix_of_the_file(tmp_path: Path) -> None:
    """The revision is the first 12 hex digits of the sha256 of the file's bytes."""
    path = write(tmp_path, VALID)
    assert hashlib.sha256(path.read_bytes()).hexdigest()[:12] == load_catalog(path).revision


def test_revision_is_stable_across_loads(tmp_path: Path) -> None:
    """Loading the same file twice gives the same revision."""
    path = write(tmp_path, VALID)
    assert load_catalog(path).revision == load_catalog(path).revision


def test_catalog_path_is_absolute(tmp_path: Path) -> None:
    """The catalog remembers the absolute path it was loaded from."""
    path = write(tmp_path, VALID)
    assert path.absolute() == load_catalog(path).path


def test_valid_catalog_has_no_issues(tmp_path: Path) -> None:
    """check_catalog returns an empty list for a valid catalog."""
    expected = []
    assert expected == check_catalog(write(tmp_path, VALID))


def test_misspelt_key_is_one_issue_naming_the_near_key(tmp_path: Path) -> None:
    """A misspelt key is one issue, at its line and column, that names the key meant."""
    path = write(tmp_path, with_prod("{aprovals: 0}"))
    expected = CatalogIssue(
        11,
        14,
        "services.web-h5.environments.prod.aprovals",
        "unknown key 'aprovals' (did you mean 'approvals'?)",
        str(path),
    )
    expected = [expected]
    assert expected == check_catalog(path)


def test_unknown_key_like_no_allowed_one_lists_them(tmp_path: Path) -> None:
    """A key that resembles none of the allowed ones is reported with all of them."""
    path = write(tmp_path, with_prod("{owner: team-a}"))
    expected = [
        (
            11,
            "unknown key 'owner' (allowed: approvals, approvers, datacenters, "
            "expire_after_minutes, rollback_approvals, health_check, rollback_on_failure, "
            "production, deployers, approval_rules, emergency, freeze, freezers, admins, "
            "ansible, kubernetes, gitlab, argocd)",
        )
    ]
    assert expected == issues_of(path)


def test_revision_is_not_a_yaml_key(tmp_path: Path) -> None:
    """`revision` is set by the loader; written in the YAML it is an unknown key."""
    path = write(tmp_path, VALID + "revision: abc\n")
    expected = [(16, "unknown key 'revision' (allowed: notify, timezone, services, audit)")]
    assert expected == issues_of(path)


def test_approvals_without_approvers_rejected(tmp_path: Path) -> None:
    """approvals > 0 with no approvers cannot ever be approved, so it is an error."""
    path = write(tmp_path, with_prod("{approvals: 1}"))
    expected = [(11, "approvals is 1, so at least one approver is required")]
    assert expected == issues_of(path)


def test_more_approvals_than_approving_users_rejected(tmp_path: Path) -> None:
    """Needing three approvals from two listed users (and no group) is an error."""
    path = write(tmp_path, with_prod("{approvals: 3, approvers: [U0ALICE, U0BOB]}"))
    expected = [(11, "approvals is 3 but only 2 can approve")]
    assert expected == issues_of(path)


def test_negative_approvals_rejected(tmp_path: Path) -> None:
    """approvals must be zero or more."""
    path = write(tmp_path, with_prod("{approvals: -1}"))
    expected = [(11, "Input should be greater than or equal to 0, got -1")]
    assert expected == issues_of(path)


def test_bad_service_name_rejected(tmp_path: Path) -> None:
    """Service names are lower-case; the issue points at the name's line."""
    path = write(tmp_path, VALID.replace("web-h5:", "Web H5:"))
    [issue] = check_catalog(path)
    expected = (4, "services.Web H5")
    assert expected == (issue.line, issue.location)


def test_bad_service_name_message(tmp_path: Path) -> None:
    """The name error quotes the name and says what a name may contain."""
    path = write(tmp_path, VALID.replace("web-h5:", "Web H5:"))
    expected = "invalid name 'Web H5': use 1-63 of a-z 0-9 . _ -, starting with a letter or digit"
    expected = [expected]
    assert expected == [issue.message for issue in check_catalog(path)]


def test_bad_datacenter_name_rejected(tmp_path: Path) -> None:
    """Datacenter names follow the same rule as service names."""
    path = write(tmp_path, VALID.replace("dc-b]", "DC_B]"))
    locations = [issue.location for issue in check_catalog(path)]
    expected = ["services.web-h5.environments.prod.datacenters.DC_B"]
    assert expected == locations


def test_repeated_datacenter_rejected(tmp_path: Path) -> None:
    """A datacenter listed twice would be deployed twice, so it is an error."""
    path = write(tmp_path, VALID.replace("dc-b]", "dc-a]"))
    expected = [(14, "listed more than once: dc-a")]
    assert expected == issues_of(path)


def test_bad_approver_id_rejected(tmp_path: Path) -> None:
    """Approvers must be Slack user (U/W) or user-group (S) IDs, not names."""
    path = write(tmp_path, VALID.replace("U0BOB", "bob"))
    expected = (
        "invalid approver 'bob': expected a Slack user ID (U.../W...) or user-group ID (S...)"
    )
    expected = [(13, expected)]
    assert expected == issues_of(path)


def test_bad_channel_id_rejected(tmp_path: Path) -> None:
    """The releases channel must be a Slack channel ID, not a #name."""
    path = write(tmp_path, VALID.replace("C0RELEASES", "'#releases'"))
    [issue] = check_catalog(path)
    expected = (2, "notify.releases_channel")
    assert expected == (issue.line, issue.location)


def test_missing_playbook_file_reported_with_line(tmp_path: Path) -> None:
    """A playbook that does not exist is reported at the playbook key's line."""
    path = write(tmp_path, VALID.replace("web-h5.yml", "nope.yml"))
    [issue] = check_catalog(path)
    expected = (6, "services.web-h5.playbook")
    assert expected == (issue.line, issue.location)


def test_missing_playbook_message_names_the_file(tmp_path: Path) -> None:
    """The message shows both the path as written and where it was looked for."""
    path = write(tmp_path, VALID.replace("web-h5.yml", "nope.yml"))
    looked = (tmp_path / "deploy" / "nope.yml").resolve()
    expected = f"playbook 'deploy/nope.yml' not found (looked for {looked})"
    expected = [expected]
    assert expected == [issue.message for issue in check_catalog(path)]


def test_ansible_service_requires_playbook(tmp_path: Path) -> None:
    """deployer: ansible without a playbook is reported at the service."""
    path = write(tmp_path, VALID.replace("    playbook: deploy/web-h5.yml\n", ""))
    expected = [(4, "missing key 'playbook', required by deployer 'ansible'")]
    assert expected == issues_of(path)


def test_unknown_deployer_rejected(tmp_path: Path) -> None:
    """Only the deployers shipbot knows are accepted."""
    path = write(tmp_path, VALID.replace("deployer: ansible", "deployer: puppet"))
    expected = [(5, "Input should be 'ansible', 'kubernetes', 'gitlab' or 'argocd', got 'puppet'")]
    assert expected == issues_of(path)


def test_service_without_environments_rejected(tmp_path: Path) -> None:
    """Every service needs at least one environment."""
    path = write(tmp_path, VALID.split("    environments:")[0] + "    environments: {}\n")
    expected = [(9, "at least one entry is required under 'environments'")]
    assert expected == issues_of(path)


def test_duplicate_key_rejected(tmp_path: Path) -> None:
    """A key given twice is an error rather than the last one silently winning."""
    path = write(tmp_path, VALID + "      prod: {approvals: 0}\n")
    expected = [(16, "duplicate key 'prod'")]
    assert expected == issues_of(path)


def test_yaml_syntax_error_reports_its_line(tmp_path: Path) -> None:
    """A YAML syntax error is one issue at the line where parsing failed."""
    path = write(tmp_path, "notify:\n  releases_channel: C0X\n services: [\n")
    expected = [3]
    assert expected == [issue.line for issue in check_catalog(path)]


def test_several_errors_all_reported(tmp_path: Path) -> None:
    """Every error is reported at once, in line order."""
    text = VALID.replace("C0RELEASES", "nope").replace("U0BOB", "bob").replace("dc-b]", "B]")
    path = write(tmp_path, text.replace("approvals: 0", "aprovals: 0"))
    expected = [2, 10, 13, 14]
    assert expected == [issue.line for issue in check_catalog(path)]


def test_empty_file_rejected(tmp_path: Path) -> None:
    """An empty file is one issue saying what a catalog must contain."""
    path = write(tmp_path, "")
    expected = [(None, "expected a mapping with keys notify, services; the file is empty")]
    assert expected == issues_of(path)


def test_list_at_top_rejected(tmp_path: Path) -> None:
    """A catalog that is a list rather than a mapping is rejected at line 1."""
    path = write(tmp_path, "- web-h5\n")
    expected = [(1, "expected a mapping with keys notify, services; found a sequence")]
    assert expected == issues_of(path)


def test_missing_file_rejected(tmp_path: Path) -> None:
    """A catalog path that does not exist is one issue without a line."""
    path = tmp_path / "absent.yaml"
    expected = [(None, "cannot read: No such file or directory")]
    assert expected == issues_of(path)


def test_error_text_has_one_issue_per_line_prefixed_by_path(tmp_path: Path) -> None:
    """str(CatalogError) is one `file:line:column: location: message` line per issue."""
    path = write(tmp_path, VALID.replace("U0BOB", "bob").replace("dc-b]", "dc-a]"))
    with pytest.raises(CatalogError) as caught:
        load_catalog(path)
    prod = "services.web-h5.environments.prod"
    expected = (
        f"{path}:13:30: {prod}.approvers[1]: invalid approver 'bob': "
        "expected a Slack user ID (U.../W...) or user-group ID (S...)\n"
        f"{path}:14:9: {prod}.datacenters: listed more than once: dc-a"
    )
    assert expected == str(caught.value)


def test_issue_without_line_omits_it() -> None:
    """An issue with no known line prints as `file: message`."""
    expected = "c.yaml: cannot read"
    assert expected == str(CatalogIssue(None, None, "", "cannot read", "c.yaml"))


def test_targets_are_datacenters_in_order() -> None:
    """targets() lists the data centres in rollout order."""
    expected = ["dc-b", "dc-a"]
    assert expected == Environment(datacenters=["dc-b", "dc-a"]).targets()


def test_targets_without_datacenters_is_one_unnamed_target() -> None:
    """With no data centres there is a single target named ''."""
    expected = [""]
    assert expected == Environment().targets()


@given(st.from_regex(r"[a-z0-9][a-z0-9._-]{0,62}", fullmatch=True))
def test_any_valid_name_is_accepted_as_environment(name: str) -> None:
    """Every name matching the documented pattern is a valid environment name."""
    data = {
        "notify": {"releases_channel": "C0X"},
        "services": {"s": {"deployer": "ansible", "playbook": "p.yml", "environments": {name: {}}}},
    }
    assert [name] == list(Catalog.model_validate(data).services["s"].environments)


def test_rollbacks_may_need_fewer_approvals(tmp_path: Path) -> None:
    """rollback_approvals sets a rollback's count; without it a rollback needs as many."""
    env = load_catalog(write(tmp_path, CATALOG_WITH_ROLLBACK)).services["web"].environments
    expected = [(1, 2), (2, 2)]
    assert expected == [(e.approvals_for(True), e.approvals_for(False)) for e in env.values()]


def test_rollbacks_may_not_need_more_approvals(tmp_path: Path) -> None:
    """rollback_approvals above approvals is an error on its line."""
    text = CATALOG_WITH_ROLLBACK.replace("rollback_approvals: 1", "rollback_approvals: 3")
    issues = check_catalog(write(tmp_path, text))
    assert ["may not exceed approvals (2)"] == [i.message for i in issues]


CATALOG_WITH_ROLLBACK = """
notify: {releases_channel: C0REL}
services:
  web:
    deployer: ansible
    playbook: deploy/web-h5.yml
    environments:
      prod: {approvals: 2, approvers: [U0A, U0B], rollback_approvals: 1}
      dr: {approvals: 2, approvers: [U0A, U0B]}
"""
