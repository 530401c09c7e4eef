"""Every worked example of karmada-placement-spec.md, through the public API."""

from __future__ import annotations

from typing import Any

import pytest

from shared.placement import NoFit, ScheduleRequest, schedule
from shared.placement.testing import aggregated, as_map, cluster, dynamic, static
from shared.placement.webster import fnv1a32, webster

ODD_UID = "d43fdeeb-d750-4e2b-bee3-64eb94534f4c"
EVEN_UID = "00000000-0000-0000-0000-000000000001"


def place(placement: dict[str, Any], replicas: int, clusters: list[dict[str, Any]], **kw: Any) -> list[dict[str, Any]]:
    return list(schedule(ScheduleRequest(placement=placement, replicas=replicas, clusters=clusters, **kw)).clusters)


def test_the_uids_have_the_parity_the_examples_need() -> None:
    assert fnv1a32(ODD_UID.encode()) % 2 == 1
    assert fnv1a32(EVEN_UID.encode()) % 2 == 0


# --- 9.6: the table of worked examples ---------------------------------------------------------

DYNAMIC_FLEET = [cluster("m1", pods=0), cluster("m2", pods=2), cluster("m3", pods=8)]
DYNAMIC_PREVIOUS = [{"name": "m1", "replicas": 6}, {"name": "m2", "replicas": 4}]


@pytest.mark.parametrize(
    ("replicas", "reschedule", "expected"),
    [
        pytest.param(10, False, [("m1", 6), ("m2", 4)], id="unchanged"),
        pytest.param(14, False, [("m1", 6), ("m2", 5), ("m3", 3)], id="scale-up-4-over-8-2-0"),
        pytest.param(5, False, [("m1", 3), ("m2", 2)], id="scale-down-over-6-4"),
        pytest.param(10, True, [("m1", 3), ("m2", 3), ("m3", 4)], id="reschedule-over-6-6-8"),
    ],
)
def test_dynamic_weights(replicas: int, reschedule: bool, expected: list[tuple[str, int]]) -> None:
    result = place(dynamic(), replicas, DYNAMIC_FLEET, previous=DYNAMIC_PREVIOUS, reschedule=reschedule)
    assert [(c["name"], c["replicas"]) for c in result] == expected


def test_aggregated_scale_down_consolidates() -> None:
    previous = [{"name": "m1", "replicas": 3}, {"name": "m2", "replicas": 3}, {"name": "m3", "replicas": 6}]
    clusters = [cluster("m1"), cluster("m2"), cluster("m3")]
    assert place(aggregated(), 5, clusters, previous=previous) == [{"name": "m3", "replicas": 5}]


def test_static_one_to_one_with_an_odd_uid() -> None:
    policy = static(({"clusterNames": ["member1", "member2"]}, 1))
    assert place(policy, 3, [cluster("member1"), cluster("member2")], uid=ODD_UID) == [
        {"name": "member1", "replicas": 1},
        {"name": "member2", "replicas": 2},
    ]


def test_static_rules_by_label_and_name() -> None:
    policy = static(({"labelSelector": {"matchLabels": {"env": "prod"}}}, 3), ({"clusterNames": ["b"]}, 1))
    clusters = [cluster("a", labels={"env": "prod"}), cluster("b"), cluster("c")]
    assert place(policy, 7, clusters) == [{"name": "a", "replicas": 5}, {"name": "b", "replicas": 2}]


# --- 9.2 / 9.3 / 9.8: Webster division ---------------------------------------------------------


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


def test_static_weights_divide_like_webster() -> None:
    policy = static(({"clusterNames": ["a"]}, 3), ({"clusterNames": ["b"]}, 2), ({"clusterNames": ["c"]}, 1))
    clusters = [cluster("a"), cluster("b"), cluster("c")]
    assert as_map(place(policy, 14, clusters)) == {"a": 7, "b": 5, "c": 2}
    assert as_map(place(policy, 13, clusters)) == {"a": 7, "b": 4, "c": 2}


# --- 9.4: Aggregated is a proportional split inside the shortest prefix ------------------------


def test_aggregated_splits_inside_the_shortest_prefix() -> None:
    clusters = [cluster("a", pods=10), cluster("b", pods=8), cluster("c", pods=6)]
    assert place(aggregated(), 12, clusters) == [{"name": "a", "replicas": 7}, {"name": "b", "replicas": 5}]


def test_aggregated_scale_up_fills_previously_used_clusters_first() -> None:
    clusters = [cluster("a", pods=10), cluster("b", pods=8), cluster("c", pods=6)]
    # c already runs 2; 4 more fit in c's 6 free, so the prefix is c alone.
    assert place(aggregated(), 6, clusters, previous=[{"name": "c", "replicas": 2}]) == [{"name": "c", "replicas": 6}]


def test_a_cluster_that_left_the_candidates_loses_its_replicas() -> None:
    previous = [{"name": "gone", "replicas": 4}, {"name": "m1", "replicas": 2}]
    result = place(dynamic(), 6, [cluster("m1", pods=10), cluster("m2", pods=10)], previous=previous)
    # The 4 replicas of the missing cluster are the scale-up delta, divided by free capacity.
    assert as_map(result) == {"m1": 4, "m2": 2}


# --- 10: overflow affinities (the Go test) -----------------------------------------------------


def test_overflow_tiers_fill_the_primary_first() -> None:
    placement = dynamic(
        clusterAffinities=[
            {
                "affinityName": "primary",
                "clusterNames": ["m1"],
                "overflowAffinities": [{"affinityName": "burst", "clusterNames": ["m2"]}],
            }
        ]
    )
    clusters = [cluster("m1", pods=2), cluster("m2", pods=10)]
    result = schedule(
        ScheduleRequest(
            placement=placement,
            replicas=8,
            clusters=clusters,
            previous=[{"name": "m1", "replicas": 3}],
            observed_affinity_name="primary",
        )
    )
    assert list(result.clusters) == [{"name": "m1", "replicas": 5}, {"name": "m2", "replicas": 3}]
    assert result.affinity_name == "primary"


# --- 9.7: the error texts ----------------------------------------------------------------------


def test_not_enough_capacity() -> None:
    clusters = [cluster("a", cpu="4"), cluster("b", cpu="3")]
    with pytest.raises(NoFit) as caught:
        place(aggregated(), 5, clusters, replica_requirements={"resourceRequest": {"cpu": "2"}})
    assert caught.value.reason == "Unschedulable"
    assert caught.value.message == (
        "failed to assign replicas: failed to scale up: Clusters available replicas 3 are not enough to schedule."
    )
    assert set(caught.value.excluded) == {"a", "b"}


def test_no_cluster_fit() -> None:
    with pytest.raises(NoFit) as caught:
        place({"clusterAffinity": {"clusterNames": ["x"]}}, 1, [cluster("a"), cluster("b")])
    assert (caught.value.reason, caught.value.message) == (
        "NoClusterFit",
        "0/2 clusters are available: 2 cluster(s) did not match the placement cluster affinity constraint.",
    )
