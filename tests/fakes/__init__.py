"""Test fakes, importable from one place: ``from tests.fakes import FakeSlack, RedisServer``.

Each stands in for a real thing only at its network boundary (see DESIGN.md, Testing strategy).
"""

from .argocd_api import FakeArgoCD
from .gitlab_api import FakeGitLab
from .health import HealthServer
from .http_server import BackgroundServer
from .kube_api import FakeKubernetes
from .redis_server import RedisServer
from .signing import (
    DEFAULT_SIGNING_SECRET,
    SignedRequest,
    block_action,
    new_trigger_id,
    sign,
    signed,
    slash_command,
    view_submission,
)
from .slack_api import (
    APP_ID,
    BOT_ID,
    BOT_USER_ID,
    DEFAULT_APP_TOKEN,
    DEFAULT_BOT_TOKEN,
    TEAM_ID,
    Ack,
    Call,
    FakeSlack,
    Message,
    SocketMode,
    Upload,
)

__all__ = [
    "APP_ID",
    "BOT_ID",
    "BOT_USER_ID",
    "DEFAULT_APP_TOKEN",
    "DEFAULT_BOT_TOKEN",
    "DEFAULT_SIGNING_SECRET",
    "TEAM_ID",
    "Ack",
    "BackgroundServer",
    "Call",
    "FakeArgoCD",
    "FakeGitLab",
    "FakeKubernetes",
    "FakeSlack",
    "HealthServer",
    "Message",
    "RedisServer",
    "SignedRequest",
    "SocketMode",
    "Upload",
    "block_action",
    "new_trigger_id",
    "sign",
    "signed",
    "slash_command",
    "view_submission",
]
