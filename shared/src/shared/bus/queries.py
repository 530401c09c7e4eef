"""Request/reply query endpoints as NATS ``micro`` services.

Each service registers a micro service named ``kurator-<service>`` whose endpoints listen on
``kurator.query.<service>.<op>``; ``$SRV.PING|INFO|STATS`` discovery comes with it. Handlers
take the request JSON and return a JSON-ready value; raising :class:`QueryError` answers
with the ``Nats-Service-Error(-Code)`` headers instead.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson
import structlog
from nats.aio.client import Client
from nats.micro import add_service
from nats.micro.request import Request
from nats.micro.service import EndpointConfig, Service, ServiceConfig

from shared.contracts import subjects

log = structlog.get_logger(__name__)

QueryHandler = Callable[[Any], Awaitable[Any]]


class QueryError(Exception):
    """An answer that is an error: ``code`` is HTTP-like (400, 404, 500)."""

    def __init__(self, code: int, description: str) -> None:
        self.code = code
        self.description = description
        super().__init__(f"{code}: {description}")


def _endpoint(handler: QueryHandler) -> Callable[[Request], Awaitable[None]]:
    async def serve(request: Request) -> None:
        try:
            body = orjson.loads(request.data) if request.data else {}
        except orjson.JSONDecodeError:
            await request.respond_error("400", "request body is not JSON")
            return
        try:
            result = await handler(body)
        except QueryError as exc:
            await request.respond_error(str(exc.code), exc.description)
            return
        except Exception as exc:
            log.exception("query.failed", subject=request.subject)
            await request.respond_error("500", f"{type(exc).__name__}: {exc}")
            return
        await request.respond(orjson.dumps(result), headers={"content-type": "application/json"})

    return serve


async def start(nc: Client, *, service: str, version: str, handlers: Mapping[str, QueryHandler]) -> Service:
    """Start the micro service ``kurator-<service>`` with one endpoint per operation."""
    svc = await add_service(
        nc,
        ServiceConfig(
            name=f"kurator-{service}",
            version=version,
            description=f"kurator-py {service} service queries",
            queue_group=f"kurator-{service}",
        ),
    )
    for op, handler in handlers.items():
        await svc.add_endpoint(EndpointConfig(name=op, subject=subjects.query(service, op), handler=_endpoint(handler)))
    return svc


async def ask(nc: Client, *, service: str, op: str, body: Any, timeout_seconds: float = 5.0) -> Any:
    """Call a query endpoint; raises :class:`QueryError` on an error answer."""
    reply = await nc.request(subjects.query(service, op), orjson.dumps(body), timeout=timeout_seconds)
    headers = reply.headers or {}
    if "Nats-Service-Error-Code" in headers:
        raise QueryError(int(headers["Nats-Service-Error-Code"]), headers.get("Nats-Service-Error", ""))
    return orjson.loads(reply.data) if reply.data else None
