"""The watchers as one piece of background work: the watches, the trackers, the publisher, the resync.

Start-up order: load the status mirror (what is on the bus), then watch ``Cluster``,
``ResourceBinding`` and ``ClusterResourceBinding`` objects; the trackers turn their events
into observations and the writer publishes what changes. Once every watch has listed, and
then every ``resync`` period (DESIGN 3, level-triggered repair), :meth:`Watchers.sweep`
compares everything: each watch lists again, the mirror is read again from the bus, every
observation is checked against it, and subjects whose object is gone are retired.

On the way out, when the service stops (it gives the lease up), the writer first publishes
what it still holds (:meth:`~.publishing.StatusWriter.flush`), so the next lease holder finds
on the bus everything this one announced. Not when the lease was lost: another replica may
hold it already, and what this one holds may be stale by then (the holder's sweep repairs the
statuses).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Final

import structlog

from kurator_fleet import observed
from kurator_fleet.watchers import placements
from kurator_fleet.watchers.binding_tracker import BindingTracker
from kurator_fleet.watchers.cluster_tracker import ClusterTracker
from kurator_fleet.watchers.config import WatcherSettings
from kurator_fleet.watchers.mirror import Entry, StatusMirror, watcher_source
from kurator_fleet.watchers.publishing import StatusWriter
from shared.bus import lease
from shared.bus.publisher import Publisher
from shared.contracts import subjects
from shared.k8s import connection, resources, watching
from shared.runtime.extensions import ServiceContext

log = structlog.get_logger(__name__)

NOT_WORKLOADS: Final = frozenset(
    {
        "cluster",
        "attachedcluster",
        "fleet",
        "propagation",
        "propagationpolicy",
        "clusterpropagationpolicy",
        "overridepolicy",
        "clusteroverridepolicy",
    }
)
OWNERS: Final = frozenset({"propagation", "propagationpolicy", "clusterpropagationpolicy"})
_YIELD_EVERY: Final = 200
"""Watch items handled between yields to the loop (a re-list delivers thousands at once)."""


class Watchers:
    def __init__(
        self,
        context: ServiceContext,
        kube: connection.ApiClient,
        *,
        observations: observed.ObservedStatus,
        settings: WatcherSettings,
    ) -> None:
        self._kube = kube
        self._settings = settings
        self.observations = observations
        self.publisher = Publisher(context.nc, source=watcher_source(context.publisher.source))
        self.mirror = StatusMirror(
            context.js, own_source=self.publisher.source, on_message=self._on_message, nc=context.nc
        )
        self.writer = StatusWriter(
            publisher=self.publisher,
            mirror=self.mirror,
            observations=observations,
            desired=context.desired,
            deleted_linger=settings.deleted_linger,
            workers=settings.publishers,
            coalesce=settings.coalesce,
            settle=settings.settle,
        )
        self.clusters = ClusterTracker(
            mirror=self.mirror,
            writer=self.writer,
            observations=observations,
            thresholds=settings.pressure,
            on_readiness=self._readiness_moved,
        )
        self.bindings = BindingTracker(
            mirror=self.mirror, writer=self.writer, observations=observations, ready=self.clusters.ready
        )
        self._states: dict[str, watching.WatchState] = {}
        self._lists = asyncio.Condition()
        self.sweeps = 0
        """Completed sweeps (the first right after the initial lists)."""

    def _readiness_moved(self, cluster: str) -> None:
        self.bindings.cluster_changed(cluster)

    async def run(self) -> None:
        """Watch until cancelled (the lease is lost or the service stops)."""
        await self.mirror.start()
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self.writer.run(), name="watchers-writer")
                tg.create_task(self._watch(resources.KARMADA_CLUSTERS, self.clusters.apply), name="watch-clusters")
                for resource in (resources.RESOURCE_BINDINGS, resources.CLUSTER_RESOURCE_BINDINGS):
                    kind = resource.kind

                    def apply(item: watching.WatchItem, kind: str = kind) -> None:
                        self.bindings.apply(kind, item)

                    tg.create_task(self._watch(resource, apply), name=f"watch-{resource.plural}")
                tg.create_task(self._resync(), name="watchers-resync")
        finally:
            try:
                # Before the lease is given up (the lease waits for this task): a replica taking
                # over judges events against the statuses on the bus, so none may stay behind.
                # A lost lease may be held by another replica already: nothing more from this one.
                if lease.lost():
                    log.warning("watchers.lease_lost_unflushed")
                else:
                    await self.writer.flush()
            finally:
                await self.mirror.stop()
                await self.publisher.js_publisher.stop()
                # What this replica saw goes stale the moment it stops watching.
                self.observations.clear()

    async def _watch(self, resource: resources.Resource, apply: Callable[[watching.WatchItem], None]) -> None:
        state = self._states.setdefault(resource.plural, watching.WatchState())
        handled = 0
        stream = watching.infinite_watch(self._kube, resource, state=state, settings=self._settings.watch)
        async with contextlib.aclosing(stream) as items:
            async for item in items:
                apply(item)
                handled += 1
                if isinstance(item, watching.Synced):
                    async with self._lists:
                        self._lists.notify_all()
                elif handled % _YIELD_EVERY == 0:
                    await asyncio.sleep(0)

    async def _listed(self, at_least: dict[str, int]) -> None:
        """Wait until every watch has completed more lists than ``at_least`` says."""
        async with self._lists:
            await self._lists.wait_for(
                lambda: all(self._states.get(p) is not None and self._states[p].listed > n for p, n in at_least.items())
            )

    async def _resync(self) -> None:
        plurals = [
            r.plural
            for r in (resources.KARMADA_CLUSTERS, resources.RESOURCE_BINDINGS, resources.CLUSTER_RESOURCE_BINDINGS)
        ]
        await self._listed(dict.fromkeys(plurals, 0))
        while True:
            self.sweep()
            self.sweeps += 1
            await asyncio.sleep(self._settings.resync.total_seconds())
            before = {p: self._states[p].listed for p in plurals}
            for p in plurals:
                self._states[p].request_relist()
            await self._listed(before)
            await self.mirror.refresh()
            log.info("watchers.resynced", observed=len(self.observations))

    def sweep(self) -> None:
        """Check every observation against the bus, and retire what no longer exists."""
        for address in self.observations.addresses():
            self.writer.request(address)
        for address, entry in self.mirror.items():
            if address in self.observations:
                continue
            latest = (entry.latest or {}).get("status") or {}
            if latest.get("phase") == "Deleted" or entry.handler_deleted:
                continue
            if address.kind in ("cluster", "attachedcluster"):
                if entry.handler is None or "ready" in latest:
                    self.clusters.vanished(address, None)
            elif address.kind == "fleet":
                self.clusters.refresh_fleet(address, entry.handler)
            elif address.kind in OWNERS:
                if "placements" in latest:
                    self.observations.put(address, self._empty_owner(address))
                    self.writer.request(address)
            elif address.kind not in NOT_WORKLOADS and (entry.handler is None or "placement" in latest):
                self.bindings.unbound(address, None)

    @staticmethod
    def _empty_owner(address: subjects.ObjectAddress) -> observed.Observation:
        if address.kind == "propagation":
            return placements.propagation_observation([])
        return placements.policy_observation([])

    def _on_message(self, address: subjects.ObjectAddress, entry: Entry) -> None:
        """The intent processor (or another replica) published: refresh what depends on it."""
        if entry.handler is not None:
            self.writer.intent_seen(address)
        if address.kind == "fleet":
            self.clusters.refresh_fleet(address, entry.handler if not entry.handler_deleted else None)
        elif address.kind == "propagation":
            self.bindings.propagation_changed(address, entry)
        elif address.kind == "attachedcluster":
            self.clusters.attached_changed(address)
        if address in self.observations:  # built when the writer reads it, not here
            self.writer.request(address)
