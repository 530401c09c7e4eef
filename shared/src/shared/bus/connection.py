"""Connecting to NATS with reconnects that never give up.

A service that loses NATS keeps its process and reconnects; ``/readyz`` reports the
connection state meanwhile (``is_connected``).
"""

from __future__ import annotations

from typing import Any

import structlog
from nats.aio.client import Client

from shared.bus import wire

log = structlog.get_logger(__name__)


async def connect(
    url: str,
    *,
    name: str,
    connect_timeout_seconds: float = 5.0,
    reconnect_wait_seconds: float = 1.0,
) -> Client:
    """Open a connection that reconnects forever (a :class:`shared.bus.wire.Client`).

    The first connection is retried forever too (nats-py does so with unlimited reconnect
    attempts), so a service may start before NATS does; it is simply not ready meanwhile.

    Args:
        url: one URL or several separated by commas (a cluster).
        name: the client name the server shows in its monitoring (``kurator-fleet-<pid>``).
    """

    async def on_error(exc: Exception) -> None:
        log.warning("nats.error", error=str(exc))

    async def on_disconnected() -> None:
        log.warning("nats.disconnected")

    async def on_reconnected() -> None:
        log.info("nats.reconnected", url=str(nc.connected_url.netloc if nc.connected_url else ""))

    # nats-py annotates both durations as int; they are seconds as floats at run time.
    timeouts: dict[str, Any] = {
        "connect_timeout": connect_timeout_seconds,
        "reconnect_time_wait": reconnect_wait_seconds,
    }
    nc = wire.Client()
    await nc.connect(
        servers=[u.strip() for u in url.split(",") if u.strip()],
        name=name,
        max_reconnect_attempts=-1,
        allow_reconnect=True,
        error_cb=on_error,
        disconnected_cb=on_disconnected,
        reconnected_cb=on_reconnected,
        # A publish burst (a resync, a bench) must not trip the awaited force-flush path.
        pending_size=8 * 1024 * 1024,
        **timeouts,
    )
    return nc
