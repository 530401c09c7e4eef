"""A lean JetStream publish: one reply subscription, a future per publish, no task per call.

nats-py's ``js.publish`` goes through ``nc.request``, which on Python 3.11 wraps every wait
in ``asyncio.wait_for`` (a new task per publish) and parses the acknowledgement with the
standard ``json`` module. A handled intent publishes twice (its KV record and its status),
so on the hot path that overhead was a measurable share of the service's CPU. Here every
publish shares one wildcard reply subscription, waits under ``asyncio.timeout`` and parses
the acknowledgement with orjson.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass
from typing import Any

import orjson
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

EXPECTED_LAST_SUBJECT_SEQUENCE = "Nats-Expected-Last-Subject-Sequence"
WRONG_LAST_SEQUENCE = 10071


class PublishError(Exception):
    """JetStream refused the message (``code`` is its error code, e.g. 10071)."""

    def __init__(self, code: int, description: str) -> None:
        self.code = code
        self.description = description
        super().__init__(f"{code}: {description}")


class NoStream(PublishError):  # noqa: N818 - reads as the condition
    """No stream captures the subject (the server answered 'no responders')."""

    def __init__(self, subject: str) -> None:
        super().__init__(503, f"no stream captures {subject}")


@dataclass(frozen=True, slots=True)
class PubAck:
    stream: str
    seq: int
    duplicate: bool = False


class JetStreamPublisher:
    def __init__(self, nc: Client, *, timeout_seconds: float = 5.0) -> None:
        self._nc = nc
        self._timeout = timeout_seconds
        self._prefix = ""
        self._sub: Subscription | None = None
        self._futures: dict[str, asyncio.Future[Any]] = {}
        self._ids = itertools.count()

    async def start(self) -> None:
        self._prefix = self._nc.new_inbox() + "."
        self._sub = await self._nc.subscribe(self._prefix + "*", cb=self._on_reply)

    async def stop(self) -> None:
        if self._sub is not None:
            await self._sub.unsubscribe()
            self._sub = None

    async def publish(
        self,
        subject: str,
        payload: bytes,
        *,
        headers: dict[str, str] | None = None,
        timeout_seconds: float | None = None,
    ) -> PubAck:
        """Store ``payload`` on ``subject`` and wait for the stream's acknowledgement.

        Raises:
            NoStream: no stream captures the subject.
            PublishError: the stream refused it (e.g. a failed expected-sequence check).
            TimeoutError: no acknowledgement in time.
        """
        if self._sub is None:
            await self.start()
        token = str(next(self._ids))
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._futures[token] = future
        try:
            await self._nc.publish(subject, payload, reply=self._prefix + token, headers=headers)
            async with asyncio.timeout(timeout_seconds or self._timeout):
                reply: Msg = await future
        finally:
            self._futures.pop(token, None)
        if not reply.data:
            status = (reply.headers or {}).get("Status", "")
            if status == "503":
                raise NoStream(subject)
            raise PublishError(int(status or 0), (reply.headers or {}).get("Description", "empty reply"))
        ack = orjson.loads(reply.data)
        error = ack.get("error")
        if error:
            raise PublishError(int(error.get("err_code", 0)), str(error.get("description", "")))
        return PubAck(stream=ack["stream"], seq=int(ack["seq"]), duplicate=bool(ack.get("duplicate", False)))

    async def _on_reply(self, msg: Msg) -> None:
        future = self._futures.get(msg.subject[len(self._prefix) :])
        if future is not None and not future.done():
            future.set_result(msg)
