"""One HTTP port per process: ``/healthz``, ``/readyz`` and ``/metrics``.

``/healthz`` answers as long as the event loop runs. ``/readyz`` runs every registered check
(NATS connected, streams declared, consumer running, Kubernetes reachable when configured)
and answers 503 with the failing ones named.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

Check = Callable[[], Awaitable[bool] | bool]


@dataclass
class HealthServer:
    registry: CollectorRegistry
    host: str
    port: int
    checks: dict[str, Check] = field(default_factory=dict)
    _runner: web.AppRunner | None = None
    bound_port: int | None = None

    def add_check(self, name: str, check: Check) -> None:
        self.checks[name] = check

    async def _healthz(self, _: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def _readyz(self, _: web.Request) -> web.Response:
        results: dict[str, bool] = {}
        for name, check in self.checks.items():
            try:
                value = check()
                results[name] = bool(await value) if isinstance(value, Awaitable) else bool(value)
            except Exception:
                results[name] = False
        ready = bool(results) and all(results.values())
        return web.json_response(
            {"status": "ready" if ready else "not ready", "checks": results}, status=200 if ready else 503
        )

    async def _metrics(self, _: web.Request) -> web.Response:
        body = generate_latest(self.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        app.router.add_get("/metrics", self._metrics)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server  # aiohttp exposes the bound sockets only here
        sockets = getattr(server, "sockets", None) or []
        self.bound_port = sockets[0].getsockname()[1] if sockets else self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
