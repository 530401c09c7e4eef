"""CloudEvents 1.0 in NATS binary mode: the ``ce-*`` headers of every kurator-py message.

Publishers set every attribute; a receiver accepts bare JSON too and fills what is missing
(:meth:`Envelope.from_headers`). ``Nats-Msg-Id`` equals ``ce-id`` so JetStream drops a
message published twice within the stream's duplicate window. ``ce-causationid`` (a
CloudEvents extension) names the intent a status or rejection answers, so a publisher can
wait for the outcome of exactly its own intent.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

SPECVERSION: Final = "1.0"
CONTENT_TYPE: Final = "application/json"
MSG_ID_HEADER: Final = "Nats-Msg-Id"
TRACEPARENT: Final = "traceparent"
TRACESTATE: Final = "tracestate"
RESULT_HEADER: Final = "Kurator-Result"
"""On a status: what the intent named by ``ce-causationid`` did (created, updated, unchanged, deleted)."""

APPLY: Final = "apply"
DELETE: Final = "delete"
VERBS: Final = (APPLY, DELETE)


def type_name(service: str, kind: str, verb: str) -> str:
    """``dev.kurator.<service>.<kind>.<verb>.v1``."""
    return f"dev.kurator.{service}.{kind}.{verb}.v1"


def verb_of(ce_type: str | None) -> str | None:
    """The verb of a ``dev.kurator.*`` type name, or ``None`` if it is not one."""
    if not ce_type:
        return None
    parts = ce_type.split(".")
    if len(parts) != 6 or parts[:2] != ["dev", "kurator"] or not parts[5].startswith("v"):
        return None
    return parts[4]


def now_rfc3339() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def new_id() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True, slots=True)
class Envelope:
    """The CloudEvents attributes of one message."""

    id: str
    source: str
    type: str
    time: str
    subject: str | None = None
    causation_id: str | None = None

    @classmethod
    def new(cls, *, source: str, type: str, subject: str | None = None, causation_id: str | None = None) -> Envelope:
        return cls(
            id=new_id(),
            source=source,
            type=type,
            time=now_rfc3339(),
            subject=subject,
            causation_id=causation_id,
        )

    def headers(self) -> dict[str, str]:
        out = {
            "ce-specversion": SPECVERSION,
            "ce-id": self.id,
            "ce-source": self.source,
            "ce-type": self.type,
            "ce-time": self.time,
            "content-type": CONTENT_TYPE,
            MSG_ID_HEADER: self.id,
        }
        if self.subject:
            out["ce-subject"] = self.subject
        if self.causation_id:
            out["ce-causationid"] = self.causation_id
        return out

    @classmethod
    def from_headers(
        cls,
        headers: Mapping[str, str] | None,
        *,
        default_type: str,
        default_source: str,
        fallback_id: str,
    ) -> Envelope:
        """Read the envelope, filling whatever a bare-JSON publisher left out."""
        h = headers or {}
        return cls(
            id=h.get("ce-id") or h.get(MSG_ID_HEADER) or fallback_id,
            source=h.get("ce-source") or default_source,
            type=h.get("ce-type") or default_type,
            time=h.get("ce-time") or now_rfc3339(),
            subject=h.get("ce-subject"),
            causation_id=h.get("ce-causationid"),
        )
