"""The watch side's pure rules: the observed-status merge, cluster views and their events, fleet
counts, placement phases and placement-change reasons. Objects are shaped like the simulator's
(and Karmada's) own; the watch loops themselves are covered against the simulator elsewhere.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from kurator_fleet import observed
from kurator_fleet.watchers import clusters, fleet_status, placements, signals
from shared.contracts import subjects


def cluster_obj(
    name: str = "c1",
    *,
    ready: str | None = "True",
    allocatable: dict[str, str] | None = None,
    allocated: dict[str, str] | None = None,
    allocating: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    conditions = [{"type": "CompleteAPIEnablements", "status": "True", "reason": "Complete", "message": "m"}]
    if ready is not None:
        conditions.append({"type": "Ready", "status": ready, "reason": "R", "message": "msg", "observedGeneration": 3})
    return {
        "apiVersion": "cluster.karmada.io/v1alpha1",
        "kind": "Cluster",
        "metadata": {"name": name, "labels": labels or {"region": "east"}, "uid": "u1", "resourceVersion": "7"},
        "spec": {"syncMode": "Push", "region": "east", "zones": ["a"], "taints": []},
        "status": {
            "kubernetesVersion": "v1.29.3",
            "nodeSummary": {"totalNum": 3, "readyNum": 3},
            "conditions": conditions,
            "resourceSummary": {
                "allocatable": allocatable or {"cpu": "16", "memory": "64Gi", "pods": "110"},
                "allocated": allocated or {"cpu": "0", "memory": "0"},
                "allocating": allocating or {"cpu": "0", "memory": "0"},
            },
        },
    }


# --- the merge rule -----------------------------------------------------------------------

OWNER = observed.Ownership(fields=frozenset({"placement"}), conditions=frozenset({"Scheduled"}), phase=True)


def test_merge_keeps_the_handlers_part_and_replaces_the_observed_part() -> None:
    """Base fields and conditions stay; owned ones are replaced; the observed phase wins."""
    base = {
        "phase": "Applied",
        "observedGeneration": 2,
        "conditions": [{"type": "Applied", "status": "True"}, {"type": "Scheduled", "status": "False"}],
        "placement": {"old": True},
        "written": ["x"],
    }
    obs = observed.Observation(
        owner=OWNER,
        fields={"placement": {"clusters": ["a"]}},
        conditions=({"type": "Scheduled", "status": "True"},),
        phase="Available",
    )
    out = observed.merge(base, obs)
    assert out == {
        "phase": "Available",
        "observedGeneration": 2,
        "conditions": [{"type": "Applied", "status": "True"}, {"type": "Scheduled", "status": "True"}],
        "placement": {"clusters": ["a"]},
        "written": ["x"],
    }
    assert observed.merge(out, obs) == out  # idempotent: a watcher may merge into what is on the bus


@pytest.mark.parametrize("phase", ["Failed", "Deleted"])
def test_a_failed_or_deleted_base_phase_outranks_the_observation(phase: str) -> None:
    obs = observed.Observation(owner=OWNER, fields={}, phase="Available")
    assert observed.merge({"phase": phase}, obs)["phase"] == phase


def test_owned_fields_absent_from_the_observation_are_dropped() -> None:
    """A field the watchers own but no longer report (a workload that lost its binding) goes away."""
    obs = observed.Observation(owner=OWNER, fields={}, phase="Pending")
    assert observed.merge({"phase": "Applied", "placement": {"x": 1}}, obs) == {"phase": "Pending"}


def test_observed_status_cache() -> None:
    cache = observed.ObservedStatus()
    address = subjects.ObjectAddress("fleet", "deployment", "default", "web")
    obs = observed.Observation(owner=OWNER, fields={"placement": {}}, phase="Scheduled")
    assert cache.merged(address, {"phase": "Applied"}) == {"phase": "Applied"}
    assert cache.put(address, obs)
    assert not cache.put(address, observed.Observation(owner=OWNER, fields={"placement": {}}, phase="Scheduled"))
    assert cache.merged(address, {"phase": "Applied"}) == {"phase": "Scheduled", "placement": {}}
    cache.clear()
    assert cache.get(address) is None


def test_an_observation_held_as_how_to_build_it_is_built_once_when_read() -> None:
    cache = observed.ObservedStatus()
    address = subjects.ObjectAddress("fleet", "deployment", "default", "web")
    built: list[str] = []

    def build() -> observed.Observation:
        built.append("built")
        return observed.Observation(owner=OWNER, fields={"placement": {}}, phase="Scheduled")

    cache.defer(address, build)
    assert address in cache  # asking whether there is one builds nothing
    assert built == []
    found = cache.get(address)
    assert found is not None
    assert found.phase == "Scheduled"
    assert cache.get(address) is found
    assert built == ["built"]
    assert cache.discard(address) is found
    assert address not in cache


# --- clusters -----------------------------------------------------------------------------


def test_cluster_view_free_capacity_and_phase() -> None:
    view = clusters.view(
        cluster_obj(
            allocatable={"cpu": "16", "memory": "64Gi", "pods": "110"},
            allocated={"cpu": "3500m", "memory": "2Gi", "pods": "10"},
            allocating={"cpu": "500m", "memory": "0", "pods": "0"},
            labels={"fleet.kurator.dev/fleet-name": "prod", "region": "east"},
        )
    )
    assert (view.phase, view.ready, view.fleet) == ("Ready", True, "prod")
    assert view.free == {"cpu": "12", "memory": "62Gi", "pods": "100"}
    assert view.free_fraction["cpu"] == 0.75
    obs = clusters.observation(view, pressure=frozenset())
    assert obs.fields["capacity"] == {"cpu": "16", "memory": "64Gi", "pods": "110"}
    assert obs.fields["kubernetesVersion"] == "v1.29.3"
    assert [c["type"] for c in obs.conditions] == ["Ready", "CompleteAPIEnablements"]
    assert "observedGeneration" not in obs.conditions[0]  # Karmada's generation is not ours
    assert obs.document == {
        "apiVersion": "cluster.karmada.io/v1alpha1",
        "kind": "Cluster",
        "metadata": {"name": "c1", "labels": {"fleet.kurator.dev/fleet-name": "prod", "region": "east"}, "uid": "u1"},
    }


@pytest.mark.parametrize(
    ("ready", "phase"), [("True", "Ready"), ("False", "NotReady"), ("Unknown", "Unknown"), (None, "Unknown")]
)
def test_cluster_phase(ready: str | None, phase: str) -> None:
    assert clusters.view(cluster_obj(ready=ready)).phase == phase


def test_quantities_print_like_kubernetes() -> None:
    from decimal import Decimal

    assert clusters.format_quantity(Decimal("47.8"), "cpu") == "47800m"
    assert clusters.format_quantity(Decimal(64 * 2**30), "memory") == "64Gi"
    assert clusters.format_quantity(Decimal(1000), "memory") == "1000"
    assert clusters.format_quantity(Decimal(0), "memory") == "0"


def test_an_edge_site_says_so_in_status_and_join_event() -> None:
    site = clusters.view(cluster_obj(labels={"kurator.dev/edge": "true"}))
    assert clusters.observation(site, pressure=frozenset()).fields["edge"] is True
    [(name, payload)] = signals.transitions(None, site, frozenset())
    assert (name, payload["edge"]) == ("joined", True)
    cloud = clusters.view(cluster_obj())
    assert clusters.observation(cloud, pressure=frozenset()).fields["edge"] is False
    assert signals.transitions(None, cloud, frozenset())[0][1]["edge"] is False


def test_cluster_events_fire_on_transitions_only() -> None:
    ready = clusters.view(cluster_obj(ready="True"))
    down = clusters.view(cluster_obj(ready="False"))
    assert [e for e, _ in signals.transitions(None, ready, frozenset())] == ["joined"]
    seen = signals.Reported(ready=True, pressure=frozenset())
    assert signals.transitions(seen, ready, frozenset()) == []
    [(name, payload)] = signals.transitions(seen, down, frozenset())
    assert (name, payload["phase"], payload["reason"]) == ("notready", "NotReady", "R")
    assert [e for e, _ in signals.transitions(signals.Reported(False, frozenset()), ready, frozenset())] == ["ready"]


def test_pressure_has_hysteresis() -> None:
    """Below 10 % free is pressure; it lasts until more than 15 % is free again."""
    t = signals.Thresholds(enter=0.10, leave=0.15)

    def at(used_cpu: str) -> clusters.ClusterView:
        return clusters.view(cluster_obj(allocatable={"cpu": "100", "memory": "100Gi"}, allocated={"cpu": used_cpu}))

    assert signals.pressure(at("88"), frozenset(), t) == frozenset()  # 12 % free
    assert signals.pressure(at("91"), frozenset(), t) == {"cpu"}  # 9 %
    assert signals.pressure(at("88"), frozenset({"cpu"}), t) == {"cpu"}  # 12 %: still, no flapping
    assert signals.pressure(at("84"), frozenset({"cpu"}), t) == frozenset()  # 16 %: relieved
    events = signals.transitions(signals.Reported(True, frozenset()), at("91"), frozenset({"cpu"}))
    assert [(e, p["active"], p["resources"]) for e, p in events] == [("pressure", True, ["cpu"])]
    assert events[0][1]["freeFraction"] == {"cpu": 0.09, "memory": 1.0}


def test_reported_state_from_a_published_status() -> None:
    assert signals.Reported.from_status(None) is None
    assert signals.Reported.from_status({"status": {"phase": "Deleted", "ready": True}}) is None
    assert signals.Reported.from_status({"status": {"phase": "Ready", "ready": True, "pressure": ["memory"]}}) == (
        signals.Reported(True, frozenset({"memory"}))
    )


# --- fleets -------------------------------------------------------------------------------


def test_fleet_members_are_listed_and_labelled_clusters() -> None:
    fleet = {
        "metadata": {"name": "prod", "namespace": "default"},
        "spec": {"clusters": [{"name": "a"}, {"name": "missing", "kind": "AttachedCluster"}]},
    }
    known = {
        "a": clusters.view(cluster_obj("a")),
        "b": clusters.view(cluster_obj("b", ready="False", labels={"fleet.kurator.dev/fleet-name": "prod"})),
        "c": clusters.view(
            cluster_obj(
                "c", labels={"fleet.kurator.dev/fleet-name": "prod", "fleet.kurator.dev/fleet-namespace": "other"}
            )
        ),
    }
    assert fleet_status.members(fleet, known) == [("a", "Cluster"), ("missing", "AttachedCluster"), ("b", "Cluster")]
    obs = fleet_status.observation(fleet, known)
    assert (obs.phase, obs.fields["readyClusters"], obs.fields["unReadyClusters"]) == ("Ready", 1, 2)
    assert [(m["name"], m["phase"]) for m in obs.fields["members"]] == [
        ("a", "Ready"),
        ("missing", "Unknown"),
        ("b", "NotReady"),
    ]
    assert obs.fields["members"][1]["conditions"][0]["reason"] == "ClusterNotJoined"
    assert obs.conditions[0]["status"] == "False"
    assert "not ready: missing, b" in obs.conditions[0]["message"]


# --- placements ---------------------------------------------------------------------------


def binding(
    clusters_: list[tuple[str, int]],
    *,
    scheduled: str | None = "True",
    aggregated: list[dict[str, Any]] | None = None,
    replicas: int = 4,
) -> dict[str, Any]:
    conditions = [] if scheduled is None else [{"type": "Scheduled", "status": scheduled, "reason": "Success"}]
    return {
        "apiVersion": "work.karmada.io/v1alpha2",
        "kind": "ResourceBinding",
        "metadata": {
            "name": "web-deployment",
            "namespace": "default",
            "annotations": {
                "propagationpolicy.karmada.io/name": "web",
                "propagationpolicy.karmada.io/namespace": "default",
            },
        },
        "spec": {
            "resource": {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "default", "name": "web"},
            "replicas": replicas,
            "clusters": [{"name": n, "replicas": r} for n, r in clusters_],
        },
        "status": {"conditions": conditions, "aggregatedStatus": aggregated or []},
    }


def healthy(name: str) -> dict[str, Any]:
    return {"clusterName": name, "applied": True, "health": "Healthy", "status": {"readyReplicas": 2}}


def all_ready(_: str) -> bool | None:
    return True


@pytest.mark.parametrize(
    ("obj", "phase"),
    [
        (binding([], scheduled=None), "Pending"),
        (binding([], scheduled="False"), "Unschedulable"),
        (binding([("a", 2), ("b", 2)]), "Scheduled"),
        (binding([("a", 2), ("b", 2)], aggregated=[healthy("a")]), "Progressing"),
        (binding([("a", 2), ("b", 2)], aggregated=[healthy("a"), healthy("b")]), "Available"),
        (binding([("a", 2)], aggregated=[{"clusterName": "a", "applied": False, "appliedMessage": "x"}]), "Degraded"),
        (binding([("b", 4)], aggregated=[healthy("a"), healthy("b")]), "Available"),  # a: evicted leftover
    ],
)
def test_placement_phase(obj: dict[str, Any], phase: str) -> None:
    assert placements.phase(placements.view(obj), all_ready) == phase


def test_a_scheduled_cluster_that_is_not_ready_degrades_the_placement() -> None:
    view = placements.view(binding([("a", 2), ("b", 2)], aggregated=[healthy("a"), healthy("b")]))
    assert placements.phase(view, lambda name: name != "a") == "Degraded"


def test_workload_observation_shape() -> None:
    view = placements.view(binding([("a", 3), ("b", 1)], aggregated=[healthy("a")]))
    obs = placements.workload_observation(view, all_ready)
    placement = obs.fields["placement"]
    assert placement["policy"] == {
        "apiVersion": "policy.karmada.io/v1alpha1",
        "kind": "PropagationPolicy",
        "namespace": "default",
        "name": "web",
    }
    assert placement["clusters"][0] == {
        "name": "a",
        "replicas": 3,
        "clusterReady": True,
        "applied": True,
        "health": "Healthy",
        "status": {"readyReplicas": 2},
    }
    assert placement["clusters"][1] == {"name": "b", "replicas": 1, "clusterReady": True}
    assert [c["type"] for c in obs.conditions] == ["Scheduled"]
    assert obs.document == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
    }


def test_placement_change_reasons() -> None:
    first = placements.view(binding([("a", 2), ("b", 2)]))
    assert placements.change(None, first, all_ready)["reason"] == "scheduled"  # type: ignore[index]
    assert placements.change(first.clusters, first, all_ready) is None
    evicted = placements.view(binding([("b", 2)]))
    change = placements.change(first.clusters, evicted, lambda n: n != "a")
    assert change is not None
    assert (change["reason"], change["removed"], change["added"]) == ("failover", ["a"], [])
    refilled = placements.view(binding([("b", 4)]))
    assert placements.change(evicted.clusters, refilled, all_ready, replicas_before=4)["reason"] == "failover"  # type: ignore[index]
    scaled = placements.view(binding([("b", 6)], replicas=6))
    assert placements.change(refilled.clusters, scaled, all_ready, replicas_before=4)["reason"] == "scaled"  # type: ignore[index]
    moved = placements.view(binding([("c", 6)], replicas=6))
    assert placements.change(scaled.clusters, moved, all_ready, replicas_before=6)["reason"] == "rescheduled"  # type: ignore[index]


def test_owner_summaries_add_up_worst_first() -> None:
    ok = placements.summary(placements.view(binding([("a", 2)], aggregated=[healthy("a")])), all_ready)
    pending = placements.summary(placements.view(binding([], scheduled=None)), all_ready)
    assert placements.propagation_observation([ok]).phase == "Available"
    assert placements.propagation_observation([ok, pending]).phase == "Pending"
    assert placements.policy_observation([ok]).phase is None  # a policy keeps its own phase


def test_owner_summaries_are_ordered_by_their_resource_as_json() -> None:
    refs = [
        {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web-1", "namespace": "default"},
        {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "namespace": "prod"},
        {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "namespace": "default"},
        {"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "zeta"},
        {"apiVersion": "v1", "kind": "ConfigMap", "name": "a"},
        {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web.a", "namespace": "default"},
    ]
    summaries = [{"resource": r, "clusters": [], "phase": "Pending"} for r in refs]
    ordered = placements.policy_observation(summaries).fields["placements"]
    assert [s["resource"] for s in ordered] == sorted(refs, key=lambda r: json.dumps(r, sort_keys=True))


def unhealthy(name: str) -> dict[str, Any]:
    return {"clusterName": name, "applied": True, "health": "Unhealthy", "status": {"readyReplicas": 0}}


def test_an_unhealthy_member_is_still_starting_until_the_workload_has_been_available() -> None:
    """Karmada reports a member ``Unhealthy`` until its rollout completes: not ``Degraded`` then."""
    starting = placements.view(binding([("a", 2), ("b", 2)], aggregated=[healthy("a"), unhealthy("b")]))
    assert placements.phase(starting, all_ready, healthy_once=False) == "Progressing"
    assert placements.phase(starting, all_ready, healthy_once=True) == "Degraded"
    assert placements.phase(starting, all_ready) == "Degraded"  # not known: as Karmada says
    failed = placements.view(binding([("a", 2)], aggregated=[{"clusterName": "a", "applied": False}]))
    assert placements.phase(failed, all_ready, healthy_once=False) == "Degraded"
    applied = placements.view(binding([("a", 2), ("b", 2)], aggregated=[healthy("a"), healthy("b")]))
    assert placements.phase(applied, lambda name: name != "a", healthy_once=False) == "Degraded"


def test_milestones_are_the_stage_and_the_assignment_and_a_binding_not_yet_scheduled_is_transient() -> None:
    """What a busy status writer publishes at once (see ``watchers.publishing``)."""
    waiting = placements.view(binding([], scheduled=None))
    scheduled = placements.view(binding([("a", 2), ("b", 2)]))
    applied = placements.view(binding([("a", 2), ("b", 2)], aggregated=[healthy("a")]))
    running = placements.view(binding([("a", 2), ("b", 2)], aggregated=[healthy("a"), healthy("b")]))
    lost = placements.view(binding([("a", 2), ("b", 2)], aggregated=[healthy("a"), unhealthy("b")]))

    assert placements.workload_observation(waiting, all_ready).transient
    workload = [placements.workload_observation(v, all_ready) for v in (scheduled, applied, running, lost)]
    assert not any(o.transient for o in workload)
    assert [o.phase for o in workload] == ["Scheduled", "Progressing", "Available", "Degraded"]
    # Scheduled and Progressing are one stage: a rollout Karmada and the members carry on with.
    assert [o.milestone for o in workload] == [
        ("RollingOut", (("a", 2), ("b", 2))),
        ("RollingOut", (("a", 2), ("b", 2))),
        ("Available", (("a", 2), ("b", 2))),
        ("Degraded", (("a", 2), ("b", 2))),
    ]

    lines = [placements.line(v, all_ready) for v in (waiting, scheduled, applied, running, lost)]
    policy = [placements.policy_observation([line]) for line in lines]
    assert [o.transient for o in policy] == [True, False, False, False, False]
    # A policy's line moving phase is a detail (the workload's own status has it at once);
    # the assignment appearing is the milestone.
    assert policy[1].milestone == policy[2].milestone == policy[3].milestone != policy[0].milestone
    propagation = [placements.propagation_observation([line]) for line in lines]
    assert propagation[1].milestone == propagation[2].milestone
    assert len({o.milestone for o in propagation[1:]}) == 3
    assert [o.phase for o in propagation[1:]] == ["Scheduled", "Progressing", "Available", "Degraded"]
    assert [o.transient for o in propagation] == [True, False, False, False, False]
    # Nothing bound yet (just applied): Karmada's detector binds it on its own.
    assert placements.propagation_observation([]).transient
    assert not placements.policy_observation([]).transient  # a policy's last binding went away
    # The wire form is the summary's, whichever way the line came in.
    assert policy[3].fields["placements"] == [placements.summary(running, all_ready)]
