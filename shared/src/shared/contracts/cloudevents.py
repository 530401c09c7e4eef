"""CloudEvents 1.0 in NATS binary mode: the ``ce-*`` headers of every kurator-py message.

Publishers set every attribute; a receiver accepts bare JSON too and fills what is missing
(:meth:`Envelope.from_headers`). ``Nats-Msg-Id`` equals ``ce-id`` so JetStream drops a
message published twice within the stream's duplicate window. ``ce-causationid`` (a
CloudEvents extension) names the intent a status or rejection answers, so a publisher can
wait for the outcome of exactly its own intent.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
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


_second: tuple[int, str] = (-1, "")
"""The last whole second formatted (``YYYY-MM-DDTHH:MM:SS``): every message carries a time."""


def now_rfc3339() -> str:
    """The current UTC time to the microsecond, ``2024-05-01T12:00:00.123456Z``."""
    global _second
    seconds, micros = divmod(time.time_ns() // 1000, 1_000_000)
    if seconds != _second[0]:
        _second = (seconds, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)))
    return f"{_second[1]}.{micros:06d}Z"


def new_id() -> str:
    """A random (version 4) UUID, as ``str(uuid.uuid4())`` but without the ``UUID`` object."""
    digits = os.urandom(16).hex()
    variant = "89ab"[int(digits[16], 16) & 3]
    return f"{digits[:8]}-{digits[8:12]}-4{digits[13:16]}-{variant}{digits[17:20]}-{digits[20:]}"


def headers(*, source: str, type: str, subject: str | None = None, causation_id: str | None = None) -> dict[str, str]:
    """The headers of a new message (a fresh id, the current time): :meth:`Envelope.headers`
    of :meth:`Envelope.new`, for a publisher that needs no envelope object."""
    return _headers(new_id(), source, type, now_rfc3339(), subject, causation_id)


def _headers(
    id: str, source: str, type: str, time: str, subject: str | None, causation_id: str | None
) -> dict[str, str]:
    out = {
        "ce-specversion": SPECVERSION,
        "ce-id": id,
        "ce-source": source,
        "ce-type": type,
        "ce-time": time,
        "content-type": CONTENT_TYPE,
        MSG_ID_HEADER: id,
    }
    if subject:
        out["ce-subject"] = subject
    if causation_id:
        out["ce-causationid"] = causation_id
    return out


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
        return _headers(self.id, self.source, self.type, self.time, self.subject, self.causation_id)

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
