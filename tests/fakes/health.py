"""A real local HTTP health endpoint per data centre, which a test can make unhealthy.

GET /{datacenter} answers 200 unless the test set another status for that data centre.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from .http_server import BackgroundServer, Served


class HealthServer(Served):
    def __init__(self) -> None:
        self.status: dict[str, int] = {}
        self.hits: list[str] = []
        app = Starlette(routes=[Route("/{datacenter}", self._answer, methods=["GET"])])
        self._server = BackgroundServer(app)

    @property
    def url(self) -> str:
        """The catalog's health-check URL, with the {datacenter} placeholder."""
        return f"{self._server.url}/{{datacenter}}"

    def reset(self) -> None:
        self.status.clear()
        self.hits.clear()

    async def _answer(self, request: Request) -> PlainTextResponse:
        datacenter = request.path_params["datacenter"]
        self.hits.append(datacenter)
        code = self.status.get(datacenter, 200)
        return PlainTextResponse("ok" if code < 300 else "unhealthy", status_code=code)
