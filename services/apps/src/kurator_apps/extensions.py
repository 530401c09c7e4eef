"""The apps service's additions to the common runtime: one part per integration it owns.

Each area builds its own :class:`~shared.runtime.extensions.Extensions` from the service
context, and they are merged here (an area owns its kinds; two areas claiming one kind is a
programming error caught at start-up):

* :mod:`kurator_apps.federated.service` - ``FederatedDeployment`` and its companions
  (``Service``, ``Ingress``, ``ConfigMap``, ``Secret``), propagated through the fleet service;
* :mod:`kurator_apps.traffic.service` - Istio ``VirtualService``/``DestinationRule`` written to
  the mesh's primary clusters;
* :mod:`kurator_apps.batch.service` - Volcano ``Job``/``Queue`` gang placement on a member;
* :mod:`kurator_apps.applications.service` - Kurator ``Application`` rendered to Flux.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from kurator_apps.applications import service as applications
from kurator_apps.batch import service as batch
from kurator_apps.federated import service as federated
from kurator_apps.traffic import service as traffic
from shared.runtime import intents
from shared.runtime.extensions import Background, Extensions, ServiceContext


def merge(parts: Mapping[str, Extensions]) -> Extensions:
    """One :class:`Extensions` from the areas'; a kind or query claimed twice raises ``ValueError``."""
    handlers: dict[str, intents.KindHandler] = {}
    queries: dict[str, Callable[[Any], Any]] = {}
    background: list[Background] = []
    owner: dict[str, str] = {}
    for area, part in parts.items():
        for token, handler in part.handlers.items():
            if token in handlers:
                raise ValueError(f"kind {token!r} is claimed by both {owner[token]} and {area}")
            handlers[token], owner[token] = handler, area
        for op, query in part.queries.items():
            if op in queries:
                raise ValueError(f"query {op!r} is claimed twice (again by {area})")
            queries[op] = query
        background.extend(part.background)
    return Extensions(handlers=handlers, background=tuple(background), queries=queries)


def build(context: ServiceContext) -> Extensions:
    """The :data:`~shared.runtime.extensions.ExtensionFactory` ``__main__`` passes to the runtime."""
    return merge(
        {
            "federated": federated.build(context),
            "traffic": traffic.build(context),
            "batch": batch.build(context),
            "applications": applications.build(context),
        }
    )
