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
import functools
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import orjson
import structlog
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext, api

from kurator_apps.federated import handlers, index, observed, settling, tracker
from shared import errors
from shared.bus import reader, store, wire
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
    return _parsed(msg.subject)


def _parsed(subject: str) -> subjects.ObjectAddress | None:
    try:
        return subjects.parse_object(subject)[1]
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


_REMEMBERED_SUBJECTS: Final = 65_536
"""Status subjects whose FederatedDeployment :class:`OwnEchoes` keeps; past that it starts afresh."""


class OwnEchoes:
    """Which deliveries of our own status subjects the read loop may drop unparsed
    (:meth:`shared.bus.wire.Client.skip_deliveries`): exactly those :func:`_own_message` would
    ignore - published by one of ``sources`` for a FederatedDeployment whose status this
    tracker knows. Each FederatedDeployment's statuses come back about twice (the handler's
    answer and the publisher's ``Available``), and a delivery handed over costs more than
    reading it: headers parsed, a ``Msg`` built, queued and passed to a task."""

    def __init__(self, state: tracker.Tracker, sources: frozenset[str]) -> None:
        self._state = state
        # As the header line is on the wire (shared.bus.wire.encode_headers): never the
        # block's first line, which is ``NATS/1.0``.
        self._lines = tuple(f"\r\n{SOURCE_HEADER}: {source}\r\n".encode() for source in sorted(sources))
        self._at: dict[bytes, tracker.At | None] = {}

    def __call__(self, subject: bytes, reply: bytes, headers: bytes) -> bool:
        if not any(line in headers for line in self._lines):
            return False
        if subject in self._at:
            at = self._at[subject]
        else:
            if len(self._at) >= _REMEMBERED_SUBJECTS:
                self._at.clear()
            address = _parsed(subject.decode())
            at = self._at[subject] = (
                None if address is None or address.namespace is None else (address.namespace, address.name)
            )
        return at is not None and self._state.knows_status(at)


async def _follow(
    js: JetStreamContext,
    filter_subject: str,
    on: Callable[[Msg], None],
    *,
    nc: Client | None = None,
    skip: wire.SkipDelivery | None = None,
) -> None:
    """:func:`shared.bus.reader.follow`, the same subscription, with the deliveries ``skip``
    picks dropped by the read loop when ``nc`` (the connection under ``js``) is a
    :class:`shared.bus.wire.Client`."""
    if skip is None or not isinstance(nc, wire.Client):
        await reader.follow(js, filter_subject, on)
        return

    async def deliver(msg: Msg) -> None:
        try:
            on(msg)
        except Exception:
            log.warning("reader.message_unreadable", subject=msg.subject, exc_info=True)

    sub = await js.subscribe(
        filter_subject,
        cb=deliver,
        ordered_consumer=True,
        deliver_policy=api.DeliverPolicy.LAST_PER_SUBJECT,
        stream=subjects.STATUS_STREAM,
    )
    nc.skip_deliveries(sub, skip)
    try:
        await asyncio.Event().wait()
    finally:
        with contextlib.suppress(Exception):
            await sub.unsubscribe()


async def observe(
    js: JetStreamContext, state: tracker.Tracker, *, sources: frozenset[str] = frozenset(), nc: Client | None = None
) -> None:
    """Keep ``state`` up to date with the desired state and the statuses on the bus (of the
    fleet, only the kinds a FederatedDeployment's status reads). ``sources``: the CloudEvents
    sources this process publishes FederatedDeployment statuses as; ``nc``: the connection
    under ``js`` (a :class:`shared.bus.wire.Client` drops our own statuses unread, :class:`OwnEchoes`)."""
    await asyncio.gather(
        _desired(js, state),
        reader.follow(js, subjects.statuses("fleet", "cluster"), lambda m: _cluster_message(state, m)),
        reader.follow(js, subjects.statuses("fleet", "propagation"), lambda m: _propagation_message(state, m)),
        reader.follow(js, subjects.statuses("fleet", "deployment"), lambda m: _deployment_message(state, m)),
        _follow(
            js,
            subjects.statuses(SERVICE, index.FD_TOKEN),
            lambda m: _own_message(state, m, sources),
            nc=nc,
            skip=OwnEchoes(state, sources) if sources else None,
        ),
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
            # Most of a batch sends nothing (a change held back, or none the status shows): that
            # is decided here, and only what has something to send becomes a task.
            jobs: list[Callable[[], Awaitable[None]]] = []
            for at in sorted(batch):
                job = _job(state, publisher, fleet, at, now, held=held, moment=loop.time)
                if job is not None:
                    jobs.append(job)
            if jobs:
                await _bounded(jobs)
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
    """What :func:`publish` does for ``at`` in a batch, at ``now`` and loop time ``moment``."""
    job = _job(state, publisher, fleet, at, lambda: now, held=held, moment=lambda: moment)
    if job is not None:
        await job()


def _job(
    state: tracker.Tracker,
    publisher: Publisher,
    fleet: handlers.Propagations,
    at: tracker.At,
    now: Callable[[], datetime],
    *,
    held: settling.Settling,
    moment: Callable[[], float],
) -> Callable[[], Awaitable[None]] | None:
    """What ``at`` needs now, as a job to run: its Propagation when the fleet lacks it (then its
    status), else its status unless held back (:mod:`.settling`) and the events that wait;
    ``None``: nothing."""
    missing = state.unpropagated(at)
    if missing is not None:
        return functools.partial(
            _propagate_then_publish, state, publisher, fleet, at, missing, now, held=held, moment=moment
        )
    return _to_send(state, publisher, at, now(), held=held, moment=moment())


async def _propagate_then_publish(
    state: tracker.Tracker,
    publisher: Publisher,
    fleet: handlers.Propagations,
    at: tracker.At,
    missing: dict[str, Any],
    now: Callable[[], datetime],
    *,
    held: settling.Settling,
    moment: Callable[[], float],
) -> None:
    try:
        await fleet.apply(missing)
    except errors.KuratorError:
        log.warning("federated.propagation_publish_failed", federated_deployment=f"{at[0]}/{at[1]}", exc_info=True)
    else:
        state.sent(at, missing)
    send = _to_send(state, publisher, at, now(), held=held, moment=moment())
    if send is not None:
        await send()


def _to_send(
    state: tracker.Tracker,
    publisher: Publisher,
    at: tracker.At,
    now: datetime,
    *,
    held: settling.Settling,
    moment: float,
) -> Callable[[], Awaitable[None]] | None:
    """What to publish for ``at`` (its status, unless unchanged or held back, and the events
    that wait), as a job to run; ``None``: nothing."""
    body = state.evaluate(at, now=now)
    if body is None:
        held.drop(at)
        return None
    document: dict[str, Any] | None = None
    if not state.changed(at, body):
        held.drop(at)
        if not state.events_waiting(at):
            return None
    elif not state.events_waiting(at) and held.hold(at, before=state.on_the_bus(at), after=body, now=moment):
        return None  # it goes out with the next milestone, or once due
    else:
        held.drop(at)
        entry = state.index.fd(*at)
        if entry is None:
            return None
        document = {**entry.document, "status": body}
        state.publishing(at, body)
    return functools.partial(_send, state, publisher, at, body, document)


async def _send(
    state: tracker.Tracker,
    publisher: Publisher,
    at: tracker.At,
    body: dict[str, Any],
    document: dict[str, Any] | None,
) -> None:
    """Publish ``document`` as ``at``'s status (``None``: it is on the bus already), then its events."""
    if document is not None:
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
