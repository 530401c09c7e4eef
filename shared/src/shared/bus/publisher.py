"""Publishing intents, status and events as CloudEvents (binary mode) on JetStream.

Every message gets the ``ce-*`` headers, ``Nats-Msg-Id`` = ``ce-id`` and the current trace
context. Publishes wait for the stream's acknowledgement (``shared.bus.jetstream``): a
handler acknowledges its intent only after what it published is stored.

Raises ``shared.bus.jetstream.NoStream`` when no stream captures a subject (no service has
declared the streams yet) and ``PublishError`` when the stream refuses a message.

On the services' client (``shared.bus.wire.Client``) a message without trace context gets its
header block from a template (:class:`HeaderBlocks`) instead of a dictionary encoded header by
header: the same bytes, for about half the work.
"""

from __future__ import annotations

from typing import Any, Final

import orjson
from nats.aio.client import Client

from shared.bus import jetstream, tracecontext, wire
from shared.contracts import cloudevents, outcomes, subjects

_REMEMBERED_OBJECTS = 65_536
"""Objects whose status names are kept; past that the memory starts afresh."""
_REMEMBERED_TEMPLATES: Final = 1024
"""Header templates kept (one per type and set of attributes present: a handful per publisher)."""

_SLOTS: Final = {name: f"\x00{name}\x00" for name in ("id", "time", "subject", "cause", "result")}
"""Stand-ins for the values that change from message to message, placed where they go by
``Envelope.headers`` itself."""
_Key = tuple[str, bool, bool, bool]
"""A template's ``ce-type`` and whether it has a subject, a causation id and a result."""


def _plain(value: str) -> bool:
    """Whether :func:`shared.bus.wire.encode_headers` sends ``value`` as it is."""
    return "\n" not in value and "\r" not in value and value.strip() == value


class HeaderBlocks:
    """The header blocks of one source's messages without trace context, from templates.

    A template is what :func:`shared.bus.wire.encode_headers` makes of
    ``Envelope.headers()`` (plus ``Kurator-Result``) with stand-ins for the values that change,
    so the order and names stay the contract's own. A value that encoding would change (blanks
    around it, a line break) gets no block: the caller encodes the dictionary instead.
    """

    def __init__(self, source: str) -> None:
        self._source = source
        self._templates: dict[_Key, str | None] = {}

    def block(
        self, *, id: str, type: str, time: str, subject: str | None, causation_id: str | None, result: str | None
    ) -> bytes | None:
        key = (type, bool(subject), bool(causation_id), bool(result))
        template = self._templates.get(key, "")
        if template == "":
            if len(self._templates) >= _REMEMBERED_TEMPLATES:
                self._templates.clear()
            template = self._templates[key] = self._template(key)
        if template is None or not (_plain(id) and _plain(time)):
            return None
        values = {"id": id, "time": time, "subject": subject, "cause": causation_id, "result": result}
        if (subject and not _plain(subject)) or (causation_id and not _plain(causation_id)):
            return None
        if result and not _plain(result):
            return None
        return (template % values).encode()

    def _template(self, key: _Key) -> str | None:
        type, with_subject, with_cause, with_result = key
        envelope = cloudevents.Envelope(
            id=_SLOTS["id"],
            source=self._source,
            type=type,
            time=_SLOTS["time"],
            subject=_SLOTS["subject"] if with_subject else None,
            causation_id=_SLOTS["cause"] if with_cause else None,
        )
        headers = envelope.headers()
        if with_result:
            headers[cloudevents.RESULT_HEADER] = _SLOTS["result"]
        if not all(_plain(v) for v in headers.values()) or "\x00" in self._source + type:
            return None  # a source or type that encoding changes (or that holds a stand-in): the encoder's
        text = wire.encode_headers(headers).decode().replace("%", "%%")
        for name, slot in _SLOTS.items():
            text = text.replace(slot, f"%({name})s")
        return text


def encode(payload: Any) -> bytes:
    return payload if isinstance(payload, bytes) else orjson.dumps(payload)


class Publisher:
    """Publishes on behalf of one component (``source`` is its CloudEvents source)."""

    def __init__(self, nc: Client, *, source: str, timeout_seconds: float = 5.0) -> None:
        self._js = nc.jetstream()
        self._jsp = jetstream.JetStreamPublisher(nc, timeout_seconds=timeout_seconds)
        self.source = source
        self._blocks = HeaderBlocks(source) if isinstance(nc, wire.Client) else None
        """Header blocks from templates, on a client that sends them as they are."""
        self._status_names: dict[subjects.ObjectAddress, tuple[str, str, str]] = {}
        """Status subject, ``ce-type`` and ``ce-subject`` by object: an object's status is
        published many times over (each Karmada step), and building its subject checks every token."""

    @property
    def js_publisher(self) -> jetstream.JetStreamPublisher:
        """The lean acknowledged publish, for other writers on the same connection (the KV store)."""
        return self._jsp

    async def publish(
        self,
        subject: str,
        payload: Any,
        *,
        ce_type: str,
        ce_subject: str | None = None,
        causation_id: str | None = None,
        envelope: cloudevents.Envelope | None = None,
    ) -> tuple[cloudevents.Envelope, jetstream.PubAck]:
        env = envelope or cloudevents.Envelope.new(
            source=self.source, type=ce_type, subject=ce_subject, causation_id=causation_id
        )
        blocks = self._usable_blocks()
        if blocks is not None and env.source == self.source:
            block = blocks.block(
                id=env.id, type=env.type, time=env.time, subject=env.subject, causation_id=env.causation_id, result=None
            )
            if block is not None:
                return env, await self._jsp.publish(subject, encode(payload), headers=block)
        headers = tracecontext.inject(env.headers())
        ack = await self._jsp.publish(subject, encode(payload), headers=headers)
        return env, ack

    def _usable_blocks(self) -> HeaderBlocks | None:
        """The templates, if this message can be made from one: no trace context to carry."""
        return self._blocks if self._blocks is not None and tracecontext.adds_nothing() else None

    def _new_block(self, type: str, subject: str | None, causation_id: str | None, result: str | None) -> bytes | None:
        """The header block of a new message (a fresh id, the current time), or ``None``: encode
        the headers (see :meth:`_usable_blocks`)."""
        blocks = self._usable_blocks()
        if blocks is None:
            return None
        return blocks.block(
            id=cloudevents.new_id(),
            type=type,
            time=cloudevents.now_rfc3339(),
            subject=subject,
            causation_id=causation_id,
            result=result,
        )

    async def intent(
        self, address: subjects.ObjectAddress, document: Any, *, verb: str = cloudevents.APPLY
    ) -> tuple[cloudevents.Envelope, jetstream.PubAck]:
        """Publish an apply or delete intent for one object."""
        return await self.publish(
            subjects.intent(address),
            document,
            ce_type=cloudevents.type_name(address.service, address.kind, verb),
            ce_subject=address.display(),
        )

    async def status(
        self,
        address: subjects.ObjectAddress,
        document: Any,
        *,
        causation_id: str | None,
        result: str | None = None,
    ) -> jetstream.PubAck:
        """Publish an object's current status.

        ``result`` (``created``, ``updated``, ``unchanged``, ``deleted``) goes in the
        ``Kurator-Result`` header, for the publisher of ``causation_id`` to report.
        """
        names = self._status_names.get(address)
        if names is None:
            if len(self._status_names) >= _REMEMBERED_OBJECTS:
                self._status_names.clear()
            names = self._status_names[address] = (
                subjects.status(address),
                cloudevents.type_name(address.service, address.kind, "status"),
                address.display(),
            )
        subject, ce_type, ce_subject = names
        block = self._new_block(ce_type, ce_subject, causation_id, result)
        if block is not None:
            return await self._jsp.publish(subject, encode(document), headers=block)
        headers = cloudevents.headers(source=self.source, type=ce_type, subject=ce_subject, causation_id=causation_id)
        tracecontext.inject(headers)
        if result:
            headers[cloudevents.RESULT_HEADER] = result
        return await self._jsp.publish(subject, encode(document), headers=headers)

    async def purge_status(self, address: subjects.ObjectAddress, *, up_to_sequence: int) -> None:
        """Drop a deleted object from the last-value cache (messages below ``up_to_sequence``)."""
        await self._js.purge_stream(subjects.STATUS_STREAM, subject=subjects.status(address), seq=up_to_sequence)

    async def event(
        self,
        *,
        service: str,
        kind: str,
        name: str,
        payload: Any,
        ce_subject: str | None = None,
        causation_id: str | None = None,
    ) -> jetstream.PubAck:
        ce_type = cloudevents.type_name(service, kind, name)
        subject = subjects.event(service, kind, name)
        block = self._new_block(ce_type, ce_subject, causation_id, None)
        if block is not None:
            return await self._jsp.publish(subject, encode(payload), headers=block)
        headers = cloudevents.headers(source=self.source, type=ce_type, subject=ce_subject, causation_id=causation_id)
        tracecontext.inject(headers)
        return await self._jsp.publish(subject, encode(payload), headers=headers)

    async def rejection(self, rejection: outcomes.Rejection) -> jetstream.PubAck:
        _, ack = await self.publish(
            subjects.rejected(rejection.service),
            rejection.model_dump(mode="json", by_alias=True, exclude_none=True),
            ce_type=cloudevents.type_name(rejection.service, "intent", "rejected"),
            ce_subject=rejection.intent.subject,
            causation_id=rejection.intent.id,
        )
        return ack

    async def dead_letter(self, letter: outcomes.DeadLetter) -> jetstream.PubAck:
        _, ack = await self.publish(
            subjects.dlq(letter.service),
            letter.model_dump(mode="json", by_alias=True, exclude_none=True),
            ce_type=cloudevents.type_name(letter.service, "intent", "deadlettered"),
            ce_subject=letter.intent.subject,
            causation_id=letter.intent.id,
        )
        return ack
