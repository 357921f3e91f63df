"""Every environment variable the deployment files name (the rendered Kubernetes manifests,
docker-compose.yml, .env.example, the Dockerfile) is one shipbot reads (a field of Settings,
upper-cased) or one its tools read (an allow-list), so a renamed setting cannot leave a file
setting a name nothing reads."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from bot.catalog.settings import Settings
from tests.test_deploy_kubernetes import KUBECTL, SHIPBOT, rendered

ROOT = Path(__file__).parent.parent
SETTINGS = {name.upper() for name in Settings.model_fields}
TOOLS = {  # read by something other than Settings
    "TMPDIR",  # Python's tempfile (ansible-runner's private directories, the liveness file)
    "HOME",  # Ansible's ~/.ansible and ~/.ssh
    "MPLCONFIGDIR",  # matplotlib's cache (the /metrics chart)
    "PYTHONUNBUFFERED",
    "PYTHONDONTWRITEBYTECODE",
    "SHIPBOT_MODE",  # docker compose: `shipbot serve` or `shipbot socket`
    "SHIPBOT_CATALOG_DIR",  # docker compose: the catalog's directory, mounted
}
TOOL_PREFIXES = ("ANSIBLE_",)  # Ansible's own settings (ANSIBLE_HOME, ANSIBLE_LOCAL_TEMP, …)
ASSIGNED = re.compile(r"^#?\s*([A-Z][A-Z0-9_]*)=", re.MULTILINE)
INTERPOLATED = re.compile(r"\$\{([A-Z][A-Z0-9_]*)")


def unknown(names: set[str]) -> list[str]:
    """The names neither a setting nor a tool's."""
    return sorted(n for n in names - SETTINGS - TOOLS if not n.startswith(TOOL_PREFIXES))


@pytest.mark.skipif(KUBECTL is None, reason="kubectl is not on PATH")
@pytest.mark.parametrize("directory", SHIPBOT)
def test_the_manifests_name_only_known_variables(directory: str) -> None:
    """Each variable in the env of the rendered shipbot Deployments is known."""
    names = {
        e["name"]
        for o in rendered(directory)
        if o["kind"] == "Deployment"
        for c in o["spec"]["template"]["spec"]["containers"]
        for e in c.get("env", [])
    }
    assert [] == unknown(names)


def test_the_compose_file_names_only_known_variables() -> None:
    """Each variable docker-compose.yml sets in a service, or interpolates, is known."""
    text = (ROOT / "docker-compose.yml").read_text()
    services = yaml.safe_load(text)["services"].values()
    names = {n for s in services for n in s.get("environment", {})}
    assert [] == unknown(names | set(INTERPOLATED.findall(text)))


def test_the_env_example_names_only_known_variables() -> None:
    """Each NAME= line of .env.example, commented out or not, is a known variable."""
    assert [] == unknown(set(ASSIGNED.findall((ROOT / ".env.example").read_text())))


def test_the_dockerfile_sets_only_known_variables() -> None:
    """Each variable the Dockerfile's ENV lines set is known."""
    lines = re.findall(r"^ENV (.+)$", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    names = {pair.split("=", 1)[0] for line in lines for pair in line.split()}
    assert [] == unknown(names)


def test_a_misspelt_name_is_caught() -> None:
    """The check itself: a name that is no setting and no tool's is reported."""
    assert ["REDIS_SENTINEL"] == unknown({"REDIS_SENTINEL", "REDIS_SENTINELS", "ANSIBLE_X"})
