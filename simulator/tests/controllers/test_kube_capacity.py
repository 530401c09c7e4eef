"""Incremental first fit: reusing the last packing gives what packing from scratch gives."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

import pytest

from kurator_sim import resources
from kurator_sim.clock import SimClock
from kurator_sim.controllers import kube_capacity
from kurator_sim.store.objects import ObjectStore
from shared.gang.nodes import Node
from shared.gang.pods import PodShape


def _node(name: str, cpu: str, pods: int, *, gpu: int = 0, zone: str = "a") -> Node:
    allocatable: dict[str, Any] = {"cpu": cpu, "memory": "8Gi", "pods": str(pods)}
    if gpu:
        allocatable["nvidia.com/gpu"] = str(gpu)
    return Node.from_dict(
        {
            "metadata": {"name": name, "labels": {"zone": zone}},
            "status": {"allocatable": allocatable, "conditions": [{"type": "Ready", "status": "True"}]},
        }
    )


def _demand(rng: random.Random, i: int) -> kube_capacity.Demand:
    requests: dict[str, str] = {"cpu": rng.choice(["100m", "250m", "1"]), "memory": "128Mi"}
    if rng.random() < 0.2:
        requests["nvidia.com/gpu"] = "1"
    pod_spec: dict[str, Any] = {"containers": [{"name": "c", "resources": {"requests": requests}}]}
    if rng.random() < 0.3:
        pod_spec["nodeSelector"] = {"zone": rng.choice(["a", "b"])}
    kind = rng.choice(["Deployment", "Job", "Pod"])
    demand = kube_capacity.Demand(
        key=(kind, "default", f"w-{i % 40}"),
        count=1 if kind == "Pod" else rng.randint(0, 6),
        shape=PodShape.from_template(f"w-{i}", "", pod_spec),
        order=(f"2026-01-01T00:00:{i % 60:02d}Z", "default", f"w-{i}"),
    )
    if kind == "Pod" and rng.random() < 0.5:
        demand.node_name = rng.choice(["n-0", "n-1", "gone"])
    return demand


def _moved(previous: Mapping[Any, int], now: Mapping[Any, int]) -> set[Any]:
    """The workloads whose scheduled count differs between two packings (or is in only one)."""
    return {k for k in previous.keys() | now.keys() if (k in previous, previous.get(k)) != (k in now, now.get(k))}


def test_incremental_packing_matches_a_fresh_one() -> None:
    rng = random.Random(7)
    nodes = [_node("n-0", "4", 10, gpu=2), _node("n-1", "2", 8, zone="b"), _node("n-2", "8", 20, gpu=1)]
    demands: list[kube_capacity.Demand] = []
    cache = kube_capacity.DemandCache()
    previous: Mapping[kube_capacity.WorkloadKey, int] = {}
    for step in range(300):
        roll = rng.random()
        if roll < 0.5 or not demands:
            demands.insert(rng.randint(0, len(demands)), _demand(rng, step))
        elif roll < 0.7:
            demands.pop(rng.randrange(len(demands)))
        elif roll < 0.9:
            demands[rng.randrange(len(demands))] = _demand(rng, step)
        elif roll < 0.95:
            nodes = [*nodes[:-1], _node(f"n-{step}", rng.choice(["2", "6"]), 12)]
        incremental = kube_capacity.pack(nodes, list(demands), cache)
        fresh = kube_capacity.pack(nodes, list(demands))
        assert incremental.scheduled == fresh.scheduled, step
        if incremental.changed is not None:
            # What it says moved is every workload whose count differs from the last packing.
            assert _moved(previous, fresh.scheduled) == incremental.changed, step
        previous = fresh.scheduled
        assert incremental.allocated == fresh.allocated, step
        assert incremental.allocating == fresh.allocating, step
        assert incremental.nodes == fresh.nodes


def _summary(demands: list[kube_capacity.Demand]) -> list[tuple[Any, ...]]:
    return [(d.key, d.count, d.order, d.node_name, d.per_pod) for d in demands]


@pytest.mark.parametrize("history", [50_000, 7])
def test_demands_followed_through_the_history_match_a_full_read(history: int) -> None:
    rng = random.Random(history)
    store = ObjectStore(
        name="member", registry=resources.default_registry().for_placement("member"), clock=SimClock(), history=history
    )
    deployments, pods = store.registry.by_key(("apps", "deployments")), store.registry.by_key(("", "pods"))
    cache = kube_capacity.DemandCache()
    for step in range(250):
        rt = rng.choice([deployments, pods])
        names = [str(o["metadata"]["name"]) for o in store.iter_raw(rt)]
        roll = rng.random()
        if roll < 0.45 or not names:
            spec: dict[str, Any] = {"containers": [{"name": "c", "resources": {"requests": {"cpu": "100m"}}}]}
            if rt is pods:
                spec["nodeName"] = rng.choice(["", "node-1"])
                body: dict[str, Any] = {"metadata": {"name": f"p-{step}", "finalizers": ["x"]}, "spec": spec}
            else:
                body = {"metadata": {"name": f"d-{step}"}, "spec": {"replicas": 2, "template": {"spec": spec}}}
            store.create(rt, "default", body)
        else:
            current = store.get(rt, "default", rng.choice(names))
            name = current["metadata"]["name"]
            if roll < 0.6:
                store.delete(rt, "default", name)
            elif roll < 0.8 and rt is deployments:
                current["spec"]["replicas"] = rng.randint(0, 4)
                store.update(rt, "default", name, current)
            else:
                current["status"] = {"phase": rng.choice(["Running", "Succeeded"]), "observedGeneration": step}
                store.update(rt, "default", name, current, subresource="status")
        if rng.random() < 0.5:
            assert _summary(kube_capacity.read_demands(store, cache)) == _summary(kube_capacity.read_demands(store))


def test_workloads_with_the_same_pod_spec_share_one_parse_but_keep_their_names() -> None:
    pod_spec = {"containers": [{"name": "c", "resources": {"requests": {"cpu": "250m", "memory": "64Mi"}}}]}
    made = [
        kube_capacity._pod_demand("Deployment", {"metadata": {"name": n, "namespace": "default"}}, pod_spec, 2)
        for n in ("a", "b")
    ]
    fresh = kube_capacity.Demand(
        key=("Deployment", "default", "a"), count=2, shape=PodShape.from_template("a", "", pod_spec), order=("", "", "")
    )
    assert [d.shape.name for d in made] == ["a", "b"]
    assert made[0].per_pod is made[1].per_pod
    assert made[0].per_pod == fresh.per_pod == {"cpu": 250, "memory": 64 * 2**20 * 1000, "pods": 1000}
    assert made[0].claim == fresh.claim
    assert made[0].shape == fresh.shape


def _packing_summary(packing: kube_capacity.Packing) -> tuple[Any, ...]:
    return (packing.scheduled, packing.allocated, packing.allocating, packing.nodes)


@pytest.mark.parametrize("history", [50_000, 7])
def test_a_member_packing_followed_through_the_history_matches_a_fresh_one(history: int) -> None:
    # The cached packing places again only from the first demand that changed, and reads the
    # nodes again only after a node was written: the same result as reading and packing anew.
    rng = random.Random(history + 1)
    store = ObjectStore(
        name="member", registry=resources.default_registry().for_placement("member"), clock=SimClock(), history=history
    )
    deployments, nodes = store.registry.by_key(("apps", "deployments")), store.registry.by_key(("", "nodes"))

    def node(name: str, pods: int) -> dict[str, Any]:
        return {
            "metadata": {"name": name},
            "status": {
                "allocatable": {"cpu": "2", "memory": "8Gi", "pods": str(pods)},
                "conditions": [{"type": "Ready", "status": rng.choice(["True", "True", "False"])}],
            },
        }

    for i in range(3):
        store.create(nodes, None, node(f"node-{i}", 6))
    cache = kube_capacity.DemandCache()
    previous: Mapping[kube_capacity.WorkloadKey, int] = {}
    for step in range(300):
        names = [str(o["metadata"]["name"]) for o in store.iter_raw(deployments)]
        roll = rng.random()
        if roll < 0.45 or not names:
            spec = {"containers": [{"name": "c", "resources": {"requests": {"cpu": rng.choice(["100m", "500m"])}}}]}
            body = {
                "metadata": {"name": f"d-{step}"},
                "spec": {"replicas": rng.randint(0, 4), "template": {"spec": spec}},
            }
            store.create(deployments, "default", body)
        elif roll < 0.6:
            store.delete(deployments, "default", rng.choice(names))
        elif roll < 0.8:
            current = store.get(deployments, "default", rng.choice(names))
            current["spec"]["replicas"] = rng.randint(0, 4)
            store.update(deployments, "default", current["metadata"]["name"], current)
        elif roll < 0.9:
            current = store.get(deployments, "default", rng.choice(names))
            current["status"] = {"observedGeneration": step}
            store.update(deployments, "default", current["metadata"]["name"], current, subresource="status")
        else:
            name = f"node-{rng.randrange(4)}"
            if store.find(nodes, None, name) is None:
                store.create(nodes, None, node(name, rng.choice([4, 8])))
            elif rng.random() < 0.3:
                store.delete(nodes, None, name)
            else:
                current = store.get(nodes, None, name)
                store.update(nodes, None, name, {**current, "status": node(name, rng.choice([4, 8]))["status"]})
        if rng.random() < 0.6:
            cached = kube_capacity.member_packing(store, cache)
            fresh = kube_capacity.member_packing(store)
            assert _packing_summary(cached) == _packing_summary(fresh), step
            if cached.changed is not None:
                assert _moved(previous, fresh.scheduled) == cached.changed, step
            previous = fresh.scheduled
        if rng.random() < 0.1:
            # Reading the demands, or packing another list, in between: the next packing still agrees.
            demands = kube_capacity.read_demands(store, cache)
            if rng.random() < 0.5:
                half = kube_capacity.pack(kube_capacity.read_nodes(store), demands[: len(demands) // 2], cache)
                previous = dict(half.scheduled)  # the cache's own counts: they change with its next packing
