"""`shipbot check` reports every independent problem in one run: a wrong value never hides a
broken rule elsewhere, and a misspelt key is one issue that names the key meant."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.catalog.model import Environment, check_catalog, load_catalog
from tests.test_catalog import VALID, issues_of, with_prod, write

SEVERAL_MISTAKES = """\
notify: {releases_channel: C0RELEASES}
services:
  pay:
    deployer: kubernetes
    gitlab: {project: pay/api}
    environments:
      staging: {approvals: -1}
      prod:
        approvals: 2
        approvers: [U0ALICE]
        datacenters: [dc-a]
  trade-api:
    deployer: kubernetes
    kubernetes: {deployment: trade-api, containers: [app], imgae: reg/trade-api}
    enviroments:
      prod:
        rollback_approvals: 1
        health_check: {url: "http://x", sucesses: 2}
        datacenters:
          dc-a: {kubernetes: {context: a}}
          dc-b: {kubernetes: {context: b, namespace: ""}}
  web-h5:
    deployer: ansible
    playbok: deploy/web-h5.yml
    environments:
      prod: {approvals: 1, approvers: [bob]}
"""


def test_independent_mistakes_are_all_reported_in_one_run(tmp_path: Path) -> None:
    """Mistakes in three services, and at the service, environment, health check and data
    centre levels of one, are all reported at once, in file order, each at its line:column."""
    path = write(tmp_path, SEVERAL_MISTAKES)
    trade = "services.trade-api.enviroments.prod"
    expected = [
        "3:3: services.pay: kubernetes options lack deployment, containers, image in every "
        "environment; give them under kubernetes: in the service",
        "5:5: services.pay.gitlab: gitlab options given, but the service's deployer is kubernetes",
        "7:17: services.pay.environments.staging.approvals: "
        "Input should be greater than or equal to 0, got -1",
        "10:9: services.pay.environments.prod.approvers: approvals is 2 but only 1 can approve",
        "14:60: services.trade-api.kubernetes.imgae: unknown key 'imgae' (did you mean 'image'?)",
        "15:5: services.trade-api.enviroments: "
        "unknown key 'enviroments' (did you mean 'environments'?)",
        f"17:9: {trade}.rollback_approvals: may not exceed approvals (0)",
        f"18:41: {trade}.health_check.sucesses: unknown key 'sucesses' (did you mean 'successes'?)",
        f"21:43: {trade}.datacenters.dc-b.kubernetes.namespace: may not be empty",
        "24:5: services.web-h5.playbok: unknown key 'playbok' (did you mean 'playbook'?)",
        "26:40: services.web-h5.environments.prod.approvers[0]: invalid approver 'bob': "
        "expected a Slack user ID (U.../W...) or user-group ID (S...)",
    ]
    assert [f"{path}:{line}" for line in expected] == [str(i) for i in check_catalog(path)]


KUBERNETES_WITHOUT_OPTIONS = """\
notify: {releases_channel: C0RELEASES}
services:
  pay:
    deployer: kubernetes
    environments:
      prod: {approvals: -1}
"""


def test_a_wrong_value_does_not_hide_missing_options(tmp_path: Path) -> None:
    """`approvals: -1` and a kubernetes service without its options: both, in one run."""
    path = write(tmp_path, KUBERNETES_WITHOUT_OPTIONS)
    expected = [
        (
            3,
            "kubernetes options lack deployment, containers, image in every environment; "
            "give them under kubernetes: in the service",
        ),
        (6, "Input should be greater than or equal to 0, got -1"),
    ]
    assert expected == issues_of(path)


def test_a_wrong_value_in_one_environment_does_not_hide_a_rule_in_another(
    tmp_path: Path,
) -> None:
    """staging's bad approvals and prod's missing approvers are reported together."""
    text = VALID.replace("staging: {approvals: 0}", "staging: {approvals: -1}")
    path = write(tmp_path, text.replace("approvers: [U0ALICE, U0BOB, S0CHANGE]", "approvers: []"))
    expected = [
        (10, "Input should be greater than or equal to 0, got -1"),
        (13, "approvals is 2, so at least one approver is required"),
    ]
    assert expected == issues_of(path)


def test_a_bad_approver_does_not_hide_too_few_approvers(tmp_path: Path) -> None:
    """An invalid approver ID and too few approvers for the approvals asked: both."""
    path = write(tmp_path, with_prod("{approvals: 3, approvers: [U0ALICE, bob]}"))
    expected = [
        "approvals is 3 but only 2 can approve",
        "invalid approver 'bob': expected a Slack user ID (U.../W...) or user-group ID (S...)",
    ]
    assert expected == [issue.message for issue in check_catalog(path)]


def test_a_repeated_data_centre_does_not_hide_a_bad_name(tmp_path: Path) -> None:
    """[dc-a, dc-a, DC_B]: the repeat and the invalid name are both reported."""
    path = write(tmp_path, VALID.replace("[dc-a, dc-b]", "[dc-a, dc-a, DC_B]"))
    expected = [
        "listed more than once: dc-a",
        "invalid name 'DC_B': use 1-63 of a-z 0-9 . _ -, starting with a letter or digit",
    ]
    assert expected == [issue.message for issue in check_catalog(path)]


PROD = "services.web-h5.environments.prod"


@pytest.mark.parametrize(
    ("key", "misspelt", "location"),
    [
        ("releases_channel", "releases_chanel", "notify"),
        ("deployer", "deployr", "services.web-h5"),
        ("environments", "enviroments", "services.web-h5"),
        ("expire_after_minutes", "expire_after_minute", PROD),
        ("health_check", "healthcheck", PROD),
        ("successes", "sucesses", f"{PROD}.health_check"),
        ("context", "contxt", f"{PROD}.datacenters.dc-a.kubernetes"),
    ],
)
def test_a_misspelt_key_is_one_issue_at_every_level(
    tmp_path: Path, key: str, misspelt: str, location: str
) -> None:
    """At each level, a misspelt key (required or not) is exactly one issue naming the key
    meant: no "missing required key" beside it."""
    path = write(tmp_path, LEVELS.replace(f"{key}:", f"{misspelt}:"))
    message = f"unknown key {misspelt!r} (did you mean {key!r}?)"
    expected = [(f"{location}.{misspelt}", message)]
    assert expected == [(issue.location, issue.message) for issue in check_catalog(path)]


LEVELS = """\
notify:
  releases_channel: C0RELEASES
services:
  web-h5:
    deployer: kubernetes
    kubernetes: {deployment: web, containers: [app], image: reg/web}
    environments:
      prod:
        expire_after_minutes: 60
        health_check:
          url: http://{datacenter}.web/healthz
          successes: 2
        datacenters:
          dc-a: {kubernetes: {context: dc-a}}
"""


def test_a_misspelt_required_option_is_not_also_reported_lacking(tmp_path: Path) -> None:
    """`imgae` is one issue; the image it gives is not also reported as lacking."""
    path = write(tmp_path, LEVELS.replace("image:", "imgae:"))
    expected = [(6, "unknown key 'imgae' (did you mean 'image'?)")]
    assert expected == issues_of(path)


def test_a_misspelt_playbook_is_not_also_reported_missing(tmp_path: Path) -> None:
    """`playbok` on an ansible service is one issue, not also "missing key 'playbook'"."""
    path = write(tmp_path, VALID.replace("playbook:", "playbok:"))
    expected = [(6, "unknown key 'playbok' (did you mean 'playbook'?)")]
    assert expected == issues_of(path)


def test_mistakes_beneath_a_misspelt_key_are_reported_where_written(tmp_path: Path) -> None:
    """Under `enviroments`, a bad value is still found, at a location spelt as in the file."""
    text = VALID.replace("environments:", "enviroments:").replace("U0BOB", "bob")
    [_, approver] = check_catalog(write(tmp_path, text))
    expected = (13, 30, "services.web-h5.enviroments.prod.approvers[1]")
    assert expected == (approver.line, approver.column, approver.location)


def test_a_key_already_given_is_never_suggested(tmp_path: Path) -> None:
    """Beside `approvals`, `approval` is not taken for it: the allowed keys are listed."""
    path = write(tmp_path, with_prod("{approvals: 0, approval: 1}"))
    [issue] = check_catalog(path)
    assert issue.message.startswith("unknown key 'approval' (allowed: approvals, approvers,")


def test_an_environment_built_directly_obeys_the_rules() -> None:
    """The rules are the model's own: Environment(approvals=1) with no approvers is refused."""
    with pytest.raises(ValidationError) as caught:
        Environment(approvals=1)
    expected = ["approvals is 1, so at least one approver is required"]
    assert expected == [error["msg"] for error in caught.value.errors()]


def test_a_valid_catalog_loads_the_same(tmp_path: Path) -> None:
    """The checks change nothing for a valid catalog: the levels merge as before."""
    options = load_catalog(write(tmp_path, LEVELS)).services["web-h5"].options_for("prod", "dc-a")
    expected = {"deployment": "web", "containers": ["app"], "image": "reg/web", "context": "dc-a"}
    assert expected == options
