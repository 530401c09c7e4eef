"""Placing a Volcano job on one member and remembering where: the write side of the batch area.

:meth:`Placer.apply` is what an accepted ``Job`` intent does, and what the periodic re-check of
waiting jobs does again:

1. a job placed before goes to the same cluster (this replica's memory, else its claim in
   :mod:`.claims`), so a restarted or different replica finds it too;
2. otherwise every ready member is read through Karmada's proxy and :mod:`.choice` picks one,
   or the job *waits* (``Waiting`` status with the shortfall per member); a queue that is not
   ``Open`` on any member refuses the job outright, as Volcano's webhook would;
3. the choice is claimed (create-only, so of two replicas deciding the same waiting job at
   once, the second one follows the first one's choice), and released again if writing fails,
   so that the next attempt decides afresh;
4. on the claimed member: the namespace, the queue if it does not exist yet (waiting for
   Volcano to open it, since its webhook refuses jobs into a queue that is not ``Open``), then
   the job, all by server-side apply as ``kurator-apps``.

Per job, placements in one replica are also serialised by a lock, which spares the claim's
round trip to NATS for a job this replica is already placing.

A job whose member Karmada taints as failing (``NoExecute`` ``not-ready``/``unreachable``) for
longer than the eviction toleration is moved (:meth:`Placer.evict`): its claim released, its
copy deleted there if the member still answers (else when it answers again, see
:mod:`.follow`), and placed afresh among the ready members, or left ``Waiting``. A gang has no
partial state to carry over: it restarts whole on its new member.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Collection, Mapping
from datetime import timedelta
from typing import Any, Final

import structlog
from nats.js import JetStreamContext

from kurator_apps.batch import capacity, choice, claims, failures, ports, render, status
from shared import errors
from shared.bus import reader, store
from shared.bus.publisher import Publisher
from shared.contracts import cloudevents, kinds, subjects, validation
from shared.k8s import errors as k8s_errors

log = structlog.get_logger(__name__)

SERVICE: Final = "apps"
JOB: Final = "volcanojob"
QUEUE: Final = "volcanoqueue"
MANAGER: Final = "kurator-apps"
QUEUE_OPEN_WAIT: Final = timedelta(seconds=5)
"""How long a queue we just created may take to be opened by Volcano before we retry later."""


def job_address(document: Mapping[str, Any]) -> subjects.ObjectAddress:
    meta = document.get("metadata") or {}
    return subjects.ObjectAddress(SERVICE, JOB, str(meta.get("namespace") or "default"), str(meta["name"]))


class Placer:
    def __init__(
        self,
        *,
        members: ports.Members,
        js: JetStreamContext,
        desired: store.DesiredStateStore,
        publisher: Publisher,
        claims: claims.Claims,
    ) -> None:
        self.members = members
        self._js = js
        self._claims = claims
        self._desired = desired
        self._publisher = publisher
        self._placements: dict[subjects.ObjectAddress, str] = {}
        self._locks: dict[subjects.ObjectAddress, asyncio.Lock] = {}
        self.podgroups: dict[subjects.ObjectAddress, ports.RawObject] = {}
        """The latest PodGroup seen per job (kept by the follower)."""
        self.published: dict[subjects.ObjectAddress, dict[str, Any]] = {}
        """The latest status body published (or returned to the intent processor) per job."""
        self.capacity_freed = asyncio.Event()
        """Set when a job finished or was removed: waiting jobs are worth re-checking now."""
        self.moves: dict[subjects.ObjectAddress, status.Move] = {}
        """Jobs this replica moved off a failing member (their status says so)."""
        self.leftovers: dict[subjects.ObjectAddress, str] = {}
        """The member each moved job may still have a copy on, deleted when it answers again
        (also after the job itself was deleted)."""

    # --- where a job is -------------------------------------------------------------------

    async def cluster_of(self, address: subjects.ObjectAddress) -> str | None:
        found = self._placements.get(address)
        if found is None:
            found = await self._claims.holder(address)
            if found is not None:
                self._placements[address] = found
        return found

    def _lock(self, address: subjects.ObjectAddress) -> asyncio.Lock:
        return self._locks.setdefault(address, asyncio.Lock())

    # --- apply and remove -----------------------------------------------------------------

    async def apply(
        self, document: Mapping[str, Any], *, generation: int, changed_at: str
    ) -> tuple[dict[str, Any], str | None]:
        """The job's status after placing it (or deciding it waits), and the event to announce, if any."""
        address = job_address(document)
        async with self._lock(address):
            event: str | None = None
            claimed_now = False
            cluster = await self.cluster_of(address)
            if cluster is None:
                decision = await self.decide(document)
                if decision.cluster is None:
                    _refuse_if_no_queue_open(decision, render.queue_name(document))
                    body = status.waiting(
                        generation=generation, decision=decision, now=changed_at, moved=self.moves.get(address)
                    )
                    return body, None if self.published.get(address, {}).get("phase") == status.WAITING else "waiting"
                cluster, claimed_now = await self._claims.claim(address, decision.cluster)
                # When another replica's claim won, it announces the placement; we only write the same.
                event = "placed" if claimed_now else None
            try:
                written = await self._write(cluster, document, generation)
            except Exception:
                if claimed_now:  # nothing runs there: the next attempt decides afresh
                    await self._claims.release(address)
                raise
            self._placements[address] = cluster
            if self.leftovers.get(address) == cluster:  # back where it was: that copy is the job now
                self.leftovers.pop(address)
            body = status.placed(
                cluster=cluster,
                generation=generation,
                job=written,
                podgroup=self.podgroups.get(address),
                now=changed_at,
                moved=self.moves.get(address),
            )
            self.published[address] = body
            return body, event

    async def evict(
        self, document: Mapping[str, Any], *, generation: int, changed_at: str, cluster: str, taint: str
    ) -> tuple[dict[str, Any], str | None] | None:
        """Move the job off ``cluster``, which Karmada has tainted ``taint`` (``NoExecute``) for
        longer than the toleration: its new status and event, or ``None`` if it is not there."""
        address = job_address(document)
        meta = document.get("metadata") or {}
        async with self._lock(address):
            if await self.cluster_of(address) != cluster:
                return None
            self.moves[address] = status.Move(cluster=cluster, taint=taint, at=cloudevents.now_rfc3339())
            self.leftovers[address] = cluster
            self._placements.pop(address, None)
            self.podgroups.pop(address, None)
            await self._claims.release(address)
            # A failing member rarely answers; if it does, the gang must not run twice.
            with contextlib.suppress(k8s_errors.ApiError):
                if await self.members.delete_job(cluster, str(meta.get("namespace") or "default"), str(meta["name"])):
                    self.leftovers.pop(address, None)
        body, event = await self.apply(document, generation=generation, changed_at=changed_at)
        return body, "rescheduled" if event == "placed" else event

    async def evict_from(self, failing: Mapping[str, str]) -> int:
        """Move every unfinished job placed on a member of ``failing`` (name -> taint); how many moved."""
        moved = 0

        def on_failing_member(message: reader.StatusMessage) -> bool:
            body = message.document.get("status") or {}
            return (
                status.cluster_of(body) in failing
                and message.phase not in capacity.FINISHED
                and not status.deleted_on_member(body)  # someone removed it there: not ours to start again
            )

        async for address, record, message in self._standing(on_failing_member):
            cluster = str(status.cluster_of(message.document.get("status")))
            try:
                outcome = await self.evict(
                    record.document,
                    generation=record.generation,
                    changed_at=record.changed_at,
                    cluster=cluster,
                    taint=failing[cluster],
                )
            except (errors.RetryableError, errors.InvalidIntent) as exc:
                log.warning("volcanojob.evict_failed", job=address.display(), cluster=cluster, error=str(exc))
                continue
            if outcome is None:
                continue
            new_body, event = outcome
            self.published.pop(address, None)
            await self.publish(address, new_body, event=event)
            moved += 1
        return moved

    async def remove_leftovers(self, ready: Collection[str]) -> int:
        """Delete the copies that members in ``ready`` still have of jobs moved off them; how many."""
        removed = 0
        for address, cluster in list(self.leftovers.items()):
            if cluster not in ready or await self.cluster_of(address) == cluster:
                continue
            with contextlib.suppress(k8s_errors.ApiError):
                removed += await self.members.delete_job(cluster, address.namespace or "default", address.name)
                self.leftovers.pop(address, None)
        return removed

    async def decide(self, document: Mapping[str, Any]) -> choice.Decision:
        try:
            clusters = await self.members.ready_clusters()
        except k8s_errors.ApiError as exc:
            raise errors.RetryableError(f"listing Karmada clusters: {exc}", delay=timedelta(seconds=2)) from exc
        read = await asyncio.gather(*(self.members.state(c) for c in clusters), return_exceptions=True)
        states: dict[str, ports.MemberState] = {}
        unreachable: dict[str, str] = {}
        for cluster, result in zip(clusters, read, strict=True):
            if isinstance(result, k8s_errors.ApiError):
                unreachable[cluster] = str(result)
            elif isinstance(result, BaseException):
                raise result
            else:
                states[cluster] = result
        return choice.decide(document, states, unreachable)

    async def _write(self, cluster: str, document: Mapping[str, Any], generation: int) -> ports.RawObject:
        meta = document.get("metadata") or {}
        with failures.writing(f"namespace on {cluster}", field="metadata.namespace"):
            await self.members.apply_namespace(cluster, str(meta.get("namespace") or "default"))
        with failures.writing(f"Volcano on {cluster}"):
            existing = await self.members.find_job(cluster, str(meta.get("namespace") or "default"), str(meta["name"]))
        if existing is None:
            await self._ensure_queue(cluster, render.queue_name(document))
            body = render.member_job(document, generation=generation, manager=MANAGER)
        else:
            body, changed = render.member_update(document, existing, generation=generation, manager=MANAGER)
            if changed:
                message = (
                    f"cannot change once the job is on {cluster}: Volcano lets a job change only minAvailable "
                    "and tasks[*].replicas (delete the job and apply it again)"
                )
                raise errors.InvalidIntent([validation.Reason(field=f, message=message) for f in changed])
        with failures.writing(f"Volcano on {cluster}"):
            return await self.members.apply_job(cluster, body)

    async def _ensure_queue(self, cluster: str, name: str) -> None:
        with failures.writing(f"queue {name} on {cluster}", field="spec.queue"):
            found = await self.members.find_queue(cluster, name)
            if found is None:
                declared = await self._desired.get(subjects.ObjectAddress(SERVICE, QUEUE, None, name))
                spec = declared.record.document if declared is not None and not declared.record.deleted else None
                found = await self.members.apply_queue(cluster, render.member_queue(name, spec, manager=MANAGER))
            deadline = asyncio.get_running_loop().time() + QUEUE_OPEN_WAIT.total_seconds()
            while render.queue_state(found) is None and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.05)
                found = await self.members.find_queue(cluster, name)
        state = render.queue_state(found)
        if state is None:
            raise errors.RetryableError(f"queue {name} on {cluster} is not open yet", delay=timedelta(seconds=1))
        if state != "Open":
            raise errors.InvalidIntent(
                [
                    validation.Reason(
                        field="spec.queue", message=f"queue {name} is {state} on {cluster}: it takes no jobs"
                    )
                ]
            )

    async def remove(self, document: Mapping[str, Any]) -> None:
        address = job_address(document)
        meta = document.get("metadata") or {}
        async with self._lock(address):
            cluster = await self.cluster_of(address)
            if cluster is not None:
                with failures.writing(f"Volcano on {cluster}"):
                    await self.members.delete_job(cluster, str(meta.get("namespace") or "default"), str(meta["name"]))
                await self._claims.release(address)
            self._placements.pop(address, None)
            self.podgroups.pop(address, None)
            self.published.pop(address, None)
            self.moves.pop(address, None)
        self._locks.pop(address, None)
        self.capacity_freed.set()

    # --- publishing from the background ---------------------------------------------------

    async def publish(self, address: subjects.ObjectAddress, body: dict[str, Any], *, event: str | None) -> bool:
        """Publish ``body`` as the job's status unless it is what was published last; ``False``: skipped."""
        if self.published.get(address) == body:
            return False
        current = await self._desired.get(address)
        if current is None or current.record.deleted:
            return False
        info = kinds.for_token(SERVICE, JOB)
        document = info.model.public_document({**current.record.document, "status": body})
        await self._publisher.status(address, document, causation_id=None)
        self.published[address] = body
        if event is not None:
            await self.announce(address, event, body)
        return True

    async def announce(self, address: subjects.ObjectAddress, event: str, body: Mapping[str, Any]) -> None:
        """``kurator.event.apps.volcanojob.<event>``: placed, waiting, or the phase the job entered."""
        conditions = body.get("conditions") or [{}]
        payload = {
            "namespace": address.namespace,
            "name": address.name,
            "phase": body.get("phase"),
            "cluster": body.get("cluster"),
            "message": conditions[-1].get("message", ""),
        }
        await self._publisher.event(
            service=SERVICE, kind=JOB, name=event, payload=payload, ce_subject=address.display()
        )

    async def _standing(
        self, picks: Callable[[reader.StatusMessage], bool]
    ) -> AsyncIterator[tuple[subjects.ObjectAddress, store.Record, reader.StatusMessage]]:
        """The jobs whose last status ``picks`` chooses and whose intent still stands."""
        for message in await reader.snapshot(self._js, subjects.statuses(SERVICE, JOB)):
            if not picks(message):
                continue
            _, address = subjects.parse_object(message.subject)
            current = await self._desired.get(address)
            if current is not None and not current.record.deleted:
                yield address, current.record, message

    async def resync_waiting(self) -> int:
        """Try again to place every job whose status says ``Waiting``; returns how many were placed."""
        placed = 0
        async for address, record, message in self._standing(lambda m: m.phase == status.WAITING):
            try:
                body, event = await self.apply(
                    record.document, generation=record.generation, changed_at=record.changed_at
                )
            except (errors.RetryableError, errors.InvalidIntent) as exc:
                log.warning("volcanojob.resync_failed", job=address.display(), error=str(exc))
                continue
            if body != message.document.get("status"):
                self.published.pop(address, None)
                await self.publish(address, body, event=event)
            placed += body.get("phase") != status.WAITING
        return placed


def _refuse_if_no_queue_open(decision: choice.Decision, queue: str) -> None:
    """Volcano refuses a job into a queue that is not ``Open``: so do we when it is closed on every member."""
    if not decision.refusals or decision.fits:
        return
    if all(r and r[0].get("kind") == "QueueNotOpen" for r in decision.refusals.values()):
        where = ", ".join(sorted(decision.refusals))
        raise errors.InvalidIntent(
            [validation.Reason(field="spec.queue", message=f"queue {queue} is not Open on any member ({where})")]
        )
