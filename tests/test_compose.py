"""docker-compose.yml: valid against the Compose Specification's JSON schema, Redis with its
append-only file, serve and worker from the Dockerfile, the demo catalog, no secret inline.

The schema is the one check-jsonschema ships (a dev dependency; it vendors
compose-spec/compose-spec's schema/compose-spec.json with a checksum and keeps it current),
so the version checked against moves with that package's pin, not with a copy kept here."""

from __future__ import annotations

import json
import re
from importlib.resources import files
from pathlib import Path, PurePosixPath
from typing import Any

import jsonschema
import yaml

from bot.app.cli_commands import SECRETS
from bot.app.worker import STOP_GRACE_SECONDS

ROOT = Path(__file__).parent.parent
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]
ENV_EXAMPLE = (ROOT / ".env.example").read_text()
TOKEN_LIKE = re.compile(r"xox[abp]-|xapp-|glpat-|://[^/@\s]*:[^/@\s]*@")


def compose_schema() -> dict[str, Any]:
    schema = files("check_jsonschema") / "builtin_schemas" / "vendor" / "compose-spec.json"
    return dict(json.loads(schema.read_text()))


def seconds(duration: str) -> float:
    """A Compose duration (`330s`, `5m30s`, `1h`) in seconds."""
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", duration)
    assert "".join(n + u for n, u in parts) == duration, f"not a duration: {duration!r}"
    return sum(float(n) * units[u] for n, u in parts)


def test_the_compose_file_is_valid_against_the_compose_specification() -> None:
    """docker-compose.yml validates against the Compose Specification's JSON schema."""
    schema = compose_schema()
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(COMPOSE)]
    assert [] == errors


def test_it_runs_redis_the_bot_and_a_worker() -> None:
    """The services are redis, bot and worker."""
    assert ["bot", "redis", "worker"] == sorted(SERVICES)


def test_redis_keeps_an_append_only_file_on_a_volume() -> None:
    """Redis runs with appendonly yes and keeps /data on a named volume."""
    redis = SERVICES["redis"]
    command = redis["command"]
    (volume,) = redis["volumes"]
    name, path = volume.split(":")
    assert ("yes", "/data", True) == (
        command[command.index("--appendonly") + 1],
        path,
        name in COMPOSE["volumes"],
    )


def test_the_bot_serves_unless_told_socket_mode() -> None:
    """The bot runs `shipbot serve`, or what SHIPBOT_MODE says (socket), and publishes 3000."""
    bot = SERVICES["bot"]
    assert (["shipbot", "${SHIPBOT_MODE:-serve}"], ["3000:3000"]) == (bot["command"], bot["ports"])


def test_the_worker_runs_shipbot_worker() -> None:
    """The worker runs `shipbot worker`."""
    assert ["shipbot", "worker"] == SERVICES["worker"]["command"]


def test_bot_and_worker_are_built_from_the_dockerfile_as_one_image() -> None:
    """The bot and the worker are built from this directory's Dockerfile, as one image."""
    built = {(SERVICES[s]["build"], SERVICES[s]["image"]) for s in ("bot", "worker")}
    assert {(".", "shipbot:local")} == built


def test_the_worker_stop_grace_outlasts_its_stop_grace() -> None:
    """The worker's stop_grace_period is longer than the time a stopping worker gives
    running deploys (STOP_GRACE_SECONDS)."""
    assert seconds(SERVICES["worker"]["stop_grace_period"]) > STOP_GRACE_SECONDS


def test_the_worker_health_check_is_shipbot_worker_alive() -> None:
    """The worker's health check runs `shipbot worker --alive`, not the image's HTTP one."""
    assert ["CMD", "shipbot", "worker", "--alive"] == SERVICES["worker"]["healthcheck"]["test"]


def test_the_bot_health_check_follows_its_mode() -> None:
    """The bot's health check is `shipbot serve --alive` or `shipbot socket --alive`, as
    SHIPBOT_MODE says, the same word as its command: never the image's HTTP check, which
    nothing answers in Socket Mode."""
    bot = SERVICES["bot"]
    assert ["CMD", *bot["command"], "--alive"] == bot["healthcheck"]["test"]


def test_bot_and_worker_read_the_demo_catalog() -> None:
    """SHIPBOT_CATALOG names a file in the mounted directory, which is the demo's unless
    SHIPBOT_CATALOG_DIR says otherwise."""
    found = []
    for name in ("bot", "worker"):
        service = SERVICES[name]
        path = PurePosixPath(service["environment"]["SHIPBOT_CATALOG"])
        for volume in service["volumes"]:
            source, target, _ = re.sub(r"\$\{SHIPBOT_CATALOG_DIR:-(.+?)\}", r"\1", volume).split(
                ":"
            )
            if path.is_relative_to(target):
                found.append(ROOT / source / path.relative_to(target))
    assert [ROOT / "examples" / "demo" / "catalog.yaml"] * 2 == [p.resolve() for p in found]


def test_bot_and_worker_wait_for_a_healthy_redis() -> None:
    """The bot and the worker start once Redis answers its health check."""
    waits = [SERVICES[s]["depends_on"]["redis"]["condition"] for s in ("bot", "worker")]
    assert ["service_healthy"] * 2 == waits


def test_no_secret_is_written_in_the_compose_file() -> None:
    """The tokens come from .env: no secret variable has a value in the file except REDIS_URL
    to the compose Redis (no password), and no value looks like a token."""
    inline = {k: v for s in SERVICES.values() for k, v in s.get("environment", {}).items()}
    secret = sorted(k for k in inline if k in SECRETS and k != "REDIS_URL")
    token_like = sorted(k for k, v in inline.items() if TOKEN_LIKE.search(str(v)))
    assert ([], [], ".env") == (secret, token_like, SERVICES["bot"]["env_file"])


def test_the_env_example_names_the_tokens_without_values() -> None:
    """.env.example names the Slack tokens, each empty."""
    values = dict(
        line.split("=", 1) for line in ENV_EXAMPLE.splitlines() if line and line[0] != "#"
    )
    tokens = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN")
    assert {t: "" for t in tokens} == {t: values.get(t) for t in tokens}


def test_env_files_stay_out_of_git_and_the_image() -> None:
    """.env (the real tokens) is ignored by git and by docker build."""
    ignored = [(ROOT / f).read_text().splitlines() for f in (".gitignore", ".dockerignore")]
    assert [True, True] == [".env" in lines for lines in ignored]
