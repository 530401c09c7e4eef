"""Following placed jobs on their members, and re-checking waiting jobs: the batch area's background work.

One loop (under the service's lease, so in one replica) keeps a watch on the ``Job``\\s and
``PodGroup``\\s we wrote on every ready member (:meth:`ports.Members.follow`) and, every
``resync`` or as soon as capacity may have appeared (a job finished or was deleted, a member's
status changed on ``kurator.status.fleet.cluster._.<name>``), tries again to place the jobs
whose status says ``Waiting`` (:meth:`Placer.resync_waiting`). The periodic pass catches what
no signal announces, such as nodes added to a member.

The same pass moves the unfinished jobs off members that Karmada has tainted as failing
(``NoExecute`` ``not-ready``/``unreachable``) for longer than ``eviction`` (Karmada's default
toleration of those taints is 300 s), counted from when this loop first saw the taint
(:meth:`Placer.evict_from`); once such a member is ready again, the copy it still has is deleted
(:meth:`Placer.remove_leftovers`).

Each member event recomposes the job's status (:func:`kurator_apps.batch.status.placed`) and
publishes it on ``kurator.status.apps.volcanojob.<ns>.<name>`` when it changed, with an event
``kurator.event.apps.volcanojob.<phase>`` when the phase changed. Events for a copy of a job on
a member other than the one it is placed on (left by an earlier placement) are ignored.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any, Final

import structlog
from nats.js import JetStreamContext

from kurator_apps.batch import capacity, ports, render, status
from kurator_apps.batch.placing import Placer, job_address
from shared import errors
from shared.bus import reader, store
from shared.contracts import cloudevents, subjects
from shared.k8s import errors as k8s_errors

log = structlog.get_logger(__name__)

RESYNC: Final = timedelta(seconds=3)
"""How often waiting jobs are re-checked even when nothing said capacity was freed."""
EVICTION: Final = timedelta(seconds=300)
"""How long a member may be tainted as failing before its jobs move (Karmada's default
``--default-not-ready-toleration-seconds`` and ``--default-unreachable-toleration-seconds``)."""


def _owner_job(podgroup: ports.RawObject) -> str | None:
    for ref in (podgroup.get("metadata") or {}).get("ownerReferences") or ():
        if ref.get("kind") == "Job":
            return str(ref.get("name"))
    return None


class Follower:
    def __init__(
        self,
        *,
        placer: Placer,
        desired: store.DesiredStateStore,
        js: JetStreamContext | None = None,
        resync: timedelta = RESYNC,
        eviction: timedelta = EVICTION,
    ) -> None:
        self._placer = placer
        self._js = js
        self._members = placer.members
        self._desired = desired
        self._resync = resync
        self._eviction = eviction
        self._failing_since: dict[str, float] = {}
        self._jobs: dict[subjects.ObjectAddress, tuple[str, ports.RawObject]] = {}
        self._watches: dict[str, asyncio.Task[None]] = {}

    async def run(self) -> None:
        fleet = asyncio.create_task(self._wake_on_fleet_changes(), name="volcano-fleet-changes")
        try:
            while True:
                await self._follow_ready_members()
                try:
                    await self._evict_from_failing_members()
                    await self._placer.resync_waiting()
                except (errors.KuratorError, k8s_errors.ApiError) as exc:
                    log.warning("volcanojob.resync_failed", error=str(exc))
                await self._pause()
        finally:
            for task in (fleet, *self._watches.values()):
                task.cancel()
            await asyncio.gather(fleet, *self._watches.values(), return_exceptions=True)

    async def _wake_on_fleet_changes(self) -> None:
        """A member's status changing (ready again, new capacity, a cluster joining) may make room."""
        if self._js is None:
            return
        async for _ in reader.watch(self._js, subjects.statuses("fleet", "cluster")):
            self._placer.capacity_freed.set()

    async def _pause(self) -> None:
        """Until capacity is freed or ``resync`` has passed.

        Not ``asyncio.timeout`` + ``suppress(TimeoutError)``: when the service's cancellation lands
        as the timeout fires, Python 3.11 turns it into the suppressed ``TimeoutError`` and the
        loop would never stop.
        """
        waiter = asyncio.ensure_future(self._placer.capacity_freed.wait())
        try:
            await asyncio.wait({waiter}, timeout=self._resync.total_seconds())
        finally:
            waiter.cancel()
        self._placer.capacity_freed.clear()

    async def _evict_from_failing_members(self) -> None:
        failing = await self._members.failing_clusters()
        now = asyncio.get_running_loop().time()
        for cluster in set(self._failing_since) - set(failing):
            del self._failing_since[cluster]
        due = {
            cluster: taint
            for cluster, taint in failing.items()
            if now - self._failing_since.setdefault(cluster, now) >= self._eviction.total_seconds()
        }
        if due:
            await self._placer.evict_from(due)

    async def _follow_ready_members(self) -> None:
        try:
            clusters = await self._members.ready_clusters()
        except k8s_errors.ApiError as exc:
            log.warning("volcanojob.members_unknown", error=str(exc))
            return
        await self._placer.remove_leftovers(clusters)
        for cluster in clusters:
            task = self._watches.get(cluster)
            if task is None or task.done():
                self._watches[cluster] = asyncio.create_task(self._follow(cluster), name=f"volcano-follow-{cluster}")

    async def _follow(self, cluster: str) -> None:
        try:
            async for event in self._members.follow(cluster):
                await self.observe(event)
        except asyncio.CancelledError:
            raise
        except Exception:
            # Restarted by the next pass of run(); a broken watch must not end the others.
            log.exception("volcanojob.follow_failed", cluster=cluster)

    async def observe(self, event: ports.MemberEvent) -> None:
        obj = event.object
        meta = obj.get("metadata") or {}
        if event.type == "SYNCED":
            return
        if event.kind == "PodGroup":
            job_name = _owner_job(obj)
            if job_name is None:
                return
            address = job_address({"metadata": {"namespace": meta.get("namespace"), "name": job_name}})
            if event.type == "DELETED":
                self._placer.podgroups.pop(address, None)
            else:
                self._placer.podgroups[address] = obj
        elif event.kind == "Job":
            address = job_address(obj)
            if event.type == "DELETED":
                self._jobs.pop(address, None)
                self._placer.capacity_freed.set()
                await self._gone(address, event.cluster, obj)
                return
            self._jobs[address] = (event.cluster, obj)
        else:
            return
        await self._update(address, event.cluster)

    async def _gone(self, address: subjects.ObjectAddress, cluster: str, job: ports.RawObject) -> None:
        """The job vanished from its member while its intent still stands (our own deletes remove the intent first)."""
        if await self._placer.cluster_of(address) != cluster:
            return
        current = await self._desired.get(address)
        if current is None or current.record.deleted:
            return
        now = cloudevents.now_rfc3339()
        last = status.placed(
            cluster=cluster,
            generation=current.record.generation,
            job=job,
            podgroup=self._placer.podgroups.get(address),
            now=current.record.changed_at or now,
        )
        body = status.gone(last, cluster=cluster, generation=current.record.generation, now=now)
        await self._placer.publish(address, body, event="deletedonmember")

    async def _update(self, address: subjects.ObjectAddress, cluster: str) -> None:
        seen = self._jobs.get(address)
        if seen is None or seen[0] != cluster or await self._placer.cluster_of(address) != cluster:
            return
        job = seen[1]
        current = await self._desired.get(address)
        if current is None or current.record.deleted:
            return
        annotations: dict[str, Any] = (job.get("metadata") or {}).get("annotations") or {}
        generation = int(annotations.get(render.GENERATION) or current.record.generation)
        body = status.placed(
            cluster=cluster,
            generation=generation,
            job=job,
            podgroup=self._placer.podgroups.get(address),
            now=current.record.changed_at or cloudevents.now_rfc3339(),
            moved=self._placer.moves.get(address),
        )
        before = (self._placer.published.get(address) or {}).get("phase")
        phase = body["phase"]
        await self._placer.publish(address, body, event=phase.lower() if phase != before else None)
        if phase in capacity.FINISHED and phase != before:
            self._placer.capacity_freed.set()
