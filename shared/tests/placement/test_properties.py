"""Properties that hold for every input: totals, kept placements, determinism, order independence."""

from __future__ import annotations

import random
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.placement import NoFit, ScheduleRequest, schedule
from shared.placement.testing import aggregated, as_map, cluster, duplicated, dynamic, static
from shared.placement.webster import webster

NAMES = [f"m{i}" for i in range(8)]
SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def fleets(draw: st.DrawFn) -> list[dict[str, Any]]:
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=8, unique=True))
    return [
        cluster(
            name,
            pods=draw(st.integers(0, 40)),
            labels={"tier": draw(st.sampled_from(["a", "b"]))},
            region=draw(st.sampled_from(["r1", "r2", "r3"])),
            taints=draw(st.sampled_from([[], [{"key": "k", "effect": "NoSchedule"}]])),
        )
        for name in names
    ]


@st.composite
def placements(draw: st.DrawFn) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if draw(st.booleans()):
        extra["clusterAffinity"] = {"labelSelector": {"matchLabels": {"tier": draw(st.sampled_from(["a", "b"]))}}}
    if draw(st.booleans()):
        extra["clusterTolerations"] = [{"key": "k", "operator": "Exists"}]
    if draw(st.booleans()):
        constraints = [{"spreadByField": "cluster", "minGroups": 1, "maxGroups": draw(st.integers(1, 4))}]
        if draw(st.booleans()):
            constraints.append({"spreadByField": "region", "minGroups": 1, "maxGroups": draw(st.integers(1, 2))})
        extra["spreadConstraints"] = constraints
    kind = draw(st.sampled_from(["duplicated", "dynamic", "aggregated", "static"]))
    if kind == "static":
        return static(
            ({"labelSelector": {"matchLabels": {"tier": "a"}}}, 2), ({"clusterNames": ["m1", "m2"]}, 1), **extra
        )
    maker = {"duplicated": duplicated, "dynamic": dynamic, "aggregated": aggregated}[kind]
    placement: dict[str, Any] = maker(**extra)
    return placement


previous_lists = st.lists(
    st.tuples(st.sampled_from(NAMES), st.integers(0, 10)), max_size=4, unique_by=lambda item: item[0]
).map(lambda items: [{"name": n, "replicas": r} for n, r in items])


def attempt(request: ScheduleRequest) -> tuple[str, Any]:
    try:
        result = schedule(request)
    except NoFit as exc:
        return "error", (exc.reason, exc.message, dict(exc.excluded))
    return "ok", (list(result.clusters), dict(result.excluded))


@SETTINGS
@given(fleet=fleets(), placement=placements(), replicas=st.integers(1, 60), uid=st.sampled_from(["", "u-1", "u-2"]))
def test_divided_totals_add_up_and_duplicated_gives_everyone_all(
    fleet: list[dict[str, Any]], placement: dict[str, Any], replicas: int, uid: str
) -> None:
    outcome, value = attempt(ScheduleRequest(placement=placement, replicas=replicas, clusters=fleet, uid=uid))
    if outcome == "error":
        return
    clusters, excluded = value
    counts = as_map(clusters)
    if placement["replicaScheduling"]["replicaSchedulingType"] == "Duplicated":
        assert set(counts.values()) == {replicas}
    else:
        assert sum(counts.values()) == replicas
    assert all(n > 0 for n in counts.values())
    # Every cluster is either placed or explained, never both.
    assert set(counts) | set(excluded) == {c["metadata"]["name"] for c in fleet}
    assert not set(counts) & set(excluded)


@SETTINGS
@given(
    fleet=fleets(), previous=previous_lists, replicas=st.integers(1, 60), make=st.sampled_from([dynamic, aggregated])
)
def test_scale_up_never_removes_replicas(
    fleet: list[dict[str, Any]], previous: list[dict[str, int]], replicas: int, make: Any
) -> None:
    names = {c["metadata"]["name"] for c in fleet}
    kept = [p for p in previous if p["name"] in names]
    if sum(p["replicas"] for p in kept) > replicas:
        return  # a scale-down
    outcome, value = attempt(ScheduleRequest(placement=make(), replicas=replicas, clusters=fleet, previous=previous))
    if outcome == "error":
        # Not enough room, or nothing fits at all (tainted clusters that held nothing before).
        assert value[0] == "Unschedulable" or (value[0] == "NoClusterFit" and not kept)
        return
    counts = as_map(value[0])
    for p in kept:  # previous clusters pass the taint filter: no affinity, no spread constraints here
        assert counts.get(p["name"], 0) >= p["replicas"]
    assert sum(counts.values()) == replicas


@SETTINGS
@given(fleet=fleets(), placement=placements(), replicas=st.integers(0, 60), previous=previous_lists, seed=st.integers())
def test_deterministic_and_independent_of_the_order_of_clusters(
    fleet: list[dict[str, Any]], placement: dict[str, Any], replicas: int, previous: list[dict[str, int]], seed: int
) -> None:
    request = ScheduleRequest(placement=placement, replicas=replicas, clusters=fleet, previous=previous, uid="u")
    first = attempt(request)
    assert attempt(request) == first
    shuffled = list(fleet)
    random.Random(seed).shuffle(shuffled)
    again = attempt(
        ScheduleRequest(placement=placement, replicas=replicas, clusters=shuffled, previous=previous, uid="u")
    )
    assert again == first


@SETTINGS
@given(
    votes=st.lists(st.integers(0, 50), min_size=1, max_size=6),
    seats=st.integers(0, 80),
    uid=st.sampled_from(["", "u-1", "u-2"]),
)
def test_webster_is_house_monotone_and_exact_on_the_vote_total(votes: list[int], seats: int, uid: str) -> None:
    parties = [(f"p{i}", v) for i, v in enumerate(votes)]
    now = dict(webster(seats, parties, uid=uid))
    after = dict(webster(seats + 1, parties, uid=uid))
    assert sum(now.values()) == seats
    assert all(after[p] >= now[p] for p in now)
    total = sum(votes)
    if total and seats == total:
        assert now == dict(parties)
