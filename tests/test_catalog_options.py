"""Deployer options in the catalog: given at service, environment or data-centre level, the
nearest level wins key by key, and every target must end up with what its deployer needs."""

from __future__ import annotations

from pathlib import Path

from bot.app.wiring import deployers
from bot.catalog.model import check_catalog, load_catalog
from bot.catalog.settings import Settings
from integrations.ansible import AnsibleDeployer
from tests.test_catalog import issues_of, write

KUBERNETES = """\
notify: {releases_channel: C0RELEASES}
services:
  trade-api:
    deployer: kubernetes
    kubernetes: {deployment: trade-api, containers: [app], image: reg/trade-api, namespace: trading}
    environments:
      staging:
        kubernetes: {context: staging}
      prod:
        kubernetes: {namespace: trading-prod}
        datacenters:
          dc-a: {kubernetes: {context: prod-a}}
          dc-b: {kubernetes: {api_url: "https://k8s.dc-b:6443", namespace: dc-b-only}}
"""


def test_nearest_level_wins_key_by_key(tmp_path: Path) -> None:
    """dc-b's namespace beats prod's, which beats the service's; the rest is inherited."""
    service = load_catalog(write(tmp_path, KUBERNETES)).services["trade-api"]
    expected = {
        "deployment": "trade-api",
        "containers": ["app"],
        "image": "reg/trade-api",
        "namespace": "dc-b-only",
        "api_url": "https://k8s.dc-b:6443",
    }
    assert expected == service.options_for("prod", "dc-b")


def test_environment_level_applies_to_each_data_centre(tmp_path: Path) -> None:
    """dc-a gives only its context; the namespace comes from prod."""
    service = load_catalog(write(tmp_path, KUBERNETES)).services["trade-api"]
    options = service.options_for("prod", "dc-a")
    assert ("prod-a", "trading-prod") == (options["context"], options["namespace"])


def test_data_centres_keep_their_order_when_given_as_a_mapping(tmp_path: Path) -> None:
    """A mapping of data centres rolls out in the order written, like a list."""
    environment = load_catalog(write(tmp_path, KUBERNETES)).services["trade-api"].environments
    assert ["dc-a", "dc-b"] == environment["prod"].targets()


def test_an_option_no_target_has_is_reported_once_at_the_service(tmp_path: Path) -> None:
    """Without an image anywhere, one issue at the service's block names the deployer and key."""
    text = KUBERNETES.replace(", image: reg/trade-api", "")
    expected = [
        (
            5,
            "kubernetes options lack image in every environment; give them under kubernetes: "
            "in the service",
        )
    ]
    assert expected == issues_of(write(tmp_path, text))


def test_each_target_missing_an_option_is_named(tmp_path: Path) -> None:
    """An image given for staging only: each prod data centre lacks it, on its own line."""
    text = KUBERNETES.replace(", image: reg/trade-api", "").replace(
        "{context: staging}", "{context: staging, image: reg/trade-api}"
    )
    lack = (
        "kubernetes options lack image; give them under kubernetes: in the service, "
        "the environment or the data centre"
    )
    prod = "services.trade-api.environments.prod.datacenters"
    expected = [(12, 11, f"{prod}.dc-a", lack), (13, 11, f"{prod}.dc-b", lack)]
    issues = check_catalog(write(tmp_path, text))
    assert expected == [(i.line, i.column, i.location, i.message) for i in issues]


def test_misspelt_option_key_names_the_key_meant(tmp_path: Path) -> None:
    """A misspelt key in a data centre's block is reported on its line with the key meant."""
    text = KUBERNETES.replace("namespace: dc-b-only", "namespce: dc-b-only")
    expected = [(13, "unknown key 'namespce' (did you mean 'namespace'?)")]
    assert expected == issues_of(write(tmp_path, text))


def test_options_for_another_deployer_are_refused(tmp_path: Path) -> None:
    """gitlab: options on a kubernetes service are a mistake, reported at the stray key."""
    text = KUBERNETES.replace("staging:\n", "staging:\n        gitlab: {project: a/b}\n")
    expected = [
        (
            8,
            9,
            "services.trade-api.environments.staging.gitlab",
            "gitlab options given, but the service's deployer is kubernetes",
        )
    ]
    issues = check_catalog(write(tmp_path, text))
    assert expected == [(i.line, i.column, i.location, i.message) for i in issues]


def test_ansible_keys_on_another_deployer_are_refused(tmp_path: Path) -> None:
    """Playbook vars on a kubernetes service would never be used; say so at the key."""
    deployer = "    deployer: kubernetes\n"
    text = KUBERNETES.replace(deployer, f"{deployer}    vars: {{}}\n")
    expected = [(5, "only used by deployer 'ansible', but the service's deployer is kubernetes")]
    assert expected == issues_of(write(tmp_path, text))


def test_gitlab_and_argocd_need_only_their_project_and_application(tmp_path: Path) -> None:
    """The smallest gitlab and argocd services load."""
    text = """\
    notify: {releases_channel: C0RELEASES}
    services:
      web: {deployer: gitlab, gitlab: {project: web/h5}, environments: {prod: {}}}
      risk: {deployer: argocd, argocd: {application: risk}, environments: {prod: {}}}
    """
    services = load_catalog(write(tmp_path, text)).services
    assert {"project": "web/h5"} == services["web"].options_for("prod", "")
    assert {"application": "risk"} == services["risk"].options_for("prod", "")


def test_pipeline_variables_merge_key_by_key(tmp_path: Path) -> None:
    """A data centre's variables add to (and override) the service's, not replace them."""
    text = """\
    notify: {releases_channel: C0RELEASES}
    services:
      web:
        deployer: gitlab
        gitlab: {project: web/h5, variables: {TEAM: front, REGION: none}}
        environments:
          prod:
            datacenters:
              dc-a: {gitlab: {variables: {REGION: east}}}
    """
    options = load_catalog(write(tmp_path, text)).services["web"].options_for("prod", "dc-a")
    assert {"TEAM": "front", "REGION": "east"} == options["variables"]


ANSIBLE = """\
notify: {releases_channel: C0RELEASES}
services:
  web-h5:
    deployer: ansible
    playbook: deploy/web-h5.yml
    ansible: {timeout_seconds: 1800}
    environments:
      staging: {}
      prod:
        ansible: {timeout_seconds: 900}
        datacenters:
          dc-a: {ansible: {timeout_seconds: 600}}
          dc-b:
"""


def test_ansible_timeout_is_given_at_three_levels(tmp_path: Path) -> None:
    """An ansible service's timeout_seconds comes from the nearest of the data centre, the
    environment and the service."""
    service = load_catalog(write(tmp_path, ANSIBLE)).services["web-h5"]
    targets = [("staging", ""), ("prod", "dc-a"), ("prod", "dc-b")]
    expected = [{"timeout_seconds": seconds} for seconds in (1800, 600, 900)]
    assert expected == [service.options_for(env, dc) for env, dc in targets]


def test_ansible_timeout_must_be_positive(tmp_path: Path) -> None:
    """timeout_seconds: 0 is refused on its line."""
    text = ANSIBLE.replace("{timeout_seconds: 600}", "{timeout_seconds: 0}")
    expected = [(12, "Input should be greater than 0, got 0")]
    assert expected == issues_of(write(tmp_path, text))


def test_ansible_options_on_another_deployer_are_refused(tmp_path: Path) -> None:
    """ansible: options on a kubernetes service are reported at the stray key."""
    text = KUBERNETES.replace("staging:\n", "staging:\n        ansible: {timeout_seconds: 60}\n")
    expected = [(8, "ansible options given, but the service's deployer is kubernetes")]
    assert expected == issues_of(write(tmp_path, text))


def test_the_ansible_deployer_gets_its_target_s_timeout(tmp_path: Path) -> None:
    """The worker's deployer of prod dc-a runs the playbook with dc-a's timeout."""
    catalog = load_catalog(write(tmp_path, ANSIBLE))
    deployer_for = deployers(catalog, Settings(), tmp_path, wake=no_news)
    deployer = deployer_for("web-h5", "prod", "dc-a")
    assert (AnsibleDeployer, 600) == (type(deployer), getattr(deployer, "timeout_seconds", None))


def test_a_deployer_given_no_timeout_gets_the_catalog_s_default(tmp_path: Path) -> None:
    """A target no level gives a timeout to is deployed with the deployer's default (3600 s
    for ansible), which only the catalog holds."""
    catalog = load_catalog(write(tmp_path, ANSIBLE.replace("ansible: {timeout_seconds: 1800}", "")))
    deployer = deployers(catalog, Settings(), tmp_path, wake=no_news)("web-h5", "staging", "")
    assert 3600 == getattr(deployer, "timeout_seconds", None)


async def no_news(topic: str, seconds: float) -> None:
    """A Wake that never wakes anyone."""
