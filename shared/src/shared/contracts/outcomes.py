"""Payloads of the messages services publish about intents: rejections and dead letters.

Status documents themselves are Kubernetes-style objects (see ``shared.contracts.status``).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from shared.contracts.meta import WireModel
from shared.contracts.validation import Reason


class IntentRef(WireModel):
    """Which intent a message is about: where it was published and what it named."""

    subject: str
    id: str
    sequence: int | None = None
    """Stream sequence in ``KURATOR_INTENTS``: the original stays there for audit."""
    verb: str | None = None
    kind: str | None = None
    namespace: str | None = None
    name: str | None = None


class Rejection(WireModel):
    """Published on ``kurator.event.<service>.intent.rejected`` for an intent that can never apply."""

    service: str
    intent: IntentRef
    reasons: list[Reason]
    time: str


class DeadLetter(WireModel):
    """Published on ``kurator.dlq.<service>`` when an intent failed ``max_deliver`` times."""

    service: str
    intent: IntentRef
    error: str
    deliveries: int
    headers: dict[str, str] = Field(default_factory=dict)
    data: Any = None
    """The original payload: parsed JSON when it was JSON, else the text (or base64)."""
    time: str
