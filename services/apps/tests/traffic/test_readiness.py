"""The readiness verdict: does every referenced subset's cluster exist, is it ready, does it serve?"""

from __future__ import annotations

import dataclasses
from typing import Any

from kurator_apps.traffic import derive, readiness
from kurator_apps.traffic.mesh import PRIMARY_LABEL, MemberCluster
from shared.contracts.models import istio

Obj = dict[str, Any]


def _verdict(
    doc: Obj, fleet: list[MemberCluster], serving: dict[str, set[str]] | None = None, rules: tuple[Obj, ...] = ()
) -> readiness.TrafficReadiness:
    plan = derive.plan(
        derive.parse(doc), clusters=fleet, destination_rules=[istio.DestinationRule.model_validate(r) for r in rules]
    )
    return readiness.readiness(plan, clusters=fleet, serving=serving)


def _down(fleet: list[MemberCluster], name: str) -> list[MemberCluster]:
    return [dataclasses.replace(c, ready=False) if c.name == name else c for c in fleet]


def test_seed_is_ready_on_the_example_fleet(seed_vs: Obj, fleet: list[MemberCluster]) -> None:
    serving = {"user-service": {"cluster-beijing", "cluster-shanghai", "cluster-guangzhou"}}
    verdict = _verdict(seed_vs, fleet, serving)
    assert verdict.ready
    assert verdict.problems == ()
    assert verdict.subsets[0].to_dict() == {
        "host": "user-service",
        "subset": "beijing",
        "cluster": "cluster-beijing",
        "exists": True,
        "ready": True,
        "ok": True,
        "message": "subset beijing: cluster cluster-beijing is ready",
        "serving": True,
    }
    assert [name for name, _ in verdict.primaries] == ["cluster-beijing"]  # labelled the primary


def test_a_cluster_that_is_down(seed_vs: Obj, fleet: list[MemberCluster]) -> None:
    fleet = _down(_down(fleet, "cluster-guangzhou"), "cluster-beijing")
    verdict = _verdict(seed_vs, fleet)
    assert not verdict.ready
    guangzhou = verdict.subsets[2]
    assert (guangzhou.exists, guangzhou.ready, guangzhou.serving, guangzhou.ok) == (True, False, None, False)
    assert verdict.problems == (
        "subset beijing: cluster cluster-beijing is not ready",
        "subset guangzhou: cluster cluster-guangzhou is not ready",
        "primary cluster cluster-beijing is not ready",
    )


def test_a_missing_cluster_and_one_that_does_not_run_the_service(seed_vs: Obj, fleet: list[MemberCluster]) -> None:
    fleet = [c for c in fleet if c.name != "cluster-shanghai"]
    seed_vs["metadata"]["annotations"] = {"traffic.kurator.dev/subset-clusters": "beijing=cluster-bj"}
    verdict = _verdict(seed_vs, fleet, {"user-service": {"cluster-beijing"}})
    assert [s.ok for s in verdict.subsets] == [False, False, False]
    assert verdict.problems == (
        "subset beijing: cluster cluster-bj is not a member of the fleet",
        "subset shanghai: no member cluster is named shanghai or cluster-shanghai "
        "(map it with the traffic.kurator.dev/subset-clusters annotation)",
        "subset guangzhou: cluster cluster-guangzhou does not run user-service",
    )
    assert (verdict.subsets[1].exists, verdict.subsets[1].cluster) == (False, "shanghai")


def test_where_the_config_lives(seed_vs: Obj, fleet: list[MemberCluster]) -> None:
    fleet = [
        dataclasses.replace(c, labels={PRIMARY_LABEL: "true"}) if c.name == "cluster-beijing" else c for c in fleet
    ]
    assert _verdict(seed_vs, fleet).primaries == (("cluster-beijing", True),)
    verdict = _verdict(seed_vs, _down(fleet, "cluster-beijing"))
    assert verdict.primaries == (("cluster-beijing", False),)
    assert "primary cluster cluster-beijing is not ready" in verdict.problems
    assert not _verdict(seed_vs, []).ready  # no primary at all


def test_subsets_selected_by_other_labels_are_reported_not_judged(seed_vs: Obj, fleet: list[MemberCluster]) -> None:
    rule = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "DestinationRule",
        "metadata": {"name": "by-version"},
        "spec": {
            "host": "user-service",
            "subsets": [{"name": n, "labels": {"version": n}} for n in ("beijing", "shanghai", "guangzhou")],
        },
    }
    verdict = _verdict(seed_vs, fleet, rules=(rule,))
    assert verdict.ready
    assert verdict.subsets[0].message == "subset beijing selects endpoints by labels, not by cluster"
