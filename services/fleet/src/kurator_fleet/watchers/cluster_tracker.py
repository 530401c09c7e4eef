"""Karmada ``Cluster`` watch events -> cluster, attached-cluster and fleet status, and cluster events.

For each cluster the tracker keeps its latest :class:`~.clusters.ClusterView` and pressure, and
on every change:

* observes ``kurator.status.fleet.cluster._.<name>`` (and the ``AttachedCluster`` it was joined
  for, when its ownership labels name one and an intent created it);
* emits ``kurator.event.fleet.cluster.<joined|left|ready|notready|pressure>`` on transitions;
* recomputes the ``Fleet`` statuses (membership and readiness counts) when readiness or
  labels moved, and tells the binding tracker when readiness did (placements judge it).

A cluster that leaves Karmada: a status an intent owns keeps ``Ready=Unknown``
(``ClusterNotJoined``); one no intent created gets a final ``Deleted`` status.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from kurator_fleet import observed
from kurator_fleet.watchers import clusters, fleet_status, signals
from kurator_fleet.watchers.clusters import ClusterView
from kurator_fleet.watchers.mirror import StatusMirror
from kurator_fleet.watchers.publishing import StatusWriter
from shared.contracts import subjects
from shared.k8s import watching

SERVICE = "fleet"


def cluster_address(name: str) -> subjects.ObjectAddress:
    return subjects.ObjectAddress(SERVICE, "cluster", None, name)


def attached_address(cluster: ClusterView) -> subjects.ObjectAddress | None:
    if cluster.attached_namespace is None:
        return None
    return subjects.ObjectAddress(SERVICE, "attachedcluster", cluster.attached_namespace, cluster.name)


class ClusterTracker:
    def __init__(
        self,
        *,
        mirror: StatusMirror,
        writer: StatusWriter,
        observations: observed.ObservedStatus,
        thresholds: signals.Thresholds,
        on_readiness: Callable[[str], None],
    ) -> None:
        self._mirror = mirror
        self._writer = writer
        self._observed = observations
        self._thresholds = thresholds
        self._on_readiness = on_readiness
        self.views: dict[str, ClusterView] = {}
        self._pressure: dict[str, frozenset[str]] = {}
        self.synced = False

    def ready(self, name: str) -> bool | None:
        cluster = self.views.get(name)
        return None if cluster is None else cluster.ready

    def apply(self, item: watching.WatchItem) -> None:
        if isinstance(item, watching.Synced):
            self.synced = True
            self.refresh_fleets()
            return
        name = item.key[1]
        if item.type == "DELETED":
            self._deleted(name, item.object)
        else:
            self._changed(name, item.object)

    def _changed(self, name: str, obj: dict[str, Any]) -> None:
        cluster = clusters.view(obj)
        before = self.views.get(name)
        if before is not None:
            reported: signals.Reported | None = signals.Reported(before.ready, self._pressure.get(name, frozenset()))
        else:
            entry = self._mirror.get(cluster_address(name))
            reported = signals.Reported.from_status(entry.latest if entry is not None else None)
        pressure = signals.pressure(cluster, reported.pressure if reported else frozenset(), self._thresholds)
        self.views[name] = cluster
        self._pressure[name] = pressure
        observation = clusters.observation(cluster, pressure=pressure)
        for address in self._addresses(cluster):
            self._observe(address, observation)
        for event, payload in signals.transitions(reported, cluster, pressure):
            self._writer.emit("cluster", event, payload, ce_subject=f"cluster/{name}")
        membership_moved = before is None or (before.phase, before.labels, before.conditions) != (
            cluster.phase,
            cluster.labels,
            cluster.conditions,
        )
        if membership_moved:
            self.refresh_fleets()
        if before is None or before.ready != cluster.ready:
            self._on_readiness(name)

    def _deleted(self, name: str, obj: dict[str, Any]) -> None:
        cluster = self.views.pop(name, None) or clusters.view(obj)
        self._pressure.pop(name, None)
        self._writer.emit("cluster", *signals.left(cluster), ce_subject=f"cluster/{name}")
        for address in self._addresses(cluster):
            self.vanished(address, cluster.document)
        self.refresh_fleets()
        self._on_readiness(name)

    def vanished(self, address: subjects.ObjectAddress, document: Any) -> None:
        """Karmada has no cluster for ``address`` (any more)."""
        entry = self._mirror.get(address)
        if entry is not None and entry.handler is not None:
            if not entry.handler_deleted:
                self._observe(address, clusters.absent_observation(address.name))
        else:
            self._writer.retire(address, document)

    def attached_changed(self, address: subjects.ObjectAddress) -> None:
        """An AttachedCluster's status from the write side: add the readiness of its Cluster."""
        cluster = self.views.get(address.name)
        entry = self._mirror.get(address)
        if cluster is None or attached_address(cluster) != address or entry is None or entry.handler_deleted:
            return
        self._observe(address, clusters.observation(cluster, pressure=self._pressure.get(cluster.name, frozenset())))

    def _addresses(self, cluster: ClusterView) -> Iterator[subjects.ObjectAddress]:
        yield cluster_address(cluster.name)
        attached = attached_address(cluster)
        if attached is not None:
            entry = self._mirror.get(attached)
            if entry is not None and entry.handler is not None:
                yield attached  # only what an intent created: the observation adds readiness

    def _observe(self, address: subjects.ObjectAddress, observation: observed.Observation) -> None:
        if self._observed.put(address, observation):
            self._writer.request(address)

    # --- fleets ----------------------------------------------------------------------------

    def refresh_fleets(self) -> None:
        if not self.synced:
            return  # members not all known yet: counts would be wrong for a moment
        for address, entry in self._mirror.items("fleet"):
            self.refresh_fleet(address, entry.handler if not entry.handler_deleted else None)

    def refresh_fleet(self, address: subjects.ObjectAddress, document: dict[str, Any] | None) -> None:
        if document is None:
            self._observed.discard(address)
            return
        if self.synced:
            self._observe(address, fleet_status.observation(document, self.views))
