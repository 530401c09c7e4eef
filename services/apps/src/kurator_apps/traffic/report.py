"""The status of a ``VirtualService`` or ``DestinationRule``: where its config is, and whether
the traffic it sends can arrive.

Pure: built from the plan, the readiness verdict and what was written where. Phases:

* ``Applied`` - the current generation is on every primary, and (VirtualService) every
  referenced subset's cluster exists and is ready;
* ``Degraded`` - it is on some primary, but a primary is behind (down, or a write failed) or a
  referenced cluster is missing or not ready;
* ``Pending`` - it is on no primary yet (none is ready, or the fleet has none).

A condition keeps its ``lastTransitionTime`` while its status stays the same, so a status
built again for an unchanged state is equal to the previous one and need not be published.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from kurator_apps.traffic.derive import FROM_USER, TrafficPlan
from kurator_apps.traffic.readiness import TrafficReadiness
from shared.contracts import status

APPLIED: Final = "Applied"
DEGRADED: Final = "Degraded"
PENDING: Final = "Pending"


def primaries(
    names: Sequence[str],
    ready: Mapping[str, bool],
    written: Mapping[str, int],
    failed: Mapping[str, str],
    generation: int,
) -> list[dict[str, Any]]:
    """One line per primary: ready, the generation it holds (if known), why it is behind."""
    out = []
    for name in names:
        line: dict[str, Any] = {"cluster": name, "ready": ready.get(name, False)}
        if name in written:
            line["generation"] = written[name]
        line["upToDate"] = written.get(name) == generation
        if name in failed:
            line["message"] = failed[name]
        elif not line["upToDate"] and not line["ready"]:
            line["message"] = f"cluster {name} is not ready; the config is written when it is"
        out.append(line)
    return out


def _keep_times(conditions: list[dict[str, Any]], previous: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    before = {c["type"]: c for c in (previous or {}).get("conditions") or ()}
    for cond in conditions:
        old = before.get(cond["type"])
        if old is not None and old["status"] == cond["status"]:
            cond["lastTransitionTime"] = old["lastTransitionTime"]
    return conditions


def _written_condition(lines: list[dict[str, Any]], generation: int, now: str) -> dict[str, Any]:
    behind = [line["cluster"] for line in lines if not line["upToDate"]]
    verdict: status.ConditionStatus = "False"
    if not lines:
        reason, message = "NoPrimary", "no member cluster is a mesh primary (see istio.kurator.dev/primary)"
    elif behind:
        reason, message = "PrimaryBehind", f"generation {generation} is not yet on {', '.join(behind)}"
    else:
        verdict, reason = "True", "WrittenToPrimaries"
        message = f"generation {generation} is on {', '.join(line['cluster'] for line in lines)}"
    return status.condition(
        type="Written", status=verdict, reason=reason, message=message, generation=generation, time=now
    )


def _phase(lines: list[dict[str, Any]], ready: bool) -> str:
    if not any(line["upToDate"] for line in lines):
        return PENDING
    return APPLIED if ready and all(line["upToDate"] for line in lines) else DEGRADED


def virtual_service(
    plan: TrafficPlan,
    verdict: TrafficReadiness,
    *,
    lines: list[dict[str, Any]],
    generation: int,
    now: str,
    previous: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    problems = verdict.problems
    ready = status.condition(
        type="Ready",
        status="True" if verdict.ready else "False",
        reason="SubsetsReady" if verdict.ready else "SubsetsNotReady",
        message="every referenced subset's cluster exists and is ready" if verdict.ready else "; ".join(problems),
        generation=generation,
        time=now,
    )
    rule_of = {(b.host, b.subset): b.destination_rule for b in plan.bindings}
    subsets = [{**s.to_dict(), "destinationRule": rule_of[(s.host, s.subset)]} for s in verdict.subsets]
    rules = [
        {"name": r["metadata"]["name"], "host": r["spec"]["host"], "derived": True} for r in plan.destination_rules
    ]
    rules += [
        {"name": name, "host": host, "derived": False}
        for name, host in sorted({(b.destination_rule, b.host) for b in plan.bindings if b.rule == FROM_USER})
    ]
    body: dict[str, Any] = {
        "phase": _phase(lines, verdict.ready),
        "observedGeneration": generation,
        # Ready first: ``kurator get`` shows the first condition's message, and it names the problems.
        "conditions": _keep_times([ready, _written_condition(lines, generation, now)], previous),
        "primaries": lines,
        "subsets": subsets,
        "destinationRules": rules,
    }
    if plan.warnings:
        body["warnings"] = list(plan.warnings)
    return body


def destination_rule(
    *, lines: list[dict[str, Any]], generation: int, now: str, previous: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "phase": _phase(lines, True),
        "observedGeneration": generation,
        "conditions": _keep_times([_written_condition(lines, generation, now)], previous),
        "primaries": lines,
    }


def unplannable(message: str, *, generation: int, now: str, previous: Mapping[str, Any] | None) -> dict[str, Any]:
    """A VirtualService accepted earlier that the fleet or its rules no longer let us plan
    (e.g. a user's DestinationRule dropped a subset it uses): the last written config stays."""
    cond = status.condition(
        type="Ready", status="False", reason="InvalidConfig", message=message, generation=generation, time=now
    )
    kept = dict(previous or {})
    return {
        **kept,
        "phase": DEGRADED,
        "observedGeneration": generation,
        "conditions": _keep_times([cond] + [c for c in kept.get("conditions") or () if c["type"] != "Ready"], previous),
    }
