"""The background work feeding and publishing the tracker (:mod:`.tracker`).

* :func:`observe` (every replica): the apps desired-state bucket (a KV watch: FederatedDeployments
  and companions accepted by any replica, so planning sees them all), and the status stream
  (ordered consumers delivering the last message per subject first, so a restart resumes from
  what is on the bus): the fleet's clusters (labels for selector placements), the Propagations
  it holds for FederatedDeployments and their Deployments, and our own FederatedDeployment
  statuses (a restarted tracker continues their conditions; the processor's answers are
  checked against the tracker's view).
* :func:`publish` (one replica, under a lease): publishes the status of every FederatedDeployment
  whose view changed, its ``available``/``degraded`` events, and re-evaluates rollouts that pass
  the progress deadline. While it is busy, a change that moves no milestone (the applied
  generation, ready counters) waits a few seconds for the next one (:mod:`.settling`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import orjson
import structlog
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from kurator_apps.federated import handlers, index, observed, settling, tracker
from shared import errors
from shared.bus import reader, store
from shared.bus.publisher import Publisher
from shared.contracts import status as status_words
from shared.contracts import subjects

log = structlog.get_logger(__name__)

SERVICE: Final = "apps"
DEADLINE_CHECK: Final = timedelta(seconds=5)
COALESCE: Final = timedelta(milliseconds=25)
SOURCE_HEADER: Final = "ce-source"
"""The CloudEvents source of a message in binary mode (:func:`shared.contracts.cloudevents.headers`)."""


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
            if token == index.FD_TOKEN:
                _desired_fd(state, record)
                continue
            owners = state.index.record(token, record.document, generation=record.generation, deleted=record.deleted)
            for owner in owners:  # its Propagation may lack (or still hold) the companion
                state.touch((owner.namespace, owner.name))
    finally:
        with contextlib.suppress(Exception):
            await watcher.stop()  # type: ignore[no-untyped-call]


def _desired_fd(state: tracker.Tracker, record: store.Record) -> None:
    at = index.key_of(index.FD_TOKEN, record.document)[1:]
    changed = state.index.record_fd(record.document, generation=record.generation, deleted=record.deleted)
    if record.deleted:
        state.forget(at)
    elif changed:  # else this replica's handler recorded (and answered) it already
        state.live(at)
        state.touch(at)


def _address(msg: Msg) -> subjects.ObjectAddress | None:
    try:
        return subjects.parse_object(msg.subject)[1]
    except subjects.SubjectError:
        return None


def _document(msg: Msg) -> tuple[dict[str, Any], bool] | None:
    """The status document and whether it says the object is gone (``None``: not a document)."""
    doc = orjson.loads(msg.data)
    if not isinstance(doc, dict):
        return None
    st = doc.get("status")
    return doc, isinstance(st, dict) and st.get("phase") == status_words.DELETED


def _cluster_message(state: tracker.Tracker, msg: Msg) -> None:
    address, found = _address(msg), _document(msg)
    if address is None or found is None:
        return
    doc, gone = found
    labels = (doc.get("status") or {}).get("labels") or (doc.get("metadata") or {}).get("labels") or {}
    ready = (doc.get("status") or {}).get("ready")
    state.cluster(address.name, None if gone else labels, ready=ready if isinstance(ready, bool) else None)


def _propagation_message(state: tracker.Tracker, msg: Msg) -> None:
    found = _document(msg)
    if found is None:
        return
    doc, gone = found
    owner = observed.owner_of(doc)
    if owner is not None:
        state.fleet(owner, None if gone else observed.fleet_view(doc))


def _deployment_message(state: tracker.Tracker, msg: Msg) -> None:
    address = _address(msg)
    if address is None or address.namespace is None or not state.index.knows_fd(address.namespace, address.name):
        return  # not one of ours: not worth parsing
    found = _document(msg)
    if found is not None:
        doc, gone = found
        state.deployment((address.namespace, address.name), None if gone else observed.members(doc))


def _own_message(state: tracker.Tracker, msg: Msg, sources: frozenset[str]) -> None:
    address = _address(msg)
    if address is None or address.namespace is None:
        return
    at = (address.namespace, address.name)
    if msg.headers and msg.headers.get(SOURCE_HEADER) in sources and state.knows_status(at):
        return  # this process's own status (its handler's answer or its publisher's): known
    found = _document(msg)
    if found is not None and isinstance(body := found[0].get("status"), dict):
        state.on_bus(at, body, sequence=msg.metadata.sequence.stream)


async def observe(js: JetStreamContext, state: tracker.Tracker, *, sources: frozenset[str] = frozenset()) -> None:
    """Keep ``state`` up to date with the desired state and the statuses on the bus (of the
    fleet, only the kinds a FederatedDeployment's status reads). ``sources``: the CloudEvents
    sources this process publishes FederatedDeployment statuses as."""
    await asyncio.gather(
        _desired(js, state),
        reader.follow(js, subjects.statuses("fleet", "cluster"), lambda m: _cluster_message(state, m)),
        reader.follow(js, subjects.statuses("fleet", "propagation"), lambda m: _propagation_message(state, m)),
        reader.follow(js, subjects.statuses("fleet", "deployment"), lambda m: _deployment_message(state, m)),
        reader.follow(js, subjects.statuses(SERVICE, index.FD_TOKEN), lambda m: _own_message(state, m, sources)),
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
    settle: timedelta = settling.DEFAULT_SETTLE,
) -> None:
    """Publish the status of what changed (forever); called under a lease. A Propagation the
    fleet does not hold and this replica did not send (see :meth:`.tracker.Tracker.unpropagated`)
    is published first. While busy, a change that moves no milestone waits up to ``settle`` for
    the next one (:mod:`.settling`)."""
    now = clock or (lambda: datetime.now(UTC))
    loop = asyncio.get_running_loop()
    held = settling.Settling(settle=settle)
    ticker = asyncio.create_task(_deadline_ticks(state, now))
    try:
        while True:
            if not state.wake.is_set():
                with contextlib.suppress(TimeoutError):  # then what is held is due
                    await asyncio.wait_for(state.wake.wait(), held.next_due(loop.time()))
            if state.wake.is_set():
                # A rollout's observations come in bursts (the Propagation's, then the Deployment's
                # statuses): a short pause publishes one status for the burst instead of one each.
                await asyncio.sleep(COALESCE.total_seconds())
                state.wake.clear()
            held.window(len(state.dirty))
            due = held.due(loop.time())
            batch = state.take_dirty(also=due)
            for at in due:
                if at not in batch:
                    held.drop(at)  # a handler is answering it with its newest status
            await _bounded(
                (lambda at=at: _publish_one(state, publisher, fleet, at, now(), held=held, moment=loop.time()))
                for at in sorted(batch)
            )
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
    state: tracker.Tracker,
    publisher: Publisher,
    fleet: handlers.Propagations,
    at: tracker.At,
    now: datetime,
    *,
    held: settling.Settling,
    moment: float,
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
        held.drop(at)
        return
    if not state.changed(at, body):
        held.drop(at)
    elif not state.events_waiting(at) and held.hold(at, before=state.on_the_bus(at), after=body, now=moment):
        return  # it goes out with the next milestone, or once due
    else:
        held.drop(at)
        entry = state.index.fd(*at)
        if entry is None:
            return
        document = {**entry.document, "status": body}
        state.publishing(at, body)
        try:
            ack = await publisher.status(fd_address(*at), document, causation_id=None)
        except Exception:
            log.warning("federated.status_publish_failed", federated_deployment=f"{at[0]}/{at[1]}", exc_info=True)
            state.not_published(at)
            return
        state.published(at, body, sequence=ack.seq)
    for event in state.take_events(at):  # after the status: a failed publish keeps them for the retry
        name = "available" if event.reason == "Available" else "degraded"
        with contextlib.suppress(Exception):
            await publisher.event(
                service=SERVICE,
                kind=index.FD_TOKEN,
                name=name,
                payload=_event_payload(at, event, body),
                ce_subject=f"{index.FD_TOKEN}/{at[0]}/{at[1]}",
            )


async def _deadline_ticks(state: tracker.Tracker, now: Callable[[], datetime]) -> None:
    while True:
        await asyncio.sleep(DEADLINE_CHECK.total_seconds())
        for at in state.overdue(now()):
            state.touch(at)
