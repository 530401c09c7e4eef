"""The status documents the fleet service's write path answers intents with.

``phase`` is ``Applied`` once everything the intent stands for is written to Karmada (its
conditions say what, where, and as which field manager), or ``Pending`` when something it
depends on is missing (an AttachedCluster's kubeconfig Secret). ``status.written`` lists every
object written. What Karmada then does with them (placement, readiness) is added by the
fleet service's watches on the same status subject.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from kurator_fleet import ports
from shared.bus import store
from shared.contracts import cloudevents, status

APPLIED: Final = "Applied"
PENDING: Final = "Pending"


def condition(record: store.Record, *, type: str, ok: bool, reason: str, message: str) -> dict[str, Any]:
    return status.condition(
        type=type,
        status="True" if ok else "False",
        reason=reason,
        message=message,
        generation=record.generation,
        time=cloudevents.now_rfc3339(),
    )


def written_message(written: Sequence[ports.ObjectRef], *, field_manager: str) -> str:
    listed = ", ".join(ref.display() for ref in written) or "nothing"
    return f"server-side applied to Karmada as {field_manager}: {listed}"


def applied(
    record: store.Record,
    *,
    written: Sequence[ports.ObjectRef],
    field_manager: str,
    conditions: Sequence[dict[str, Any]] = (),
    **extra: Any,
) -> dict[str, Any]:
    """``phase: Applied`` with an ``Applied`` condition naming what was written, then ``conditions``."""
    return {
        "phase": APPLIED,
        "observedGeneration": record.generation,
        "conditions": [
            condition(
                record,
                type="Applied",
                ok=True,
                reason="ServerSideApplied",
                message=written_message(written, field_manager=field_manager),
            ),
            *conditions,
        ],
        "written": [ref.to_wire() for ref in written],
        **extra,
    }


def pending(record: store.Record, *, condition_type: str, reason: str, message: str, **extra: Any) -> dict[str, Any]:
    """``phase: Pending``: accepted, nothing written yet, the condition says what is missing."""
    return {
        "phase": PENDING,
        "observedGeneration": record.generation,
        "conditions": [condition(record, type=condition_type, ok=False, reason=reason, message=message)],
        "written": [],
        **extra,
    }
