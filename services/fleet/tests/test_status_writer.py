"""The watchers' status writer and mirror without a bus: what is published, and what is decoded.

Covered: changes of one object within the coalescing window make one message carrying the
last observation (and a change after it one more); a busy writer holds back details and
transient states (not milestones) until the next step, the settle time or quiet; the
watchers' own message delivered before its acknowledgement is not decoded, the
acknowledgement records it (and the read loop may drop it as received); another
publisher's message still is; a stopping writer publishes what it holds (an object cut
off while being retired gets its final status), then its events (one cut off mid-publish
first); a key the desired-state store does not hold is looked up once, not on every change,
and an intent that comes later is still found.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any, cast

import orjson
import pytest
from nats.aio.msg import Msg

from kurator_fleet import observed
from kurator_fleet.watchers import mirror as mirror_module
from kurator_fleet.watchers import placements
from kurator_fleet.watchers.mirror import StatusMirror
from kurator_fleet.watchers.publishing import StatusWriter
from shared.bus import store, wire
from shared.bus.jetstream import PubAck
from shared.contracts import subjects
from shared.testing.eventually import eventually

OWN = "kurator/fleet/test/watchers"
ADDRESS = subjects.ObjectAddress("fleet", "deployment", "default", "web")
DOCUMENT = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"}}


class Recorder:
    """A publisher that keeps what it was asked to publish."""

    def __init__(self) -> None:
        self.sent: list[tuple[subjects.ObjectAddress, dict[str, Any]]] = []
        self.events: list[str] = []

    async def status(self, address: subjects.ObjectAddress, document: Any, **_: Any) -> PubAck:
        self.sent.append((address, document))
        return PubAck(stream="KURATOR_STATUS", seq=len(self.sent))

    async def event(self, *, kind: str, name: str, **_: Any) -> None:
        self.events.append(f"{kind}.{name}")


class NoDesired:
    async def get(self, address: subjects.ObjectAddress) -> None:
        return None


class Desired:
    """A desired-state store holding what a test puts in it, counting lookups."""

    def __init__(self) -> None:
        self.records: dict[subjects.ObjectAddress, store.Versioned] = {}
        self.lookups = 0

    async def get(self, address: subjects.ObjectAddress) -> store.Versioned | None:
        self.lookups += 1
        return self.records.get(address)


class Delivery:
    """What the mirror reads of a JetStream delivery."""

    def __init__(self, subject: str, seq: int, source: str, data: bytes) -> None:
        self.subject = subject
        self.headers = {"ce-source": source}
        self.data = data
        self.reply = f"$JS.ACK.KURATOR_STATUS.mirror.1.{seq}.{seq}.1764200000000000000.0"


def observation(phase: str) -> observed.Observation:
    return observed.Observation(owner=placements.WORKLOAD, fields={}, phase=phase, document=DOCUMENT)


def placed(phase: str, ready: int = 0) -> observed.Observation:
    """A workload observation with milestones, as the binding tracker makes them."""
    return observed.Observation(
        owner=placements.WORKLOAD,
        fields={"placement": {"readyReplicas": ready}},
        phase=phase,
        document=DOCUMENT,
        milestone=(phase, ()),
        transient=phase == "Pending",
    )


def address(i: int) -> subjects.ObjectAddress:
    return subjects.ObjectAddress("fleet", "deployment", "default", f"web-{i}")


def documents(recorder: Recorder, at: subjects.ObjectAddress) -> list[dict[str, Any]]:
    return [doc["status"] for sent_to, doc in recorder.sent if sent_to == at]


@pytest.fixture
def mirror() -> StatusMirror:
    return StatusMirror(cast(Any, None), own_source=OWN)


def _writer(
    mirror: StatusMirror,
    recorder: Recorder,
    observations: observed.ObservedStatus,
    *,
    desired: Desired | NoDesired | None = None,
    **options: Any,
) -> StatusWriter:
    """A writer publishing to ``recorder`` (deleted objects linger 1 s unless ``options`` say otherwise)."""
    return StatusWriter(
        publisher=cast(Any, recorder),
        mirror=mirror,
        observations=observations,
        desired=cast(Any, desired or NoDesired()),
        **{"deleted_linger": timedelta(seconds=1), **options},
    )


@contextlib.asynccontextmanager
async def writing(
    mirror: StatusMirror,
    *,
    workers: int,
    coalesce: timedelta,
    settle: timedelta = timedelta(0),
    desired: Desired | NoDesired | None = None,
) -> AsyncIterator[tuple[StatusWriter, Recorder, observed.ObservedStatus]]:
    """A running writer publishing to a :class:`Recorder`."""
    recorder = Recorder()
    observations = observed.ObservedStatus()
    writer = _writer(mirror, recorder, observations, desired=desired, workers=workers, coalesce=coalesce, settle=settle)
    task = asyncio.create_task(writer.run())
    try:
        yield writer, recorder, observations
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


@pytest.fixture
async def running(mirror: StatusMirror) -> AsyncIterator[tuple[StatusWriter, Recorder, observed.ObservedStatus]]:
    # A wide window: a slow test machine stays inside it.
    async with writing(mirror, workers=2, coalesce=timedelta(milliseconds=500)) as started:
        yield started


async def test_changes_within_the_window_make_one_message_with_the_last(
    running: tuple[StatusWriter, Recorder, observed.ObservedStatus],
) -> None:
    writer, recorder, observations = running
    for phase in ("Pending", "Scheduled", "Available"):
        observations.put(ADDRESS, observation(phase))
        writer.request(ADDRESS)
        await asyncio.sleep(0.01)

    await eventually(lambda: _count_at_least(recorder, 1))
    await asyncio.sleep(0.1)
    assert [doc["status"]["phase"] for _, doc in recorder.sent] == ["Available"]

    observations.put(ADDRESS, observation("Degraded"))
    writer.request(ADDRESS)
    await eventually(lambda: _count_at_least(recorder, 2))
    assert recorder.sent[-1][1]["status"]["phase"] == "Degraded"


async def _count_at_least(recorder: Recorder, n: int) -> bool:
    return len(recorder.sent) >= n


@pytest.mark.parametrize(
    "reply",
    [
        "$JS.ACK.KURATOR_STATUS.mirror.1.42.7.1764200000000000000.0",
        "$JS.ACK.hub.ACCOUNTHASH.KURATOR_STATUS.mirror.1.42.7.1764200000000000000.0.r4nd0m",
        "$JS.ACK.hub.ACCOUNTHASH.KURATOR_STATUS.mirror.1.42.7.1764200000000000000.0",
    ],
)
def test_the_mirror_reads_the_stream_sequence_as_nats_py_does(reply: str) -> None:
    assert mirror_module._stream_sequence(reply) == Msg.Metadata._from_reply(reply).sequence.stream == 42
    assert mirror_module._stream_sequence("_INBOX.abc") is None
    assert mirror_module._stream_sequence(None) is None


def busy_writer(
    mirror: StatusMirror, *, settle: timedelta
) -> contextlib.AbstractAsyncContextManager[tuple[StatusWriter, Recorder, observed.ObservedStatus]]:
    """A writer with one publisher and a 50 ms window: more than one object per window is busy."""
    return writing(mirror, workers=1, coalesce=timedelta(milliseconds=50), settle=settle)


@pytest.fixture
async def busy(mirror: StatusMirror) -> AsyncIterator[tuple[StatusWriter, Recorder, observed.ObservedStatus]]:
    async with busy_writer(mirror, settle=timedelta(seconds=1)) as running:
        yield running


async def _load(writer: StatusWriter, observations: observed.ObservedStatus, *, windows: int, first: int) -> None:
    """Keep the writer busy: ten other objects change in each of ``windows`` windows."""
    for w in range(windows):
        for i in range(first, first + 10):
            observations.put(address(i), placed("Progressing", ready=w))
            writer.request(address(i))
        await asyncio.sleep(0.06)


async def test_a_busy_writer_holds_a_transient_state_and_details_until_the_next_milestone(
    mirror: StatusMirror,
) -> None:
    # A settle time far beyond the test's length: only milestones may let a change out here,
    # however slowly a loaded machine runs the windows.
    async with busy_writer(mirror, settle=timedelta(seconds=60)) as (writer, recorder, observations):
        await _holds_until_the_next_milestone(writer, recorder, observations)


async def _holds_until_the_next_milestone(
    writer: StatusWriter, recorder: Recorder, observations: observed.ObservedStatus
) -> None:
    web = address(0)
    await _load(writer, observations, windows=4, first=100)

    observations.put(web, placed("Pending"))  # the scheduler has not looked yet
    writer.request(web)
    await _load(writer, observations, windows=3, first=200)
    assert documents(recorder, web) == []  # held: a transient state, the writer is busy

    observations.put(web, placed("Scheduled"))  # a milestone: out with the next window
    writer.request(web)
    await _load(writer, observations, windows=2, first=300)
    assert [st["phase"] for st in documents(recorder, web)] == ["Scheduled"]

    observations.put(web, placed("Scheduled", ready=1))  # a detail of the same phase: held
    writer.request(web)
    await _load(writer, observations, windows=3, first=400)
    assert len(documents(recorder, web)) == 1
    observations.put(web, placed("Available", ready=2))  # the next milestone carries both
    writer.request(web)
    await _load(writer, observations, windows=2, first=500)
    assert [(st["phase"], st["placement"]["readyReplicas"]) for st in documents(recorder, web)] == [
        ("Scheduled", 0),
        ("Available", 2),
    ]


async def test_held_back_changes_go_out_after_the_settle_time_or_once_the_writer_is_quiet(
    busy: tuple[StatusWriter, Recorder, observed.ObservedStatus],
) -> None:
    writer, recorder, observations = busy
    web, api = address(0), address(1)
    for a in (web, api):
        observations.put(a, placed("Scheduled"))
        writer.request(a)
    await eventually(lambda: _count_at_least(recorder, 2))

    await _load(writer, observations, windows=4, first=100)
    observations.put(web, placed("Scheduled", ready=1))
    writer.request(web)
    # Busy for longer than the settle time: the detail goes out once it is over, not later.
    await _load(writer, observations, windows=20, first=200)
    assert [st["placement"]["readyReplicas"] for st in documents(recorder, web)] == [0, 1]

    observations.put(api, placed("Scheduled", ready=1))
    writer.request(api)
    await _load(writer, observations, windows=2, first=300)
    assert len(documents(recorder, api)) == 1  # held
    started = asyncio.get_running_loop().time()
    await eventually(lambda: _count_at_least_at(recorder, api, 2))
    # The load stopped: the detail went out about two windows later, well before the settle time.
    assert asyncio.get_running_loop().time() - started < 0.5
    assert documents(recorder, api)[-1]["placement"]["readyReplicas"] == 1


async def test_a_quiet_writer_holds_nothing(busy: tuple[StatusWriter, Recorder, observed.ObservedStatus]) -> None:
    writer, recorder, observations = busy
    web = address(0)
    for n, (phase, ready) in enumerate((("Pending", 0), ("Scheduled", 0), ("Scheduled", 1)), start=1):
        observations.put(web, placed(phase, ready))
        writer.request(web)
        await eventually(lambda n=n: _count_at_least_at(recorder, web, n), timeout_seconds=0.5)  # type: ignore[misc]
    assert [(st["phase"], st["placement"]["readyReplicas"]) for st in documents(recorder, web)] == [
        ("Pending", 0),
        ("Scheduled", 0),
        ("Scheduled", 1),
    ]


async def _count_at_least_at(recorder: Recorder, at: subjects.ObjectAddress, n: int) -> bool:
    return len(documents(recorder, at)) >= n


async def test_a_stopping_writer_publishes_what_it_holds_then_its_events(mirror: StatusMirror) -> None:
    """The lease lost or the service stopping: statuses waiting for their window or held back
    go out, then the events not yet published, so the next lease holder finds them on the bus."""
    recorder = Recorder()
    observations = observed.ObservedStatus()
    writer = _writer(
        mirror, recorder, observations, workers=1, coalesce=timedelta(milliseconds=50), settle=timedelta(seconds=60)
    )
    task = asyncio.create_task(writer.run())
    await asyncio.sleep(0)  # the workers wait for requests
    web, api = address(0), address(1)
    observations.put(web, placed("Scheduled"))
    writer.request(web)
    await _load(writer, observations, windows=4, first=100)  # busy: a detail of web is held
    await eventually(lambda: _count_at_least_at(recorder, web, 1))
    observations.put(web, placed("Scheduled", ready=1))
    writer.request(web)
    await _load(writer, observations, windows=2, first=200)
    assert len(documents(recorder, web)) == 1  # held
    observations.put(api, placed("Available"))
    writer.request(api)  # waiting for its window
    writer.emit("cluster", "joined", {"cluster": "c"})
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert documents(recorder, api) == []

    await writer.flush()
    assert [st["placement"]["readyReplicas"] for st in documents(recorder, web)] == [0, 1]
    assert [st["phase"] for st in documents(recorder, api)] == ["Available"]
    assert recorder.events == ["cluster.joined"]  # once: by the events' worker or by the flush


async def test_own_message_delivered_before_its_ack_is_not_decoded(mirror: StatusMirror) -> None:
    subject = subjects.status(ADDRESS)
    with mirror.publishing(ADDRESS):
        await mirror._on_msg(cast(Any, Delivery(subject, 7, OWN, orjson.dumps({**DOCUMENT, "status": {}}))))
        assert mirror.get(ADDRESS) is None  # not decoded, not recorded
    mirror.published(ADDRESS, seq=7, document={"status": {"phase": "Scheduled"}})
    entry = mirror.get(ADDRESS)
    assert entry is not None
    assert entry.latest_seq == 7

    processor = {**DOCUMENT, "status": {"phase": "Applied"}}
    await mirror._on_msg(cast(Any, Delivery(subject, 8, "kurator/fleet/test", orjson.dumps(processor))))
    assert entry.handler == processor
    assert entry.latest_seq == 8
    # The watchers' message arriving after its ack (not in flight) is known by its sequence.
    await mirror._on_msg(cast(Any, Delivery(subject, 7, OWN, b"\x00")))
    assert entry.latest_seq == 8


def _mirror_requesting(writer_box: list[StatusWriter]) -> StatusMirror:
    """A mirror that tells the writer (once in ``writer_box``) of each message, as the watchers'
    runner does with the processor's: an intent's status is seen, and the object requested."""

    def on_message(at: subjects.ObjectAddress, entry: mirror_module.Entry) -> None:
        if entry.handler is not None:
            writer_box[0].intent_seen(at)
        writer_box[0].request(at)

    return StatusMirror(cast(Any, None), own_source=OWN, on_message=on_message)


async def test_a_key_without_a_desired_record_is_looked_up_once_until_an_intent_shows_up() -> None:
    """Templates a Propagation wrote have no intent of their own: each binding step must not
    ask the KV store again. An intent's status on the bus ends that; so does its purge."""
    desired = Desired()
    writer_box: list[StatusWriter] = []
    mirror = _mirror_requesting(writer_box)
    async with writing(mirror, workers=2, coalesce=timedelta(0), desired=desired) as (writer, recorder, observations):
        writer_box.append(writer)
        for n, phase in enumerate(("Scheduled", "Progressing", "Available"), start=1):
            observations.put(ADDRESS, observation(phase))
            writer.request(ADDRESS)
            await eventually(lambda n=n: _count_at_least(recorder, n))  # type: ignore[misc]
        assert desired.lookups == 1
        assert recorder.sent[-1][1] == {**DOCUMENT, "status": {"phase": "Available"}}
        assert writer.awaits_intent(ADDRESS)  # what the binding tracker asks of a policy

        # An intent for the object now: its record, then the processor's status.
        spec = {"replicas": 3}
        record = store.Record(
            document={**DOCUMENT, "spec": spec}, generation=1, intent_seq=9, intent_id="i", spec_hash="h"
        )
        desired.records[ADDRESS] = store.Versioned(record, revision=1)
        processor = {**DOCUMENT, "spec": spec, "status": {"phase": "Applied", "observedGeneration": 1}}
        subject = subjects.status(ADDRESS)
        await mirror._on_msg(cast(Any, Delivery(subject, 10, "kurator/fleet/test", orjson.dumps(processor))))
        await eventually(lambda: _count_at_least(recorder, 4))
        assert recorder.sent[-1][1] == {**processor, "status": {"phase": "Available", "observedGeneration": 1}}
        assert desired.lookups == 1  # the processor's status is the base: no lookup
        assert not writer.awaits_intent(ADDRESS)

        # Its status purged behind the mirror's back: the record is looked up again, and found.
        mirror.forget(ADDRESS)
        observations.put(ADDRESS, observation("Degraded"))
        writer.request(ADDRESS)
        await eventually(lambda: _count_at_least(recorder, 5))
        assert desired.lookups == 2
        assert recorder.sent[-1][1] == {**DOCUMENT, "spec": spec, "status": {"phase": "Degraded"}}


async def test_a_lookup_that_raced_an_intent_is_not_remembered_as_a_miss() -> None:
    """The processor's status arrived while the KV store was asked (its record may be newer
    than the answer): the miss is not kept, so a later lookup finds the record."""
    mirror = StatusMirror(cast(Any, None), own_source=OWN)
    subject = subjects.status(ADDRESS)
    record = store.Record(document={**DOCUMENT, "spec": {}}, generation=1, intent_seq=9, intent_id="i", spec_hash="h")

    class Racing(Desired):
        async def get(self, address: subjects.ObjectAddress) -> store.Versioned | None:
            found = await super().get(address)
            if self.lookups == 1:  # the processor writes and publishes while the answer is on its way
                self.records[address] = store.Versioned(record, revision=1)
                processor = {**DOCUMENT, "status": {"phase": "Applied"}}
                await mirror._on_msg(cast(Any, Delivery(subject, 3, "kurator/fleet/test", orjson.dumps(processor))))
            return found

    racing = Racing()
    async with writing(mirror, workers=1, coalesce=timedelta(0), desired=racing) as (writer, recorder, observations):
        observations.put(ADDRESS, observation("Scheduled"))
        writer.request(ADDRESS)
        await eventually(lambda: _count_at_least(recorder, 1))
        mirror.forget(ADDRESS)
        observations.put(ADDRESS, observation("Available"))
        writer.request(ADDRESS)
        await eventually(lambda: _count_at_least(recorder, 2))
    assert racing.lookups == 2
    assert recorder.sent[-1][1] == {**DOCUMENT, "spec": {}, "status": {"phase": "Available"}}


def test_the_mirror_knows_its_own_messages_from_the_raw_delivery(mirror: StatusMirror) -> None:
    """What the read loop may drop (:meth:`StatusMirror.known`) is what ``_on_msg`` would ignore."""
    subject = subjects.status(ADDRESS)

    def raw(seq: int, source: str) -> tuple[bytes, bytes, bytes]:
        delivery = Delivery(subject, seq, source, b"{}")
        block = wire.encode_headers({"ce-specversion": "1.0", "ce-source": source, "ce-id": "x"})
        return delivery.subject.encode(), delivery.reply.encode(), block

    with mirror.publishing(ADDRESS):
        assert mirror.known(*raw(7, OWN))  # in flight: the acknowledgement records it
        assert not mirror.known(*raw(7, OWN + "/other"))
        assert not mirror.known(*raw(7, "kurator/fleet/test"))  # the processor's: always read
    assert not mirror.known(*raw(7, OWN))  # not in flight and not recorded: read it
    mirror.published(ADDRESS, seq=7, document={"status": {}})
    assert mirror.known(*raw(7, OWN))
    assert not mirror.known(*raw(8, OWN))  # newer than what was recorded
    other = subjects.status(address(1))
    assert not mirror.known(other.encode(), raw(3, OWN)[1], raw(3, OWN)[2])


async def test_an_object_a_propagation_wrote_is_not_looked_up() -> None:
    """A Propagation's status names the object among what it wrote: no intent of its own, so
    the KV store is not asked; an intent's status for it after all is the base from then on."""
    desired = Desired()
    writer_box: list[StatusWriter] = []
    mirror = _mirror_requesting(writer_box)
    async with writing(mirror, workers=2, coalesce=timedelta(0), desired=desired) as (writer, recorder, observations):
        writer_box.append(writer)
        writer.written_by_propagation(ADDRESS)
        assert writer.awaits_intent(ADDRESS)  # a policy's steps request nothing
        observations.put(ADDRESS, observation("Scheduled"))
        writer.request(ADDRESS)
        await eventually(lambda: _count_at_least(recorder, 1))
        assert recorder.sent[-1][1] == {**DOCUMENT, "status": {"phase": "Scheduled"}}
        assert desired.lookups == 0

        processor = {**DOCUMENT, "spec": {"replicas": 3}, "status": {"phase": "Applied"}}
        subject = subjects.status(ADDRESS)
        await mirror._on_msg(cast(Any, Delivery(subject, 10, "kurator/fleet/test", orjson.dumps(processor))))
        await eventually(lambda: _count_at_least(recorder, 2))
        assert recorder.sent[-1][1] == {**processor, "status": {"phase": "Scheduled"}}
        assert not writer.awaits_intent(ADDRESS)
        writer.written_by_propagation(ADDRESS)  # an intent's status is known: nothing to skip
        assert not writer.awaits_intent(ADDRESS)
        assert desired.lookups == 0


class Stalling(Recorder):
    """A publisher whose first status or event never completes (as if cut off mid-publish)."""

    def __init__(self) -> None:
        super().__init__()
        self.stalled = asyncio.Event()
        self._status_calls = 0
        self._event_calls = 0

    async def status(self, address: subjects.ObjectAddress, document: Any, **kw: Any) -> PubAck:
        self._status_calls += 1
        if self._status_calls == 1:
            self.stalled.set()
            await asyncio.Event().wait()
        return await super().status(address, document, **kw)

    async def event(self, *, kind: str, name: str, **kw: Any) -> None:
        self._event_calls += 1
        if self._event_calls == 1:
            self.stalled.set()
            await asyncio.Event().wait()
        await super().event(kind=kind, name=name, **kw)


def _stalling_writer(mirror: StatusMirror, recorder: Stalling, observations: observed.ObservedStatus) -> StatusWriter:
    return _writer(mirror, recorder, observations, deleted_linger=timedelta(seconds=60), workers=1)


async def _cut_off(writer: StatusWriter, recorder: Stalling) -> None:
    task = asyncio.create_task(writer.run())
    await asyncio.wait_for(recorder.stalled.wait(), 1.0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_an_event_cut_off_mid_publish_goes_out_with_the_flush_before_the_queued_ones(
    mirror: StatusMirror,
) -> None:
    recorder = Stalling()
    writer = _stalling_writer(mirror, recorder, observed.ObservedStatus())
    writer.emit("cluster", "joined", {"cluster": "a"})
    writer.emit("cluster", "left", {"cluster": "b"})
    await _cut_off(writer, recorder)
    assert recorder.events == []

    await writer.flush()
    assert recorder.events == ["cluster.joined", "cluster.left"]


async def test_an_object_cut_off_while_retiring_is_retired_by_the_flush(mirror: StatusMirror) -> None:
    recorder = Stalling()
    observations = observed.ObservedStatus()
    writer = _stalling_writer(mirror, recorder, observations)
    web = address(0)
    writer.retire(web, {**DOCUMENT, "status": {"phase": "Available"}})
    await _cut_off(writer, recorder)
    assert recorder.sent == []

    await writer.flush()
    assert [st["phase"] for st in documents(recorder, web)] == ["Deleted"]
