"""The consume loop: ack mapping, rejection, retry, DLQ, per-object order, bounded in-flight."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

import orjson
import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext

from shared import errors
from shared.bus import consumer, messages, streams
from shared.bus.publisher import Publisher
from shared.contracts import subjects, validation
from shared.testing.eventually import eventually

SERVICE = "fleet"


def addr(name: str) -> subjects.ObjectAddress:
    return subjects.ObjectAddress(SERVICE, "propagationpolicy", "default", name)


@contextlib.asynccontextmanager
async def consuming(
    nc: Client,
    handler: Callable[[messages.Delivery], Awaitable[None]],
    *,
    max_in_flight: int = 64,
    max_deliver: int = 3,
) -> AsyncIterator[consumer.IntentConsumer]:
    js = nc.jetstream()
    await streams.declare_streams(js)
    await streams.declare_consumer(
        js, streams.ConsumerSpec(service=SERVICE, ack_wait=timedelta(seconds=2), max_deliver=max_deliver)
    )
    loop = consumer.IntentConsumer(
        nc,
        publisher=Publisher(nc, source="test"),
        handler=handler,
        options=consumer.ConsumerOptions(
            service=SERVICE,
            max_in_flight=max_in_flight,
            fetch_batch=32,
            max_deliver=max_deliver,
            pull_expires=timedelta(milliseconds=500),
            backoff_base=timedelta(milliseconds=50),
        ),
    )
    task = asyncio.create_task(loop.run())
    try:
        yield loop
    finally:
        await loop.stop(deadline=timedelta(seconds=5))
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def collect(nc: Client, subject: str) -> list[dict[str, object]]:
    got: list[dict[str, object]] = []

    async def on(msg: object) -> None:
        got.append(orjson.loads(msg.data))  # type: ignore[attr-defined]

    await nc.subscribe(subject, cb=on)
    return got


async def test_success_is_acked_once(nc: Client, js: JetStreamContext) -> None:
    """A handler that returns normally sees each message exactly once."""
    seen: list[int] = []

    async def handler(d: messages.Delivery) -> None:
        seen.append(d.stream_sequence)

    async with consuming(nc, handler):
        pub = Publisher(nc, source="test")
        for i in range(20):
            await pub.intent(addr(f"p{i}"), {"i": i})
        await eventually(lambda: _true(len(seen) == 20), message="20 handled")
        info = await js.consumer_info(subjects.INTENTS_STREAM, "kurator-fleet")
        await eventually(lambda: _ack_floor(js, 20), message="all acked")
    assert sorted(seen) == list(range(1, 21))
    assert info.num_redelivered == 0


async def test_invalid_intent_is_rejected_with_reasons_and_does_not_block(nc: Client, js: JetStreamContext) -> None:
    """InvalidIntent publishes a rejection naming the field, terminates, and the next message runs."""
    rejections = await collect(nc, subjects.rejected(SERVICE))
    handled: list[str] = []

    async def handler(d: messages.Delivery) -> None:
        assert d.address is not None
        if d.address.name == "bad":
            raise errors.InvalidIntent([validation.Reason(field="spec.x", message="nope")])
        handled.append(d.address.name)

    async with consuming(nc, handler):
        pub = Publisher(nc, source="test")
        env, _ = await pub.intent(addr("bad"), {})
        await pub.intent(addr("good"), {})
        await eventually(lambda: _true(handled == ["good"] and len(rejections) == 1), message="handled")
    rejection = rejections[0]
    assert rejection["reasons"] == [{"field": "spec.x", "reason": "FieldValueInvalid", "message": "nope"}]
    assert rejection["intent"]["id"] == env.id  # type: ignore[index]
    assert rejection["intent"]["sequence"] == 1  # type: ignore[index]


async def test_retryable_error_is_redelivered(nc: Client, js: JetStreamContext) -> None:
    """RetryableError naks with its delay; the next delivery succeeds."""
    attempts: list[int] = []

    async def handler(d: messages.Delivery) -> None:
        attempts.append(d.num_delivered)
        if d.num_delivered < 2:
            raise errors.RetryableError("later", delay=timedelta(milliseconds=100))

    async with consuming(nc, handler):
        await Publisher(nc, source="test").intent(addr("x"), {})
        await eventually(lambda: _true(attempts == [1, 2]), message="retried once")


async def test_unexpected_error_goes_to_dlq_after_max_deliver(nc: Client, js: JetStreamContext) -> None:
    """A handler that always fails lands in the DLQ with the error, after max_deliver tries."""
    letters = await collect(nc, subjects.dlq(SERVICE))
    attempts: list[int] = []

    async def handler(d: messages.Delivery) -> None:
        attempts.append(d.num_delivered)
        raise RuntimeError("boom")

    async with consuming(nc, handler, max_deliver=3):
        await Publisher(nc, source="test").intent(addr("x"), {"payload": 1})
        await eventually(lambda: _true(len(letters) == 1), timeout_seconds=15, message="dead-lettered")
    assert attempts == [1, 2, 3]
    assert letters[0]["error"] == "RuntimeError: boom"
    assert letters[0]["data"] == {"payload": 1}
    assert letters[0]["deliveries"] == 3


async def test_messages_about_one_object_stay_in_order(nc: Client, js: JetStreamContext) -> None:
    """Different objects run concurrently, but one object's messages are handled in stream order."""
    order: dict[str, list[int]] = defaultdict(list)
    concurrent = 0
    peak = 0

    async def handler(d: messages.Delivery) -> None:
        nonlocal concurrent, peak
        concurrent += 1
        peak = max(peak, concurrent)
        await asyncio.sleep(random.uniform(0, 0.005))
        assert d.address is not None
        order[d.address.name].append(d.json()["n"])
        concurrent -= 1

    async with consuming(nc, handler, max_in_flight=16):
        pub = Publisher(nc, source="test")
        for n in range(200):
            await pub.intent(addr(f"obj{n % 5}"), {"n": n})
        await eventually(lambda: _true(sum(len(v) for v in order.values()) == 200), message="all handled")
    for name, ns in order.items():
        assert ns == sorted(ns), f"{name} out of order"
    assert 1 < peak <= 5  # concurrency across objects, never more than one task per object


async def test_in_flight_is_bounded(nc: Client, js: JetStreamContext) -> None:
    """The consumer never holds more than max_in_flight messages."""
    release = asyncio.Event()
    active = 0
    peak = 0

    async def handler(d: messages.Delivery) -> None:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await release.wait()
        active -= 1

    async with consuming(nc, handler, max_in_flight=8) as loop:
        pub = Publisher(nc, source="test")
        for n in range(40):
            await pub.intent(addr(f"o{n}"), {})
        await eventually(lambda: _true(active == 8), message="8 active")
        assert loop.in_flight == 8
        release.set()
        await eventually(lambda: _ack_floor(js, 40), message="all acked")
    assert peak == 8


async def _true(value: bool) -> bool:
    return value


async def _ack_floor(js: JetStreamContext, n: int) -> bool:
    info = await js.consumer_info(subjects.INTENTS_STREAM, "kurator-fleet")
    return bool(info.ack_floor and info.ack_floor.stream_seq == n and info.num_ack_pending == 0)


@pytest.fixture(autouse=True)
def _quiet_logs() -> None:
    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))


async def test_two_consumers_on_a_trickle_answer_promptly(nc: Client) -> None:
    """Replicas sharing a consumer get each message as it arrives, not when a batch fills.

    Regression: with nats-py's fetch(batch), a replica could hold a half-filled batch for the
    whole pull expiry, delaying messages by about a second.
    """
    import time

    latencies: list[float] = []
    sent: dict[int, float] = {}

    async def handler(d: messages.Delivery) -> None:
        latencies.append(time.monotonic() - sent[d.json()["n"]])

    async with consuming(nc, handler), consuming(nc, handler):
        pub = Publisher(nc, source="test")
        for n in range(60):
            sent[n] = time.monotonic()
            await pub.intent(addr(f"t{n}"), {"n": n})
            await asyncio.sleep(0.01)
        await eventually(lambda: _true(len(latencies) == 60), message="all handled")
    assert max(latencies) < 0.25, sorted(latencies)[-5:]
