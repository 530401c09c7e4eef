"""Right after start-up the fleet's clusters arrive one by one (a fleet service starting too
publishes them as it lists them): until they stop arriving, no named cluster is called a stranger
and no selector is judged."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from kurator_apps.federated import index, tracker
from shared.contracts.models import apps

AT = ("default", "frontend-app")
T0 = datetime(2026, 1, 1, tzinfo=UTC)
SETTLE = timedelta(seconds=0.05)


def _with_seed(seed_fd: dict[str, Any]) -> tracker.Tracker:
    state = tracker.Tracker(index.Index(), fleet_settle=SETTLE)
    doc = {**seed_fd, "metadata": {**seed_fd["metadata"], "namespace": "default"}}
    state.index.put_fd(apps.FederatedDeployment.model_validate(doc), doc, generation=1)
    return state


async def test_a_named_cluster_not_read_yet_is_no_stranger(
    seed_fd: dict[str, Any], fleet_labels: dict[str, dict[str, str]]
) -> None:
    state = _with_seed(seed_fd)
    state.cluster("cluster-beijing", fleet_labels["cluster-beijing"], ready=True)  # the first of the burst
    body = state.evaluate(AT, now=T0)
    assert body is not None
    assert all(c.get("failure") is None for c in body["clusters"]), body["clusters"]
    assert "warnings" not in body
    assert not state.fleet_known.is_set()

    for name, labels in fleet_labels.items():
        state.cluster(name, labels, ready=True)
    await asyncio.wait_for(state.fleet_known.wait(), 1)
    assert AT in state.dirty  # evaluated again with the fleet known
    body = state.evaluate(AT, now=T0)
    assert body is not None
    assert all(c.get("failure") is None for c in body["clusters"]), body["clusters"]


async def test_a_stranger_is_named_once_the_fleet_is_known(
    seed_fd: dict[str, Any], fleet_labels: dict[str, dict[str, str]]
) -> None:
    seed_fd["spec"]["placement"]["clusters"][1]["name"] = "cluster-wuhan"
    state = _with_seed(seed_fd)
    for name, labels in fleet_labels.items():
        state.cluster(name, labels, ready=True)
    await asyncio.wait_for(state.fleet_known.wait(), 1)
    body = state.evaluate(AT, now=T0)
    assert body is not None
    assert {c["name"]: c.get("failure") for c in body["clusters"]}["cluster-wuhan"] == "not a member of the fleet"
    assert body["warnings"] == ["not members of the fleet: cluster-wuhan"]


async def test_the_fleet_is_known_once_quiet_or_at_the_bound(fleet_labels: dict[str, dict[str, str]]) -> None:
    state = tracker.Tracker(index.Index(), fleet_settle=SETTLE)
    [(name, labels), *_] = fleet_labels.items()
    state.cluster(name, labels, ready=True)
    for _ in range(3):  # heartbeats (nothing that matters moves) do not hold it back
        state.cluster(name, labels, ready=True)
    await asyncio.wait_for(state.fleet_known.wait(), 1)

    flapping = tracker.Tracker(index.Index(), fleet_settle=SETTLE)
    started = asyncio.get_running_loop().time()
    ready = True
    while not flapping.fleet_known.is_set():
        assert asyncio.get_running_loop().time() - started < 2, "a fleet that keeps changing is judged at the bound"
        flapping.cluster(name, labels, ready=ready)
        ready = not ready
        await asyncio.sleep(SETTLE.total_seconds() / 5)
    assert asyncio.get_running_loop().time() - started >= SETTLE.total_seconds() * 5


def test_without_settling_the_fleet_is_known_with_its_first_cluster(fleet_labels: dict[str, dict[str, str]]) -> None:
    state = tracker.Tracker(index.Index())
    [(name, labels), *_] = fleet_labels.items()
    state.cluster(name, labels)
    assert state.fleet_known.is_set()


async def test_a_fleet_that_emptied_waits_again_for_the_clusters_that_come_back(
    fleet_labels: dict[str, dict[str, str]],
) -> None:
    """The bound on waiting counts from the first cluster that comes after the fleet emptied,
    not from the ones that left: the first to come back does not settle it on its own."""
    state = tracker.Tracker(index.Index(), fleet_settle=SETTLE)
    [(name, labels), *_] = fleet_labels.items()
    state.cluster(name, labels, ready=True)
    state.cluster(name, None)  # gone before the fleet settled
    await asyncio.sleep(SETTLE.total_seconds() * (tracker._SETTLE_BOUND + 2))
    assert not state.fleet_known.is_set()
    state.cluster(name, labels, ready=True)
    assert not state.fleet_known.is_set()  # judged only once the returning clusters are quiet
    await asyncio.wait_for(state.fleet_known.wait(), 1)
