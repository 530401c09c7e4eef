"""Service settings from ``KURATOR_*`` environment variables (pydantic-settings).

One object per service process, loaded once in ``__main__`` and passed down; nothing reads
the environment anywhere else. Services subclass :class:`ServiceSettings` to add their own
fields.
"""

from __future__ import annotations

import os
import socket
from datetime import timedelta
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_replica_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KURATOR_", extra="ignore", frozen=True)

    nats_url: str = "nats://127.0.0.1:4222"
    """NATS server URL(s), comma separated for a cluster."""
    http_host: str = "0.0.0.0"
    """Interface the health and metrics HTTP server binds."""
    http_port: int = 8081
    """Port of ``/healthz``, ``/readyz`` and ``/metrics`` (the seed's probe port). 0 picks a free one."""
    kubeconfig: str | None = None
    """Kubeconfig of the Karmada API server (or the simulator); unset means no Kubernetes access."""
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["auto", "json", "console"] = "auto"
    """``auto``: JSON unless standard error is a terminal."""
    replica_id: str = Field(default_factory=_default_replica_id)
    """Names this replica in logs, metrics and NATS connection names."""

    max_in_flight: int = 512
    """Intents this replica holds at once (handling or queued behind their object)."""
    fetch_batch: int = 256
    """Most intents asked for in one pull."""
    ack_wait_seconds: float = 30.0
    """Seconds before an unacknowledged intent is redelivered (to this or another replica)."""
    max_deliver: int = 5
    """Deliveries of one intent before it goes to the DLQ."""
    max_ack_pending: int = 2000
    """Intents out for handling across all replicas of this service."""
    drain_timeout_seconds: float = 10.0
    """On SIGTERM: seconds in-flight intents get to finish before they are handed back."""
    deleted_linger_seconds: float = 5.0
    """Seconds a ``Deleted`` status stays in the last-value cache so live watchers see it."""
    lease_seconds: float = 15.0
    """TTL of the leases under which once-per-fleet work runs; a dead holder is replaced after this."""
    resync_seconds: float = 300.0
    """Period of the level-triggered full resync of what a service watches."""
    stream_replicas: int = 1
    """JetStream replicas for streams this service declares (3 on a NATS cluster)."""

    @property
    def ack_wait(self) -> timedelta:
        return timedelta(seconds=self.ack_wait_seconds)

    @property
    def lease_ttl(self) -> timedelta:
        return timedelta(seconds=self.lease_seconds)

    @property
    def drain_timeout(self) -> timedelta:
        return timedelta(seconds=self.drain_timeout_seconds)
