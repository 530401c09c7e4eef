"""The fleet service's kind handlers: what happens in Karmada when an intent is accepted.

``build_handlers`` maps every fleet kind token to its handler, all sharing one Karmada
adapter. Without Kubernetes (no ``KURATOR_KUBECONFIG``) it returns no handlers, so the runtime's
default applies: the desired state is recorded and answered ``Accepted``, as before Karmada
was wired in.

``finish`` lets the watch side have the last word on every status a handler returns (for
example to keep the latest observed placement in it when an intent is applied again): it
gets the object's bus address and the handler's status and returns the status to publish.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kurator_fleet import clusters, fleets, policies, ports, propagations
from kurator_fleet.adapters import karmada as karmada_adapter
from shared.bus import store
from shared.contracts import subjects
from shared.contracts.meta import KubeObject
from shared.runtime import intents
from shared.runtime.extensions import ServiceContext

StatusFinisher = Callable[[subjects.ObjectAddress, dict[str, Any]], dict[str, Any]]


class _Finished:
    """A handler whose statuses pass through ``finish`` before they are published."""

    def __init__(self, token: str, inner: intents.KindHandler, finish: StatusFinisher) -> None:
        self._token = token
        self._inner = inner
        self._finish = finish
        self._first_apply = inner.on_first_apply if isinstance(inner, intents.FirstApplyHandler) else inner.on_apply

    async def on_apply(self, obj: KubeObject, record: store.Record) -> dict[str, Any]:
        return self._finished(obj, await self._inner.on_apply(obj, record))

    async def on_first_apply(self, obj: KubeObject, record: store.Record) -> dict[str, Any]:
        return self._finished(obj, await self._first_apply(obj, record))

    def _finished(self, obj: KubeObject, status: dict[str, Any]) -> dict[str, Any]:
        address = subjects.ObjectAddress("fleet", self._token, obj.metadata.namespace, obj.metadata.name)
        return self._finish(address, status)

    async def on_delete(self, record: store.Record) -> None:
        await self._inner.on_delete(record)


def for_karmada(
    karmada: ports.Karmada, *, desired: fleets.DesiredObjects, finish: StatusFinisher | None = None
) -> dict[str, intents.KindHandler]:
    """The handler of every fleet kind, writing through ``karmada``."""
    as_written = policies.KarmadaObjectHandler(karmada=karmada, render=policies.render_as_written)
    native_policy = policies.KarmadaObjectHandler(karmada=karmada, render=policies.render_policy)
    built: dict[str, intents.KindHandler] = {
        "propagationpolicy": native_policy,
        "clusterpropagationpolicy": native_policy,
        "overridepolicy": as_written,
        "clusteroverridepolicy": as_written,
        "deployment": policies.KarmadaObjectHandler(karmada=karmada, render=policies.render_deployment),
        "cluster": clusters.ClusterHandler(karmada=karmada, desired=desired),
        "attachedcluster": clusters.AttachedClusterHandler(karmada=karmada, desired=desired),
        "fleet": fleets.FleetHandler(karmada=karmada),
        "propagation": propagations.PropagationHandler(karmada=karmada),
    }
    if finish is None:
        return built
    return {token: _Finished(token, handler, finish) for token, handler in built.items()}


def build_handlers(context: ServiceContext, *, finish: StatusFinisher | None = None) -> dict[str, intents.KindHandler]:
    if context.kube is None:
        return {}
    return for_karmada(karmada_adapter.KarmadaApi(context.kube), desired=context.desired, finish=finish)
