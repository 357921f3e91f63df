"""Process settings, read once from the environment at start and passed in from there."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

SLACK_PUBLIC_API = "https://slack.com/api/"

LogFormat = Literal["text", "json"]


class SettingsError(Exception):
    """A setting has a value shipbot can't use; the message names the variable and why."""


def _lower(value: object) -> object:
    return value.strip().lower() if isinstance(value, str) else value


class Settings(BaseSettings):
    """Everything shipbot reads from the environment (see the README's table)."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    slack_bot_token: SecretStr = SecretStr("")
    slack_signing_secret: SecretStr = SecretStr("")
    slack_app_token: SecretStr = SecretStr("")
    slack_api_url: str = SLACK_PUBLIC_API
    redis_url: str = ""
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

    def missing(self, *names: str) -> list[str]:
        """The upper-case names of required settings that are empty."""
        return [n.upper() for n in names if not _present(getattr(self, n))]


def _described(error: ValidationError) -> str:
    """One line per bad variable: its name and what is wrong (never its value: it may be a
    secret)."""
    return "\n".join(
        f"{'.'.join(map(str, problem['loc'])).upper()}: {problem['msg']}"
        for problem in error.errors()
    )


def _present(value: object) -> bool:
    if isinstance(value, SecretStr):
        return bool(value.get_secret_value())
    return bool(value)
