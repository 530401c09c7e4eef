"""The lean JetStream publish: acknowledgements, refusals and deadlines."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg

from shared.bus import connection, jetstream, wire


@pytest.fixture(params=["nats-py", "wire"])
async def client(request: pytest.FixtureRequest, nc: Client, nats_url: str) -> AsyncIterator[Client]:
    """Acknowledgements through a plain nats-py subscription, and inline (``shared.bus.wire``)."""
    if request.param == "nats-py":
        yield nc
        return
    services_client = await connection.connect(nats_url, name="test-jetstream")
    try:
        yield services_client
    finally:
        await services_client.close()


async def test_a_stored_message_is_acknowledged(client: Client) -> None:
    nc = client
    js = nc.jetstream()
    await js.add_stream(name="LEAN", subjects=["lean.>"])
    publisher = jetstream.JetStreamPublisher(nc)
    try:
        first = await publisher.publish("lean.a", b"1", headers={"Nats-Msg-Id": "one"})
        again = await publisher.publish("lean.a", b"1", headers={"Nats-Msg-Id": "one"})
        assert (first.stream, first.seq, first.duplicate) == ("LEAN", 1, False)
        assert again.duplicate
        with pytest.raises(jetstream.PublishError) as refused:
            await publisher.publish("lean.a", b"2", headers={jetstream.EXPECTED_LAST_SUBJECT_SEQUENCE: "7"})
        assert refused.value.code == jetstream.WRONG_LAST_SEQUENCE
        with pytest.raises(jetstream.NoStream):
            await publisher.publish("nowhere.a", b"3")
    finally:
        await publisher.stop()
        await js.delete_stream("LEAN")


async def test_each_publish_times_out_at_its_own_deadline(client: Client) -> None:
    """A silent responder: every publish fails with TimeoutError at its deadline, whatever the order."""
    nc = client
    silent = await nc.subscribe("silent.>", cb=_ignore)
    publisher = jetstream.JetStreamPublisher(nc, timeout_seconds=0.6)
    try:

        async def timed(seconds: float | None) -> float:
            started = time.monotonic()
            with pytest.raises(TimeoutError):
                await publisher.publish("silent.x", b"", timeout_seconds=seconds)
            return time.monotonic() - started

        # The default (longest) first, so the shorter ones must move the timer earlier.
        waited = await asyncio.gather(timed(None), timed(0.1), timed(0.3))
        assert 0.55 <= waited[0] < 1.5
        assert 0.08 <= waited[1] < 0.4
        assert 0.25 <= waited[2] < 0.6
        assert not publisher._waiting
    finally:
        await publisher.stop()
        await silent.unsubscribe()


async def test_an_acknowledgement_after_a_timeout_is_ignored(client: Client) -> None:
    nc = client
    late: list[Msg] = []

    async def answer_late(msg: Msg) -> None:
        late.append(msg)

    sub = await nc.subscribe("late.>", cb=answer_late)
    publisher = jetstream.JetStreamPublisher(nc)
    try:
        with pytest.raises(TimeoutError):
            await publisher.publish("late.x", b"", timeout_seconds=0.1)
        await nc.publish(late[0].reply, b'{"stream": "S", "seq": 1}')
        await nc.flush()
        await asyncio.sleep(0.05)
        assert not publisher._waiting
    finally:
        await publisher.stop()
        await sub.unsubscribe()


async def test_headers_go_out_as_given_or_already_encoded(client: Client) -> None:
    """Stored headers are the same for a dictionary and (on the services' client) its encoded
    block; nats-py's own client cannot send a block."""
    nc = client
    js = nc.jetstream()
    await js.add_stream(name="HEADED", subjects=["headed.>"])
    publisher = jetstream.JetStreamPublisher(nc)
    headers = {"Nats-Msg-Id": "one", "ce-type": "t", "padded": " v "}
    try:
        await publisher.publish("headed.dict", b"1", headers=headers)
        if isinstance(nc, wire.Client):
            headers["Nats-Msg-Id"] = "two"
            await publisher.publish("headed.block", b"2", headers=wire.encode_headers(headers))
            stored = await js.get_msg("HEADED", 2)
            assert stored.headers == {**headers, "padded": "v"}
        else:
            with pytest.raises(TypeError):
                await publisher.publish("headed.block", b"2", headers=wire.encode_headers(headers))
        stored = await js.get_msg("HEADED", 1)
        assert stored.headers == {"Nats-Msg-Id": "one", "ce-type": "t", "padded": "v"}
    finally:
        await publisher.stop()
        await js.delete_stream("HEADED")


async def _ignore(msg: Msg) -> None:
    return None
