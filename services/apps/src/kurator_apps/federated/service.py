"""This area's part of the apps service (see :mod:`kurator_apps.extensions`).

``FederatedDeployment`` and its companion kinds get handlers (:mod:`.handlers`) that publish a
``Propagation`` to the fleet service; the tracker (:mod:`.tracker`) is fed in every replica
(:func:`.follow.observe`) and publishes statuses and events from one (:func:`.follow.publish`).
"""

from __future__ import annotations

from kurator_apps.adapters import fleet_bus
from kurator_apps.federated import follow, handlers, index, tracker
from shared.bus.publisher import Publisher
from shared.runtime.extensions import Background, Extensions, ServiceContext


def build(context: ServiceContext) -> Extensions:
    state = tracker.Tracker(index.Index(), fleet_settle=tracker.FLEET_SETTLE)
    fleet = fleet_bus.FleetPropagations(context.publisher)
    shared = handlers.Federated(state, fleet)
    companion = handlers.CompanionHandler(shared)
    statuses = Publisher(context.nc, source=f"{context.publisher.source}/federated")
    own = frozenset({context.publisher.source, statuses.source})  # the answers' and the publisher's
    return Extensions(
        handlers={
            index.FD_TOKEN: handlers.FederatedDeploymentHandler(shared),
            **dict.fromkeys(index.COMPANION_TOKENS, companion),
        },
        background=(
            Background(
                "federated-observe",
                lambda: follow.observe(context.js, state, sources=own, nc=context.nc),
                singleton=False,
            ),
            Background("federated-status", lambda: follow.publish(state, statuses, fleet), singleton=True),
        ),
    )
