"""Process settings, read once from the environment at start and passed in from there."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, SecretStr, ValidationError, model_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, SettingsConfigDict

SLACK_PUBLIC_API = "https://slack.com/api/"

LogFormat = Literal["text", "json"]
REDIS = "redis"  # for Settings.missing: REDIS_URL or REDIS_SENTINELS


class SettingsError(Exception):
    """A setting has a value shipbot can't use; the message names the variable and why."""


def _lower(value: object) -> object:
    return value.strip().lower() if isinstance(value, str) else value


def _sentinels(value: object) -> object:
    """REDIS_SENTINELS tidied (``host:port,host:port``), or an error saying what it expects."""
    if not isinstance(value, str):
        return value
    items = [item.strip() for item in value.split(",") if item.strip()]
    try:
        return ",".join(f"{host}:{port}" for host, port in map(_address, items))
    except ValueError:
        raise PydanticCustomError(
            "sentinels", "expected host:port,host:port (each sentinel's address and port)"
        ) from None


def _address(item: str) -> tuple[str, int]:
    """``host:port`` (or ``[v6]:port``) as a pair; ValueError if it is not one."""
    host, colon, port = item.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not (colon and host and port.isdigit() and 0 < int(port) < 65536):
        raise ValueError(item)
    return host, int(port)


class Settings(BaseSettings):
    """Everything shipbot reads from the environment (see the README's table)."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    slack_bot_token: SecretStr = SecretStr("")
    slack_signing_secret: SecretStr = SecretStr("")
    slack_app_token: SecretStr = SecretStr("")
    slack_api_url: str = SLACK_PUBLIC_API
    redis_url: str = ""
    redis_sentinels: Annotated[str, BeforeValidator(_sentinels)] = ""
    redis_sentinel_master: str = ""
    redis_password: SecretStr = SecretStr("")  # the master's and replicas' (AUTH)
    redis_sentinel_password: SecretStr = SecretStr("")  # the sentinels' own
    redis_db: int = Field(default=0, ge=0)
    shipbot_catalog: str = ""
    gitlab_url: str = ""
    gitlab_token: SecretStr = SecretStr("")
    gitlab_webhook_secret: SecretStr = SecretStr("")
    argocd_url: str = ""
    argocd_token: SecretStr = SecretStr("")
    shipbot_port: int = Field(default=3000, ge=1, le=65535)
    shipbot_key_prefix: str = "shipbot"
    shipbot_lease_seconds: int = Field(default=90, ge=2)
    shipbot_alive_file: str = str(Path(tempfile.gettempdir()) / "shipbot-worker-alive")
    shipbot_log_format: Annotated[LogFormat, BeforeValidator(_lower)] = "text"

    @model_validator(mode="after")
    def _one_redis(self) -> Settings:
        if self.redis_url and self.redis_sentinels:
            raise PydanticCustomError(
                "redis", "REDIS_URL, REDIS_SENTINELS: set one or the other, not both"
            )
        if self.redis_sentinels and not self.redis_sentinel_master.strip():
            raise PydanticCustomError(
                "redis", "REDIS_SENTINEL_MASTER: needed with REDIS_SENTINELS (the master's name)"
            )
        return self

    @classmethod
    def load(cls) -> Settings:
        """The settings from the environment, or SettingsError naming each bad variable."""
        try:
            return cls()
        except ValidationError as error:
            raise SettingsError(_described(error)) from None

    @property
    def api_url(self) -> str:
        """The Web API base, always ending in a slash as slack_sdk expects."""
        return self.slack_api_url.rstrip("/") + "/"

    @property
    def sentinels(self) -> list[tuple[str, int]]:
        """REDIS_SENTINELS as (host, port) pairs; empty when Redis is at REDIS_URL."""
        return [_address(item) for item in self.redis_sentinels.split(",") if item]

    def missing(self, *names: str) -> list[str]:
        """The upper-case names of required settings that are empty; ``redis`` stands for
        Redis, configured by REDIS_URL or REDIS_SENTINELS."""
        return [_name(n) for n in names if not self._has(n)]

    @property
    def redis_configured(self) -> bool:
        """Whether Redis is configured, at REDIS_URL or through REDIS_SENTINELS."""
        return bool(self.redis_url or self.redis_sentinels)

    def _has(self, name: str) -> bool:
        return self.redis_configured if name == REDIS else _present(getattr(self, name))


def _described(error: ValidationError) -> str:
    """One line per bad variable: its name and what is wrong (never its value: it may be a
    secret). A problem of several variables names them itself."""
    return "\n".join(_line(problem["loc"], problem["msg"]) for problem in error.errors())


def _line(location: tuple[int | str, ...], message: str) -> str:
    name = ".".join(map(str, location)).upper()
    return f"{name}: {message}" if name else message


def _name(setting: str) -> str:
    return "REDIS_URL or REDIS_SENTINELS" if setting == REDIS else setting.upper()


def _present(value: object) -> bool:
    if isinstance(value, SecretStr):
        return bool(value.get_secret_value())
    return bool(value)
