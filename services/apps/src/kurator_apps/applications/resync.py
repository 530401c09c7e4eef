"""Re-rendering Applications when their Fleet changes, and refreshing their status from Flux.

Watches the fleet service's ``Fleet``, ``Cluster`` and ``AttachedCluster`` statuses. Any change
wakes a sweep (coalesced over a short delay) that re-reconciles each Application whose Fleet
membership now differs from the one it was last rendered against: a Fleet that gains its first
members gets the Application written, one that loses a member gets that member's delivery
units deleted, a relabelled cluster moves in or out of a selector. Every ``interval``
(upstream's 30 s ``StatusSyncInterval``) every Application is reconciled, which also picks up
Ready conditions Flux has written since. A status is published only when it differs from the
latest one on the bus.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from datetime import timedelta
from typing import Final

import structlog
from nats.js import JetStreamContext

from kurator_apps.applications.handler import ApplicationHandler
from shared.bus import reader, store
from shared.bus.publisher import Publisher
from shared.contracts import kinds, subjects
from shared.contracts.models import apps
from shared.errors import InvalidIntent

log = structlog.get_logger(__name__)

TOKEN: Final = "application"
STATUS_SYNC_INTERVAL: Final = timedelta(seconds=30)
"""Upstream's ``StatusSyncInterval``."""
FLEET_SUBJECTS: Final = tuple(subjects.statuses("fleet", kind) for kind in ("fleet", "cluster", "attachedcluster"))


class Resync:
    def __init__(
        self,
        *,
        handler: ApplicationHandler,
        desired: store.DesiredStateStore,
        publisher: Publisher,
        js: JetStreamContext,
        interval: timedelta = STATUS_SYNC_INTERVAL,
        coalesce: timedelta = timedelta(milliseconds=300),
        watched: Sequence[str] = FLEET_SUBJECTS,
    ) -> None:
        self._handler = handler
        self._desired = desired
        self._publisher = publisher
        self._js = js
        self._interval = interval.total_seconds()
        self._coalesce = coalesce.total_seconds()
        self._watched = watched
        self._info = kinds.for_token("apps", TOKEN)
        self._known: set[subjects.ObjectAddress] = set()

    async def run(self) -> None:
        """Watch and sweep until cancelled."""
        changed = asyncio.Event()
        async with asyncio.TaskGroup() as tg:
            for subject in self._watched:
                tg.create_task(self._watch(subject, changed), name=f"applications-watch-{subject}")
            tg.create_task(self._sweeps(changed), name="applications-sweeps")

    async def _watch(self, subject: str, changed: asyncio.Event) -> None:
        async for _ in reader.watch(self._js, subject):
            changed.set()

    async def _sweeps(self, changed: asyncio.Event) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), timeout=self._interval)
            everything = not changed.is_set()
            await asyncio.sleep(self._coalesce)
            changed.clear()
            try:
                await self.sweep(everything=everything)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("applications.sweep_failed", exc_info=True)

    async def _addresses(self, *, everything: bool) -> set[subjects.ObjectAddress]:
        # A full sweep lists the store's Application keys (no reads of other kinds' entries, so
        # a store full of FederatedDeployments costs one key listing); a change-triggered one
        # takes those known since plus any this replica has reconciled for an intent.
        if everything:
            keys = await self._desired.keys(kind=TOKEN)
            self._known = {subjects.parse_object(f"{subjects.PREFIX}.status.apps.{key}")[1] for key in keys}
        handled = {subjects.ObjectAddress("apps", TOKEN, ns, name) for ns, name in self._handler.rendered_with}
        return self._known | handled

    async def sweep(self, *, everything: bool) -> int:
        """Reconcile the Applications whose membership changed (all of them if ``everything``);
        returns how many statuses were published."""
        published = 0
        for address in sorted(await self._addresses(everything=everything), key=lambda a: a.key):
            found = await self._desired.get(address)
            if found is None or found.record.deleted:
                self._known.discard(address)
                continue
            try:
                published += await self._one(found.record, everything=everything)
            except asyncio.CancelledError:
                raise
            except InvalidIntent as exc:
                # Valid when applied; the new membership makes it unrenderable (two deliveries
                # now share a name). Its status keeps the last good rendering.
                log.warning("applications.unrenderable", application=address.display(), error=str(exc))
            except Exception:
                log.warning("applications.reconcile_failed", application=address.display(), exc_info=True)
        return published

    async def _one(self, record: store.Record, *, everything: bool) -> int:
        app = apps.Application.model_validate(record.document)
        namespace = app.metadata.namespace or "default"
        key = (namespace, app.metadata.name)
        known = key in self._handler.rendered_with
        if not everything and known and self._handler.rendered_with[key] == await self._handler.members(app):
            return 0
        address = subjects.ObjectAddress("apps", TOKEN, namespace, app.metadata.name)
        latest = await reader.last(self._js, subjects.status(address))
        answered = latest is not None and (latest.document.get("status") or {}).get("observedGeneration")
        if answered != record.generation:
            # This generation was never answered with a status: its intent was rejected while
            # handled (e.g. its delivery units belong to another Application) or is still being
            # handled. Only what the intent path accepted is kept up to date.
            return 0

        async def still_wanted() -> bool:
            # Deleted or changed since this sweep read it: the intent's own reconcile owns it.
            found = await self._desired.get(address)
            return found is not None and not found.record.deleted and found.record.intent_seq == record.intent_seq

        body = await self._handler.reconcile(
            app, generation=record.generation, changed_at=record.changed_at, still_wanted=still_wanted
        )
        if body is None:
            return 0
        document = self._info.model.public_document({**record.document, "status": body})
        if latest is not None and latest.document == document:
            return 0
        await self._publisher.status(address, document, causation_id=None)
        return 1
