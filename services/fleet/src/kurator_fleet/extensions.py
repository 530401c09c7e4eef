"""The fleet service's additions to the common runtime, built once the service is connected.

* the write path: a handler per fleet kind (:mod:`kurator_fleet.handlers`), each finishing its
  status with the watch side's latest observation (:mod:`kurator_fleet.observed`);
* the watch side: watches on ``Cluster`` and ``ResourceBinding`` objects, fleet status and
  events (:mod:`kurator_fleet.watchers`), run in one replica at a time;
* the ``plan`` query (``kurator.query.fleet.plan``): the placement engine over the live
  fleet's ``Cluster`` objects, answered by every replica.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kurator_fleet import observed, watchers
from kurator_fleet.adapters import karmada as karmada_adapter
from kurator_fleet.ports import Karmada
from shared.bus import queries
from shared.placement import plan
from shared.runtime.extensions import Extensions, ServiceContext


def plan_query(karmada: Karmada) -> queries.QueryHandler:
    """``plan`` over every member ``Cluster`` Karmada has now (read at each request: a preview
    must see the fleet as it is, and one list is cheap next to a scheduling decision)."""

    async def live_clusters() -> Sequence[Mapping[str, Any]]:
        return await karmada.clusters(label_selector="")

    async def handle(body: Any) -> dict[str, Any]:
        return await plan.handle(body, live_clusters)

    return handle


def build(context: ServiceContext) -> Extensions:
    """The :data:`~shared.runtime.extensions.ExtensionFactory` ``__main__`` passes to the runtime."""
    watch = watchers.build(context, observations=observed.ObservedStatus())
    if context.kube is None:
        return watch
    karmada = karmada_adapter.KarmadaApi(context.kube)
    return Extensions(handlers=watch.handlers, background=watch.background, queries={"plan": plan_query(karmada)})
