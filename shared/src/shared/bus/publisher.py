"""Publishing intents, status and events as CloudEvents (binary mode) on JetStream.

Every message gets the ``ce-*`` headers, ``Nats-Msg-Id`` = ``ce-id`` and the current trace
context. Publishes wait for the stream's acknowledgement: a handler acknowledges its intent
only after what it published is stored.
"""

from __future__ import annotations

from typing import Any

import orjson
from nats.js import JetStreamContext, api

from shared.bus import tracecontext
from shared.contracts import cloudevents, outcomes, subjects


def encode(payload: Any) -> bytes:
    return payload if isinstance(payload, bytes) else orjson.dumps(payload)


class Publisher:
    """Publishes on behalf of one component (``source`` is its CloudEvents source)."""

    def __init__(self, js: JetStreamContext, *, source: str, timeout_seconds: float = 5.0) -> None:
        self._js = js
        self.source = source
        self._timeout = timeout_seconds

    async def publish(
        self,
        subject: str,
        payload: Any,
        *,
        ce_type: str,
        ce_subject: str | None = None,
        causation_id: str | None = None,
        envelope: cloudevents.Envelope | None = None,
    ) -> tuple[cloudevents.Envelope, api.PubAck]:
        env = envelope or cloudevents.Envelope.new(
            source=self.source, type=ce_type, subject=ce_subject, causation_id=causation_id
        )
        headers = tracecontext.inject(env.headers())
        ack = await self._js.publish(subject, encode(payload), timeout=self._timeout, headers=headers)
        return env, ack

    async def intent(
        self, address: subjects.ObjectAddress, document: Any, *, verb: str = cloudevents.APPLY
    ) -> tuple[cloudevents.Envelope, api.PubAck]:
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
    ) -> api.PubAck:
        """Publish an object's current status.

        ``result`` (``created``, ``updated``, ``unchanged``, ``deleted``) goes in the
        ``Kurator-Result`` header, for the publisher of ``causation_id`` to report.
        """
        env = cloudevents.Envelope.new(
            source=self.source,
            type=cloudevents.type_name(address.service, address.kind, "status"),
            subject=address.display(),
            causation_id=causation_id,
        )
        headers = tracecontext.inject(env.headers())
        if result:
            headers[cloudevents.RESULT_HEADER] = result
        return await self._js.publish(
            subjects.status(address), encode(document), timeout=self._timeout, headers=headers
        )

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
    ) -> api.PubAck:
        _, ack = await self.publish(
            subjects.event(service, kind, name),
            payload,
            ce_type=cloudevents.type_name(service, kind, name),
            ce_subject=ce_subject,
            causation_id=causation_id,
        )
        return ack

    async def rejection(self, rejection: outcomes.Rejection) -> api.PubAck:
        _, ack = await self.publish(
            subjects.rejected(rejection.service),
            rejection.model_dump(mode="json", by_alias=True, exclude_none=True),
            ce_type=cloudevents.type_name(rejection.service, "intent", "rejected"),
            ce_subject=rejection.intent.subject,
            causation_id=rejection.intent.id,
        )
        return ack

    async def dead_letter(self, letter: outcomes.DeadLetter) -> api.PubAck:
        _, ack = await self.publish(
            subjects.dlq(letter.service),
            letter.model_dump(mode="json", by_alias=True, exclude_none=True),
            ce_type=cloudevents.type_name(letter.service, "intent", "deadlettered"),
            ce_subject=letter.intent.subject,
            causation_id=letter.intent.id,
        )
        return ack
