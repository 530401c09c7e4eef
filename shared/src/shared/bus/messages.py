"""A delivered JetStream message with its envelope and object address already parsed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
from nats.aio.msg import Msg

from shared.contracts import cloudevents, subjects

_V1_TOKENS = 9
"""``$JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<time>.<pending>``; the
newer form adds a domain and an account hash (nats-py's ``Msg.Ack`` indices)."""


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
        # Only three numbers of the reply subject are needed: nats-py's ``msg.metadata`` would
        # also make a datetime and three dataclasses of it for every intent.
        tokens = Msg.Metadata._get_metadata_fields(msg.reply)  # raises NotJSMessageError
        if len(tokens) == _V1_TOKENS:
            stream_sequence, delivered, pending = int(tokens[5]), int(tokens[4]), int(tokens[8])
        else:
            ack = Msg.Ack
            stream_sequence = int(tokens[ack.StreamSeq])
            delivered, pending = int(tokens[ack.NumDelivered]), int(tokens[ack.NumPending])
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
            fallback_id=f"{subjects.INTENTS_STREAM}-{stream_sequence}",
        )
        return cls(
            msg=msg,
            envelope=envelope,
            address=address,
            stream_sequence=stream_sequence,
            num_delivered=delivered,
            num_pending=pending,
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
