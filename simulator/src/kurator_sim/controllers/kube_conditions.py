"""Status conditions (``metav1.Condition`` and the older node/deployment shapes) kept the API way.

``lastTransitionTime`` moves only when a condition's ``status`` changes; every other field
(reason, message, heartbeat and update times) is replaced by the new value. Conditions keep
their order; a new type is appended.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

Condition = dict[str, Any]


def find(conditions: Iterable[Mapping[str, Any]] | None, type_: str) -> Condition | None:
    cond = peek(conditions, type_)
    return None if cond is None else dict(cond)


def peek(conditions: Iterable[Mapping[str, Any]] | None, type_: str) -> Mapping[str, Any] | None:
    """The condition ``type_`` itself, not a copy (read only), or ``None``."""
    for cond in conditions or ():
        if cond.get("type") == type_:
            return cond
    return None


def status_of(obj: Mapping[str, Any] | None, type_: str) -> str | None:
    """The ``status`` (``"True"``/``"False"``/``"Unknown"``) of condition ``type_`` of ``obj``."""
    cond = peek(((obj or {}).get("status") or {}).get("conditions"), type_)
    return None if cond is None else str(cond.get("status"))


def is_true(obj: Mapping[str, Any] | None, type_: str) -> bool:
    return status_of(obj, type_) == "True"


def set_condition(
    conditions: list[Condition] | None, new: Mapping[str, Any], now: str | Callable[[], str]
) -> list[Condition]:
    """``conditions`` with ``new`` set; ``new`` needs no ``lastTransitionTime`` (it is derived).

    ``now`` may be a function (a clock's ``timestamp``), called only when a transition needs the time.
    """
    out = [dict(c) for c in conditions or ()]
    cond = dict(new)
    for i, existing in enumerate(out):
        if existing.get("type") != cond["type"]:
            continue
        if existing.get("status") == cond.get("status") and existing.get("lastTransitionTime"):
            cond["lastTransitionTime"] = existing["lastTransitionTime"]
        elif "lastTransitionTime" not in cond:
            cond["lastTransitionTime"] = now if isinstance(now, str) else now()
        out[i] = cond
        return out
    if "lastTransitionTime" not in cond:
        cond["lastTransitionTime"] = now if isinstance(now, str) else now()
    out.append(cond)
    return out


def condition(type_: str, status: str, reason: str, message: str, **extra: Any) -> Condition:
    return {"type": type_, "status": status, "reason": reason, "message": message, **extra}
