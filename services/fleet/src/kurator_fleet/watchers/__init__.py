"""The fleet service's watch side: what Karmada does with what the service wrote, as status and events.

It watches Karmada ``Cluster``s and ``ResourceBinding``s/``ClusterResourceBinding``s
(:mod:`shared.k8s.watching`) and publishes:

================================================  =========================================
``kurator.status.fleet.cluster._.<name>``          readiness, capacity, free capacity, ...
``kurator.status.fleet.attachedcluster.<ns>.<n>``  the same, for clusters joined by intent
``kurator.status.fleet.fleet.<ns>.<name>``         ready/unready member counts, members
``kurator.status.fleet.<workload>.<ns>.<name>``    ``status.placement`` of the template
``kurator.status.fleet.<policy>.<ns>.<name>``      ``status.placements`` of what it placed
``kurator.status.fleet.propagation.<ns>.<name>``   the same plus an overall phase
``kurator.event.fleet.cluster.<event>``            joined, left, ready, notready, pressure
``kurator.event.fleet.placement.changed``          an assignment moved (failover, ...)
================================================  =========================================

Statuses join the intent processor's on the same subjects by the merge rule in
:mod:`kurator_fleet.observed`. All of it runs in one replica at a time, under a lease.
"""

from __future__ import annotations

from kurator_fleet import handlers, observed
from kurator_fleet.watchers.config import WatcherSettings
from kurator_fleet.watchers.runner import Watchers
from shared.runtime.extensions import Background, Extensions, ServiceContext

NAME = "watchers"


def background(context: ServiceContext, *, observations: observed.ObservedStatus) -> list[Background]:
    """The watchers as singleton background work; nothing without a Kubernetes connection."""
    kube = context.kube
    if kube is None:
        return []
    settings = WatcherSettings.from_service(context.settings)

    async def run() -> None:
        await Watchers(context, kube, observations=observations, settings=settings).run()

    return [Background(NAME, run, singleton=True)]


def build(context: ServiceContext, *, observations: observed.ObservedStatus | None = None) -> Extensions:
    """The watch side for :mod:`kurator_fleet.extensions`: the watchers, and the write path's
    handlers finishing every status with the latest observation (the merge rule in
    :mod:`kurator_fleet.observed`), both sharing this replica's :class:`~.observed.ObservedStatus`.
    """
    shared = observations if observations is not None else observed.ObservedStatus()
    return Extensions(
        handlers=handlers.build_handlers(context, finish=shared.merged),
        background=background(context, observations=shared),
    )
