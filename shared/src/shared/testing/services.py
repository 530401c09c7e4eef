"""Run service replicas inside the test process, each with its own connection and registry."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Any

from opentelemetry.sdk.trace import TracerProvider

from shared.runtime import app, intents
from shared.runtime.extensions import ExtensionFactory
from shared.runtime.settings import ServiceSettings


@contextlib.asynccontextmanager
async def running(
    service: str,
    *,
    nats_url: str,
    handlers: Mapping[str, intents.KindHandler] | None = None,
    extensions: ExtensionFactory | None = None,
    tracer_provider: TracerProvider | None = None,
    **overrides: Any,
) -> AsyncIterator[app.ServiceApp]:
    """Start one replica and wait until it is ready; stop and drain it on exit."""
    settings = ServiceSettings(nats_url=nats_url, http_port=0, http_host="127.0.0.1", **overrides)
    replica = app.ServiceApp(
        service=service,
        settings=settings,
        handlers=handlers or {},
        extensions=extensions,
        tracer_provider=tracer_provider,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(replica.run(stop))
    ready = asyncio.create_task(replica.ready.wait())
    done, _ = await asyncio.wait({task, ready}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
    if ready not in done:
        ready.cancel()
        if task in done:
            task.result()
        raise TimeoutError(f"{service} did not become ready")
    try:
        yield replica
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=60)
