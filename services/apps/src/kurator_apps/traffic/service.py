"""This area's part of the apps service (see :mod:`kurator_apps.extensions`): Istio traffic.

* handlers for ``virtualservice`` and ``destinationrule`` (:mod:`.handlers`), writing to the
  mesh's primaries through Karmada's proxy (:mod:`.reconciler`);
* in every replica, the views the handlers plan with: the fleet's clusters and the users'
  ``DestinationRule``s, fed from the status stream (:mod:`.feeds`);
* in one replica, following the fleet: config and status follow clusters joining, leaving,
  going down and coming back; in every replica, removing what it deleted while a primary was
  down once that primary is back.

Without Kubernetes (no ``KURATOR_KUBECONFIG``) nothing is wired: the runtime records the
desired state and answers ``Accepted``.
"""

from __future__ import annotations

import asyncio

from shared.runtime.extensions import Background, Extensions, ServiceContext


def build(context: ServiceContext) -> Extensions:
    if context.kube is None:
        return Extensions()
    from kurator_apps.adapters.mesh import MeshClusters
    from kurator_apps.traffic import feeds, handlers, reconciler

    fleet, rules, mesh = feeds.FleetView(context.js), feeds.UserRules(context.js), MeshClusters(context.kube)
    traffic = reconciler.Traffic(
        mesh=mesh, fleet=fleet, rules=rules, publisher=context.publisher, desired=context.desired
    )

    async def member_connections() -> None:
        # The runtime has no stop hook for extensions; background work is cancelled on stop.
        try:
            await asyncio.Event().wait()
        finally:
            await mesh.close()

    return Extensions(
        handlers={
            reconciler.VS: handlers.VirtualServiceHandler(traffic),
            reconciler.DR: handlers.DestinationRuleHandler(traffic),
        },
        background=(
            Background("traffic-fleet-view", fleet.run, singleton=False),
            Background("traffic-user-rules", rules.run, singleton=False),
            Background("traffic-follow-fleet", traffic.follow_fleet),
            Background("traffic-deleted-while-down", traffic.follow_returns, singleton=False),
            Background("traffic-member-connections", member_connections, singleton=False),
        ),
    )
