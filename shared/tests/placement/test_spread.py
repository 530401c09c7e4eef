"""Candidate selection under spread constraints (spec 7) and the group search."""

from __future__ import annotations

from typing import Any

import pytest

from shared.placement import NoFit, ScheduleRequest, schedule, spread, views
from shared.placement.groups import Group, select_groups
from shared.placement.testing import aggregated, as_map, cluster, duplicated, dynamic


def run(placement: dict[str, Any], replicas: int, clusters: list[dict[str, Any]], **kw: Any) -> Any:
    return schedule(ScheduleRequest(placement=placement, replicas=replicas, clusters=clusters, **kw))


def by_cluster(max_groups: int, min_groups: int = 1) -> list[dict[str, Any]]:
    return [{"spreadByField": "cluster", "maxGroups": max_groups, "minGroups": min_groups}]


# --- the cluster constraint ----------------------------------------------------------------------


def test_duplicated_takes_the_top_clusters_regardless_of_capacity() -> None:
    fleet = [cluster("a", pods=5), cluster("b", pods=50), cluster("c", pods=20)]
    result = run(duplicated(spreadConstraints=by_cluster(2)), 30, fleet)
    assert [c["name"] for c in result.clusters] == ["b", "c"]
    assert result.excluded == {"a": "not selected by spread constraints"}


def test_divided_swaps_in_roomier_clusters_from_the_back() -> None:
    # Previously used clusters rank first (score 100), but cannot hold 80 together.
    fleet = [cluster("m1", pods=40), cluster("m2", pods=30), cluster("m3", pods=60)]
    previous = [{"name": "m1", "replicas": 0}, {"name": "m2", "replicas": 0}]
    result = run(dynamic(spreadConstraints=by_cluster(2)), 80, fleet, previous=previous)
    assert set(as_map(result.clusters)) == {"m1", "m3"}


def test_not_enough_room_in_max_groups_clusters() -> None:
    fleet = [cluster("a", pods=10), cluster("b", pods=10), cluster("c", pods=10)]
    with pytest.raises(NoFit) as caught:
        run(dynamic(spreadConstraints=by_cluster(2)), 25, fleet)
    assert (caught.value.reason, caught.value.message) == (
        "SchedulerError",
        "failed to select clusters: no enough resource when selecting 2 clusters",
    )


def test_fewer_feasible_clusters_than_min_groups() -> None:
    with pytest.raises(NoFit) as caught:
        run(duplicated(spreadConstraints=by_cluster(3, 3)), 1, [cluster("a"), cluster("b")])
    assert caught.value.message == (
        "failed to select clusters: the number of feasible clusters is less than spreadConstraint.MinGroups"
    )


def test_max_groups_zero_selects_nothing() -> None:
    with pytest.raises(NoFit) as caught:
        run(duplicated(spreadConstraints=by_cluster(0, 0)), 1, [cluster("a")])
    assert caught.value.message == "failed to assign replicas: no clusters available to schedule"


def test_zone_or_provider_alone_cannot_select() -> None:
    placement = duplicated(spreadConstraints=[{"spreadByField": "zone", "maxGroups": 2, "minGroups": 1}])
    with pytest.raises(NoFit) as caught:
        run(placement, 1, [cluster("a", zones=["z"])])
    assert caught.value.message == "failed to select clusters: just support cluster and region spread constraint"


def test_the_swap_picks_the_first_of_the_roomiest() -> None:
    snap = views.snapshot([cluster(n) for n in ("p", "q", "r", "s")])
    available = [5, 1, 9, 9]
    ranked = spread.Ranked(snap, [0, 1, 2, 3], available, available, {}, {})
    assert spread.select(dynamic(spreadConstraints=by_cluster(2)), ranked, 12) == [0, 2]


# --- the region constraint -----------------------------------------------------------------------

REGIONS = [
    cluster("e1", pods=50, region="east"),
    cluster("e2", pods=40, region="east"),
    cluster("w1", pods=30, region="west"),
    cluster("w2", pods=5, region="west"),
    cluster("n1", pods=20, region="north"),
]


def regional(region: tuple[int, int], clusters: tuple[int, int], make: Any = duplicated) -> dict[str, Any]:
    placement: dict[str, Any] = make(
        spreadConstraints=[
            {"spreadByField": "region", "minGroups": region[0], "maxGroups": region[1]},
            {"spreadByField": "cluster", "minGroups": clusters[0], "maxGroups": clusters[1]},
        ]
    )
    return placement


def test_regions_then_their_best_clusters_then_the_best_of_the_rest() -> None:
    # Duplicated region scores count clusters that hold every replica: east 2, west 2, north 1.
    result = run(regional((2, 2), (2, 3)), 5, REGIONS)
    assert [c["name"] for c in result.clusters] == ["e1", "w1", "e2"]
    assert result.excluded == {"w2": "not selected by spread constraints", "n1": "not selected by spread constraints"}


def test_region_selection_ignores_capacity() -> None:
    result = run(regional((1, 1), (1, 1), dynamic), 45, REGIONS)
    assert as_map(result.clusters) == {"e1": 45}
    with pytest.raises(NoFit):
        run(regional((1, 1), (1, 1), dynamic), 60, REGIONS)  # the assignment then finds too little room


def test_too_few_regions() -> None:
    with pytest.raises(NoFit) as caught:
        run(regional((4, 4), (1, 4)), 1, REGIONS)
    assert caught.value.message == (
        "failed to select clusters: the number of feasible region is less than spreadConstraint.MinGroups"
    )


def test_regions_cannot_hold_the_cluster_minimum() -> None:
    with pytest.raises(NoFit) as caught:
        run(regional((1, 1), (3, 3)), 1, REGIONS)
    assert caught.value.message == (
        "failed to select clusters: the number of clusters is less than the cluster spreadConstraint.MinGroups"
    )


def test_divided_region_scores_reward_regions_that_cover_their_share() -> None:
    # 20 replicas over 2 regions: each should hold ceil(20/2) = 10 with its best clusters.
    fleet = [
        cluster("a1", pods=9, region="a"),
        cluster("b1", pods=12, region="b"),
        cluster("c1", pods=6, region="c"),
        cluster("c2", pods=6, region="c"),
    ]
    result = run(regional((2, 2), (2, 4), aggregated), 20, fleet)
    assert {c["name"] for c in result.clusters} <= {"b1", "c1", "c2"}


def test_group_score() -> None:
    snap = views.snapshot([cluster(n) for n in ("x", "y", "z")])
    available = [4, 3, 10]
    ranked = spread.Ranked(snap, [0, 1, 2], available, available, {1: 100}, {})
    members = [0, 1, 2]
    # Duplicated: 1000 per cluster that holds every replica, plus their mean score.
    assert spread.group_score(members, ranked, duplicated(), 4, 1) == 2000
    assert spread.group_score(members, ranked, duplicated(), 3, 1) == 3000 + 100 // 3
    # Divided: target ceil(10 / 2) = 5, reached after x and y (score 100 over 2 clusters).
    assert spread.group_score(members, ranked, dynamic(), 10, 2) == 5000 + 50
    # Not reachable: 1000 per available replica plus the mean score of all.
    assert spread.group_score(members, ranked, dynamic(), 100, 2) == 17000 + 33


# --- selectGroups ----------------------------------------------------------------------------------


def names(groups: list[Group]) -> list[str]:
    return [g.name for g in groups]


def test_the_heaviest_feasible_combination_wins() -> None:
    groups = [Group("r1", 2, 10), Group("r2", 3, 30), Group("r3", 6, 20), Group("r4", 7, 5)]
    assert names(select_groups(groups, 2, 2, 7)) == ["r2", "r3"]


def test_a_prefix_of_the_best_path_wins() -> None:
    # The search meets small b first, so [a, b] (weight 15) is found before [a] (weight 10);
    # [a] is a strict prefix of the heavier path and replaces it.
    groups = [Group("a", 5, 10), Group("b", 1, 5)]
    assert names(select_groups(groups, 1, 2, 3)) == ["a"]


def test_equal_paths_fall_back_to_discovery_order() -> None:
    groups = [Group("a", 1, 1), Group("b", 1, 1), Group("c", 1, 1)]
    assert names(select_groups(groups, 2, 2, 2)) == ["a", "b"]


def test_nothing_feasible() -> None:
    assert select_groups([Group("a", 1, 1)], 1, 1, 5) == []
    assert select_groups([], 1, 1, 0) == []


def test_when_every_group_is_needed_only_the_first_branch_is_searched() -> None:
    groups = [Group("a", 1, 1), Group("b", 1, 1)]
    assert names(select_groups(groups, 2, 2, 2)) == ["a", "b"]
    assert select_groups(groups, 2, 2, 3) == []
