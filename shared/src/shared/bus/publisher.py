"""Publishing intents, status and events as CloudEvents (binary mode) on JetStream.

Every message gets the ``ce-*`` headers, ``Nats-Msg-Id`` = ``ce-id`` and the current trace
context. Publishes wait for the stream's acknowledgement (``shared.bus.jetstream``): a
handler acknowledges its intent only after what it published is stored.

Raises ``shared.bus.jetstream.NoStream`` when no stream captures a subject (no service has
declared the streams yet) and ``PublishError`` when the stream refuses a message.
"""

from __future__ import annotations

from typing import Any

import orjson
from nats.aio.client import Client

from shared.bus import jetstream, tracecontext
from shared.contracts import cloudevents, outcomes, subjects

_REMEMBERED_OBJECTS = 65_536
"""Objects whose status names are kept; past that the memory starts afresh."""


def encode(payload: Any) -> bytes:
    return payload if isinstance(payload, bytes) else orjson.dumps(payload)


class Publisher:
    """Publishes on behalf of one component (``source`` is its CloudEvents source)."""

    def __init__(self, nc: Client, *, source: str, timeout_seconds: float = 5.0) -> None:
        self._js = nc.jetstream()
        self._jsp = jetstream.JetStreamPublisher(nc, timeout_seconds=timeout_seconds)
        self.source = source
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
        headers = tracecontext.inject(env.headers())
        ack = await self._jsp.publish(subject, encode(payload), headers=headers)
        return env, ack

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
        headers = cloudevents.headers(
            source=self.source,
            type=cloudevents.type_name(service, kind, name),
            subject=ce_subject,
            causation_id=causation_id,
        )
        tracecontext.inject(headers)
        return await self._jsp.publish(subjects.event(service, kind, name), encode(payload), headers=headers)

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
