"""The gang-fit decision on a cluster's nodes, the shortfall when it does not fit, and ranking."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from shared.gang import fit
from shared.gang.shortfall import ShortfallKind

Obj = dict[str, Any]
MakeNode = Callable[..., Obj]
MakeJob = Callable[..., Obj]
GZ_GPU_NODES = {"cluster-guangzhou-node-2", "cluster-guangzhou-node-3"}


def _gpu_cluster(make_node: MakeNode, **gpu_node: Any) -> list[Obj]:
    """Like the example's cluster-guangzhou: 2 CPU nodes and 2 GPU nodes with 4 GPUs each."""
    return [
        make_node("cpu-0", labels={"node-type": "cpu"}),
        make_node("cpu-1", labels={"node-type": "cpu"}),
        make_node("gpu-0", cpu="32", memory="128Gi", gpus="4", labels={"node-type": "gpu"}, **gpu_node),
        make_node("gpu-1", cpu="32", memory="128Gi", gpus="4", labels={"node-type": "gpu"}, **gpu_node),
    ]


# --- the seed job on the example fleet ----------------------------------------------------------


def test_seed_job_fits_on_cluster_guangzhou(seed_job: Obj, fleet_nodes: dict[str, list[Obj]]) -> None:
    result = fit.fit_job(seed_job, fleet_nodes["cluster-guangzhou"])
    assert result.fits
    assert result.shortfalls == ()
    assert result.min_member == 3
    where = {p.pod: p.node for p in result.placements}
    assert set(where) == {"tensorflow-training-ps-0", "tensorflow-training-worker-0", "tensorflow-training-worker-1"}
    assert {where["tensorflow-training-worker-0"], where["tensorflow-training-worker-1"]} <= GZ_GPU_NODES
    # Binpack: the ps goes where it fills the node most (a 16-CPU node), the workers share one GPU node.
    assert where["tensorflow-training-ps-0"] == "cluster-guangzhou-node-1"
    assert where["tensorflow-training-worker-0"] == where["tensorflow-training-worker-1"] == "cluster-guangzhou-node-3"
    assert result.requests == {"cpu": Decimal(5), "memory": Decimal(20 * 2**30), "pods": Decimal(3)}
    assert result.capacity["cpu"] == Decimal(96)
    assert result.free_after["cpu"] == Decimal(91)
    assert result.headroom == Decimal(91) / Decimal(96)
    # Deterministic: the same input places the same way.
    assert fit.fit_job(seed_job, fleet_nodes["cluster-guangzhou"]) == result


def test_seed_job_does_not_fit_on_cluster_beijing(seed_job: Obj, fleet_nodes: dict[str, list[Obj]]) -> None:
    result = fit.fit_job(seed_job, fleet_nodes["cluster-beijing"])
    assert not result.fits
    assert result.placements == ()
    (shortfall,) = result.shortfalls
    assert shortfall.kind is ShortfallKind.NO_MATCHING_NODE
    assert shortfall.task == "worker"
    assert shortfall.pod == "tensorflow-training-worker-0"
    assert shortfall.selector == ("node-type=gpu",)
    assert result.reasons == ("no node matches nodeSelector node-type=gpu",)
    assert result.headroom is None
    assert result.free_after == result.free_before


def test_seed_job_picks_cluster_guangzhou_in_the_example_fleet(
    seed_job: Obj, fleet_nodes: dict[str, list[Obj]]
) -> None:
    fits = {name: fit.fit_job(seed_job, nodes) for name, nodes in fleet_nodes.items()}
    assert [name for name, f in fits.items() if f.fits] == ["cluster-guangzhou"]
    assert fit.choose_cluster(fits) == "cluster-guangzhou"
    ranked = [name for name, _ in fit.rank_clusters(fits)]
    assert ranked[0] == "cluster-guangzhou"
    assert ranked[1:] == sorted(ranked[1:])


def test_ranking_prefers_the_most_headroom_after_placement(
    make_gpu_job: MakeJob, fleet_nodes: dict[str, list[Obj]]
) -> None:
    job = make_gpu_job("cpu-only", workers=2, gpus=0, cpu="4", selector=False)
    fits = {name: fit.fit_job(job, nodes) for name, nodes in fleet_nodes.items()}
    ranked = fit.rank_clusters(fits)
    names = [name for name, f in ranked if f.fits]
    # cpu is every cluster's bottleneck here: guangzhou 88/96, beijing and shanghai 40/48 (tie: by
    # name), hangzhou 16/24, suzhou 8/16.
    assert names[:5] == [
        "cluster-guangzhou",
        "cluster-beijing",
        "cluster-shanghai",
        "cluster-hangzhou",
        "cluster-suzhou-staging",
    ]
    headrooms = [f.headroom for _, f in ranked if f.fits]
    assert headrooms[:2] == [Decimal(88) / 96, Decimal(40) / 48]
    assert fit.choose_cluster(fits) == "cluster-guangzhou"


def test_choose_cluster_when_nothing_fits(seed_job: Obj, fleet_nodes: dict[str, list[Obj]]) -> None:
    fits = {name: fit.fit_job(seed_job, fleet_nodes[name]) for name in ("cluster-beijing", "cluster-shanghai")}
    assert fit.choose_cluster(fits) is None
    assert [name for name, _ in fit.rank_clusters(fits)] == ["cluster-beijing", "cluster-shanghai"]
    assert fit.choose_cluster({}) is None


# --- shortfalls ------------------------------------------------------------------------------------


def test_insufficient_gpus_says_how_many_are_needed_and_free(make_node: MakeNode, make_gpu_job: MakeJob) -> None:
    nodes = _gpu_cluster(make_node)
    taken = {"gpu-0": {"nvidia.com/gpu": Decimal(4)}, "gpu-1": {"nvidia.com/gpu": Decimal(4)}}
    result = fit.fit_job(make_gpu_job("train", workers=2, gpus=2), nodes, allocated=taken)
    (shortfall,) = result.shortfalls
    assert shortfall.kind is ShortfallKind.INSUFFICIENT
    assert (shortfall.resource, shortfall.needed, shortfall.free, shortfall.short) == (
        "nvidia.com/gpu",
        Decimal(4),
        Decimal(0),
        Decimal(4),
    )
    assert shortfall.message == "insufficient nvidia.com/gpu: the gang needs 4 on nodes with node-type=gpu, 0 are free"
    assert shortfall.to_dict() == {
        "kind": "Insufficient",
        "task": "worker",
        "pod": "train-worker-0",
        "message": shortfall.message,
        "selector": ["node-type=gpu"],
        "resource": "nvidia.com/gpu",
        "needed": "4",
        "free": "0",
        "short": "4",
    }
    # The allocation map is an input, never changed.
    assert taken == {"gpu-0": {"nvidia.com/gpu": Decimal(4)}, "gpu-1": {"nvidia.com/gpu": Decimal(4)}}


def test_insufficient_on_any_node_and_several_resources(make_node: MakeNode, make_gpu_job: MakeJob) -> None:
    nodes = [make_node("a", cpu="2", gpus="1"), make_node("b", cpu="2")]
    result = fit.fit_job(make_gpu_job("train", workers=2, gpus=1, cpu="3", selector=False), nodes)
    assert result.reasons == (
        "insufficient cpu: the gang needs 6 on the cluster's nodes, 4 are free",
        "insufficient nvidia.com/gpu: the gang needs 2 on the cluster's nodes, 1 is free",
    )


def test_memory_shortfall_is_printed_in_binary_units(make_node: MakeNode, seed_job: Obj) -> None:
    nodes = [make_node("cpu-0", memory="8Gi"), make_node("gpu-0", memory="12Gi", labels={"node-type": "gpu"})]
    result = fit.fit_job(seed_job, nodes)
    assert result.reasons == ("insufficient memory: the gang needs 16Gi on nodes with node-type=gpu, 12Gi are free",)


def test_untolerated_taint(make_node: MakeNode, seed_job: Obj) -> None:
    taint = {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}
    nodes = _gpu_cluster(make_node, taints=[taint])
    result = fit.fit_job(seed_job, nodes)
    (shortfall,) = result.shortfalls
    assert shortfall.kind is ShortfallKind.UNTOLERATED_TAINT
    assert shortfall.taints == ("nvidia.com/gpu=present:NoSchedule",)
    assert shortfall.nodes == ("gpu-0", "gpu-1")
    assert shortfall.message == (
        "untolerated taint nvidia.com/gpu=present:NoSchedule on nodes with node-type=gpu (task worker)"
    )
    tolerant = seed_job
    tolerant["spec"]["tasks"][1]["template"]["spec"]["tolerations"] = [{"key": "nvidia.com/gpu", "operator": "Exists"}]
    assert fit.fit_job(tolerant, nodes).fits


def test_not_ready_and_cordoned_nodes_are_not_used(make_node: MakeNode, seed_job: Obj) -> None:
    nodes = [
        make_node("cpu-0"),
        make_node("gpu-0", gpus="4", labels={"node-type": "gpu"}, ready="False"),
        make_node("gpu-1", gpus="4", labels={"node-type": "gpu"}, unschedulable=True),
    ]
    result = fit.fit_job(seed_job, nodes)
    (shortfall,) = result.shortfalls
    assert shortfall.kind is ShortfallKind.NO_USABLE_NODE
    assert shortfall.message == "no node matching nodeSelector node-type=gpu is ready and schedulable: gpu-0, gpu-1"
    # Unusable nodes count neither as capacity nor as free room.
    assert result.capacity["cpu"] == Decimal(16)


def test_fragmented_capacity(make_node: MakeNode, make_gpu_job: MakeJob) -> None:
    nodes = _gpu_cluster(make_node)
    result = fit.fit_job(
        make_gpu_job("big", workers=1, gpus=5), nodes, allocated={"gpu-0": {"nvidia.com/gpu": Decimal(1)}}
    )
    (shortfall,) = result.shortfalls
    assert shortfall.kind is ShortfallKind.FRAGMENTED
    assert (shortfall.needed, shortfall.free) == (Decimal(5), Decimal(4))
    assert shortfall.message == (
        "insufficient nvidia.com/gpu on any single node with node-type=gpu: a pod of task worker needs 5, "
        "the most free on one node is 4"
    )


def test_enough_in_total_but_it_does_not_pack(make_node: MakeNode, make_gpu_job: MakeJob) -> None:
    nodes = [make_node("g0", gpus="3"), make_node("g1", gpus="3")]
    result = fit.fit_job(make_gpu_job("odd", workers=3, gpus=2, selector=False), nodes)
    (shortfall,) = result.shortfalls
    assert shortfall.kind is ShortfallKind.DOES_NOT_PACK
    assert shortfall.pod == "odd-worker-2"
    assert shortfall.message == "the gang's pods do not pack onto the cluster's nodes, although enough is free in total"


def test_no_nodes(seed_job: Obj) -> None:
    result = fit.fit_job(seed_job, [])
    assert result.reasons == ("the cluster has no nodes",)
    assert result.capacity == {}


def test_every_failing_group_is_explained(make_node: MakeNode, seed_job: Obj) -> None:
    seed_job["spec"]["tasks"][0]["template"]["spec"]["nodeSelector"] = {"node-type": "highmem"}
    result = fit.fit_job(seed_job, [make_node("cpu-0")])
    assert [(s.task, s.kind) for s in result.shortfalls] == [
        ("ps", ShortfallKind.NO_MATCHING_NODE),
        ("worker", ShortfallKind.NO_MATCHING_NODE),
    ]
    assert result.reasons == (
        "no node matches nodeSelector node-type=highmem",
        "no node matches nodeSelector node-type=gpu",
    )


def test_already_allocated_capacity_moves_pods(make_node: MakeNode, seed_job: Obj) -> None:
    nodes = _gpu_cluster(make_node)
    full = {"cpu": Decimal(16)}
    result = fit.fit_job(seed_job, nodes, allocated={"cpu-0": full, "cpu-1": full})
    assert result.fits
    assert {p.node for p in result.placements} <= {"gpu-0", "gpu-1"}


def test_a_job_with_only_a_minimum_of_its_pods(make_node: MakeNode, make_gpu_job: MakeJob) -> None:
    job = make_gpu_job("elastic", workers=4, gpus=4)
    job["spec"]["minAvailable"] = 2
    job["spec"]["tasks"][0]["minAvailable"] = 2
    result = fit.fit_job(job, _gpu_cluster(make_node))
    assert result.fits
    assert result.min_member == 2
    assert sorted(p.node for p in result.placements) == ["gpu-0", "gpu-1"]


# --- what is already allocated ---------------------------------------------------------------------


def test_allocated_by_node() -> None:
    def pod(node: str | None, cpu: str, phase: str = "Running") -> Obj:
        spec: Obj = {"containers": [{"name": "c", "resources": {"requests": {"cpu": cpu}}}]}
        if node:
            spec["nodeName"] = node
        return {"spec": spec, "status": {"phase": phase}}

    pods = [pod("n1", "1"), pod("n1", "500m"), pod("n2", "2"), pod("n2", "8", "Succeeded"), pod(None, "4")]
    assert fit.allocated_by_node(pods) == {
        "n1": {"cpu": Decimal("1.5"), "pods": Decimal(2)},
        "n2": {"cpu": Decimal(2), "pods": Decimal(1)},
    }


@pytest.mark.parametrize("phase", ["Pending", "Running", "Unknown"])
def test_unfinished_bound_pods_hold_their_node(phase: str) -> None:
    pods = [{"spec": {"nodeName": "n", "containers": []}, "status": {"phase": phase}}]
    assert fit.allocated_by_node(pods) == {"n": {"pods": Decimal(1)}}
