"""The consume loop every service runs: one durable pull consumer, shared by all replicas.

This module is the one place where a handler's typed errors become JetStream
acknowledgements (see ``shared.errors`` for the table). It also keeps messages about one
object in order (they share a subject, and a subject is served by at most one task at a
time in this replica) while different objects run concurrently, and it bounds the number
of messages held at once (``max_in_flight``): it only fetches as many as it has room for.

Cross-cutting concerns (traces, logs, metrics) are middlewares around the settle step, so
they see the final :class:`Settlement` of every message.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any

import orjson
import structlog
from nats.aio.client import Client
from nats.aio.msg import Msg

from shared import errors
from shared.bus import messages, pull
from shared.bus.publisher import Publisher
from shared.contracts import cloudevents, outcomes, subjects

log = structlog.get_logger(__name__)


class Outcome(StrEnum):
    ACKED = "acked"
    REJECTED = "rejected"
    """Invalid: rejection event published, message terminated."""
    SKIPPED = "skipped"
    """Benign: nothing to do (stale or duplicate), acknowledged."""
    RETRIED = "retried"
    """Transient failure: negatively acknowledged with a delay."""
    DEAD_LETTERED = "dead_lettered"
    """Failed ``max_deliver`` times: copied to the DLQ, terminated."""
    ABANDONED = "abandoned"
    """Shutdown came first: negatively acknowledged for another replica to take."""


@dataclass(frozen=True, slots=True)
class Settlement:
    outcome: Outcome
    error: BaseException | None = None
    retry_in: timedelta | None = None


Handler = Callable[[messages.Delivery], Awaitable[None]]
Next = Callable[[messages.Delivery], Awaitable[Settlement]]
Middleware = Callable[[messages.Delivery, Next], Awaitable[Settlement]]


@dataclass(frozen=True, slots=True, kw_only=True)
class ConsumerOptions:
    service: str
    max_in_flight: int = 512
    """Messages held by this replica at once (being handled or queued behind their object)."""
    fetch_batch: int = 256
    """Least room worth a new pull request (smaller top-ups wait for more room)."""
    pull_expires: timedelta = timedelta(seconds=5)
    """Lifetime of one pull request; idle replicas renew theirs this often."""
    max_deliver: int = 5
    """Must equal the consumer's ``max_deliver``: the last delivery goes to the DLQ on failure."""
    backoff_base: timedelta = timedelta(milliseconds=500)
    backoff_max: timedelta = timedelta(seconds=30)


def backoff(options: ConsumerOptions, deliveries: int) -> timedelta:
    """Capped exponential back-off for an unexpected failure on delivery ``deliveries``."""
    delay: timedelta = options.backoff_base * (2 ** max(0, deliveries - 1))
    return min(delay, options.backoff_max)


def intent_ref(delivery: messages.Delivery) -> outcomes.IntentRef:
    addr = delivery.address
    return outcomes.IntentRef(
        subject=delivery.subject,
        id=delivery.envelope.id,
        sequence=delivery.stream_sequence,
        verb=cloudevents.verb_of(delivery.envelope.type),
        kind=addr.kind if addr else None,
        namespace=addr.namespace if addr else None,
        name=addr.name if addr else None,
    )


def _payload_for_dlq(data: bytes) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return data.decode("utf-8", errors="replace")


class Settler:
    """Runs the handler and turns its result into exactly one acknowledgement."""

    def __init__(self, *, handler: Handler, publisher: Publisher, options: ConsumerOptions) -> None:
        self._handler = handler
        self._publisher = publisher
        self._options = options

    async def __call__(self, delivery: messages.Delivery) -> Settlement:
        msg = delivery.msg
        try:
            await self._handler(delivery)
        except errors.InvalidIntent as exc:
            rejection = outcomes.Rejection(
                service=self._options.service,
                intent=intent_ref(delivery),
                reasons=list(exc.reasons),
                time=cloudevents.now_rfc3339(),
            )
            try:
                await self._publisher.rejection(rejection)
            except Exception as pub_exc:  # the rejection must not be lost: try again later
                return await self._retry(delivery, pub_exc, backoff(self._options, delivery.num_delivered))
            await msg.term()
            return Settlement(Outcome.REJECTED, exc)
        except errors.BenignError as exc:
            await msg.ack()
            return Settlement(Outcome.SKIPPED, exc)
        except errors.RetryableError as exc:
            return await self._retry(delivery, exc, exc.delay)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await msg.nak()
            raise
        except Exception as exc:
            return await self._retry(delivery, exc, backoff(self._options, delivery.num_delivered))
        await msg.ack()
        return Settlement(Outcome.ACKED)

    async def _retry(self, delivery: messages.Delivery, exc: BaseException, delay: timedelta) -> Settlement:
        msg = delivery.msg
        if delivery.num_delivered >= self._options.max_deliver:
            letter = outcomes.DeadLetter(
                service=self._options.service,
                intent=intent_ref(delivery),
                error=f"{type(exc).__name__}: {exc}",
                deliveries=delivery.num_delivered,
                headers=delivery.headers,
                data=_payload_for_dlq(delivery.data),
                time=cloudevents.now_rfc3339(),
            )
            try:
                await self._publisher.dead_letter(letter)
            except Exception:
                # The DLQ is unreachable: leave the message to the server's redelivery limit
                # rather than lose it silently (it stays in KURATOR_INTENTS either way).
                await msg.nak(delay=delay.total_seconds())
                return Settlement(Outcome.RETRIED, exc, delay)
            await msg.term()
            return Settlement(Outcome.DEAD_LETTERED, exc)
        await msg.nak(delay=delay.total_seconds())
        return Settlement(Outcome.RETRIED, exc, delay)


def chain(settle: Next, middlewares: Sequence[Middleware]) -> Next:
    """Wrap ``settle`` so the first middleware is outermost."""
    call = settle
    for mw in reversed(middlewares):
        call = _bind(mw, call)
    return call


def _bind(mw: Middleware, nxt: Next) -> Next:
    async def call(delivery: messages.Delivery) -> Settlement:
        return await mw(delivery, nxt)

    return call


class IntentConsumer:
    """Pulls a service's intents and dispatches them: in order per object, bounded overall."""

    def __init__(
        self,
        nc: Client,
        *,
        publisher: Publisher,
        handler: Handler,
        options: ConsumerOptions,
        middlewares: Sequence[Middleware] = (),
    ) -> None:
        self._nc = nc
        self._options = options
        self._call = chain(Settler(handler=handler, publisher=publisher, options=options), middlewares)
        self._queues: dict[str, deque[messages.Delivery]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._in_flight = 0
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._pull: pull.StreamingPull | None = None
        self.running = False

    @property
    def in_flight(self) -> int:
        return self._in_flight

    async def run(self) -> None:
        """Pull and dispatch until :meth:`stop`."""
        opts = self._options
        self._pull = puller = pull.StreamingPull(
            self._nc,
            stream=subjects.INTENTS_STREAM,
            consumer=f"kurator-{opts.service}",
            on_message=self._arrived,
            on_credit_change=self._wake.set,
            expires=opts.pull_expires,
        )
        await puller.start()
        self.running = True
        try:
            await self._pull_loop(puller)
        finally:
            self.running = False

    async def _pull_loop(self, puller: pull.StreamingPull) -> None:
        opts = self._options
        # Ask again once a useful amount of room opened up, not for every settled message.
        min_request = min(opts.fetch_batch, max(1, opts.max_in_flight // 4))
        while not self._stopping.is_set():
            self._wake.clear()
            await puller.top_up(opts.max_in_flight - self._in_flight, min_request=min_request)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=opts.pull_expires.total_seconds())

    def _arrived(self, msg: Msg) -> None:
        if self._stopping.is_set():
            # Delivered while stopping: hand it straight back for another replica.
            task = asyncio.create_task(msg.nak())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return
        self._dispatch(messages.Delivery.wrap(msg, service=self._options.service))

    def _dispatch(self, delivery: messages.Delivery) -> None:
        self._in_flight += 1
        queue = self._queues.get(delivery.key)
        if queue is not None:
            queue.append(delivery)  # the object's task takes it next, keeping stream order
            return
        self._queues[delivery.key] = deque()
        task = asyncio.create_task(self._serve_object(delivery.key, delivery))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve_object(self, key: str, first: messages.Delivery) -> None:
        delivery: messages.Delivery | None = first
        try:
            while delivery is not None:
                try:
                    await self._call(delivery)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    # Only a broken middleware gets here; the settler already caught handler errors.
                    log.exception("consumer.middleware_failed", subject=delivery.subject)
                    with contextlib.suppress(Exception):
                        await delivery.msg.nak(delay=1)
                self._release()
                queue = self._queues[key]
                # No await between this check and the delete below: a message dispatched
                # meanwhile would otherwise be stranded in a queue nobody serves.
                delivery = queue.popleft() if queue else None
        finally:
            leftover = self._queues.pop(key, deque())
            for pending in leftover:  # only on cancellation: give them back to the stream
                with contextlib.suppress(Exception):
                    await pending.msg.nak()
                self._release()

    def _release(self) -> None:
        self._in_flight -= 1
        self._wake.set()

    async def stop(self, *, deadline: timedelta = timedelta(seconds=10)) -> None:
        """Stop pulling, let in-flight messages finish until ``deadline``, then give back the rest."""
        self._stopping.set()
        self._wake.set()
        tasks = set(self._tasks)
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=deadline.total_seconds())
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
        if self._pull is not None:
            with contextlib.suppress(Exception):
                await self._pull.stop()
