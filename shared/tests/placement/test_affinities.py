"""Ordered ``clusterAffinities`` failover groups and overflow affinities (spec 10)."""

from __future__ import annotations

from typing import Any

import pytest

from shared.placement import NoFit, ScheduleRequest, schedule
from shared.placement.testing import aggregated, as_map, cluster, duplicated, dynamic

FLEET = [cluster("a1", pods=4), cluster("a2", pods=4), cluster("b1", pods=10), cluster("c1", pods=100)]
GROUPS = [
    {"affinityName": "primary", "clusterNames": ["a1", "a2"]},
    {"affinityName": "secondary", "clusterNames": ["b1"]},
    {"affinityName": "last", "clusterNames": ["c1"]},
]


def run(placement: dict[str, Any], replicas: int, **kw: Any) -> Any:
    return schedule(ScheduleRequest(placement=placement, replicas=replicas, clusters=kw.pop("clusters", FLEET), **kw))


def test_the_first_group_that_schedules_wins() -> None:
    result = run(aggregated(clusterAffinities=GROUPS), 6)
    assert (as_map(result.clusters), result.affinity_name) == ({"a1": 3, "a2": 3}, "primary")


def test_a_group_without_room_fails_over_to_the_next() -> None:
    result = run(aggregated(clusterAffinities=GROUPS), 9)
    assert (as_map(result.clusters), result.affinity_name) == ({"b1": 9}, "secondary")
    assert result.failed_affinities == (
        (
            "primary",
            "failed to assign replicas: failed to scale up: Clusters available replicas 8 are not enough to schedule.",
        ),
    )


def test_the_observed_group_is_where_scheduling_starts() -> None:
    # On "secondary" already: stays there although "primary" could take the replicas again.
    result = run(aggregated(clusterAffinities=GROUPS), 2, observed_affinity_name="secondary")
    assert (as_map(result.clusters), result.affinity_name) == ({"b1": 2}, "secondary")
    # An unknown observed name starts from the first group.
    result = run(aggregated(clusterAffinities=GROUPS), 2, observed_affinity_name="gone")
    assert result.affinity_name == "primary"


def test_an_explicit_reschedule_starts_over_from_the_first_group() -> None:
    previous = [{"name": "b1", "replicas": 2}]
    result = run(
        aggregated(clusterAffinities=GROUPS), 2, observed_affinity_name="secondary", reschedule=True, previous=previous
    )
    assert (as_map(result.clusters), result.affinity_name) == ({"a1": 2}, "primary")


def test_when_every_group_fails_the_first_error_is_raised() -> None:
    groups = [{"affinityName": "x", "clusterNames": ["none"]}, {"affinityName": "y", "clusterNames": ["a1"]}]
    with pytest.raises(NoFit) as caught:
        run(aggregated(clusterAffinities=groups), 50)
    assert caught.value.reason == "NoClusterFit"
    groups.reverse()
    with pytest.raises(NoFit) as caught:
        run(aggregated(clusterAffinities=groups), 50)
    assert caught.value.reason == "Unschedulable"


def test_a_plain_cluster_affinity_has_no_affinity_name() -> None:
    assert run(duplicated(clusterAffinity={"clusterNames": ["c1"]}), 1).affinity_name == ""


# --- overflow ------------------------------------------------------------------------------------

OVERFLOW = [
    {
        "affinityName": "home",
        "clusterNames": ["a1", "a2"],
        "overflowAffinities": [
            {"affinityName": "near", "clusterNames": ["b1"]},
            {"affinityName": "far", "clusterNames": ["b1", "c1"]},
        ],
    }
]


def test_overflow_fills_tier_by_tier() -> None:
    result = run(dynamic(clusterAffinities=OVERFLOW), 20)
    assert result.clusters == (
        {"name": "a1", "replicas": 4},
        {"name": "a2", "replicas": 4},
        {"name": "b1", "replicas": 10},
        {"name": "c1", "replicas": 2},
    )


def test_overflow_tiers_are_not_used_when_the_home_tier_has_room() -> None:
    result = run(dynamic(clusterAffinities=OVERFLOW), 6)
    assert as_map(result.clusters) == {"a1": 3, "a2": 3}
    assert result.excluded == {
        "b1": "not needed: overflow tier 1 was not reached",
        "c1": "not needed: overflow tier 2 was not reached",
    }


def test_overflow_tiers_together_too_small() -> None:
    with pytest.raises(NoFit) as caught:
        run(dynamic(clusterAffinities=OVERFLOW), 200)
    assert (caught.value.reason, caught.value.message) == (
        "Unschedulable",
        "failed to assign replicas: Clusters available replicas are not enough to schedule.",
    )


def test_overflow_affinities_only_widen_the_filter_for_workloads() -> None:
    result = run(dynamic(clusterAffinities=OVERFLOW), 0)
    assert [c["name"] for c in result.clusters] == ["a1", "a2"]
