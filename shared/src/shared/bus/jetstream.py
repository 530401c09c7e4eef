"""A lean JetStream publish: one reply subscription, a future per publish, no task per call.

nats-py's ``js.publish`` goes through ``nc.request``, which on Python 3.11 wraps every wait
in ``asyncio.wait_for`` (a new task per publish) and parses the acknowledgement with the
standard ``json`` module. A handled intent publishes twice (its KV record and its status),
so on the hot path that overhead was a measurable share of the service's CPU. Here every
publish shares one wildcard reply subscription and parses the acknowledgement with orjson.
Waits are bounded by one timer for all publishes in flight, set for the earliest deadline,
rather than a timer per publish (``asyncio.timeout`` schedules and cancels one every time,
though an acknowledgement practically always comes first). On the services' client
(``shared.bus.wire.Client``) headers may be given already encoded, and a message with headers
goes out through its one-call ``publish_headed``.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass

import orjson
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from shared.bus import wire

_Reply = tuple[bytes, dict[str, str] | None]
"""An acknowledgement's payload and headers."""
Headers = dict[str, str] | bytes
"""Headers, or (on a ``shared.bus.wire.Client`` only) the block ``wire.encode_headers`` makes of them."""

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
        self._raw_prefix = 0
        self._sub: Subscription | None = None
        self._waiting: dict[str, tuple[asyncio.Future[_Reply], float]] = {}
        """Reply token -> (its future, the loop time it times out at)."""
        self._ids = itertools.count()
        self._timer: asyncio.TimerHandle | None = None
        self._headed = nc.publish_headed if isinstance(nc, wire.Client) else None

    async def start(self) -> None:
        self._prefix = self._nc.new_inbox() + "."
        self._raw_prefix = len(self._prefix.encode())
        if isinstance(self._nc, wire.Client):
            self._sub = await self._nc.subscribe_inline(self._prefix + "*", self._on_raw_reply)
        else:
            self._sub = await self._nc.subscribe(self._prefix + "*", cb=self._on_reply)

    async def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._sub is not None:
            await self._sub.unsubscribe()
            self._sub = None

    async def publish(
        self,
        subject: str,
        payload: bytes,
        *,
        headers: Headers | None = None,
        timeout_seconds: float | None = None,
    ) -> PubAck:
        """Store ``payload`` on ``subject`` and wait for the stream's acknowledgement.

        Raises:
            NoStream: no stream captures the subject.
            PublishError: the stream refused it (e.g. a failed expected-sequence check).
            TimeoutError: no acknowledgement in time.
        """
        data, reply_headers = await self.request(subject, payload, headers=headers, timeout_seconds=timeout_seconds)
        if not data:
            status = (reply_headers or {}).get("Status", "")
            if status == "503":
                raise NoStream(subject)
            raise PublishError(int(status or 0), (reply_headers or {}).get("Description", "empty reply"))
        ack = orjson.loads(data)
        error = ack.get("error")
        if error:
            raise PublishError(int(error.get("err_code", 0)), str(error.get("description", "")))
        return PubAck(stream=ack["stream"], seq=int(ack["seq"]), duplicate=bool(ack.get("duplicate", False)))

    async def request(
        self,
        subject: str,
        payload: bytes = b"",
        *,
        headers: Headers | None = None,
        timeout_seconds: float | None = None,
    ) -> tuple[bytes, dict[str, str] | None]:
        """Send ``payload`` to ``subject`` and return the one reply's payload and headers (with
        ``Status``/``Description`` for a status reply), on the same reply subscription and timer
        as :meth:`publish`: for JetStream API requests on a hot path (a KV direct get).

        Raises:
            TimeoutError: no reply in time.
        """
        if self._sub is None:
            await self.start()
        token = str(next(self._ids))
        loop = asyncio.get_running_loop()
        future: asyncio.Future[_Reply] = loop.create_future()
        deadline = loop.time() + (timeout_seconds or self._timeout)
        self._waiting[token] = (future, deadline)
        if self._timer is None or self._timer.when() > deadline:
            self._arm(loop, deadline)
        try:
            if headers is None:
                await self._nc.publish(subject, payload, reply=self._prefix + token)
            elif self._headed is not None:
                await self._headed(subject, payload, self._prefix + token, headers)
            elif isinstance(headers, bytes):
                raise TypeError("encoded headers need a shared.bus.wire.Client")
            else:
                await self._nc.publish(subject, payload, reply=self._prefix + token, headers=headers)
            return await future
        finally:
            del self._waiting[token]

    async def _on_reply(self, msg: Msg) -> None:
        self._answer(msg.subject[len(self._prefix) :], msg.data, msg.headers)

    def _on_raw_reply(self, subject: bytes, data: bytes, headers: dict[str, str] | None) -> None:
        self._answer(subject[self._raw_prefix :].decode(), data, headers)

    def _answer(self, token: str, data: bytes, headers: dict[str, str] | None) -> None:
        waiting = self._waiting.get(token)
        if waiting is not None and not waiting[0].done():
            waiting[0].set_result((data, headers))

    def _arm(self, loop: asyncio.AbstractEventLoop, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = loop.call_at(when, self._expire, loop)

    def _expire(self, loop: asyncio.AbstractEventLoop) -> None:
        """Fail the publishes whose deadline passed; wait for the earliest one left."""
        self._timer = None
        now = loop.time()
        earliest: float | None = None
        for future, deadline in self._waiting.values():
            if future.done():
                continue
            if deadline <= now:
                future.set_exception(TimeoutError("no acknowledgement from JetStream in time"))
            elif earliest is None or deadline < earliest:
                earliest = deadline
        if earliest is not None:
            self._arm(loop, earliest)
