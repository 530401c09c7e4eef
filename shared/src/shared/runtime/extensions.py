"""What a service adds to the common runtime: kind handlers, background work, queries.

A service's ``__main__`` passes a factory that receives the :class:`ServiceContext` (the
connections and stores the runtime has opened) and returns its :class:`Extensions`; the
runtime wires them into the consume loop, the query endpoints and supervised tasks.
Background work marked ``singleton`` runs under a NATS KV lease, in one replica at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nats.aio.client import Client
from nats.js import JetStreamContext
from prometheus_client import CollectorRegistry

from shared.bus import queries, store
from shared.bus.publisher import Publisher
from shared.k8s import connection as k8s_connection
from shared.runtime import intents
from shared.runtime.metrics import ServiceMetrics
from shared.runtime.settings import ServiceSettings


@dataclass(frozen=True)
class ServiceContext:
    service: str
    settings: ServiceSettings
    nc: Client
    js: JetStreamContext
    publisher: Publisher
    desired: store.DesiredStateStore
    metrics: ServiceMetrics
    registry: CollectorRegistry
    kube: k8s_connection.ApiClient | None
    """``None`` when no kubeconfig is configured (the service then only records desired state)."""


@dataclass(frozen=True)
class Background:
    name: str
    run: Callable[[], Coroutine[Any, Any, None]]
    singleton: bool = True
    """Run in one replica fleet-wide (under the lease ``<service>.<name>``); else in every replica."""


@dataclass(frozen=True)
class Extensions:
    handlers: Mapping[str, intents.KindHandler] = field(default_factory=dict)
    background: Sequence[Background] = ()
    queries: Mapping[str, queries.QueryHandler] = field(default_factory=dict)


ExtensionFactory = Callable[[ServiceContext], Extensions]
