"""The simulator's door to the placement engine, against the worked examples of karmada-placement-spec.md.

The engine's own, fuller tests are in ``shared/tests/placement``.
"""

from __future__ import annotations

from typing import Any

import pytest

from kurator_sim.controllers import placement
from kurator_sim.controllers.karmada_names import fnv1a32
from kurator_sim.controllers.placement import NoFit, place
from shared.placement.webster import webster

ODD_UID = "d43fdeeb-d750-4e2b-bee3-64eb94534f4c"
EVEN_UID = "00000000-0000-0000-0000-000000000001"

DIVIDED_WEIGHTED = {"replicaSchedulingType": "Divided", "replicaDivisionPreference": "Weighted"}
DYNAMIC = {"replicaScheduling": {**DIVIDED_WEIGHTED, "weightPreference": {"dynamicWeight": "AvailableReplicas"}}}
AGGREGATED = {"replicaScheduling": {"replicaSchedulingType": "Divided", "replicaDivisionPreference": "Aggregated"}}


def cluster(
    name: str,
    *,
    pods: int = 110,
    labels: dict[str, str] | None = None,
    taints: list[dict[str, Any]] | None = None,
    cpu: str | None = None,
    **spec: Any,
) -> dict[str, Any]:
    allocatable = {"pods": str(pods), **({"cpu": cpu} if cpu else {})}
    return {
        "metadata": {"name": name, "labels": labels or {}},
        "spec": {**spec, **({"taints": taints} if taints else {})},
        "status": {
            "resourceSummary": {"allocatable": allocatable, "allocated": {"pods": "0"}},
            "apiEnablements": [
                {"groupVersion": "apps/v1", "resources": [{"name": "deployments", "kind": "Deployment"}]}
            ],
        },
    }


def static(*rules: tuple[dict[str, Any], int]) -> dict[str, Any]:
    weights = [{"targetCluster": target, "weight": weight} for target, weight in rules]
    return {"replicaScheduling": {**DIVIDED_WEIGHTED, "weightPreference": {"staticWeightList": weights}}}


def as_map(result: list[dict[str, Any]]) -> dict[str, int]:
    return {c["name"]: c.get("replicas", 0) for c in result}


# --- Webster division and its tie-breaks (spec 9.2 / 9.3) ------------------------------------


def test_uid_parity_of_the_spec_examples() -> None:
    assert fnv1a32(ODD_UID.encode()) % 2 == 1
    assert fnv1a32(EVEN_UID.encode()) % 2 == 0


@pytest.mark.parametrize(
    ("seats", "votes", "uid", "expected"),
    [
        (3, {"m1": 1, "m2": 1}, "", {"m1": 2, "m2": 1}),
        (3, {"m1": 1, "m2": 1}, EVEN_UID, {"m1": 2, "m2": 1}),
        (3, {"m1": 1, "m2": 1}, ODD_UID, {"m1": 1, "m2": 2}),
        (14, {"a": 3, "b": 2, "c": 1}, "", {"a": 7, "b": 5, "c": 2}),
        (13, {"a": 3, "b": 2, "c": 1}, "", {"a": 7, "b": 4, "c": 2}),
        (7, {"a": 2, "b": 1, "c": 1, "d": 1}, "", {"a": 3, "b": 2, "c": 1, "d": 1}),
        (8, {"a": 2, "b": 1, "c": 1, "d": 1}, "", {"a": 3, "b": 2, "c": 2, "d": 1}),
        (12, {"a": 20, "b": 12, "c": 6}, "", {"a": 6, "b": 4, "c": 2}),
    ],
)
def test_webster(seats: int, votes: dict[str, int], uid: str, expected: dict[str, int]) -> None:
    assert dict(webster(seats, votes.items(), uid=uid)) == expected


def test_webster_gives_ties_to_the_party_with_fewer_seats() -> None:
    # a (3 votes, 1 seat) and b (1 vote, no seat) both have priority 1: b, with fewer seats, wins
    # although a comes first by name.
    assert dict(webster(1, [("a", 3), ("b", 1)], {"a": 1})) == {"a": 1, "b": 1}
    assert dict(webster(1, [("a", 3), ("b", 3)], {"a": 1, "b": 1}, uid=ODD_UID)) == {"a": 1, "b": 2}


def test_webster_is_house_monotone() -> None:
    votes = [("a", 7), ("b", 5), ("c", 3), ("d", 1)]
    previous = dict(webster(0, votes))
    for seats in range(1, 40):
        current = dict(webster(seats, votes))
        assert sum(current.values()) == seats
        assert all(current[k] >= previous[k] for k in current)
        previous = current


# --- strategies (spec 9.3 / 9.4 / 9.6) -------------------------------------------------------


def test_static_weights_divide_and_ignore_unmatched_clusters() -> None:
    clusters = [cluster("a", labels={"env": "prod"}), cluster("b"), cluster("c")]
    policy = static(({"labelSelector": {"matchLabels": {"env": "prod"}}}, 3), ({"clusterNames": ["b"]}, 1))
    assert place(policy, 7, clusters) == [{"name": "a", "replicas": 5}, {"name": "b", "replicas": 2}]


def test_static_weights_two_to_one() -> None:
    policy = static(({"clusterNames": ["m1"]}, 2), ({"clusterNames": ["m2"]}, 1))
    assert as_map(place(policy, 3, [cluster("m1"), cluster("m2")])) == {"m1": 2, "m2": 1}


def test_static_weight_tie_follows_the_workload_uid() -> None:
    policy = static(({"clusterNames": ["member1", "member2"]}, 1))
    clusters = [cluster("member1"), cluster("member2")]
    assert as_map(place(policy, 3, clusters, uid=ODD_UID)) == {"member1": 1, "member2": 2}
    assert as_map(place(policy, 3, clusters, uid=EVEN_UID)) == {"member1": 2, "member2": 1}


def test_divided_without_weights_is_an_equal_split() -> None:
    policy = {"replicaScheduling": DIVIDED_WEIGHTED}
    assert as_map(place(policy, 6, [cluster("x"), cluster("y"), cluster("z")])) == {"x": 2, "y": 2, "z": 2}


@pytest.mark.parametrize(
    ("replicas", "reschedule", "expected"),
    [
        (10, False, {"m1": 6, "m2": 4}),
        (14, False, {"m1": 6, "m2": 5, "m3": 3}),
        (5, False, {"m1": 3, "m2": 2}),
        (10, True, {"m1": 3, "m2": 3, "m3": 4}),
    ],
)
def test_dynamic_weights_keep_existing_replicas(replicas: int, reschedule: bool, expected: dict[str, int]) -> None:
    clusters = [cluster("m1", pods=0), cluster("m2", pods=2), cluster("m3", pods=8)]
    previous = [{"name": "m1", "replicas": 6}, {"name": "m2", "replicas": 4}]
    assert as_map(place(DYNAMIC, replicas, clusters, previous, reschedule=reschedule)) == expected


def test_aggregated_picks_the_smallest_prefix_and_splits_inside_it() -> None:
    clusters = [cluster("a", pods=10), cluster("b", pods=8), cluster("c", pods=6)]
    assert as_map(place(AGGREGATED, 12, clusters)) == {"a": 7, "b": 5}


def test_aggregated_scale_down_consolidates() -> None:
    previous = [{"name": "m1", "replicas": 3}, {"name": "m2", "replicas": 3}, {"name": "m3", "replicas": 6}]
    assert place(AGGREGATED, 5, [cluster("m1"), cluster("m2"), cluster("m3")], previous) == [
        {"name": "m3", "replicas": 5}
    ]


def test_not_enough_capacity_is_unschedulable() -> None:
    requirements = {"resourceRequest": {"cpu": "2"}}
    with pytest.raises(NoFit) as caught:
        place(AGGREGATED, 5, [cluster("a", cpu="4"), cluster("b", cpu="3")], replica_requirements=requirements)
    assert caught.value.reason == placement.UNSCHEDULABLE
    assert caught.value.message == (
        "failed to assign replicas: failed to scale up: Clusters available replicas 3 are not enough to schedule."
    )


def test_duplicated_and_non_workloads() -> None:
    clusters = [cluster("a"), cluster("b")]
    assert as_map(place(None, 3, clusters)) == {"a": 3, "b": 3}
    assert place({"replicaScheduling": {"replicaSchedulingType": "Duplicated"}}, 0, clusters) == [
        {"name": "a"},
        {"name": "b"},
    ]


def test_non_native_strategy_is_a_scheduler_error() -> None:
    shorthand = {"replicaScheduling": {"replicaSchedulingType": "Weighted", "weightList": []}}
    with pytest.raises(NoFit) as caught:
        place(shorthand, 3, [cluster("a")])
    assert (caught.value.reason, caught.value.message) == (
        "SchedulerError",
        "failed to assign replicas: unsupported replica scheduling strategy, replicaSchedulingType: Weighted, "
        "replicaDivisionPreference: , please try another scheduling strategy",
    )
    # A non-workload (a ConfigMap) is placed without looking at the strategy at all.
    assert place(shorthand, 0, [cluster("a")]) == [{"name": "a"}]


# --- filters (spec 4) ------------------------------------------------------------------------


def test_affinity_names_exclude_labels_and_fields() -> None:
    clusters = [
        cluster("bj", labels={"env": "prod"}, provider="huaweicloud", region="north", zones=["n1", "n2"]),
        cluster("sh", labels={"env": "prod"}, provider="huaweicloud", region="east", zones=["e1"]),
        cluster("hz", labels={"env": "prod"}, provider="alibabacloud", region="east", zones=["e2"]),
        cluster("st", labels={"env": "staging"}, provider="huaweicloud", region="east"),
    ]
    by_label = {"clusterAffinity": {"labelSelector": {"matchLabels": {"env": "prod"}}, "exclude": ["bj"]}}
    assert as_map(place(by_label, 0, clusters)) == {"sh": 0, "hz": 0}
    by_field = {
        "clusterAffinity": {
            "fieldSelector": {
                "matchExpressions": [
                    {"key": "region", "operator": "In", "values": ["east"]},
                    {"key": "provider", "operator": "NotIn", "values": ["alibabacloud"]},
                ]
            }
        }
    }
    assert as_map(place(by_field, 0, clusters)) == {"sh": 0, "st": 0}
    by_zone = {
        "clusterAffinity": {
            "fieldSelector": {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["n2"]}]}
        }
    }
    assert as_map(place(by_zone, 0, clusters)) == {"bj": 0}
    expressions = {
        "clusterAffinity": {
            "labelSelector": {"matchExpressions": [{"key": "env", "operator": "In", "values": ["staging"]}]}
        }
    }
    assert as_map(place(expressions, 0, clusters)) == {"st": 0}


def test_taints_filter_new_placements_but_not_existing_ones() -> None:
    not_ready = [{"key": "cluster.karmada.io/not-ready", "effect": "NoSchedule"}]
    clusters = [cluster("a"), cluster("b", taints=not_ready)]
    assert as_map(place(None, 1, clusters)) == {"a": 1}
    assert as_map(place(None, 1, clusters, [{"name": "b", "replicas": 1}])) == {"a": 1, "b": 1}
    tolerant = {"clusterTolerations": [{"key": "cluster.karmada.io/not-ready", "operator": "Exists"}]}
    assert as_map(place(tolerant, 1, clusters)) == {"a": 1, "b": 1}


def test_no_cluster_fit_message_counts_the_reasons() -> None:
    clusters = [
        cluster("a", taints=[{"key": "dedicated", "value": "ml", "effect": "NoSchedule"}]),
        cluster("b"),
        cluster("c"),
        {"metadata": {"name": "d"}, "spec": {}, "status": {}},
    ]
    policy = {"clusterAffinity": {"clusterNames": ["a", "d"]}}
    with pytest.raises(NoFit) as caught:
        place(policy, 1, clusters, resource=("apps/v1", "Deployment"))
    assert caught.value.reason == placement.NO_CLUSTER_FIT
    assert caught.value.message == (
        "0/4 clusters are available: 1 cluster(s) did not have the API resource, "
        "1 cluster(s) had untolerated taint {dedicated=ml:NoSchedule}, "
        "2 cluster(s) did not match the placement cluster affinity constraint."
    )


def test_clusters_being_evicted_are_filtered() -> None:
    assert as_map(place(None, 2, [cluster("a"), cluster("b")], evicted={"a"})) == {"b": 2}


def test_cluster_spread_constraint_takes_the_best_clusters() -> None:
    policy = {
        "spreadConstraints": [{"spreadByField": "cluster", "maxGroups": 2, "minGroups": 1}],
        "replicaScheduling": {"replicaSchedulingType": "Duplicated"},
    }
    clusters = [cluster("a", pods=5), cluster("b", pods=50), cluster("c", pods=20)]
    assert [c["name"] for c in place(policy, 1, clusters)] == ["b", "c"]


def test_cluster_affinities_fail_over_to_the_next_group() -> None:
    policy = {
        "clusterAffinities": [
            {"affinityName": "primary", "clusterNames": ["gone"]},
            {"affinityName": "backup", "clusterNames": ["b"]},
        ]
    }
    result = placement.place_detailed(policy, 1, [cluster("a"), cluster("b")])
    assert (list(result.clusters), result.affinity_name) == ([{"name": "b", "replicas": 1}], "backup")
