"""A delivered JetStream message with its envelope and object address already parsed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
from nats.aio.msg import Msg

from shared.contracts import cloudevents, subjects


@dataclass(slots=True)
class Delivery:
    """One message handed to a handler.

    ``address`` is ``None`` when the subject is not an object subject (the handler decides
    whether that is invalid).
    """

    msg: Msg
    envelope: cloudevents.Envelope
    address: subjects.ObjectAddress | None
    stream_sequence: int
    num_delivered: int
    num_pending: int
    _json: Any = field(default=None, repr=False)
    _parsed: bool = field(default=False, repr=False)

    @classmethod
    def wrap(cls, msg: Msg, *, service: str) -> Delivery:
        meta = msg.metadata
        try:
            _, address = subjects.parse_object(msg.subject)
        except (subjects.SubjectError, ValueError):
            address = None
        default_type = cloudevents.type_name(service, address.kind if address else "unknown", "apply")
        envelope = cloudevents.Envelope.from_headers(
            msg.headers,
            default_type=default_type,
            default_source="unknown",
            # A bare-JSON publisher sent no id: the stream sequence identifies it uniquely.
            fallback_id=f"{subjects.INTENTS_STREAM}-{meta.sequence.stream}",
        )
        return cls(
            msg=msg,
            envelope=envelope,
            address=address,
            stream_sequence=meta.sequence.stream,
            num_delivered=meta.num_delivered,
            num_pending=meta.num_pending,
        )

    @property
    def subject(self) -> str:
        return self.msg.subject

    @property
    def headers(self) -> dict[str, str]:
        return dict(self.msg.headers or {})

    @property
    def data(self) -> bytes:
        return self.msg.data

    @property
    def key(self) -> str:
        """The per-object ordering key (the subject names exactly one object)."""
        return self.msg.subject

    def json(self) -> Any:
        """The payload parsed as JSON (cached). Raises ``orjson.JSONDecodeError``."""
        if not self._parsed:
            self._json = orjson.loads(self.msg.data)
            self._parsed = True
        return self._json
