"""The watchers' status writer and mirror without a bus: what is published, and what is decoded.

Covered: changes of one object within the coalescing window make one message carrying the
last observation (and a change after it one more); the watchers' own message delivered
before its acknowledgement is not decoded, the acknowledgement records it; another
publisher's message still is.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any, cast

import orjson
import pytest

from kurator_fleet import observed
from kurator_fleet.watchers import placements
from kurator_fleet.watchers.mirror import StatusMirror
from kurator_fleet.watchers.publishing import StatusWriter
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

    async def status(self, address: subjects.ObjectAddress, document: Any, **_: Any) -> PubAck:
        self.sent.append((address, document))
        return PubAck(stream="KURATOR_STATUS", seq=len(self.sent))


class NoDesired:
    async def get(self, address: subjects.ObjectAddress) -> None:
        return None


class Delivery:
    """What the mirror reads of a JetStream delivery."""

    def __init__(self, subject: str, seq: int, source: str, data: bytes) -> None:
        self.subject = subject
        self.headers = {"ce-source": source}
        self.data = data
        self.metadata = type("Meta", (), {"sequence": type("Seq", (), {"stream": seq})()})()


def observation(phase: str) -> observed.Observation:
    return observed.Observation(owner=placements.WORKLOAD, fields={}, phase=phase, document=DOCUMENT)


@pytest.fixture
def mirror() -> StatusMirror:
    return StatusMirror(cast(Any, None), own_source=OWN)


@pytest.fixture
async def running(mirror: StatusMirror) -> AsyncIterator[tuple[StatusWriter, Recorder, observed.ObservedStatus]]:
    recorder = Recorder()
    observations = observed.ObservedStatus()
    writer = StatusWriter(
        publisher=cast(Any, recorder),
        mirror=mirror,
        observations=observations,
        desired=cast(Any, NoDesired()),
        deleted_linger=timedelta(seconds=1),
        workers=2,
        coalesce=timedelta(milliseconds=500),  # wide: a slow test machine stays inside it
    )
    task = asyncio.create_task(writer.run())
    try:
        yield writer, recorder, observations
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


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
