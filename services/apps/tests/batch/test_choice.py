"""Choosing the member for a gang (pure): headroom order, accounting for gangs whose pods are not
visible yet, queue state, and the per-member shortfall of a gang that fits nowhere."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from kurator_apps.batch import capacity, choice, status
from kurator_apps.batch.ports import MemberState

Obj = dict[str, Any]
SEED = "04-volcano-job-tensorflow.yaml"


def node(name: str, *, cpu: str, memory: str, gpus: int = 0, kind: str = "cpu") -> Obj:
    allocatable = {"cpu": cpu, "memory": memory, "pods": "110"}
    if gpus:
        allocatable["nvidia.com/gpu"] = str(gpus)
    return {"metadata": {"name": name, "labels": {"node-type": kind}}, "status": {"allocatable": allocatable}}


def member(
    name: str, nodes: list[Obj], *, jobs: tuple[Obj, ...] = (), pods: tuple[Obj, ...] = (), queues: Obj | None = None
) -> MemberState:
    return MemberState(cluster=name, nodes=nodes, pods=list(pods), jobs=list(jobs), queues=queues or {})


def gpu_job(
    name: str, *, workers: int, gpus: int, phase: str | None = None, created: str = "2026-01-01T00:00:00Z"
) -> Obj:
    template = {
        "spec": {
            "nodeSelector": {"node-type": "gpu"},
            "containers": [{"name": "c", "image": "tf", "resources": {"limits": {"nvidia.com/gpu": gpus}}}],
        }
    }
    job: Obj = {
        "metadata": {"name": name, "namespace": "default", "creationTimestamp": created},
        "spec": {"tasks": [{"name": "worker", "replicas": workers, "template": template}]},
    }
    if phase:
        job["status"] = {"state": {"phase": phase}}
    return job


def fleet() -> dict[str, MemberState]:
    return {
        "cpu-big": member("cpu-big", [node(f"b{i}", cpu="16", memory="64Gi") for i in range(3)]),
        "gpu": member(
            "gpu",
            [
                node("g0", cpu="32", memory="128Gi", gpus=4, kind="gpu"),
                node("g1", cpu="32", memory="128Gi", gpus=4, kind="gpu"),
            ],
        ),
        "gpu-small": member("gpu-small", [node("s0", cpu="8", memory="32Gi", gpus=4, kind="gpu")]),
    }


def test_seed_job_goes_to_the_gpu_cluster_with_most_headroom(example: Callable[..., Obj]) -> None:
    decision = choice.decide(example(SEED), fleet())
    assert decision.cluster == "gpu"
    assert set(decision.fits) == {"cpu-big", "gpu", "gpu-small"}
    assert decision.fits["gpu-small"].fits  # it fits there too, with less room left
    assert decision.refusals["cpu-big"][0]["kind"] == "NoMatchingNode"


def test_gangs_without_visible_pods_hold_their_room_and_finished_ones_do_not() -> None:
    states = fleet()
    hog = gpu_job("hog", workers=2, gpus=4, phase="Running")
    states["gpu"] = member("gpu", list(states["gpu"].nodes), jobs=(hog,))
    states["gpu-small"] = member(
        "gpu-small", list(states["gpu-small"].nodes), jobs=(gpu_job("other", workers=1, gpus=4),)
    )
    late = gpu_job("late", workers=1, gpus=4)
    decision = choice.decide(late, states)
    assert decision.cluster is None
    [gpu] = decision.refusals["gpu"]
    assert (gpu["kind"], gpu["resource"], gpu["needed"], gpu["free"], gpu["short"]) == (
        "Insufficient",
        "nvidia.com/gpu",
        "4",
        "0",
        "4",
    )
    body = status.waiting(generation=2, decision=decision, now="2026-01-01T00:00:00Z")
    assert body["phase"] == "Waiting"
    assert "gpu: insufficient nvidia.com/gpu: the gang needs 4" in body["conditions"][0]["message"]

    done = copy.deepcopy(hog)
    done["status"]["state"]["phase"] = "Completed"
    states["gpu"] = member("gpu", list(states["gpu"].nodes), jobs=(done,))
    assert choice.decide(late, states).cluster == "gpu"


def test_visible_pods_count_once_and_the_job_itself_not_at_all() -> None:
    hog = gpu_job("hog", workers=1, gpus=4, phase="Running")
    pod = {
        "metadata": {"name": "hog-worker-0", "namespace": "default", "labels": {"volcano.sh/job-name": "hog"}},
        "spec": {"nodeName": "g0", "containers": [{"name": "c", "resources": {"requests": {"nvidia.com/gpu": "4"}}}]},
        "status": {"phase": "Running"},
    }
    gpu = [
        node("g0", cpu="32", memory="128Gi", gpus=4, kind="gpu"),
        node("g1", cpu="32", memory="128Gi", gpus=4, kind="gpu"),
    ]
    state = member("gpu", gpu, jobs=(hog,), pods=(pod,))
    used = capacity.in_use(state)
    assert str(used["g0"]["nvidia.com/gpu"]) == "4"
    assert "nvidia.com/gpu" not in used.get("g1", {})
    again = gpu_job("hog", workers=1, gpus=4)  # the same job applied again is not its own competitor
    assert capacity.fit_on(again, member("gpu", gpu, jobs=(hog,))).fits


def test_a_queue_that_is_not_open_excludes_the_member(example: Callable[..., Obj]) -> None:
    job = example(SEED)
    job["spec"]["queue"] = "research"
    states = fleet()
    closed = {"research": {"metadata": {"name": "research"}, "status": {"state": "Closed"}}}
    states["gpu"] = member("gpu", list(states["gpu"].nodes), queues=closed)
    decision = choice.decide(job, states)
    assert decision.cluster == "gpu-small"
    assert decision.refusals["gpu"] == [
        {"kind": "QueueNotOpen", "queue": "research", "message": "queue research is Closed on this cluster"}
    ]


def test_inqueue_shows_when_volcano_admitted_the_gang() -> None:
    job = {"status": {"state": {"phase": "Pending"}, "minAvailable": 3}}
    podgroup = {"status": {"phase": "Inqueue"}}
    body = status.placed(cluster="gpu", generation=1, job=job, podgroup=podgroup, now="t")
    assert body["phase"] == "Inqueue"
    assert body["cluster"] == "gpu"
    held = {
        "status": {
            "phase": "Pending",
            "conditions": [
                {"type": "Unschedulable", "status": "True", "reason": "NotEnoughResources", "message": "3/3 tasks"}
            ],
        }
    }
    pending = status.placed(cluster="gpu", generation=1, job=job, podgroup=held, now="t")
    assert pending["phase"] == "Pending"
    assert pending["conditions"][-1]["type"] == "GangAdmitted"
    assert pending["conditions"][-1]["message"] == "3/3 tasks"
