"""Reading the status stream: the current state of every object, then its changes.

``KURATOR_STATUS`` keeps one message per subject, so "deliver the last message per subject"
is exactly the current state of every live object. :func:`snapshot` returns it and stops;
:func:`watch` returns it and then follows new messages for as long as the caller iterates.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import nats.errors
import orjson
import structlog
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js import JetStreamContext, api
from nats.js.errors import NotFoundError

from shared.contracts import subjects

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class StatusMessage:
    subject: str
    headers: dict[str, str]
    document: dict[str, Any]
    stream_sequence: int

    @property
    def causation_id(self) -> str | None:
        return self.headers.get("ce-causationid")

    @property
    def phase(self) -> str | None:
        status = self.document.get("status")
        return status.get("phase") if isinstance(status, dict) else None


def _status_message(msg: Msg) -> StatusMessage:
    try:
        seq = msg.metadata.sequence.stream
    except Exception:  # a core (non-JetStream) delivery carries no metadata
        seq = 0
    return StatusMessage(
        subject=msg.subject,
        headers=dict(msg.headers or {}),
        document=orjson.loads(msg.data),
        stream_sequence=seq,
    )


async def last(js: JetStreamContext, subject: str) -> StatusMessage | None:
    """The current status on one subject, or ``None``."""
    try:
        raw = await js.get_last_msg(subjects.STATUS_STREAM, subject, direct=True)
    except (NotFoundError, nats.errors.NoRespondersError):
        # No such message, or no status stream yet (no service ever started): nothing to show.
        return None
    return StatusMessage(
        subject=raw.subject or subject,
        headers=dict(raw.headers or {}),
        document=orjson.loads(raw.data or b"{}"),
        stream_sequence=raw.seq or 0,
    )


async def snapshot(js: JetStreamContext, filter_subject: str, *, batch: int = 512) -> list[StatusMessage]:
    """The last message of every status subject matching ``filter_subject`` (none if no stream)."""
    try:
        info = await js.add_consumer(
            subjects.STATUS_STREAM,
            config=api.ConsumerConfig(
                filter_subject=filter_subject,
                deliver_policy=api.DeliverPolicy.LAST_PER_SUBJECT,
                ack_policy=api.AckPolicy.NONE,
                inactive_threshold=30.0,
                mem_storage=True,
            ),
        )
    except NotFoundError:
        return []
    name = info.name
    remaining = info.num_pending or 0
    out: list[StatusMessage] = []
    try:
        if remaining == 0:
            return out
        sub = await js.pull_subscribe_bind(consumer=name, stream=subjects.STATUS_STREAM)
        try:
            while remaining > 0:
                msgs = await sub.fetch(min(batch, remaining), timeout=5)
                for msg in msgs:
                    out.append(_status_message(msg))
                    remaining = msg.metadata.num_pending
        finally:
            await sub.unsubscribe()
    finally:
        with contextlib.suppress(Exception):
            await js.delete_consumer(subjects.STATUS_STREAM, name)
    return out


async def _subscribe(js: JetStreamContext, filter_subject: str, cb: Callable[[Msg], Awaitable[None]]) -> Subscription:
    return await js.subscribe(
        filter_subject,
        cb=cb,
        ordered_consumer=True,
        deliver_policy=api.DeliverPolicy.LAST_PER_SUBJECT,
        stream=subjects.STATUS_STREAM,
    )


async def watch(js: JetStreamContext, filter_subject: str) -> AsyncIterator[StatusMessage]:
    """Current state of every matching object, then every change, until the caller stops."""
    queue: asyncio.Queue[Msg] = asyncio.Queue()

    async def on_msg(msg: Msg) -> None:
        queue.put_nowait(msg)

    sub = await _subscribe(js, filter_subject, on_msg)
    try:
        while True:
            yield _status_message(await queue.get())
    finally:
        with contextlib.suppress(Exception):
            await sub.unsubscribe()


async def follow(js: JetStreamContext, filter_subject: str, on: Callable[[Msg], None]) -> None:
    """Hand ``on`` the last message of every matching subject, then every new one, as each
    arrives, until cancelled: :func:`watch` for a reader that decides per message whether it
    is worth parsing (no queue, no parsed copy of every message in between). What ``on``
    raises is logged and skipped: one bad message must not stop the others."""

    async def deliver(msg: Msg) -> None:
        try:
            on(msg)
        except Exception:
            log.warning("reader.message_unreadable", subject=msg.subject, exc_info=True)

    sub = await _subscribe(js, filter_subject, deliver)
    try:
        await asyncio.Event().wait()
    finally:
        with contextlib.suppress(Exception):
            await sub.unsubscribe()
