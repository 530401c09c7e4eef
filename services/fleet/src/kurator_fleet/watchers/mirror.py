"""The fleet's status subjects as the watchers last saw them: what is on the bus, per object.

The watchers publish status for objects the intent processor publishes too, so before
publishing they need two things per object: the processor's latest message (the desired
document and the kind handler's status, the base they merge into) and the latest message of
all (what a reader sees now, to publish only what would change it).

Start-up takes a consistent view: the stream's last sequence, then the last message of every
subject (:func:`shared.bus.reader.snapshot`), then an ordered consumer from just after that
sequence, so nothing falls between the two (a message seen twice is recognised by its
sequence). Messages are told apart by ``ce-source``: the watchers of every replica publish
as ``<source>/watchers`` (:func:`watcher_source`), anything else is the intent processor. This
replica's own messages are known from their acknowledgement already and are not decoded again,
also when the stream delivers one before its acknowledgement arrives (the usual order): while
the watchers publish to a subject (:meth:`StatusMirror.publishing`), the acknowledgement is
what records it. They are most of what the consumer delivers (every status the watchers
publish comes back), so on the services' client (:class:`shared.bus.wire.Client`) they are
dropped as the read loop parses them (:meth:`StatusMirror.known`), before nats-py makes a
message of them and hands it to this mirror's task.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import structlog
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js import JetStreamContext, api
from nats.js.errors import NotFoundError

from shared.bus import reader, wire
from shared.contracts import status, subjects

log = structlog.get_logger(__name__)

Document = dict[str, Any]

WATCHER_SUFFIX = "/watchers"


def watcher_source(replica_source: str) -> str:
    """The ``ce-source`` of the watchers' messages, from the replica's own source."""
    return replica_source + WATCHER_SUFFIX


def _from_watchers(headers: dict[str, str]) -> bool:
    return headers.get("ce-source", "").endswith(WATCHER_SUFFIX)


@dataclass(slots=True)
class Entry:
    """One status subject."""

    handler: Document | None = None
    """The latest document the intent processor published (``None``: no intent ever did)."""
    handler_seq: int = 0
    latest: Document | None = None
    """The latest document on the subject, whoever published it."""
    latest_seq: int = 0

    @property
    def handler_deleted(self) -> bool:
        """The processor published a ``Deleted`` status last: the object is going, hands off."""
        return self.handler is not None and (self.handler.get("status") or {}).get("phase") == status.DELETED


OnMessage = Callable[[subjects.ObjectAddress, Entry], None]
"""Called after a message this replica's watchers did not publish (the processor's, or another
replica's) changed an entry."""


class StatusMirror:
    def __init__(
        self,
        js: JetStreamContext,
        *,
        own_source: str,
        on_message: OnMessage | None = None,
        nc: Client | None = None,
    ) -> None:
        """``nc``: the connection under ``js``; when it is a :class:`shared.bus.wire.Client`,
        this replica's own messages are dropped as they are read."""
        self._js = js
        self._nc = nc
        self._own = own_source
        self._own_line = b"\r\nce-source: " + own_source.encode() + b"\r\n"
        """The header line of this replica's watchers' messages, as it is on the wire."""
        self._on_message = on_message
        self._entries: dict[subjects.ObjectAddress, Entry] = {}
        self._inflight: dict[str, int] = {}
        """Status subjects the watchers are publishing to, with how many messages in flight."""
        self._sub: Subscription | None = None

    async def start(self) -> None:
        """Load the current state of every fleet status subject, then follow changes."""
        try:
            info = await self._js.stream_info(subjects.STATUS_STREAM)
            last = int(info.state.last_seq or 0)
        except NotFoundError:
            last = 0
        for found in await reader.snapshot(self._js, subjects.statuses("fleet")):
            self._apply(found.subject, found.stream_sequence, found.headers, found.document)
        self._sub = await self._js.subscribe(
            subjects.statuses("fleet"),
            cb=self._on_msg,
            stream=subjects.STATUS_STREAM,
            ordered_consumer=True,
            config=api.ConsumerConfig(deliver_policy=api.DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=last + 1),
            pending_msgs_limit=-1,
        )
        if isinstance(self._nc, wire.Client):
            self._nc.skip_deliveries(self._sub, self.known)
        log.info("watchers.mirror_loaded", subjects=len(self._entries), from_sequence=last + 1)

    async def refresh(self) -> None:
        """Compare with a fresh read of the bus (the periodic resync): entries purged behind our
        back are forgotten, so what should be there is published again."""
        try:
            info = await self._js.stream_info(subjects.STATUS_STREAM)
            last = int(info.state.last_seq or 0)
        except NotFoundError:
            last = 0
        present = set()
        for found in await reader.snapshot(self._js, subjects.statuses("fleet")):
            self._apply(found.subject, found.stream_sequence, found.headers, found.document)
            address = self._address(found.subject)
            if address is not None:
                present.add(address)
        for address, entry in list(self._entries.items()):
            if address not in present and entry.latest_seq <= last:
                del self._entries[address]

    async def stop(self) -> None:
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()
            self._sub = None

    def get(self, address: subjects.ObjectAddress) -> Entry | None:
        return self._entries.get(address)

    def items(self, kind: str | None = None) -> Iterator[tuple[subjects.ObjectAddress, Entry]]:
        for address, entry in list(self._entries.items()):
            if kind is None or address.kind == kind:
                yield address, entry

    @contextlib.contextmanager
    def publishing(self, address: subjects.ObjectAddress) -> Iterator[None]:
        """Around the watchers' publish to ``address``: their message is recorded from the
        acknowledgement (:meth:`published`), so its delivery is not decoded meanwhile."""
        subject = self.publish_begins(address)
        try:
            yield
        finally:
            self.publish_ends(subject)

    def publish_begins(self, address: subjects.ObjectAddress) -> str:
        """:meth:`publishing` without a generator, for the writer's every publish: returns
        the subject to hand to :meth:`publish_ends` (in a ``finally``)."""
        subject = _status_subject(address)
        self._inflight[subject] = self._inflight.get(subject, 0) + 1
        return subject

    def publish_ends(self, subject: str) -> None:
        left = self._inflight[subject] - 1
        if left:
            self._inflight[subject] = left
        else:
            del self._inflight[subject]

    def published(self, address: subjects.ObjectAddress, *, seq: int, document: Document) -> None:
        """Record a message the watchers just published (from its acknowledgement)."""
        entry = self._entries.setdefault(address, Entry())
        if seq > entry.latest_seq:
            entry.latest, entry.latest_seq = document, seq

    def forget(self, address: subjects.ObjectAddress) -> None:
        """The subject was purged."""
        self._entries.pop(address, None)

    def known(self, subject: bytes, reply: bytes, headers: bytes) -> bool:
        """Whether a delivery, as received, is this replica's own message that :meth:`_on_msg`
        would ignore: being published (the acknowledgement records it) or recorded already."""
        if self._own_line not in headers:
            return False
        text = subject.decode()
        if text in self._inflight:
            return True
        entry = self._entries.get(_address_of(text) or _NOWHERE)
        seq = _stream_sequence(reply.decode())
        return entry is not None and seq is not None and entry.latest_seq >= seq

    async def _on_msg(self, msg: Msg) -> None:
        headers = msg.headers or {}
        own = headers.get("ce-source") == self._own
        if own and msg.subject in self._inflight:
            return  # the acknowledgement records it
        seq = _stream_sequence(msg.reply)
        if seq is None:  # not a JetStream delivery (cannot happen on this subscription)
            return
        if own:
            entry = self._entries.get(self._address(msg.subject) or _NOWHERE)
            if entry is not None and entry.latest_seq >= seq:
                return  # known from the acknowledgement
        try:
            document = orjson.loads(msg.data)
        except orjson.JSONDecodeError:
            return
        self._apply(msg.subject, seq, headers, document)

    def _apply(self, subject: str, seq: int, headers: dict[str, str], document: Any) -> None:
        address = self._address(subject)
        if address is None or not isinstance(document, dict):
            return
        entry = self._entries.setdefault(address, Entry())
        processor = not _from_watchers(headers)
        if processor and seq > entry.handler_seq:
            entry.handler, entry.handler_seq = document, seq
        if seq > entry.latest_seq:
            entry.latest, entry.latest_seq = document, seq
        if headers.get("ce-source") != self._own and self._on_message is not None:
            self._on_message(address, entry)

    @staticmethod
    def _address(subject: str) -> subjects.ObjectAddress | None:
        return _address_of(subject)


@functools.lru_cache(maxsize=65536)
def _address_of(subject: str) -> subjects.ObjectAddress | None:
    """The object a status subject names (decoded once per subject: each gets many messages)."""
    try:
        return subjects.parse_object(subject)[1]
    except subjects.SubjectError:
        return None


_NOWHERE = subjects.ObjectAddress("fleet", "none", None, "none")


def _stream_sequence(reply: str | None) -> int | None:
    """The stream sequence in a JetStream delivery's reply subject, read as nats-py's
    ``Msg.metadata`` reads it without building the rest (most deliveries need only this):
    ``$JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>...``, or with a domain and an
    account hash after ``ACK`` (the v2 form, 11 or 12 tokens)."""
    if not reply:
        return None
    tokens = reply.split(".")
    if len(tokens) < 9 or tokens[0] != "$JS" or tokens[1] != "ACK":
        return None
    try:
        return int(tokens[5] if len(tokens) == 9 else tokens[7])
    except ValueError:
        return None


_status_subject = functools.lru_cache(maxsize=65536)(subjects.status)
"""An object's status subject, encoded once rather than on every publish."""
