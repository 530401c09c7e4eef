"""The background work feeding and publishing the tracker (:mod:`.tracker`).

* :func:`observe` (every replica): the apps desired-state bucket (a KV watch: FederatedDeployments
  and companions accepted by any replica, so planning sees them all), and the status stream
  (ordered consumers delivering the last message per subject first, so a restart resumes from
  what is on the bus): the fleet's clusters (labels for selector placements), the Propagations
  it holds for FederatedDeployments and their Deployments, and our own FederatedDeployment
  statuses (a restarted tracker continues their conditions; the processor's answers are
  checked against the tracker's view).
* :func:`publish` (one replica, under a lease): publishes the status of every FederatedDeployment
  whose view changed, its ``available``/``degraded`` events, and re-checks rollouts for the
  progress deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import structlog
from nats.js import JetStreamContext

from kurator_apps.federated import handlers, index, observed, tracker
from shared import errors
from shared.bus import reader, store
from shared.bus.publisher import Publisher
from shared.contracts import status as status_words
from shared.contracts import subjects

log = structlog.get_logger(__name__)

SERVICE: Final = "apps"
DEADLINE_CHECK: Final = timedelta(seconds=5)
COALESCE: Final = timedelta(milliseconds=25)


def fd_address(namespace: str, name: str) -> subjects.ObjectAddress:
    return subjects.ObjectAddress(SERVICE, index.FD_TOKEN, namespace, name)


async def _desired(js: JetStreamContext, state: tracker.Tracker) -> None:
    kv = await js.key_value(subjects.kv_bucket(SERVICE))
    watcher = await kv.watch(">")
    try:
        async for entry in watcher:
            if entry is None or entry.value is None or not entry.value:
                continue
            token = entry.key.split(".", 1)[0]
            if token not in index.TOKENS:
                continue
            record = store.Record.from_bytes(entry.value)
            owners = state.index.record(token, record.document, generation=record.generation, deleted=record.deleted)
            for owner in owners:  # its Propagation may lack (or still hold) the companion
                state.touch((owner.namespace, owner.name))
            if token == index.FD_TOKEN:
                at = index.key_of(token, record.document)[1:]
                if record.deleted:
                    state.forget(at)
                else:
                    state.live(at)
                    state.touch(at)
    finally:
        with contextlib.suppress(Exception):
            await watcher.stop()  # type: ignore[no-untyped-call]


def _fleet_message(state: tracker.Tracker, found: reader.StatusMessage) -> None:
    try:
        _, address = subjects.parse_object(found.subject)
    except subjects.SubjectError:
        return
    doc = found.document
    gone = found.phase == status_words.DELETED
    if address.kind == "cluster":
        labels = (doc.get("status") or {}).get("labels") or (doc.get("metadata") or {}).get("labels") or {}
        ready = (doc.get("status") or {}).get("ready")
        state.cluster(address.name, None if gone else labels, ready=ready if isinstance(ready, bool) else None)
    elif address.kind == "propagation":
        owner = observed.owner_of(doc)
        if owner is not None:
            state.fleet(owner, None if gone else observed.fleet_view(doc))
    elif address.kind == "deployment" and address.namespace is not None:
        at = (address.namespace, address.name)
        if state.index.fd(*at) is not None:
            state.deployment(at, None if gone else observed.members(doc))


def _own_message(state: tracker.Tracker, found: reader.StatusMessage) -> None:
    try:
        _, address = subjects.parse_object(found.subject)
    except subjects.SubjectError:
        return
    body = found.document.get("status")
    if address.namespace is not None and isinstance(body, dict):
        state.on_bus((address.namespace, address.name), body)


async def _follow(js: JetStreamContext, subject: str, on: Callable[[reader.StatusMessage], None]) -> None:
    async for found in reader.watch(js, subject):
        on(found)


async def observe(js: JetStreamContext, state: tracker.Tracker) -> None:
    """Keep ``state`` up to date with the desired state and the statuses on the bus."""
    await asyncio.gather(
        _desired(js, state),
        _follow(js, subjects.statuses("fleet"), lambda m: _fleet_message(state, m)),
        _follow(js, subjects.statuses(SERVICE, index.FD_TOKEN), lambda m: _own_message(state, m)),
    )


def _event_payload(at: tracker.At, event: Any, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "federatedDeployment": {"namespace": at[0], "name": at[1]},
        "type": event.type,
        "reason": event.reason,
        "message": event.message,
        "generation": body.get("observedGeneration"),
        "clusters": body.get("clusters", []),
    }


async def publish(
    state: tracker.Tracker,
    publisher: Publisher,
    fleet: handlers.Propagations,
    *,
    clock: Callable[[], datetime] | None = None,
) -> None:
    """Publish the status of what changed (forever); called under a lease. A Propagation the
    fleet does not hold and this replica did not send (see :meth:`.tracker.Tracker.unpropagated`)
    is published first."""
    now = clock or (lambda: datetime.now(UTC))
    ticker = asyncio.create_task(_deadline_ticks(state))
    try:
        while True:
            await state.wake.wait()
            # A rollout's observations come in bursts (the Propagation's, then the Deployment's
            # statuses): a short pause publishes one status for the burst instead of one each.
            await asyncio.sleep(COALESCE.total_seconds())
            state.wake.clear()
            batch, state.dirty = state.dirty, set()
            await _bounded((lambda at=at: _publish_one(state, publisher, fleet, at, now())) for at in sorted(batch))
    finally:
        ticker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticker


async def _bounded(jobs: Any, limit: int = 64) -> None:
    gate = asyncio.Semaphore(limit)

    async def run(job: Callable[[], Awaitable[None]]) -> None:
        async with gate:
            await job()

    await asyncio.gather(*(run(job) for job in jobs))


async def _publish_one(
    state: tracker.Tracker, publisher: Publisher, fleet: handlers.Propagations, at: tracker.At, now: datetime
) -> None:
    missing = state.unpropagated(at)
    if missing is not None:
        try:
            await fleet.apply(missing)
        except errors.KuratorError:
            log.warning("federated.propagation_publish_failed", federated_deployment=f"{at[0]}/{at[1]}", exc_info=True)
        else:
            state.sent(at, missing)
    body = state.evaluate(at, now=now)
    if body is None:
        return
    events = state.take_events(at)
    if state.changed(at, body):
        entry = state.index.fd(*at)
        if entry is None:
            return
        document = {**entry.document, "status": body}
        try:
            await publisher.status(fd_address(*at), document, causation_id=None)
        except Exception:
            log.warning("federated.status_publish_failed", federated_deployment=f"{at[0]}/{at[1]}", exc_info=True)
            state.touch(at)
            return
        state.published(at, body)
    for event in events:
        name = "available" if event.reason == "Available" else "degraded"
        with contextlib.suppress(Exception):
            await publisher.event(
                service=SERVICE,
                kind=index.FD_TOKEN,
                name=name,
                payload=_event_payload(at, event, body),
                ce_subject=f"{index.FD_TOKEN}/{at[0]}/{at[1]}",
            )


async def _deadline_ticks(state: tracker.Tracker) -> None:
    while True:
        await asyncio.sleep(DEADLINE_CHECK.total_seconds())
        for at in state.progressing():
            state.touch(at)
