"""Status documents: what ``kurator.status.<service>.<kind>.<ns>.<name>`` carries.

A status document is the object as the service holds it (``apiVersion``, ``kind``,
``metadata``, the desired ``spec`` and other top-level fields) plus a ``status`` with
``phase``, ``observedGeneration`` and Kubernetes-style ``conditions``. Readers parse it with
:class:`StatusDocument`, which ignores fields it does not know.
"""

from __future__ import annotations

from typing import Any, Final, Literal

from pydantic import Field

from shared.contracts.meta import ObjectMeta, WireModel

ACCEPTED: Final = "Accepted"
DELETED: Final = "Deleted"

ConditionStatus = Literal["True", "False", "Unknown"]


class Condition(WireModel):
    type: str
    status: ConditionStatus
    reason: str = ""
    message: str = ""
    last_transition_time: str | None = None
    observed_generation: int | None = None


class ObjectStatus(WireModel):
    phase: str
    observed_generation: int | None = None
    conditions: list[Condition] = Field(default_factory=list)


class StatusDocument(WireModel):
    """A reader's view of a status message."""

    api_version: str
    kind: str
    metadata: ObjectMeta
    spec: dict[str, Any] | None = None
    status: ObjectStatus


def condition(
    *, type: str, status: ConditionStatus, reason: str, message: str, generation: int, time: str
) -> dict[str, Any]:
    """A condition as a JSON-ready dict."""
    return {
        "type": type,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": time,
        "observedGeneration": generation,
    }
