"""Replica strategies (spec 8, 9) and the capacity estimate they read (spec 6)."""

from __future__ import annotations

from typing import Any

import pytest

from shared.placement import NoFit, ScheduleRequest, estimate, schedule, views
from shared.placement.testing import DIVIDED_WEIGHTED, aggregated, as_map, cluster, duplicated, dynamic, static


def run(placement: dict[str, Any] | None, replicas: int, clusters: list[dict[str, Any]], **kw: Any) -> Any:
    return schedule(ScheduleRequest(placement=placement, replicas=replicas, clusters=clusters, **kw))


def place(placement: dict[str, Any] | None, replicas: int, clusters: list[dict[str, Any]], **kw: Any) -> list[Any]:
    return list(run(placement, replicas, clusters, **kw).clusters)


# --- Duplicated and non-workloads ---------------------------------------------------------------


def test_duplicated_gives_everyone_every_replica_in_candidate_order() -> None:
    fleet = [cluster("a", pods=5), cluster("b", pods=50), cluster("c", pods=20)]
    assert place(None, 3, fleet) == [
        {"name": "b", "replicas": 3},
        {"name": "c", "replicas": 3},
        {"name": "a", "replicas": 3},
    ]
    assert as_map(place(duplicated(), 3, fleet)) == {"a": 3, "b": 3, "c": 3}


def test_capacity_does_not_limit_duplicated() -> None:
    assert as_map(place(None, 500, [cluster("tiny", pods=1)])) == {"tiny": 500}


def test_non_workloads_get_names_only_whatever_the_strategy() -> None:
    fleet = [cluster("b"), cluster("a")]
    assert place(dynamic(), 0, fleet) == [{"name": "a"}, {"name": "b"}]
    shorthand = {"replicaScheduling": {"replicaSchedulingType": "Weighted", "weightList": []}}
    assert place(shorthand, 0, fleet) == [{"name": "a"}, {"name": "b"}]


def test_unsupported_strategy() -> None:
    shorthand = {"replicaScheduling": {"replicaSchedulingType": "Weighted", "replicaDivisionPreference": "Aggregated"}}
    with pytest.raises(NoFit) as caught:
        place(shorthand, 3, [cluster("a")])
    assert caught.value.reason == "SchedulerError"
    assert caught.value.message == (
        "failed to assign replicas: unsupported replica scheduling strategy, replicaSchedulingType: Weighted, "
        "replicaDivisionPreference: Aggregated, please try another scheduling strategy"
    )


# --- static weights ---------------------------------------------------------------------------


def test_static_weights_without_a_weight_preference_split_equally() -> None:
    placement = {"replicaScheduling": dict(DIVIDED_WEIGHTED)}
    assert as_map(place(placement, 6, [cluster("x"), cluster("y"), cluster("z")])) == {"x": 2, "y": 2, "z": 2}


def test_a_cluster_matching_several_rules_takes_the_highest_weight() -> None:
    placement = static(({"clusterNames": ["a", "b"]}, 1), ({"clusterNames": ["a"]}, 3))
    assert as_map(place(placement, 8, [cluster("a"), cluster("b")])) == {"a": 6, "b": 2}


def test_when_no_rule_matches_every_candidate_weighs_one() -> None:
    placement = static(({"clusterNames": ["elsewhere"]}, 5))
    assert as_map(place(placement, 4, [cluster("a"), cluster("b")])) == {"a": 2, "b": 2}


def test_static_weights_ignore_capacity_history_and_spread_constraints() -> None:
    placement = static(
        ({"clusterNames": ["a"]}, 1),
        ({"clusterNames": ["b"]}, 1),
        spreadConstraints=[{"spreadByField": "cluster", "maxGroups": 1, "minGroups": 1}],
    )
    fleet = [cluster("a", pods=0), cluster("b", pods=0)]
    previous = [{"name": "a", "replicas": 4}]
    assert as_map(place(placement, 4, fleet, previous=previous)) == {"a": 2, "b": 2}


def test_static_weight_diagnosis() -> None:
    placement = static(({"clusterNames": ["a"]}, 100), ({"clusterNames": ["b"]}, 1))
    result = run(placement, 1, [cluster("a"), cluster("b"), cluster("c")])
    assert as_map(result.clusters) == {"a": 1}
    assert result.excluded == {"b": "its weight 1 earned no replica of 1", "c": "no staticWeightList rule matches it"}


# --- dynamic weights and Aggregated ------------------------------------------------------------


def test_dynamic_weights_follow_free_capacity() -> None:
    fleet = [cluster("a", pods=30), cluster("b", pods=10), cluster("c", pods=0)]
    result = run(dynamic(), 8, fleet)
    assert as_map(result.clusters) == {"a": 6, "b": 2}
    assert result.excluded == {"c": "no capacity: not one more replica of this size fits"}


def test_scale_up_keeps_what_runs() -> None:
    fleet = [cluster("a", pods=10), cluster("b", pods=10)]
    previous = [{"name": "b", "replicas": 7}]
    assert as_map(place(dynamic(), 9, fleet, previous=previous)) == {"a": 1, "b": 8}


def test_scale_down_never_uses_new_clusters() -> None:
    fleet = [cluster("a", pods=0), cluster("b", pods=0), cluster("c", pods=100)]
    previous = [{"name": "a", "replicas": 6}, {"name": "b", "replicas": 2}]
    result = run(dynamic(), 4, fleet, previous=previous)
    assert as_map(result.clusters) == {"a": 3, "b": 1}
    assert result.excluded["c"] == "not needed: a scale-down only shrinks the clusters that run replicas"


def test_aggregated_prefers_previously_used_clusters() -> None:
    fleet = [cluster("big", pods=100), cluster("small", pods=10)]
    assert as_map(place(aggregated(), 5, fleet)) == {"big": 5}
    assert as_map(place(aggregated(), 8, fleet, previous=[{"name": "small", "replicas": 3}])) == {"small": 8}


def test_not_enough_capacity_on_scale_down_and_fresh() -> None:
    # Fresh: the previous replicas count as capacity, the new free space too.
    fleet = [cluster("a", pods=1)]
    with pytest.raises(NoFit) as caught:
        place(dynamic(), 5, fleet, previous=[{"name": "a", "replicas": 2}], reschedule=True)
    assert caught.value.message == (
        "failed to assign replicas: failed to do fresh scale: Clusters available replicas 3 are not enough to schedule."
    )


def test_clusters_left_by_the_previous_result_keep_their_order_after_the_new_ones() -> None:
    fleet = [cluster("a", pods=10), cluster("z", pods=0), cluster("m", pods=10)]
    previous = [{"name": "z", "replicas": 2}]
    # Aggregated: the prefix is z (prior, but 0 free) then a; z's 2 replicas stay, appended.
    assert place(aggregated(), 4, fleet, previous=previous) == [
        {"name": "a", "replicas": 2},
        {"name": "z", "replicas": 2},
    ]


# --- the general estimator ---------------------------------------------------------------------


def estimate_of(c: dict[str, Any], request: dict[str, str] | None) -> int:
    req = estimate.requirements(None if request is None else {"resourceRequest": request})
    return estimate.general(views.build_view(c), req)


@pytest.mark.parametrize(
    ("kwargs", "request_", "expected"),
    [
        ({"pods": None}, {"cpu": "1"}, 0),
        ({"pods": 10}, None, 10),
        ({"pods": 10, "allocated": {"pods": "4"}, "allocating": {"pods": "3"}}, None, 3),
        ({"pods": 10, "allocated": {"pods": "12"}}, None, 0),
        ({"pods": 100, "cpu": "2"}, {"cpu": "300m"}, 6),
        ({"pods": 100, "cpu": "2", "allocated": {"cpu": "500m", "pods": "0"}}, {"cpu": "300m"}, 5),
        ({"pods": 100, "cpu": "2", "memory": "1Gi"}, {"cpu": "100m", "memory": "256Mi"}, 4),
        ({"pods": 3, "cpu": "64"}, {"cpu": "1"}, 3),
        ({"pods": 100, "cpu": "4"}, {"cpu": "1", "nvidia.com/gpu": "1"}, 0),
        ({"pods": 100, "cpu": "4"}, {"cpu": "1", "nvidia.com/gpu": "0"}, 4),
        ({"pods": 100, "cpu": "4", "allocated": {"cpu": "4", "pods": "0"}}, {"cpu": "1"}, 0),
        # Memory is compared by Value(): 1.5Gi free of 1Gi requests is one replica.
        ({"pods": 100, "memory": "1536Mi"}, {"memory": "1Gi"}, 1),
    ],
)
def test_general_estimator(kwargs: dict[str, Any], request_: dict[str, str] | None, expected: int) -> None:
    assert estimate_of(cluster("c", **kwargs), request_) == expected


def test_resource_models_put_pods_on_virtual_nodes() -> None:
    c = cluster("m", pods=1000, cpu="100", memory="400Gi")
    c["spec"]["resourceModels"] = [
        {
            "grade": 0,
            "ranges": [{"name": "cpu", "min": "0", "max": "4"}, {"name": "memory", "min": "0", "max": "16Gi"}],
        },
        {
            "grade": 1,
            "ranges": [{"name": "cpu", "min": "4", "max": "8"}, {"name": "memory", "min": "16Gi", "max": "32Gi"}],
        },
    ]
    c["status"]["resourceSummary"]["allocatableModelings"] = [{"grade": 0, "count": 5}, {"grade": 1, "count": 2}]
    # Grade 0 nodes have nothing at their minimum; each grade 1 node holds 4 one-CPU pods.
    assert estimate_of(c, {"cpu": "1", "memory": "1Gi"}) == 8


def test_best_effort_workloads_fit_anywhere_with_free_pods() -> None:
    # No requirements: the pod count limits; workloads with requirements but no request likewise.
    assert as_map(place(dynamic(), 4, [cluster("a", pods=1), cluster("b", pods=3)])) == {"a": 1, "b": 3}
