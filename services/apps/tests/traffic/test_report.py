"""The status of a VirtualService: phases, the Written condition, stable transition times."""

from __future__ import annotations

import dataclasses
from typing import Any

from kurator_apps.traffic import derive, readiness, report
from kurator_apps.traffic.mesh import MemberCluster

Obj = dict[str, Any]


def _condition(body: Obj, kind: str) -> Obj:
    found: Obj = next(c for c in body["conditions"] if c["type"] == kind)
    return found


def _body(seed_vs: Obj, fleet: list[MemberCluster], written: dict[str, int], **kw: Any) -> Obj:
    plan = derive.plan(derive.parse(seed_vs), clusters=fleet)
    verdict = readiness.readiness(plan, clusters=fleet)
    ready = {c.name: c.ready for c in fleet}
    lines = report.primaries(plan.primaries, ready, written, kw.pop("failed", {}), 2)
    return report.virtual_service(plan, verdict, lines=lines, generation=2, **{"now": "t1", **kw})


def test_applied_when_every_primary_holds_the_generation_and_every_subset_is_ready(
    seed_vs: Obj, fleet: list[MemberCluster]
) -> None:
    body = _body(seed_vs, fleet, {"cluster-beijing": 2})
    assert body["phase"] == report.APPLIED
    assert body["primaries"] == [{"cluster": "cluster-beijing", "ready": True, "generation": 2, "upToDate": True}]
    written = _condition(body, "Written")
    assert (written["type"], written["status"], written["reason"]) == ("Written", "True", "WrittenToPrimaries")
    assert [s["destinationRule"] for s in body["subsets"]] == ["user-service"] * 3


def test_degraded_while_behind_and_pending_when_nowhere(seed_vs: Obj, fleet: list[MemberCluster]) -> None:
    behind = _body(seed_vs, fleet, {"cluster-beijing": 1}, failed={"cluster-beijing": "503"})
    assert behind["phase"] == report.PENDING  # generation 1 is there, 2 nowhere
    assert behind["primaries"][0]["message"] == "503"
    assert _condition(behind, "Written")["reason"] == "PrimaryBehind"

    down = [dataclasses.replace(c, ready=False) if c.name == "cluster-guangzhou" else c for c in fleet]
    degraded = _body(seed_vs, down, {"cluster-beijing": 2})
    assert degraded["phase"] == report.DEGRADED
    ready = _condition(degraded, "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "SubsetsNotReady")
    assert ready["message"] == "subset guangzhou: cluster cluster-guangzhou is not ready"

    nowhere = _body(seed_vs, [], {})
    assert nowhere["phase"] == report.PENDING
    assert _condition(nowhere, "Written")["reason"] == "NoPrimary"


def test_a_condition_keeps_its_transition_time_while_its_status_holds(seed_vs: Obj, fleet: list[MemberCluster]) -> None:
    first = _body(seed_vs, fleet, {"cluster-beijing": 2}, now="t1")
    again = _body(seed_vs, fleet, {"cluster-beijing": 2}, now="t2", previous=first)
    assert again == first  # nothing changed: equal, so not published again
    down = [dataclasses.replace(c, ready=False) if c.name == "cluster-shanghai" else c for c in fleet]
    changed = _body(seed_vs, down, {"cluster-beijing": 2}, now="t3", previous=first)
    times = {c["type"]: c["lastTransitionTime"] for c in changed["conditions"]}
    assert times == {"Written": "t1", "Ready": "t3"}
